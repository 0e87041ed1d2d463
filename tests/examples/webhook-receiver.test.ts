/**
 * examples/webhook-receiver run as an integrator runs it (`node server.mjs` in a child process),
 * fed by the `standardwebhooks` npm package as an independent producer: valid deliveries are
 * handled once per webhook-id, rotated secrets work, and bad signatures, tampered bodies, stale or
 * future timestamps and missing headers are refused.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
// @ts-expect-error the example is plain JavaScript, shipped without types
import { createWebhookReceiver } from '../../examples/webhook-receiver/server.mjs';

const newSecret = () => `whsec_${randomBytes(24).toString('base64')}`;

interface Receiver {
  child: ChildProcess;
  url: string;
  events(): { id: string; type: string; payload: unknown }[];
  stop(): Promise<void>;
}

async function startReceiver(secrets: string[]): Promise<Receiver> {
  const child = spawn(process.execPath, ['examples/webhook-receiver/server.mjs'], {
    env: { PATH: process.env.PATH, WEBHOOK_SECRETS: secrets.join(' '), PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c) => (out += c));
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (c) => {
      err += c;
      const m = /listening on (http:\S+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`receiver exited ${code}: ${err}`)));
  });
  return {
    child,
    url,
    events: () => out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)),
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

describe('examples/webhook-receiver', () => {
  const secret = newSecret();
  const oldSecret = newSecret();
  let receiver: Receiver;
  /** The same receiver in this process (createWebhookReceiver), its handler set by the test. */
  let inProcess: Server;
  let inProcessUrl = '';
  let handler: (event: { id: string }) => Promise<void> = async () => undefined;
  beforeAll(async () => {
    receiver = await startReceiver([secret]);
    inProcess = createWebhookReceiver({ secrets: [secret], onEvent: (event: { id: string }) => handler(event) });
    await new Promise<void>((resolve) => inProcess.listen(0, '127.0.0.1', resolve));
    inProcessUrl = `http://127.0.0.1:${(inProcess.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    await receiver?.stop();
    inProcess?.closeAllConnections();
    await new Promise((resolve) => inProcess?.close(resolve));
  });

  const body = (id: string) => JSON.stringify({ type: 'assessment.completed', timestamp: new Date().toISOString(), data: { assessmentId: id, total: 8 } });
  /** Signed by the standardwebhooks package, as a producer following the specification signs. */
  function signed(id: string, payload: string, options: { secrets?: string[]; at?: Date } = {}) {
    const at = options.at ?? new Date();
    const signatures = (options.secrets ?? [secret]).map((s) => new Webhook(s).sign(id, at, payload));
    return { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': signatures.join(' '), 'content-type': 'application/json' };
  }
  const post = (headers: Record<string, string>, payload: string, url = receiver.url) => fetch(url, { method: 'POST', headers, body: payload });

  test('a signed delivery is handled; the same webhook-id again is answered 200 and not handled twice', async () => {
    const payload = body('a1');
    const res = await post(signed('msg_1', payload), payload);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
    // A retry carries the same id with a new timestamp and signature.
    const again = await post(signed('msg_1', payload, { at: new Date(Date.now() + 1000) }), payload);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ duplicate: true });
    expect(receiver.events()).toEqual([{ id: 'msg_1', type: 'assessment.completed', payload: JSON.parse(payload) }]);
  });

  test('while a secret rotates, a header with several signatures is accepted when one of them is valid', async () => {
    const payload = body('a2');
    expect((await post(signed('msg_2', payload, { secrets: [oldSecret, secret] }), payload)).status).toBe(200);
    expect((await post(signed('msg_3', payload, { secrets: [oldSecret] }), payload)).status).toBe(401);
    expect(receiver.events().map((e) => e.id)).toEqual(['msg_1', 'msg_2']);
  });

  test('bad signatures, tampered bodies, stale or future timestamps and missing headers are refused', async () => {
    const payload = body('a3');
    const good = signed('msg_4', payload);
    const refusals: [string, Record<string, string>, string, number][] = [
      ['another secret', signed('msg_4', payload, { secrets: [newSecret()] }), payload, 401],
      ['a tampered body', good, payload.replace('"total":8', '"total":10'), 401],
      ['a signature with one bit flipped', { ...good, 'webhook-signature': good['webhook-signature'].replace(/,(.)/, (_m, c: string) => `,${c === 'A' ? 'B' : 'A'}`) }, payload, 401],
      ['another id under the same signature', { ...good, 'webhook-id': 'msg_5' }, payload, 401],
      ['an unknown signature version', { ...good, 'webhook-signature': good['webhook-signature'].replace('v1,', 'v2,') }, payload, 401],
      ['a timestamp six minutes old', signed('msg_4', payload, { at: new Date(Date.now() - 6 * 60_000) }), payload, 401],
      ['a timestamp six minutes ahead', signed('msg_4', payload, { at: new Date(Date.now() + 6 * 60_000) }), payload, 401],
      ['no signature header', (({ 'webhook-signature': _s, ...h }) => h)(good), payload, 400],
      ['a timestamp that is no number', { ...good, 'webhook-timestamp': 'soon' }, payload, 400],
    ];
    for (const [name, headers, sent, status] of refusals) {
      const res = await post(headers, sent);
      expect([name, res.status]).toEqual([name, status]);
    }
    // None of them was handled, and the real delivery still goes through afterwards.
    expect(receiver.events().map((e) => e.id)).toEqual(['msg_1', 'msg_2']);
    expect((await post(good, payload)).status).toBe(200);
    expect(receiver.events().map((e) => e.id)).toEqual(['msg_1', 'msg_2', 'msg_4']);
  });

  test('a timestamp four minutes old is inside the five-minute tolerance', async () => {
    const payload = body('a4');
    expect((await post(signed('msg_6', payload, { at: new Date(Date.now() - 4 * 60_000) }), payload)).status).toBe(200);
  });

  test('a retry arriving while the first request is still being handled is answered 409, so a failed first handling is retried, not lost', async () => {
    // createWebhookReceiver with a handler the test holds open, then fails: a real server on a free port.
    const calls: string[] = [];
    let fail!: () => void;
    const started = new Promise<void>((begun) => {
      handler = async (event) => {
        calls.push(event.id);
        if (calls.length > 1) return;
        begun();
        await new Promise<void>((_resolve, reject) => (fail = () => reject(new Error('the LMS database is down'))));
      };
    });
    const payload = body('a5');
    const first = post(signed('msg_7', payload), payload, inProcessUrl);
    await started;
    const retry = await post(signed('msg_7', payload, { at: new Date(Date.now() + 1000) }), payload, inProcessUrl);
    // Before, 200 {duplicate}: the sender stopped, and the event was lost once the first handling failed.
    expect(retry.status).toBe(409);
    expect(Number(retry.headers.get('retry-after'))).toBeGreaterThan(0);
    fail();
    expect((await first).status).toBe(500);
    const later = await post(signed('msg_7', payload, { at: new Date(Date.now() + 2000) }), payload, inProcessUrl);
    expect([later.status, await later.json()]).toEqual([200, { ok: true }]);
    // Handled now: a duplicate is 200 and not handled again.
    const duplicate = await post(signed('msg_7', payload, { at: new Date(Date.now() + 3000) }), payload, inProcessUrl);
    expect([duplicate.status, await duplicate.json()]).toEqual([200, { duplicate: true }]);
    expect(calls).toEqual(['msg_7', 'msg_7']);
  });

  test('it refuses to start without a secret', async () => {
    const child = spawn(process.execPath, ['examples/webhook-receiver/server.mjs'], { env: { PATH: process.env.PATH, PORT: '0' }, stdio: 'ignore' });
    expect(await new Promise((r) => child.once('exit', r))).toBe(2);
  });
});
