/**
 * The writer against human raters on train/ out-of-fold predictions (never dev/): for every train/
 * utterance, labels as the server decodes them from the out-of-fold predictions that
 * scripts/train/rationale_calibration.py wrote, the rationale generateRationale writes from them,
 * and that rationale checked against the human labels (and against the model's own).
 *
 *   npx tsx scripts/train/rationale-measure.ts [--cache data/train-cache] [--calibration models/default/rationale-calibration.json]
 *          [--sweep]   # also: each level's hedgeFrom on a .05 grid, chosen on 4 speaker folds and scored on the 5th
 *                      # (the largest min(precision / goal, recall / goal): goals .90 / .60 words, .80 / .40 phonemes);
 *                      # assertFrom is the level's precision goal (never below hedgeFrom): hedged below it
 *          [--write]   # with --sweep: store the policy chosen on all folds in the calibration file
 *
 * Pooled figures: words / phonemes criticised, precision (criticised mentions a rater's labels support /
 * criticised mentions; the writer praises no phoneme) and recall (human
 * error positions criticised / human error positions), and the share of rationales flagged
 * SENTIMENT_MISMATCH and MISSED_ERRORS against the human labels, and with any flag against the
 * model's own labels.
 */
import fs from 'node:fs';
import path from 'node:path';
import { checkRationale } from '../../src/rationale/check.js';
import { generateRationale } from '../../src/rationale/generate.js';
import { parseRationaleCalibration, type RationaleCalibration } from '../../src/rationale/calibration.js';
import { speechOceanToLabels } from '../../src/rationale/speechocean.js';
import type { AssessmentLabels } from '../../src/types.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

interface Oof {
  speaker: string;
  fold: number;
  sentence: { accuracy: number; fluency: number; prosody: number; completeness: number; total: number };
  words: number[];
  phones: number[];
}

const cache = path.resolve(arg('cache', 'data/train-cache'));
const calibrationFile = path.resolve(arg('calibration', 'models/default/rationale-calibration.json'));
const oof = JSON.parse(fs.readFileSync(path.join(cache, 'rationale-oof.json'), 'utf8')) as Record<string, Oof>;
const scores = JSON.parse(fs.readFileSync(path.resolve(arg('data', '../shared/speechocean762'), 'train/scores.json'), 'utf8')) as Record<string, unknown>;
const baseCalibration = JSON.parse(fs.readFileSync(calibrationFile, 'utf8')) as Record<string, any>;

const round = (v: number): number => Math.min(10, Math.max(0, Math.round(v)));

/** What src/inference/labels.ts decodeLabels makes of the predictions. */
function modelLabels(human: AssessmentLabels, p: Oof): AssessmentLabels {
  let k = 0;
  const s = p.sentence;
  return {
    sentence: { accuracy: round(s.accuracy), fluency: round(s.fluency), prosody: round(s.prosody), completeness: round(s.completeness), total: round(s.total) },
    words: human.words.map((w, i) => ({
      text: w.text, accuracy: round(p.words[i]!), stress: 10, total: round(p.words[i]!),
      phonemes: w.phonemes.map((ph) => ({ symbol: ph.symbol, accuracy: Math.round(p.phones[k++]! * 10) / 10 })),
    })),
    continuous: { sentence: s, words: p.words.map((a) => ({ accuracy: a, total: a })) },
  };
}

interface Row {
  fold: number;
  human: AssessmentLabels;
  model: AssessmentLabels;
}
const rows: Row[] = Object.entries(oof).map(([id, p]) => {
  const human = speechOceanToLabels(scores[id]);
  return { fold: p.fold, human, model: modelLabels(human, p) };
});

interface Figures {
  n: number;
  wordsPrecision: number;
  wordsRecall: number;
  phonemesPrecision: number;
  phonemesRecall: number;
  sentimentMismatch: number;
  missedErrors: number;
  selfFlagged: number;
  lines: number;
}

type Tally = Record<'wm' | 'wa' | 'we' | 'wc' | 'pm' | 'pa' | 'pe' | 'pc' | 'sm' | 'me' | 'sf' | 'lines' | 'n', number>;
const emptyTally = (): Tally => ({ wm: 0, wa: 0, we: 0, wc: 0, pm: 0, pa: 0, pe: 0, pc: 0, sm: 0, me: 0, sf: 0, lines: 0, n: 0 });

