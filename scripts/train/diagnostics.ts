/**
 * Choose the timing-and-miscue thresholds of a gop bundle (src/inference/gop/diagnostics.ts) on
 * train/ speaker folds, and write them with their cross-validated figures to <model>/diagnostics.json.
 *
 *   npx tsx scripts/train/diagnostics.ts [--model models/default] [--folds data/train-cache/folds.json] [--cache tmp/diagnostics-train.json] [--limit N]
 *
 * Cross-fitted like the heads' features: each train/ utterance is scored by the one recogniser that
 * did not hear it (folds.json, as recogniser.py writes it: utterance id -> fold). Every utterance is
 * scored whole and again with one word cut out (scripts/eval/diagnostics-omission.ts `cutSpan`).
 * - phoneError: SpeechOcean762's phone labels are the target (a phone whose experts' mean is below 1,
 *   i.e. most said "wrong or missing", is an error; the dataset's `mispronunciations` lists are empty
 *   here, so deleted vs substituted is not labelled and follows the recogniser). The threshold
 *   with the best F1 on the other folds is scored on the held-out fold.
 * - omission (two thresholds: evidence, and spike frames per phone): the cut words are the
 *   positives, every other word of the cut and uncut recordings a negative; the pair with the highest
 *   recall at a false OMITTED rate of at most 2% on the other folds is scored on the held-out fold.
 * The evidence is cached (--cache) so a second run only re-chooses. dev/ is never read.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { decodeAudio } from '../../src/audio/decode.js';
import { createSession } from '../../src/inference/session.js';
import { runAcoustic } from '../../src/inference/gop/engine.js';
import { DEFAULT_THRESHOLDS, diagnose, diagnosticEvidence, type DiagnosticThresholds } from '../../src/inference/gop/diagnostics.js';
import { DIAGNOSTICS_FILE } from '../../src/inference/gop/thresholds.js';
import { loadSplit } from '../eval/dataset.js';
import { cutSpan, pickWord } from '../eval/diagnostics-omission.js';
import type { ReferenceWord } from '../../src/types.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

interface Row {
  id: string;
  fold: number;
  /** per phone: canonical evidence, label */
  phones: [number, number][];
  /** per word: omission evidence whole; evidence after the cut */
  whole: number[];
  cutWord: number;
  cut: number[];
  /** per word, frames per phone of its spikes' span (whole; after the cut) */
  wholeFrames: number[];
  cutFrames: number[];
  /** insertions found with the default rule in the whole recording */
  insertions: number;
}

const modelDir = path.resolve(arg('model', 'models/default'));
const foldFile = path.resolve(arg('folds', 'data/train-cache/folds.json'));
const cacheFile = path.resolve(arg('cache', 'tmp/diagnostics-train.json'));
const limit = Number(arg('limit', '0'));
const ERROR_LABEL = 1.0;
const MAX_FALSE_OMITTED = 0.02;

/**
 * recogniser.py's speaker folds (it writes data/train-cache/folds.json while training); without
 * that file, the same split made again by Python's own seeded shuffle, exactly as recogniser.py does.
 */
function readFolds(): { folds: number; utterances: Record<string, number> } {
  if (fs.existsSync(foldFile)) return JSON.parse(fs.readFileSync(foldFile, 'utf8')) as ReturnType<typeof readFolds>;
  const manifest = JSON.parse(fs.readFileSync(path.join(modelDir, 'manifest.json'), 'utf8')) as { recognisers: number; training?: { seed?: number } };
  const program = [
    'import json, random, sys',
    "m = dict(l.split() for l in open(sys.argv[1]) if l.strip())",
    'speakers = sorted(set(m.values())); random.Random(int(sys.argv[2])).shuffle(speakers)',
    'fold = {s: i % int(sys.argv[3]) for i, s in enumerate(speakers)}',
    "print(json.dumps({'folds': int(sys.argv[3]), 'utterances': {u: fold[s] for u, s in m.items()}}))",
  ].join('\n');
  const out = execFileSync('/usr/bin/python3', ['-c', program, path.resolve('../shared/speechocean762/train/utt2spk'), String(manifest.training?.seed ?? 1), String(manifest.recognisers)], { encoding: 'utf8' });
  return JSON.parse(out) as ReturnType<typeof readFolds>;
}

