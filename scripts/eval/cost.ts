/** Inference cost: real-time factor on one CPU thread, model size, peak process memory. */
import fs from 'node:fs';
import { decodeAudio } from '../../src/audio/decode.js';
import { Scorer } from '../../src/inference/scorer.js';
import type { ReferenceWord } from '../../src/types.js';
import type { EvalUtterance } from './dataset.js';

export interface RtfMeasure {
  audioSeconds: number;
  decodeSeconds: number;
  scoreSeconds: number;
}

/**
 * Time the model on a CPU session with intraOpNumThreads 1 over `utts` (used when the main pass ran
 * on another provider, whose timing says nothing about one CPU core).
 */
export async function measureCpuOneThread(modelDir: string, utts: readonly EvalUtterance[]): Promise<RtfMeasure> {
  const scorer = await Scorer.load(modelDir, { providers: ['cpu'], intraOpNumThreads: 1, log: () => undefined });
  await scorer.warmUp();
  const m: RtfMeasure = { audioSeconds: 0, decodeSeconds: 0, scoreSeconds: 0 };
  for (const u of utts) {
    const bytes = new Uint8Array(fs.readFileSync(u.audioPath));
    const t0 = performance.now();
    const audio = await decodeAudio(bytes, { maxSeconds: 60, minSeconds: 0.3 });
    const t1 = performance.now();
    const words: ReferenceWord[] = u.labels.words.map((w) => ({ text: w.text, phones: w.phones, source: 'dataset' }));
    await scorer.scoreDetailed(audio.samples, words);
    m.decodeSeconds += (t1 - t0) / 1000;
    m.scoreSeconds += (performance.now() - t1) / 1000;
    m.audioSeconds += audio.durationSeconds;
  }
  await scorer.release();
  return m;
}

/** Process RSS high-water mark in bytes (Linux reports maxRSS in KiB). */
export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

export function fileBytes(p: string): number {
  return fs.statSync(p).size;
}
