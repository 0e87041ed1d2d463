import { decodeAudio } from '../../src/audio/decode.js';
import { loadModelBundle } from '../../src/inference/bundle.js';
import { CONTENT_FEATURES, contentFeatures, contentMatch, editDistance } from '../../src/inference/gop/content.js';
import { VOCAB } from '../../src/inference/gop/features.js';
import { Scorer } from '../../src/inference/scorer.js';
import { phoneId } from '../../src/text/phones.js';
import { analyzeReferenceText } from '../../src/text/reference.js';
import { espeakWav, hasEspeak } from '../support/espeak.js';
import { cleanupTempDirs, copyDefaultBundle, DEFAULT_BUNDLE, END_TO_END_BUNDLE } from './helpers.js';

afterAll(cleanupTempDirs);

/** Log-posteriors [T, VOCAB] where frame t puts `p` on symbol path[t] and spreads the rest. */
function posteriors(pathSymbols: number[], p = 0.9): Float32Array {
  const out = new Float32Array(pathSymbols.length * VOCAB);
  pathSymbols.forEach((sym, t) => {
    for (let v = 0; v < VOCAB; v++) out[t * VOCAB + v] = Math.log(v === sym ? p : (1 - p) / (VOCAB - 1));
  });
  return out;
}
const id = (phone: string) => phoneId(phone) + 1;

describe('content features of one recogniser', () => {
  const [k, ae, t, d, aa, g] = ['K', 'AE', 'T', 'D', 'AA', 'G'].map(id) as [number, number, number, number, number, number];
  // the audio clearly says K AE T ("cat")
  const said = [0, 0, k, k, 0, ae, ae, ae, t, 0, 0];
  const logp = posteriors(said);

  test('the text the audio spells: the alignment is the best path, no phone error, no unheard phone', () => {
    const f = contentFeatures(logp, said.length, VOCAB, [k, ae, t]);
    expect(f.gap_per_frame).toBeCloseTo(0, 9);
    expect(f.gap_per_speech_frame).toBeCloseTo(0, 9);
    expect(f.greedy_per).toBe(0);
    expect(f.low_posterior_05).toBe(0);
    expect(f.greedy_length_ratio).toBe(1);
  });

  test('another text ("dog"): the forced path falls below the best path, every phone is wrong and unheard', () => {
    const f = contentFeatures(logp, said.length, VOCAB, [d, aa, g]);
    // each of the 6 speech frames now pays log(0.9) - log(0.1/39) on a phone the audio does not have
    expect(f.gap_per_speech_frame).toBeLessThan(-5);
    expect(f.greedy_per).toBe(1);
    expect(f.low_posterior_05).toBe(1);
  });

  test('one phone changed ("cad") sits between the two', () => {
    const own = contentFeatures(logp, said.length, VOCAB, [k, ae, t]);
    const near = contentFeatures(logp, said.length, VOCAB, [k, ae, d]);
    const far = contentFeatures(logp, said.length, VOCAB, [d, aa, g]);
    expect(near.greedy_per).toBeCloseTo(1 / 3, 9);
    expect(near.gap_per_speech_frame).toBeLessThan(own.gap_per_speech_frame);
    expect(near.gap_per_speech_frame).toBeGreaterThan(far.gap_per_speech_frame);
  });

  test('the recording\'s own yardstick: the reference in its order fits far better than its phones shuffled; another text does not', () => {
    // a longer, weakly heard reading (posterior .4 on the said phone): every path scores low in absolute terms
    const phones = ['DH', 'AH', 'K', 'W', 'IH', 'K', 'B', 'R', 'AW', 'N', 'F', 'AA', 'K', 'S'].map(id);
    const weak = phones.flatMap((ph) => [0, ph, ph]);
    const lp = posteriors(weak, 0.4);
    const own = contentFeatures(lp, weak.length, VOCAB, phones);
    const other = contentFeatures(lp, weak.length, VOCAB, ['S', 'IY', 'Y', 'UW', 'T', 'AH', 'M', 'AA', 'R', 'OW', 'AE', 'T', 'DH', 'AH'].map(id));
    expect(own.shuffle_margin_per_phone).toBeGreaterThan(1);
    expect(own.shuffle_z).toBeGreaterThan(2);
    expect(other.shuffle_margin_per_phone).toBeLessThan(own.shuffle_margin_per_phone / 2);
    // deterministic: the same shuffles every time
    expect(contentFeatures(lp, weak.length, VOCAB, phones)).toEqual(own);
    // a model that names no shuffle feature does not pay for the shuffles; the other features are the same
    const lean = contentFeatures(lp, weak.length, VOCAB, phones, ['gap_per_speech_frame']);
    expect(lean.shuffle_margin_per_phone).toBe(0);
    expect({ ...lean, shuffle_margin_per_phone: 0, shuffle_z: 0 }).toEqual({ ...own, shuffle_margin_per_phone: 0, shuffle_z: 0 });
  });

  test('a missing value (native evidence on a recording too short to align) counts as the training mean: the rest decides', () => {
    const model = {
      features: ['greedy_per' as const, 'native_gap_per_speech_frame' as const], mean: [0, -2], scale: [1, 1], coefficients: [-4, 3], intercept: 2, threshold: 0.5,
    };
    const wrong = contentFeatures(logp, said.length, VOCAB, [d, aa, g]);
    // no native evidence given: NaN, which adds nothing
    expect(wrong.native_gap_per_speech_frame).toBeNaN();
    expect(contentMatch(model, [wrong])).toBeCloseTo(1 / (1 + Math.exp(2)), 9);
    // given, it counts: 3 * (-5 - -2) more log-odds against a match
    const withNative = contentFeatures(logp, said.length, VOCAB, [d, aa, g], undefined, {
      native_gap_per_frame: -3, native_gap_per_phone: -60, native_gap_per_speech_frame: -5, native_loop_per: 1.5, native_lpp_mean: -6, native_low_npp_share: 0.7,
    });
    expect(withNative.native_gap_per_speech_frame).toBe(-5);
    expect(contentMatch(model, [withNative])).toBeCloseTo(1 / (1 + Math.exp(11)), 9);
    // only the native evidence can be missing: an infinite value of another feature still counts
    expect(contentMatch(model, [{ ...wrong, greedy_per: Infinity }])).toBe(0);
  });

  test('edit distance counts substitutions, insertions and deletions', () => {
    expect(editDistance([1, 2, 3], [1, 2, 3])).toBe(0);
    expect(editDistance([1, 2, 3], [1, 4, 3])).toBe(1);
    expect(editDistance([1, 2, 3], [1, 3])).toBe(1);
    expect(editDistance([], [5, 6])).toBe(2);
  });

  test('the score averages the recognisers\' log-odds: agreeing witnesses keep it, a dissenting one pulls it halfway', () => {
    const model = { features: ['greedy_per' as const], mean: [0], scale: [1], coefficients: [-4], intercept: 2, threshold: 0.5 };
    const clean = contentFeatures(logp, said.length, VOCAB, [k, ae, t]);
    const wrong = contentFeatures(logp, said.length, VOCAB, [d, aa, g]);
    expect(contentMatch(model, [clean, clean])).toBeCloseTo(1 / (1 + Math.exp(-2)), 9);
    expect(contentMatch(model, [wrong])).toBeCloseTo(1 / (1 + Math.exp(2)), 9);
    expect(contentMatch(model, [clean, wrong])).toBeCloseTo(0.5, 9);
  });
});

