/**
 * Model bundle = a directory with manifest.json + the ONNX file it names (see ../shared/DESIGN.md,
 * "Model bundle"). Loading validates the manifest before any session is created, so a bad bundle
 * fails at start-up with a message that says exactly what is wrong.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { PHONES } from '../text/phones.js';
import { CONTENT_FEATURES, NATIVE_CONTENT_FEATURES, type ContentModel } from './gop/content.js';

export type BundleKind = 'scorer' | 'generative';

export interface TensorSpec {
  name: string;
  dtype: string;
  shape: (number | string)[];
  description?: string;
}

export interface ScaleSpec {
  aspects?: string[];
  min: number;
  max: number;
  integer?: boolean;
  decimals?: number;
  stress?: { values: number[]; threshold: number };
}

export interface ModelManifest {
  name: string;
  version: string;
  kind: BundleKind;
  file: string;
  sha256: string;
  sampleRate: number;
  phoneSet: string[];
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  scales: { sentence: ScaleSpec; word: ScaleSpec; phoneme: ScaleSpec };
  training?: Record<string, unknown>;
  /**
   * How a scorer computes its scores: "end-to-end" (default: one graph, waveform + phones in,
   * scores out) or "gop" (`file` is the acoustic graph of K recognisers, `heads` the graph that
   * turns the platform's GOP features into scores; see src/inference/gop/).
   */
  pipeline?: 'end-to-end' | 'gop';
  heads?: { file: string; sha256: string };
  /**
   * gop, optional: the acoustic graph rewritten with a batch dimension (samples [B, N] and lengths
   * [B] in; scripts/export-batched/), used when SPEECHMARK_BATCH_SIZE > 1.
   */
  batched?: { file: string; sha256: string };
  /**
   * gop, optional: the native-English phone model (src/inference/gop/native.ts; exported by
   * scripts/train/native_gop.py). When present, its NATIVE_PHONE_FEATURES follow the phone columns.
   * `triphones`: the model's triphone table (scripts/train/native_cd.py table), for the
   * context-dependent graph (`native_gop.py export --context-dependent`); with it the phone columns
   * end with CONTEXT_PHONE_FEATURES (src/inference/gop/native-cd.ts).
   */
  native?: { file: string; sha256: string; triphones?: { file: string; sha256: string } };
  recognisers?: number;
  /** gop: the heads' input columns, in order (must equal src/inference/gop/features.ts). */
  features?: { phone: string[]; word: string[]; utterance: string[] };
  /** gop: the content-match model (src/inference/gop/content.ts); absent: no content match. */
  contentMatch?: ContentModel;
  [extra: string]: unknown;
}

export interface ModelBundle {
  dir: string;
  manifest: ModelManifest;
  /** Absolute path of the ONNX file. */
  modelPath: string;
  /** gop pipeline: absolute path of the heads graph. */
  headsPath?: string;
  /** gop pipeline, when the manifest names one: absolute path of the batched acoustic graph. */
  batchedPath?: string;
  /** gop pipeline, when the manifest names one: absolute path of the native-English phone model. */
  nativePath?: string;
  /** gop pipeline, when the native model has one: absolute path of its triphone table. */
  nativeTriphonesPath?: string;
}

/** A bundle that cannot be used; the message names the bundle and the problem. */
export class BundleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BundleError';
  }
}

const REQUIRED: (keyof ModelManifest)[] = [
  'name', 'version', 'kind', 'file', 'sha256', 'sampleRate', 'phoneSet', 'inputs', 'outputs', 'scales',
];

export function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function checkTensorSpecs(where: string, value: unknown, field: string): void {
  if (!Array.isArray(value) || value.length === 0) throw new BundleError(`${where}: "${field}" must be a non-empty array`);
  for (const [i, t] of value.entries()) {
    const spec = t as Partial<TensorSpec>;
    if (typeof spec?.name !== 'string' || typeof spec.dtype !== 'string' || !Array.isArray(spec.shape)) {
      throw new BundleError(`${where}: ${field}[${i}] needs name, dtype and shape`);
    }
  }
}

