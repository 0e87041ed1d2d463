/**
 * The "gop" scorer pipeline (README.md here): the acoustic graph (K cross-fitted CTC phone
 * recognisers) → forced alignment, GOP features, diagnostics and content match in TypeScript →
 * the heads graph → scores.
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { AppError } from '../../errors.js';
import { phoneId } from '../../text/phones.js';
import type { ContentMatch } from '../../assessment/wrong-text.js';
import type { ReferenceWord } from '../../types.js';
import type { ModelBundle } from '../bundle.js';
import { checkScoreRanges, decodeLabels, type ScoredUtterance } from '../labels.js';
import { encodeReference } from '../phone-encoding.js';
import { openPrimarySession, padSamples, ScorerBase, type ScorerFeeds, type ScorerLoadOptions } from '../scorer-base.js';
import { createSession, type ExecutionProvider } from '../session.js';
import type { Batcher } from '../batcher.js';
import { acousticBatcher, loadBatched, type BatchedAcoustic } from './batched-acoustic.js';
import { contentFeatures, contentMatch, NATIVE_CONTENT_FEATURES, type ContentModel } from './content.js';
import { diagnose, diagnosticEvidence, type DiagnosticThresholds } from './diagnostics.js';
import { pitchTrack } from './pitch.js';
import { ACOUSTIC_OUTPUTS, HEADS_INPUTS, HEADS_OUTPUTS, runAcoustic, runHeads, type AcousticResult } from './engine.js';
import { PHONE_FEATURES, UTTERANCE_FEATURES, VOCAB, WORD_FEATURES } from './features.js';
import { NATIVE_PHONE_FEATURES, nativeContentFeatures, type NativeLoglik } from './native.js';
import { CONTEXT_PHONE_FEATURES, nativeReferenceColumns, runNativeFor, TriphoneTable } from './native-cd.js';
import { loadDiagnosticThresholds } from './thresholds.js';
import { addStage, timeStage, type StageTimes } from '../../ops/stage-times.js';

const SAMPLE_RATE = 16000;

interface Heads {
  session: ort.InferenceSession;
  recognisers: number;
  /** the native-English phone model (./native.ts), when the bundle has one */
  native: NativeModel | null;
}

interface NativeModel {
  session: ort.InferenceSession;
  /** the model's triphone table (./native-cd.ts), when the bundle has one: the graph then scores the reference's triphones */
  table: TriphoneTable | null;
  /** the graph has the cd_senones input (exported --context-dependent) */
  takesSenones: boolean;
}

export class GopScorer extends ScorerBase {
  /** The timing and miscue thresholds (the bundle's diagnostics.json). */
  private readonly diagnosticThresholds: DiagnosticThresholds;
  /** Acoustic runs of concurrent requests grouped into one session call; null: each runs alone. */
  private readonly batcher: Batcher<Float32Array, AcousticResult> | null;

  private constructor(
    bundle: ModelBundle,
    session: ort.InferenceSession,
    provider: ExecutionProvider,
    private readonly heads: Heads,
    private readonly batched: BatchedAcoustic | null,
  ) {
    super(bundle, session, provider);
    this.diagnosticThresholds = loadDiagnosticThresholds(bundle.dir);
    this.batcher = batched
      ? acousticBatcher((f) => this.run(f), (f) => this.runOn(batched.session, f), heads.recognisers, batched.settings)
      : null;
  }

  static async open(bundle: ModelBundle, options: ScorerLoadOptions): Promise<GopScorer> {
    const { session, provider } = await openPrimarySession(bundle, options, { inputs: ['samples'], outputs: ACOUSTIC_OUTPUTS, what: 'acoustic' });
    const opened: ort.InferenceSession[] = [session];
    try {
      const heads = await loadHeads(bundle, options);
      opened.push(heads.session);
      if (heads.native) opened.push(heads.native.session);
      const batched = await loadBatched(bundle, options, provider);
      return new GopScorer(bundle, session, provider, heads, batched);
    } catch (e) {
      for (const s of opened) await s.release();
      throw e;
    }
  }

