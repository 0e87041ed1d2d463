/**
 * `npm run eval -- --data DIR --diagnostics --json`, run as a user runs it, on a split in the
 * dataset's layout built from espeak-ng speech (so it runs without ../shared): the wrong-text
 * figures come out under the documented keys, and the ROC AUC is computed the documented way.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { rocAuc } from '../../scripts/eval/roc.js';
import { wrongTexts } from '../../scripts/eval/wrong-text-pairs.js';
import { analyzeReferenceText } from '../../src/text/reference.js';
import { espeakWav, hasEspeak } from '../support/espeak.js';

describe('rocAuc', () => {
  test('1 when every positive outranks every negative, 0.5 for ties, the rank-sum share otherwise', () => {
    expect(rocAuc([0.9, 0.8], [0.1, 0.2])).toBe(1);
    expect(rocAuc([0.5, 0.5], [0.5])).toBe(0.5);
    expect(rocAuc([0.9, 0.3], [0.5, 0.1])).toBe(0.75);
  });
});

describe('wrongTexts', () => {
  const all = [
    { words: ['A', 'B'], phones: 10 },
    { words: ['A', 'B'], phones: 10 }, // same text, another speaker
    { words: ['C'], phones: 11 },
    { words: ['D'], phones: 40 },
    { words: ['E'], phones: 9 },
  ];
  test('picks other texts of similar length, never the recording\'s own wording, reproducibly', () => {
    const picked = wrongTexts(all, 0, 2, 'utt-0');
    expect([...picked].sort()).toEqual([2, 4]);
    expect(wrongTexts(all, 0, 2, 'utt-0')).toEqual(picked);
  });
  test('any length when asked', () => {
    expect(wrongTexts(all, 0, 3, 'utt-0', Infinity).sort()).toEqual([2, 3, 4]);
  });
});

const SENTENCES = [
  'We will see you tomorrow at the stream',
  'The quick brown fox jumps over the lazy dog',
  'Please close the window before you go to bed',
  'My brother likes to play football after school',
];

(hasEspeak ? describe : describe.skip)('npm run eval -- --diagnostics on a split in the dataset layout', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'so762-diag-'));
    const scores: Record<string, unknown> = {};
    const scp: string[] = [];
    const spk: string[] = [];
    SENTENCES.forEach((text, i) => {
      const id = `00${i + 1}0000${i + 1}`;
      const words = analyzeReferenceText(text).map((w) => ({
        text: w.text, accuracy: 8, stress: 10, total: 8, phones: w.phones, 'phones-accuracy': w.phones.map(() => 2),
      }));
      scores[id] = { text: text.toUpperCase(), accuracy: 8, completeness: 10, fluency: 8, prosodic: 8, total: 8, words };
      fs.writeFileSync(path.join(dir, `${id}.wav`), espeakWav(text));
      scp.push(`${id} ${id}.wav`);
      spk.push(`${id} 000${i + 1}`);
    });
    fs.writeFileSync(path.join(dir, 'scores.json'), JSON.stringify(scores));
    fs.writeFileSync(path.join(dir, 'wav.scp'), `${scp.join('\n')}\n`);
    fs.writeFileSync(path.join(dir, 'utt2spk'), `${spk.join('\n')}\n`);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('reports the wrong-text AUC and the shares flagged and caught at the shipped threshold', async () => {
    const { stdout } = await promisify(execFile)('npx', ['tsx', 'scripts/eval.ts', '--data', dir, '--diagnostics', '--json', '--draws', '20'], {
      maxBuffer: 1 << 24,
    });
    const out = JSON.parse(stdout) as Record<string, number>;
    expect(out.utterances).toBe(SENTENCES.length);
    expect(out['diagnostics.wrong_text.pairs']).toBe(SENTENCES.length);
    // each synthetic recording matches its own sentence far better than another one
    expect(out['diagnostics.wrong_text.auc']).toBe(1);
    expect(out['diagnostics.wrong_text.true_pairs_flagged']).toBe(0);
    expect(out['diagnostics.wrong_text.wrong_pairs_caught']).toBe(1);
    // every synthetic recording reads its whole sentence (completeness 10)
    expect(out['diagnostics.wrong_text.read_true_pairs_flagged']).toBe(0);
    expect(out['diagnostics.wrong_text.unread_true_pairs']).toBe(0);
    expect(out['diagnostics.wrong_text.unread_true_pairs_flagged']).toBeNull();
    // Omissions: every recording once with a word cut out; shares are fractions.
    expect(out['diagnostics.omission.recordings']).toBe(SENTENCES.length);
    for (const k of ['recall', 'false_rate', 'false_rate_uncut']) {
      expect(out[`diagnostics.omission.${k}`]).toBeGreaterThanOrEqual(0);
      expect(out[`diagnostics.omission.${k}`]).toBeLessThanOrEqual(1);
    }
    // Timing against espeak-ng's own word and phoneme positions.
    expect(out['diagnostics.timing.sentences']).toBeGreaterThan(0);
    expect(out['diagnostics.timing.word_median_ms']).toBeGreaterThanOrEqual(0);
    expect(out['diagnostics.timing.word_median_ms']).toBeLessThan(200);
    expect(out['diagnostics.timing.word_p90_ms']).toBeGreaterThanOrEqual(out['diagnostics.timing.word_median_ms']!);
  }, 300_000);

  test('a model without timing or a content match reports every diagnostics key as null, not a crash', async () => {
    const { stdout } = await promisify(execFile)('npx', [
      'tsx', 'scripts/eval.ts', '--data', dir, '--diagnostics', '--json', '--draws', '20', '--model', 'models/so762-scorer-1.1.0',
    ], { maxBuffer: 1 << 24 });
    const out = JSON.parse(stdout) as Record<string, number | null>;
    expect(out.utterances).toBe(SENTENCES.length);
    for (const key of ['wrong_text.auc', 'omission.recall', 'omission.false_rate', 'timing.word_median_ms']) {
      expect([key, out[`diagnostics.${key}`]]).toEqual([key, null]);
    }
  }, 300_000);
});
