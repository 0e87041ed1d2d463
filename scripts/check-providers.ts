/**
 * `npm run check-providers [-- --providers cuda,cpu] [--model DIR]`: which onnxruntime execution
 * provider the default model actually gets on this machine (with the platform's own fallback), and
 * how fast one 3-second utterance runs on it. For checking a GPU host before deploying workers.
 */
import { Scorer } from '../src/inference/scorer.js';
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

async function main() {
  const providers = arg('providers', process.env.SPEECHMARK_EXECUTION_PROVIDERS ?? 'cuda,cpu').split(',');
  const scorer = await Scorer.load(arg('model', 'models/default'), { providers });
  const samples = new Float32Array(3 * 16000).map((_, i) => 0.1 * Math.sin(i / 9) * Math.sin(i / 4000));
  const { feeds } = scorer.buildFeeds(samples, WORDS);
  await scorer.warmUp();
  const runs = 50;
  const started = performance.now();
  for (let i = 0; i < runs; i++) await scorer.run(feeds);
  const seconds = (performance.now() - started) / 1000;
  console.log(JSON.stringify({ asked: providers, provider: scorer.executionProvider, model: scorer.modelVersion, runsPerSecond: +(runs / seconds).toFixed(1) }));
  await scorer.release();
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
