import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { errorCode, GqlClient } from '../support/client.js';
import { encodeWav, flacStreamHeader, concatBytes, sine, wavHeader, whiteNoise } from '../support/audio-fixtures.js';
import { createApiKey } from '../../src/graphql/auth.js';
import http from 'node:http';

const DATABASES = await testDatabases();

const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { utterance { id } job { id } } }`;

describe.each(DATABASES)('refused submits on %s', (kind) => {
  let t: TestApp;
  let learnerId: string;

  beforeAll(async () => {
    t = await startTestApp(kind, { maxUploadBytes: 400_000 });
    learnerId = (await t.admin.request(`mutation { createLearner(input: {externalId: "x1"}) { id } }`)).data.createLearner.id;
  });
  afterAll(() => t?.dispose());

  const submit = (bytes: Uint8Array, referenceText = 'WE CALL IT BEAR', client: GqlClient = t.admin) =>
    client.upload(SUBMIT, { input: { learnerId, referenceText, audio: null } }, 'variables.input.audio', { bytes, name: 'take.wav' });

  async function expectRefused(bytes: Uint8Array, code: string, referenceText?: string) {
    const res = await submit(bytes, referenceText);
    expect(errorCode(res)).toBe(code);
    expect(res.errors![0]!.message.length).toBeGreaterThan(5);
    expect(await t.app.services.prisma.utterance.count()).toBe(0);
    expect(await t.app.services.prisma.job.count()).toBe(0);
  }

  test('a text file renamed .wav is UNSUPPORTED_MEDIA_TYPE', () =>
    expectRefused(new TextEncoder().encode('this is not audio at all, just words in a file'), 'UNSUPPORTED_MEDIA_TYPE'));
  test('an empty file is CORRUPT_AUDIO', () => expectRefused(new Uint8Array(0), 'CORRUPT_AUDIO'));
  test('a FLAC header followed by garbage is CORRUPT_AUDIO', () =>
    expectRefused(concatBytes([flacStreamHeader(16000, 1, 16000 * 3), new Uint8Array(4000).fill(0x55)]), 'CORRUPT_AUDIO'));
  test('a 2-hour recording is AUDIO_TOO_LONG, refused from its header', () =>
    expectRefused(concatBytes([wavHeader(16000, 1, 2 * 3600 * 16000 * 2), new Uint8Array(64_000)]), 'AUDIO_TOO_LONG'));
  test('a 0.1 s recording is AUDIO_TOO_SHORT', () => expectRefused(encodeWav(sine(440, 0.1, 16000), 16000), 'AUDIO_TOO_SHORT'));
  test('silence is NO_SPEECH_DETECTED', () => expectRefused(encodeWav(new Float32Array(16000 * 2), 16000), 'NO_SPEECH_DETECTED'));
  test('faint noise is NO_SPEECH_DETECTED', () => expectRefused(encodeWav(whiteNoise(2, 16000, 0.01), 16000), 'NO_SPEECH_DETECTED'));
  test('a reference text with no words is EMPTY_REFERENCE_TEXT', () =>
    expectRefused(encodeWav(sine(440, 1, 16000), 16000), 'EMPTY_REFERENCE_TEXT', ' ?! ... '));
  test('a file over the upload limit is FILE_TOO_LARGE', () =>
    expectRefused(encodeWav(whiteNoise(20, 16000, 0.3), 16000), 'FILE_TOO_LARGE'));

  test('two files in one request are refused before any work', async () => {
    const form = new FormData();
    form.append('operations', JSON.stringify({ query: SUBMIT, variables: { input: { learnerId, referenceText: 'A', audio: null } } }));
    form.append('map', JSON.stringify({ 0: ['variables.input.audio'], 1: ['variables.input.audio'] }));
    form.append('0', new Blob([new Uint8Array(10)]), 'a.wav');
    form.append('1', new Blob([new Uint8Array(10)]), 'b.wav');
    const res = await fetch(t.app.url, {
      method: 'POST',
      headers: { 'apollo-require-preflight': 'true', authorization: `Bearer ${t.admin.apiKey}` },
      body: form,
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as any).errors[0].extensions.code).toBe('FILE_TOO_LARGE');
    expect(await t.app.services.prisma.utterance.count()).toBe(0);
  });

  test('a multipart request that declares more than an upload can be is FILE_TOO_LARGE at once, before its body is read', async () => {
    // 10 GB declared, nothing sent: the answer cannot wait for the body.
    const answer = await new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = http.request(t.app.url, {
        method: 'POST',
        headers: {
          'content-type': 'multipart/form-data; boundary=x', 'content-length': String(10 * 1024 ** 3),
          'apollo-require-preflight': 'true', authorization: `Bearer ${t.admin.apiKey}`,
        },
      }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
      });
      req.on('error', reject);
      req.flushHeaders();
    });
    expect(answer.status).toBe(413);
    expect(answer.body.errors[0].extensions).toEqual({ code: 'FILE_TOO_LARGE', maxBytes: 400_000 });
    expect(await t.app.services.prisma.utterance.count()).toBe(0);
  });

  test('multipart operations over 1 MB are an operation too large (QUERY_TOO_COMPLEX), as in JSON; not a file too large', async () => {
    const form = new FormData();
    form.append('operations', JSON.stringify({ query: SUBMIT, variables: { input: { learnerId, referenceText: 'A'.repeat(1_100_000), audio: null } } }));
    form.append('map', JSON.stringify({ 0: ['variables.input.audio'] }));
    form.append('0', new Blob([new Uint8Array(10)]), 'a.wav');
    const res = await fetch(t.app.url, { method: 'POST', headers: { 'apollo-require-preflight': 'true', authorization: `Bearer ${t.admin.apiKey}` }, body: form });
    expect(res.status).toBe(413);
    expect(((await res.json()) as any).errors[0].extensions).toEqual({ code: 'QUERY_TOO_COMPLEX', limit: 'bodyBytes', max: 1_000_000 });
    expect(await t.app.services.prisma.utterance.count()).toBe(0);
  });

  test('a multipart request without the preflight header is blocked (CSRF protection on)', async () => {
    const form = new FormData();
    form.append('operations', JSON.stringify({ query: SUBMIT, variables: { input: { learnerId, referenceText: 'A', audio: null } } }));
    form.append('map', JSON.stringify({ 0: ['variables.input.audio'] }));
    form.append('0', new Blob([new Uint8Array(10)]), 'a.wav');
    const res = await fetch(t.app.url, { method: 'POST', headers: { authorization: `Bearer ${t.admin.apiKey}` }, body: form });
    expect(res.status).toBe(400);
  });

  test('no API key is UNAUTHENTICATED with HTTP 401', async () => {
    const res = await t.admin.withKey(undefined).request(`{ viewer { scopes } }`);
    expect(res.status).toBe(401);
    expect(errorCode(res)).toBe('UNAUTHENTICATED');
    expect(errorCode(await t.admin.withKey('sm_not-a-real-key').request(`{ viewer { scopes } }`))).toBe('UNAUTHENTICATED');
  });

  test('a read-only key cannot submit (FORBIDDEN)', async () => {
    const created = await t.admin.request(`mutation { createApiKey(input: {name: "lms reader", scopes: [SCORES_READ]}) { key apiKey { scopes } } }`);
    const reader = t.admin.withKey(created.data.createApiKey.key);
    expect(errorCode(await submit(encodeWav(sine(440, 1, 16000), 16000), 'HELLO', reader))).toBe('FORBIDDEN');
    expect((await reader.request(`{ viewer { scopes } }`)).data.viewer.scopes).toEqual(['SCORES_READ']);
  });

  test('another organisation sees none of this one\'s data', async () => {
    const prisma = t.app.services.prisma;
    const other = await prisma.organization.create({ data: { name: 'Other school' } });
    const { key } = await createApiKey(prisma, other.id, 'other admin', ['ADMIN']);
    const outsider = t.admin.withKey(key);
    expect((await outsider.request(`query($id: ID!) { learner(id: $id) { id } }`, { id: learnerId })).data.learner).toBeNull();
    expect((await outsider.request(`query($id: ID!) { node(id: $id) { id } }`, { id: learnerId })).data.node).toBeNull();
    expect((await outsider.request(`{ learners { edges { node { id } } } }`)).data.learners.edges).toEqual([]);
    expect((await outsider.request(`{ learnerByExternalId(externalId: "x1") { id } }`)).data.learnerByExternalId).toBeNull();
    expect(errorCode(await submit(encodeWav(sine(440, 1, 16000), 16000), 'HELLO', outsider))).toBe('NOT_FOUND');
  });
});
