/**
 * Stage 2 of the GOP bundle's training: run the exported acoustic graph on every train/ and dev/
 * utterance with onnxruntime-node and compute the heads' features with the server's own code
 * (src/inference/gop/features.ts), so the heads are fitted on exactly what they see in service.
 *
 *   npx tsx scripts/train/gop-features.ts [--cache data/train-cache] [--acoustic data/train-cache/gop/acoustic.onnx] [--splits train,dev]
 *
 * Train utterances get features from the one recogniser that did not hear them (folds.json, written
 * by recogniser.py); dev utterances from every recogniser (the serving path averages over them).
 * With --native (default models/default/native.onnx; '' for none) the phone rows end with the native-English
 * model's columns (src/inference/gop/native.ts), and with --triphones (default
 * models/default/native-triphones.u16; '' for none) and a graph exported --context-dependent, its
 * CONTEXT_PHONE_FEATURES after them (src/inference/gop/native-cd.ts), computed as the server does.
 * Writes <cache>/gop/<split>.{phone,word,utterance}.f32 (row-major float32), the utterance columns measured but not
 * in the heads' contract in <split>.utterance_candidates.f32 (features.ts CANDIDATE_UTTERANCE_FEATURES), and <split>.meta.json
 * (feature names, and per row: utterance index, recogniser, labels).
 */
import fs from 'node:fs';
import path from 'node:path';
import { createSession } from '../../src/inference/session.js';
import { runAcoustic } from '../../src/inference/gop/engine.js';
import { CANDIDATE_UTTERANCE_FEATURES, gopFeatures, PHONE_FEATURES, RELATIVE_STRESS_FEATURES, UTTERANCE_FEATURES, WORD_FEATURES } from '../../src/inference/gop/features.js';
import { NATIVE_PHONE_FEATURES } from '../../src/inference/gop/native.js';
import { CONTEXT_PHONE_FEATURES, nativeReferenceColumns, runNativeFor, TriphoneTable } from '../../src/inference/gop/native-cd.js';
import type { ReferenceWord } from '../../src/types.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

interface CachedWord {
  text: string;
  phones: string[];
  accuracy: number;
  stress: number;
  total: number;
  'phones-accuracy': number[];
}
interface CachedUtterance {
  id: string;
  speaker: string;
  age: number | null;
  offset: number;
  length: number;
  labels: { words: CachedWord[]; accuracy: number; fluency: number; prosodic: number; completeness: number; total: number };
}

const cache = path.resolve(arg('cache', 'data/train-cache'));
const acousticPath = path.resolve(arg('acoustic', path.join(cache, 'gop', 'acoustic.onnx')));
const outDir = path.resolve(arg('out', path.join(cache, 'gop')));
const limit = Number(arg('limit', '0'));
// the native-English phone model (scripts/train/native_gop.py export); '' leaves its columns out
const nativePath = arg('native', 'models/default/native.onnx');
// the model's triphone table (scripts/train/native_cd.py table); '' leaves the context-dependent columns out
const triphonesPath = nativePath ? arg('triphones', 'models/default/native-triphones.u16') : '';

class Matrix {
  private chunks: Float32Array[] = [];
  rows = 0;
  constructor(readonly width: number) {}
  push(data: Float32Array): void {
    this.chunks.push(data);
    this.rows += data.length / this.width;
  }
  write(file: string): void {
    const fd = fs.openSync(file, 'w');
    for (const c of this.chunks) fs.writeSync(fd, Buffer.from(c.buffer, c.byteOffset, c.byteLength));
    fs.closeSync(fd);
  }
}

