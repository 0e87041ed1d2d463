/**
 * The `generative` section of a generative bundle's manifest.json (see README.md in this folder),
 * its validation, and the prompt template.
 *
 * The generic manifest fields are validated by ../bundle.ts (`loadModelBundle`); for a generative
 * bundle its top-level `file`/`sha256` are the decoder's. The encoder and tokenizer files are named
 * (and hashed) here.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { BundleError, sha256File } from '../bundle.js';
import { arpabetToIpa } from '../../text/phones.js';
import type { ReferenceWord } from '../../types.js';

export type ResponseFormat = 'json' | 'lines' | 'rubric';
export const RESPONSE_FORMATS: readonly ResponseFormat[] = ['json', 'lines', 'rubric'];

/** The paper's five ordinal labels, worst first ("Poor" and "Fair" are read as Bad and Average). */
export const RUBRIC_LABELS = ['Worst', 'Bad', 'Average', 'Good', 'Excellent'] as const;
export type RubricLabel = (typeof RUBRIC_LABELS)[number];
export type LabelValues = Readonly<Record<RubricLabel, number>>;

/** What each label means on the platform's scales (one map per scale), see README.md "rubric". */
export interface RubricScales {
  accuracy: LabelValues;
  fluency: LabelValues;
  prosody: LabelValues;
  completeness: LabelValues;
  total: LabelValues;
  word: LabelValues;
  phoneme: LabelValues;
}

/** Rules for the scores the paper's format does not contain (the API marks their results as derived). */
export const COMPLETENESS_RULES = ['produced', 'words_not_worst'] as const;
export const TOTAL_RULES = ['produced', 'mean_accuracy_fluency_prosody'] as const;
export const WORD_TOTAL_RULES = ['word_accuracy'] as const;

export interface RubricConfig {
  scales: RubricScales;
  /** "produced": the response must carry a `Completeness:` line; otherwise how it is derived. */
  completeness: (typeof COMPLETENESS_RULES)[number];
  total: (typeof TOTAL_RULES)[number];
  /** The format has no per-word total: it is derived by this rule. */
  wordTotal: (typeof WORD_TOTAL_RULES)[number];
}

/**
 * Default label values: one point inside each band of the paper's rubric (phonemes: Excellent
 * 1.9-2.0, Good 1.5-1.8, Average 1.0-1.4, Bad 0.5-0.9, Worst 0.0-0.4) and, for the 0-10 scales the
 * paper labels without numbers, of SpeechOcean762's rubric as src/assessment/proficiency.ts bands
 * it, so a mapped value is labelled back as the label it came from. The band's middle, rounded up.
 */
export const DEFAULT_RUBRIC_SCALES: RubricScales = {
  accuracy: { Worst: 1, Bad: 4, Average: 6, Good: 8, Excellent: 10 },
  fluency: { Worst: 1, Bad: 3, Average: 5, Good: 7, Excellent: 9 },
  prosody: { Worst: 1, Bad: 4, Average: 6, Good: 8, Excellent: 10 },
  completeness: { Worst: 1, Bad: 4, Average: 6, Good: 9, Excellent: 10 },
  total: { Worst: 1, Bad: 4, Average: 6, Good: 8, Excellent: 10 },
  word: { Worst: 1, Bad: 3, Average: 5, Good: 8, Excellent: 10 },
  phoneme: { Worst: 0.2, Bad: 0.7, Average: 1.2, Good: 1.7, Excellent: 2 },
};

export const DEFAULT_RUBRIC: RubricConfig = {
  scales: DEFAULT_RUBRIC_SCALES,
  completeness: 'words_not_worst',
  total: 'mean_accuracy_fluency_prosody',
  wordTotal: 'word_accuracy',
};

export interface BundleFile {
  file: string;
  sha256: string;
}

/**
 * "encoder-decoder" (default): the encoder's frames reach the decoder through cross-attention.
 * "decoder-only" (Qwen2-Audio, the paper's model): the prompt holds one `audioToken` per encoder
 * frame (`{{audio}}`), and the decoder graph puts the frames in place of those tokens' embeddings.
 * Both graphs receive `input_ids` and `encoder_hidden`; see README.md "Graphs".
 */
