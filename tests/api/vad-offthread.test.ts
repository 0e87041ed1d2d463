/**
 * Uploads over real HTTP: voice-activity detection runs in the pool of threads while the thread that
 * serves HTTP answers other requests, with the detections of the in-thread detector; and the
 * samples decoded at intake are kept for the worker and erased with the original.
 */
import { readdir } from 'node:fs/promises';
import { decodeAudio } from '../../src/audio/decode.js';
import { SpeechDetector } from '../../src/audio/vad.js';
import { VadPool } from '../../src/audio/vad-pool.js';
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { encodeWav } from '../support/audio-fixtures.js';
import { describeWithSpeech, speechOceanUtterances } from '../support/speech.js';

const DATABASES = await testDatabases();
const SUBMIT = `mutation($input: SubmitUtteranceInput!) {
  submitUtterance(input: $input) { utterance { id audio { sha256 speechMs } } job { id } }
}`;
const ERASE = `mutation($id: ID!) { eraseLearner(id: $id) { audioFilesRemoved } }`;

const decode = async (bytes: Uint8Array) => (await decodeAudio(bytes, { maxSeconds: 600, minSeconds: 0 })).samples;

/** About `seconds` of real learner speech: SpeechOcean762 train recordings one after another. */
function longTake(recordings: Float32Array[], seconds: number, offset: number): Float32Array {
  const out = new Float32Array(seconds * 16000);
  for (let at = 0, i = offset; at < out.length; i++) {
    const r = recordings[i % recordings.length]!.subarray(0, out.length - at);
    out.set(r, at);
    at += r.length;
  }
  return out;
}

describeWithSpeech('uploads in voice-activity detection', () => {
  describe.each(DATABASES)('on %s', (kind) => {
    let t: TestApp;
    let learnerId: string;
    let takes: Float32Array[];

    beforeAll(async () => {
      // No worker: the uploads are the point (and the worker would compete for the two cores).
      t = await startTestApp(kind, { inProcessWorker: false, vadThreads: 1 });
      learnerId = (await t.admin.request(`mutation { createLearner(input: {externalId: "vad-1"}) { id } }`)).data.createLearner.id;
      const real = await Promise.all(speechOceanUtterances('train', 20).map((u) => decode(u.bytes)));
      takes = [0, 3, 6, 9, 12, 15].map((offset) => longTake(real, 58, offset));
    });
    afterAll(() => t?.dispose());

    const submit = (samples: Float32Array, text = 'We call it bear') =>
      t.admin.upload(SUBMIT, { input: { learnerId, referenceText: text, audio: null } }, 'variables.input.audio', {
        bytes: encodeWav(samples, 16000),
        name: 'take.wav',
      });

    test('/healthz is answered while long uploads are in the pool; their speech is what the in-thread detector finds', async () => {
      const pool = t.app.services.intake.detector as VadPool;
      const settled: string[] = [];
      const uploads = takes.map((s, i) => submit(s).then((res) => (settled.push(`upload ${i}`), res)));
      // Wait (no clock) until several uploads have been decoded and handed to the pool.
      while (pool.inFlight < 3) await new Promise((r) => setTimeout(r, 5));
      const health = await fetch(new URL('/healthz', t.app.url));
      const stillDetecting = pool.inFlight;
      settled.push('healthz');
      expect(health.status).toBe(200);
      expect(stillDetecting).toBeGreaterThan(0); // answered while recordings were still in detection
      const results = await Promise.all(uploads);
      expect(settled.indexOf('healthz')).toBeLessThan(takes.length); // before the last upload was answered
      expect(pool.threadCount).toBe(1);

      const inThread = new SpeechDetector();
      try {
        for (let i = 0; i < takes.length; i++) {
          expect(results[i]!.errors).toBeUndefined();
          const wav = await decode(encodeWav(takes[i]!, 16000));
          const expected = await inThread.detect(wav);
          expect(results[i]!.data.submitUtterance.utterance.audio.speechMs).toBe(Math.round(expected.speechSeconds * 1000));
          expect(expected.speechSeconds).toBeGreaterThan(20);
        }
      } finally {
        await inThread.close();
      }
    });

    test('the worker reads the samples decoded at intake once (the same as decoding the original); erasure removes the rest', async () => {
      const res = await submit(takes[0]!.subarray(0, 16000 * 4), 'We call it bear too');
      expect(res.errors).toBeUndefined();
      const sha256 = res.data.submitUtterance.utterance.audio.sha256 as string;
      const { intake } = t.app.services;
      const kept = await intake.store.readDecoded(sha256);
      expect(kept).not.toBeNull();
      expect(kept).toEqual(await decode(await intake.store.read(sha256)));
      const shard = `${t.config.audioDir}/${sha256.slice(0, 2)}`;
      const filesOf = async () => (await readdir(shard)).filter((n) => n.startsWith(sha256)).sort();
      expect(await filesOf()).toEqual([`${sha256}.decoded-16k.f32`, `${sha256}.wav`]);
      // The worker's load takes the kept samples and drops them (they serve the first assessment);
      // a later load (a re-assessment, a retry) decodes the original to the same samples.
      expect((await intake.load(sha256)).samples).toEqual(kept);
      expect(await filesOf()).toEqual([`${sha256}.wav`]);
      expect((await intake.load(sha256)).samples).toEqual(kept);
      const erased = await t.admin.request(ERASE, { id: learnerId });
      expect(erased.errors).toBeUndefined();
      expect(erased.data.eraseLearner.audioFilesRemoved).toBeGreaterThanOrEqual(1);
      expect((await readdir(shard)).filter((n) => n.startsWith(sha256))).toEqual([]);
    });
  });
});
