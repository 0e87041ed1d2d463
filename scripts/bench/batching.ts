/**
 * `npm run bench -- batching [--utterances 32] [--batch 8] [--concurrency 16] [--rounds 4] [--threads 2] [--thread-batch 4]`, and
 * part of `npm run bench`: dynamic batching (src/inference/batcher.ts) at saturation.
 *
 * What a worker's jobs run, in process: the gop scorer (acoustic graph, native-English graph,
 * alignment and features in TypeScript, heads graph) with `concurrency` requests always in flight
 * (as a worker with SPEECHMARK_WORKER_CONCURRENCY = concurrency keeps them), once with batch size 1
 * (today's default) and once with `batch`; and shaped as a worker runs it with
 * SPEECHMARK_MODEL_THREADS = `threads`: the bundle in that many model threads
 * (src/inference/assessor-pool.ts), each batching its share of the requests in flight with batch
 * size `thread-batch`, and with batch size 1 (`worker.batched_vs_unbatched` is their ratio). The
 * batched one is `worker.batched_vs_raw`'s numerator.
 *
 * The baseline ("raw"): every onnxruntime session run the batched scorer made, recorded with its
 * exact feeds (the batches the batcher formed, the native graph's and the heads graph's runs) and
 * replayed as bare runs of the same sessions, one after another. The platform / raw ratio is then
 * what the platform keeps of the model's own throughput: everything it does besides running the
 * bundle's graphs (batching, tracks, alignment, features, decoding, diagnostics) is the difference.
 * The same runs are also replayed in `threads` threads at once, each with the cores divided as the
 * model threads divide them (./raw-streams.ts): the bare model with the model threads' parallelism.
 * Printed beside it, as before: bare runs of the acoustic graph's batches alone, which the
 * platform's rate cannot approach since the bundle has two more graphs; bare runs of the unbatched
 * acoustic graph one recording at a time; and the acoustic stage alone through the batcher (the
 * graph, plus each row's energy and pitch tracks), which bounds what the batching machinery costs.
 * The modes take turns each round, so a load change on a shared machine touches all of them.
 */
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { decodeAudio } from '../../src/audio/decode.js';
import type { Worker } from 'node:worker_threads';
import { AssessorPool, intraOpThreadsPerModelThread } from '../../src/inference/assessor-pool.js';
import { startModuleThread } from '../../src/ops/threads.js';
import type { StreamData, WireRun } from './raw-streams.js';
import type { BatchSettings } from '../../src/inference/batcher.js';
import { acousticBatcher, batchFeeds } from '../../src/inference/gop/batched-acoustic.js';
import { padSamples } from '../../src/inference/scorer-base.js';
import { Scorer } from '../../src/inference/scorer.js';
import { analyzeReferenceText } from '../../src/text/reference.js';
import type { ReferenceWord } from '../../src/types.js';
import { speechOceanUtterances } from '../../tests/support/speech.js';

const BUNDLE = 'models/default';
const WAIT_MS = 5;

interface Job { samples: Float32Array; words: ReferenceWord[] }

/** `jobs` through `scorer` (a Scorer here, or model threads) with `concurrency` always in flight; seconds taken. */
async function saturate(scorer: Scorer | AssessorPool, jobs: readonly Job[], concurrency: number): Promise<number> {
  const started = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      await (scorer instanceof AssessorPool ? scorer.assess(job.samples, job.words) : scorer.scoreDetailed(job.samples, job.words));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return (performance.now() - started) / 1000;
}

/** The acoustic stage alone through the batcher (real sessions), `concurrency` in flight; seconds taken. */
async function saturateAcoustic(plain: ort.InferenceSession, batched: ort.InferenceSession, jobs: readonly Job[], concurrency: number, settings: BatchSettings): Promise<number> {
  const batcher = acousticBatcher((f) => plain.run(f), (f) => batched.run(f), 3, settings);
  const started = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < jobs.length) await batcher.submit(jobs[next++]!.samples);
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return (performance.now() - started) / 1000;
}

