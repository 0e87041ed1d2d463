/**
 * Idempotency keys, the one write path and the audio store over real HTTP, on PGlite and PostgreSQL:
 * a key remembers its request (replay vs CONFLICT), concurrent submits with one key, bounded keys,
 * and no audio file left behind by a submit that did not commit.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, utimes } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { errorCode, type GqlClient } from '../support/client.js';
import { encodeWav, syntheticSpeech } from '../support/audio-fixtures.js';
import { otherOrganization } from '../support/seed.js';
import { waitFor } from '../jobs/fixtures.js';
import { AudioStore, sha256Hex } from '../../src/audio/store.js';
import { sweepUnreferencedAudio } from '../../src/assessment/audio-files.js';
import { fromGlobalId } from '../../src/graphql/ids.js';
import { normalizeReferenceText } from '../../src/text/reference.js';
import { SECRET_FILE } from '../../src/http/audio-url.js';

const DATABASES = await testDatabases();

const SUBMIT = `mutation($input: SubmitUtteranceInput!) {
  submitUtterance(input: $input) { replayed utterance { id referenceText audio { sha256 } } job { id status } }
}`;
const CREATE_LEARNER = `mutation($externalId: String!) { createLearner(input: {externalId: $externalId}) { id } }`;

/** Every file under the audio store, temp files included (relative paths). */
async function storedFiles(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    // Recordings only: the audio URL signing secret the server keeps at the folder's root is no upload.
    return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).filter((f) => f !== SECRET_FILE).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** What a submit keeps of a WAV upload: the original and its decoded samples (for the worker). */
const keptFiles = (sha256: string) => [`${sha256.slice(0, 2)}/${sha256}.decoded-16k.f32`, `${sha256.slice(0, 2)}/${sha256}.wav`];

const speech = (seed: number) => encodeWav(syntheticSpeech(1.2, 16000, seed), 16000);

