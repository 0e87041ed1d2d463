/**
 * Subscriptions under pressure (issue 10): the caps on open connections (per API process and per
 * API key) and on active subscriptions per API key, with their close codes and error code; and, on
 * PostgreSQL, no change lost while the API process's LISTEN connection is down: the test kills the
 * listener's backend with pg_terminate_backend, a job finishes while it is away, and the
 * subscribers still get the job's SUCCEEDED and the new assessment once it is back (re-read from
 * the database). Real graphql-ws clients over real sockets; synthetic speech, the real model.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import v8 from 'node:v8';
import vm from 'node:vm';
import { startTestApp, testDatabases, waitForJob, type TestApp } from '../support/app.js';
import { createApiKey } from '../../src/graphql/auth.js';
import { speechLikeWav } from '../support/audio-fixtures.js';
import { subscribe, wsUrl, type Subscription } from '../support/subscriptions.js';
import { waitFor } from '../jobs/fixtures.js';

const DATABASES = await testDatabases();

const JOBS = `subscription($learnerId: ID) { jobStatusChanged(learnerId: $learnerId) { id status } }`;
const ASSESSMENTS = `subscription($learnerId: ID) { assessmentCreated(learnerId: $learnerId) { id source } }`;
const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { job { id } } }`;

describe.each(DATABASES)('subscription caps on %s', (kind) => {
  let t: TestApp;
  let learnerId: string;
  const open: { dispose(): Promise<void> | void }[] = [];
  const keys: string[] = [];

  beforeAll(async () => {
    t = await startTestApp(kind, { wsMaxConnections: 4, wsMaxConnectionsPerKey: 2, wsMaxSubscriptionsPerKey: 3 });
    const org = await t.app.services.prisma.organization.findFirstOrThrow();
    for (let i = 0; i < 4; i++) keys.push((await createApiKey(t.app.services.prisma, org.id, `ws-cap-${i}`, ['SCORES_READ'])).key);
    learnerId = (await t.admin.request(`mutation { createLearner(input: {externalId: "ws-caps"}) { id } }`)).data.createLearner.id;
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.dispose()));
  });
  afterAll(async () => {
    await t?.dispose();
  });

  const sub = (key: string) => {
    const s = subscribe(t.app.url, key, JOBS, { learnerId });
    open.push(s);
    return s;
  };
  const hubHolds = (n: number) => waitFor(async () => (t.app.services.events!.size === n ? true : null), 10_000, 20);

  /** One connection carrying several subscriptions (graphql-ws multiplexes them). */
  function multiplexed(key: string) {
    const client: Client = createClient({ url: wsUrl(t.app.url), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${key}` }, retryAttempts: 0 });
    open.push(client);
    const start = () => {
      const outcome = { errors: null as any[] | null };
      const stop = client.subscribe({ query: JOBS, variables: { learnerId } }, {
        next: () => undefined,
        error: (e) => (outcome.errors = Array.isArray(e) ? e : [e]),
        complete: () => undefined,
      });
      return { outcome, stop };
    };
    return { client, start };
  }

  test('connections beyond the per-key cap or the process cap are closed with 1013 (Try Again Later); closing one frees a place', async () => {
    const [a1, a2] = [sub(keys[0]!), sub(keys[0]!)];
    await Promise.all([a1.connected, a2.connected]);
    const a3 = sub(keys[0]!);
    expect(await a3.ended).toEqual({ closeCode: 1013, closeReason: 'TOO_MANY_CONNECTIONS: at most 2 open connections per API key; retry later.' });

    // Four connections in all: keys[1] and keys[2] take the last two; keys[3] finds the process full.
    const others = [sub(keys[1]!), sub(keys[2]!)];
    await Promise.all(others.map((s) => s.connected));
    const full = sub(keys[3]!);
    expect(await full.ended).toEqual({ closeCode: 1013, closeReason: 'TOO_MANY_CONNECTIONS: this server holds 4 connections; retry later.' });

    await a1.dispose();
    await hubHolds(3);
    const again = sub(keys[3]!);
    await again.connected;
    await hubHolds(4);
  });

  test("a graphql-ws client with its default retry rules waits out the per-key cap and gets in once a place frees", async () => {
    const [a1, a2] = [sub(keys[0]!), sub(keys[0]!)];
    await Promise.all([a1.connected, a2.connected]);
    // A third client of the same key, as an app would configure one: retries on (a short wait here),
    // graphql-ws's own rules for which close codes are final (4429 would be).
    let closes = 0;
    const codes: number[] = [];
    let connected!: () => void;
    const gotIn = new Promise<void>((r) => (connected = r));
    const client = createClient({
      url: wsUrl(t.app.url), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${keys[0]}` },
      lazy: false, retryAttempts: 50, retryWait: () => new Promise((r) => setTimeout(r, 100)),
      on: { connected: () => connected(), closed: (e) => { closes++; codes.push((e as { code: number }).code); } },
    });
    open.push(client);
    await waitFor(async () => (closes >= 2 ? true : null), 10_000, 20);
    expect(new Set(codes)).toEqual(new Set([1013]));
    await a1.dispose();
    await gotIn;
    // And it works: a subscription on it sees a job of the learner.
    const seen: string[] = [];
    client.subscribe({ query: JOBS, variables: { learnerId } }, { next: (r) => { seen.push((r.data as any).jobStatusChanged.status); }, error: () => undefined, complete: () => undefined });
    await hubHolds(2);
    const res = await t.admin.upload(SUBMIT, { input: { learnerId, referenceText: 'We call it bear', audio: null } }, 'variables.input.audio', { bytes: speechLikeWav(1.0, 77), name: 'retry.wav' });
    expect(res.errors).toBeUndefined();
    await waitFor(async () => (seen.includes('SUCCEEDED') ? true : null), 60_000, 50);
  });

  test('clients that drop while their key is being checked hold no place afterwards', async () => {
    // Fresh keys, so each check reads the database (a cached key answers before the drop is seen).
    const org = await t.app.services.prisma.organization.findFirstOrThrow();
    for (let i = 0; i < 6; i++) {
      const { key } = await createApiKey(t.app.services.prisma, org.id, `ws-drop-${i}`, ['SCORES_READ']);
      const ws = new WebSocket(wsUrl(t.app.url), 'graphql-transport-ws');
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => {
          ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } }));
          ws.terminate(); // gone before the server has answered connection_init
          resolve();
        });
        ws.once('error', reject);
      });
    }
    await new Promise((r) => setTimeout(r, 500)); // the checks finish after the drops
    // The process cap is 4 and the per-key cap 2: all four places are free.
    const subs = [sub(keys[0]!), sub(keys[0]!), sub(keys[1]!), sub(keys[2]!)];
    const outcomes = await Promise.all(subs.map((s) => Promise.race([s.connected.then(() => 'connected'), s.ended])));
    expect(outcomes).toEqual(['connected', 'connected', 'connected', 'connected']);
  });

  test('a subscription beyond the per-key cap is refused with RATE_LIMITED; completing one frees a place', async () => {
    const { start } = multiplexed(keys[1]!);
    const subs = [start(), start(), start()];
    await hubHolds(3);
    const fourth = start();
    await waitFor(async () => fourth.outcome.errors, 10_000, 20);
    expect(fourth.outcome.errors![0]).toMatchObject({
      message: 'At most 3 active subscriptions per API key; complete one first.',
      extensions: { code: 'RATE_LIMITED', limit: 'subscriptionsPerKey', maxSubscriptions: 3 },
    });
    expect(subs.every((s) => s.outcome.errors === null)).toBe(true);
    // The cap is the key's, across its connections: a second connection of the key is refused too.
    const other = multiplexed(keys[1]!).start();
    await waitFor(async () => other.outcome.errors, 10_000, 20);
    expect(other.outcome.errors![0].extensions.code).toBe('RATE_LIMITED');

    subs[0]!.stop();
    await hubHolds(2);
    const fifth = start();
    await hubHolds(3);
    expect(fifth.outcome.errors).toBeNull();
  });

  test('refused subscribes keep nothing: many on one connection leave the heap as it was; an id over 128 characters is refused', async () => {
    // The graphql-transport-ws protocol spoken by hand, so each refusal is one message.
    const socket = new WebSocket(wsUrl(t.app.url), 'graphql-transport-ws');
    open.push({ dispose: () => socket.close() });
    // Only counted, and the last kept: the test itself must hold nothing per message.
    let acked = false;
    let errors = 0;
    let last: { id?: string; type: string; payload?: any } | null = null;
    socket.on('message', (m) => {
      last = JSON.parse(String(m));
      if (last!.type === 'connection_ack') acked = true;
      if (last!.type === 'error') errors++;
    });
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${keys[3]}` } }));
    await waitFor(async () => acked, 10_000, 10);
    const refusals = (n: number) => waitFor(async () => errors >= n, 60_000, 20);

    const long = 'x'.repeat(129);
    socket.send(JSON.stringify({ id: long, type: 'subscribe', payload: { query: JOBS, variables: { learnerId } } }));
    await refusals(1);
    expect(last!.id).toBe(long);
    expect(last!.payload).toEqual([expect.objectContaining({
      message: 'A subscription id is at most 128 characters.', extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', max: 128 }),
    })]);

    // Refused before they run (a query is not a subscription): before, each kept its id and a request id for the connection's life.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const heap = () => { gc(); gc(); return process.memoryUsage().heapUsed; };
    const send = (from: number, n: number) => {
      for (let i = from; i < from + n; i++) socket.send(JSON.stringify({ id: `${i}`.padStart(128, 'r'), type: 'subscribe', payload: { query: '{ __typename }' } }));
    };
    send(0, 2_000); // warm: whatever the first refusals allocate once (parsers, caches)
    await refusals(2_001);
    const before = heap();
    send(2_000, 30_000);
    await refusals(32_001);
    const grown = heap() - before;
    expect(last!.payload[0].extensions.code).toMatch(/^(BAD_REQUEST|RATE_LIMITED)$/);
    // 30,000 kept ids of 128 characters and their request ids would be about 10 MB.
    expect(grown).toBeLessThan(3 * 1024 * 1024);
  });
});

const POSTGRES = DATABASES.includes('postgres') ? describe : describe.skip;

POSTGRES('subscriptions across a dropped LISTEN connection (PostgreSQL)', () => {
  let t: TestApp;
  let learnerId: string;
  let readKey: string;
  const open: Subscription[] = [];

  beforeAll(async () => {
    // A long first reconnect delay, so the job below surely finishes while the listener is away (a
    // loaded CI machine can take several seconds for an upload and its job).
    t = await startTestApp('postgres', { listenReconnectMs: 25_000 });
    const org = await t.app.services.prisma.organization.findFirstOrThrow();
    readKey = (await createApiKey(t.app.services.prisma, org.id, 'ws-reconnect', ['SCORES_READ'])).key;
    learnerId = (await t.admin.request(`mutation { createLearner(input: {externalId: "ws-reconnect"}) { id } }`)).data.createLearner.id;
  });
  afterAll(async () => {
    await Promise.all(open.map((s) => s.dispose()));
    await t?.dispose();
  });

  test('a job that finishes while the listener is reconnecting still reaches its subscribers, as does its assessment', async () => {
    const { prisma } = t.app.services;
    const [{ channel }] = await prisma.$queryRawUnsafe<{ channel: string }[]>(`SELECT 'speechmark_' || left(md5(current_schema()), 12) AS "channel"`);
    const listeners = async () =>
      (await prisma.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS "n" FROM pg_stat_activity WHERE "query" = $1`, `LISTEN "${channel}"`))[0]!.n;
    expect(await listeners()).toBe(1);

    const jobs = subscribe(t.app.url, readKey, JOBS, { learnerId });
    const assessments = subscribe(t.app.url, readKey, ASSESSMENTS, { learnerId });
    open.push(jobs, assessments);
    await Promise.all([jobs.connected, assessments.connected]);
    await waitFor(async () => (t.app.services.events!.size === 2 ? true : null), 10_000, 20);

    const killed = await prisma.$queryRawUnsafe<{ ok: boolean }[]>(
      `SELECT pg_terminate_backend("pid") AS "ok" FROM pg_stat_activity WHERE "query" = $1`,
      `LISTEN "${channel}"`,
    );
    expect(killed).toEqual([{ ok: true }]);

    const res = await t.admin.upload(SUBMIT, { input: { learnerId, referenceText: 'We call it bear', audio: null } }, 'variables.input.audio', {
      bytes: speechLikeWav(1.2, 11),
      name: 'take.wav',
    });
    expect(res.errors).toBeUndefined();
    const job = await waitForJob(t.admin, res.data.submitUtterance.job.id);
    expect(job.status).toBe('SUCCEEDED');
    // The whole job (QUEUED, RUNNING, SUCCEEDED) happened while nobody listened.
    expect(await listeners()).toBe(0);
    expect(jobs.received).toEqual([]);

    const finished = await waitFor(async () => jobs.received.find((r) => r.result.data?.jobStatusChanged.status === 'SUCCEEDED'), 50_000, 50);
    expect(finished.result.data.jobStatusChanged.id).toBe(job.id);
    const created = await assessments.next();
    expect(created.data.assessmentCreated).toEqual({ id: job.assessment.id, source: 'MODEL' });
    expect(await listeners()).toBe(1);
  });
});
