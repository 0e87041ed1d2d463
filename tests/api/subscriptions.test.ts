/**
 * GraphQL subscriptions over WebSocket with a real graphql-ws client: on PGlite (API and worker in
 * one process, PGlite's LISTEN/NOTIFY) and on PostgreSQL with the worker in a separate process
 * (`npm run worker`), so each event crosses processes through LISTEN/NOTIFY. Authentication, scopes,
 * tenancy, query limits, ordering of a job's transitions, and the latency from a job finishing to
 * its event arriving (printed, not asserted).
 */
import { createHash, randomUUID } from 'node:crypto';
import pg from 'pg';
import { parsePostgresUrl } from '../../src/db/client.js';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { createApiKey } from '../../src/graphql/auth.js';
import { runEntry, type ChildRun } from '../support/processes.js';
import { describeWithSpeech, speechOceanUtterances } from '../support/speech.js';
import { subscribe, wsUrl, type Subscription } from '../support/subscriptions.js';
import WebSocket from 'ws';
import { fromGlobalId, toGlobalId } from '../../src/graphql/ids.js';

const DATABASES = await testDatabases();

const CREATE_LEARNER = `mutation($input: CreateLearnerInput!) { createLearner(input: $input) { id } }`;
const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { utterance { id } job { id status } } }`;
const REASSESS = `mutation($id: ID!) { reassessUtterance(utteranceId: $id) { id } }`;
const JOBS = `subscription($learnerId: ID, $utteranceId: ID, $jobId: ID) {
  jobStatusChanged(learnerId: $learnerId, utteranceId: $utteranceId, jobId: $jobId) {
    id status attempts finishedAt utterance { id } assessment { id sentence { total } }
  }
}`;
const ASSESSMENTS = `subscription($learnerId: ID, $utteranceId: ID) {
  assessmentCreated(learnerId: $learnerId, utteranceId: $utteranceId) { id source utterance { id } sentence { total } }
}`;
const LATENCY_JOBS = 10;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The code a refused subscription ended with: an `error` message (refused before it ran: limits,
 * validation) or, as graphql-ws sends resolver errors, a `next` carrying errors followed by `complete`.
 */
async function refusal(s: Subscription): Promise<{ code?: string; limit?: unknown }> {
  const why = await s.ended;
  const errors = why.errors ?? s.received.find((r) => r.result.errors)?.result.errors;
  return errors?.[0]?.extensions ?? {};
}

/** How the socket closed (code and reason), whatever ended the subscription first; call it right after subscribing. */
function socketClosed(s: Subscription): Promise<{ code?: number; reason?: string }> {
  return new Promise((resolve) => {
    s.client.on('closed', (e) => {
      const ev = e as { code?: number; reason?: string };
      resolve({ code: ev.code, reason: ev.reason });
    });
  });
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

describeWithSpeech('GraphQL subscriptions over WebSocket', () => {
  describe.each(DATABASES)('on %s', (kind) => {
    let t: TestApp;
    let worker: ChildRun | null = null;
    let disposed = false;
    let learnerId: string;
    let readKey: string;
    let writeKey: string;
    let otherOrgKey: string;
    let otherLearnerId: string;
    const open: Subscription[] = [];
    const [recording] = speechOceanUtterances('train', 1);

    const sub = (key: string | undefined, query: string, variables: Record<string, unknown> = {}, options = {}) => {
      const s = subscribe(t.app.url, key, query, variables, options);
      open.push(s);
      return s;
    };
    /** Wait until the API process holds `n` subscriptions: the server has registered ours. */
    const hubHolds = async (n: number, exactly?: 'exactly') => {
      const size = () => t.app.services.events?.size ?? 0;
      while (exactly ? size() !== n : size() < n) await sleep(10);
    };

    beforeAll(async () => {
      // PostgreSQL: no worker in the API process; a separate `npm run worker` process runs the jobs.
      t = await startTestApp(kind, kind === 'postgres' ? { inProcessWorker: false } : {});
      if (kind === 'postgres') {
        worker = runEntry('src/worker-main.ts', { DATABASE_URL: t.config.databaseUrl, SPEECHMARK_AUDIO_DIR: t.config.audioDir });
        await worker.waitFor(/speechmark worker: /);
      }
      const { prisma } = t.app.services;
      learnerId = (await t.admin.request(CREATE_LEARNER, { input: { externalId: 'ws-learner' } })).data.createLearner.id;
      const org = await prisma.organization.findFirstOrThrow();
      readKey = (await createApiKey(prisma, org.id, 'ws-read', ['SCORES_READ'])).key;
      writeKey = (await createApiKey(prisma, org.id, 'ws-write', ['ASSESS_WRITE'])).key;
      const other = await prisma.organization.create({ data: { name: `other ${randomUUID()}` } });
      otherOrgKey = (await createApiKey(prisma, other.id, 'other-admin', ['ADMIN'])).key;
      otherLearnerId = (await t.admin.withKey(otherOrgKey).request(CREATE_LEARNER, { input: { externalId: 'ws-learner' } })).data.createLearner.id;
    }, 120_000);

    afterEach(async () => {
      await Promise.all(open.splice(0).map((s) => s.dispose()));
      // Every subscription a closed client held is released on the server.
      if (!disposed) await hubHolds(0, 'exactly');
    });

    afterAll(async () => {
      worker?.child.kill('SIGTERM');
      if (worker) await worker.exited;
      if (!disposed) await t?.dispose();
    });

    test('a missing, unknown or revoked key is refused with close code 4401', async () => {
      const { prisma } = t.app.services;
      const org = await prisma.organization.findFirstOrThrow({ orderBy: { createdAt: 'asc' } });
      const revoked = await createApiKey(prisma, org.id, 'ws-revoked', ['SCORES_READ']);
      await prisma.apiKey.update({ where: { id: revoked.apiKey.id }, data: { revokedAt: new Date() } });
      const expired = await createApiKey(prisma, org.id, 'ws-expired', ['SCORES_READ'], { expiresAt: new Date(Date.now() + 1000) });
      await sleep(1100);
      for (const key of [undefined, 'sm_not_a_key', revoked.key, expired.key]) {
        const s = sub(key, JOBS, { learnerId });
        const why = await s.ended;
        expect(why.closeCode).toBe(4401);
        expect(why.closeReason).toMatch(/^UNAUTHENTICATED/);
      }
      // The upgrade request's Authorization header is accepted as well.
      const viaHeader = sub(undefined, JOBS, { learnerId }, { headerKey: readKey });
      await viaHeader.connected;
    });

    test('scopes and tenancy are those of HTTP: FORBIDDEN without SCORES_READ, NOT_FOUND for another organisation', async () => {
      // Rejected subscriptions leave nothing behind on the server (afterEach waits for an empty hub).
      expect((await refusal(sub(writeKey, ASSESSMENTS, { learnerId }))).code).toBe('FORBIDDEN');
      expect((await refusal(sub(writeKey, JOBS, { learnerId }))).code).toBe('FORBIDDEN');
      expect((await refusal(sub(otherOrgKey, JOBS, { learnerId }))).code).toBe('NOT_FOUND');
      // Two targets: both named; none: every one the subscription takes (the README's convention).
      expect(await refusal(sub(readKey, JOBS, { learnerId, utteranceId: learnerId }))).toMatchObject({
        code: 'BAD_USER_INPUT', argument: 'utteranceId', arguments: ['utteranceId', 'learnerId'],
      });
      expect(await refusal(sub(readKey, JOBS, {}))).toMatchObject({
        code: 'BAD_USER_INPUT', argument: 'jobId', arguments: ['jobId', 'utteranceId', 'learnerId'],
      });
    });

    test('the query limits apply, and only subscriptions are served over WebSocket', async () => {
      const deep = `subscription($l: ID) { jobStatusChanged(learnerId: $l) { utterance { learner { utterances { edges { node {
        jobs { edges { node { utterance { learner { utterances { edges { node { learner { id } } } } } } } } } } } } } } } }`;
      expect(await refusal(sub(readKey, deep, { l: learnerId }))).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'depth', max: 15 });
      expect((await refusal(sub(readKey, `query { viewer { organization { id } } }`))).code).toBe('BAD_REQUEST');
      expect((await refusal(sub(readKey, `subscription { jobStatusChanged(learnerId: "x") { nope } }`))).code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect((await refusal(sub(readKey, `subscription { jobStatusChanged(learnerId: "x") { id `))).code).toBe('GRAPHQL_PARSE_FAILED');
      expect((await refusal(sub(readKey, JOBS, { learnerId: 42.5 }))).code).toBe('BAD_USER_INPUT');
      // And the other way round: a subscription sent over HTTP is refused, not run.
      const overHttp = await t.admin.withKey(readKey).request(JOBS, { learnerId });
      expect(overHttp.status).toBe(400);
      expect(overHttp.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
    });

    test('a subscription started before submitting sees QUEUED, RUNNING, SUCCEEDED in order, then the assessment', async () => {
      const before = t.app.services.events!.size;
      const jobs = sub(readKey, JOBS, { learnerId });
      const assessments = sub(readKey, ASSESSMENTS, { learnerId });
      // Another organisation's admin, following its own learner, must hear nothing of ours.
      const foreign = sub(otherOrgKey, JOBS, { learnerId: otherLearnerId });
      const foreignAssessments = sub(otherOrgKey, ASSESSMENTS, { learnerId: otherLearnerId });
      await hubHolds(before + 4);

      const res = await t.admin.upload(SUBMIT, { input: { learnerId, referenceText: recording!.text, audio: null } }, 'variables.input.audio', {
        bytes: recording!.bytes,
        name: 'recording.flac',
      });
      expect(res.errors).toBeUndefined();
      const { job, utterance } = res.data.submitUtterance;

      const statuses: string[] = [];
      let last: any;
      while (statuses.at(-1) !== 'SUCCEEDED' && statuses.at(-1) !== 'FAILED') {
        const event = await jobs.next();
        expect(event.errors).toBeUndefined();
        last = event.data.jobStatusChanged;
        expect(last.id).toBe(job.id);
        expect(last.utterance.id).toBe(utterance.id);
        statuses.push(last.status);
      }
      expect(statuses).toEqual(['QUEUED', 'RUNNING', 'SUCCEEDED']);
      expect(last.assessment.id).toMatch(/\S/);
      expect(last.finishedAt).not.toBeNull();

      const created = await assessments.next();
      expect(created.errors).toBeUndefined();
      expect(created.data.assessmentCreated).toEqual({
        id: last.assessment.id,
        source: 'MODEL',
        utterance: { id: utterance.id },
        sentence: { total: last.assessment.sentence.total },
      });
      // Human labels attached afterwards arrive as a HUMAN assessment.
      const attach = await t.admin.request(
        `mutation($u: ID!) { attachHumanLabels(utteranceId: $u, labels: { sentence: { accuracy: 8, fluency: 8, prosody: 8, completeness: 10, total: 8 } }, rater: "ws") { id } }`,
        { u: utterance.id },
      );
      expect(attach.errors).toBeUndefined();
      const human = await assessments.next();
      expect(human.data.assessmentCreated).toMatchObject({ id: attach.data.attachHumanLabels.id, source: 'HUMAN' });

      expect(foreign.received).toEqual([]);
      expect(foreignAssessments.received).toEqual([]);
    }, 120_000);

    test('a key revoked by another process while subscribed: its next event closes the socket with 4401, nothing sent', async () => {
      const { prisma } = t.app.services;
      const org = await prisma.organization.findFirstOrThrow({ orderBy: { createdAt: 'asc' } });
      const doomed = await createApiKey(prisma, org.id, 'ws-doomed', ['SCORES_READ']);
      const s = sub(doomed.key, JOBS, { learnerId });
      const closed = socketClosed(s);
      // A second subscriber sees the job through, so the next test starts with no job running.
      const done = sub(readKey, JOBS, { learnerId });
      await hubHolds(2, 'exactly');
      // Written as another process (the admin CLI) would: this process learns of it when its cached
      // row expires, and the periodic key check (30 s) has not run yet.
      await prisma.apiKey.update({ where: { id: doomed.apiKey.id }, data: { revokedAt: new Date() } });
      await sleep(t.config.apiKeyCacheMs + 100);
      const utteranceId = (await t.admin.request(`query($l: ID!) { learner(id: $l) { utterances(first: 1) { edges { node { id } } } } }`, { l: learnerId }))
        .data.learner.utterances.edges[0].node.id;
      expect((await t.admin.request(REASSESS, { id: utteranceId })).errors).toBeUndefined();
      // The subscription's error, then the socket closed.
      expect((await refusal(s)).code).toBe('UNAUTHENTICATED');
      expect(await closed).toMatchObject({ code: 4401, reason: expect.stringMatching(/^UNAUTHENTICATED/) });
      expect(s.received.filter((r) => r.result.data)).toEqual([]);
      while (!['SUCCEEDED', 'FAILED'].includes((await done.next()).data.jobStatusChanged.status));
    }, 120_000);

    test(`latency from a job finishing to its event arriving (${LATENCY_JOBS} reassessments)`, async () => {
      const utteranceId = (await t.admin.request(`query($l: ID!) { learner(id: $l) { utterances(first: 1) { edges { node { id } } } } }`, { l: learnerId }))
        .data.learner.utterances.edges[0].node.id;
      const latencies: number[] = [];
      const notified: number[] = [];
      // The API process's own view: when each raw notification reached its hub (before it is re-read
      // through the loaders and sent over the WebSocket).
      const raw = t.app.services.events!.subscribe((e) => e.type === 'job' && e.status === 'SUCCEEDED');
      const rawArrivals = new Map<string, number>();
      void (async () => {
        for await (const e of raw) if (e.type === 'job') rawArrivals.set(e.jobId, Date.now());
      })();
      const s = sub(readKey, JOBS, { utteranceId });
      await hubHolds(2, 'exactly');
      for (let i = 0; i < LATENCY_JOBS; i++) {
        const queued = await t.admin.request(REASSESS, { id: utteranceId });
        expect(queued.errors).toBeUndefined();
        for (;;) {
          const event = await s.next();
          expect(event.errors).toBeUndefined();
          const job = event.data.jobStatusChanged;
          if (job.id !== queued.data.reassessUtterance.id || job.status !== 'SUCCEEDED') continue;
          const finishedAt = Date.parse(job.finishedAt);
          latencies.push(s.received.at(-1)!.at - finishedAt);
          notified.push(rawArrivals.get(fromGlobalId(job.id)!.id)! - finishedAt);
          break;
        }
      }
      await raw.return!();
      latencies.sort((a, b) => a - b);
      notified.sort((a, b) => a - b);
      expect(latencies).toHaveLength(LATENCY_JOBS);
      expect(notified.every(Number.isFinite)).toBe(true);
      console.log(
        `subscription latency [${kind}${kind === 'postgres' ? ', worker in another process' : ''}]: job finishedAt → event received over ` +
          `${LATENCY_JOBS} jobs: median ${quantile(latencies, 0.5)} ms, p95 ${quantile(latencies, 0.95)} ms (all: ${latencies.join(', ')}); ` +
          `of which finishedAt → notification at the API process (result written, committed, NOTIFY delivered): ` +
          `median ${quantile(notified, 0.5)} ms, p95 ${quantile(notified, 0.95)} ms`,
      );
    }, 180_000);

    (kind === 'postgres' ? test : test.skip)('after PostgreSQL drops the LISTEN connection it is opened again, and events flow again', async () => {
      const { connectionString, schema } = parsePostgresUrl(t.config.databaseUrl!);
      const channel = `speechmark_${createHash('md5').update(schema!).digest('hex').slice(0, 12)}`;
      const sql = new pg.Client({ connectionString });
      sql.on('error', () => undefined);
      await sql.connect();
      try {
        const listeners = async () =>
          (await sql.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE query = $1`, [`LISTEN "${channel}"`])).rows.map((r) => r.pid);
        // The API process and the separate worker (woken by NOTIFY) each LISTEN: drop them all, and
        // wait until each has opened a new one.
        const before = await listeners();
        expect(before.length).toBeGreaterThan(0);
        for (const pid of before) await sql.query('SELECT pg_terminate_backend($1)', [pid]);
        for (;;) {
          const now = await listeners();
          if (now.length >= before.length && now.every((pid) => !before.includes(pid))) break;
          await sleep(50);
        }

        const s = sub(readKey, JOBS, { learnerId });
        await hubHolds(1, 'exactly');
        const utteranceId = (await t.admin.request(`query($l: ID!) { learner(id: $l) { utterances(first: 1) { edges { node { id } } } } }`, { l: learnerId }))
          .data.learner.utterances.edges[0].node.id;
        const queued = await t.admin.request(REASSESS, { id: utteranceId });
        const statuses: string[] = [];
        const earlier: string[] = [];
        while (!['SUCCEEDED', 'FAILED'].includes(statuses.at(-1) ?? '')) {
          const job = (await s.next()).data.jobStatusChanged;
          // The catch-up after the reconnect re-sends, in their current state, the learner's jobs
          // that changed shortly before the drop (the earlier tests' jobs, all finished).
          if (job.id !== queued.data.reassessUtterance.id) {
            earlier.push(job.status);
            continue;
          }
          statuses.push(job.status);
        }
        expect(statuses).toEqual(['QUEUED', 'RUNNING', 'SUCCEEDED']);
        expect(earlier.every((status) => status === 'SUCCEEDED')).toBe(true);
      } finally {
        await sql.end();
      }
    }, 120_000);

    // The README's client snippet, run as written (PGlite only: it exercises the client, not the database).
    (kind === 'pglite' ? test : test.skip)('the README\'s graphql-ws snippet prints QUEUED, RUNNING, SUCCEEDED', async () => {
      const readme = readFileSync(path.resolve('README.md'), 'utf8');
      const section = readme.slice(readme.indexOf('### Results pushed: subscriptions'));
      const snippet = /```ts\n([\s\S]*?)```/.exec(section)![1]!;
      expect(snippet).toContain("url: 'ws://localhost:4000/graphql'");
      const file = path.resolve(`tests/.readme-subscription-${process.pid}.mts`);
      writeFileSync(file, snippet.replace('ws://localhost:4000/graphql', wsUrl(t.app.url)));
      try {
        const child = spawn(process.execPath, ['--import', 'tsx', file], {
          env: { ...process.env, NODE_OPTIONS: '', KEY: readKey, LEARNER: learnerId },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        let err = '';
        child.stdout.on('data', (c) => (out += c));
        child.stderr.on('data', (c) => (err += c));
        const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
        await Promise.race([hubHolds(1, 'exactly'), exited.then(() => { throw new Error(`snippet exited early:\n${out}\n${err}`); })]);
        const res = await t.admin.upload(SUBMIT, { input: { learnerId, referenceText: recording!.text, audio: null } }, 'variables.input.audio', {
          bytes: recording!.bytes,
          name: 'recording.flac',
        });
        expect(res.errors).toBeUndefined();
        expect(await exited).toBe(0);
        const events = out.trim().split('\n').map((line) => JSON.parse(line));
        expect(events.map((e) => e.data.jobStatusChanged.status)).toEqual(['QUEUED', 'RUNNING', 'SUCCEEDED']);
        expect(events.every((e) => e.data.jobStatusChanged.id === res.data.submitUtterance.job.id)).toBe(true);
        expect(Number.isInteger(events[2].data.jobStatusChanged.assessment.sentence.total)).toBe(true);
      } finally {
        rmSync(file, { force: true });
      }
    }, 120_000);

    test('stopping the server closes open subscriptions (1001, going away)', async () => {
      const s = sub(readKey, JOBS, { learnerId });
      await hubHolds(1, 'exactly');
      disposed = true;
      await t.dispose();
      const why = await s.ended;
      expect(why.closeCode).toBe(1001);
      expect(t.app.services.events!.size).toBe(0);
    }, 60_000);
  });
});