describe('the bundle\'s content-match model', () => {
  test('models/default ships one over features this server computes, with a threshold between 0 and 1', () => {
    const m = loadModelBundle(DEFAULT_BUNDLE).manifest.contentMatch!;
    expect(m.features.length).toBeGreaterThan(0);
    for (const f of m.features) expect(CONTENT_FEATURES).toContain(f);
    expect(m.threshold).toBeGreaterThan(0);
    expect(m.threshold).toBeLessThan(1);
  });

  test.each([
    ['an unknown feature', (m: any) => (m.contentMatch.features = ['mind_reading']), /names features this server does not compute: mind_reading/],
    ['too few coefficients', (m: any) => m.contentMatch.coefficients.pop(), /"coefficients" must be \d+ finite numbers/],
    ['a threshold of 1.5', (m: any) => (m.contentMatch.threshold = 1.5), /"threshold" must be between 0 and 1/],
    ['a zero scale', (m: any) => (m.contentMatch.scale[0] = 0), /"scale" must be positive/],
    ['native evidence but no native model', (m: any) => {
      m.contentMatch = { ...m.contentMatch, features: ['native_gap_per_speech_frame'], mean: [0], scale: [1], coefficients: [1] };
      delete m.native;
    }, /"contentMatch" reads the native model \(native_gap_per_speech_frame\) but manifest.json has no "native"/],
  ])('a manifest with %s is refused at load', (_name, edit, message) => {
    expect(() => loadModelBundle(copyDefaultBundle(edit))).toThrow(message);
  });

  test('bundles without one score as before and report no content match', async () => {
    const quiet = Float32Array.from({ length: 8000 }, (_, i) => Math.sin(i * 0.05) * 0.01);
    const words = analyzeReferenceText('We');
    for (const dir of [copyDefaultBundle((m) => delete m.contentMatch), END_TO_END_BUNDLE]) {
      const scorer = await Scorer.load(dir, { log: () => undefined });
      try {
        expect((await scorer.scoreDetailed(quiet, words)).content).toBeNull();
      } finally {
        await scorer.release();
      }
    }
  });
});

// Dataset-free: real speech from espeak-ng through the real ONNX graphs.
(hasEspeak ? describe : describe.skip)('content match of synthesised speech (espeak-ng)', () => {
  const SENTENCES = ['We will see you tomorrow at the stream', 'The quick brown fox jumps over the lazy dog', 'Please close the window before you go to bed'];
  let scorer: Scorer;
  beforeAll(async () => {
    scorer = await Scorer.load(DEFAULT_BUNDLE, { log: () => undefined });
  });
  afterAll(() => scorer?.release());

  test('each recording matches its own sentence and not the others', async () => {
    for (const [i, said] of SENTENCES.entries()) {
      const audio = await decodeAudio(espeakWav(said), { maxSeconds: 60, minSeconds: 0.3 });
      for (const [j, text] of SENTENCES.entries()) {
        const { content } = await scorer.scoreDetailed(audio.samples, analyzeReferenceText(text));
        if (i === j) expect(content!.score).toBeGreaterThanOrEqual(content!.threshold);
        else expect(content!.score).toBeLessThan(content!.threshold);
      }
    }
  });
});