/** The raw counts behind the figures (they add across folds, so the sweep writes each rationale once per policy). */
function tally(rs: Row[], c: RationaleCalibration, self = false): Tally {
  const t = emptyTally();
  for (const r of rs) {
    const text = generateRationale(r.model, { calibration: c });
    t.n++;
    t.lines += text.split('\n').length;
    const h = checkRationale(text, r.human);
    // words criticised only: praise (written only when nothing is criticised) is taken out
    const praisedAgree = h.words.praised.filter((k) => r.human.words.every((w) => w.text !== k || w.accuracy >= 8)).length;
    t.wm += h.words.criticised.length; t.wa += h.words.agreeing - praisedAgree; t.we += h.words.errorTokens; t.wc += h.words.errorTokensCriticised;
    t.pm += h.phonemes.mentions; t.pa += h.phonemes.agreeing; t.pe += h.phonemes.errorTokens; t.pc += h.phonemes.errorTokensCriticised;
    if (h.flags.includes('SENTIMENT_MISMATCH')) t.sm++;
    if (h.flags.includes('MISSED_ERRORS')) t.me++;
    if (self && checkRationale(text, r.model).flags.length > 0) t.sf++;
  }
  return t;
}

function addTallies(ts: Tally[]): Tally {
  const sum = emptyTally();
  for (const t of ts) for (const k of Object.keys(sum) as (keyof Tally)[]) sum[k] += t[k];
  return sum;
}

function figures(t: Tally, self = false): Figures {
  const r3 = (v: number): number => Math.round(v * 1000) / 1000;
  return {
    n: t.n, wordsPrecision: r3(t.wa / t.wm), wordsRecall: r3(t.wc / t.we), phonemesPrecision: r3(t.pa / t.pm), phonemesRecall: r3(t.pc / t.pe),
    sentimentMismatch: r3(t.sm / t.n), missedErrors: r3(t.me / t.n), selfFlagged: self ? r3(t.sf / t.n) : NaN, lines: r3(t.lines / t.n),
  };
}

function measure(rs: Row[], c: RationaleCalibration, self = false): Figures {
  return figures(tally(rs, c, self), self);
}

function withPolicy(word: { assertFrom: number; hedgeFrom: number }, phoneme: { assertFrom: number; hedgeFrom: number }): RationaleCalibration {
  return parseRationaleCalibration({ ...baseCalibration, word: { ...baseCalibration.word, policy: word }, phoneme: { ...baseCalibration.phoneme, policy: phoneme } });
}

const shipped = parseRationaleCalibration(baseCalibration);
console.log('shipped policy', JSON.stringify({ word: baseCalibration.word.policy, phoneme: baseCalibration.phoneme.policy }));
console.log('train/ OOF, all speakers:', JSON.stringify(measure(rows, shipped, true)));

