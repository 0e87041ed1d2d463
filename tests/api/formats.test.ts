import { decodeAudio } from '../../src/audio/decode.js';
import { resample } from '../../src/audio/resample.js';
import { startTestApp, waitForJob, type TestApp } from '../support/app.js';
import { encodeWav, hasFfmpeg, transcodeWithFfmpeg, type FfmpegTarget } from '../support/audio-fixtures.js';
import { describeWithSpeech, speechOceanUtterances } from '../support/speech.js';

const SUBMIT = `mutation($input: SubmitUtteranceInput!) {
  submitUtterance(input: $input) { utterance { audio { format sourceSampleRate sourceChannels durationMs } } job { id } }
}`;

/**
 * Recordings as clients send them: other rates, stereo, lossy codecs. Each is made in the test
 * from a real learner recording, uploaded over HTTP, accepted and assessed.
 */
describeWithSpeech('accepted audio formats', () => {
  const [speech] = speechOceanUtterances('train', 1);
  let t: TestApp;
  let learnerId: string;
  let stereo44k: Uint8Array;

  beforeAll(async () => {
    t = await startTestApp('pglite');
    learnerId = (await t.admin.request(`mutation { createLearner(input: {externalId: "f1"}) { id } }`)).data.createLearner.id;
    const mono16k = (await decodeAudio(speech!.bytes, { minSeconds: 0, maxSeconds: 60 })).samples;
    const left = resample(mono16k, 16000, 44100);
    stereo44k = encodeWav([left, left.map((v) => v * 0.8)], 44100);
  });
  afterAll(() => t?.dispose());

  async function submitAndAssess(bytes: Uint8Array) {
    const res = await t.admin.upload(SUBMIT, { input: { learnerId, referenceText: speech!.text, audio: null } }, 'variables.input.audio', {
      bytes,
      name: 'recording', // no extension: the format comes from the bytes
    });
    expect(res.errors).toBeUndefined();
    const job = await waitForJob(t.admin, res.data.submitUtterance.job.id);
    expect(job.status).toBe('SUCCEEDED');
    return res.data.submitUtterance.utterance.audio;
  }

  test('a 44.1 kHz stereo WAV is downmixed and resampled', async () => {
    const audio = await submitAndAssess(stereo44k);
    expect(audio).toMatchObject({ format: 'wav', sourceSampleRate: 44100, sourceChannels: 2 });
    expect(Math.abs(audio.durationMs - (stereo44k.length - 44) / 4 / 44.1)).toBeLessThan(5);
  });

  const lossy: [FfmpegTarget, string][] = [
    ['ogg-opus', 'ogg'], ['ogg-vorbis', 'ogg'], ['mp3', 'mp3'], ['webm-opus', 'webm'], ['m4a-aac', 'm4a'], ['adts-aac', 'aac'],
  ];
  for (const [target, format] of lossy) {
    const name = `${target} from a browser or phone is accepted`;
    (hasFfmpeg ? test : test.skip)(hasFfmpeg ? name : `${name} (skipped: ffmpeg absent to make the fixture)`, async () => {
      const bytes = transcodeWithFfmpeg(stereo44k, target); // blocks this process while ffmpeg runs
      await new Promise((r) => setImmediate(r)); // let the HTTP client expire idle sockets first
      const audio = await submitAndAssess(bytes);
      expect(audio.format).toBe(format);
    });
  }
});
