/**
 * GET /audio/<utterance id> over real HTTP on the real server (PGlite, and PostgreSQL when
 * reachable): a recording uploaded through the multipart API comes back byte for byte, by Bearer key
 * or by the signed URL `Utterance.audioUrl` gives; Range, ETag and HEAD behave as players need; the
 * URL is bound to its recording, its expiry and its key (revoked: dead at once); scopes and tenancy
 * hold on both ways in.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import http from 'node:http';
import path from 'node:path';
import { createApiKey } from '../../src/graphql/auth.js';
import { AudioUrlSigner, SECRET_FILE } from '../../src/http/audio-url.js';
import { toGlobalId } from '../../src/graphql/ids.js';
import { SEED_AUDIO_FORMAT } from '../../src/seed/generate.js';
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { speechLikeWav } from '../support/audio-fixtures.js';
import { GqlClient } from '../support/client.js';
import { submitSpeech } from '../support/scored.js';
import { keyWithScopes, otherOrganization, seedUtterance } from '../support/seed.js';

const kinds = await testDatabases();

const AUDIO_URL = `query($id: ID!, $s: Int) { node(id: $id) { ... on Utterance { audioUrl(expiresInSeconds: $s) audio { sha256 } } } }`;

describe.each(kinds)('GET /audio/<utterance id> [%s]', (kind) => {
  let t: TestApp;
  let origin: string;
  let reader: GqlClient;
  let readerKey: string;
  let utteranceId: string;
  let wav: Uint8Array;
  let sha256: string;

  const get = (pathAndQuery: string, headers: Record<string, string> = {}, method = 'GET') => fetch(`${origin}${pathAndQuery}`, { method, headers });
  const rawGet = (pathAndQuery: string, headers: Record<string, string>) =>
    new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
      http.get(`${origin}${pathAndQuery}`, { headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks) }));
      }).on('error', reject);
    });
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
  const bytesOf = async (res: Response) => new Uint8Array(await res.arrayBuffer());
  const audioUrl = async (client: GqlClient, id: string, seconds?: number) => {
    const res = await client.request(AUDIO_URL, { id, s: seconds });
    if (res.errors) throw new Error(JSON.stringify(res.errors));
    return res.data.node.audioUrl as string | null;
  };
  const errorOf = async (res: Response) => ((await res.json()) as { errors: { message: string; extensions: { code: string } }[] }).errors[0]!;

  beforeAll(async () => {
    t = await startTestApp(kind);
    origin = new URL(t.app.url).origin;
    reader = await keyWithScopes(t, ['SCORES_READ']);
    readerKey = reader.apiKey!;
    const learner = await t.admin.request(`mutation { createLearner(input: { externalId: "listener" }) { id } }`);
    wav = speechLikeWav(1.2, 7);
    sha256 = createHash('sha256').update(wav).digest('hex');
    const submitted = await submitSpeech(t.admin, learner.data.createLearner.id, 'We call it bear', wav);
    expect(submitted.errors).toBeUndefined();
    utteranceId = submitted.data.submitUtterance.utterance.id;
  });
  afterAll(async () => {
    await t?.dispose();
  });

  test('with a Bearer key: the uploaded bytes, typed, with a strong ETag, uncacheable without revalidation, never rendered', async () => {
    const res = await get(`/audio/${utteranceId}`, bearer(readerKey));
    expect(res.status).toBe(200);
    expect(Buffer.from(await bytesOf(res)).equals(Buffer.from(wav))).toBe(true);
    expect(res.headers.get('content-type')).toBe('audio/wav');
    expect(res.headers.get('content-length')).toBe(String(wav.length));
    expect(res.headers.get('etag')).toBe(`"${sha256}"`);
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('cache-control')).toBe('private, no-cache');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
    expect(res.headers.get('content-disposition')).toBe(`inline; filename="utterance-${utteranceId}.wav"`);
    // When it was submitted: the bytes under an id never change.
    const row = await t.app.services.prisma.utterance.findUniqueOrThrow({ where: { id: fromGlobal(utteranceId) } });
    expect(res.headers.get('last-modified')).toBe(row.createdAt.toUTCString());
  });

  test('Range, If-None-Match, If-Range and HEAD, as a seeking player uses them', async () => {
    const auth = bearer(readerKey);
    const part = await get(`/audio/${utteranceId}`, { ...auth, range: 'bytes=100-199' });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${wav.length}`);
    expect(Buffer.from(await bytesOf(part)).equals(Buffer.from(wav.subarray(100, 200)))).toBe(true);
    const tail = await get(`/audio/${utteranceId}`, { ...auth, range: 'bytes=-10' });
    expect(tail.status).toBe(206);
    expect(Buffer.from(await bytesOf(tail)).equals(Buffer.from(wav.subarray(wav.length - 10)))).toBe(true);
    const beyond = await get(`/audio/${utteranceId}`, { ...auth, range: `bytes=${wav.length}-` });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${wav.length}`);
    expect(await errorOf(beyond)).toEqual({
      message: 'The range asked for starts beyond the end of the recording (Content-Range gives its size).', extensions: { code: 'RANGE_NOT_SATISFIABLE' },
    });
    const mismatch = await get(`/audio/${utteranceId}`, { ...auth, 'if-match': '"other"' });
    expect(mismatch.status).toBe(412);
    expect((await errorOf(mismatch)).extensions.code).toBe('PRECONDITION_FAILED');
    expect((await get(`/audio/${utteranceId}`, { ...auth, 'if-match': `"${sha256}"` })).status).toBe(200);
    // The same bytes under the same id forever: a client holding them is told so without a body.
    // (Through node:http: fetch adds Cache-Control: no-cache to a request with If-None-Match, as the
    // Fetch standard says, and that asks the server for the whole answer again.)
    const fresh = await rawGet(`/audio/${utteranceId}`, { ...auth, 'if-none-match': `"${sha256}"` });
    expect(fresh.status).toBe(304);
    expect(fresh.body.length).toBe(0);
    expect((await rawGet(`/audio/${utteranceId}`, { ...auth, 'if-none-match': '"other"' })).status).toBe(200);
    expect((await get(`/audio/${utteranceId}`, { ...auth, 'if-none-match': `"${sha256}"` })).status).toBe(200); // fetch's no-cache
    // If-Range with another validator: the whole file, not a part of something else.
    const stale = await get(`/audio/${utteranceId}`, { ...auth, range: 'bytes=0-9', 'if-range': '"other"' });
    expect(stale.status).toBe(200);
    expect((await bytesOf(stale)).length).toBe(wav.length);
    const matching = await get(`/audio/${utteranceId}`, { ...auth, range: 'bytes=0-9', 'if-range': `"${sha256}"` });
    expect(matching.status).toBe(206);
    const head = await get(`/audio/${utteranceId}`, auth, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(wav.length));
    expect((await bytesOf(head)).length).toBe(0);
  });

  test('the signed URL from audioUrl plays without a header until it expires, bound to its recording, expiry and key', async () => {
    const url = (await audioUrl(reader, utteranceId))!;
    expect(url).toMatch(new RegExp(`^/audio/${utteranceId}\\?expires=\\d+&key=[\\w-]+&signature=[\\w-]{43}$`));
    // The key it names is the asking key, by the global id viewer.apiKey gives.
    expect(new URL(url, origin).searchParams.get('key')).toBe((await reader.request(`{ viewer { apiKey { id } } }`)).data.viewer.apiKey.id);
    const res = await get(url);
    expect(res.status).toBe(200);
    expect(Buffer.from(await bytesOf(res)).equals(Buffer.from(wav))).toBe(true);
    // Revalidated on every play: a cached copy must not outlive a revoked key or an erased learner.
    expect(res.headers.get('cache-control')).toBe('private, no-cache');
    const life = Number(new URL(url, origin).searchParams.get('expires')) - Date.now() / 1000;
    expect(life).toBeGreaterThan(3500);
    expect(life).toBeLessThanOrEqual(3600);
    const ranged = await get(url, { range: 'bytes=44-' });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await bytesOf(ranged)).equals(Buffer.from(wav.subarray(44)))).toBe(true);

    // Any change to what was signed breaks it.
    const params = new URL(url, origin).searchParams;
    const expires = Number(params.get('expires'));
    const tampered = [
      url.replace(/signature=(.)/, (_m, c: string) => `signature=${c === 'A' ? 'B' : 'A'}`),
      url.replace(`expires=${expires}`, `expires=${expires + 60}`),
      url.replace(`/audio/${utteranceId}`, `/audio/${(await otherUtterance())}`),
      url.replace(/&signature=[^&]+/, ''),
      `${url}&signature=again`,
    ];
    expect(new Set(tampered).size).toBe(tampered.length);
    expect(tampered).not.toContain(url);
    for (const bad of tampered) {
      const refused = await get(bad);
      expect([bad, refused.status]).toEqual([bad, 401]);
      expect((await errorOf(refused)).extensions.code).toBe('UNAUTHENTICATED');
    }

    // A second's life: refused once it has passed, saying so.
    const short = (await audioUrl(reader, utteranceId, 1))!;
    await new Promise((r) => setTimeout(r, 2100));
    const expired = await get(short);
    expect(expired.status).toBe(401);
    expect((await errorOf(expired)).message).toMatch(/^The signed URL expired at \d{4}-.*; ask Utterance\.audioUrl for a new one\.$/);
  });

  let variant = 0;
  async function otherUtterance(): Promise<string> {
    const learner = await t.admin.request(`mutation($e: String!) { createLearner(input: { externalId: $e }) { id } }`, { e: `listener-${randomUUID()}` });
    const res = await submitSpeech(t.admin, learner.data.createLearner.id, 'We call it bear', speechLikeWav(1.0, 8 + ++variant));
    return res.data.submitUtterance.utterance.id;
  }

  test("the README's query runs as written, and its URL plays", async () => {
    const readme = readFileSync('README.md', 'utf8');
    const section = readme.slice(readme.indexOf('### Listening to a recording'));
    const query = /```graphql\n([\s\S]*?)```/.exec(section)![1]!;
    const res = await reader.request(query, { id: utteranceId });
    expect(res.errors).toBeUndefined();
    expect(res.data.node.referenceText).toBe('We call it bear');
    const played = await get(res.data.node.audioUrl);
    expect(played.status).toBe(200);
    expect(Number(new URL(res.data.node.audioUrl, origin).searchParams.get('expires')) - Date.now() / 1000).toBeLessThanOrEqual(900);
    expect(Buffer.from(await bytesOf(played)).equals(Buffer.from(wav))).toBe(true);
  });

  test('revoking the key that signed a URL stops it at once', async () => {
    const minted = await keyWithScopes(t, ['SCORES_READ']);
    const url = (await audioUrl(minted, utteranceId))!;
    expect((await get(url)).status).toBe(200);
    const keyId = new URL(url, origin).searchParams.get('key')!;
    const revoked = await t.admin.request(`mutation($id: ID!) { revokeApiKey(id: $id) { id status } }`, { id: keyId });
    expect(revoked.errors).toBeUndefined();
    const res = await get(url);
    expect(res.status).toBe(401);
    expect((await errorOf(res)).extensions.code).toBe('UNAUTHENTICATED');
  });

  test('scopes and tenancy: SCORES_READ both ways in; another organisation finds nothing, even with a URL its own key signed', async () => {
    const writer = await keyWithScopes(t, ['ASSESS_WRITE']);
    const refused = await writer.request(AUDIO_URL, { id: utteranceId });
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    // The utterance a write key submits comes back to it, its audioUrl does not.
    const learner = await t.admin.request(`mutation($e: String!) { createLearner(input: { externalId: $e }) { id } }`, { e: `writer-${randomUUID()}` });
    const own = await writer.upload(
      `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { utterance { id audio { sha256 } audioUrl } } }`,
      { input: { learnerId: learner.data.createLearner.id, referenceText: 'We call it bear', audio: null } }, 'variables.input.audio',
      { bytes: speechLikeWav(1.0, 99), name: 'speech.wav' },
    );
    expect(own.data.submitUtterance.utterance).toMatchObject({ id: expect.any(String), audio: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }, audioUrl: null });
    expect(own.errors).toEqual([expect.objectContaining({ path: ['submitUtterance', 'utterance', 'audioUrl'], extensions: { code: 'FORBIDDEN' } })]);
    const byWriter = await get(`/audio/${utteranceId}`, bearer(writer.apiKey!));
    expect(byWriter.status).toBe(403);
    expect(await errorOf(byWriter)).toEqual({ message: 'This API key lacks the SCORES_READ scope.', extensions: { code: 'FORBIDDEN' } });
    expect((await get(`/audio/${utteranceId}`)).status).toBe(401);
    expect((await get(`/audio/${utteranceId}`, bearer('sm_not-a-key'))).status).toBe(401);
    expect((await get(`/audio/${utteranceId}`, bearer(t.app.adminKey!))).status).toBe(200); // ADMIN implies SCORES_READ

    const other = await otherOrganization(t);
    const foreign = await get(`/audio/${utteranceId}`, bearer(other.client.apiKey!));
    expect(foreign.status).toBe(404);
    expect((await errorOf(foreign)).extensions.code).toBe('NOT_FOUND');
    // Even a URL signed with the server's own secret for another organisation's key finds nothing here.
    const prisma = t.app.services.prisma;
    const { apiKey } = await createApiKey(prisma, other.org.id, 'signer', ['SCORES_READ']);
    const foreignSigned = await get(serverSigner().sign(apiKey.id, fromGlobal(utteranceId), Math.floor(Date.now() / 1000) + 60));
    expect(foreignSigned.status).toBe(404);
    expect((await errorOf(foreignSigned)).extensions.code).toBe('NOT_FOUND');
  });

  const fromGlobal = (id: string) => Buffer.from(id, 'base64url').toString('utf8').split(':')[1]!;
  /** The server's signer, from the secret it generated in the audio folder (what an attacker lacks). */
  const serverSigner = () => new AudioUrlSigner(Buffer.from(readFileSync(path.join(t.config.audioDir, SECRET_FILE), 'utf8'), 'hex'));

  test("a URL the server did not sign is refused: a key's holder cannot make one, nor stretch one past seven days", async () => {
    const now = Math.floor(Date.now() / 1000);
    const readerId = fromGlobal((await reader.request(`{ viewer { apiKey { id } } }`)).data.viewer.apiKey.id);
    // The old scheme's key (the key's own hash) and a made-up secret both fail.
    for (const secret of [createHash('sha256').update(readerKey).digest(), Buffer.alloc(32, 7)]) {
      const made = new AudioUrlSigner(secret).sign(readerId, fromGlobal(utteranceId), now + 60);
      const res = await get(made);
      expect([made, res.status]).toEqual([made, 401]);
      expect((await errorOf(res)).message).toBe('The signed URL is not valid for this recording.');
    }
    // With the server's secret, a lifetime beyond seven days was not given by this server.
    const signer = serverSigner();
    expect((await get(signer.sign(readerId, fromGlobal(utteranceId), now + 7 * 24 * 3600 - 60))).status).toBe(200);
    expect((await get(signer.sign(readerId, fromGlobal(utteranceId), now + 30 * 24 * 3600))).status).toBe(401);
  });

  test('no recording, a missing file, bad ids, bad lifetimes and other methods get clear JSON errors', async () => {
    const prisma = t.app.services.prisma;
    const org = await prisma.organization.findFirstOrThrow({ orderBy: { createdAt: 'asc' } });
    const seeded = await seedUtterance(prisma, org.id, 'Seeded history');
    await prisma.utterance.update({ where: { id: seeded.id }, data: { audioFormat: SEED_AUDIO_FORMAT } });
    const seededId = toGlobalId('Utterance', seeded.id);
    expect(await audioUrl(reader, seededId)).toBeNull();
    const none = await get(`/audio/${seededId}`, bearer(readerKey));
    expect(none.status).toBe(404);
    expect(await errorOf(none)).toEqual({ message: 'This utterance has no stored recording.', extensions: { code: 'NOT_FOUND' } });

    // A row whose file is gone from the store (e.g. a disk restored without it).
    const lost = await otherUtterance();
    const row = await prisma.utterance.findUniqueOrThrow({ where: { id: fromGlobal(lost) } });
    await rm(t.app.services.intake.store.pathFor(row.audioSha256, 'wav'));
    const missing = await get(`/audio/${lost}`, bearer(readerKey));
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^application\/json/);
    expect(missing.headers.get('etag')).not.toBe(`"${row.audioSha256}"`);
    expect(await errorOf(missing)).toEqual({ message: 'The recording is not in the audio store.', extensions: { code: 'NOT_FOUND' } });

    const learnerId = toGlobalId('Learner', row.learnerId);
    for (const p of [`/audio/${learnerId}`, '/audio/not-an-id', '/audio/', `/audio/${utteranceId}/more`]) {
      const res = await get(p, bearer(readerKey));
      expect([p, res.status]).toEqual([p, 404]);
      expect((await errorOf(res)).extensions.code).toBe('NOT_FOUND');
    }
    for (const s of [0, -5, 604801]) {
      const res = await reader.request(AUDIO_URL, { id: utteranceId, s });
      expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
    expect(await audioUrl(reader, utteranceId, 604800)).toMatch(/^\/audio\//);
    const post = await get(`/audio/${utteranceId}`, bearer(readerKey), 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });
});