async function timeIt(fn: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await fn();
  return (performance.now() - started) / 1000;
}

export interface BatchingFigures {
  recordings: number;
  batch: number;
  concurrency: number;
  /** Model threads of the worker-shaped run (SPEECHMARK_MODEL_THREADS), and each one's batch size. */
  threads: number;
  threadBatch: number;
  /** The bundle through `threads` model threads (src/inference/assessor-pool.ts) with batching: a worker's model side. */
  threadsPerSecond: number;
  /** The same model threads with batch size 1. */
  threadsUnbatchedPerSecond: number;
  meanBatch: number;
  batchedPerSecond: number;
  unbatchedPerSecond: number;
  rawBatchedPerSecond: number;
  rawUnbatchedPerSecond: number;
  /** The acoustic stage alone through the batcher: what batching itself costs against raw. */
  batcherAcousticPerSecond: number;
  /** Bare runs of the batches the acoustic-only pass formed. */
  rawAcousticPerSecond: number;
  /** Bare replays of every session run the batched scorer made: the bundle's graphs alone. */
  rawAllPerSecond: number;
  /** The same runs replayed in `threads` threads at once, the cores shared out as the model threads share them. */
  rawStreamsPerSecond: number;
  /** Of that replay, ms per recording by graph (named by its first output). */
  rawMsByGraph: Record<string, number>;
}

interface RecordedRun { session: ort.InferenceSession; feeds: Record<string, ort.Tensor> }

/** Which of the bundle's graphs a session is (by its inputs and outputs), and the files. */
function graphOf(session: ort.InferenceSession): 'acoustic' | 'batched' | 'native' | 'heads' {
  if (session.inputNames.includes('lengths')) return 'batched';
  if (session.outputNames.includes('senone_loglik')) return 'native';
  if (session.outputNames.includes('phone_scores')) return 'heads';
  return 'acoustic';
}

/**
 * `runs` replayed bare in `streams` threads at once (./raw-streams.ts), dealt out in turn, each
 * thread's sessions on the cores divided by the streams, as AssessorPool shares them; seconds from
 * go to the last stream's end.
 */
async function replayStreams(runs: readonly RecordedRun[], streams: number, scorer: Scorer): Promise<number> {
  const b = scorer.bundle;
  const paths = { acoustic: b.modelPath, batched: b.batchedPath!, native: b.nativePath!, heads: b.headsPath! };
  const wire = (r: RecordedRun): WireRun => ({
    graph: graphOf(r.session),
    feeds: Object.fromEntries(Object.entries(r.feeds).map(([name, t]) => [name, { type: t.type, dims: t.dims, data: t.data }])),
  });
  const threads = Array.from({ length: streams }, (_, i) => {
    const data: StreamData = { paths, intraOpNumThreads: intraOpThreadsPerModelThread(streams), runs: runs.filter((_, k) => k % streams === i).map(wire) };
    return startModuleThread('./raw-streams', import.meta.url, data);
  });
  const next = (w: Worker) => new Promise<any>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  try {
    await Promise.all(threads.map(next));
    const started = performance.now();
    const done = Promise.all(threads.map(next));
    threads.forEach((w) => w.postMessage('go'));
    await done;
    return (performance.now() - started) / 1000;
  } finally {
    await Promise.all(threads.map((w) => w.terminate()));
  }
}

/** Bare runs of `runs` one after another; seconds per graph (named by its first output). */
async function replayRuns(runs: readonly RecordedRun[]): Promise<Map<string, number>> {
  const seconds = new Map<string, number>();
  for (const { session, feeds } of runs) {
    const started = performance.now();
    await session.run(feeds);
    const graph = session.outputNames[0] ?? '?';
    seconds.set(graph, (seconds.get(graph) ?? 0) + (performance.now() - started) / 1000);
  }
  return seconds;
}

