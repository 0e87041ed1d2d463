/** scripts/eval/: the dataset reader (the dataset's own layout) and the speaker bootstrap. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CHILD_AGE, loadSplit, slicesOf } from '../../scripts/eval/dataset.js';
import { bootstrapCI, mse, pearson, speakerDraws } from '../../scripts/eval/stats.js';

const record = (acc: number) => ({
  text: 'WE CALL IT BEAR',
  accuracy: acc,
  completeness: 10,
  fluency: 8,
  prosodic: 8,
  total: acc,
  words: [{ text: 'WE', accuracy: acc, stress: 10, total: acc, phones: ['W', 'IY0'], 'phones-accuracy': [2, 1.5] }],
});

describe('loadSplit', () => {
  let root: string;
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'so762-'));
    const dir = path.join(root, 'test');
    fs.mkdirSync(path.join(root, 'audio'), { recursive: true });
    fs.mkdirSync(path.join(root, 'WAVE', 'SPEAKER0003'), { recursive: true });
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'scores.json'), JSON.stringify({ '000030012': record(7), '000920001': record(9) }));
    fs.writeFileSync(path.join(root, 'WAVE', 'SPEAKER0003', '000030012.WAV'), 'x');
    fs.writeFileSync(path.join(root, 'audio', '000920001.flac'), 'x');
    fs.writeFileSync(path.join(dir, 'wav.scp'), '000030012 WAVE/SPEAKER0003/000030012.WAV\n');
    fs.writeFileSync(path.join(dir, 'utt2spk'), '000030012 0003\n000920001 0092\n');
    fs.writeFileSync(path.join(dir, 'spk2age'), '0003\t6\n0092 25\n');
    fs.writeFileSync(path.join(dir, 'spk2gender'), '0003\tm\n0092\tf\n');
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  test('reads labels, wav.scp paths relative to the dataset root, ../audio, speakers, ages and genders', () => {
    const utts = loadSplit(path.join(root, 'test'));
    expect(utts.map((u) => u.id)).toEqual(['000030012', '000920001']);
    expect(utts[0]!.audioPath).toBe(path.join(root, 'WAVE', 'SPEAKER0003', '000030012.WAV'));
    expect(utts[1]!.audioPath).toBe(path.join(root, 'audio', '000920001.flac'));
    expect(utts.map((u) => [u.speaker, u.age, u.gender])).toEqual([
      ['0003', 6, 'm'],
      ['0092', 25, 'f'],
    ]);
    expect(utts.map(slicesOf)).toEqual([
      ['child', 'male'],
      ['adult', 'female'],
    ]);
    expect(CHILD_AGE).toBe(18);
    expect(utts[0]!.labels.words[0]!['phones-accuracy']).toEqual([2, 1.5]);
  });

  test('names the missing audio', () => {
    fs.writeFileSync(path.join(root, 'test', 'scores.json'), JSON.stringify({ '000030099': record(5) }));
    expect(() => loadSplit(path.join(root, 'test'))).toThrow(/no audio for utterance 000030099/);
  });
});

describe('speaker bootstrap', () => {
  // 10 speakers x 20 items, prediction = label + noise
  const gold: number[] = [];
  const pred: number[] = [];
  const spk: number[] = [];
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  for (let s = 0; s < 10; s++) {
    for (let i = 0; i < 20; i++) {
      const g = rnd() * 10;
      gold.push(g);
      pred.push(g + (rnd() - 0.5) * 6);
      spk.push(s);
    }
  }

  test('interval brackets the point estimate and is reproducible for a seed', () => {
    const r = pearson(pred, gold);
    const ci = bootstrapCI(pred, gold, spk, speakerDraws(10, 500, 1));
    expect(ci.pcc[0]).toBeLessThan(r);
    expect(ci.pcc[1]).toBeGreaterThan(r);
    expect(ci.mse[0]).toBeLessThan(mse(pred, gold));
    expect(ci.mse[1]).toBeGreaterThan(mse(pred, gold));
    expect(bootstrapCI(pred, gold, spk, speakerDraws(10, 500, 1))).toEqual(ci);
  });

  test('pearson is NaN when one side is constant', () => {
    expect(pearson([1, 1, 1], [1, 2, 3])).toBeNaN();
    expect(pearson([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12);
  });
});
