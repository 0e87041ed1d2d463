/**
 * The session wrapper every scorer pipeline shares (as sherpa-onnx's model families share one
 * session wrapper): the bundle, the primary session and its provider, runs serialised per scorer,
 * warm-up and release. A pipeline (./end-to-end/pipeline.ts, ./gop/pipeline.ts) says which graphs
 * it needs and how samples and phones become scores.
 */
import type { StageTimes } from '../ops/stage-times.js';
import * as ort from 'onnxruntime-node';
import { AppError } from '../errors.js';
import type { AssessmentLabels, ReferenceWord } from '../types.js';
import type { BatchSettings } from './batcher.js';
import { BundleError, loadModelBundle, type ModelBundle } from './bundle.js';
import { STRESS_THRESHOLD, type ScoredUtterance } from './labels.js';
import { createSession, type CreateSessionOptions, type ExecutionProvider } from './session.js';

export interface ScorerLoadOptions extends CreateSessionOptions {
  /** Execution providers in order of preference, e.g. ['cuda', 'cpu']. */
  providers?: readonly string[];
  /** Dynamic batching of the model runs of concurrent requests (./batcher.ts); absent or size 1: none. */
  batch?: BatchSettings;
}

/** The primary session's inputs for one utterance (for benchmarks of the bare session). */
export interface ScorerFeeds {
  feeds: Record<string, ort.Tensor>;
  nPhones: number;
  nWords: number;
}

/** Shortest input the graphs accept (one 25 ms analysis window); shorter audio is zero-padded. */
const MIN_SAMPLES = 400;

export function padSamples(samples: Float32Array): Float32Array {
  if (samples.length >= MIN_SAMPLES) return samples;
  const audio = new Float32Array(MIN_SAMPLES);
  audio.set(samples);
  return audio;
}

/** A scorer bundle from `dir`; anything wrong with it is AppError('MODEL_UNAVAILABLE') with the reason. */
export function loadScorerBundle(dir: string): ModelBundle {
  let bundle: ModelBundle;
  try {
    bundle = loadModelBundle(dir);
  } catch (e) {
    if (e instanceof BundleError) throw new AppError('MODEL_UNAVAILABLE', e.message, { modelDir: dir });
    throw e;
  }
  if (bundle.manifest.kind !== 'scorer') {
    throw new AppError('MODEL_UNAVAILABLE', `Model bundle ${bundle.dir} is of kind "${bundle.manifest.kind}", expected "scorer".`, {
      modelDir: bundle.dir,
    });
  }
  return bundle;
}

/**
 * The bundle's primary graph on the first provider that loads, checked for the interface the
 * pipeline needs (`what` names it in the error).
 */
export async function openPrimarySession(
  bundle: ModelBundle,
  options: ScorerLoadOptions,
  want: { inputs: readonly string[]; outputs: readonly string[]; what: string },
): Promise<{ session: ort.InferenceSession; provider: ExecutionProvider }> {
  let created;
  try {
    created = await createSession(bundle.modelPath, options.providers ?? ['cpu'], options);
  } catch (e) {
    throw new AppError('MODEL_UNAVAILABLE', e instanceof Error ? e.message : String(e), { modelDir: bundle.dir });
  }
  const { session } = created;
  const missingIn = want.inputs.filter((n) => !session.inputNames.includes(n));
  const missingOut = want.outputs.filter((n) => !session.outputNames.includes(n));
  if (missingIn.length || missingOut.length) {
    await session.release();
    throw new AppError(
      'MODEL_UNAVAILABLE',
      `Model ${bundle.modelPath} does not have the ${want.what} interface: missing inputs [${missingIn.join(', ')}], outputs [${missingOut.join(', ')}].`,
      { modelDir: bundle.dir },
    );
  }
  return created;
}

export abstract class ScorerBase {
  readonly modelName: string;
  readonly modelVersion: string;
  readonly executionProvider: ExecutionProvider;
  readonly bundle: ModelBundle;
  /** Continuous word-stress output at or above this decodes to 10, below to 5. */
  readonly stressThreshold: number;
  protected readonly session: ort.InferenceSession;
  /** Runs on this scorer's sessions are serialised through this chain. */
  private queue: Promise<unknown> = Promise.resolve();
  /**
   * Told of every session run as it is made (the session and its exact feeds), for `npm run bench
   * -- batching`, which replays them as bare runs to measure what the platform adds around the model.
   */
  onSessionRun: ((session: ort.InferenceSession, feeds: Record<string, ort.Tensor>) => void) | null = null;

  protected constructor(bundle: ModelBundle, session: ort.InferenceSession, provider: ExecutionProvider) {
    this.bundle = bundle;
    this.modelName = bundle.manifest.name;
    this.modelVersion = bundle.manifest.version;
    this.executionProvider = provider;
    this.session = session;
    const t = bundle.manifest.scales.word.stress?.threshold;
    this.stressThreshold = typeof t === 'number' && Number.isFinite(t) ? t : STRESS_THRESHOLD;
  }

  /**
   * Labels on the platform scales plus the continuous outputs they were decoded from, and the
   * content match (null for bundles without a content-match model). The labels are the model's;
   * src/assessment/wrong-text.ts decides what a low content match does to them.
   */
  abstract scoreDetailed(samples: Float32Array, words: readonly ReferenceWord[], times?: StageTimes): Promise<ScoredUtterance>;

  /** The primary session's input tensors for one utterance (public for benchmarks of the bare session). */
  abstract buildFeeds(samples: Float32Array, words: readonly ReferenceWord[]): ScorerFeeds;

  async score(samples: Float32Array, words: readonly ReferenceWord[]): Promise<AssessmentLabels> {
    return (await this.scoreDetailed(samples, words)).labels;
  }

  /** One run on a short synthetic input, so the first real request does not pay for graph set-up. */
  async warmUp(): Promise<void> {
    const samples = new Float32Array(16000);
    let seed = 1;
    for (let i = 0; i < samples.length; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      samples[i] = ((seed / 0x7fffffff) - 0.5) * 0.01;
    }
    await this.scoreDetailed(samples, [{ text: 'HELLO', phones: ['HH', 'AH0', 'L', 'OW1'], source: 'dataset' }]);
  }

  /** One bare run of the primary session, serialised with the others on this scorer. */
  run(feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.OnnxValueMapType> {
    return this.runOn(this.session, feeds);
  }

  protected runOn(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.OnnxValueMapType> {
    this.onSessionRun?.(session, feeds);
    const next = this.queue.then(() => session.run(feeds));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Sessions besides the primary one (released with it). */
  protected extraSessions(): ort.InferenceSession[] {
    return [];
  }

  async release(): Promise<void> {
    await this.queue;
    await this.session.release();
    for (const s of this.extraSessions()) await s.release();
  }
}
