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
import type { ReferenceWord } from '../../types.js';

export type ResponseFormat = 'json' | 'lines';

export interface BundleFile {
  file: string;
  sha256: string;
}

export interface GenerativeConfig {
  encoder: BundleFile;
  decoder: { numLayers: number; numHeads: number; headDim: number };
  tokenizer: BundleFile & { bos?: string; eos: string; pad?: string; addBos: boolean };
  prompt: { template: string };
  /** Token strings (vocab entries or added tokens); generation stops at the first one emitted. */
  stopTokens: string[];
  maxNewTokens: number;
  responseFormat: ResponseFormat;
}

/** Names of the tensors a generative bundle's graphs must have. */
export const ENCODER_INPUT = 'samples';
export const ENCODER_OUTPUT = 'audio_embeddings';
export const DECODER_INPUT_IDS = 'input_ids';
export const DECODER_ENCODER_HIDDEN = 'encoder_hidden';
export const DECODER_LOGITS = 'logits';
export const pastName = (layer: number, kv: 'key' | 'value'): string => `past.${layer}.${kv}`;
export const presentName = (layer: number, kv: 'key' | 'value'): string => `present.${layer}.${kv}`;

export const PROMPT_PLACEHOLDERS = ['text', 'phones', 'words', 'word_count', 'format'] as const;
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
  const decoder = {
    numLayers: positiveInt(where, 'generative.decoder.numLayers', dec.numLayers, 1024),
    numHeads: positiveInt(where, 'generative.decoder.numHeads', dec.numHeads, 4096),
    headDim: positiveInt(where, 'generative.decoder.headDim', dec.headDim, 65536),
  };
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

  const stop = raw.stopTokens ?? [t.eos];
  if (!Array.isArray(stop) || stop.length === 0 || stop.some((s) => typeof s !== 'string' || !s)) {
    throw new BundleError(`${where}: "generative.stopTokens" must be a non-empty array of token strings`);
  }
  const maxNewTokens = positiveInt(where, 'generative.maxNewTokens', raw.maxNewTokens, MAX_NEW_TOKENS_LIMIT);
  if (raw.responseFormat !== 'json' && raw.responseFormat !== 'lines') {
    throw new BundleError(`${where}: "generative.responseFormat" must be "json" or "lines", got ${JSON.stringify(raw.responseFormat)}`);
  }
  return {
    encoder,
    decoder,
    tokenizer: { ...tokFile, eos: t.eos, addBos, ...(t.bos ? { bos: t.bos as string } : {}), ...(t.pad ? { pad: t.pad as string } : {}) },
    prompt: { template: promptRaw.template },
    stopTokens: stop as string[],
    maxNewTokens,
    responseFormat: raw.responseFormat,
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
};

/**
 * Fill the prompt template for a reference text. Placeholders:
 * {{text}} the words joined by spaces ("WE CALL IT BEAR"); {{phones}} one line per word,
 * "WE: W IY1"; {{words}} the words one per line; {{word_count}}; {{format}} "JSON" or "labelled lines".
 */
export function renderPrompt(template: string, words: readonly ReferenceWord[], format: ResponseFormat): string {
  const values: Record<(typeof PROMPT_PLACEHOLDERS)[number], string> = {
    text: words.map((w) => w.text).join(' '),
    phones: words.map((w) => `${w.text}: ${w.phones.join(' ')}`).join('\n'),
    words: words.map((w) => w.text).join('\n'),
    word_count: String(words.length),
    format: FORMAT_HINT[format],
  };
  return template.replace(PLACEHOLDER, (_, name: string) => values[name as keyof typeof values]);
}
