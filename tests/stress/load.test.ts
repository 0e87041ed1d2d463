/**
 * Load on loopback against PostgreSQL (`npm run test:stress`; not part of `npm test`): 200 concurrent
 * uploads of small speech-like WAV recordings and 2,000 score queries at once, with the in-process
 * worker scoring meanwhile. Every request must succeed: a busy pool or a slow event loop queues work,
 * it does not fail it. Prints p50/p95/max latencies and the test process's peak resident memory (the
 * server runs in this process, and so do the HTTP client and the fixtures).
 *
 * Figures are printed, never asserted: timings depend on the machine.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Config } from '../../src/config.js';
import { startTestApp, testDatabases, waitForJob, type TestApp } from '../support/app.js';
import { encodeWav, syntheticSpeech } from '../support/audio-fixtures.js';
import type { GqlClient, GqlResponse } from '../support/client.js';

const UPLOADS = 200;
const QUERIES = 2000;
/** Score queries in flight at once (an LMS dashboard's worth of readers). */
const QUERY_CONCURRENCY = 100;
const LEARNERS = 20;
const SCORED_BEFORE = 5;

const hasPostgres = (await testDatabases()).includes('postgres');

const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { replayed utterance { id } job { id status } } }`;
const JOB_SCORES = `query($id: ID!) { job(id: $id) { status assessment { sentence { accuracy fluency prosody completeness total }
  words { text total phonemes { symbol accuracy } } } } }`;
const HISTORY = `query($ext: String!) { learnerByExternalId(externalId: $ext) { utterances(first: 10) { edges { node {
  referenceText latestAssessment { sentence { total } } } } } } }`;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function summary(name: string, ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  return `${name}: n=${s.length} p50=${percentile(s, 50).toFixed(0)} ms p95=${percentile(s, 95).toFixed(0)} ms max=${s.at(-1)!.toFixed(0)} ms`;
}

/** The first error of a response, as a line; null when it succeeded. */
function failure(res: GqlResponse): string | null {
  if (res.status === 200 && !res.errors) return null;
  const e = res.errors?.[0];
  return `HTTP ${res.status} ${e?.extensions?.code ?? ''} ${e?.message ?? ''}`.trim();
}

(hasPostgres ? describe : describe.skip)('load: 200 concurrent uploads and 2,000 score queries on PostgreSQL', () => {
  let t: TestApp;
  let learnerIds: string[] = [];
  const externalIds = Array.from({ length: LEARNERS }, (_, i) => `load-${i}`);

  beforeAll(async () => {
    // One LMS key sends everything: the per-key rate limit (a separate protection) is off here.
    // SPEECHMARK_DB_POOL_SIZE / SPEECHMARK_DB_TX_MAX_WAIT_MS, when set, override the defaults (for sizing).
    const env = process.env;
    const overrides = {
      rateLimitPerMinute: 0,
      ...(env.SPEECHMARK_DB_POOL_SIZE ? { dbPoolSize: Number(env.SPEECHMARK_DB_POOL_SIZE) } : {}),
      ...(env.SPEECHMARK_DB_TX_MAX_WAIT_MS ? { dbTransactionMaxWaitMs: Number(env.SPEECHMARK_DB_TX_MAX_WAIT_MS) } : {}),
    } as unknown as Partial<Config>;
    t = await startTestApp('postgres', overrides);
    learnerIds = [];
    for (const externalId of externalIds) {
      const res = await t.admin.request(`mutation($e: String!) { createLearner(input: {externalId: $e}) { id } }`, { e: externalId });
      learnerIds.push(res.data.createLearner.id);
    }
  });
  afterAll(() => t?.dispose());

  const upload = (client: GqlClient, i: number, bytes: Uint8Array) =>
    client.upload(
      SUBMIT,
      { input: { learnerId: learnerIds[i % LEARNERS], referenceText: 'We call it bear', audio: null, idempotencyKey: `load-${i}` } },
      'variables.input.audio',
      { bytes, name: `take-${i}.wav` },
    );

  test('every upload and query succeeds; latencies and peak memory are printed', async () => {
    // Fixtures first, so making them is not part of the measurement: 1.5-2.5 s each, all different.
    const takes = Array.from({ length: UPLOADS + SCORED_BEFORE }, (_, i) => encodeWav(syntheticSpeech(1.5 + (i % 5) * 0.25, 16000, 1000 + i), 16000));

    // A few scored utterances, so the queries read real scores.
    const scoredJobs: string[] = [];
    for (let i = 0; i < SCORED_BEFORE; i++) {
      const res = await upload(t.admin, UPLOADS + i, takes[UPLOADS + i]!);
      expect(failure(res)).toBeNull();
      scoredJobs.push(res.data.submitUtterance.job.id);
    }
    for (const id of scoredJobs) expect((await waitForJob(t.admin, id, 120_000)).status).toBe('SUCCEEDED');

    let peakRss = process.memoryUsage().rss;
    const rssBefore = peakRss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const cpuBefore = process.cpuUsage();

    const errors: string[] = [];
    const uploadMs: number[] = [];
    const queryMs: number[] = [];
    const started = performance.now();

    const uploads = takes.slice(0, UPLOADS).map(async (bytes, i) => {
      const t0 = performance.now();
      const res = await upload(t.admin, i, bytes);
      uploadMs.push(performance.now() - t0);
      const f = failure(res);
      if (f) errors.push(`upload ${i}: ${f}`);
      return res.data?.submitUtterance?.job?.id as string | undefined;
    });

    let next = 0;
    const reader = async () => {
      while (next < QUERIES) {
        const n = next++;
        const t0 = performance.now();
        const res =
          n % 2 === 0
            ? await t.admin.request(JOB_SCORES, { id: scoredJobs[n % scoredJobs.length] })
            : await t.admin.request(HISTORY, { ext: externalIds[n % LEARNERS] });
        queryMs.push(performance.now() - t0);
        const f = failure(res);
        if (f) errors.push(`query ${n}: ${f}`);
        else if (n % 2 === 0 && res.data.job.assessment?.sentence?.total === undefined) errors.push(`query ${n}: no scores`);
      }
    };
    const readers = Array.from({ length: QUERY_CONCURRENCY }, reader);

    const jobIds = await Promise.all(uploads);
    const uploadsDoneMs = performance.now() - started;
    await Promise.all(readers);
    const allDoneMs = performance.now() - started;
    clearInterval(sampler);
    loopDelay.disable();
    const cpu = process.cpuUsage(cpuBefore);

    const mib = (b: number) => `${Math.round(b / 2 ** 20)} MiB`;
    const pool = t.config.dbPoolSize;
    console.log(
      [
        `load on PostgreSQL (pool ${pool}, transaction maxWait ${t.config.dbTransactionMaxWaitMs} ms, in-process worker):`,
        summary(`  uploads (${UPLOADS} at once)`, uploadMs),
        summary(`  score queries (${QUERIES}, ${QUERY_CONCURRENCY} in flight)`, queryMs),
        `  uploads done after ${(uploadsDoneMs / 1000).toFixed(1)} s, everything after ${(allDoneMs / 1000).toFixed(1)} s`,
        `  peak RSS ${mib(peakRss)} (before the burst ${mib(rssBefore)})`,
        `  this process's CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s; event-loop delay p50 ${(loopDelay.percentile(50) / 1e6).toFixed(0)} ms, ` +
          `p99 ${(loopDelay.percentile(99) / 1e6).toFixed(0)} ms, max ${(loopDelay.max / 1e6).toFixed(0)} ms`,
        `  errors: ${errors.length}${errors.length ? `, first: ${errors.slice(0, 5).join(' | ')}` : ''}`,
      ].join('\n'),
    );
    expect(errors).toEqual([]);

    // Every upload was queued as one utterance with one job, and the worker drains the queue.
    expect(new Set(jobIds).size).toBe(UPLOADS);
    const prisma = t.app.services.prisma;
    expect(await prisma.utterance.count()).toBe(UPLOADS + SCORED_BEFORE);
    expect(await prisma.job.count()).toBe(UPLOADS + SCORED_BEFORE);
    const drainStarted = performance.now();
    const last = await waitForJob(t.admin, jobIds.at(-1)!, 600_000);
    const remaining = await prisma.job.groupBy({ by: ['status'], _count: true });
    console.log(
      `  worker: last job ${last.status} after ${((performance.now() - drainStarted) / 1000).toFixed(1)} s more; ` +
        `jobs by status: ${remaining.map((r) => `${r.status} ${r._count}`).join(', ')}`,
    );
  });
});
