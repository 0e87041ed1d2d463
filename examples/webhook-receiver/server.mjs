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

/**
 * In memory here; a real LMS stores handled ids in its database (a unique column), so a restart
 * or a second receiver process still handles each id once.
 */
class SeenIds {
  #until = new Map();
  /** True when the id is new (and now taken), false when it was handled or is being handled. */
  take(id, now = Date.now()) {
    for (const [k, until] of this.#until) if (until < now) this.#until.delete(k);
    if (this.#until.has(id)) return false;
    this.#until.set(id, now + DEDUPE_MS);
    return true;
  }
  release(id) {
    this.#until.delete(id);
  }
}

function answer(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
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
    if (!seen.take(event.id)) return answer(res, 200, { duplicate: true }); // handled already: stop the retries
    try {
      await onEvent(event);
    } catch (e) {
      seen.release(event.id); // not handled: let the retry in
      console.error(`handling ${event.id} failed:`, e);
      return answer(res, 500, { error: 'handler failed' });
    }
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
