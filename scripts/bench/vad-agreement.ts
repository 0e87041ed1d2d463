/**
 * `npm run bench -- vad-agreement [--split train] [--batch 32]`: do batched detections (one row per
 * recording, BatchedSpeechDetector) decide what one-at-a-time detections decide, on every recording
 * of a SpeechOcean762 split? Counts recordings whose speech milliseconds, segments, refusal
 * (NO_SPEECH_DETECTED) or LITTLE_SPEECH flag differ, and the largest speech-time difference.
 *
 * Beside it, the cheaper alternative the issue names: an energy gate (a window is speech when its RMS
 * is within ENERGY_RELATIVE_DB of the recording's loud level and above ENERGY_FLOOR_DBFS, through the
 * same hysteresis, gap bridging and minimum length), against one-at-a-time Silero: its time per
 * recording, the mean speech-time difference and the LITTLE_SPEECH flags it would change.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { decodeAudio } from '../../src/audio/decode.js';
import {
  BatchedSpeechDetector,
  DEFAULT_VAD_OPTIONS,
  MIN_SPEECH_SECONDS,
  SpeechDetector,
  assertHasSpeech,
  loudWindowDbfs,
  probabilitiesToSegments,
  type SpeechDetection,
} from '../../src/audio/vad.js';
import { SHARED_DATA_DIR } from '../../tests/support/audio-fixtures.js';

const ENERGY_RELATIVE_DB = -20;
const ENERGY_FLOOR_DBFS = -50;
/** LITTLE_SPEECH as Utterance.audio.warnings decides it (src/resolvers/Utterance/audio.ts). */
const MIN_SPEECH_SHARE = 0.1;
const little = (speechMs: number, samples: Float32Array) =>
  speechMs < MIN_SPEECH_SECONDS * 1000 || speechMs < MIN_SPEECH_SHARE * (samples.length / 16);

/** The energy gate's speech seconds: window RMS against the loud level, as 0/1 "probabilities". */
function energySpeechSeconds(samples: Float32Array): number {
  const loud = loudWindowDbfs(samples);
  const gate = Math.max(loud + ENERGY_RELATIVE_DB, ENERGY_FLOOR_DBFS);
  const count = Math.ceil(samples.length / 512);
  const speech = new Float32Array(count);
  for (let w = 0; w < count; w++) {
    let sum = 0;
    const end = Math.min(samples.length, (w + 1) * 512);
    for (let i = w * 512; i < end; i++) sum += samples[i]! * samples[i]!;
    speech[w] = 20 * Math.log10(Math.sqrt(sum / 512)) >= gate ? 1 : 0;
  }
  return probabilitiesToSegments(speech, DEFAULT_VAD_OPTIONS).reduce((t, s) => t + s.end - s.start, 0);
}

const refused = (d: SpeechDetection) => {
  try {
    assertHasSpeech(d);
    return false;
  } catch {
    return true;
  }
};

export async function runVadAgreement(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { split: { type: 'string', default: 'train' }, batch: { type: 'string', default: '32' } } });
  const ids = readFileSync(path.join(SHARED_DATA_DIR, values.split, 'text'), 'utf8').trim().split('\n').map((l) => l.split(/\s+/)[0]!);
  const batchSize = Number(values.batch);
  const one = new SpeechDetector();
  const batched = new BatchedSpeechDetector(batchSize);
  const energy = { ms: 0, sileroMs: 0, speechMsAbsDiffSum: 0, littleSpeechDiffers: 0 };
  const counts = { recordings: 0, speechMsDiffer: 0, segmentsDiffer: 0, refusalDiffers: 0, littleSpeechDiffers: 0, maxSpeechMsDiff: 0, refused: 0, littleSpeech: 0 };
  try {
    for (let at = 0; at < ids.length; at += batchSize) {
      const audio = await Promise.all(
        ids.slice(at, at + batchSize).map(async (id) =>
          (await decodeAudio(new Uint8Array(readFileSync(path.join(SHARED_DATA_DIR, 'audio', `${id}.flac`))), { maxSeconds: 600, minSeconds: 0 })).samples,
        ),
      );
      const many = await Promise.all(audio.map((s) => batched.detect(s)));
      for (let i = 0; i < audio.length; i++) {
        let started = performance.now();
        const a = await one.detect(audio[i]!);
        energy.sileroMs += performance.now() - started;
        started = performance.now();
        const e = energySpeechSeconds(audio[i]!);
        energy.ms += performance.now() - started;
        energy.speechMsAbsDiffSum += Math.abs(Math.round(e * 1000) - Math.round(a.speechSeconds * 1000));
        energy.littleSpeechDiffers += Number(little(Math.round(e * 1000), audio[i]!) !== little(Math.round(a.speechSeconds * 1000), audio[i]!));
        const b = many[i]!;
        const [ma, mb] = [Math.round(a.speechSeconds * 1000), Math.round(b.speechSeconds * 1000)];
        counts.recordings++;
        counts.speechMsDiffer += Number(ma !== mb);
        counts.maxSpeechMsDiff = Math.max(counts.maxSpeechMsDiff, Math.abs(ma - mb));
        counts.segmentsDiffer += Number(JSON.stringify(a.segments) !== JSON.stringify(b.segments));
        counts.refusalDiffers += Number(refused(a) !== refused(b));
        counts.littleSpeechDiffers += Number(a.speechSeconds < MIN_SPEECH_SECONDS !== b.speechSeconds < MIN_SPEECH_SECONDS);
        counts.refused += Number(refused(a));
        counts.littleSpeech += Number(a.speechSeconds < MIN_SPEECH_SECONDS);
      }
    }
  } finally {
    await Promise.all([one.close(), batched.close()]);
  }
  const n = counts.recordings;
  console.log(JSON.stringify({ split: values.split, batch: batchSize, ...counts }));
  console.log(
    JSON.stringify({
      energyGate: { relativeDb: ENERGY_RELATIVE_DB, floorDbfs: ENERGY_FLOOR_DBFS },
      energyMsPerRecording: energy.ms / n,
      sileroOneAtATimeMsPerRecording: energy.sileroMs / n,
      energyMeanAbsSpeechMsDiff: energy.speechMsAbsDiffSum / n,
      energyLittleSpeechDiffers: energy.littleSpeechDiffers,
    }),
  );
}
