/**
 * The "scorer" model kind: 16 kHz samples + canonical phones of the reference text in, scores at
 * every level out (see models/default/manifest.json for the tensor contract).
 *
 * The log-mel front-end lives inside the ONNX graph, so the only feature code here is the phone
 * encoding below, which mirrors scripts/train/model.py `phone_inputs` (keep the two in step).
 */
import * as ort from 'onnxruntime-node';
import { AppError } from '../errors.js';
import { phoneId, stripStress, VOWELS, type Phone } from '../text/phones.js';
import type { AssessmentLabels, ReferenceWord, WordScore } from '../types.js';
import { BundleError, loadModelBundle, type ModelBundle } from './bundle.js';
import type { ContentMatch } from '../assessment/wrong-text.js';
import { contentFeatures, contentMatch, type ContentModel } from './gop/content.js';
import { ACOUSTIC_OUTPUTS, HEADS_INPUTS, HEADS_OUTPUTS, runAcoustic, runHeads, type AcousticResult } from './gop/engine.js';
import { PHONE_FEATURES, UTTERANCE_FEATURES, VOCAB, WORD_FEATURES } from './gop/features.js';
import { diagnose, diagnosticEvidence, type DiagnosticThresholds } from './gop/diagnostics.js';
import { loadDiagnosticThresholds } from './gop/thresholds.js';
import { checkRange, checkTensor } from './outputs.js';
import { createSession, type CreateSessionOptions, type ExecutionProvider } from './session.js';

export const SCORER_INPUTS = ['samples', 'phone_ids', 'phone_stress', 'phone_word_position', 'word_membership'] as const;
export const SCORER_OUTPUTS = ['utterance_scores', 'word_scores', 'phone_scores'] as const;

const SAMPLE_RATE = 16000;
/** Shortest input the graph accepts (one 25 ms analysis window); shorter audio is zero-padded. */
const MIN_SAMPLES = 400;
/** How far outside a scale a raw output may stray (numerical slack) before it is rejected. */
const TOLERANCE = { tenScale: 0.5, phone: 0.1 };
/** Default word-stress decision threshold (the manifest's scales.word.stress.threshold wins). */
const STRESS_THRESHOLD = 7.5;

export interface ScorerInputs {
  samples: Float32Array;
  phoneIds: BigInt64Array;
  phoneStress: BigInt64Array;
  phoneWordPosition: BigInt64Array;
  /** [W, P] row-major */
  wordMembership: Float32Array;
  nPhones: number;
  nWords: number;
}

/** Continuous model outputs before rounding to the label scales. */
export interface RawScores {
  /** accuracy, fluency, prosody, completeness, total (0-10) */
  utterance: number[];
  /** per word: accuracy, stress, total */
  words: number[][];
  /** per canonical phone, 0-2 */
  phones: number[];
}

/**
 * Stress class of a canonical phone: 0 consonant; 1, 2, 3 vowel with stress digit 0, 1, 2;
 * 4 vowel without a digit. Word position: 0 one-phone word, 1 initial, 2 internal, 3 final.
 */
export function encodePhones(words: readonly ReferenceWord[]): Omit<ScorerInputs, 'samples'> {
  const P = words.reduce((n, w) => n + w.phones.length, 0);
  const W = words.length;
  const phoneIds = new BigInt64Array(P);
  const phoneStress = new BigInt64Array(P);
  const phoneWordPosition = new BigInt64Array(P);
  const wordMembership = new Float32Array(W * P);
  let k = 0;
  words.forEach((w, wi) => {
    const n = w.phones.length;
    w.phones.forEach((p, j) => {
      let id: number;
      try {
        id = phoneId(p);
      } catch {
        throw new AppError('BAD_USER_INPUT', `Reference word "${w.text}" has an unknown phone ${JSON.stringify(p)}.`, { word: w.text, phone: p });
      }
      const base = stripStress(p) as Phone;
      const digit = p.at(-1);
      const stress = !VOWELS.has(base) ? 0 : digit === '0' || digit === '1' || digit === '2' ? 1 + Number(digit) : 4;
      phoneIds[k] = BigInt(id);
      phoneStress[k] = BigInt(stress);
      phoneWordPosition[k] = BigInt(n === 1 ? 0 : j === 0 ? 1 : j === n - 1 ? 3 : 2);
      wordMembership[wi * P + k] = 1;
      k++;
    });
  });
  return { phoneIds, phoneStress, phoneWordPosition, wordMembership, nPhones: P, nWords: W };
}

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));
const toTen = (v: number): number => clamp(Math.round(v), 0, 10);
/** The continuous value on the same 0-10 scale, to 2 decimals. */
const onTen = (v: number): number => Math.round(clamp(v, 0, 10) * 100) / 100;