describe('GET /audio/<utterance id> behind the rate limiter [pglite]', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp('pglite', { rateLimitPerMinute: 3, authFailuresPerMinute: 2 });
  });
  afterAll(async () => {
    await t?.dispose();
  });

  test("signed playback has its key's own bucket; genuine but expired URLs do not count as failed authentications, forged ones do", async () => {
    const prisma = t.app.services.prisma;
    const org = await prisma.organization.findFirstOrThrow({ orderBy: { createdAt: 'asc' } });
    const seeded = await seedUtterance(prisma, org.id, 'Rate limited');
    const id = toGlobalId('Utterance', seeded.id);
    const reader = await keyWithScopes(t, ['SCORES_READ']);
    const origin = new URL(t.app.url).origin;
    const url = (await reader.request(AUDIO_URL, { id })).data.node.audioUrl as string; // the key's API bucket: 1 of 3
    const short = (await reader.request(AUDIO_URL, { id, s: 1 })).data.node.audioUrl as string; // 2 of 3
    // The seeded row's file was never stored: 404, after the charge to the playback bucket.
    for (let i = 0; i < 3; i++) expect((await fetch(`${origin}${url}`)).status).toBe(404);
    const limited = await fetch(`${origin}${url}`);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    // Browsers seeking do not eat the integration's API budget: its Bearer requests still pass.
    expect((await fetch(`${origin}/audio/${id}`, { headers: { authorization: `Bearer ${reader.apiKey}` } })).status).toBe(404); // 3 of 3

    await new Promise((r) => setTimeout(r, 2100));
    for (let i = 0; i < 3; i++) {
      const expired = await fetch(`${origin}${short}`);
      expect(expired.status).toBe(401);
    }
    // Three expired URLs left the address's failure budget (2) whole: two forgeries use it up.
    const forged = url.replace(/signature=(.)/, (_m, c: string) => `signature=${c === 'A' ? 'B' : 'A'}`);
    expect((await fetch(`${origin}${forged}`)).status).toBe(401);
    expect((await fetch(`${origin}${forged}`)).status).toBe(401);
    expect((await fetch(`${origin}${forged}`)).status).toBe(429);
  });
});

