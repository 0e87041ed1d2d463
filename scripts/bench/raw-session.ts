import { decodeAudio } from '../../src/audio/decode.js';
import { Scorer } from '../../src/inference/scorer.js';
import { analyzeReferenceText } from '../../src/text/reference.js';

/**
 * The baseline for the end-to-end figure: bare onnxruntime session runs on the same utterances'
 * tensors, prepared beforehand, with the default model on CPU.
 */
export async function benchRawSession(utterances: { text: string; bytes: Uint8Array }[], rounds = 3) {
  const scorer = await Scorer.load('models/default', { providers: ['cpu'] });
  const prepared = await Promise.all(
    utterances.map(async (u) => {
      const audio = await decodeAudio(u.bytes, { minSeconds: 0, maxSeconds: 600 });
      return { seconds: audio.durationSeconds, feeds: scorer.buildFeeds(audio.samples, analyzeReferenceText(u.text)).feeds };
    }),
  );
  await scorer.run(prepared[0]!.feeds); // warm-up
  const started = performance.now();
  for (let r = 0; r < rounds; r++) for (const p of prepared) await scorer.run(p.feeds);
  const seconds = (performance.now() - started) / 1000;
  const runs = rounds * prepared.length;
  const audioSeconds = prepared.reduce((sum, p) => sum + p.seconds, 0) * rounds;
  await scorer.release();
  return { runs, runsPerSecond: runs / seconds, audioSeconds: audioSeconds / rounds, realTimeFactor: seconds / audioSeconds, provider: scorer.executionProvider };
}