/** Bare session runs of recorded batches (rows by length): the batched graph, or the unbatched one for a batch of one. */
async function replay(batches: readonly (readonly number[])[], byLength: Map<number, Float32Array>, plain: ort.InferenceSession, batched: ort.InferenceSession): Promise<number> {
  const feeds = batches.map((lengths) => {
    const rows = lengths.map((n) => byLength.get(n)!);
    return { one: rows.length === 1, feeds: rows.length === 1 ? { samples: new ort.Tensor('float32', rows[0]!, [1, rows[0]!.length]) } : batchFeeds(rows) };
  });
  return timeIt(async () => {
    for (const f of feeds) await (f.one ? plain : batched).run(f.feeds);
  });
}

export async function benchBatching(args: string[]): Promise<BatchingFigures> {
  const { values } = parseArgs({
    args,
    options: {
      utterances: { type: 'string', default: '32' }, batch: { type: 'string', default: '8' }, concurrency: { type: 'string', default: '16' },
      rounds: { type: 'string', default: '4' }, threads: { type: 'string', default: '2' }, 'thread-batch': { type: 'string', default: '4' },
    },
  });
  const [count, size, concurrency, rounds, threads] = [values.utterances, values.batch, values.concurrency, values.rounds, values.threads].map(Number) as [number, number, number, number, number];
  // each model thread forms its batches from its share of the requests in flight (as workerProblems requires)
  const threadBatch = Math.max(1, Math.min(Number(values['thread-batch']), Math.floor(concurrency / threads)));
  const recorded: number[][] = [];
  const settings: BatchSettings = { size, waitMs: WAIT_MS, observe: (lengths) => recorded.push([...lengths]) };
  const jobs: Job[] = await Promise.all(
    speechOceanUtterances('dev', count).map(async (u) => ({
      samples: padSamples((await decodeAudio(u.bytes, { minSeconds: 0, maxSeconds: 600 })).samples),
      words: analyzeReferenceText(u.text),
    })),
  );
  // a bare run's time depends on the shapes alone: any recording of a length stands for it
  const byLength = new Map(jobs.map((j) => [j.samples.length, j.samples]));
  const unbatched = await Scorer.load(BUNDLE, { providers: ['cpu'], batch: { size: 1, waitMs: WAIT_MS } });
  const batched = await Scorer.load(BUNDLE, { providers: ['cpu'], batch: settings });
  const runs: RecordedRun[] = [];
  batched.onSessionRun = (session, feeds) => runs.push({ session, feeds });
  const plainGraph = await ort.InferenceSession.create(`${BUNDLE}/acoustic.onnx`, { graphOptimizationLevel: 'all' });
  const batchedGraph = await ort.InferenceSession.create(`${BUNDLE}/acoustic-batched.onnx`, { graphOptimizationLevel: 'all' });
  const pool = await AssessorPool.start(BUNDLE, { providers: ['cpu'], batch: { size: threadBatch, waitMs: WAIT_MS }, threads });
  const poolUnbatched = await AssessorPool.start(BUNDLE, { providers: ['cpu'], threads });
  try {
    await saturate(pool, jobs.slice(0, 2 * threads), 2 * threads);
    await saturate(poolUnbatched, jobs.slice(0, 2 * threads), 2 * threads);
    // warm-up: every session, every shape path once
    await saturate(unbatched, jobs.slice(0, 2), 2);
    await saturate(batched, jobs.slice(0, size), size);
    await replay(recorded.splice(0), byLength, plainGraph, batchedGraph);
    await replayRuns(runs.splice(0));
    const seconds = { batched: 0, unbatched: 0, threads: 0, rawBatched: 0, rawUnbatched: 0, batcherAcoustic: 0, rawAcoustic: 0, rawAll: 0, rawStreams: 0, threadsUnbatched: 0 };
    const byGraph = new Map<string, number>();
    const formed: number[] = [];
    // Whichever mode runs first in a round measured up to a fifth slower (the same scorer twice
    // gave 1.19 in one run), so the modes take turns at going first.
    const modes = [
      async () => (seconds.unbatched += await saturate(unbatched, jobs, concurrency)),
      async () => (seconds.batched += await saturate(batched, jobs, concurrency)),
      async () => (seconds.threads += await saturate(pool, jobs, concurrency)),
      async () => (seconds.threadsUnbatched += await saturate(poolUnbatched, jobs, concurrency)),
    ];
    for (let r = 0; r < rounds; r++) {
      for (let m = 0; m < modes.length; m++) await modes[(r + m) % modes.length]!();
      const scorerBatches = recorded.splice(0);
      seconds.rawStreams += await replayStreams(runs, threads, batched);
      for (const [graph, t] of await replayRuns(runs.splice(0))) {
        byGraph.set(graph, (byGraph.get(graph) ?? 0) + t);
        seconds.rawAll += t;
      }
      seconds.rawBatched += await replay(scorerBatches, byLength, plainGraph, batchedGraph);
      seconds.batcherAcoustic += await saturateAcoustic(plainGraph, batchedGraph, jobs, concurrency, settings);
      seconds.rawAcoustic += await replay(recorded.splice(0), byLength, plainGraph, batchedGraph);
      seconds.rawUnbatched += await timeIt(async () => {
        for (const j of jobs) await plainGraph.run({ samples: new ort.Tensor('float32', j.samples, [1, j.samples.length]) });
      });
      formed.push(...scorerBatches.map((b) => b.length));
    }
    const n = jobs.length * rounds;
    return {
      recordings: jobs.length,
      batch: size,
      concurrency,
      threads,
      threadBatch,
      threadsPerSecond: n / seconds.threads,
      threadsUnbatchedPerSecond: n / seconds.threadsUnbatched,
      meanBatch: formed.reduce((a, b) => a + b, 0) / formed.length,
      batchedPerSecond: n / seconds.batched,
      unbatchedPerSecond: n / seconds.unbatched,
      rawBatchedPerSecond: n / seconds.rawBatched,
      rawUnbatchedPerSecond: n / seconds.rawUnbatched,
      batcherAcousticPerSecond: n / seconds.batcherAcoustic,
      rawAcousticPerSecond: n / seconds.rawAcoustic,
      rawAllPerSecond: n / seconds.rawAll,
      rawStreamsPerSecond: n / seconds.rawStreams,
      rawMsByGraph: Object.fromEntries([...byGraph].map(([graph, t]) => [graph, (t * 1000) / n])),
    };
  } finally {
    await pool.close();
    await poolUnbatched.close();
    await unbatched.release();
    await batched.release();
    await plainGraph.release();
    await batchedGraph.release();
  }
}

