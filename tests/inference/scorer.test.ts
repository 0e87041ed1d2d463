import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { decodeAudio } from '../../src/audio/decode.js';
import { AppError } from '../../src/errors.js';
import { Scorer } from '../../src/inference/scorer.js';
import { decodeLabels } from '../../src/inference/labels.js';
import { encodePhones } from '../../src/inference/phone-encoding.js';
import type { AssessmentLabels, ReferenceWord } from '../../src/types.js';
import { cleanupTempDirs, copyDefaultBundle, DEFAULT_BUNDLE, END_TO_END_BUNDLE, FIXTURES, garbageBundle, hasSharedData, SHARED_SO762 } from './helpers.js';

afterAll(cleanupTempDirs);

const ONE_WORD: ReferenceWord[] = [{ text: 'WE', phones: ['W', 'IY0'], source: 'dataset' }];
const quietNoise = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.05) * 0.01);

function expectWithinScales(labels: AssessmentLabels, words: readonly ReferenceWord[]): void {
  const s = labels.sentence;
  for (const v of [s.accuracy, s.fluency, s.prosody, s.completeness, s.total]) {
    expect(Number.isInteger(v)).toBe(true);
    expect(v).toBeGreaterThanOrEqual(0);
    expect(v).toBeLessThanOrEqual(10);
  }
  expect(labels.words).toHaveLength(words.length);
  labels.words.forEach((w, i) => {
    expect(w.text).toBe(words[i]!.text);
    for (const v of [w.accuracy, w.total]) {
      expect(Number.isInteger(v)).toBe(true);
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(10);
    }
    expect([5, 10]).toContain(w.stress);
    expect(w.phonemes.map((p) => p.symbol)).toEqual(words[i]!.phones);
    for (const p of w.phonemes) {
      expect(p.accuracy).toBeGreaterThanOrEqual(0);
      expect(p.accuracy).toBeLessThanOrEqual(2);
      expect(Math.round(p.accuracy * 10)).toBeCloseTo(p.accuracy * 10, 6);
    }
  });
}

/** Outputs a training script recorded for a dev utterance; the server must reproduce them from the audio. */
interface ReferenceOutputs {
  id: string;
  words: ReferenceWord[];
  utterance_scores: number[];
  word_scores: number[][];
  phone_scores: number[];
}

async function expectReproduces(scorer: Scorer, references: readonly ReferenceOutputs[]): Promise<void> {
  for (const r of references) {
    const audio = await decodeAudio(new Uint8Array(readFileSync(path.join(SHARED_SO762, 'audio', `${r.id}.flac`))), { maxSeconds: 60, minSeconds: 0.3 });
    const { raw } = await scorer.scoreDetailed(audio.samples, r.words);
    raw.utterance.forEach((v, i) => expect(v).toBeCloseTo(r.utterance_scores[i]!, 3));
    raw.words.forEach((w, i) => w.forEach((v, j) => expect(v).toBeCloseTo(r.word_scores[i]![j]!, 3)));
    raw.phones.forEach((v, i) => expect(v).toBeCloseTo(r.phone_scores[i]!, 3));
  }
}

