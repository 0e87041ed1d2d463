/**
 * The writer against human raters on train/ out-of-fold predictions (never dev/): for every train/
 * utterance, labels as the server decodes them from the out-of-fold predictions that
 * scripts/train/rationale_calibration.py wrote, the rationale generateRationale writes from them,
 * and that rationale checked against the human labels (and against the model's own).
 *
 *   npx tsx scripts/train/rationale-measure.ts [--cache data/train-cache] [--calibration models/default/rationale-calibration.json]
 *          [--sweep]   # also: every token policy on a grid, chosen on 4 speaker folds and scored on the 5th
 *                      # (the most recall at the precision target, .90 words / .80 phonemes; F1 where none reaches it)
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

function measure(rs: Row[], c: RationaleCalibration, self = false): Figures {
  const t = { wm: 0, wa: 0, we: 0, wc: 0, pm: 0, pa: 0, pe: 0, pc: 0, sm: 0, me: 0, sf: 0, lines: 0 };
  for (const r of rs) {
    const text = generateRationale(r.model, { calibration: c });
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
  const n = rs.length;
  const r3 = (v: number): number => Math.round(v * 1000) / 1000;
  return {
    n, wordsPrecision: r3(t.wa / t.wm), wordsRecall: r3(t.wc / t.we), phonemesPrecision: r3(t.pa / t.pm), phonemesRecall: r3(t.pc / t.pe),
    sentimentMismatch: r3(t.sm / n), missedErrors: r3(t.me / n), selfFlagged: self ? r3(t.sf / n) : NaN, lines: r3(t.lines / n),
  };
}

function withPolicy(word: { assertFrom: number; hedgeFrom: number }, phoneme: { assertFrom: number; hedgeFrom: number }): RationaleCalibration {
  return parseRationaleCalibration({ ...baseCalibration, word: { ...baseCalibration.word, policy: word }, phoneme: { ...baseCalibration.phoneme, policy: phoneme } });
}

const shipped = parseRationaleCalibration(baseCalibration);
console.log('shipped policy', JSON.stringify({ word: baseCalibration.word.policy, phoneme: baseCalibration.phoneme.policy }));
console.log('train/ OOF, all speakers:', JSON.stringify(measure(rows, shipped, true)));

if (process.argv.includes('--sweep')) {
  const grid = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8];
  const pairs = grid.flatMap((a) => grid.filter((h) => h <= a).map((h) => ({ assertFrom: a, hedgeFrom: h })));
  /** Words and phonemes are chosen apart (each level's figures depend on its own policy only). */
  const objective = (f: Figures, level: 'words' | 'phonemes'): number => {
    const [p, r, target] = level === 'words' ? [f.wordsPrecision, f.wordsRecall, 0.9] : [f.phonemesPrecision, f.phonemesRecall, 0.8];
    // the recall at the target precision; where no policy reaches it, F1
    return p >= target ? 2 + r : (2 * p * r) / (p + r || 1);
  };
  const choose = (rs: Row[]) => {
    const fixedPh = baseCalibration.phoneme.policy;
    const fixedW = baseCalibration.word.policy;
    const bestW = pairs.map((w) => ({ w, f: measure(rs, withPolicy(w, fixedPh)) })).sort((a, b) => objective(b.f, 'words') - objective(a.f, 'words'))[0]!;
    const bestP = pairs.map((p) => ({ p, f: measure(rs, withPolicy(fixedW, p)) })).sort((a, b) => objective(b.f, 'phonemes') - objective(a.f, 'phonemes'))[0]!;
    return { word: bestW.w, phoneme: bestP.p };
  };
  for (let k = 0; k < 5; k++) {
    const chosen = choose(rows.filter((r) => r.fold !== k));
    console.log(`fold ${k} held out: chosen ${JSON.stringify(chosen)} ->`, JSON.stringify(measure(rows.filter((r) => r.fold === k), withPolicy(chosen.word, chosen.phoneme))));
  }
  const all = choose(rows);
  console.log('chosen on all folds', JSON.stringify(all), JSON.stringify(measure(rows, withPolicy(all.word, all.phoneme), true)));
  if (process.argv.includes('--write')) {
    baseCalibration.word.policy = all.word;
    baseCalibration.phoneme.policy = all.phoneme;
    fs.writeFileSync(calibrationFile, `${JSON.stringify(baseCalibration, null, 1)}\n`);
    console.log(`wrote ${calibrationFile}`);
  }
}
