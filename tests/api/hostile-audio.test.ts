/**
 * Hostile audio through the real upload endpoint (issue 8): each attack-run case is answered quickly
 * with its documented code, the server's memory stays bounded, and a refusal leaves no row, no
 * stored file and no upload temp file behind. The size limit is inclusive.
 *
 * graphql-upload buffers each upload in os.tmpdir() (fs-capacitor); this file gets a temp
 * directory of its own (tests/support/node-environment.cjs), so its leftovers are countable.
 * @jest-environment-options {"privateTmpdir": true}
 */
import { readdirSync, watch } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { errorCode } from '../support/client.js';
import { keyWithScopes } from '../support/seed.js';
import { encodeWav, hasFfmpeg, sine, whiteNoise } from '../support/audio-fixtures.js';
import { craftWav, BOMB_KINDS, decompressionBomb, flacWithFfmpeg, floatWav, pcm16, rssGrowthMiB, type BombKind } from '../support/hostile-audio.js';

const DATABASES = await testDatabases();
const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { utterance { id } job { id } } }`;
const LIMIT = 20 * 1024 * 1024; // the documented default, SPEECHMARK_MAX_UPLOAD_BYTES

/** Every file under `dir`, recursively (the audio store shards into sub-directories). */
function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name);
  } catch {
    return [];
  }
}

const uploadTempFiles = () => readdirSync(os.tmpdir()).filter((n) => n.startsWith('capacitor-'));

async function eventually(check: () => boolean, ms: number): Promise<boolean> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await new Promise((r) => setTimeout(r, 25))) {
    if (check()) return true;
  }
  return check();
}

const TONE = pcm16(sine(440, 1.1, 16000, 0.5));
const wavCases: [string, string, () => Uint8Array][] = [
  ['a 70 KB WAV declaring 4,294,967,295 Hz', 'UNSUPPORTED_MEDIA_TYPE', () => craftWav({ sampleRate: 0xffffffff, body: pcm16(sine(440, 2.2, 16000)) })],
  ['a WAV declaring 65,535 channels', 'UNSUPPORTED_MEDIA_TYPE', () => craftWav({ channels: 65535, blockAlign: 65535 * 2, body: TONE })],
  ['an MS ADPCM tag on 2.4 s of PCM', 'UNSUPPORTED_MEDIA_TYPE', () => craftWav({ formatTag: 2, bitsPerSample: 4, blockAlign: 256, body: pcm16(sine(440, 2.4, 16000)) })],
  ['an IMA ADPCM tag on PCM', 'UNSUPPORTED_MEDIA_TYPE', () => craftWav({ formatTag: 0x11, bitsPerSample: 4, blockAlign: 256, body: TONE })],
  ['a WAV declaring 2 GB of data', 'AUDIO_TOO_LONG', () => craftWav({ dataBytes: 0x7fffffff, body: TONE })],
  ['a WAV with zero samples', 'CORRUPT_AUDIO', () => craftWav({ body: new Uint8Array(0) })],
  ['a float WAV with NaN samples', 'CORRUPT_AUDIO', () => floatWav(new Float32Array(16000).fill(NaN))],
  ['a float WAV with one infinity', 'CORRUPT_AUDIO', () => floatWav(Float32Array.from(sine(440, 1, 16000), (x, i) => (i === 999 ? Infinity : x)))],
  ['a WAV cut inside its header', 'CORRUPT_AUDIO', () => encodeWav(sine(440, 1, 16000), 16000).subarray(0, 30)],
  ['silence', 'NO_SPEECH_DETECTED', () => encodeWav(new Float32Array(32000), 16000)],
];
const ffmpegCases: [string, string, () => Uint8Array][] = [
  ...BOMB_KINDS.map(
    (kind): [string, string, () => Uint8Array] => [`a 2-hour ${kind} decompression bomb`, 'AUDIO_TOO_LONG', () => decompressionBomb(kind)],
  ),
  ['a FLAC cut after 300 bytes', 'CORRUPT_AUDIO', () => flacWithFfmpeg(encodeWav(whiteNoise(2, 16000, 0.3), 16000)).subarray(0, 300)],
];

describe.each(DATABASES)('hostile uploads on %s', (kind) => {
  let t: TestApp;
  let learnerId: string;
  // No worker: accepted uploads only need to be stored, not scored, here.
  beforeAll(async () => {
    t = await startTestApp(kind, { inProcessWorker: false });
    learnerId = (await t.admin.request(`mutation { createLearner(input: {externalId: "h1"}) { id } }`)).data.createLearner.id;
    await submit(encodeWav(sine(440, 1, 16000), 16000)); // warm up: decoders, VAD session (then the row is removed)
    await t.app.services.prisma.job.deleteMany();
    await t.app.services.prisma.utterance.deleteMany();
  }, 60_000);
  afterAll(() => t?.dispose());

  const submit = (bytes: Uint8Array) =>
    t.admin.upload(SUBMIT, { input: { learnerId, referenceText: 'WE CALL IT BEAR', audio: null } }, 'variables.input.audio', { bytes, name: 'take.wav' });

  test('an upload without a valid key, or with a key that may not submit, is refused before its body reaches the disk', async () => {
    const earlier = new Set(uploadTempFiles()); // (an earlier upload's file may still be on its way out)
    const seen: string[] = [];
    const watcher = watch(os.tmpdir(), (_event, name) => { if (name?.startsWith('capacitor-') && !earlier.has(name)) seen.push(name); });
    try {
      const bytes = encodeWav(sine(440, 1, 16000), 16000); // small (32 KB): the whole body is sent before the answer
      for (const key of [undefined, 'sm_not-a-real-key']) {
        const res = await t.admin.withKey(key).upload(SUBMIT, { input: { learnerId, referenceText: 'WE CALL IT BEAR', audio: null } }, 'variables.input.audio', { bytes, name: 'take.wav' });
        expect({ key, status: res.status, code: errorCode(res) }).toEqual({ key, status: 401, code: 'UNAUTHENTICATED' });
      }
      // A valid key that may not submit (a read-only one) is refused before the body is read too.
      const reader = await keyWithScopes(t, ['SCORES_READ']);
      const read = await reader.upload(SUBMIT, { input: { learnerId, referenceText: 'WE CALL IT BEAR', audio: null } }, 'variables.input.audio', { bytes, name: 'take.wav' });
      expect({ status: read.status, code: errorCode(read), message: read.errors?.[0]?.message }).toEqual({ status: 403, code: 'FORBIDDEN', message: 'This API key lacks the ASSESS_WRITE scope.' });
      await new Promise((r) => setTimeout(r, 200)); // any watch event still on its way
      expect(seen).toEqual([]);
      // the same upload with the key is buffered (in the directory watched) and stored as ever
      expect((await submit(bytes)).errors).toBeUndefined();
      expect(await eventually(() => new Set(seen).size === 1, 5_000)).toBe(true); // (a file has several events)
    } finally {
      watcher.close();
    }
    expect(await t.app.services.prisma.utterance.count()).toBe(1);
    await t.app.services.prisma.job.deleteMany();
    await t.app.services.prisma.utterance.deleteMany();
  });

  /** Upload, sampling the server process's resident memory while the request runs. */
  async function measuredSubmit(bytes: Uint8Array) {
    const rss0 = process.memoryUsage().rss;
    const maxRss0 = process.resourceUsage().maxRSS;
    let peak = rss0;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    const t0 = performance.now();
    try {
      const res = await submit(bytes);
      return { res, ms: performance.now() - t0, rssGrowthMb: rssGrowthMiB(rss0, peak, maxRss0) };
    } finally {
      clearInterval(timer);
    }
  }

  /**
   * Refused, bounded (memory: a whole-file decode of a bomb took gigabytes) and leaving nothing
   * behind. No wall-clock bound: on a shared 2-core machine it measures the neighbours.
   */
  async function expectRefusedCleanly(bytes: Uint8Array, code: string) {
    const storedBefore = filesUnder(t.config.audioDir).length;
    const { res, rssGrowthMb } = await measuredSubmit(bytes);
    expect(errorCode(res)).toBe(code);
    expect(res.errors![0]!.message.length).toBeGreaterThan(10);
    expect(rssGrowthMb).toBeLessThan(300);
    expect(await t.app.services.prisma.utterance.count()).toBe(0);
    expect(await t.app.services.prisma.job.count()).toBe(0);
    expect(filesUnder(t.config.audioDir).length).toBe(storedBefore);
    // the temp file goes by asynchronous close and unlink on libuv's thread pool; one clean-clone CI
    // run (1 December) still saw one 10 s after a refusal, with the suites beside it busy: wait longer
    await eventually(() => uploadTempFiles().length === 0, 30_000);
    expect(uploadTempFiles()).toEqual([]);
  }

  test.each(wavCases)('%s → %s', async (_name, code, make) => expectRefusedCleanly(make(), code));

  (hasFfmpeg ? test.each(ffmpegCases) : test.skip.each(ffmpegCases))(
    hasFfmpeg ? '%s → %s' : '%s → %s (skipped: ffmpeg absent)',
    async (_name, code, make) => expectRefusedCleanly(make(), code),
    30_000,
  );

  describe('the upload limit is inclusive', () => {
    /** A valid 8-channel 48 kHz WAV of exactly `size` bytes (27 s of loud noise at the default limit). */
    function wavOfSize(size: number): Uint8Array {
      const frames = Math.floor((size - 44) / 16);
      const noise = whiteNoise((frames * 8) / 16000, 16000, 0.3);
      const body = new Uint8Array(size - 44); // any bytes past the last whole frame are ignored padding
      body.set(pcm16(noise.subarray(0, frames * 8)));
      const wav = craftWav({ channels: 8, sampleRate: 48000, body });
      expect(wav.length).toBe(size);
      return wav;
    }

    test('one byte over the limit is FILE_TOO_LARGE, with nothing left behind', async () => {
      await expectRefusedCleanly(wavOfSize(LIMIT + 1), 'FILE_TOO_LARGE');
    }, 120_000);

    test('exactly the limit is accepted, and its temp file released', async () => {
      const res = await submit(wavOfSize(LIMIT));
      expect(res.errors).toBeUndefined();

      expect(res.data.submitUtterance.utterance.id).toBeTruthy();
      expect(await t.app.services.prisma.utterance.count()).toBe(1);
      expect(await eventually(() => uploadTempFiles().length === 0, 30_000)).toBe(true); // as after a refusal
      // loud noise with no speech in it is scored and flagged, not refused
      const id = res.data.submitUtterance.utterance.id;
      const info = await t.admin.request(`query($id: ID!) { utterance(id: $id) { audio { bytes speechMs warnings } } }`, { id });
      expect(info.data.utterance.audio).toMatchObject({ bytes: LIMIT, warnings: ['LITTLE_SPEECH'] });
      await t.app.services.prisma.job.deleteMany();
      await t.app.services.prisma.utterance.deleteMany();
    }, 120_000);
  });
});

test('this file has a temp directory of its own (what counts its upload temp files)', () => {
  expect(path.basename(os.tmpdir())).toMatch(/^speechmark-private-tmp-/);
});
