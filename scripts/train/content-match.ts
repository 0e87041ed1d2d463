/**
 * The content-match model (src/inference/gop/content.ts): is the speech the reference sentence or
 * another one? Trained on SpeechOcean762 train/ only, with cross-fitting: each train recording goes
 * through the one recogniser of the bundle that did not hear its speaker (scripts/train/folds.py),
 * paired once with its own text and with WRONG other texts of similar length
 * (scripts/eval/wrong-text-pairs.ts). A logistic regression over a few features is chosen and its
 * threshold set by speaker-grouped cross-validation on those pairs; the result goes into the
 * bundle's manifest as `contentMatch`.
 *
 *   npx tsx scripts/train/content-match.ts [--model models/default] [--data ../shared/speechocean762/train]
 *        [--cache tmp/content-match] [--folds data/train-cache/folds.json] [--stage features|fit|all] [--write] [--limit N]
 *
 * Features are cached in <cache>/train.features.json (about 11 min here with other jobs running); `fit` prints the CV
 * figures and, with --write, stores the model in <model>/manifest.json. Each row also keeps the raters'
 * completeness and accuracy, the speaker's age and the phone count, to see which own-text pairs a
 * model flags (scripts/train/README.md, "Content match").
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { decodeAudio } from '../../src/audio/decode.js';
import { contentFeatures, type ContentFeature } from '../../src/inference/gop/content.js';
import { runAcoustic } from '../../src/inference/gop/engine.js';
import { nativeContentFeatures, nativeLoop, runNative } from '../../src/inference/gop/native.js';
import { VOCAB } from '../../src/inference/gop/features.js';
import { createSession } from '../../src/inference/session.js';
import { phoneId } from '../../src/text/phones.js';
import { loadSplit } from '../eval/dataset.js';
import { wrongTexts } from '../eval/wrong-text-pairs.js';
import { fitContentModel } from './content-match-fit.js';

/**
 * Wrong texts per train recording (the acoustic run is shared, so extra pairs are cheap): 3 of
 * similar length (what the benchmark measures) and 1 of any length (a short line for a long
 * recording, or the reverse, must not pass either).
 */
const WRONG_PER_RECORDING = 3;
const WRONG_ANY_LENGTH = 1;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

export interface PairRow {
  utterance: string;
  speaker: string;
  /** true: the recording's own text; false: another utterance's */
  match: boolean;
  /** wrong pairs: 'similar' length (±15%) or 'any' length */
  pairing?: 'similar' | 'any';
  features: Record<ContentFeature, number>;
  /** for the analysis of flagged own-text pairs: the raters' sentence labels and the speaker's age */
  meta?: { completeness: number; accuracy: number; age: number; phones: number };
}

const modelDir = path.resolve(arg('model', 'models/default'));
const dataDir = path.resolve(arg('data', '../shared/speechocean762/train'));
const cacheDir = path.resolve(arg('cache', 'tmp/content-match'));
const stage = arg('stage', 'all');
const featuresFile = path.join(cacheDir, 'train.features.json');
/** --limit N: only the first N recordings (a quick look at new features; never for the shipped fit). */
const LIMIT = Number(arg('limit', '0'));

/**
 * utterance id → the fold whose recogniser never heard it: recogniser.py's own folds.json when
 * the training cache is here (it knows the seed used), else recomputed for seed 1 by folds.py.
 */
function folds(): { K: number; of: Record<string, number> } {
  const file = path.resolve(arg('folds', 'data/train-cache/folds.json'));
  const out = fs.existsSync(file)
    ? fs.readFileSync(file, 'utf8')
    : execFileSync('/usr/bin/python3', [path.join(import.meta.dirname, 'folds.py'), '--utt2spk', path.join(dataDir, 'utt2spk')], { encoding: 'utf8' });
  const parsed = JSON.parse(out) as { folds: number; utterances: Record<string, number> };
  return { K: parsed.folds, of: parsed.utterances };
}

