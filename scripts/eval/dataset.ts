/**
 * Read one SpeechOcean762 split in the dataset's own layout:
 *   DIR/scores.json                       labels (src/rationale/speechocean.ts: SpeechOceanRecord)
 *   audio: DIR/wav.scp (`<id> <path>`, path absolute or relative to DIR, DIR/.. or DIR/../..),
 *          else DIR/audio/<id>.flac|wav, else DIR/../audio/<id>.flac|wav
 *   DIR/utt2spk, DIR/spk2age, DIR/spk2gender  Kaldi-style `<key> <value>` lists (optional)
 * Without utt2spk the speaker is the id's first four digits (SpeechOcean762's naming).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { SpeechOceanRecord } from '../../src/rationale/speechocean.js';

/** Age below which a speaker counts as a child. SpeechOcean762's speakers are 6-15 ("children")
 * or 19 and over ("adults"), so any threshold between 16 and 19 gives the dataset's own grouping. */
export const CHILD_AGE = 18;

export interface EvalUtterance {
  id: string;
  speaker: string;
  /** NaN when spk2age does not list the speaker */
  age: number;
  /** 'm' | 'f' as in spk2gender, '' when unknown */
  gender: string;
  audioPath: string;
  labels: SpeechOceanRecord;
}

export function readKaldiMap(file: string): Map<string, string> {
  const m = new Map<string, string>();
  if (!fs.existsSync(file)) return m;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const t = line.trim();
    if (!t) continue;
    const [key, ...rest] = t.split(/\s+/);
    m.set(key!, rest.join(' '));
  }
  return m;
}

function fromWavScp(dir: string, entry: string | undefined): string | undefined {
  if (!entry || entry.trim().endsWith('|')) return undefined; // piped commands are not supported
  const p = entry.trim();
  const candidates = path.isAbsolute(p) ? [p] : [dir, path.join(dir, '..'), path.join(dir, '..', '..')].map((d) => path.join(d, p));
  return candidates.find((c) => fs.existsSync(c));
}

function findAudio(dir: string, id: string, wavScp: Map<string, string>): string {
  const listed = fromWavScp(dir, wavScp.get(id));
  if (listed) return listed;
  for (const base of [path.join(dir, 'audio'), path.join(dir, '..', 'audio')]) {
    for (const ext of ['flac', 'wav', 'WAV']) {
      const p = path.join(base, `${id}.${ext}`);
      if (fs.existsSync(p)) return p;
    }
  }
  throw new Error(`no audio for utterance ${id}: not in ${dir}/wav.scp, ${dir}/audio/ or ${dir}/../audio/ (.flac or .wav)`);
}

/** Every utterance of the split, sorted by id (the first `limit` when limit > 0). */
export function loadSplit(dir: string, limit = 0): EvalUtterance[] {
  const scoresPath = path.join(dir, 'scores.json');
  if (!fs.existsSync(scoresPath)) throw new Error(`${scoresPath} not found (--data DIR must hold the split's scores.json)`);
  const scores = JSON.parse(fs.readFileSync(scoresPath, 'utf8')) as Record<string, SpeechOceanRecord>;
  const utt2spk = readKaldiMap(path.join(dir, 'utt2spk'));
  const spk2age = readKaldiMap(path.join(dir, 'spk2age'));
  const spk2gender = readKaldiMap(path.join(dir, 'spk2gender'));
  const wavScp = readKaldiMap(path.join(dir, 'wav.scp'));
  let ids = Object.keys(scores).sort();
  if (limit > 0) ids = ids.slice(0, limit);
  return ids.map((id) => {
    const speaker = utt2spk.get(id) ?? id.slice(0, 4);
    const age = spk2age.has(speaker) ? Number(spk2age.get(speaker)) : NaN;
    return {
      id,
      speaker,
      age,
      gender: (spk2gender.get(speaker) ?? '').toLowerCase(),
      audioPath: findAudio(dir, id, wavScp),
      labels: scores[id]!,
    };
  });
}

/** Fairness slices of an utterance: age group (child / adult) and gender, where known. */
export function slicesOf(u: EvalUtterance): string[] {
  const out: string[] = [];
  if (Number.isFinite(u.age)) out.push(u.age < CHILD_AGE ? 'child' : 'adult');
  if (u.gender === 'm' || u.gender === 'f') out.push(u.gender === 'm' ? 'male' : 'female');
  return out;
}
