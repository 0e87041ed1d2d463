import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sha256File } from '../../src/inference/bundle.js';
import { PHONES } from '../../src/text/phones.js';
import { SHARED_DATA_DIR } from '../support/audio-fixtures.js';

export const DEFAULT_BUNDLE = path.resolve('models/default');
/** The previous default: one end-to-end graph (waveform + phones in, scores out). */
export const END_TO_END_BUNDLE = path.resolve('models/so762-scorer-1.1.0');
export const FIXTURES = path.resolve('tests/inference/fixtures');
export const SHARED_SO762 = SHARED_DATA_DIR;
export const hasSharedData = existsSync(path.join(SHARED_SO762, 'dev', 'scores.json'));

const tmpDirs: string[] = [];
export function tempDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'speechmark-bundle-'));
  tmpDirs.push(d);
  return d;
}
export function cleanupTempDirs(): void {
  for (const d of tmpDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/**
 * A temporary copy of a bundle (models/default unless `from` says) whose manifest can be edited;
 * `replace` swaps in a fixture graph for the acoustic (`file`) or `heads` graph, sha256 updated.
 */
export function copyDefaultBundle(
  edit?: (m: Record<string, unknown>) => void,
  from = DEFAULT_BUNDLE,
  replace: { file?: string; heads?: string } = {},
): string {
  const dir = tempDir();
  const manifest = JSON.parse(readFileSync(path.join(from, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  const heads = manifest.heads as { file: string; sha256: string } | undefined;
  const main = manifest.file as string;
  copyFileSync(replace.file ? path.join(FIXTURES, replace.file) : path.join(from, main), path.join(dir, main));
  if (replace.file) manifest.sha256 = sha256File(path.join(dir, main));
  if (heads) {
    copyFileSync(replace.heads ? path.join(FIXTURES, replace.heads) : path.join(from, heads.file), path.join(dir, heads.file));
    if (replace.heads) heads.sha256 = sha256File(path.join(dir, heads.file));
  }
  const batched = manifest.batched as { file: string } | undefined;
  if (batched) copyFileSync(path.join(from, batched.file), path.join(dir, batched.file));
  const native = manifest.native as { file: string; triphones?: { file: string } } | undefined;
  if (native) copyFileSync(path.join(from, native.file), path.join(dir, native.file));
  if (native?.triphones) copyFileSync(path.join(from, native.triphones.file), path.join(dir, native.triphones.file));
  edit?.(manifest);
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return dir;
}

/** A bundle around one of the committed garbage graphs (tests/inference/fixtures). */
export function garbageBundle(onnxFile: string): string {
  const dir = tempDir();
  copyFileSync(path.join(FIXTURES, onnxFile), path.join(dir, 'model.onnx'));
  const io = (names: string[]) => names.map((name) => ({ name, dtype: 'float32', shape: [1] }));
  const manifest = {
    name: `garbage-${onnxFile}`,
    version: 'test-0.0.0',
    kind: 'scorer',
    file: 'model.onnx',
    sha256: sha256File(path.join(dir, 'model.onnx')),
    sampleRate: 16000,
    phoneSet: [...PHONES],
    inputs: io(['samples', 'phone_ids', 'phone_stress', 'phone_word_position', 'word_membership']),
    outputs: io(['utterance_scores', 'word_scores', 'phone_scores']),
    scales: { sentence: { min: 0, max: 10 }, word: { min: 0, max: 10 }, phoneme: { min: 0, max: 2 } },
  };
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
  return dir;
}
