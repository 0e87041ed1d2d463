import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sha256File } from '../../src/inference/bundle.js';
import { PHONES } from '../../src/text/phones.js';

export const DEFAULT_BUNDLE = path.resolve('models/default');
export const FIXTURES = path.resolve('tests/inference/fixtures');
export const SHARED_SO762 = path.resolve(process.env.SPEECHOCEAN762_DIR ?? '../shared/speechocean762');
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

/** A temporary copy of models/default whose manifest can be edited. */
export function copyDefaultBundle(edit?: (m: Record<string, unknown>) => void): string {
  const dir = tempDir();
  const manifest = JSON.parse(readFileSync(path.join(DEFAULT_BUNDLE, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  copyFileSync(path.join(DEFAULT_BUNDLE, manifest.file as string), path.join(dir, manifest.file as string));
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
