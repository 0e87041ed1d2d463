/**
 * The "generative" model kind (the paper's SpeechLLM exported to ONNX): audio encoder + text
 * decoder, greedy decoding with a KV cache, response parsed into labels + rationale.
 * Bundle format: README.md in this folder.
 */
import { timeStage, type StageTimes } from '../../ops/stage-times.js';
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { AppError, badInput } from '../../errors.js';
import { isPhone } from '../../text/phones.js';
import type { AssessmentLabels, ReferenceWord } from '../../types.js';
import { BundleError, loadModelBundle, type ModelBundle } from '../bundle.js';
import { createSession, type CreateSessionOptions, type ExecutionProvider } from '../session.js';
import {
  AUDIO_SLOT,
  checkBundleFile,
  DECODER_ENCODER_HIDDEN,
  DECODER_INPUT_IDS,
  DECODER_LOGITS,
  ENCODER_INPUT,
  ENCODER_OUTPUT,
  pastName,
  presentName,
  renderPrompt,
  validateGenerativeConfig,
  type GenerativeConfig,
} from './config.js';
import { greedyDecode, type GreedyResult, type StepInfo } from './decode.js';
import { invalidResponse, parseResponse } from './parse.js';
import { loadTokenizer, TokenizerError, type Tokenizer } from './tokenizer.js';

/** Providers whose outputs can stay on the device as 'gpu-buffer' tensors in onnxruntime-node. */
const DEVICE_CACHE_PROVIDERS: ReadonlySet<ExecutionProvider> = new Set(['cuda', 'tensorrt']);

/** Shortest input passed to the encoder (one 25 ms window); shorter audio is zero-padded. */
const MIN_SAMPLES = 400;

export interface GenerativeLoadOptions extends CreateSessionOptions {
  /** Execution providers in order of preference, e.g. ['cuda', 'cpu']. */
  providers?: readonly string[];
}

export interface GenerativeAssessment {
  labels: AssessmentLabels;
  rationale: string;
  /** The decoded response text (special tokens and the stop token removed). */
  rawOutput: string;
  /** Tokens generated, without the stop token. */
  generatedTokens: number;
}

export interface AssessOptions {
  /** Called after every decoder step (tracing, tests). */
  onStep?: (info: StepInfo) => void;
  /** Where the time went (the whole generation counts as the acoustic stage: one model does it all). */
  times?: StageTimes;
}

function unavailable(message: string, dir: string): AppError {
  return new AppError('MODEL_UNAVAILABLE', message, { modelDir: dir });
}