export const ARCHITECTURES = ['encoder-decoder', 'decoder-only'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

export interface DecoderConfig {
  numLayers: number;
  numHeads: number;
  headDim: number;
  architecture: Architecture;
  /** The KV cache's element type: "float32" (default) or "float16" for half-precision graphs. */
  cacheType: 'float32' | 'float16';
  /** decoder-only: the placeholder token `{{audio}}` expands to, once per encoder frame. */
  audioToken?: string;
}

export interface GenerativeConfig {
  encoder: BundleFile;
  decoder: DecoderConfig;
  tokenizer: BundleFile & { bos?: string; eos: string; pad?: string; addBos: boolean };
  prompt: { template: string };
  /** Token strings (vocab entries or added tokens); generation stops at the first one emitted. */
  stopTokens: string[];
  maxNewTokens: number;
  responseFormat: ResponseFormat;
  /** Label values and derivation rules of the "rubric" format (defaults: DEFAULT_RUBRIC). */
  rubric: RubricConfig;
}

/** Names of the tensors a generative bundle's graphs must have. */
export const ENCODER_INPUT = 'samples';
export const ENCODER_OUTPUT = 'audio_embeddings';
export const DECODER_INPUT_IDS = 'input_ids';
export const DECODER_ENCODER_HIDDEN = 'encoder_hidden';
export const DECODER_LOGITS = 'logits';
export const pastName = (layer: number, kv: 'key' | 'value'): string => `past.${layer}.${kv}`;
export const presentName = (layer: number, kv: 'key' | 'value'): string => `present.${layer}.${kv}`;

export const PROMPT_PLACEHOLDERS = ['text', 'phones', 'phonemes_ipa', 'words', 'word_count', 'format', 'audio'] as const;
/** Left in the rendered prompt by renderPrompt, where the platform inserts one audio token per encoder frame. */
export const AUDIO_SLOT = '{{audio}}';
const PLACEHOLDER = /\{\{\s*([a-z_]+)\s*\}\}/g;

/** Upper bound on maxNewTokens, so a bad manifest cannot make one job run for hours. */
export const MAX_NEW_TOKENS_LIMIT = 8192;

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

function positiveInt(where: string, field: string, v: unknown, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > max) {
    throw new BundleError(`${where}: "${field}" must be an integer from 1 to ${max}, got ${JSON.stringify(v)}`);
  }
  return v as number;
}

function bundleFile(where: string, field: string, v: unknown): BundleFile {
  if (!isObject(v) || typeof v.file !== 'string' || !v.file) throw new BundleError(`${where}: "${field}.file" must be a file name`);
  if (typeof v.sha256 !== 'string' || !/^[0-9a-f]{64}$/i.test(v.sha256)) {
    throw new BundleError(`${where}: "${field}.sha256" must be 64 hex digits`);
  }
  return { file: v.file, sha256: v.sha256.toLowerCase() };
}

