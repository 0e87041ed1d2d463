/**
 * `npm run bench -- speechllm [--layers 24] [--heads 16] [--head-dim 64] [--audio-seconds 5] [--providers cpu]`:
 * the generative decode loop on this machine: time to first token (encoder + the prompt step) and
 * tokens per second after it, for a decoder-only bundle in the paper's rubric format whose KV cache
 * has the given layout (Qwen2-Audio-7B's decoder: 32 layers, 32 heads of 128; the defaults are
 * smaller so that a CPU run finishes). The decoder is the tests' table decoder (tests/inference/
 * generative/fixtures.ts): it does no attention, so the figures measure what the platform adds per
 * token (feeding and growing the cache, argmax, tokenizer), not a real model's compute. The
 * baseline printed beside them is the same bundle with a 1-layer, 1×1 cache.
 *
 * On CUDA (`--providers cuda,cpu`) the cache stays on the device between steps (see
 * src/inference/generative/decode.ts); that path is untested here (no GPU on the development machine).
 */
import { GenerativeAssessor } from '../../src/inference/generative/assessor.js';
import type { StepInfo } from '../../src/inference/generative/decode.js';
import { audio, buildBundle, cleanupBundles, GOOD_RUBRIC, WORDS } from '../../tests/inference/generative/fixtures.js';

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

interface Figures {
  provider: string;
  timeToFirstTokenMs: number;
  tokensPerSecond: number;
  tokens: number;
}

async function measure(layout: { numLayers: number; numHeads: number; headDim: number }, samples: Float32Array, providers: string[], runs: number): Promise<Figures> {
  const dir = buildBundle({ response: GOOD_RUBRIC, format: 'rubric', decoderOnly: true, words: WORDS, ...layout });
  const model = await GenerativeAssessor.load(dir, { providers });
  try {
    await model.warmUp();
    let best: Figures | undefined;
    for (let r = 0; r < runs; r++) {
      const stamps: number[] = [];
      const started = performance.now();
      await model.assess(samples, WORDS, { onStep: (_: StepInfo) => stamps.push(performance.now()) });
      const ttft = stamps[0]! - started;
      const rest = stamps.length - 1;
      const tps = rest > 0 ? rest / ((stamps.at(-1)! - stamps[0]!) / 1000) : 0;
      if (!best || tps > best.tokensPerSecond) best = { provider: model.executionProvider, timeToFirstTokenMs: +ttft.toFixed(1), tokensPerSecond: +tps.toFixed(1), tokens: stamps.length };
    }
    return best!;
  } finally {
    await model.release();
  }
}

export async function benchSpeechLlm(args: string[]): Promise<void> {
  const layout = { numLayers: flag(args, 'layers', 24), numHeads: flag(args, 'heads', 16), headDim: flag(args, 'head-dim', 64) };
  const i = args.indexOf('--providers');
  const providers = i >= 0 ? args[i + 1]!.split(',') : ['cpu'];
  const seconds = flag(args, 'audio-seconds', 5);
  const one = audio();
  const samples = new Float32Array(seconds * 16000).map((_, k) => one[k % one.length]!);
  try {
    const model = await measure(layout, samples, providers, 3);
    const baseline = await measure({ numLayers: 1, numHeads: 1, headDim: 1 }, samples, providers, 3);
    console.log(JSON.stringify({ bench: 'speechllm-decode-loop', layout, audioSeconds: seconds, ...model, baseline }));
  } finally {
    cleanupBundles();
  }
}
