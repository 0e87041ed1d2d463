/**
 * `npm run bench -- vad-agreement [--split train] [--batch 32]`: do batched detections (one row per
 * recording, BatchedSpeechDetector) decide what one-at-a-time detections decide, on every recording
 * of a SpeechOcean762 split? Counts recordings whose speech milliseconds, segments, refusal
 * (NO_SPEECH_DETECTED) or LITTLE_SPEECH flag differ, and the largest speech-time difference.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { decodeAudio } from '../../src/audio/decode.js';
import { BatchedSpeechDetector, MIN_SPEECH_SECONDS, SpeechDetector, assertHasSpeech, type SpeechDetection } from '../../src/audio/vad.js';
import { SHARED_DATA_DIR } from '../../tests/support/audio-fixtures.js';

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
        const a = await one.detect(audio[i]!);
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
  console.log(JSON.stringify({ split: values.split, batch: batchSize, ...counts }));
}
