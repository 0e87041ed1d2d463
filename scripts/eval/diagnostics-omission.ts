/**
 * Omission figures of `npm run eval -- --diagnostics`: each recording scored whole, then again
 * with the audio of one word cut out (the word's span from the whole recording's alignment, a
 * 10 ms cross-fade at the joint). Recall: share of cut words reported OMITTED; false rate: share
 * of the other words of the cut recordings reported OMITTED.
 *
 * The cut itself (`cutSpan`, `pickWord`) is shared with scripts/train/diagnostics.ts, which makes
 * the same recordings from train/ to choose the omission threshold.
 */
import fs from 'node:fs';
import { decodeAudio } from '../../src/audio/decode.js';
import type { Scorer } from '../../src/inference/scorer.js';
import type { ReferenceWord } from '../../src/types.js';
import type { EvalUtterance } from './dataset.js';

const SAMPLE_RATE = 16000;
const FADE = 160; // 10 ms

/** `samples` without [startMs, endMs), the two sides cross-faded over 10 ms so the joint does not click. */
export function cutSpan(samples: Float32Array, startMs: number, endMs: number): Float32Array {
  const a = Math.max(0, Math.round((startMs * SAMPLE_RATE) / 1000));
  const b = Math.min(samples.length, Math.round((endMs * SAMPLE_RATE) / 1000));
  const fade = Math.min(FADE, a, samples.length - b);
  const out = new Float32Array(a + (samples.length - b) - fade);
  out.set(samples.subarray(0, a - fade), 0);
  for (let i = 0; i < fade; i++) {
    const w = (i + 0.5) / fade;
    out[a - fade + i] = samples[a - fade + i]! * (1 - w) + samples[b + i]! * w;
  }
  out.set(samples.subarray(b + fade), a);
  return out;
}

/** Which word to cut: deterministic per utterance id, any word of a sentence of two or more. */
export function pickWord(id: string, words: number): number {
  let h = 2166136261;
  for (const c of id) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return h % words;
}

export interface OmissionFigures {
  recordings: number;
  recall: number;
  false_rate: number;
  /** OMITTED among the words of the whole recordings (no cut) */
  false_rate_uncut: number;
}

export async function measureOmission(scorer: Scorer, utts: readonly EvalUtterance[], log: (l: string) => void): Promise<OmissionFigures> {
  let cut = 0, caught = 0, others = 0, falseOthers = 0, uncut = 0, falseUncut = 0;
  for (const [n, u] of utts.entries()) {
    const words: ReferenceWord[] = u.labels.words.map((w) => ({ text: w.text, phones: w.phones, source: 'dataset' }));
    if (words.length < 2) continue;
    const audio = await decodeAudio(new Uint8Array(fs.readFileSync(u.audioPath)), { minSeconds: 0, maxSeconds: 60 });
    const whole = (await scorer.scoreDetailed(audio.samples, words)).labels.diagnostics!;
    uncut += words.length;
    falseUncut += whole.words.filter((w) => w.errorType === 'OMITTED').length;
    const target = pickWord(u.id, words.length);
    const span = whole.words[target]!;
    const shorter = cutSpan(audio.samples, span.startMs, span.endMs);
    const after = (await scorer.scoreDetailed(shorter, words)).labels.diagnostics!;
    cut++;
    if (after.words[target]!.errorType === 'OMITTED') caught++;
    after.words.forEach((w, i) => {
      if (i === target) return;
      others++;
      if (w.errorType === 'OMITTED') falseOthers++;
    });
    if ((n + 1) % 100 === 0) log(`  omission: ${n + 1}/${utts.length}`);
  }
  return { recordings: cut, recall: caught / cut, false_rate: falseOthers / others, false_rate_uncut: falseUncut / uncut };
}