/** A content-match model the server can evaluate: known feature names, finite numbers of matching lengths. */
function checkContentModel(where: string, value: unknown): void {
  const m = value as Partial<Record<keyof ContentModel, unknown>> | null;
  const fail = (why: string) => new BundleError(`${where}: "contentMatch" ${why}`);
  if (!m || typeof m !== 'object' || !Array.isArray(m.features) || m.features.length === 0) throw fail('needs a non-empty "features" list');
  const unknown = m.features.filter((f) => !(CONTENT_FEATURES as readonly unknown[]).includes(f));
  if (unknown.length) throw fail(`names features this server does not compute: ${unknown.join(', ')} (known: ${CONTENT_FEATURES.join(', ')})`);
  const n = m.features.length;
  for (const key of ['mean', 'scale', 'coefficients'] as const) {
    const v = m[key];
    if (!Array.isArray(v) || v.length !== n || v.some((x) => typeof x !== 'number' || !Number.isFinite(x))) throw fail(`"${key}" must be ${n} finite numbers`);
  }
  if ((m.scale as number[]).some((x) => x <= 0)) throw fail('"scale" must be positive');
  if (typeof m.intercept !== 'number' || !Number.isFinite(m.intercept)) throw fail('"intercept" must be a finite number');
  if (typeof m.threshold !== 'number' || !(m.threshold > 0 && m.threshold < 1)) throw fail('"threshold" must be between 0 and 1');
}

/** Validate a parsed manifest (throws BundleError). Exported for tests and tooling. */
export function validateManifest(raw: unknown, where = 'manifest.json'): ModelManifest {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new BundleError(`${where}: not a JSON object`);
  const m = raw as Record<string, unknown>;
  const missing = REQUIRED.filter((k) => m[k] === undefined || m[k] === null || m[k] === '');
  if (missing.length) throw new BundleError(`${where}: missing required field(s): ${missing.join(', ')}`);
  for (const k of ['name', 'version', 'file', 'sha256'] as const) {
    if (typeof m[k] !== 'string') throw new BundleError(`${where}: "${k}" must be a string`);
  }
  if (m.kind !== 'scorer' && m.kind !== 'generative') {
    throw new BundleError(`${where}: unknown kind ${JSON.stringify(m.kind)} (expected "scorer" or "generative")`);
  }
  if (!/^[0-9a-f]{64}$/i.test(m.sha256 as string)) throw new BundleError(`${where}: "sha256" must be 64 hex digits`);
  if (m.sampleRate !== 16000) throw new BundleError(`${where}: sampleRate must be 16000, got ${JSON.stringify(m.sampleRate)}`);
  const phones = m.phoneSet;
  if (!Array.isArray(phones) || phones.length !== PHONES.length || phones.some((p, i) => p !== PHONES[i])) {
    const got = Array.isArray(phones) ? `${phones.length} phones [${phones.slice(0, 6).join(' ')}${phones.length > 6 ? ' …' : ''}]` : JSON.stringify(phones);
    const firstDiff = Array.isArray(phones) ? PHONES.findIndex((p, i) => phones[i] !== p) : -1;
    throw new BundleError(
      `${where}: phoneSet differs from the platform's 39-phone ARPAbet set (PHONES, alphabetical CMU order): got ${got}` +
        (firstDiff >= 0 ? `; first difference at index ${firstDiff}: expected ${PHONES[firstDiff]}, got ${JSON.stringify((phones as unknown[])[firstDiff])}` : ''),
    );
  }
  if (m.pipeline !== undefined && m.pipeline !== 'end-to-end' && m.pipeline !== 'gop') {
    throw new BundleError(`${where}: unknown pipeline ${JSON.stringify(m.pipeline)} (expected "end-to-end" or "gop")`);
  }
  if (m.contentMatch !== undefined) checkContentModel(where, m.contentMatch);
  checkTensorSpecs(where, m.inputs, 'inputs');
  checkTensorSpecs(where, m.outputs, 'outputs');
  const scales = m.scales as Record<string, unknown>;
  if (typeof scales !== 'object' || !scales) throw new BundleError(`${where}: "scales" must be an object`);
  for (const level of ['sentence', 'word', 'phoneme']) {
    const s = scales[level] as Partial<ScaleSpec> | undefined;
    if (!s || typeof s.min !== 'number' || typeof s.max !== 'number') {
      throw new BundleError(`${where}: scales.${level} needs numeric min and max`);
    }
  }
  return m as unknown as ModelManifest;
}