  /** Acoustic graph → alignment and GOP features → heads graph; diagnostics and content match beside. */
  async scoreDetailed(samples: Float32Array, words: readonly ReferenceWord[], times?: StageTimes): Promise<ScoredUtterance> {
    const { feeds } = this.buildFeeds(samples, words); // validates the words; feeds = the padded samples
    const padded = feeds.samples!.data as Float32Array;
    // One recording's acoustic run, or its row of a batch of concurrent recordings (./batched-acoustic.ts).
    const acoustic = await timeStage(times, 'acoustic', () =>
      this.batcher ? this.batcher.submit(padded) : runAcoustic((f) => this.run(f), padded, this.heads.recognisers));
    // runHeads aligns and computes the GOP features, then runs the heads graph: the graph's own runs
    // are the heads stage, the rest of it the features stage.
    let headsMs = 0;
    const runHeadsGraph = async (f: Record<string, ort.Tensor>) => {
      const started = performance.now();
      try {
        return await this.runOn(this.heads.session, f);
      } finally {
        headsMs += performance.now() - started;
      }
    };
    const native = this.heads.native ? await this.nativeColumns(this.heads.native, padded, words, times) : undefined;
    const featuresStarted = performance.now();
    const raw = await runHeads(runHeadsGraph, acoustic, words, native?.columns);
    addStage(times, 'heads', headsMs);
    addStage(times, 'features', performance.now() - featuresStarted - headsMs);
    const afterStarted = performance.now();
    checkScoreRanges(raw);
    const labels = decodeLabels(raw, words, this.stressThreshold);
    // outputs beside the scores: nothing below feeds the heads
    const evidence = diagnosticEvidence(acoustic.logp, acoustic.frames, acoustic.track, words);
    const durationMs = Math.round((samples.length / SAMPLE_RATE) * 1000);
    labels.diagnostics = { ...diagnose(evidence, words, this.diagnosticThresholds, durationMs), pitch: pitchTrack(acoustic.track.f0, durationMs) };
    const model = this.bundle.manifest.contentMatch;
    const content = model ? contentOf(model, acoustic, words, native?.loglik) : null;
    addStage(times, 'features', performance.now() - afterStarted); // label decoding, diagnostics, content match
    return { labels, raw, content };
  }

  /** The native-English model's run (counted as acoustic) and its alignment and columns (features). */
  private async nativeColumns(
    native: NativeModel, samples: Float32Array, words: readonly ReferenceWord[], times?: StageTimes,
  ): Promise<{ loglik: NativeLoglik; columns: Float32Array }> {
    const phones = words.map((w) => w.phones);
    const { loglik, triphones } = await timeStage(times, 'acoustic', () => runNativeFor((f) => this.runOn(native.session, f), samples, phones, native));
    return { loglik, columns: await timeStage(times, 'features', async () => nativeReferenceColumns(loglik, phones, triphones)) };
  }

  /** The acoustic graph's input: the samples alone (the phones are used after it, in TypeScript). */
  buildFeeds(samples: Float32Array, words: readonly ReferenceWord[]): ScorerFeeds {
    const { nPhones, nWords } = encodeReference(words);
    const audio = padSamples(samples);
    return { feeds: { samples: new ort.Tensor('float32', audio, [1, audio.length]) }, nPhones, nWords };
  }

  protected extraSessions(): ort.InferenceSession[] {
    return [this.heads.session, ...(this.heads.native ? [this.heads.native.session] : []), ...(this.batched ? [this.batched.session] : [])];
  }
}

/** Content match of the speech with the canonical phones, every recogniser a witness. */
function contentOf(model: ContentModel, acoustic: AcousticResult, words: readonly ReferenceWord[], native?: NativeLoglik): ContentMatch {
  const labels = words.flatMap((w) => w.phones.map((p) => phoneId(p) + 1));
  const usesNative = model.features.some((f) => (NATIVE_CONTENT_FEATURES as readonly string[]).includes(f));
  const nativeEvidence = native && usesNative ? nativeContentFeatures(native, words.map((w) => w.phones)) : undefined;
  const perRecogniser = acoustic.logp.map((lp) => contentFeatures(lp, acoustic.frames, VOCAB, labels, model.features, nativeEvidence));
  return { score: contentMatch(model, perRecogniser), threshold: model.threshold };
}