async function dumpSplit(split: 'train' | 'dev', folds: Record<string, number>, K: number): Promise<void> {
  const index = JSON.parse(fs.readFileSync(path.join(cache, `${split}.json`), 'utf8')) as { scale: number; utterances: CachedUtterance[] };
  const pcm = fs.readFileSync(path.join(cache, `${split}.pcm`));
  const pcm16 = new Int16Array(pcm.buffer, pcm.byteOffset, pcm.byteLength / 2);
  const { session } = await createSession(acousticPath, ['cpu'], { intraOpNumThreads: 2, log: () => undefined });
  const run = (feeds: Record<string, import('onnxruntime-node').Tensor>) => session.run(feeds);
  const native = nativePath ? (await createSession(path.resolve(nativePath), ['cpu'], { intraOpNumThreads: 2, log: () => undefined })).session : null;
  const nativeModel = native && {
    table: triphonesPath ? TriphoneTable.fromBytes(fs.readFileSync(triphonesPath)) : null,
    takesSenones: native.inputNames.includes('cd_senones'),
  };
  if (nativeModel?.table && !nativeModel.takesSenones) throw new Error(`${nativePath} has no cd_senones input: export it --context-dependent, or pass --triphones ''`);
  const phoneNames = [...PHONE_FEATURES, ...(native ? NATIVE_PHONE_FEATURES : []), ...(nativeModel?.table ? CONTEXT_PHONE_FEATURES : [])];
  const phone = new Matrix(phoneNames.length);
  const word = new Matrix(WORD_FEATURES.length);
  const utterance = new Matrix(UTTERANCE_FEATURES.length);
  const candidateUtterance = new Matrix(CANDIDATE_UTTERANCE_FEATURES.length);
  const meta = {
    names: { phone: phoneNames, word: WORD_FEATURES, utterance: UTTERANCE_FEATURES, utterance_candidates: CANDIDATE_UTTERANCE_FEATURES, word_relative_stress: RELATIVE_STRESS_FEATURES },
    utterances: [] as { id: string; speaker: string; age: number | null; fold: number | null }[],
    phone: { utterance: [] as number[], recogniser: [] as number[], label: [] as number[] },
    word: { utterance: [] as number[], recogniser: [] as number[], label: [] as number[][] },
    utt: { utterance: [] as number[], recogniser: [] as number[], label: [] as number[][] },
  };
  const utts = limit ? index.utterances.slice(0, limit) : index.utterances;
  const t0 = Date.now();
  for (const [ui, u] of utts.entries()) {
    const samples = new Float32Array(u.length);
    for (let i = 0; i < u.length; i++) samples[i] = pcm16[u.offset + i]! / index.scale;
    const words: ReferenceWord[] = u.labels.words.map((w) => ({ text: w.text, phones: w.phones, source: 'dataset' }));
    const acoustic = await runAcoustic(run, samples, K);
    const phones = words.map((w) => w.phones);
    const nativeRun = native && nativeModel ? await runNativeFor((f) => native.run(f), samples, phones, nativeModel) : null;
    const nativeColumns = nativeRun ? nativeReferenceColumns(nativeRun.loglik, phones, nativeRun.triphones) : undefined;
    const fold = split === 'train' ? folds[u.id] : undefined;
    if (split === 'train' && fold === undefined) throw new Error(`utterance ${u.id} has no fold in folds.json`);
    const recognisers = fold === undefined ? [...Array(K).keys()] : [fold];
    meta.utterances.push({ id: u.id, speaker: u.speaker, age: u.age, fold: fold ?? null });
    for (const k of recognisers) {
      const f = gopFeatures(acoustic.logp[k]!, acoustic.frames, acoustic.track, words, nativeColumns);
      phone.push(f.phone);
      word.push(f.word);
      utterance.push(f.utterance);
      candidateUtterance.push(f.candidates.utterance);
      for (const w of u.labels.words) {
        for (const a of w['phones-accuracy']) {
          meta.phone.utterance.push(ui);
          meta.phone.recogniser.push(k);
          meta.phone.label.push(a);
        }
        meta.word.utterance.push(ui);
        meta.word.recogniser.push(k);
        meta.word.label.push([w.accuracy, w.stress, w.total]);
      }
      const l = u.labels;
      meta.utt.utterance.push(ui);
      meta.utt.recogniser.push(k);
      meta.utt.label.push([l.accuracy, l.fluency, l.prosodic, l.completeness, l.total]);
    }
    if ((ui + 1) % 250 === 0) console.log(`${split}: ${ui + 1}/${utts.length} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  }
  await session.release();
  await native?.release();
  const matrices = [['phone', phone], ['word', word], ['utterance', utterance], ['utterance_candidates', candidateUtterance]] as const;
  for (const [name, m] of matrices) m.write(path.join(outDir, `${split}.${name}.f32`));
  fs.writeFileSync(path.join(outDir, `${split}.meta.json`), JSON.stringify(meta));
  console.log(`${split}: ${utts.length} utterances, ${phone.rows} phone rows, ${word.rows} word rows in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

const foldFile = JSON.parse(fs.readFileSync(path.join(cache, 'folds.json'), 'utf8')) as { folds: number; utterances: Record<string, number> };
fs.mkdirSync(outDir, { recursive: true });
// --splits train: the out-of-fold train/ features alone (rationale calibration reads no dev/).
for (const split of arg('splits', 'train,dev').split(',') as ('train' | 'dev')[]) await dumpSplit(split, foldFile.utterances, foldFile.folds);