/** Validate `manifest.generative` (throws BundleError naming the field). */
export function validateGenerativeConfig(raw: unknown, where = 'manifest.json'): GenerativeConfig {
  if (!isObject(raw)) throw new BundleError(`${where}: a generative bundle needs a "generative" object`);
  const encoder = bundleFile(where, 'generative.encoder', raw.encoder);
  const dec = raw.decoder;
  if (!isObject(dec)) throw new BundleError(`${where}: "generative.decoder" must be an object with numLayers, numHeads, headDim`);
  const architecture = oneOf(where, 'generative.decoder.architecture', dec.architecture, ARCHITECTURES, 'encoder-decoder');
  const decoder: DecoderConfig = {
    numLayers: positiveInt(where, 'generative.decoder.numLayers', dec.numLayers, 1024),
    numHeads: positiveInt(where, 'generative.decoder.numHeads', dec.numHeads, 4096),
    headDim: positiveInt(where, 'generative.decoder.headDim', dec.headDim, 65536),
    architecture,
    cacheType: oneOf(where, 'generative.decoder.cacheType', dec.cacheType, ['float32', 'float16'] as const, 'float32'),
  };
  if (architecture === 'decoder-only') {
    if (typeof dec.audioToken !== 'string' || !dec.audioToken) {
      throw new BundleError(`${where}: a decoder-only model needs "generative.decoder.audioToken", the placeholder token {{audio}} expands to (e.g. "<|AUDIO|>")`);
    }
    decoder.audioToken = dec.audioToken;
  } else if (dec.audioToken !== undefined) {
    throw new BundleError(`${where}: "generative.decoder.audioToken" is only for architecture "decoder-only"`);
  }
  const tok = raw.tokenizer;
  const tokFile = bundleFile(where, 'generative.tokenizer', tok);
  const t = tok as Record<string, unknown>;
  for (const k of ['bos', 'pad'] as const) {
    if (t[k] !== undefined && (typeof t[k] !== 'string' || !t[k])) throw new BundleError(`${where}: "generative.tokenizer.${k}" must be a token string`);
  }
  if (typeof t.eos !== 'string' || !t.eos) throw new BundleError(`${where}: "generative.tokenizer.eos" must be a token string`);
  if (t.addBos !== undefined && typeof t.addBos !== 'boolean') throw new BundleError(`${where}: "generative.tokenizer.addBos" must be true or false`);
  const addBos = (t.addBos as boolean | undefined) ?? t.bos !== undefined;
  if (addBos && t.bos === undefined) throw new BundleError(`${where}: "generative.tokenizer.addBos" is true but no "bos" token is named`);

  const promptRaw = typeof raw.prompt === 'string' ? { template: raw.prompt } : raw.prompt;
  if (!isObject(promptRaw) || typeof promptRaw.template !== 'string' || !promptRaw.template.trim()) {
    throw new BundleError(`${where}: "generative.prompt.template" must be a non-empty string`);
  }
  const unknown = [...promptRaw.template.matchAll(PLACEHOLDER)].map((m) => m[1]!).filter((p) => !(PROMPT_PLACEHOLDERS as readonly string[]).includes(p));
  if (unknown.length) {
    throw new BundleError(
      `${where}: "generative.prompt.template" has unknown placeholder(s) ${unknown.map((u) => `{{${u}}}`).join(', ')} (known: ${PROMPT_PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')})`,
    );
  }
  if (!/\{\{\s*text\s*\}\}/.test(promptRaw.template)) throw new BundleError(`${where}: "generative.prompt.template" must contain {{text}}`);
  const audioSlots = [...promptRaw.template.matchAll(PLACEHOLDER)].filter((m) => m[1] === 'audio').length;
  if (architecture === 'decoder-only' && audioSlots !== 1) {
    throw new BundleError(`${where}: the prompt of a decoder-only model must contain {{audio}} exactly once (it has ${audioSlots})`);
  }
  if (architecture === 'encoder-decoder' && audioSlots > 0) {
    throw new BundleError(`${where}: {{audio}} is only for architecture "decoder-only" (an encoder-decoder model reads the audio through encoder_hidden)`);
  }

  const stop = raw.stopTokens ?? [t.eos];
  if (!Array.isArray(stop) || stop.length === 0 || stop.some((s) => typeof s !== 'string' || !s)) {
    throw new BundleError(`${where}: "generative.stopTokens" must be a non-empty array of token strings`);
  }
  const maxNewTokens = positiveInt(where, 'generative.maxNewTokens', raw.maxNewTokens, MAX_NEW_TOKENS_LIMIT);
  if (!RESPONSE_FORMATS.includes(raw.responseFormat as ResponseFormat)) {
    throw new BundleError(`${where}: "generative.responseFormat" must be one of ${RESPONSE_FORMATS.map((f) => `"${f}"`).join(', ')}, got ${JSON.stringify(raw.responseFormat)}`);
  }
  const rubric = validateRubric(raw.rubric, where);
  return {
    encoder,
    decoder,
    tokenizer: { ...tokFile, eos: t.eos, addBos, ...(t.bos ? { bos: t.bos as string } : {}), ...(t.pad ? { pad: t.pad as string } : {}) },
    prompt: { template: promptRaw.template },
    stopTokens: stop as string[],
    maxNewTokens,
    responseFormat: raw.responseFormat as ResponseFormat,
    rubric,
  };
}

/** Scale bounds of each rubric map: 0-10 integers, phonemes 0-2. */
function scaleBounds(scale: keyof RubricScales): { max: number; integer: boolean } {
  return scale === 'phoneme' ? { max: 2, integer: false } : { max: 10, integer: true };
}

function oneOf<T extends string>(where: string, field: string, v: unknown, allowed: readonly T[], fallback: T): T {
  if (v === undefined) return fallback;
  if (!allowed.includes(v as T)) throw new BundleError(`${where}: "${field}" must be one of ${allowed.map((a) => `"${a}"`).join(', ')}, got ${JSON.stringify(v)}`);
  return v as T;
}

