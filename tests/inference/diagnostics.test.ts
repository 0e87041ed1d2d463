/**
 * Timing and miscues below the API (issue 11): the bundle's thresholds file, the stored timeline's
 * codec, the eval's audio cut and espeak-ng event parsing, and the real scorer's word boundaries
 * against espeak-ng's own on synthesised speech (where espeak-ng is installed).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AppError } from '../../src/errors.js';
import { decodeTimeline, encodeTimeline } from '../../src/assessment/timeline-codec.js';
import { DEFAULT_THRESHOLDS, diagnose, phoneEvidence, type Evidence } from '../../src/inference/gop/diagnostics.js';
import { VOCAB } from '../../src/inference/gop/features.js';
import { phoneId } from '../../src/text/phones.js';
import { DIAGNOSTICS_FILE, loadDiagnosticThresholds } from '../../src/inference/gop/thresholds.js';
import { Scorer } from '../../src/inference/scorer.js';
import { cutSpan } from '../../scripts/eval/diagnostics-omission.js';
import { knownBoundaries, measureTiming } from '../../scripts/eval/diagnostics-timing.js';

const hasEspeak = spawnSync('espeak-ng', ['--version']).status === 0;

describe('diagnostic thresholds of a bundle', () => {
  test('the default bundle ships every threshold, chosen on train/ folds', () => {
    const shipped = JSON.parse(fs.readFileSync(path.join('models/default', DIAGNOSTICS_FILE), 'utf8'));
    expect(Object.keys(shipped.thresholds).sort()).toEqual(Object.keys(DEFAULT_THRESHOLDS).sort());
    expect(shipped.chosenOn.data).toMatch(/train\//);
    expect(loadDiagnosticThresholds('models/default')).toEqual(shipped.thresholds);
  });

  test('a bundle without the file gets the defaults; a broken file refuses the bundle', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'speechmark-diag-'));
    try {
      expect(loadDiagnosticThresholds(dir)).toEqual(DEFAULT_THRESHOLDS);
      fs.writeFileSync(path.join(dir, DIAGNOSTICS_FILE), '{"thresholds": {"phoneError": "low"}}');
      expect(() => loadDiagnosticThresholds(dir)).toThrow(AppError);
      fs.writeFileSync(path.join(dir, DIAGNOSTICS_FILE), 'not json');
      expect(() => loadDiagnosticThresholds(dir)).toThrow(/not JSON/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('what was heard instead of a phone', () => {
  /** Posteriors [T, VOCAB], blank (index 0) everywhere but the given spikes: [frame, phone, p]. */
  function posteriors(T: number, spikes: [number, string, number][]): Float32Array {
    const post = new Float32Array(T * VOCAB);
    for (let t = 0; t < T; t++) post[t * VOCAB] = 1;
    for (const [t, phone, p] of spikes) {
      post[t * VOCAB + phoneId(phone) + 1] = p;
      post[t * VOCAB] = 1 - p;
    }
    return post;
  }
  const TH = { ...DEFAULT_THRESHOLDS, phoneError: 0.05 };
  /** Evidence for one word /TH IH NG K/ (THINK) with these phone evidences, nothing omitted. */
  function think(phones: Evidence['phones']): Evidence {
    return {
      phones, words: [0.9], wordFramesPerPhone: [3], frames: 12, gaps: [],
      spans: phones.map((_, i) => ({ start: 3 * i, end: 3 * i + 3 })),
    };
  }
  const WORDS = [{ text: 'THINK', phones: ['TH', 'IH1', 'NG', 'K'], source: 'dataset' as const }];

  test("a neighbour's spike next to a silent phone is not what was said instead", () => {
    // TH's frames are [3, 6); the previous phone spikes at frame 2, the next at frame 6.
    const post = posteriors(10, [[2, 'S', 0.9], [6, 'IH1', 0.95]]);
    const e = phoneEvidence(post, 10, { start: 3, end: 6 }, phoneId('TH') + 1);
    expect(e.canonical).toBe(0);
    expect(e.best).toBe(0);
  });

  test('another sound inside the phone\'s own frames is', () => {
    const post = posteriors(10, [[4, 'S', 0.8], [6, 'IH1', 0.95]]);
    expect(phoneEvidence(post, 10, { start: 3, end: 6 }, phoneId('TH') + 1)).toMatchObject({ best: expect.closeTo(0.8, 5), bestPhone: phoneId('S') });
  });

  test('substituted when another sound is heard at least as surely as a sound counts as heard, deleted when nothing is', () => {
    const heard = { canonical: 0.9, best: 0.01, bestPhone: phoneId('S') };
    const d = diagnose(think([
      { canonical: 0.01, best: 0.7, bestPhone: phoneId('S') }, // TH heard as S
      heard,
      { canonical: 0.01, best: 0.03, bestPhone: phoneId('N') }, // below phoneError: nothing there
      heard,
    ]), WORDS, TH, 1000);
    const [th, ih, ng] = d.words[0]!.phonemes;
    expect(th).toMatchObject({ substituted: true, deleted: false, produced: 'S', producedConfidence: 0.7 });
    expect(ih).toMatchObject({ substituted: false, deleted: false, produced: 'IH', producedConfidence: 0.9 });
    expect(ng).toMatchObject({ substituted: false, deleted: true, produced: null, producedConfidence: null });
    expect(d.words[0]!.errorType).toBe('MISPRONOUNCED');
  });
});