export class GenerativeAssessor {
  readonly modelName: string;
  readonly modelVersion: string;
  /** The decoder's provider (the one recorded with each assessment). */
  readonly executionProvider: ExecutionProvider;
  /** The encoder's provider; normally the same as the decoder's. */
  readonly encoderExecutionProvider: ExecutionProvider;
  readonly bundle: ModelBundle;
  readonly config: GenerativeConfig;
  readonly tokenizer: Tokenizer;
  private readonly stopIds: ReadonlySet<number>;
  private readonly bosId: number | undefined;
  /** decoder-only: the id `{{audio}}` expands to. */
  private readonly audioId: number | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    bundle: ModelBundle,
    config: GenerativeConfig,
    tokenizer: Tokenizer,
    private readonly encoder: { session: ort.InferenceSession; provider: ExecutionProvider },
    private readonly decoder: { session: ort.InferenceSession; provider: ExecutionProvider },
  ) {
    this.bundle = bundle;
    this.config = config;
    this.tokenizer = tokenizer;
    this.modelName = bundle.manifest.name;
    this.modelVersion = bundle.manifest.version;
    this.executionProvider = decoder.provider;
    this.encoderExecutionProvider = encoder.provider;
    this.stopIds = new Set(config.stopTokens.map((t) => tokenizer.tokenId(t)!));
    this.bosId = config.tokenizer.addBos ? tokenizer.tokenId(config.tokenizer.bos!) : undefined;
    this.audioId = config.decoder.audioToken !== undefined ? tokenizer.tokenId(config.decoder.audioToken) : undefined;
  }

  /** Load and validate a generative bundle; failures are AppError('MODEL_UNAVAILABLE') with the reason. */
  static async load(dir: string, options: GenerativeLoadOptions = {}): Promise<GenerativeAssessor> {
    let bundle: ModelBundle;
    let config: GenerativeConfig;
    let tokenizer: Tokenizer;
    let encoderPath: string;
    try {
      bundle = loadModelBundle(dir);
      if (bundle.manifest.kind !== 'generative') {
        throw new BundleError(`Model bundle ${bundle.dir} is of kind "${bundle.manifest.kind}", expected "generative".`);
      }
      config = validateGenerativeConfig(bundle.manifest.generative, `Model bundle ${bundle.dir}: manifest.json`);
      encoderPath = checkBundleFile(bundle.dir, config.encoder, 'generative.encoder.file');
      const tokenizerPath = checkBundleFile(bundle.dir, config.tokenizer, 'generative.tokenizer.file');
      try {
        tokenizer = loadTokenizer(readFileSync(tokenizerPath, 'utf8'));
      } catch (e) {
        if (e instanceof TokenizerError) throw new BundleError(`Model bundle ${bundle.dir}: ${e.message}`);
        throw e;
      }
      const named: [string, string | undefined][] = [
        ['tokenizer.eos', config.tokenizer.eos],
        ['tokenizer.bos', config.tokenizer.bos],
        ['tokenizer.pad', config.tokenizer.pad],
        ['decoder.audioToken', config.decoder.audioToken],
        ...config.stopTokens.map((t, i): [string, string] => [`stopTokens[${i}]`, t]),
      ];
      for (const [field, tok] of named) {
        if (tok !== undefined && tokenizer.tokenId(tok) === undefined) {
          throw new BundleError(`Model bundle ${bundle.dir}: generative.${field} ${JSON.stringify(tok)} is not a token of tokenizer.json`);
        }
      }
    } catch (e) {
      if (e instanceof BundleError) throw unavailable(e.message, dir);
      throw e;
    }

    const providers = options.providers ?? ['cpu'];
    let decoder;
    let encoder;
    try {
      // on a GPU the KV cache stays on the device between steps (fed back through IO binding, see decode.ts)
      const cache = Array.from({ length: config.decoder.numLayers }, (_, i) => [presentName(i, 'key'), presentName(i, 'value')]).flat();
      decoder = await createSession(bundle.modelPath, providers, { ...options, deviceOutputs: (p) => (DEVICE_CACHE_PROVIDERS.has(p) ? cache : undefined) });
      // the encoder tries the decoder's provider first, then the ones after it
      const rest = providers.map((p) => p.trim().toLowerCase());
      const from = rest.indexOf(decoder.provider);
      encoder = await createSession(encoderPath, from >= 0 ? rest.slice(from) : rest, options);
    } catch (e) {
      await decoder?.session.release();
      throw unavailable(e instanceof Error ? e.message : String(e), bundle.dir);
    }

    const problems: string[] = [];
    const expectNames = (what: string, have: readonly string[], want: string[]): void => {
      const missing = want.filter((n) => !have.includes(n));
      if (missing.length) problems.push(`${what} lacks ${missing.map((m) => `"${m}"`).join(', ')}`);
    };
    const L = config.decoder.numLayers;
    const layers = Array.from({ length: L }, (_, i) => i);
    expectNames('encoder.onnx input', encoder.session.inputNames, [ENCODER_INPUT]);
    expectNames('encoder.onnx output', encoder.session.outputNames, [ENCODER_OUTPUT]);
    expectNames('decoder input', decoder.session.inputNames, [
      DECODER_INPUT_IDS,
      DECODER_ENCODER_HIDDEN,
      ...layers.flatMap((i) => [pastName(i, 'key'), pastName(i, 'value')]),
    ]);
    expectNames('decoder output', decoder.session.outputNames, [
      DECODER_LOGITS,
      ...layers.flatMap((i) => [presentName(i, 'key'), presentName(i, 'value')]),
    ]);
    const cacheType = config.decoder.cacheType;
    for (const meta of decoder.session.inputMetadata) {
      if (/^past\.\d+\./.test(meta.name) && meta.isTensor && meta.type !== cacheType) {
        problems.push(`decoder input "${meta.name}" is ${meta.type}, but generative.decoder.cacheType is ${cacheType}`);
        break;
      }
    }
    const extraPast = decoder.session.inputNames.filter((n) => /^past\.\d+\./.test(n) && Number(n.split('.')[1]) >= L);
    if (extraPast.length) problems.push(`decoder has past inputs beyond generative.decoder.numLayers = ${L}: ${extraPast.join(', ')}`);
    if (problems.length) {
      await Promise.all([encoder.session.release(), decoder.session.release()]);
      throw unavailable(`Model bundle ${bundle.dir} does not have the generative interface: ${problems.join('; ')}.`, bundle.dir);
    }
    return new GenerativeAssessor(bundle, config, tokenizer, encoder, decoder);
  }

  /**
   * Prompt ids for a reference text: bos + the encoded rubric prompt, with `{{audio}}` (decoder-only
   * models) replaced by one audio token per encoder frame (`audioFrames`). The text on each side of
   * it is encoded on its own, so the audio tokens are exactly as many as the frames.
   */
  promptIds(words: readonly ReferenceWord[], audioFrames = 0): number[] {
    const text = renderPrompt(this.config.prompt.template, words, this.config.responseFormat);
    const parts = text.split(AUDIO_SLOT);
    let ids: number[];
    try {
      ids = parts.flatMap((part, i) => [...(i > 0 ? new Array<number>(audioFrames).fill(this.audioId!) : []), ...this.tokenizer.encode(part)]);
    } catch (e) {
      if (e instanceof TokenizerError) throw badInput(`The reference text cannot be tokenised for this model: ${e.message}`, 'input.referenceText');
      throw e;
    }
    return this.bosId !== undefined ? [this.bosId, ...ids] : ids;
  }

  /** A short run (encoder + two decoder steps), so the first real request does not pay for graph set-up. */
  async warmUp(): Promise<void> {
    const samples = new Float32Array(16000);
    let seed = 1;
    for (let i = 0; i < samples.length; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      samples[i] = (seed / 0x7fffffff - 0.5) * 0.01;
    }
    await this.generate(samples, [{ text: 'HELLO', phones: ['HH', 'AH0', 'L', 'OW1'], source: 'dataset' }], { maxNewTokens: 2 });
  }

  /** Encode, decode greedily and return the tokens and text, without parsing. */
  async generate(
    samples: Float32Array,
    words: readonly ReferenceWord[],
    options: AssessOptions & { maxNewTokens?: number } = {},
  ): Promise<GreedyResult & { text: string }> {
    if (words.length === 0 || words.every((w) => w.phones.length === 0)) {
      throw new AppError('EMPTY_REFERENCE_TEXT', 'The reference text has no words with known pronunciations to score.');
    }
    for (const w of words) {
      const bad = w.phones.find((p) => !isPhone(p));
      if (bad !== undefined) throw badInput(`Reference word "${w.text}" has an unknown phone ${JSON.stringify(bad)}.`, 'input.referenceText', { word: w.text, phone: bad });
    }
    const decoderOnly = this.config.decoder.architecture === 'decoder-only';
    // tokenise (and refuse untokenisable text) before queueing; a decoder-only prompt is redone with the frame count
    const textPrompt = this.promptIds(words);
    let audio = samples;
    if (audio.length < MIN_SAMPLES) {
      audio = new Float32Array(MIN_SAMPLES);
      audio.set(samples);
    }
    // one utterance at a time per assessor: the encoder run and the whole decode loop are serialised
    const job = this.queue.then(async () => {
      const hidden = await this.encode(audio);
      const promptIds = decoderOnly ? this.promptIds(words, hidden.dims[1]!) : textPrompt;
      return greedyDecode((feeds) => this.decoder.session.run(feeds), this.config.decoder, {
        promptIds,
        encoderHidden: hidden,
        stopIds: this.stopIds,
        maxNewTokens: options.maxNewTokens ?? this.config.maxNewTokens,
        onStep: options.onStep,
      });
    });
    this.queue = job.catch(() => undefined);
    const result = await job;
    return { ...result, text: this.tokenizer.decode(result.tokens) };
  }

  /** Run the encoder: float32 [1, T, D] frames (checked). */
  private async encode(audio: Float32Array): Promise<ort.Tensor> {
    const enc = await this.encoder.session.run({ [ENCODER_INPUT]: new ort.Tensor('float32', audio, [1, audio.length]) });
    const hidden = enc[ENCODER_OUTPUT] as ort.Tensor | undefined;
    if (!hidden || hidden.type !== 'float32' || hidden.dims.length !== 3 || hidden.dims[0] !== 1 || !(hidden.dims[1]! >= 1)) {
      throw new AppError(
        'MODEL_OUTPUT_INVALID',
        `The model produced invalid output: encoder output "${ENCODER_OUTPUT}" must be float32 [1, T, D] with T >= 1, got ${hidden ? `${hidden.type} [${hidden.dims.join(', ')}]` : 'nothing'}`,
        { reason: 'decoder_contract', output: ENCODER_OUTPUT },
      );
    }
    return hidden;
  }

  /**
   * Assess one utterance. A truncated, malformed or out-of-range response throws
   * AppError('MODEL_OUTPUT_INVALID') with extensions.rawOutput = the decoded text and
   * extensions.reason (see parse.ts InvalidReason).
   */
  async assess(samples: Float32Array, words: readonly ReferenceWord[], options: AssessOptions = {}): Promise<GenerativeAssessment> {
    const result = await timeStage(options.times, 'acoustic', () => this.generate(samples, words, options));
    const { text } = result;
    const unknown = result.tokens.filter((id) => !this.tokenizer.hasId(id));
    if (unknown.length) {
      throw invalidResponse('unknown_token', `the decoder emitted token id(s) the tokenizer does not know: ${[...new Set(unknown)].slice(0, 10).join(', ')}`, text);
    }
    if (result.truncated) {
      throw invalidResponse(
        'truncated',
        `the response was cut off: no stop token (${this.config.stopTokens.join(', ')}) within maxNewTokens = ${this.config.maxNewTokens}`,
        text,
        { generatedTokens: result.tokens.length },
      );
    }
    const parsed = parseResponse(text, words, this.config.responseFormat, this.config.rubric);
    return { ...parsed, rawOutput: text, generatedTokens: result.tokens.length };
  }

  async release(): Promise<void> {
    await this.queue;
    await Promise.all([this.encoder.session.release(), this.decoder.session.release()]);
  }
}