/** Prints the lines and sets the --json figures (worker.*). */
export async function runBatchingBench(args: string[], say: (line: string) => void, figures: Record<string, number | string>): Promise<void> {
  const f = await benchBatching(args);
  say(
    `batching at saturation (${f.recordings} dev recordings, ${f.concurrency} in flight, scorer in process): batch size ${f.batch} ${f.batchedPerSecond.toFixed(2)}/s, ` +
      `batch size 1 ${f.unbatchedPerSecond.toFixed(2)}/s (ratio ${(f.batchedPerSecond / f.unbatchedPerSecond).toFixed(3)})`,
  );
  const graphs = Object.entries(f.rawMsByGraph).map(([g, ms]) => `${g} ${ms.toFixed(1)}`).join(', ');
  say(
    `bare onnxruntime, every session run the batched scorer made, replayed one after another with onnxruntime's default threads (ms per recording by graph output: ${graphs}): ` +
      `${f.rawAllPerSecond.toFixed(2)} recordings/s`,
  );
  say(
    `worker-shaped, ${f.threads} model threads (SPEECHMARK_MODEL_THREADS=${f.threads}, SPEECHMARK_BATCH_SIZE=${f.threadBatch}, each thread batching its share): ${f.threadsPerSecond.toFixed(2)} recordings/s; ` +
      `/ raw: ${(f.threadsPerSecond / f.rawAllPerSecond).toFixed(3)} (worker.batched_vs_raw); one thread with batching / raw: ${(f.batchedPerSecond / f.rawAllPerSecond).toFixed(3)}`,
  );
  say(
    `worker-shaped, ${f.threads} model threads with batch size 1: ${f.threadsUnbatchedPerSecond.toFixed(2)} recordings/s; ` +
      `batching / batch size 1 in the model threads: ${(f.threadsPerSecond / f.threadsUnbatchedPerSecond).toFixed(3)} (worker.batched_vs_unbatched)`,
  );
  say(
    `bare onnxruntime, the same runs in ${f.threads} threads at once (the cores shared out as the model threads share them): ${f.rawStreamsPerSecond.toFixed(2)} recordings/s; ` +
      `${f.threads} model threads / that: ${(f.threadsPerSecond / f.rawStreamsPerSecond).toFixed(3)} (worker.batched_vs_raw_streams)`,
  );
  say(
    `bare onnxruntime, the acoustic graph alone on the same batches (mean ${f.meanBatch.toFixed(1)} rows): ${f.rawBatchedPerSecond.toFixed(2)} recordings/s ` +
      `(platform / that: ${(f.batchedPerSecond / f.rawBatchedPerSecond).toFixed(3)}); ` +
      `raw batched / raw unbatched acoustic graph (${f.rawUnbatchedPerSecond.toFixed(2)}/s): ${(f.rawBatchedPerSecond / f.rawUnbatchedPerSecond).toFixed(3)}`,
  );
  say(
    `acoustic stage alone through the batcher (graph, then each row's energy and pitch tracks in TypeScript): ${f.batcherAcousticPerSecond.toFixed(2)} recordings/s, ` +
      `ratio to bare runs of its own batches ${(f.batcherAcousticPerSecond / f.rawAcousticPerSecond).toFixed(3)}`,
  );
  figures['worker.batcher_acoustic_vs_raw'] = f.batcherAcousticPerSecond / f.rawAcousticPerSecond;
  figures['worker.batched_per_s'] = f.batchedPerSecond;
  figures['worker.unbatched_per_s'] = f.unbatchedPerSecond;
  figures['worker.raw_batched_per_s'] = f.rawBatchedPerSecond;
  figures['worker.one_thread_batched_vs_unbatched'] = f.batchedPerSecond / f.unbatchedPerSecond;
  figures['worker.threads_unbatched_per_s'] = f.threadsUnbatchedPerSecond;
  figures['worker.batched_vs_unbatched'] = f.threadsPerSecond / f.threadsUnbatchedPerSecond;
  figures['worker.raw_per_s'] = f.rawAllPerSecond;
  figures['worker.model_threads'] = f.threads;
  figures['worker.threads_per_s'] = f.threadsPerSecond;
  figures['worker.batched_vs_raw'] = f.threadsPerSecond / f.rawAllPerSecond;
  figures['worker.one_thread_vs_raw'] = f.batchedPerSecond / f.rawAllPerSecond;
  figures['worker.raw_streams_per_s'] = f.rawStreamsPerSecond;
  figures['worker.batched_vs_raw_streams'] = f.threadsPerSecond / f.rawStreamsPerSecond;
  figures['worker.batched_vs_raw_acoustic_graph'] = f.batchedPerSecond / f.rawBatchedPerSecond;
  figures['worker.raw_batched_vs_raw_unbatched'] = f.rawBatchedPerSecond / f.rawUnbatchedPerSecond;
}