describe('Assessment.timeline codec', () => {
  const t = { pauses: [{ afterWordIndex: 1, startMs: 900, endMs: 1300 }], insertions: [{ afterWordIndex: null, startMs: 10, endMs: 300, phones: ['AH', 'M'] }] };
  const roundTrip = (x: Parameters<typeof encodeTimeline>[0]) => decodeTimeline(JSON.parse(JSON.stringify(encodeTimeline(x))));

  test('round-trips pauses, insertions and the pitch contour (to a tenth of a semitone); anything else reads as no timeline', () => {
    expect(roundTrip(t)).toEqual({ ...t, pitch: null });
    const pitch = { hopMs: 20, firstMs: 16, semitones: [null, 3.04, 3.16, -1.25, null] };
    expect(roundTrip({ ...t, pitch })).toEqual({ ...t, pitch: { ...pitch, semitones: [null, 3, 3.2, -1.2, null] } });
    expect(decodeTimeline(null)).toBeNull();
    expect(decodeTimeline({ v: 3, pauses: [], insertions: [] })).toBeNull();
    expect(decodeTimeline({ v: 1, pauses: [[1, 'a', 3]], insertions: [] })).toBeNull();
    // a contour that does not decode costs the intonation only
    expect(decodeTimeline({ v: 2, pauses: [[1, 900, 1300]], insertions: [], pitch: [20, 16, [1, 'x']] })).toEqual({ pauses: t.pauses, insertions: [], pitch: null });
    expect(decodeTimeline({ v: 2, pauses: [], insertions: [], pitch: [0, 16, []] })).toEqual({ pauses: [], insertions: [], pitch: null });
  });

  test('one decoding per stored value: the resolvers of one loaded row share it', () => {
    const stored = JSON.parse(JSON.stringify(encodeTimeline(t)));
    expect(decodeTimeline(stored)).toBe(decodeTimeline(stored));
    expect(decodeTimeline(JSON.parse(JSON.stringify(stored)))).not.toBe(decodeTimeline(stored));
  });

  test('a row written before pitch was kept (version 1) reads with pitch null', () => {
    const v1 = { v: 1, pauses: [[1, 900, 1300]], insertions: [[null, 10, 300, ['AH', 'M']]] };
    expect(decodeTimeline(v1)).toEqual({ ...t, pitch: null });
  });
});

describe('the eval helpers', () => {
  test('cutSpan removes the span and cross-fades the joint', () => {
    const s = new Float32Array(16000).map((_, i) => (i < 8000 ? 1 : -1));
    const out = cutSpan(s, 250, 500); // 4000 samples cut
    expect(out.length).toBe(16000 - 4000 - 160);
    expect(out[0]).toBe(1);
    expect(out.at(-1)).toBe(-1);
    // the 10 ms joint goes from one side to the other
    expect(out[4000 - 160]).toBeGreaterThan(0.9);
    expect(out[4000 - 1]).toBeLessThan(0.9);
  });

  test("espeak-ng's events give word and phoneme spans", () => {
    const words = knownBoundaries([
      { type: 'word', ms: 0, name: '' }, { type: 'phoneme', ms: 0, name: 'w' }, { type: 'phoneme', ms: 87, name: 'i:' },
      { type: 'word', ms: 139, name: '' }, { type: 'phoneme', ms: 194, name: 'k' }, { type: 'phoneme', ms: 246, name: 'O:' },
      { type: 'phoneme', ms: 481, name: 'l' }, { type: 'phoneme', ms: 520, name: '_:' }, { type: 'end', ms: 700, name: '' },
    ]);
    expect(words).toEqual([
      { startMs: 0, endMs: 139, phonemes: [{ startMs: 0, endMs: 87 }, { startMs: 87, endMs: 139 }] },
      { startMs: 139, endMs: 520, phonemes: [{ startMs: 194, endMs: 246 }, { startMs: 246, endMs: 481 }, { startMs: 481, endMs: 520 }] },
    ]);
  });
});

(hasEspeak ? describe : describe.skip)('word boundaries on speech synthesised by espeak-ng', () => {
  test('the median word boundary error of the real scorer is under 30 ms', async () => {
    const scorer = await Scorer.load('models/default', { intraOpNumThreads: 1 });
    try {
      const texts = ['WE CALL IT BEAR', 'I THINK THAT IS A GOOD IDEA', 'THE WEATHER IS VERY NICE TODAY', 'HE WENT TO THE PARK WITH HIS FRIENDS',
        'SHE LIKES TO READ BOOKS AT NIGHT', 'MY FATHER WORKS IN A BIG FACTORY'];
      const figures = await measureTiming(scorer, texts, () => undefined);
      expect(figures.sentences).toBeGreaterThanOrEqual(5);
      expect(figures.word_median_ms).toBeLessThan(30);
      expect(figures.word_p90_ms).toBeGreaterThanOrEqual(figures.word_median_ms);
    } finally {
      await scorer.release();
    }
  }, 120_000);
});
