// A small LMS-side webhook receiver: verifies Standard Webhooks signatures, refuses stale
// timestamps, handles each webhook-id once, and answers 2xx only once an event is handled (any
// other answer makes speechmark retry it later with the same webhook-id).
//
//   WEBHOOK_SECRETS=whsec_... PORT=8080 node examples/webhook-receiver/server.mjs
//
// WEBHOOK_SECRETS holds every valid secret, space- or comma-separated (old and new while rotating).
// Each accepted event is printed as one JSON line; replace `onEvent` with your own handling.
import http from 'node:http';
import { pathToFileURL } from 'node:url';
import { DEFAULT_TOLERANCE_SECONDS, verifyWebhook, WebhookError } from './verify.mjs';

const MAX_BODY_BYTES = 1024 * 1024;
/** Keep ids as long as the sender may retry (speechmark retries for about a day). */
const DEDUPE_MS = 48 * 3600 * 1000;

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new WebhookError(413, 'body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Seconds a retry of an id still being handled is asked to wait (Retry-After of the 409). */
const IN_PROGRESS_RETRY_SECONDS = 5;

/**
 * Which webhook-ids are being handled and which were handled, kept apart: a retry that arrives
 * while the first request is still being handled must not be told "done" (if that handling then
 * fails, nothing would send the event again). In memory here; a real LMS records handled ids in
 * its database (a unique column, written in the same transaction as the handling), so a restart or
 * a second receiver process still handles each id once.
 */
class SeenIds {
  #handling = new Set();
  #handledUntil = new Map();
  /** 'new' (the caller handles it now), 'handling' (another request is) or 'handled'. */
  take(id, now = Date.now()) {
    for (const [k, until] of this.#handledUntil) if (until < now) this.#handledUntil.delete(k);
    if (this.#handledUntil.has(id)) return 'handled';
    if (this.#handling.has(id)) return 'handling';
    this.#handling.add(id);
    return 'new';
  }
  /** Handled: later requests with this id are duplicates. */
  done(id, now = Date.now()) {
    this.#handling.delete(id);
    this.#handledUntil.set(id, now + DEDUPE_MS);
  }
  /** Not handled: a retry handles it. */
  release(id) {
    this.#handling.delete(id);
  }
}

function answer(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** @param {{ secrets: string[], onEvent: (event: {id: string, timestamp: number, payload: any}) => Promise<void> | void, toleranceSeconds?: number }} options */
export function createWebhookReceiver({ secrets, onEvent, toleranceSeconds = DEFAULT_TOLERANCE_SECONDS }) {
  const seen = new SeenIds();
  return http.createServer(async (req, res) => {
    if (req.method !== 'POST') return answer(res, 405, { error: 'POST only' });
    let event;
    try {
      event = verifyWebhook(secrets, req.headers, await readBody(req), { toleranceSeconds });
    } catch (e) {
      if (e instanceof WebhookError) return answer(res, e.status, { error: e.message });
      return answer(res, 400, { error: 'body is not JSON' });
    }
    const state = seen.take(event.id);
    if (state === 'handled') return answer(res, 200, { duplicate: true }); // stop the retries
    if (state === 'handling') {
      // Not 200: the handling under way may still fail, and then only a retry delivers the event.
      return answer(res, 409, { error: 'this webhook-id is being handled; retry later' }, { 'retry-after': String(IN_PROGRESS_RETRY_SECONDS) });
    }
    try {
      await onEvent(event);
    } catch (e) {
      seen.release(event.id); // not handled: let the retry in
      console.error(`handling ${event.id} failed:`, e);
      return answer(res, 500, { error: 'handler failed' });
    }
    seen.done(event.id);
    answer(res, 200, { ok: true });
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const secrets = (process.env.WEBHOOK_SECRETS ?? '').split(/[\s,]+/).filter(Boolean);
  if (secrets.length === 0) {
    console.error('set WEBHOOK_SECRETS to the endpoint secret(s) speechmark showed you (whsec_...)');
    process.exit(2);
  }
  const server = createWebhookReceiver({
    secrets,
    onEvent: (event) => console.log(JSON.stringify({ id: event.id, type: event.payload.type, payload: event.payload })),
  });
  server.listen(Number(process.env.PORT ?? 8080), process.env.HOST ?? '127.0.0.1', () => {
    const { address, port } = server.address();
    console.error(`webhook receiver listening on http://${address}:${port}/`);
  });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
}