describe('subscription rate limits (PGlite)', () => {
  let t: TestApp;
  const open: Subscription[] = [];
  beforeAll(async () => {
    t = await startTestApp('pglite', { rateLimitPerMinute: 3, authFailuresPerMinute: 2 });
  }, 120_000);
  afterAll(async () => {
    await Promise.all(open.map((s) => s.dispose()));
    await t?.dispose();
  });

  test('each subscribe costs one request of the key\'s bucket; failed handshakes count against the address', async () => {
    const learnerId = (await t.admin.request(CREATE_LEARNER, { input: { externalId: 'ws-rate' } })).data.createLearner.id; // 1 of 3
    // Requests 2 and 3: two subscriptions, held open by the server.
    for (let i = 1; i <= 2; i++) {
      open.push(subscribe(t.app.url, t.app.adminKey!, JOBS, { learnerId }));
      await waitForHub(t, i);
    }
    const refused = subscribe(t.app.url, t.app.adminKey!, JOBS, { learnerId });
    open.push(refused);
    expect(await refusal(refused)).toMatchObject({ code: 'RATE_LIMITED' });
    expect(t.app.services.events!.size).toBe(2);

    for (let i = 0; i < 2; i++) expect((await subscribe(t.app.url, 'sm_wrong', JOBS, { learnerId }).ended).closeCode).toBe(4401);
    const throttled = await subscribe(t.app.url, 'sm_wrong', JOBS, { learnerId }).ended;
    expect(throttled.closeCode).toBe(4429);
  }, 60_000);
});