describe.each(DATABASES)('idempotent submits on %s', (kind) => {
  let t: TestApp;
  let learnerId: string;
  let otherLearnerId: string;

  beforeAll(async () => {
    // No worker: these tests are about what a submit writes, not about scoring.
    t = await startTestApp(kind, { inProcessWorker: false });
    learnerId = (await t.admin.request(CREATE_LEARNER, { externalId: 'idem-1' })).data.createLearner.id;
    otherLearnerId = (await t.admin.request(CREATE_LEARNER, { externalId: 'idem-2' })).data.createLearner.id;
  });
  afterAll(() => t?.dispose());

  const submit = (
    o: { bytes: Uint8Array; key?: string | null; text?: string; learner?: string; modelVersion?: string | null; lti?: { lineItemId: string; userId: string } | null },
    client: GqlClient = t.admin,
  ) =>
    client.upload(
      SUBMIT,
      {
        input: {
          learnerId: o.learner ?? learnerId, referenceText: o.text ?? 'We call it bear', audio: null, idempotencyKey: o.key,
          ...(o.modelVersion ? { modelVersion: o.modelVersion } : {}), ...(o.lti ? { lti: o.lti } : {}),
        },
      },
      'variables.input.audio',
      { bytes: o.bytes, name: 'take.wav' },
    );
  const prisma = () => t.app.services.prisma;
  const files = () => storedFiles(t.config.audioDir);

  test('the same key with the same request replays the first utterance and job', async () => {
    const bytes = speech(1);
    const first = await submit({ bytes, key: 'same-1' });
    expect(first.errors).toBeUndefined();
    expect(first.data.submitUtterance.replayed).toBe(false);
    // The same text after normalisation (case, spacing, punctuation that marks no pause) is the same request.
    const again = await submit({ bytes, key: 'same-1', text: '  we call it BEAR! ' });
    expect(again.errors).toBeUndefined();
    expect(again.data.submitUtterance.replayed).toBe(true);
    expect(again.data.submitUtterance.utterance.id).toBe(first.data.submitUtterance.utterance.id);
    expect(again.data.submitUtterance.job.id).toBe(first.data.submitUtterance.job.id);
    expect(await prisma().utterance.count({ where: { idempotencyKey: 'same-1' } })).toBe(1);
    expect(await prisma().job.count({ where: { utterance: { idempotencyKey: 'same-1' } } })).toBe(1);
    const row = await prisma().utterance.findFirstOrThrow({ where: { idempotencyKey: 'same-1' } });
    expect(row.requestFingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(await files()).toEqual(keptFiles(sha256Hex(bytes)));
  });

  test('the same key with another learner, text or audio is CONFLICT naming the key and the difference', async () => {
    const bytes = speech(2);
    const first = await submit({ bytes, key: 'conflict-1' });
    expect(first.errors).toBeUndefined();
    const before = { utterances: await prisma().utterance.count(), jobs: await prisma().job.count(), files: await files() };

    const cases: [Parameters<typeof submit>[0], string[]][] = [
      [{ bytes, key: 'conflict-1', learner: otherLearnerId }, ['learner']],
      [{ bytes, key: 'conflict-1', text: 'We call it a bear' }, ['referenceText']],
      // The same words with a phrase boundary: a pause is expected before BEAR, so another assessment.
      [{ bytes, key: 'conflict-1', text: 'We call it, bear' }, ['referenceText']],
      [{ bytes: speech(3), key: 'conflict-1' }, ['audio']],
      [{ bytes: speech(4), key: 'conflict-1', learner: otherLearnerId, text: 'Something else' }, ['learner', 'referenceText', 'audio']],
    ];
    for (const [request, differs] of cases) {
      const res = await submit(request);
      expect(errorCode(res)).toBe('CONFLICT');
      expect(res.errors![0]!.message).toContain('"conflict-1"');
      expect(res.errors![0]!.extensions!.idempotencyKey).toBe('conflict-1');
      expect(res.errors![0]!.extensions!.differs).toEqual(differs);
    }
    expect(await prisma().utterance.count()).toBe(before.utterances);
    expect(await prisma().job.count()).toBe(before.jobs);
    expect(await files()).toEqual(before.files);
    // The first request still replays.
    const again = await submit({ bytes, key: 'conflict-1' });
    expect(again.data.submitUtterance).toMatchObject({ replayed: true, utterance: { id: first.data.submitUtterance.utterance.id } });
  });

  test('the same key asking for another model version or another gradebook is CONFLICT; asking for the same ones replays', async () => {
    const version = (JSON.parse(readFileSync('models/default/manifest.json', 'utf8')) as { version: string }).version;
    const platformId = (await t.admin.request(`mutation($input: RegisterLtiPlatformInput!) { registerLtiPlatform(input: $input) { id } }`, {
      input: { name: 'LMS', issuer: 'https://lms.example', clientId: 'tool', deploymentId: 'd1', tokenEndpoint: 'https://lms.example/token' },
    })).data.registerLtiPlatform.id;
    const lineItemId = (await t.admin.request(`mutation($input: CreateLtiLineItemInput!) { createLtiLineItem(input: $input) { id } }`, {
      input: { platformId, url: 'https://lms.example/lineitems/7/lineitem', aspect: 'TOTAL', scoreMaximum: 10 },
    })).data.createLtiLineItem.id;
    const bytes = speech(6);
    const lti = { lineItemId, userId: 'lti-user-1' };
    const first = await submit({ bytes, key: 'whole-request', modelVersion: version, lti });
    expect(first.errors).toBeUndefined();
    const before = { utterances: await prisma().utterance.count(), jobs: await prisma().job.count(), ltiSubmissions: await prisma().ltiSubmission.count() };

    // Before, a retry that added a gradebook or changed the model was answered as a replay, and the
    // score it asked for was never owed.
    const cases: [Parameters<typeof submit>[0], string[]][] = [
      [{ bytes, key: 'whole-request', lti }, ['modelVersion']],
      [{ bytes, key: 'whole-request', modelVersion: version }, ['lti']],
      [{ bytes, key: 'whole-request', modelVersion: version, lti: { ...lti, userId: 'someone-else' } }, ['lti']],
      [{ bytes, key: 'whole-request', text: 'Another text' }, ['referenceText', 'modelVersion', 'lti']],
    ];
    for (const [request, differs] of cases) {
      const res = await submit(request);
      expect(errorCode(res)).toBe('CONFLICT');
      expect(res.errors![0]!.extensions!.differs).toEqual(differs);
    }
    expect({ utterances: await prisma().utterance.count(), jobs: await prisma().job.count(), ltiSubmissions: await prisma().ltiSubmission.count() })
      .toEqual(before);
    const again = await submit({ bytes, key: 'whole-request', modelVersion: version, lti });
    expect(again.errors).toBeUndefined();
    expect(again.data.submitUtterance).toMatchObject({ replayed: true, job: { id: first.data.submitUtterance.job.id } });
    const utteranceId = fromGlobalId(first.data.submitUtterance.utterance.id)!.id;
    expect(await prisma().ltiSubmission.findUniqueOrThrow({ where: { utteranceId } })).toMatchObject({ userId: 'lti-user-1' });
    expect((await prisma().job.findFirstOrThrow({ where: { utteranceId } })).requestedModelVersion).toBe(version);
  });

  test('a key stored with the older fingerprint (learner, text, audio) still replays, and the model version and gradebook are read from its rows', async () => {
    const bytes = speech(7);
    const first = await submit({ bytes, key: 'v1-key' });
    expect(first.errors).toBeUndefined();
    const v1 = createHash('sha256')
      .update(JSON.stringify(['v1', fromGlobalId(learnerId)!.id, normalizeReferenceText('We call it bear').join(' '), sha256Hex(bytes)]))
      .digest('hex');
    await prisma().utterance.updateMany({ where: { idempotencyKey: 'v1-key' }, data: { requestFingerprint: v1 } });
    const version = (JSON.parse(readFileSync('models/default/manifest.json', 'utf8')) as { version: string }).version;
    expect((await submit({ bytes, key: 'v1-key' })).data.submitUtterance.replayed).toBe(true);
    const other = await submit({ bytes, key: 'v1-key', modelVersion: version });
    expect(errorCode(other)).toBe('CONFLICT');
    expect(other.errors![0]!.extensions!.differs).toEqual(['modelVersion']);
  });

  test('a key stored before phrase breaks counted still replays its own text, punctuation included; other punctuation is CONFLICT', async () => {
    const bytes = speech(8);
    const text = 'We call it, bear';
    expect((await submit({ bytes, key: 'pre-breaks', text })).errors).toBeUndefined();
    // The v2 fingerprint as it was computed before: learner, words, audio, no model, no gradebook.
    const before = createHash('sha256')
      .update(JSON.stringify(['v2', fromGlobalId(learnerId)!.id, normalizeReferenceText(text).join(' '), sha256Hex(bytes), null, null, null]))
      .digest('hex');
    await prisma().utterance.updateMany({ where: { idempotencyKey: 'pre-breaks' }, data: { requestFingerprint: before } });
    expect((await submit({ bytes, key: 'pre-breaks', text: 'we call it , BEAR' })).data.submitUtterance.replayed).toBe(true);
    const other = await submit({ bytes, key: 'pre-breaks', text: 'We call it bear' });
    expect([errorCode(other), other.errors![0]!.extensions!.differs]).toEqual(['CONFLICT', ['referenceText']]);
  });

  test('keys are scoped to the organisation', async () => {
    const bytes = speech(5);
    const mine = await submit({ bytes, key: 'shared-key' });
    const { client } = await otherOrganization(t);
    const theirLearner = (await client.request(CREATE_LEARNER, { externalId: 'idem-1' })).data.createLearner.id;
    const theirs = await submit({ bytes: speech(6), key: 'shared-key', learner: theirLearner }, client);
    expect(theirs.errors).toBeUndefined();
    expect(theirs.data.submitUtterance.replayed).toBe(false);
    expect(theirs.data.submitUtterance.utterance.id).not.toBe(mine.data.submitUtterance.utterance.id);
  });

  test('concurrent submits with one key and one request: one creates, the others replay it', async () => {
    const bytes = speech(7);
    const results = await Promise.all(Array.from({ length: 6 }, () => submit({ bytes, key: 'race-same' })));
    for (const r of results) expect(r.errors).toBeUndefined();
    const payloads = results.map((r) => r.data.submitUtterance);
    expect(payloads.filter((p) => !p.replayed)).toHaveLength(1);
    expect(new Set(payloads.map((p) => p.utterance.id)).size).toBe(1);
    expect(new Set(payloads.map((p) => p.job.id)).size).toBe(1);
    expect(await prisma().utterance.count({ where: { idempotencyKey: 'race-same' } })).toBe(1);
    expect(await prisma().job.count({ where: { utterance: { idempotencyKey: 'race-same' } } })).toBe(1);
  });

  test('concurrent submits with one key and different audio: one creates, the others are CONFLICT and leave no file', async () => {
    const before = await files();
    const takes = [11, 12, 13, 14, 15].map(speech);
    const results = await Promise.all(takes.map((bytes) => submit({ bytes, key: 'race-different' })));
    const created = results.filter((r) => r.data?.submitUtterance?.replayed === false);
    expect(created).toHaveLength(1);
    expect(results.filter((r) => errorCode(r) === 'CONFLICT')).toHaveLength(takes.length - 1);
    const winner = created[0]!.data.submitUtterance.utterance.audio.sha256 as string;
    expect(await prisma().utterance.count({ where: { idempotencyKey: 'race-different' } })).toBe(1);
    expect(await files()).toEqual([...before, ...keptFiles(winner)].sort());
  });

  test('a key must be 1 to 255 characters without control characters (BAD_USER_INPUT, nothing stored)', async () => {
    const before = { utterances: await prisma().utterance.count(), files: await files() };
    for (const key of ['k'.repeat(10_000), 'k'.repeat(256), '', 'tab\there']) {
      const res = await submit({ bytes: speech(20), key });
      expect(errorCode(res)).toBe('BAD_USER_INPUT');
      expect(res.errors![0]!.message).toMatch(/idempotencyKey/);
    }
    expect(await prisma().utterance.count()).toBe(before.utterances);
    expect(await files()).toEqual(before.files);
    const ok = await submit({ bytes: speech(20), key: 'é'.repeat(255) });
    expect(ok.errors).toBeUndefined();
    expect((await submit({ bytes: speech(20), key: 'é'.repeat(255) })).data.submitUtterance.replayed).toBe(true);
  });

  test('without a key every submit is a new utterance', async () => {
    const bytes = speech(21);
    const a = await submit({ bytes });
    const b = await submit({ bytes });
    expect(a.data.submitUtterance.utterance.id).not.toBe(b.data.submitUtterance.utterance.id);
    expect(b.data.submitUtterance.replayed).toBe(false);
  });

  describe('no orphan audio files', () => {
    beforeAll(async () => {
      // Real failures inside the submit's transaction, raised by the database itself: one trigger
      // aborts the insert, the other deletes the learner first (as a concurrent erasure would).
      await prisma().$executeRawUnsafe(`
        CREATE FUNCTION test_fail_utterance() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW."referenceText" = 'Fail inside the transaction' THEN
            RAISE EXCEPTION 'forced failure inside the submit transaction';
          END IF;
          IF NEW."referenceText" = 'Delete the learner first' THEN
            DELETE FROM "Learner" WHERE "id" = NEW."learnerId";
          END IF;
          RETURN NEW;
        END $$`);
      await prisma().$executeRawUnsafe(
        `CREATE TRIGGER test_fail_utterance BEFORE INSERT ON "Utterance" FOR EACH ROW EXECUTE FUNCTION test_fail_utterance()`,
      );
    });
    afterAll(async () => {
      await prisma().$executeRawUnsafe(`DROP TRIGGER IF EXISTS test_fail_utterance ON "Utterance"`);
      await prisma().$executeRawUnsafe(`DROP FUNCTION IF EXISTS test_fail_utterance()`);
    });

    test('a transaction that fails after the audio was written removes the file', async () => {
      const before = { utterances: await prisma().utterance.count(), jobs: await prisma().job.count(), files: await files() };
      const res = await submit({ bytes: speech(30), text: 'Fail inside the transaction', key: 'fails-1' });
      expect(errorCode(res)).toBe('INTERNAL_SERVER_ERROR');
      expect(await prisma().utterance.count()).toBe(before.utterances);
      expect(await prisma().job.count()).toBe(before.jobs);
      expect(await files()).toEqual(before.files);
    });

    test('a failed submit keeps a file that a stored utterance shares', async () => {
      const bytes = speech(31);
      const ok = await submit({ bytes });
      expect(ok.errors).toBeUndefined();
      const withFile = await files();
      expect(withFile).toContain(`${sha256Hex(bytes).slice(0, 2)}/${sha256Hex(bytes)}.wav`);
      const res = await submit({ bytes, text: 'Fail inside the transaction' });
      expect(errorCode(res)).toBe('INTERNAL_SERVER_ERROR');
      expect(await files()).toEqual(withFile);
    });

    test('a learner deleted between the check and the write is NOT_FOUND and leaves no file', async () => {
      const doomed = (await t.admin.request(CREATE_LEARNER, { externalId: 'doomed' })).data.createLearner.id;
      const before = { utterances: await prisma().utterance.count(), files: await files() };
      const res = await submit({ bytes: speech(32), text: 'Delete the learner first', learner: doomed });
      expect(errorCode(res)).toBe('NOT_FOUND');
      expect(await prisma().utterance.count()).toBe(before.utterances);
      expect(await files()).toEqual(before.files);
    });

    /** Every file of `sha256` in `dir`, dated two hours back (older than a submit in flight). */
    async function age(dir: string, sha256: string) {
      const old = new Date(Date.now() - 2 * 3600_000);
      for (const f of (await storedFiles(dir)).filter((n) => n.includes(sha256))) await utimes(path.join(dir, f), old, old);
    }

    test('audio no utterance references (a process killed between write and commit) is swept; referenced and recent files stay', async () => {
      const store = t.app.services.intake.store;
      const kept = speech(40);
      expect((await submit({ bytes: kept })).errors).toBeUndefined();
      // What a submit killed after its write leaves: the file, and no row.
      const orphan = speech(41);
      const young = speech(42);
      await store.put(orphan, 'wav');
      await store.put(young, 'wav');
      await age(t.config.audioDir, sha256Hex(kept));
      await age(t.config.audioDir, sha256Hex(orphan));
      const before = await files();
      expect(await sweepUnreferencedAudio(prisma(), store, { signal: AbortSignal.abort() })).toBe(0); // a stopping server sweeps nothing
      expect(await files()).toEqual(before);
      expect(await sweepUnreferencedAudio(prisma(), store)).toBe(1);
      expect(await files()).toEqual(before.filter((f) => !f.includes(sha256Hex(orphan))));
      expect(await files()).toContain(`${sha256Hex(young).slice(0, 2)}/${sha256Hex(young)}.wav`);
    });

    test('the server sweeps its store as it starts', async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'speechmark-sweep-'));
      try {
        const orphan = speech(43);
        await new AudioStore(dir).put(orphan, 'wav');
        await age(dir, sha256Hex(orphan));
        const other = await startTestApp(kind, { inProcessWorker: false, audioDir: dir });
        try {
          // In the background, after the start: the file goes without any request.
          expect(await waitFor(async () => (await storedFiles(dir)).length === 0, 30_000)).toBe(true);
          // The sweep takes recordings only: the signing secret beside them stays.
          expect((await readdir(dir)).includes(SECRET_FILE)).toBe(true);
        } finally {
          await other.dispose();
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    test('a refused recording and a refused key leave no file and no row', async () => {
      const before = { utterances: await prisma().utterance.count(), files: await files() };
      expect(errorCode(await submit({ bytes: encodeWav(new Float32Array(16000 * 2), 16000), key: 'silence' }))).toBe('NO_SPEECH_DETECTED');
      expect(errorCode(await submit({ bytes: speech(33), text: ' ?! ' }))).toBe('EMPTY_REFERENCE_TEXT');
      expect(errorCode(await submit({ bytes: speech(34), key: 'x'.repeat(300) }))).toBe('BAD_USER_INPUT');
      expect(await prisma().utterance.count()).toBe(before.utterances);
      expect(await files()).toEqual(before.files);
      // A refused submit stored nothing under its key either: the key is free for the real take.
      expect((await submit({ bytes: speech(35), key: 'silence' })).data.submitUtterance.replayed).toBe(false);
    });
  });
});
