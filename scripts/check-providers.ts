/**
 * `npm run check-providers [-- --providers cuda,cpu] [--model DIR] [--batches 1,4,8,16]`: which
 * onnxruntime execution provider the default model actually gets on this machine (with the
 * platform's own fallback), and how fast one 3-second utterance runs on it. For checking a GPU host
 * before deploying workers.
 *
 * With `--batches`, also the bundle's batched acoustic graph (acoustic-batched.onnx) on the provider
 * it got and on the CPU, per batch size: session runs and recordings per second, the card named
 * (nvidia-smi) when there is one. One JSON line per figure, so a GPU host's check is one command.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Scorer } from '../src/inference/scorer.js';
import { createSession } from '../src/inference/session.js';
import { batchFeeds } from '../src/inference/gop/batched-acoustic.js';
import type { ReferenceWord } from '../src/types.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const WORDS: ReferenceWord[] = [
  { text: 'WE', phones: ['W', 'IY0'], source: 'dataset' },
  { text: 'CALL', phones: ['K', 'AO0', 'L'], source: 'dataset' },
  { text: 'IT', phones: ['IH0', 'T'], source: 'dataset' },
  { text: 'BEAR', phones: ['B', 'EH0', 'R'], source: 'dataset' },
];

/** A 3-second test signal (not speech: the timing does not depend on what is said). */
const signal = (seconds: number, phase = 0) =>
  new Float32Array(seconds * 16000).map((_, i) => 0.1 * Math.sin((i + phase) / 9) * Math.sin(i / 4000));

/** The GPU's name and driver, or null where nvidia-smi is absent or finds none. */
function gpuName(): string | null {
  try {
    return execFileSync('nvidia-smi', ['--query-gpu=name,driver_version', '--format=csv,noheader'], { encoding: 'utf8', timeout: 10_000 })
      .trim().split('\n')[0]!.replace(/,\s*/, ' (driver ') + ')';
  } catch {
    return null;
  }
}

async function timeRuns(run: () => Promise<unknown>, minSeconds = 2): Promise<number> {
  await run(); // warm-up: the first run allocates (and on CUDA, compiles)
  let runs = 0;
  const started = performance.now();
  while (performance.now() - started < minSeconds * 1000) {
    await run();
    runs++;
  }
  return runs / ((performance.now() - started) / 1000);
}

async function batchedThroughput(modelDir: string, providers: string[], sizes: number[], card: string | null): Promise<void> {
  const graph = path.join(modelDir, 'acoustic-batched.onnx');
  if (!existsSync(graph)) {
    console.log(JSON.stringify({ batched: false, reason: `${graph} not found` }));
    return;
  }
  const tried = new Set<string>();
  for (const asked of [providers, ['cpu']]) {
    const { session, provider } = await createSession(graph, asked);
    if (tried.has(provider)) {
      await session.release();
      continue;
    }
    tried.add(provider);
    for (const size of sizes) {
      const feeds = batchFeeds(Array.from({ length: size }, (_, b) => signal(3, b * 37)));
      const runsPerSecond = await timeRuns(() => session.run(feeds));
      console.log(JSON.stringify({
        graph: 'acoustic-batched', provider, device: provider === 'cpu' ? 'cpu' : card, batch: size,
        runsPerSecond: +runsPerSecond.toFixed(2), recordingsPerSecond: +(runsPerSecond * size).toFixed(1),
      }));
    }
    await session.release();
  }
}

async function main() {
  const providers = arg('providers', process.env.SPEECHMARK_EXECUTION_PROVIDERS ?? 'cuda,cpu').split(',');
  const modelDir = arg('model', 'models/default');
  const scorer = await Scorer.load(modelDir, { providers });
  const { feeds } = scorer.buildFeeds(signal(3), WORDS);
  await scorer.warmUp();
  const runs = 50;
  const started = performance.now();
  for (let i = 0; i < runs; i++) await scorer.run(feeds);
  const seconds = (performance.now() - started) / 1000;
  const card = gpuName();
  console.log(JSON.stringify({
    asked: providers, provider: scorer.executionProvider, model: scorer.modelVersion, runsPerSecond: +(runs / seconds).toFixed(1), gpu: card,
  }));
  await scorer.release();
  const batches = arg('batches', '');
  if (batches) {
    const sizes = batches.split(',').map(Number);
    if (sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 256)) throw new Error('--batches takes batch sizes 1-256, comma-separated');
    await batchedThroughput(modelDir, providers, sizes, card);
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
