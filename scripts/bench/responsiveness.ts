/**
 * `npm run bench -- responsiveness [--json] [--uploads 20]`: how long the API takes to answer a
 * trivial request (`{ __typename }`) while its in-process worker assesses a queue of real
 * recordings, with the model on the thread that serves HTTP (SPEECHMARK_INFERENCE_THREAD=false)
 * against the model in its own thread (the default), each on a fresh child server, and the idle
 * answer time of the same server as the baseline. The recordings are uploaded first; the probes
 * run while the worker drains the queue (one probe at a time, 5 ms apart), so what they measure is
 * the worker's hold on the HTTP thread, not the uploads'. With PGlite (no DATABASE_URL) the
 * database runs on that thread too and its writes are in both figures.
 */
import { GqlClient } from '../../tests/support/client.js';
import { speechOceanUtterances } from '../../tests/support/speech.js';
import { startChildServer } from './server.js';
import { submitAll, waitAll } from './uploads.js';

const PROBE = '{ __typename }';

interface Probes {
  p50: number;
  p95: number;
  max: number;
  count: number;
}

function summarise(ms: number[]): Probes {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { p50: at(0.5), p95: at(0.95), max: sorted.at(-1)!, count: sorted.length };
}

/** Probes one after another until `until` settles. */
async function probeWhile(client: GqlClient, until: Promise<unknown>): Promise<number[]> {
  let done = false;
  const finished = until.finally(() => (done = true));
  const times: number[] = [];
  try {
    while (!done) {
      const started = performance.now();
      const res = await client.request(PROBE);
      if (res.errors) throw new Error(`probe: ${JSON.stringify(res.errors)}`);
      times.push(performance.now() - started);
      await new Promise((r) => setTimeout(r, 5));
    }
  } catch (e) {
    finished.catch(() => undefined); // the probe's error is the one to report
    throw e;
  }
  await finished;
  return times;
}

async function probeIdle(client: GqlClient, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await client.request(PROBE);
    times.push(performance.now() - started);
    await new Promise((r) => setTimeout(r, 5));
  }
  return times;
}

interface ModeResult {
  idle: Probes;
  busy: Probes;
  assessmentsPerSecond: number;
}

/** On PostgreSQL, a schema of its own for each mode: a fresh database prints the admin key the bench needs. */
function databaseFor(mode: string): Record<string, string> {
  const url = process.env.DATABASE_URL;
  if (!url || !/^postgres(ql)?:/.test(url)) return {};
  const parsed = new URL(url);
  parsed.searchParams.set('schema', `${parsed.searchParams.get('schema') ?? 'public'}_${mode}_${Date.now().toString(36)}`);
  return { DATABASE_URL: parsed.toString() };
}

async function measure(inferenceThread: boolean, uploads: number): Promise<ModeResult> {
  const recordings = speechOceanUtterances('dev', uploads + 2);
  const server = await startChildServer({
    SPEECHMARK_INFERENCE_THREAD: String(inferenceThread),
    SPEECHMARK_LOG_LEVEL: 'warn',
    SPEECHMARK_RATE_LIMIT_PER_MINUTE: '0', // thousands of probes from one key
    ...databaseFor(inferenceThread ? 'thread' : 'main'),
  });
  try {
    const client = new GqlClient(server.url, server.adminKey);
    const learnerId = (await client.request(`mutation { createLearner(input: {externalId: "bench"}) { id } }`)).data.createLearner.id;
    await waitAll(client, await submitAll(client, learnerId, recordings.slice(0, 2))); // warm the model and the JIT
    await probeIdle(client, 50); // warm the probe's path
    const idle = summarise(await probeIdle(client, 200));
    const ids = await submitAll(client, learnerId, recordings.slice(2));
    const started = performance.now();
    const busy = summarise(await probeWhile(client, waitAll(client, ids, 100)));
    const assessmentsPerSecond = ids.length / ((performance.now() - started) / 1000);
    return { idle, busy, assessmentsPerSecond };
  } finally {
    await server.stop();
  }
}

export async function runResponsivenessBench(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const say = (line: string) => (json ? console.error(line) : console.log(line));
  const at = args.indexOf('--uploads');
  const uploads = at >= 0 ? Number(args[at + 1]) : 20;
  const database = /^postgres(ql)?:/.test(process.env.DATABASE_URL ?? '') ? 'PostgreSQL' : 'PGlite';
  const figures: Record<string, number> = {};
  const results: [string, ModeResult][] = [];
  for (const [label, thread] of [['model on the HTTP thread', false], ['model in its own thread', true]] as const) {
    const r = await measure(thread, uploads);
    results.push([label, r]);
    const key = thread ? 'in_thread' : 'on_main';
    figures[`api.probe_ms_p50.${key}`] = r.busy.p50;
    figures[`api.probe_ms_p95.${key}`] = r.busy.p95;
    figures[`api.probe_ms_max.${key}`] = r.busy.max;
    figures[`api.probe_ms_p50_idle.${key}`] = r.idle.p50;
    figures[`e2e.assessments_per_s.${key}`] = r.assessmentsPerSecond;
  }
  say(`{ __typename } while the in-process worker assesses ${uploads} queued dev recordings (${database}); idle: the same server before the queue`);
  say(`${'mode'.padEnd(26)} ${'idle p50'.padStart(9)} ${'busy p50'.padStart(9)} ${'busy p95'.padStart(9)} ${'busy max'.padStart(9)} ${'probes'.padStart(7)} ${'assess/s'.padStart(9)}`);
  for (const [label, r] of results) {
    say(`${label.padEnd(26)} ${r.idle.p50.toFixed(2).padStart(9)} ${r.busy.p50.toFixed(2).padStart(9)} ${r.busy.p95.toFixed(2).padStart(9)} ${r.busy.max.toFixed(1).padStart(9)} ${String(r.busy.count).padStart(7)} ${r.assessmentsPerSecond.toFixed(2).padStart(9)}`);
  }
  const [main, thread] = [results[0]![1], results[1]![1]];
  figures['api.probe_p95_ratio.thread_vs_main'] = thread.busy.p95 / main.busy.p95;
  figures['e2e.throughput_ratio.thread_vs_main'] = thread.assessmentsPerSecond / main.assessmentsPerSecond;
  say(`ratios, model in its own thread / on the HTTP thread: busy p95 ${(thread.busy.p95 / main.busy.p95).toFixed(2)}, busy p50 ${(thread.busy.p50 / main.busy.p50).toFixed(2)}, throughput ${(thread.assessmentsPerSecond / main.assessmentsPerSecond).toFixed(2)}`);
  if (json) console.log(JSON.stringify(figures));
}