describe('phone encoding and label decoding', () => {
  test('encodePhones: ids, stress classes, word positions, membership', () => {
    const e = encodePhones([
      { text: 'THEME', phones: ['TH', 'IY1', 'M'], source: 'dataset' },
      { text: 'A', phones: ['AH0'], source: 'dataset' },
      { text: 'PUT', phones: ['P', 'UH', 'T'], source: 'g2p' },
    ]);
    expect(Array.from(e.phoneIds, Number)).toEqual([31, 17, 21, 2, 26, 32, 30]);
    expect(Array.from(e.phoneStress, Number)).toEqual([0, 2, 0, 1, 0, 4, 0]);
    expect(Array.from(e.phoneWordPosition, Number)).toEqual([1, 2, 3, 0, 1, 2, 3]);
    expect(Array.from(e.wordMembership)).toEqual([1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1]);
  });

  test('decodeLabels rounds and clamps to the scales; stress thresholds at 7.5', () => {
    const labels = decodeLabels(
      { utterance: [7.49, 10.2, -0.3, 9.5, 6.51], words: [[8.6, 7.4, 3.2], [0.2, 7.6, 10.4]], phones: [1.96, 2.04, -0.02, 0.449] },
      [
        { text: 'A', phones: ['AH0', 'B'], source: 'dataset' },
        { text: 'B', phones: ['B', 'IY1'], source: 'dataset' },
      ],
    );
    expect(labels.sentence).toEqual({ accuracy: 7, fluency: 10, prosody: 0, completeness: 10, total: 7 });
    expect(labels.words.map((w) => [w.accuracy, w.stress, w.total])).toEqual([[9, 5, 3], [0, 10, 10]]);
    expect(labels.words.flatMap((w) => w.phonemes.map((p) => p.accuracy))).toEqual([2, 2, 0, 0.4]);
  });

  test('decodeLabels: the integer is the rounding of the 2-decimal continuous score a client sees', () => {
    const words: ReferenceWord[] = [{ text: 'A', phones: ['AH0'], source: 'dataset' }];
    const labels = decodeLabels({ utterance: [8.496, 8.494, 4.4951, 0.004, 9.9951], words: [[9.496, 7, 6.4949]], phones: [1] }, words);
    expect(labels.continuous!.sentence).toEqual({ accuracy: 8.5, fluency: 8.49, prosody: 4.5, completeness: 0, total: 10 });
    expect(labels.sentence).toEqual({ accuracy: 9, fluency: 8, prosody: 5, completeness: 0, total: 10 });
    expect(labels.continuous!.words[0]).toEqual({ accuracy: 9.5, total: 6.49 });
    expect([labels.words[0]!.accuracy, labels.words[0]!.total]).toEqual([10, 6]);
  });

  test("decodeLabels uses the bundle's stress threshold when given", () => {
    const raw = { utterance: [5, 5, 5, 5, 5], words: [[5, 9.6, 5], [5, 9.9, 5]], phones: [1, 1] };
    const words: ReferenceWord[] = [
      { text: 'A', phones: ['AH0'], source: 'dataset' },
      { text: 'B', phones: ['B'], source: 'dataset' },
    ];
    expect(decodeLabels(raw, words).words.map((w) => w.stress)).toEqual([10, 10]);
    expect(decodeLabels(raw, words, 9.7).words.map((w) => w.stress)).toEqual([5, 10]);
  });
});