/** Validate `generative.rubric` (optional; every part defaults to DEFAULT_RUBRIC). */
export function validateRubric(raw: unknown, where = 'manifest.json'): RubricConfig {
  if (raw === undefined) return DEFAULT_RUBRIC;
  if (!isObject(raw)) throw new BundleError(`${where}: "generative.rubric" must be an object`);
  const scalesRaw = raw.scales ?? {};
  if (!isObject(scalesRaw)) throw new BundleError(`${where}: "generative.rubric.scales" must be an object`);
  const unknownScale = Object.keys(scalesRaw).find((k) => !(k in DEFAULT_RUBRIC_SCALES));
  if (unknownScale) throw new BundleError(`${where}: "generative.rubric.scales.${unknownScale}" is not a scale (known: ${Object.keys(DEFAULT_RUBRIC_SCALES).join(', ')})`);
  const scales = { ...DEFAULT_RUBRIC_SCALES };
  for (const [name, map] of Object.entries(scalesRaw)) {
    const scale = name as keyof RubricScales;
    const field = `generative.rubric.scales.${scale}`;
    if (!isObject(map)) throw new BundleError(`${where}: "${field}" must map each of ${RUBRIC_LABELS.join(', ')} to a number`);
    const { max, integer } = scaleBounds(scale);
    const values = {} as Record<RubricLabel, number>;
    for (const label of RUBRIC_LABELS) {
      const v = map[label];
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > max || (integer && !Number.isInteger(v))) {
        throw new BundleError(`${where}: "${field}.${label}" must be ${integer ? 'an integer' : 'a number'} from 0 to ${max}, got ${JSON.stringify(v)}`);
      }
      values[label] = v;
    }
    const extra = Object.keys(map).find((k) => !(RUBRIC_LABELS as readonly string[]).includes(k));
    if (extra) throw new BundleError(`${where}: "${field}.${extra}" is not a label (labels: ${RUBRIC_LABELS.join(', ')})`);
    scales[scale] = values;
  }
  return {
    scales,
    completeness: oneOf(where, 'generative.rubric.completeness', raw.completeness, COMPLETENESS_RULES, DEFAULT_RUBRIC.completeness),
    total: oneOf(where, 'generative.rubric.total', raw.total, TOTAL_RULES, DEFAULT_RUBRIC.total),
    wordTotal: oneOf(where, 'generative.rubric.wordTotal', raw.wordTotal, WORD_TOTAL_RULES, DEFAULT_RUBRIC.wordTotal),
  };
}

/** Absolute path of a file named in the manifest, after checking it is inside the bundle, exists, and matches its sha256. */
export function checkBundleFile(dir: string, f: BundleFile, field: string): string {
  const abs = path.resolve(dir, f.file);
  if (path.relative(dir, abs).startsWith('..')) throw new BundleError(`Model bundle ${dir}: ${field} "${f.file}" points outside the bundle directory`);
  if (!existsSync(abs) || !statSync(abs).isFile()) throw new BundleError(`Model bundle ${dir}: ${field} "${f.file}" named in manifest.json does not exist`);
  const actual = sha256File(abs);
  if (actual !== f.sha256) {
    throw new BundleError(`Model bundle ${dir}: sha256 mismatch for "${f.file}": manifest expects ${f.sha256}, file has ${actual}`);
  }
  return abs;
}

/** What the response format asks for, as put into {{format}}. */
const FORMAT_HINT: Record<ResponseFormat, string> = {
  json: 'JSON',
  lines: 'labelled lines',
  rubric: 'the rubric output format',
};

/**
 * Fill the prompt template for a reference text. Placeholders:
 * {{text}} the words joined by spaces ("WE CALL IT BEAR"); {{phones}} one line per word,
 * "WE: W IY1"; {{phonemes_ipa}} every target phoneme in broad IPA, space-separated, as the paper's
 * "Target Phonemes:" ("w i k ɔ l ɪ t b ɛ ɹ"); {{words}} the words one per line; {{word_count}};
 * {{format}} "JSON", "labelled lines" or the rubric's; {{audio}} is left as AUDIO_SLOT for the
 * caller, which knows how many encoder frames there are.
 */
export function renderPrompt(template: string, words: readonly ReferenceWord[], format: ResponseFormat): string {
  const values: Record<(typeof PROMPT_PLACEHOLDERS)[number], string> = {
    text: words.map((w) => w.text).join(' '),
    phones: words.map((w) => `${w.text}: ${w.phones.join(' ')}`).join('\n'),
    phonemes_ipa: words.flatMap((w) => w.phones.map(arpabetToIpa)).join(' '),
    words: words.map((w) => w.text).join('\n'),
    word_count: String(words.length),
    format: FORMAT_HINT[format],
    audio: AUDIO_SLOT,
  };
  return template.replace(PLACEHOLDER, (_, name: string) => values[name as keyof typeof values]);
}