async function dumpFeatures(): Promise<PairRow[]> {
  const manifest = JSON.parse(fs.readFileSync(path.join(modelDir, 'manifest.json'), 'utf8')) as { file: string; recognisers: number; native?: { file: string } };
  const { K, of } = folds();
  if (K !== manifest.recognisers) throw new Error(`folds.py gives ${K} folds, the bundle has ${manifest.recognisers} recognisers`);
  const utts = loadSplit(dataDir);
  const labelsOf = utts.map((u) => u.labels.words.flatMap((w) => w.phones.map((p) => phoneId(p) + 1)));
  const candidates = utts.map((u, i) => ({ words: u.labels.words.map((w) => w.text), phones: labelsOf[i]!.length }));
  const { session } = await createSession(path.join(modelDir, manifest.file), ['cpu'], { intraOpNumThreads: 1, log: () => undefined });
  // the native-English model's evidence (NATIVE_CONTENT_FEATURES) when the bundle has that model
  const native = manifest.native ? (await createSession(path.join(modelDir, manifest.native.file), ['cpu'], { intraOpNumThreads: 1, log: () => undefined })).session : null;
  const rows: PairRow[] = [];
  const t0 = Date.now();
  for (const [i, u] of utts.entries()) {
    const k = of[u.id];
    if (k === undefined) throw new Error(`utterance ${u.id} has no fold`);
    const audio = await decodeAudio(new Uint8Array(fs.readFileSync(u.audioPath)), { maxSeconds: 60, minSeconds: 0.3 });
    const acoustic = await runAcoustic((f) => session.run(f), audio.samples, K);
    const logp = acoustic.logp[k]!;
    // the context-dependent graph's cd_senones: none (content match reads the CI senones)
    const loglik = native ? await runNative((f) => native.run(f), audio.samples, native.inputNames.includes('cd_senones') ? [] : undefined) : null;
    const loop = loglik ? nativeLoop(loglik) : null;
    const nativeOf = (j: number) => (loglik ? nativeContentFeatures(loglik, utts[j]!.labels.words.map((w) => w.phones), loop!) : undefined);
    const features = (j: number) => contentFeatures(logp, acoustic.frames, VOCAB, labelsOf[j]!, undefined, nativeOf(j));
    const meta = { completeness: u.labels.completeness, accuracy: u.labels.accuracy, age: u.age, phones: labelsOf[i]!.length };
    rows.push({ utterance: u.id, speaker: u.speaker, match: true, meta, features: features(i) });
    const similar = wrongTexts(candidates, i, WRONG_PER_RECORDING, u.id);
    const any = wrongTexts(candidates, i, WRONG_ANY_LENGTH, `${u.id}/any`, Infinity);
    for (const [pairing, js] of [['similar', similar], ['any', any]] as const) {
      for (const j of js) {
        rows.push({ utterance: u.id, speaker: u.speaker, match: false, pairing, meta, features: features(j) });
      }
    }
    if (LIMIT && i + 1 >= LIMIT) break;
    if ((i + 1) % 250 === 0) console.log(`  ${i + 1}/${utts.length} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  }
  await session.release();
  await native?.release();
  fs.mkdirSync(cacheDir, { recursive: true });
  fs.writeFileSync(featuresFile, JSON.stringify(rows));
  return rows;
}

async function main(): Promise<void> {
  const rows = stage === 'fit' ? (JSON.parse(fs.readFileSync(featuresFile, 'utf8')) as PairRow[]) : await dumpFeatures();
  if (stage === 'features') return;
  const { model, report } = fitContentModel(rows);
  console.log(report);
  if (process.argv.includes('--write')) {
    const file = path.join(modelDir, 'manifest.json');
    const manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    manifest.contentMatch = model;
    fs.writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
    console.log(`wrote contentMatch to ${file}`);
  }
}

await main();
