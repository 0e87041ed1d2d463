/**
 * Score a SpeechOcean762 split through the server's code path (decodeAudio + Scorer) and report
 * Pearson correlation with the human labels per level and aspect, beside GOPT's published row.
 *
 *   npx tsx scripts/eval.ts [--split dev] [--data ../shared/speechocean762] [--model models/default]
 *                           [--providers cpu] [--limit N] [--json]
 *
 * Canonical phones come from the split's scores.json (so predictions align one-to-one with the
 * labelled phones). PCC is reported on the integer/1-decimal labels the API returns ("api") and on
 * the continuous model outputs ("raw", comparable with published figures).
 */
import fs from 'node:fs';
import path from 'node:path';
import { decodeAudio } from '../src/audio/decode.js';
import { Scorer } from '../src/inference/scorer.js';
import type { ReferenceWord } from '../src/types.js';

interface LabelWord {
  text: string;
  accuracy: number;
  stress: number;
  total: number;
  phones: string[];
  'phones-accuracy': number[];
}
interface LabelUtt {
  text: string;
  accuracy: number;
  completeness: number;
  fluency: number;
  prosodic: number;
  total: number;
  words: LabelWord[];
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] && !process.argv[i + 1]!.startsWith('--') ? process.argv[i + 1]! : fallback;
}
const flag = (name: string): boolean => process.argv.includes(`--${name}`);

/** Published GOPT results (Gong et al., 2022), SpeechOcean762 test split, released labels. */
const GOPT: Record<string, number> = {
  phone_accuracy: 0.612,
  word_accuracy: 0.533,
  word_stress: 0.291,
  word_total: 0.549,
  utterance_accuracy: 0.714,
  utterance_completeness: 0.155,
  utterance_fluency: 0.753,
  utterance_prosody: 0.76,
  utterance_total: 0.742,
};
const ROWS = Object.keys(GOPT);

export function pearson(a: readonly number[], b: readonly number[]): number {
  const n = a.length;
  if (n < 2) return NaN;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : NaN;
}