async function collect(): Promise<Row[]> {
  if (fs.existsSync(cacheFile)) return JSON.parse(fs.readFileSync(cacheFile, 'utf8')) as Row[];
  const folds = readFolds();
  const manifest = JSON.parse(fs.readFileSync(path.join(modelDir, 'manifest.json'), 'utf8')) as { file: string; recognisers: number };
  const { session } = await createSession(path.join(modelDir, manifest.file), ['cpu'], { intraOpNumThreads: 1, log: () => undefined });
  const run = (feeds: Record<string, import('onnxruntime-node').Tensor>) => session.run(feeds);
  const utts = loadSplit(path.resolve('../shared/speechocean762/train'), limit);
  const rows: Row[] = [];
  const t0 = Date.now();
  for (const [n, u] of utts.entries()) {
    const fold = folds.utterances[u.id];
    if (fold === undefined) throw new Error(`utterance ${u.id} has no fold in ${foldFile}`);
    const words: ReferenceWord[] = u.labels.words.map((w) => ({ text: w.text, phones: w.phones, source: 'dataset' }));
    const audio = await decodeAudio(new Uint8Array(fs.readFileSync(u.audioPath)), { minSeconds: 0, maxSeconds: 60 });
    const evidenceOf = async (samples: Float32Array) => {
      const a = await runAcoustic(run, samples, manifest.recognisers);
      return diagnosticEvidence([a.logp[fold]!], a.frames, a.track, words);
    };
    const whole = await evidenceOf(audio.samples);
    const durationMs = Math.round(audio.samples.length / 16);
    const d = diagnose(whole, words, DEFAULT_THRESHOLDS, durationMs);
    const cutWord = words.length > 1 ? pickWord(u.id, words.length) : -1;
    const cutEv = cutWord < 0 ? null : await evidenceOf(cutSpan(audio.samples, d.words[cutWord]!.startMs, d.words[cutWord]!.endMs));
    const labels = u.labels.words.flatMap((w) => w['phones-accuracy']);
    rows.push({
      id: u.id, fold, phones: whole.phones.map((p, i) => [p.canonical, labels[i]!]), whole: whole.words, cutWord, cut: cutEv?.words ?? [], insertions: d.insertions.length,
      wholeFrames: whole.wordFramesPerPhone, cutFrames: cutEv?.wordFramesPerPhone ?? [],
    });
    if ((n + 1) % 250 === 0) console.log(`train: ${n + 1}/${utts.length} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  }
  await session.release();
  fs.mkdirSync(path.dirname(cacheFile), { recursive: true });
  fs.writeFileSync(cacheFile, JSON.stringify(rows));
  return rows;
}

/** Evidence thresholds: log-spaced, 0.0005 to 0.5 (errors' peak posteriors are small numbers). */
const GRID = Array.from({ length: 61 }, (_, i) => Number((0.0005 * 10 ** (i / 20)).toPrecision(2)));
const FRAMES_GRID = [1, 1.5, 2, 2.5, 3, 4, 6, 1000];
const r3 = (v: number) => Math.round(v * 1000) / 1000;

function phoneFigures(rows: Row[], t: number) {
  let tp = 0, fp = 0, fn = 0, n = 0;
  for (const r of rows) for (const [e, label] of r.phones) {
    n++;
    const flagged = e < t;
    const wrong = label < ERROR_LABEL;
    if (flagged && wrong) tp++;
    else if (flagged) fp++;
    else if (wrong) fn++;
  }
  const precision = tp / Math.max(1, tp + fp);
  const recall = tp / Math.max(1, tp + fn);
  return { f1: (2 * precision * recall) / Math.max(1e-9, precision + recall), precision, recall, flagged: (tp + fp) / n };
}

type Omission = [number, number];

function omissionFigures(rows: Row[], [t, frames]: Omission) {
  let pos = 0, caught = 0, neg = 0, falseNeg = 0;
  const omitted = (e: number, f: number) => e < t && f < frames;
  for (const r of rows) {
    if (r.cutWord < 0) continue;
    pos++;
    if (omitted(r.cut[r.cutWord]!, r.cutFrames[r.cutWord]!)) caught++;
    r.cut.forEach((e, i) => {
      if (i === r.cutWord) return;
      neg++;
      if (omitted(e, r.cutFrames[i]!)) falseNeg++;
    });
    r.whole.forEach((e, i) => {
      neg++;
      if (omitted(e, r.wholeFrames[i]!)) falseNeg++;
    });
  }
  return { recall: caught / pos, false_rate: falseNeg / neg };
}

function choosePhone(rows: Row[]): number {
  return GRID.reduce((best, t) => (phoneFigures(rows, t).f1 > phoneFigures(rows, best).f1 ? t : best), GRID[0]!);
}

function chooseOmission(rows: Row[]): Omission {
  let best: Omission = [GRID[0]!, FRAMES_GRID[0]!];
  let bestRecall = -1;
  for (const t of GRID) {
    for (const f of FRAMES_GRID) {
      const fig = omissionFigures(rows, [t, f]);
      if (fig.false_rate <= MAX_FALSE_OMITTED && fig.recall > bestRecall) [best, bestRecall] = [[t, f], fig.recall];
    }
  }
  return best;
}

/** Choose on all folds but f, score on f; then choose on every fold for the bundle. */
function crossValidate<T, F extends Record<string, number>>(rows: Row[], choose: (r: Row[]) => T, figures: (r: Row[], t: T) => F) {
  const folds = [...new Set(rows.map((r) => r.fold))].sort();
  const perFold = folds.map((f) => {
    const t = choose(rows.filter((r) => r.fold !== f));
    const held = figures(rows.filter((r) => r.fold === f), t);
    return { fold: f, threshold: t, ...Object.fromEntries(Object.entries(held).map(([k, v]) => [k, r3(v)])) };
  });
  const chosen = choose(rows);
  return { threshold: chosen, heldOutFolds: perFold, onAllTrain: Object.fromEntries(Object.entries(figures(rows, chosen)).map(([k, v]) => [k, r3(v)])) };
}

const rows = await collect();
const phone = crossValidate(rows, choosePhone, phoneFigures);
const omission = crossValidate(rows, chooseOmission, omissionFigures);
const thresholds: DiagnosticThresholds = {
  ...DEFAULT_THRESHOLDS, phoneError: phone.threshold, omission: omission.threshold[0], omissionFramesPerPhone: omission.threshold[1],
};
const out = {
  description: 'Timing and miscue thresholds of this bundle (src/inference/gop/diagnostics.ts), chosen on train/ speaker folds by scripts/train/diagnostics.ts; dev/ not read.',
  thresholds,
  chosenOn: {
    data: `SpeechOcean762 train/ (${rows.length} utterances), each scored by the recogniser that did not hear it`,
    phoneError: { target: `phone label < ${ERROR_LABEL}`, criterion: 'best F1', ...phone },
    omission: { target: 'one word cut out of each recording (its span from the whole recording)', criterion: `highest recall with false OMITTED rate <= ${MAX_FALSE_OMITTED} (threshold: [omission, omissionFramesPerPhone])`, ...omission },
    insertion: {
      rule: 'fixed (SpeechOcean762 has no insertion labels): insertionPhones, insertionMs',
      trainRecordingsWithInsertion: r3(rows.filter((r) => r.insertions > 0).length / rows.length),
    },
    pauseMs: 'fixed: 200 ms, the pause length the fluency features count (features.ts PAUSE_FRAMES)',
  },
};
fs.writeFileSync(path.join(modelDir, DIAGNOSTICS_FILE), JSON.stringify(out, null, 2) + '\n');
console.log(JSON.stringify(out, null, 2));
