/**
 * The outbox's guarded client keeps an answer's body two ways: printable (control characters
 * dropped) where people read it (a webhook attempt's log, an error's reason), and exactly as sent
 * where it is parsed (a GET's JSON: an LTI roster page, an xAPI statement read back), since JSON may
 * carry U+007F unescaped and dropping it would change the data.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { AddressPolicy } from '../../src/outbox/address-policy.js';
import { getForAnswer, postForAnswer, postJson, type PostOptions } from '../../src/outbox/http.js';

const BODY = JSON.stringify({ name: 'lms\u007fuser', note: 'tab\there' });

let server: http.Server;
let url = '';
beforeAll(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(BODY));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

test('a GET answer is kept exactly (it is parsed); a POST answer printable (it is shown)', async () => {
  const options = { policy: new AddressPolicy(['127.0.0.1']), timeoutMs: 5000, keepBytes: 4096 };
  const got = await getForAnswer(url, {}, options);
  expect(got.text).toBe(BODY);
  expect(JSON.parse(got.text).name).toBe('lms\u007fuser');
  const posted = await postForAnswer(url, {}, '{}', options);
  expect(posted.text).toBe(BODY.replace('\u007f', ''));
});

test('an attempt whose worker already stopped is ABORTED without a request, and nothing is thrown later', async () => {
  let connections = 0;
  server.on('connection', () => connections++);
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);
  process.on('uncaughtException', onUncaught);
  try {
    const controller = new AbortController();
    controller.abort();
    const res = await postJson(url, {}, Buffer.from('{}'), { policy: new AddressPolicy(['127.0.0.1']), timeoutMs: 2000, signal: controller.signal });
    expect(res).toMatchObject({ errorCode: 'ABORTED', statusCode: null });
    // Before, the request was built and destroyed with no 'error' listener: "socket hang up" was
    // thrown a tick later, which ends a process that is shutting down with exit code 1.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(uncaught).toEqual([]);
    expect(connections).toBe(0);
  } finally {
    process.off('uncaughtException', onUncaught);
  }
});

/**
 * A peer whose accept queue is full, as a host that drops connections looks: a child process
 * listening with a backlog of 1 and its event loop blocked (it never accepts), connections queued
 * until one no longer opens; the next connection's SYN goes unanswered.
 */
async function blackHole(): Promise<{ port: number; close: () => void }> {
  const child = spawn(process.execPath, ['-e', `
    const server = require('node:net').createServer().listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
      process.stdout.write(server.address().port + '\\n');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000);
    });`], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => child.stdout!.once('data', (c) => resolve(Number(String(c).trim()))));
  const queued: net.Socket[] = [];
  for (let opened = true; opened && queued.length < 10; ) {
    const socket = net.connect(port, '127.0.0.1').on('error', () => undefined);
    queued.push(socket);
    opened = await new Promise<boolean>((resolve) => {
      socket.once('connect', () => resolve(true));
      setTimeout(() => resolve(false), 300);
    });
  }
  return { port, close: () => (queued.forEach((q) => q.destroy()), child.kill('SIGKILL')) };
}

test('a host that never completes the connection fails at the connect timeout, not the whole deadline', async () => {
  const hole = await blackHole();
  try {
    const options: PostOptions = { policy: new AddressPolicy(['127.0.0.1']), timeoutMs: 8000, connectTimeoutMs: 500 };
    const res = await postJson(`http://127.0.0.1:${hole.port}/x`, {}, Buffer.from('{}'), options);
    expect(res).toMatchObject({ errorCode: 'TIMEOUT', statusCode: null, error: 'could not connect within 500 ms' });
    expect(res.durationMs).toBeLessThan(3000);
  } finally {
    hole.close();
  }
});

test('an attempt aborted after the status arrived (a stopping worker, a slow body) keeps that answer where the status suffices (a webhook); a caller reading the body gets ABORTED', async () => {
  let flushes = 0;
  const slow = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('accepted, and more to come', () => flushes++); // the body never ends
    });
  });
  await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/hook`;
  /** A post whose status line and first bytes have reached this process, and its abort. */
  const answered = async (statusSuffices: boolean) => {
    const controller = new AbortController();
    const before = flushes;
    const posting = postJson(url, {}, Buffer.from('{}'), { policy: new AddressPolicy(['127.0.0.1']), timeoutMs: 60_000, signal: controller.signal, statusSuffices });
    while (flushes === before) await new Promise((resolve) => setTimeout(resolve, 10));
    // The bytes are in the client's socket buffer: a few turns of the event loop read them.
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    return posting;
  };
  try {
    expect(await answered(true)).toMatchObject({ statusCode: 200, errorCode: null, responseBody: 'accepted, and more to come' });
    expect(await answered(false)).toMatchObject({ statusCode: null, errorCode: 'ABORTED' });
    // Aborted before any answer, the attempt is ABORTED either way.
    const early = new AbortController();
    const unanswered = postJson(url, {}, Buffer.from('{}'), { policy: new AddressPolicy(['127.0.0.1']), timeoutMs: 60_000, signal: early.signal, statusSuffices: true });
    early.abort();
    expect(await unanswered).toMatchObject({ statusCode: null, errorCode: 'ABORTED' });
  } finally {
    slow.closeAllConnections();
    await new Promise<void>((resolve) => slow.close(() => resolve()));
  }
});
