import { forcedAlign } from '../../src/inference/gop/align.js';
import { CANDIDATE_UTTERANCE_FEATURES, gopFeatures, PHONE_FEATURES, RELATIVE_STRESS_FEATURES, signalTrack, UTTERANCE_FEATURES, VOCAB, WORD_FEATURES } from '../../src/inference/gop/features.js';
import { trackPitch } from '../../src/inference/gop/pitch.js';
import { phoneId } from '../../src/text/phones.js';
import type { ReferenceWord } from '../../src/types.js';

/** Log-posteriors [T, VOCAB] where frame t puts `p` on symbol path[t] and spreads the rest. */
function posteriors(path: number[], p = 0.9): Float32Array {
  const out = new Float32Array(path.length * VOCAB);
  path.forEach((sym, t) => {
    for (let v = 0; v < VOCAB; v++) out[t * VOCAB + v] = Math.log(v === sym ? p : (1 - p) / (VOCAB - 1));
  });
  return out;
}

const id = (phone: string) => phoneId(phone) + 1; // posterior index: blank is 0

describe('forcedAlign (CTC Viterbi over the canonical phones)', () => {
  test('recovers the segments a clear path spells, blanks belonging to no phone', () => {
    const [k, ae, t] = [id('K'), id('AE1'), id('T')];
    const path = [0, 0, k, k, 0, ae, ae, ae, t, 0, 0];
    const a = forcedAlign(posteriors(path), path.length, VOCAB, [k, ae, t]);
    expect(a.viterbi).toBe(true);
    expect(a.segments).toEqual([{ start: 2, end: 4 }, { start: 5, end: 8 }, { start: 8, end: 9 }]);
  });

  test('follows the canonical order even where the audio favours another phone', () => {
    const [s, iy, z] = [id('S'), id('IY1'), id('Z')];
    // the learner said S IY S: the last segment still goes to the canonical Z, with low evidence
    const path = [0, s, s, iy, iy, s, s, 0];
    const a = forcedAlign(posteriors(path), path.length, VOCAB, [s, iy, z]);
    expect(a.segments.map((g) => g.end - g.start).every((n) => n >= 1)).toBe(true);
    expect(a.segments[2]!.start).toBeGreaterThanOrEqual(a.segments[1]!.end);
    expect(a.segments[0]!.start).toBe(1);
  });

  test('repeated phones need a blank between them; too few frames fall back to equal shares', () => {
    const l = id('L');
    const ok = forcedAlign(posteriors([l, 0, l]), 3, VOCAB, [l, l]);
    expect(ok).toEqual({ viterbi: true, segments: [{ start: 0, end: 1 }, { start: 2, end: 3 }] });
    const short = forcedAlign(posteriors([l, l]), 2, VOCAB, [l, l]);
    expect(short.viterbi).toBe(false);
    expect(short.segments).toEqual([{ start: 0, end: 1 }, { start: 1, end: 2 }]);
  });
});

describe('trackPitch', () => {
  const tone = (hz: number, seconds: number) =>
    Float32Array.from({ length: Math.round(16000 * seconds) }, (_, i) => {
      const x = (2 * Math.PI * hz * i) / 16000;
      return 0.3 * Math.sin(x) + 0.15 * Math.sin(2 * x) + 0.08 * Math.sin(3 * x); // a voice-like harmonic series
    });

  test.each([110, 220, 330])('a %d Hz harmonic tone is tracked within 3%', (hz) => {
    const f0 = [...trackPitch(tone(hz, 0.6), 30)].filter((f) => f > 0);
    expect(f0.length).toBeGreaterThan(20);
    const median = f0.sort((a, b) => a - b)[f0.length >> 1]!;
    expect(Math.abs(median - hz) / hz).toBeLessThan(0.03);
  });

  test('silence and white noise are unvoiced', () => {
    expect([...trackPitch(new Float32Array(16000), 50)].every((f) => f === 0)).toBe(true);
    let seed = 7;
    const noise = Float32Array.from({ length: 16000 }, () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff - 0.5) * 0.5);
    const voiced = [...trackPitch(noise, 45)].filter((f) => f > 0).length;
    expect(voiced).toBeLessThan(5);
  });
});