describe('failed WebSocket logins behind a trusted proxy (PGlite)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp('pglite', { authFailuresPerMinute: 2, trustProxy: 'loopback' });
  }, 120_000);
  afterAll(() => t?.dispose());

  /** A handshake with a wrong key from client address `ip`, as the proxy forwards it; the socket's close code. */
  const failedLogin = (ip: string) => new Promise<number>((resolve, reject) => {
    const socket = new WebSocket(wsUrl(t.app.url), 'graphql-transport-ws', { headers: { 'x-forwarded-for': ip } });
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: 'Bearer sm_wrong' } })));
    socket.on('close', (code) => resolve(code));
    socket.on('error', reject);
  });

  test('are counted per client address (X-Forwarded-For, as HTTP counts them), not against the proxy that every client shares', async () => {
    expect([await failedLogin('203.0.113.1'), await failedLogin('203.0.113.1')]).toEqual([4401, 4401]);
    expect(await failedLogin('203.0.113.1')).toBe(4429);
    // Another client behind the same proxy still has its own allowance.
    expect(await failedLogin('203.0.113.2')).toBe(4401);
    // HTTP counts the same address: the throttled client is refused there too.
    const res = await fetch(`${t.app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sm_wrong', 'x-forwarded-for': '203.0.113.1' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(res.status).toBe(429);
  });
});

describe('a key that stops being valid closes its sockets (PGlite)', () => {
  let t: TestApp;
  const open: Subscription[] = [];
  beforeAll(async () => {
    t = await startTestApp('pglite');
  }, 120_000);
  afterAll(async () => {
    await Promise.all(open.map((s) => s.dispose()));
    await t?.dispose();
  });

  test('revoked or rotated away through the API: 4401 at once, with no event; another key\'s socket stays open', async () => {
    const { prisma } = t.app.services;
    const learnerId = (await t.admin.request(CREATE_LEARNER, { input: { externalId: 'ws-revoke' } })).data.createLearner.id;
    const org = await prisma.organization.findFirstOrThrow({ orderBy: { createdAt: 'asc' } });
    const [revoked, rotated, kept] = await Promise.all(
      ['ws-to-revoke', 'ws-to-rotate', 'ws-kept'].map((name) => createApiKey(prisma, org.id, name, ['SCORES_READ'])),
    );
    const sockets = [revoked, rotated, kept].map(({ key }) => subscribe(t.app.url, key, JOBS, { learnerId }));
    open.push(...sockets);
    const [revokedSocket, rotatedSocket, keptSocket] = sockets as [Subscription, Subscription, Subscription];
    await waitForHub(t, 3);
    let keptEnded = false;
    void keptSocket.ended.then(() => (keptEnded = true));

    const start = Date.now();
    const res = await t.admin.request(`mutation($id: ID!) { revokeApiKey(id: $id) { status } }`, { id: toGlobalId('ApiKey', revoked.apiKey.id) });
    expect(res.data?.revokeApiKey.status).toBe('REVOKED');
    const why = await revokedSocket.ended;
    // Well within the periodic check's 30 s: the revoke itself triggers the check.
    expect(Date.now() - start).toBeLessThan(10_000);
    expect(why).toMatchObject({ closeCode: 4401, closeReason: expect.stringMatching(/^UNAUTHENTICATED/) });
    expect(revokedSocket.received).toEqual([]);

    // Rotated with no overlap: the old key expires now, and its socket goes too.
    const rot = await t.admin.request(`mutation($id: ID!) { rotateApiKey(id: $id, expireOldAfterSeconds: 0) { apiKey { id } } }`, {
      id: toGlobalId('ApiKey', rotated.apiKey.id),
    });
    expect(rot.errors).toBeUndefined();
    expect(await rotatedSocket.ended).toMatchObject({ closeCode: 4401, closeReason: expect.stringMatching(/^UNAUTHENTICATED/) });

    // The other key's socket and subscription are untouched (and the closed ones are released).
    await sleep(200);
    expect(keptEnded).toBe(false);
    while ((t.app.services.events?.size ?? 0) !== 1) await sleep(10);
  }, 60_000);
});

describe('the periodic key check (PGlite)', () => {
  let t: TestApp;
  const open: Subscription[] = [];
  beforeAll(async () => {
    t = await startTestApp('pglite', { wsKeyCheckMs: 300, apiKeyCacheMs: 0 });
  }, 120_000);
  afterAll(async () => {
    await Promise.all(open.map((s) => s.dispose()));
    await t?.dispose();
  });

  test('a key revoked by another process closes its socket with 4401 within the check interval, with no event', async () => {
    const { prisma } = t.app.services;
    const learnerId = (await t.admin.request(CREATE_LEARNER, { input: { externalId: 'ws-periodic' } })).data.createLearner.id;
    const org = await prisma.organization.findFirstOrThrow({ orderBy: { createdAt: 'asc' } });
    const [doomed, kept] = await Promise.all(['ws-periodic-doomed', 'ws-periodic-kept'].map((name) => createApiKey(prisma, org.id, name, ['SCORES_READ'])));
    const [doomedSocket, keptSocket] = [doomed, kept].map(({ key }) => subscribe(t.app.url, key, JOBS, { learnerId })) as [Subscription, Subscription];
    open.push(doomedSocket, keptSocket);
    await waitForHub(t, 2);
    let keptEnded = false;
    void keptSocket.ended.then(() => (keptEnded = true));
    // As another process (the admin CLI) would: no hook in this process, no event to deliver.
    const start = Date.now();
    await prisma.apiKey.update({ where: { id: doomed.apiKey.id }, data: { revokedAt: new Date() } });
    expect(await doomedSocket.ended).toMatchObject({ closeCode: 4401, closeReason: expect.stringMatching(/^UNAUTHENTICATED/) });
    // By the configured check (300 ms), not the default 30 s one: a generous bound between the two.
    expect(Date.now() - start).toBeLessThan(10_000);
    expect(doomedSocket.received).toEqual([]);
    await sleep(700); // two more checks
    expect(keptEnded).toBe(false);
  }, 60_000);
});

async function waitForHub(t: TestApp, n: number): Promise<'held'> {
  while ((t.app.services.events?.size ?? 0) < n) await sleep(10);
  return 'held';
}
