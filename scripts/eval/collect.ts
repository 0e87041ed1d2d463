/**
 * Score utterances through the server's code path (decodeAudio + Scorer) and collect, for every
 * level and aspect, the API label, the continuous output, the human label and the speaker.
 */
import fs from 'node:fs';
import { applyContentMatch } from '../../src/assessment/wrong-text.js';
import { decodeAudio } from '../../src/audio/decode.js';
import type { Scorer } from '../../src/inference/scorer.js';
import type { AssessmentLabels, ReferenceWord } from '../../src/types.js';
import type { EvalUtterance } from './dataset.js';

/** Rows of the report, in order: level.aspect. */
export const ASPECTS = [
  'phone.accuracy',
  'word.accuracy',
  'word.stress',
  'word.total',
  'utterance.accuracy',
  'utterance.completeness',
  'utterance.fluency',
  'utterance.prosody',
  'utterance.total',
] as const;
export type Aspect = (typeof ASPECTS)[number];

export interface Series {
  api: number[];
  raw: number[];
  gold: number[];
  /** index into Collected.speakers */
  speaker: number[];
}

export interface Collected {
  series: Record<Aspect, Series>;
  speakers: string[];
  utterances: number;
  audioSeconds: number;
  decodeSeconds: number;
  scoreSeconds: number;
  /** API labels outside their scale (must be 0) */
  scaleViolations: string[];
}

export function emptyCollected(): Collected {
  const series = Object.fromEntries(ASPECTS.map((a) => [a, { api: [], raw: [], gold: [], speaker: [] }])) as unknown as Record<Aspect, Series>;
  return { series, speakers: [], utterances: 0, audioSeconds: 0, decodeSeconds: 0, scoreSeconds: 0, scaleViolations: [] };
}

function push(c: Collected, a: Aspect, api: number, raw: number, gold: number, spk: number): void {
  const s = c.series[a];
  s.api.push(api);
  s.raw.push(raw);
  s.gold.push(gold);
  s.speaker.push(spk);
}

/** The platform's scales (../shared/DESIGN.md): integers 0-10, stress 5 or 10, phones 0-2 to one decimal. */
export function scaleViolations(id: string, l: AssessmentLabels): string[] {
  const bad: string[] = [];
  const ten = (v: number, what: string) => {
    if (!Number.isInteger(v) || v < 0 || v > 10) bad.push(`${id} ${what}=${v}`);
  };
  Object.entries(l.sentence).forEach(([k, v]) => ten(v, k));
  l.words.forEach((w, i) => {
    ten(w.accuracy, `words[${i}].accuracy`);
    ten(w.total, `words[${i}].total`);
    if (w.stress !== 5 && w.stress !== 10) bad.push(`${id} words[${i}].stress=${w.stress}`);
    w.phonemes.forEach((p, j) => {
      if (p.accuracy < 0 || p.accuracy > 2 || Math.abs(p.accuracy * 10 - Math.round(p.accuracy * 10)) > 1e-9) {
        bad.push(`${id} words[${i}].phonemes[${j}]=${p.accuracy}`);
      }
    });
  });
  return bad;
}

function speakerIndex(c: Collected, speaker: string): number {
  let i = c.speakers.indexOf(speaker);
  if (i < 0) i = c.speakers.push(speaker) - 1;
  return i;
}

/** Score one utterance and add it to `c`. */
export async function collectOne(c: Collected, scorer: Scorer, u: EvalUtterance): Promise<void> {
  const bytes = new Uint8Array(fs.readFileSync(u.audioPath));
  const t0 = performance.now();
  const audio = await decodeAudio(bytes, { maxSeconds: 60, minSeconds: 0.3 });
  const t1 = performance.now();
  const words: ReferenceWord[] = u.labels.words.map((w) => ({ text: w.text, phones: w.phones, source: 'dataset' }));
  const scored = await scorer.scoreDetailed(audio.samples, words);
  const { raw } = scored;
  const { labels } = applyContentMatch(scored.labels, scored.content); // the labels the API returns
  c.decodeSeconds += (t1 - t0) / 1000;
  c.scoreSeconds += (performance.now() - t1) / 1000;
  c.audioSeconds += audio.durationSeconds;
  c.utterances++;
  c.scaleViolations.push(...scaleViolations(u.id, labels));
  const spk = speakerIndex(c, u.speaker);
  const lab = u.labels;
  const s = labels.sentence;
  const r = raw.utterance; // accuracy, fluency, prosody, completeness, total
  push(c, 'utterance.accuracy', s.accuracy, r[0]!, lab.accuracy, spk);
  push(c, 'utterance.fluency', s.fluency, r[1]!, lab.fluency, spk);
  push(c, 'utterance.prosody', s.prosody, r[2]!, lab.prosodic, spk);
  push(c, 'utterance.completeness', s.completeness, r[3]!, lab.completeness, spk);
  push(c, 'utterance.total', s.total, r[4]!, lab.total, spk);
  let k = 0;
  lab.words.forEach((w, wi) => {
    const ow = labels.words[wi]!;
    const rw = raw.words[wi]!;
    push(c, 'word.accuracy', ow.accuracy, rw[0]!, w.accuracy, spk);
    if (ow.stress !== null) push(c, 'word.stress', ow.stress, rw[1]!, w.stress, spk); // null: the model does not produce stress
    push(c, 'word.total', ow.total, rw[2]!, w.total, spk);
    w['phones-accuracy'].forEach((g, j) => push(c, 'phone.accuracy', ow.phonemes[j]!.accuracy, raw.phones[k++]!, g, spk));
  });
}