describe('gopFeatures', () => {
  const words: ReferenceWord[] = [
    { text: 'CAT', phones: ['K', 'AE1', 'T'], source: 'dataset' },
    { text: 'SAT', phones: ['S', 'AE1', 'T'], source: 'dataset' },
  ];
  const frames = 24;
  const samples = new Float32Array(frames * 320);
  const energy = Float32Array.from({ length: frames * 2 }, (_, t) => (t >= 4 && t < 44 ? -10 : -60));

  test('one row per phone and word, one utterance vector, widths as the name lists', () => {
    const path = [0, 0, id('K'), id('AE1'), id('AE1'), id('T'), ...Array(11).fill(0), id('S'), id('AE1'), id('T'), 0, 0, 0, 0];
    const f = gopFeatures(posteriors(path), frames, signalTrack(samples, energy, frames), words);
    expect(f.phone).toHaveLength(6 * PHONE_FEATURES.length);
    expect(f.word).toHaveLength(2 * WORD_FEATURES.length);
    expect(f.utterance).toHaveLength(UTTERANCE_FEATURES.length);
    expect([...f.phone, ...f.word, ...f.utterance, ...f.candidates.utterance].every(Number.isFinite)).toBe(true);
    expect(f.candidates.utterance).toHaveLength(CANDIDATE_UTTERANCE_FEATURES.length);
    const u = (name: (typeof UTTERANCE_FEATURES)[number]) => f.utterance[UTTERANCE_FEATURES.indexOf(name)]!;
    expect(path).toHaveLength(frames);
    expect(u('pauses')).toBe(1); // 11 blank frames (220 ms) between the words
    expect(u('pause_total')).toBeCloseTo(0.22, 5);
    expect(u('phones')).toBe(6);
  });

  test('relative stress: the lexically stressed vowel against the other vowel of its word, whichever the lexicon marks', () => {
    // B IH F AO R with the second vowel held longer and louder: its slot spans more frames and more energy
    const path = [0, 0, id('B'), id('IH0'), 0, id('F'), 0, 0, 0, 0, 0, id('AO1'), id('AO1'), id('AO1'), 0, 0, 0, 0, 0, id('R'), 0, 0, 0, 0];
    const loud = Float32Array.from({ length: frames * 2 }, (_, t) => (t >= 18 && t < 32 ? -5 : t >= 2 && t < 42 ? -20 : -60));
    const track = signalTrack(samples, loud, frames);
    const stressOf = (phones: string[]) => {
      const f = gopFeatures(posteriors(path), frames, track, [{ text: 'BEFORE', phones, source: 'dataset' }]);
      const column = (name: (typeof RELATIVE_STRESS_FEATURES)[number]) => f.word[WORD_FEATURES.indexOf(name)]!;
      expect(f.word.every(Number.isFinite)).toBe(true);
      return { lexical: column('lexical_stress'), duration: column('stressed_duration_vs_word'), energy: column('stressed_energy_vs_word'), most: column('stressed_is_most_prominent') };
    };
    const right = stressOf(['B', 'IH0', 'F', 'AO1', 'R']);
    expect(right.lexical).toBe(1);
    expect(right.duration).toBeGreaterThan(0);
    expect(right.energy).toBeGreaterThan(0);
    expect(right.most).toBe(1);
    // the same audio read against a lexicon that stresses the first vowel: stress on the wrong syllable
    const wrong = stressOf(['B', 'IH1', 'F', 'AO0', 'R']);
    expect(wrong.duration).toBeCloseTo(-right.duration, 5);
    expect(wrong.energy).toBeLessThan(0);
    expect(wrong.most).toBe(0);
  });

  test('a mispronounced phone has lower evidence than the same phone said right', () => {
    const good = [0, id('K'), id('AE1'), id('T'), 0, id('S'), id('AE1'), id('T'), 0, ...Array(15).fill(0)];
    const bad = [0, id('K'), id('AE1'), id('T'), 0, id('SH'), id('AE1'), id('T'), 0, ...Array(15).fill(0)];
    const track = signalTrack(samples, energy, frames);
    const npp = (path: number[]) => gopFeatures(posteriors(path), frames, track, words).phone[3 * PHONE_FEATURES.length + PHONE_FEATURES.indexOf('npp')]!;
    expect(npp(good)).toBeGreaterThan(0.8);
    expect(npp(bad)).toBeLessThan(0.1);
  });
});
