import { readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { BundleError, loadModelBundle, sha256File, validateManifest } from '../../src/inference/bundle.js';
import { PHONES } from '../../src/text/phones.js';
import { cleanupTempDirs, copyDefaultBundle, DEFAULT_BUNDLE, END_TO_END_BUNDLE } from './helpers.js';

afterAll(cleanupTempDirs);

describe('models/default bundle (gop pipeline)', () => {
  test('loads: manifest valid, both graphs match their sha256, recognisers and feature columns recorded, under 20 MB', () => {
    const b = loadModelBundle(DEFAULT_BUNDLE);
    expect(b.manifest.kind).toBe('scorer');
    expect(b.manifest.pipeline).toBe('gop');
    expect(b.manifest.phoneSet).toEqual([...PHONES]);
    expect(sha256File(b.modelPath)).toBe(b.manifest.sha256);
    expect(sha256File(b.headsPath!)).toBe(b.manifest.heads!.sha256);
    expect(statSync(b.modelPath).size + statSync(b.headsPath!).size).toBeLessThan(20 * 1024 * 1024);
    expect(b.manifest.recognisers).toBeGreaterThanOrEqual(1);
    expect(b.manifest.inputs.map((i) => i.name)).toEqual(['samples']);
    expect(b.manifest.outputs.map((o) => o.name)).toEqual(['log_posteriors', 'frame_energy']);
    expect(Object.keys(b.manifest.features!)).toEqual(['phone', 'word', 'utterance']);
  });

  test('a gop manifest without its heads graph is refused', () => {
    const dir = copyDefaultBundle((m) => delete m.heads);
    expect(() => loadModelBundle(dir)).toThrow(/a "gop" pipeline needs "heads"/);
  });

  test('an unknown pipeline is refused', () => {
    const dir = copyDefaultBundle((m) => (m.pipeline = 'magic'));
    expect(() => loadModelBundle(dir)).toThrow(/unknown pipeline "magic"/);
  });
});

describe('models/so762-scorer-1.1.0 bundle (end-to-end)', () => {
  test('loads: manifest valid, sha256 matches, scorer kind, size under 20 MB', () => {
    const b = loadModelBundle(END_TO_END_BUNDLE);
    expect(b.manifest.kind).toBe('scorer');
    expect(b.manifest.phoneSet).toEqual([...PHONES]);
    expect(b.manifest.sampleRate).toBe(16000);
    expect(sha256File(b.modelPath)).toBe(b.manifest.sha256);
    expect(statSync(b.modelPath).size).toBeLessThan(20 * 1024 * 1024);
    expect(b.manifest.inputs.map((i) => i.name)).toEqual(['samples', 'phone_ids', 'phone_stress', 'phone_word_position', 'word_membership']);
    expect(b.manifest.outputs.map((o) => o.name)).toEqual(['utterance_scores', 'word_scores', 'phone_scores']);
  });
});

describe('bundle validation errors', () => {
  test('sha256 mismatch names expected and actual digests', () => {
    const bad = 'ab'.repeat(32);
    const dir = copyDefaultBundle((m) => (m.sha256 = bad));
    const actual = sha256File(path.join(DEFAULT_BUNDLE, JSON.parse(readFileSync(path.join(DEFAULT_BUNDLE, 'manifest.json'), 'utf8')).file));
    expect(() => loadModelBundle(dir)).toThrow(BundleError);
    expect(() => loadModelBundle(dir)).toThrow(`sha256 mismatch for "acoustic.onnx": manifest expects ${bad}, file has ${actual}`);
  });

  test.each(['version', 'sha256', 'phoneSet', 'kind', 'file'])('missing field "%s" is named', (field) => {
    const dir = copyDefaultBundle((m) => delete m[field]);
    expect(() => loadModelBundle(dir)).toThrow(new RegExp(`missing required field\\(s\\): ${field}`));
  });

  test('wrong phone set: order changed', () => {
    const swapped = [...PHONES] as string[];
    [swapped[0], swapped[1]] = [swapped[1]!, swapped[0]!];
    const dir = copyDefaultBundle((m) => (m.phoneSet = swapped));
    expect(() => loadModelBundle(dir)).toThrow(/phoneSet differs .*first difference at index 0: expected AA, got "AE"/);
  });

  test('wrong phone set: stress-marked 40-phone list', () => {
    const dir = copyDefaultBundle((m) => (m.phoneSet = [...PHONES, 'AX']));
    expect(() => loadModelBundle(dir)).toThrow(/phoneSet differs .*got 40 phones/);
  });

  test('unknown kind', () => {
    const dir = copyDefaultBundle((m) => (m.kind = 'classifier'));
    expect(() => loadModelBundle(dir)).toThrow(/unknown kind "classifier"/);
  });

  test('model file missing', () => {
    const dir = copyDefaultBundle();
    rmSync(path.join(dir, 'acoustic.onnx'));
    expect(() => loadModelBundle(dir)).toThrow(/model file "acoustic.onnx" named in manifest.json does not exist/);
  });

  test('file outside the bundle is refused', () => {
    const dir = copyDefaultBundle((m) => (m.file = '../../etc/passwd'));
    expect(() => loadModelBundle(dir)).toThrow(/outside the bundle directory/);
  });

  test('missing manifest and invalid JSON', () => {
    const dir = copyDefaultBundle();
    rmSync(path.join(dir, 'manifest.json'));
    expect(() => loadModelBundle(dir)).toThrow(/manifest.json not found/);
    expect(() => validateManifest([])).toThrow(/not a JSON object/);
  });
});