if (process.argv.includes('--sweep')) {
  type Level = 'words' | 'phonemes';
  type Policy = { assertFrom: number; hedgeFrom: number };
  const goals = { words: { precision: 0.9, recall: 0.6 }, phonemes: { precision: 0.8, recall: 0.4 } } as const;
  /**
   * The sweep chooses what is mentioned (hedgeFrom, on a .05 grid); how firmly follows from it: a
   * criticism is asserted only where a rater agrees at least as often as the level's precision goal
   * asks (P(error) >= .90 words, .80 phonemes), and hedged below that.
   */
  const policyFor = (level: Level, hedgeFrom: number): Policy => ({ assertFrom: Math.max(hedgeFrom, goals[level].precision), hedgeFrom });
  const grid = Array.from({ length: 15 }, (_, i) => Math.round((0.2 + 0.05 * i) * 100) / 100);
  /**
   * How far a policy goes towards the two goals at once: the smaller of precision / its goal
   * and recall / its goal. Smooth in both, unlike the earlier "the most recall at the precision
   * target" (which jumped from recall .58 to .14 when a fold set first reached the target).
   */
  const objective = (f: Figures, level: Level): number => {
    const [p, r] = level === 'words' ? [f.wordsPrecision, f.wordsRecall] : [f.phonemesPrecision, f.phonemesRecall];
    const g = goals[level];
    return Number.isNaN(p) || Number.isNaN(r) ? -1 : Math.min(p / g.precision, r / g.recall);
  };
  /** The same, from the counts (unrounded, so that only truly equal policies tie). */
  const objectiveOf = (t: Tally, level: Level): number => {
    const [p, r] = level === 'words' ? [t.wa / t.wm, t.wc / t.we] : [t.pa / t.pm, t.pc / t.pe];
    const g = goals[level];
    return Number.isFinite(p) && Number.isFinite(r) ? Math.min(p / g.precision, r / g.recall) : -1;
  };
  const folds = [0, 1, 2, 3, 4];
  const byFold = folds.map((k) => rows.filter((r) => r.fold === k));
  const tallies = new Map<string, Tally[]>();
  /** Per fold, cached: the figures of a (word, phoneme) policy pair. */
  const talliesFor = (word: Policy, phoneme: Policy): Tally[] => {
    const key = JSON.stringify([word, phoneme]);
    if (!tallies.has(key)) tallies.set(key, byFold.map((rs) => tally(rs, withPolicy(word, phoneme))));
    return tallies.get(key)!;
  };
  const score = (word: Policy, phoneme: Policy, level: Level, use: number[]): number =>
    objectiveOf(addTallies(use.map((k) => talliesFor(word, phoneme)[k]!)), level);
  /** The best hedgeFrom for a level; a tie goes to the higher (stricter) one. */
  const bestFor = (level: Level, scoreOf: (p: Policy) => number): Policy =>
    grid.map((h) => policyFor(level, h)).map((p) => ({ p, s: scoreOf(p) }))
      .sort((a, b) => b.s - a.s || b.p.hedgeFrom - a.p.hedgeFrom)[0]!.p;
  /**
   * The levels interact a little (a sound criticised in a word counts where the checker reads that
   * word), so each level is chosen with the other held at its current choice, from a fixed start
   * (hedgeFrom .5 for both, never the file's policy, which was chosen on every fold), until neither moves.
   */
  const choose = (use: number[]) => {
    let word = policyFor('words', 0.5);
    let phoneme = policyFor('phonemes', 0.5);
    for (let round = 1; ; round++) {
      const w = bestFor('words', (x) => score(x, phoneme, 'words', use));
      const p = bestFor('phonemes', (x) => score(w, x, 'phonemes', use));
      const moved = JSON.stringify([w, p]) !== JSON.stringify([word, phoneme]);
      [word, phoneme] = [w, p];
      if (!moved) break;
      if (round === 6) {
        console.log(`  (folds ${use.join(',')}: not settled after ${round} rounds; keeping the last choice)`);
        break;
      }
    }
    return { word, phoneme };
  };
  for (const k of folds) {
    const chosen = choose(folds.filter((j) => j !== k));
    const f = measure(byFold[k]!, withPolicy(chosen.word, chosen.phoneme));
    console.log(`fold ${k} held out: chosen ${JSON.stringify(chosen)} ->`, JSON.stringify(f),
      `goal fractions words ${objective(f, 'words').toFixed(3)} phonemes ${objective(f, 'phonemes').toFixed(3)}`);
  }
  const all = choose(folds);
  // the neighbourhood of the choice: each level's hedgeFrom with the other level at its choice
  for (const level of ['words', 'phonemes'] as const) {
    for (const h of grid) {
      const [w, p] = level === 'words' ? [policyFor(level, h), all.phoneme] : [all.word, policyFor(level, h)];
      const f = figures(addTallies(talliesFor(w, p)));
      const [pr, rc] = level === 'words' ? [f.wordsPrecision, f.wordsRecall] : [f.phonemesPrecision, f.phonemesRecall];
      console.log(`  ${level} hedgeFrom ${h}: precision ${pr} recall ${rc} goal fraction ${objective(f, level).toFixed(3)}`);
    }
  }
  const fAll = measure(rows, withPolicy(all.word, all.phoneme), true);
  console.log('chosen on all folds', JSON.stringify(all), JSON.stringify(fAll),
    `goal fractions words ${objective(fAll, 'words').toFixed(3)} phonemes ${objective(fAll, 'phonemes').toFixed(3)}`);
  if (process.argv.includes('--write')) {
    baseCalibration.word.policy = all.word;
    baseCalibration.phoneme.policy = all.phoneme;
    fs.writeFileSync(calibrationFile, `${JSON.stringify(baseCalibration, null, 1)}\n`);
    console.log(`wrote ${calibrationFile}`);
  }
}