describe('Scorer with models/default', () => {
  let scorer: Scorer;
  beforeAll(async () => {
    scorer = await Scorer.load(DEFAULT_BUNDLE, { providers: ['cuda', 'cpu'], log: () => {} });
    await scorer.warmUp();
  });
  afterAll(async () => scorer?.release());

  test('records model name, version and the provider actually used', () => {
    const manifest = JSON.parse(readFileSync(path.join(DEFAULT_BUNDLE, 'manifest.json'), 'utf8'));
    expect(scorer.modelName).toBe(manifest.name);
    expect(scorer.modelVersion).toBe(manifest.version);
    expect(['cuda', 'cpu']).toContain(scorer.executionProvider);
    expect(scorer.stressThreshold).toBe(manifest.scales.word.stress?.threshold ?? 7.5);
  });

  test('short synthetic input scores within scales; concurrent runs equal sequential ones', async () => {
    const a = quietNoise(8000);
    const b = quietNoise(200); // shorter than one analysis window: padded
    const seq = [await scorer.score(a, ONE_WORD), await scorer.score(b, ONE_WORD)];
    const par = await Promise.all([scorer.score(a, ONE_WORD), scorer.score(b, ONE_WORD), scorer.score(a, ONE_WORD)]);
    expect(par).toEqual([seq[0], seq[1], seq[0]]);
    expectWithinScales(seq[0]!, ONE_WORD);
  });

  test('empty reference is refused', async () => {
    await expect(scorer.score(quietNoise(8000), [])).rejects.toMatchObject({ code: 'EMPTY_REFERENCE_TEXT' });
  });

  const gopRef = path.join(FIXTURES, 'gop-reference-outputs.json');
  const withGopRef = hasSharedData && existsSync(gopRef) ? test : test.skip;
  withGopRef(`the server's features and heads reproduce heads.py's dev predictions${hasSharedData ? '' : ' (skipped: ../shared absent)'}`, async () => {
    const ref = JSON.parse(readFileSync(gopRef, 'utf8')) as {
      headsSha256: string;
      references: ReferenceOutputs[];
    };
    expect(ref.headsSha256).toBe(scorer.bundle.manifest.heads?.sha256); // regenerate with scripts/train/heads.py
    await expectReproduces(scorer, ref.references);
  });

  const speech = hasSharedData ? test : test.skip;
  speech(`real SpeechOcean762 utterances: every level within scales, one entry per word and phone${hasSharedData ? '' : ' (skipped: ../shared absent)'}`, async () => {
    const labels = JSON.parse(readFileSync(path.join(SHARED_SO762, 'dev', 'scores.json'), 'utf8')) as Record<string, { words: { text: string; phones: string[] }[] }>;
    for (const id of Object.keys(labels).sort().slice(0, 3)) {
      const audio = await decodeAudio(new Uint8Array(readFileSync(path.join(SHARED_SO762, 'audio', `${id}.flac`))), { maxSeconds: 60, minSeconds: 0.3 });
      const words: ReferenceWord[] = labels[id]!.words.map((w) => ({ text: w.text, phones: w.phones, source: 'dataset' }));
      const out = await scorer.score(audio.samples, words);
      expectWithinScales(out, words);
    }
  });

});

describe('Scorer with the end-to-end bundle (models/so762-scorer-1.1.0)', () => {
  let scorer: Scorer;
  beforeAll(async () => {
    scorer = await Scorer.load(END_TO_END_BUNDLE, { providers: ['cpu'], log: () => {} });
  });
  afterAll(async () => scorer?.release());

  test('short synthetic input scores within scales', async () => {
    expectWithinScales(await scorer.score(quietNoise(8000), ONE_WORD), ONE_WORD);
  });

  const refFile = path.join(FIXTURES, 'so762-reference-outputs.json');
  const withRef = hasSharedData && existsSync(refFile) ? test : test.skip;
  withRef(`onnxruntime-node equals the torch model on dev utterances${hasSharedData ? '' : ' (skipped: ../shared absent)'}`, async () => {
    const ref = JSON.parse(readFileSync(refFile, 'utf8')) as {
      sha256: string;
      references: ReferenceOutputs[];
    };
    expect(ref.sha256).toBe(scorer.bundle.manifest.sha256); // regenerate with scripts/train/export.py when the model changes
    await expectReproduces(scorer, ref.references);
  });
});

describe('garbage models → MODEL_OUTPUT_INVALID', () => {
  test.each([
    ['garbage-nan.onnx', /output "utterance_scores" contains NaN at index 1/],
    ['garbage-shape.onnx', /output "utterance_scores" has shape \[1, 4\], expected \[1, 5\]/],
    ['garbage-range.onnx', /output "phone_scores" value 7 at index 0 is outside 0-2/],
  ])('%s', async (file, message) => {
    const scorer = await Scorer.load(garbageBundle(file), { providers: ['cpu'] });
    const run = scorer.score(quietNoise(8000), ONE_WORD);
    await expect(run).rejects.toBeInstanceOf(AppError);
    await expect(run).rejects.toMatchObject({ code: 'MODEL_OUTPUT_INVALID', message: expect.stringMatching(message) });
    await scorer.release();
  });
});