describe('GET /audio/<utterance id> from an audio folder under a dot-directory [pglite]', () => {
  let t: TestApp;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'speechmark-audio-'));
    t = await startTestApp('pglite', { audioDir: path.join(dir, '.speechmark', 'audio') });
  });
  afterAll(async () => {
    await t?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  test('plays (a path with a dot segment is not a dotfile of the request), with Last-Modified preconditions', async () => {
    const learner = await t.admin.request(`mutation { createLearner(input: { externalId: "dotted" }) { id } }`);
    const wav = speechLikeWav(1.0, 3);
    const submitted = await submitSpeech(t.admin, learner.data.createLearner.id, 'We call it bear', wav);
    const id = submitted.data.submitUtterance.utterance.id;
    const origin = new URL(t.app.url).origin;
    const auth = { authorization: `Bearer ${t.app.adminKey}` };
    const res = await fetch(`${origin}/audio/${id}`, { headers: auth });
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(wav))).toBe(true);
    const lastModified = res.headers.get('last-modified')!;
    const later = new Date(Date.parse(lastModified) + 60_000).toUTCString();
    const earlier = new Date(Date.parse(lastModified) - 60_000).toUTCString();
    expect((await fetch(`${origin}/audio/${id}`, { headers: { ...auth, 'if-unmodified-since': later } })).status).toBe(200);
    const refused = await fetch(`${origin}/audio/${id}`, { headers: { ...auth, 'if-unmodified-since': earlier } });
    expect(refused.status).toBe(412);
    expect(refused.headers.get('etag')).not.toMatch(/^"[0-9a-f]{64}"$/);
    expect(refused.headers.get('cache-control')).toBeNull();
    expect(refused.headers.get('accept-ranges')).toBeNull();
    expect(((await refused.json()) as any).errors[0].extensions.code).toBe('PRECONDITION_FAILED');
  });
});

describe('the signing secret', () => {
  test('is generated once in the audio folder and shared by every process that opens it; a configured one replaces it', async () => {
    const { loadAudioUrlSigner } = await import('../../src/http/audio-url.js');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'speechmark-secret-'));
    try {
      const [a, b] = await Promise.all([loadAudioUrlSigner(null, dir), loadAudioUrlSigner(null, dir)]);
      const url = a.sign('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002', 2_000_000_000);
      const signature = new URL(url, 'http://x').searchParams.get('signature')!;
      expect(b.verify('00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000001', 2_000_000_000, signature, 1_999_999_000)).toBe(true);
      expect(readFileSync(path.join(dir, SECRET_FILE), 'utf8')).toMatch(/^[0-9a-f]{64}$/);
      const configured = await loadAudioUrlSigner('x'.repeat(32), dir);
      expect(configured.verify('00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000001', 2_000_000_000, signature, 1_999_999_000)).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
