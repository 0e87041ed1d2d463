/**
 * The acoustic graph on a batch of recordings: the bundle's `batched` graph
 * (scripts/export-batched/batched_acoustic.py) takes samples [B, N] zero-padded to the longest row
 * plus each row's length, and returns log_posteriors [K, B, T2, V] and frame_energy [B, T]. Its
 * time means (DC offset, feature normalisation) and convolution masks use each row's own length,
 * so a row's frames inside its length match the unbatched graph's (to float rounding: README.md
 * here); the frames past it are padding and are cut here.
 */
import * as ort from 'onnxruntime-node';
import { AppError } from '../../errors.js';
import { acousticBatches } from '../../ops/metrics.js';
import { Batcher, type BatchSettings } from '../batcher.js';
import type { ModelBundle } from '../bundle.js';
import type { ScorerLoadOptions } from '../scorer-base.js';
import { createSession, type ExecutionProvider } from '../session.js';
import { invalidOutput, readTensor } from '../outputs.js';
import { ACOUSTIC_OUTPUTS, acousticResult, runAcoustic, type AcousticResult, type RunGraph } from './engine.js';
import { VOCAB } from './features.js';

/** The front-end's analysis window and hop, in samples (25 ms and 10 ms at 16 kHz). */
const WINDOW = 400;
const HOP = 160;

/** 10 ms frames of a recording of `samples` samples (at least WINDOW), as the graph computes them. */
export function energyFrames(samples: number): number {
  return Math.floor((samples - WINDOW) / HOP) + 1;
}

/** 20 ms posterior frames: the recognisers' input convolution has stride 2 (kernel 5, padding 2). */
export function posteriorFrames(samples: number): number {
  return Math.ceil(energyFrames(samples) / 2);
}

/** The batched graph's inputs: rows zero-padded at the end to the longest, and their lengths. */
export function batchFeeds(rows: readonly Float32Array[]): Record<string, ort.Tensor> {
  const width = Math.max(...rows.map((r) => r.length));
  const samples = new Float32Array(rows.length * width);
  rows.forEach((r, b) => samples.set(r, b * width));
  const lengths = BigInt64Array.from(rows, (r) => BigInt(r.length));
  return {
    samples: new ort.Tensor('float32', samples, [rows.length, width]),
    lengths: new ort.Tensor('int64', lengths, [rows.length]),
  };
}

/**
 * One run of the batched graph for `rows` (each at least WINDOW samples, already padded as the
 * unbatched path pads them); one checked AcousticResult per row, in order.
 */
export async function runAcousticBatch(run: RunGraph, rows: readonly Float32Array[], recognisers: number): Promise<AcousticResult[]> {
  const outputs = await run(batchFeeds(rows));
  const lp = readTensor(outputs, 'log_posteriors', 4);
  const energy = readTensor(outputs, 'frame_energy', 2);
  const [K, B, T2, V] = lp.dims as [number, number, number, number];
  const T = energy.dims[1]!;
  const longest = Math.max(...rows.map((r) => r.length));
  if (K !== recognisers || B !== rows.length || V !== VOCAB || T2 !== posteriorFrames(longest)) {
    throw invalidOutput(`output "log_posteriors" has shape [${lp.dims.join(', ')}], expected [${recognisers}, ${rows.length}, ${posteriorFrames(longest)}, ${VOCAB}]`, { output: 'log_posteriors', shape: lp.dims });
  }
  if (energy.dims[0] !== B || T !== energyFrames(longest)) {
    throw invalidOutput(`output "frame_energy" has shape [${energy.dims.join(', ')}], expected [${B}, ${energyFrames(longest)}]`, { output: 'frame_energy', shape: energy.dims });
  }
  return rows.map((samples, b) => {
    const frames = posteriorFrames(samples.length);
    const own = new Float32Array(K * frames * V);
    for (let k = 0; k < K; k++) own.set(lp.data.subarray((k * B + b) * T2 * V, ((k * B + b) * T2 + frames) * V), k * frames * V);
    const ownEnergy = energy.data.slice(b * T, b * T + energyFrames(samples.length));
    return acousticResult(own, K, frames, samples, ownEnergy);
  });
}

/**
 * Acoustic runs batched across concurrent requests (src/inference/batcher.ts): a bucket of one
 * runs the unbatched graph (exactly today's results); larger ones run the batched graph once.
 */
export function acousticBatcher(runPlain: RunGraph, runBatched: RunGraph, recognisers: number, settings: BatchSettings): Batcher<Float32Array, AcousticResult> {
  const runBucket = async (rows: Float32Array[]): Promise<AcousticResult[]> => {
    acousticBatches.inc({ rows: String(rows.length) });
    return rows.length === 1 ? [await runAcoustic(runPlain, rows[0]!, recognisers)] : runAcousticBatch(runBatched, rows, recognisers);
  };
  return new Batcher(runBucket, (row) => row.length, settings);
}

export interface BatchedAcoustic {
  session: ort.InferenceSession;
  settings: BatchSettings;
}

/** The bundle's batched acoustic graph when batching is on (batch size > 1), on the acoustic graph's provider. */
export async function loadBatched(bundle: ModelBundle, options: ScorerLoadOptions, provider: ExecutionProvider): Promise<BatchedAcoustic | null> {
  const settings = options.batch;
  if (!settings || settings.size <= 1) return null;
  if (!bundle.batchedPath) {
    throw new AppError('MODEL_UNAVAILABLE', `Model bundle ${bundle.dir} has no "batched" acoustic graph, which a batch size of ${settings.size} needs (set SPEECHMARK_BATCH_SIZE=1 or add one: scripts/export-batched/).`, { modelDir: bundle.dir });
  }
  const { session } = await createSession(bundle.batchedPath, [provider], options);
  const missing = [...['samples', 'lengths'].filter((n) => !session.inputNames.includes(n)), ...ACOUSTIC_OUTPUTS.filter((n) => !session.outputNames.includes(n))];
  if (missing.length) {
    await session.release();
    throw new AppError('MODEL_UNAVAILABLE', `Model bundle ${bundle.dir}: batched acoustic graph lacks ${missing.join(', ')}`, { modelDir: bundle.dir });
  }
  return { session, settings };
}
