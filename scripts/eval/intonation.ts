/**
 * What the MONOTONE convention (src/assessment/intonation.ts) means on a split in SpeechOcean762's
 * layout, train/ by default: how the pitch span the API reports follows the raters' prosody scores
 * (Spearman), and which share of readings of four or more words it calls MONOTONE, with the mean
 * prosody score of those and of the rest. The contour is the serving path's: the same tracker,
 * cleaning and summary.
 *
 *   npx tsx scripts/eval/intonation.ts [--data ../shared/speechocean762/train] [--limit N]
 */
import fs from 'node:fs';
import { decodeAudio } from '../../src/audio/decode.js';
import { intonationOf, MONOTONE_SPAN_SEMITONES } from '../../src/assessment/intonation.js';
import { pitchTrack, trackPitch } from '../../src/inference/gop/pitch.js';
import { loadSplit } from './dataset.js';
import { pearson } from './stats.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

/** Ranks with ties averaged, for Spearman's correlation as Pearson's on ranks. */
function ranks(xs: readonly number[]): number[] {
  const order = xs.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(xs.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    for (let k = i; k <= j; k++) out[order[k]![1]] = (i + j) / 2;
    i = j + 1;
  }
  return out;
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

const split = loadSplit(arg('data', '../shared/speechocean762/train'), Number(arg('limit', '0')));
const rows: { span: number; prosody: number; words: number; monotone: boolean }[] = [];
for (const u of split) {
  const audio = await decodeAudio(new Uint8Array(fs.readFileSync(u.audioPath)), { maxSeconds: 600, minSeconds: 0 });
  const frames = Math.floor(audio.samples.length / 320); // the recogniser's 20 ms frames, as signalTrack gets them
  const durationMs = Math.round(audio.durationSeconds * 1000);
  const summary = intonationOf(pitchTrack(trackPitch(audio.samples, frames), durationMs));
  if (summary.pitchSpanSemitones === null) continue;
  rows.push({ span: summary.pitchSpanSemitones, prosody: u.labels.prosodic, words: u.labels.words.length, monotone: summary.errorTypes.includes('MONOTONE') });
}
const long = rows.filter((r) => r.words >= 4);
const flagged = long.filter((r) => r.monotone);
const rest = long.filter((r) => !r.monotone);
console.log(`readings with voicing: ${rows.length} of ${split.length}`);
console.log(`Spearman(pitch span, prosody score): ${pearson(ranks(rows.map((r) => r.span)), ranks(rows.map((r) => r.prosody))).toFixed(3)}`);
console.log(`MONOTONE (span < ${MONOTONE_SPAN_SEMITONES} st) among readings of 4+ words: ${flagged.length} of ${long.length} (${((100 * flagged.length) / long.length).toFixed(1)}%)`);
console.log(`mean prosody score: MONOTONE ${mean(flagged.map((r) => r.prosody)).toFixed(2)}, the rest ${mean(rest.map((r) => r.prosody)).toFixed(2)}`);