async function main(): Promise<void> {
  const split = arg('split', 'dev');
  const dataDir = path.resolve(arg('data', '../shared/speechocean762'));
  const modelDir = path.resolve(arg('model', 'models/default'));
  const providers = arg('providers', 'cpu').split(',');
  const limit = Number(arg('limit', '0'));
  const asJson = flag('json');
  const log = (s: string) => {
    if (!asJson) console.log(s);
  };

  const labels = JSON.parse(fs.readFileSync(path.join(dataDir, split, 'scores.json'), 'utf8')) as Record<string, LabelUtt>;
  let ids = Object.keys(labels).sort();
  if (limit > 0) ids = ids.slice(0, limit);

  const scorer = await Scorer.load(modelDir, { providers, log: (l) => (asJson ? console.error(l) : console.log(l)) });
  await scorer.warmUp();
  log(`model ${scorer.modelName} ${scorer.modelVersion} on ${scorer.executionProvider}; ${ids.length} utterances of ${split}`);

  type Series = Record<string, { pred: number[]; raw: number[]; gold: number[] }>;
  const s: Series = {};
  for (const r of ROWS) s[r] = { pred: [], raw: [], gold: [] };
  const push = (key: string, pred: number, raw: number, gold: number) => {
    s[key]!.pred.push(pred);
    s[key]!.raw.push(raw);
    s[key]!.gold.push(gold);
  };
  let audioSeconds = 0;
  let scoreSeconds = 0;
  let decodeSeconds = 0;
  const t0 = performance.now();
  for (const [n, id] of ids.entries()) {
    const lab = labels[id]!;
    const bytes = new Uint8Array(fs.readFileSync(path.join(dataDir, 'audio', `${id}.flac`)));
    const td = performance.now();
    const audio = await decodeAudio(bytes, { maxSeconds: 60, minSeconds: 0.3 });
    const ts = performance.now();
    const words: ReferenceWord[] = lab.words.map((w) => ({ text: w.text, phones: w.phones, source: 'dataset' }));
    const { labels: out, raw } = await scorer.scoreDetailed(audio.samples, words);
    const te = performance.now();
    decodeSeconds += (ts - td) / 1000;
    scoreSeconds += (te - ts) / 1000;
    audioSeconds += audio.durationSeconds;

    const sent = out.sentence;
    const gold = [lab.accuracy, lab.completeness, lab.fluency, lab.prosodic, lab.total];
    const pred = [sent.accuracy, sent.completeness, sent.fluency, sent.prosody, sent.total];
    const rawU = [raw.utterance[0]!, raw.utterance[3]!, raw.utterance[1]!, raw.utterance[2]!, raw.utterance[4]!];
    ['utterance_accuracy', 'utterance_completeness', 'utterance_fluency', 'utterance_prosody', 'utterance_total'].forEach((k, i) =>
      push(k, pred[i]!, rawU[i]!, gold[i]!),
    );
    let k = 0;
    lab.words.forEach((w, wi) => {
      const ow = out.words[wi]!;
      const rw = raw.words[wi]!;
      push('word_accuracy', ow.accuracy, rw[0]!, w.accuracy);
      push('word_stress', ow.stress, rw[1]!, w.stress);
      push('word_total', ow.total, rw[2]!, w.total);
      w['phones-accuracy'].forEach((g, j) => {
        push('phone_accuracy', ow.phonemes[j]!.accuracy, raw.phones[k]!, g);
        k++;
      });
    });
    if (!asJson && (n + 1) % 100 === 0) log(`  ${n + 1}/${ids.length}`);
  }
  const wall = (performance.now() - t0) / 1000;
  const mse = (a: number[], b: number[]) => a.reduce((acc, v, i) => acc + (v - b[i]!) ** 2, 0) / a.length;
  const result = {
    split,
    utterances: ids.length,
    phones: s.phone_accuracy!.gold.length,
    words: s.word_accuracy!.gold.length,
    model: { name: scorer.modelName, version: scorer.modelVersion, provider: scorer.executionProvider },
    pcc: Object.fromEntries(
      ROWS.map((r) => [r, { api: pearson(s[r]!.pred, s[r]!.gold), raw: pearson(s[r]!.raw, s[r]!.gold), gopt: GOPT[r] }]),
    ),
    phoneMse: { api: mse(s.phone_accuracy!.pred, s.phone_accuracy!.gold), raw: mse(s.phone_accuracy!.raw, s.phone_accuracy!.gold), gopt: 0.085 },
    timing: {
      audioSeconds,
      decodeSeconds,
      scoreSeconds,
      wallSeconds: wall,
      /** model time / audio time (decode excluded) */
      rtf: scoreSeconds / audioSeconds,
      rtfWithDecode: (scoreSeconds + decodeSeconds) / audioSeconds,
    },
  };
  await scorer.release();
  if (asJson) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  const f = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '  n/a');
  log('');
  log(`Pearson correlation on SpeechOcean762 ${split} (${result.utterances} utterances, ${result.words} words, ${result.phones} phones)`);
  log('| level | aspect | PCC (API labels) | PCC (raw outputs) | GOPT (published, test) |');
  log('| --- | --- | --- | --- | --- |');
  for (const r of ROWS) {
    const [level, ...rest] = r.split('_');
    const p = result.pcc[r]!;
    log(`| ${level} | ${rest.join(' ')} | ${f(p.api)} | ${f(p.raw)} | ${f(p.gopt)} |`);
  }
  log(`| phone | MSE | ${f(result.phoneMse.api)} | ${f(result.phoneMse.raw)} | 0.085 |`);
  log('n/a: undefined because one side is constant (e.g. every word\'s stress decoded as 10).');
  log('');
  log(
    `real-time factor (${scorer.executionProvider}): model ${result.timing.rtf.toFixed(4)}, with decode ${result.timing.rtfWithDecode.toFixed(4)} ` +
      `(${result.timing.audioSeconds.toFixed(0)} s of audio scored in ${result.timing.scoreSeconds.toFixed(1)} s)`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