/** Continuous outputs → the platform's label scales (../shared/DESIGN.md, "Scales"). */
export function decodeLabels(raw: RawScores, words: readonly ReferenceWord[], stressThreshold = STRESS_THRESHOLD): AssessmentLabels {
  const [accuracy, fluency, prosody, completeness, total] = raw.utterance.map(toTen) as [number, number, number, number, number];
  let k = 0;
  const out: WordScore[] = words.map((w, wi) => {
    const [acc, stress, tot] = raw.words[wi]!;
    const phonemes = w.phones.map((symbol) => ({ symbol, accuracy: Math.round(clamp(raw.phones[k++]!, 0, 2) * 10) / 10 }));
    return {
      text: w.text,
      accuracy: toTen(acc!),
      stress: stress! >= stressThreshold ? 10 : 5,
      total: toTen(tot!),
      phonemes,
    };
  });
  const [cAccuracy, cFluency, cProsody, cCompleteness, cTotal] = raw.utterance.map(onTen) as [number, number, number, number, number];
  const continuous = {
    sentence: { accuracy: cAccuracy, fluency: cFluency, prosody: cProsody, completeness: cCompleteness, total: cTotal },
    words: words.map((_w, wi) => ({ accuracy: onTen(raw.words[wi]![0]!), total: onTen(raw.words[wi]![2]!) })),
  };
  return { sentence: { accuracy, fluency, prosody, completeness, total }, words: out, continuous };
}

export interface ScorerLoadOptions extends CreateSessionOptions {
  /** Execution providers in order of preference, e.g. ['cuda', 'cpu']. */
  providers?: readonly string[];
}