/** A file the manifest names: inside the bundle, present, and with the sha256 it states. */
function checkedFile(abs: string, file: string, sha256: string): string {
  const full = path.resolve(abs, file);
  if (path.relative(abs, full).startsWith('..')) {
    throw new BundleError(`Model bundle ${abs}: file "${file}" points outside the bundle directory`);
  }
  if (!existsSync(full) || !statSync(full).isFile()) {
    throw new BundleError(`Model bundle ${abs}: model file "${file}" named in manifest.json does not exist`);
  }
  const actual = sha256File(full);
  if (actual.toLowerCase() !== sha256.toLowerCase()) {
    throw new BundleError(`Model bundle ${abs}: sha256 mismatch for "${file}": manifest expects ${sha256.toLowerCase()}, file has ${actual}`);
  }
  return full;
}

/**
 * Read and validate `<dir>/manifest.json`, check the model file exists and its sha256 matches.
 * Throws BundleError with the bundle directory in the message.
 */
export function loadModelBundle(dir: string): ModelBundle {
  const abs = path.resolve(dir);
  const manifest = readManifest(abs);
  const modelPath = checkedFile(abs, manifest.file, manifest.sha256);
  if (manifest.pipeline === 'gop') {
    const heads = manifest.heads;
    if (!heads || typeof heads.file !== 'string' || typeof heads.sha256 !== 'string') {
      throw new BundleError(`Model bundle ${abs}: a "gop" pipeline needs "heads": {"file", "sha256"} in manifest.json`);
    }
    const batched = manifest.batched;
    if (batched !== undefined && (typeof batched?.file !== 'string' || typeof batched.sha256 !== 'string')) {
      throw new BundleError(`Model bundle ${abs}: "batched" must be {"file", "sha256"} in manifest.json`);
    }
    const native = manifest.native;
    if (native !== undefined && (typeof native?.file !== 'string' || typeof native.sha256 !== 'string')) {
      throw new BundleError(`Model bundle ${abs}: "native" must be {"file", "sha256"} in manifest.json`);
    }
    const triphones = native?.triphones;
    if (triphones !== undefined && (typeof triphones?.file !== 'string' || typeof triphones.sha256 !== 'string')) {
      throw new BundleError(`Model bundle ${abs}: "native.triphones" must be {"file", "sha256"} in manifest.json`);
    }
    const nativeEvidence = manifest.contentMatch?.features.filter((f) => (NATIVE_CONTENT_FEATURES as readonly string[]).includes(f)) ?? [];
    if (nativeEvidence.length && native === undefined) {
      throw new BundleError(`Model bundle ${abs}: "contentMatch" reads the native model (${nativeEvidence.join(', ')}) but manifest.json has no "native"`);
    }
    return {
      dir: abs,
      manifest,
      modelPath,
      headsPath: checkedFile(abs, heads.file, heads.sha256),
      ...(batched ? { batchedPath: checkedFile(abs, batched.file, batched.sha256) } : {}),
      ...(native ? { nativePath: checkedFile(abs, native.file, native.sha256) } : {}),
      ...(triphones ? { nativeTriphonesPath: checkedFile(abs, triphones.file, triphones.sha256) } : {}),
    };
  }
  return { dir: abs, manifest, modelPath };
}

/**
 * The validated manifest alone, without reading the model files: what an API process that runs no
 * worker needs to name the model it serves (the workers check the files they load).
 */
export function readManifest(dir: string): ModelManifest {
  const abs = path.resolve(dir);
  const manifestPath = path.join(abs, 'manifest.json');
  if (!existsSync(manifestPath)) throw new BundleError(`Model bundle ${abs}: manifest.json not found`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch (e) {
    throw new BundleError(`Model bundle ${abs}: manifest.json is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  return validateManifest(raw, `Model bundle ${abs}: manifest.json`);
}
