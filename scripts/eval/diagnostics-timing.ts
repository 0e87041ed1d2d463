/**
 * Timing figures of `npm run eval -- --diagnostics`: speech whose word and phoneme boundaries are
 * known, synthesised by espeak-ng (its C library reports where each word and phoneme starts through
 * its event callback: scripts/eval/espeak_events.py), scored by the server's code path, and the
 * boundaries the alignment gives compared with espeak-ng's.
 *
 * Reference boundaries: a word starts at its word event and ends at the first event after its last
 * phoneme (the next word, a pause phoneme "_…" or the end); a phoneme starts at its event and ends
 * at the next event. Phonemes are compared only in words where espeak-ng's phoneme count equals
 * the lexicon's (espeak-ng's phone set is not ARPAbet; the count is the only safe pairing), and
 * sentences only where espeak-ng's word count equals the reference text's.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeAudio } from '../../src/audio/decode.js';
import type { Scorer } from '../../src/inference/scorer.js';
import { analyzeReferenceText } from '../../src/text/reference.js';

interface EspeakEvent {
  type: 'word' | 'phoneme' | 'end';
  ms: number;
  name: string;
}

export interface KnownWord {
  startMs: number;
  endMs: number;
  phonemes: { startMs: number; endMs: number }[];
}

export interface TimingFigures {
  sentences: number;
  sentencesSkipped: number;
  words: number;
  phonemes: number;
  word_median_ms: number;
  word_p90_ms: number;
  phoneme_median_ms: number;
  phoneme_p90_ms: number;
}

const HELPER = path.resolve('scripts/eval/espeak_events.py');

/** espeak-ng's events → per word [start, end) and its phonemes' spans, in ms. */
export function knownBoundaries(events: readonly EspeakEvent[]): KnownWord[] {
  const words: { startMs: number; phones: number[]; endMs: number | null }[] = [];
  const phoneStarts: { word: number; ms: number }[] = [];
  const ends: number[] = []; // ms of every event, to find "the next event after"
  for (const e of events) {
    ends.push(e.ms);
    if (e.type === 'word') words.push({ startMs: e.ms, phones: [], endMs: null });
    else if (e.type === 'phoneme' && !e.name.startsWith('_') && words.length) {
      words.at(-1)!.phones.push(phoneStarts.length);
      phoneStarts.push({ word: words.length - 1, ms: e.ms });
    }
  }
  const eventIndexOfPhone: number[] = [];
  events.forEach((e, i) => {
    if (e.type === 'phoneme' && !e.name.startsWith('_')) eventIndexOfPhone.push(i);
  });
  const nextAfter = (phone: number): number => {
    const i = eventIndexOfPhone[phone]!;
    const start = events[i]!.ms;
    for (let j = i + 1; j < events.length; j++) if (events[j]!.ms > start || events[j]!.type !== 'phoneme') return events[j]!.ms;
    return events.at(-1)!.ms;
  };
  return words.map((w) => ({
    startMs: w.startMs,
    endMs: w.phones.length ? nextAfter(w.phones.at(-1)!) : w.startMs,
    phonemes: w.phones.map((p) => ({ startMs: phoneStarts[p]!.ms, endMs: nextAfter(p) })),
  }));
}

/** Synthesise `text`; returns the WAV bytes and espeak-ng's boundaries. */
export function synthesise(text: string, dir: string, rate: number): { bytes: Uint8Array; words: KnownWord[] } {
  const file = path.join(dir, 'speech.wav');
  const out = execFileSync('/usr/bin/python3', [HELPER, file, text, 'en-us', String(rate)], { encoding: 'utf8' });
  const parsed = JSON.parse(out) as { events: EspeakEvent[] };
  return { bytes: new Uint8Array(fs.readFileSync(file)), words: knownBoundaries(parsed.events) };
}

const quantile = (xs: number[], q: number): number => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

/** Absolute start and end errors of words and phonemes over the given sentences. */
export async function measureTiming(scorer: Scorer, texts: readonly string[], log: (l: string) => void): Promise<TimingFigures> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'speechmark-timing-'));
  const wordErr: number[] = [];
  const phoneErr: number[] = [];
  let used = 0;
  let skipped = 0;
  try {
    for (const [n, text] of texts.entries()) {
      const rate = 130 + (n % 3) * 25; // 130, 155, 180 words a minute
      const words = analyzeReferenceText(text);
      const known = synthesise(text.toLowerCase(), dir, rate);
      if (known.words.length !== words.length) {
        skipped++;
        continue;
      }
      const audio = await decodeAudio(known.bytes, { minSeconds: 0, maxSeconds: 60 });
      const { labels } = await scorer.scoreDetailed(audio.samples, words);
      const got = labels.diagnostics!.words;
      used++;
      known.words.forEach((k, wi) => {
        const g = got[wi]!;
        wordErr.push(Math.abs(g.startMs - k.startMs), Math.abs(g.endMs - k.endMs));
        if (k.phonemes.length !== g.phonemes.length) return;
        k.phonemes.forEach((kp, j) => phoneErr.push(Math.abs(g.phonemes[j]!.startMs - kp.startMs), Math.abs(g.phonemes[j]!.endMs - kp.endMs)));
      });
      if ((n + 1) % 50 === 0) log(`  timing: ${n + 1}/${texts.length}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return {
    sentences: used,
    sentencesSkipped: skipped,
    words: wordErr.length / 2,
    phonemes: phoneErr.length / 2,
    word_median_ms: quantile(wordErr, 0.5),
    word_p90_ms: quantile(wordErr, 0.9),
    phoneme_median_ms: quantile(phoneErr, 0.5),
    phoneme_p90_ms: quantile(phoneErr, 0.9),
  };
}