export class Scorer {
  readonly modelName: string;
  readonly modelVersion: string;
  readonly executionProvider: ExecutionProvider;
  readonly bundle: ModelBundle;
  /** Continuous word-stress output at or above this decodes to 10, below to 5. */
  readonly stressThreshold: number;
  private readonly session: ort.InferenceSession;
  /** gop pipeline: the heads graph (the primary session is then the acoustic graph). */
  private readonly heads?: { session: ort.InferenceSession; recognisers: number };
  /** gop pipeline: the timing and miscue thresholds (the bundle's diagnostics.json). */
  private readonly diagnosticThresholds?: DiagnosticThresholds;
  /** Runs on one session are serialised through this chain. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    bundle: ModelBundle,
    session: ort.InferenceSession,
    provider: ExecutionProvider,
    heads?: { session: ort.InferenceSession; recognisers: number },
  ) {
    this.bundle = bundle;
    this.heads = heads;
    if (heads) this.diagnosticThresholds = loadDiagnosticThresholds(bundle.dir);
    this.modelName = bundle.manifest.name;
    this.modelVersion = bundle.manifest.version;
    this.executionProvider = provider;
    this.session = session;
    const t = bundle.manifest.scales.word.stress?.threshold;
    this.stressThreshold = typeof t === 'number' && Number.isFinite(t) ? t : STRESS_THRESHOLD;
  }

  /** Load and validate a scorer bundle; failures are AppError('MODEL_UNAVAILABLE') with the reason. */
  static async load(dir: string, options: ScorerLoadOptions = {}): Promise<Scorer> {
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
    let created;
    try {
      created = await createSession(bundle.modelPath, options.providers ?? ['cpu'], options);
    } catch (e) {
      throw new AppError('MODEL_UNAVAILABLE', e instanceof Error ? e.message : String(e), { modelDir: bundle.dir });
    }
    const { session, provider } = created;
    const gop = bundle.manifest.pipeline === 'gop';
    const wantIn = gop ? ['samples'] : SCORER_INPUTS;
    const wantOut = gop ? ACOUSTIC_OUTPUTS : SCORER_OUTPUTS;
    const missingIn = wantIn.filter((n) => !session.inputNames.includes(n));
    const missingOut = wantOut.filter((n) => !session.outputNames.includes(n));
    if (missingIn.length || missingOut.length) {
      await session.release();
      throw new AppError(
        'MODEL_UNAVAILABLE',
        `Model ${bundle.modelPath} does not have the ${gop ? 'acoustic' : 'scorer'} interface: missing inputs [${missingIn.join(', ')}], outputs [${missingOut.join(', ')}].`,
        { modelDir: bundle.dir },
      );
    }
    if (!gop) return new Scorer(bundle, session, provider);
    try {
      return new Scorer(bundle, session, provider, await loadHeads(bundle, options));
    } catch (e) {
      await session.release();
      throw e;
    }
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

  async score(samples: Float32Array, words: readonly ReferenceWord[]): Promise<AssessmentLabels> {
    return (await this.scoreDetailed(samples, words)).labels;
  }

  /**
   * Labels on the platform scales plus the continuous outputs they were decoded from, and the
   * content match (null for bundles without a content-match model). The labels are the model's;
   * src/assessment/wrong-text.ts decides what a low content match does to them.
   */
  async scoreDetailed(samples: Float32Array, words: readonly ReferenceWord[]): Promise<ScoredUtterance> {
    if (this.heads) return this.scoreGop(samples, words, this.heads);
    const { feeds, nPhones: P, nWords: W } = this.buildFeeds(samples, words);
    const outputs = await this.run(feeds);
    const utt = checkTensor(outputs, 'utterance_scores', [1, 5]);
    const wrd = checkTensor(outputs, 'word_scores', [1, W, 3]);
    const ph = checkTensor(outputs, 'phone_scores', [1, P]);
    checkRange('utterance_scores', utt, 0, 10, TOLERANCE.tenScale);
    checkRange('word_scores', wrd, 0, 10, TOLERANCE.tenScale);
    checkRange('phone_scores', ph, 0, 2, TOLERANCE.phone);
    const raw: RawScores = {
      utterance: Array.from(utt),
      words: Array.from({ length: W }, (_, i) => Array.from(wrd.subarray(i * 3, i * 3 + 3))),
      phones: Array.from(ph),
    };
    return { labels: decodeLabels(raw, words, this.stressThreshold), raw, content: null };
  }

  /** Acoustic graph → alignment and GOP features → heads graph (src/inference/gop/). */
  private async scoreGop(
    samples: Float32Array,
    words: readonly ReferenceWord[],
    heads: { session: ort.InferenceSession; recognisers: number },
  ): Promise<ScoredUtterance> {
    const { feeds } = this.buildFeeds(samples, words); // validates the words; feeds = the padded samples
    const acoustic = await runAcoustic((f) => this.run(f), feeds.samples!.data as Float32Array, heads.recognisers);
    const raw = await runHeads((f) => this.runOn(heads.session, f), acoustic, words);
    checkRange('utterance_scores', raw.utterance, 0, 10, TOLERANCE.tenScale);
    checkRange('word_scores', raw.words.flat(), 0, 10, TOLERANCE.tenScale);
    checkRange('phone_scores', raw.phones, 0, 2, TOLERANCE.phone);
    const labels = decodeLabels(raw, words, this.stressThreshold);
    // outputs beside the scores: nothing below feeds the heads
    const evidence = diagnosticEvidence(acoustic.logp, acoustic.frames, acoustic.track, words);
    labels.diagnostics = diagnose(evidence, words, this.diagnosticThresholds!, Math.round((samples.length / SAMPLE_RATE) * 1000));
    const model = this.bundle.manifest.contentMatch;
    const content = model ? contentOf(model, acoustic, words) : null;
    return { labels, raw, content };
  }

  /**
   * The primary session's input tensors for one utterance (public for benchmarks of the bare
   * session): samples and phones for an end-to-end scorer, samples alone for a gop pipeline's
   * acoustic graph.
   */
  buildFeeds(samples: Float32Array, words: readonly ReferenceWord[]) {
    const enc = encodePhones(words);
    if (enc.nWords === 0 || enc.nPhones === 0) {
      throw new AppError('EMPTY_REFERENCE_TEXT', 'The reference text has no words with known pronunciations to score.');
    }
    let audio = samples;
    if (audio.length < MIN_SAMPLES) {
      audio = new Float32Array(MIN_SAMPLES);
      audio.set(samples);
    }
    const { nPhones: P, nWords: W } = enc;
    if (this.heads) return { feeds: { samples: new ort.Tensor('float32', audio, [1, audio.length]) } as Record<string, ort.Tensor>, nPhones: P, nWords: W };
    const feeds: Record<string, ort.Tensor> = {
      samples: new ort.Tensor('float32', audio, [1, audio.length]),
      phone_ids: new ort.Tensor('int64', enc.phoneIds, [1, P]),
      phone_stress: new ort.Tensor('int64', enc.phoneStress, [1, P]),
      phone_word_position: new ort.Tensor('int64', enc.phoneWordPosition, [1, P]),
      word_membership: new ort.Tensor('float32', enc.wordMembership, [1, W, P]),
    };
    return { feeds, nPhones: P, nWords: W };
  }

  /** One bare session run, serialised with the others on this session. */
  run(feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.OnnxValueMapType> {
    return this.runOn(this.session, feeds);
  }

  private runOn(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.OnnxValueMapType> {
    const next = this.queue.then(() => session.run(feeds));
    this.queue = next.catch(() => undefined);
    return next;
  }

  async release(): Promise<void> {
    await this.queue;
    await this.session.release();
    await this.heads?.session.release();
  }
}

export interface ScoredUtterance {
  labels: AssessmentLabels;
  raw: RawScores;
  content: ContentMatch | null;
}

/** Content match of the speech with the canonical phones, every recogniser a witness. */
function contentOf(model: ContentModel, acoustic: AcousticResult, words: readonly ReferenceWord[]): ContentMatch {
  const labels = words.flatMap((w) => w.phones.map((p) => phoneId(p) + 1));
  const perRecogniser = acoustic.logp.map((lp) => contentFeatures(lp, acoustic.frames, VOCAB, labels, model.features));
  return { score: contentMatch(model, perRecogniser), threshold: model.threshold };
}

/** The gop pipeline's heads graph, checked against the feature columns this build computes. */
async function loadHeads(bundle: ModelBundle, options: ScorerLoadOptions): Promise<{ session: ort.InferenceSession; recognisers: number }> {
  const m = bundle.manifest;
  const fail = (reason: string) => new AppError('MODEL_UNAVAILABLE', `Model bundle ${bundle.dir}: ${reason}`, { modelDir: bundle.dir });
  const recognisers = m.recognisers;
  if (typeof recognisers !== 'number' || !Number.isInteger(recognisers) || recognisers < 1) throw fail('"recognisers" must be a positive integer');
  const ours = { phone: PHONE_FEATURES, word: WORD_FEATURES, utterance: UTTERANCE_FEATURES };
  for (const level of ['phone', 'word', 'utterance'] as const) {
    const theirs = m.features?.[level];
    if (!Array.isArray(theirs) || theirs.length !== ours[level].length || theirs.some((n, i) => n !== ours[level][i])) {
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
  return { session, recognisers };
}