describe('garbage in the gop pipeline → MODEL_OUTPUT_INVALID', () => {
  test.each([
    [{ file: 'garbage-acoustic-unnormalised.onnx' }, /recogniser 0's posteriors at frame 0 sum to 40\.0000, not 1/],
    [{ file: 'garbage-acoustic-shape.onnx' }, /output "log_posteriors" has shape \[2, 5, 39\], expected \[2, T, 40\]/],
    [{ heads: 'garbage-heads-range.onnx' }, /output "phone_scores" value 7 at index 0 is outside 0-2/],
  ])('%o', async (replace, message) => {
    // the acoustic fixture graphs hold two recognisers' outputs
    const edit = 'file' in replace ? (m: Record<string, unknown>) => (m.recognisers = 2) : undefined;
    const scorer = await Scorer.load(copyDefaultBundle(edit, DEFAULT_BUNDLE, replace), { providers: ['cpu'] });
    const run = scorer.score(quietNoise(8000), ONE_WORD);
    await expect(run).rejects.toBeInstanceOf(AppError);
    await expect(run).rejects.toMatchObject({ code: 'MODEL_OUTPUT_INVALID', message: expect.stringMatching(message) });
    await scorer.release();
  });
});

describe('gop manifest disagreeing with its acoustic graph', () => {
  test('a recogniser count that differs from the graph\'s output is MODEL_OUTPUT_INVALID, not a silent average', async () => {
    const real = JSON.parse(readFileSync(path.join(DEFAULT_BUNDLE, 'manifest.json'), 'utf8')) as { recognisers: number };
    const scorer = await Scorer.load(copyDefaultBundle((m) => (m.recognisers = real.recognisers + 1)), { providers: ['cpu'] });
    await expect(scorer.score(quietNoise(8000), ONE_WORD)).rejects.toMatchObject({
      code: 'MODEL_OUTPUT_INVALID',
      message: expect.stringMatching(new RegExp(`expected \\[${real.recognisers + 1}, T, 40\\]`)),
    });
    await scorer.release();
  });
});

describe('Scorer.load failures → MODEL_UNAVAILABLE', () => {
  test('gop heads fitted on other feature columns are refused', async () => {
    const dir = copyDefaultBundle((m) => {
      const f = m.features as { phone: string[] };
      f.phone = [...f.phone.slice(1), f.phone[0]!];
    });
    await expect(Scorer.load(dir, { providers: ['cpu'] })).rejects.toMatchObject({
      code: 'MODEL_UNAVAILABLE',
      message: expect.stringMatching(/phone feature columns differ/),
    });
  });

  test('heads that read the native model\'s columns are refused without the native graph', async () => {
    const dir = copyDefaultBundle((m) => delete m.native);
    await expect(Scorer.load(dir, { providers: ['cpu'] })).rejects.toMatchObject({
      code: 'MODEL_UNAVAILABLE',
      message: expect.stringMatching(/phone feature columns differ/),
    });
  });

  test('a native graph that is altered, or named without its checksum, is refused', async () => {
    const altered = copyDefaultBundle((m) => ((m.native as { sha256: string }).sha256 = 'f'.repeat(64)));
    await expect(Scorer.load(altered, { providers: ['cpu'] })).rejects.toMatchObject({
      code: 'MODEL_UNAVAILABLE',
      message: expect.stringMatching(/sha256 mismatch for "native.onnx"/),
    });
    const malformed = copyDefaultBundle((m) => (m.native = { file: 'native.onnx' }));
    await expect(Scorer.load(malformed, { providers: ['cpu'] })).rejects.toMatchObject({
      code: 'MODEL_UNAVAILABLE',
      message: expect.stringMatching(/"native" must be \{"file", "sha256"\}/),
    });
  });

  test('the triphone table: altered, malformed, not a table, or beside a graph that cannot score triphones, is refused', async () => {
    type Native = { file: string; sha256: string; triphones?: { file: string; sha256: string } };
    const altered = copyDefaultBundle((m) => ((m.native as Native).triphones!.sha256 = 'f'.repeat(64)));
    await expect(Scorer.load(altered, { providers: ['cpu'] })).rejects.toMatchObject({
      code: 'MODEL_UNAVAILABLE', message: expect.stringMatching(/sha256 mismatch for "native-triphones.u16"/),
    });
    const malformed = copyDefaultBundle((m) => ((m.native as Native).triphones = { file: 'native-triphones.u16' } as Native['triphones']));
    await expect(Scorer.load(malformed, { providers: ['cpu'] })).rejects.toMatchObject({
      code: 'MODEL_UNAVAILABLE', message: expect.stringMatching(/"native.triphones" must be \{"file", "sha256"\}/),
    });
    // a file with the right checksum but not the model's table: not whole rows, or rows out of range
    const notATable = (bytes: Buffer) => {
      const dir = copyDefaultBundle((m) => {
        (m.native as Native).triphones = { file: 'other.u16', sha256: createHash('sha256').update(bytes).digest('hex') };
      });
      writeFileSync(path.join(dir, 'other.u16'), bytes);
      return dir;
    };
    await expect(Scorer.load(notATable(Buffer.alloc(13)), { providers: ['cpu'] })).rejects.toMatchObject({
      code: 'MODEL_UNAVAILABLE', message: expect.stringMatching(/triphone table: 13 bytes is not rows of 7 uint16/),
    });
    await expect(Scorer.load(notATable(Buffer.alloc(28, 0xff)), { providers: ['cpu'] })).rejects.toMatchObject({
      code: 'MODEL_UNAVAILABLE', message: expect.stringMatching(/triphone table: row 0 .* out of the model's range/),
    });
    // a graph without cd_senones (the acoustic graph stands in) cannot score the table's triphones
    const ciOnly = copyDefaultBundle((m) => {
      const n = m.native as Native;
      n.file = m.file as string;
      n.sha256 = m.sha256 as string;
    });
    await expect(Scorer.load(ciOnly, { providers: ['cpu'] })).rejects.toMatchObject({
      code: 'MODEL_UNAVAILABLE', message: expect.stringMatching(/native graph lacks senone_loglik, cd_senones/),
    });
  });

  test('heads that read the context-dependent columns are refused without the triphone table', async () => {
    const dir = copyDefaultBundle((m) => delete (m.native as { triphones?: unknown }).triphones);
    await expect(Scorer.load(dir, { providers: ['cpu'] })).rejects.toMatchObject({
      code: 'MODEL_UNAVAILABLE', message: expect.stringMatching(/heads read the triphone columns .* no "native.triphones" table/),
    });
  });

  test('gop heads file missing or altered', async () => {
    const dir = copyDefaultBundle((m) => ((m.heads as { sha256: string }).sha256 = 'f'.repeat(64)));
    await expect(Scorer.load(dir, { providers: ['cpu'] })).rejects.toMatchObject({
      code: 'MODEL_UNAVAILABLE',
      message: expect.stringMatching(/sha256 mismatch for "heads.onnx"/),
    });
  });

  test('bad sha256', async () => {
    const dir = copyDefaultBundle((m) => (m.sha256 = '0'.repeat(64)));
    await expect(Scorer.load(dir, { providers: ['cpu'] })).rejects.toMatchObject({
      code: 'MODEL_UNAVAILABLE',
      message: expect.stringMatching(/sha256 mismatch .*manifest expects 0{64}, file has [0-9a-f]{64}/),
    });
  });

  test('a generative bundle is not a scorer', async () => {
    const dir = copyDefaultBundle((m) => (m.kind = 'generative'));
    await expect(Scorer.load(dir, { providers: ['cpu'] })).rejects.toMatchObject({ code: 'MODEL_UNAVAILABLE', message: expect.stringMatching(/kind "generative", expected "scorer"/) });
  });
});