/** The heads graph, checked against the feature columns this build computes. */
async function loadHeads(bundle: ModelBundle, options: ScorerLoadOptions): Promise<Heads> {
  const m = bundle.manifest;
  const fail = (reason: string) => new AppError('MODEL_UNAVAILABLE', `Model bundle ${bundle.dir}: ${reason}`, { modelDir: bundle.dir });
  const recognisers = m.recognisers;
  if (typeof recognisers !== 'number' || !Number.isInteger(recognisers) || recognisers < 1) throw fail('"recognisers" must be a positive integer');
  const nativeColumns = bundle.nativePath ? [...NATIVE_PHONE_FEATURES, ...(bundle.nativeTriphonesPath ? CONTEXT_PHONE_FEATURES : [])] : [];
  const ours = { phone: [...PHONE_FEATURES, ...nativeColumns], word: WORD_FEATURES, utterance: UTTERANCE_FEATURES };
  for (const level of ['phone', 'word', 'utterance'] as const) {
    const theirs = m.features?.[level];
    if (!Array.isArray(theirs) || theirs.length !== ours[level].length || theirs.some((n, i) => n !== ours[level][i])) {
      if (level === 'phone' && bundle.nativePath && !bundle.nativeTriphonesPath && theirs?.includes(CONTEXT_PHONE_FEATURES[0])) {
        throw fail('its heads read the triphone columns (CONTEXT_PHONE_FEATURES) but manifest.json has no "native.triphones" table');
      }
      throw fail(`its ${level} feature columns differ from the ones this server computes (src/inference/gop/features.ts); retrain the heads`);
    }
  }
  // trees run on the CPU whatever the acoustic graph's provider (no GPU kernels for them)
  const { session } = await createSession(bundle.headsPath!, ['cpu'], { ...options, log: options.log ?? (() => undefined) });
  const missing = [...HEADS_INPUTS.filter((n) => !session.inputNames.includes(n)), ...HEADS_OUTPUTS.filter((n) => !session.outputNames.includes(n))];
  if (missing.length) {
    await session.release();
    throw fail(`heads graph lacks ${missing.join(', ')}`);
  }
  const native = !bundle.nativePath ? null : await loadNative(bundle.nativePath, bundle.nativeTriphonesPath, options).catch(async (e: unknown) => {
    await session.release().catch(() => undefined); // the load's own error is the one to report
    throw e instanceof Error && !(e instanceof AppError) ? fail(e.message) : e;
  });
  return { session, recognisers, native };
}

/**
 * The native model, checked against what the bundle asks of it. It is small (2.8 MB of CI
 * scoring, 10.5 MB with the triphone weights; a few matrix products per frame): the CPU serves it.
 */
async function loadNative(graph: string, triphones: string | undefined, options: ScorerLoadOptions): Promise<NativeModel> {
  const { session } = await createSession(graph, ['cpu'], { ...options, log: options.log ?? (() => undefined) });
  const takesSenones = session.inputNames.includes('cd_senones');
  const missing = [
    ...(session.outputNames.includes('senone_loglik') ? [] : ['senone_loglik']),
    ...(triphones && !takesSenones ? ['cd_senones'] : []),
    ...(takesSenones && !session.outputNames.includes('cd_senone_loglik') ? ['cd_senone_loglik'] : []),
  ];
  try {
    if (missing.length) throw new Error(`native graph lacks ${missing.join(', ')}`);
    return { session, takesSenones, table: triphones ? TriphoneTable.fromBytes(readFileSync(triphones)) : null };
  } catch (e) {
    await session.release().catch(() => undefined); // the load's own error is the one to report
    throw e;
  }
}
