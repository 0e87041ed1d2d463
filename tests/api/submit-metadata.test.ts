/**
 * `SubmitUtteranceInput.metadata`: the integrator's own key-value pairs, over real HTTP (multipart
 * uploads) on PGlite and PostgreSQL, scored by the real in-process worker: kept with the recording,
 * given back in `Utterance.metadata` and in every event that names the utterance (submitted,
 * completed; failed through emitJobFailed, which the queue's failure paths call), part of the idempotency fingerprint, and
 * refused with BAD_USER_INPUT naming `input.metadata` (nothing stored) when it does not fit.
 */
import { createHash } from 'node:crypto';
import { startTestApp, testDatabases, waitForJob, type TestApp } from '../support/app.js';
import { errorCode } from '../support/client.js';
import { speechLikeWav } from '../support/audio-fixtures.js';
import { fromGlobalId } from '../../src/graphql/ids.js';
import { MAX_METADATA_BYTES, MAX_METADATA_KEY_CHARS, MAX_METADATA_KEYS, MAX_METADATA_VALUE_CHARS } from '../../src/assessment/metadata.js';
import { emitJobFailed } from '../../src/outbox/events.js';
import { normalizeReferenceText } from '../../src/text/reference.js';

const DATABASES = await testDatabases();

const SUBMIT = `mutation($input: SubmitUtteranceInput!) {
  submitUtterance(input: $input) { replayed utterance { id metadata } job { id } } }`;
const FEED = `query($after: String) { eventFeed(first: 100, after: $after) { events { type payload } cursor } }`;

describe.each(DATABASES)('submission metadata [%s]', (kind) => {
  let t: TestApp;
  let learnerId: string;

  beforeAll(async () => {
    t = await startTestApp(kind);
    const created = await t.admin.request(`mutation { createLearner(input: {externalId: "meta-1"}) { id } }`);
    learnerId = created.data.createLearner.id;
  });
  afterAll(() => t?.dispose());

  const submit = (metadata: unknown, key: string | null = null, seconds = 1.5) =>
    t.admin.upload(
      SUBMIT,
      { input: { learnerId, referenceText: 'We call it bear', audio: null, idempotencyKey: key, ...(metadata === undefined ? {} : { metadata }) } },
      'variables.input.audio',
      { bytes: speechLikeWav(seconds), name: 'take.wav' },
    );
  const utteranceCount = () => t.app.services.prisma.utterance.count();

  test('kept with the recording and given back by the API and in each event that names the utterance', async () => {
    const metadata = { lmsAttemptId: 'att-42', assignment: 'Unit 3 · reading', 'lms:course': 'ENG-101' };
    const res = await submit(metadata);
    expect(res.errors).toBeUndefined();
    const { utterance, job } = res.data.submitUtterance;
    expect(utterance.metadata).toEqual(metadata);
    // In one order for every reader (jsonb keeps its own): by code unit.
    expect(Object.keys(utterance.metadata)).toEqual(['assignment', 'lms:course', 'lmsAttemptId']);


    const done = await waitForJob(t.admin, job.id);
    expect(done.status).toBe('SUCCEEDED');
    const read = await t.admin.request(`query($id: ID!) { utterance(id: $id) { metadata } }`, { id: utterance.id });
    expect(read.data.utterance.metadata).toEqual(metadata);

    const feed = await t.admin.request(FEED, {});
    expect(feed.errors).toBeUndefined();
    const ofThis = feed.data.eventFeed.events.filter((e: { payload: { data: { utterance?: { id: string } } } }) => e.payload.data.utterance?.id === utterance.id);
    expect(ofThis.map((e: { type: string }) => e.type)).toEqual(['utterance.submitted', 'assessment.completed']);
    for (const e of ofThis) expect(e.payload.data.utterance.metadata).toEqual(metadata);

    // The queue's failure paths write assessment.failed through emitJobFailed, from the stored row: the metadata is in it too.
    const { prisma } = t.app.services;
    const row = await prisma.job.findUniqueOrThrow({ where: { id: fromGlobalId(job.id)!.id } });
    await prisma.$transaction((tx) => emitJobFailed(tx, { ...row, errorCode: 'MODEL_OUTPUT_INVALID', errorMessage: 'x' }));
    const after = await t.admin.request(FEED, { after: feed.data.eventFeed.cursor });
    const failed = after.data.eventFeed.events.find((e: { type: string }) => e.type === 'assessment.failed');
    expect(failed.payload.data.utterance).toMatchObject({ id: utterance.id, metadata });
  });

  test('none given: {} everywhere', async () => {
    const res = await submit(undefined);
    expect(res.errors).toBeUndefined();
    expect(res.data.submitUtterance.utterance.metadata).toEqual({});
    const withNull = await submit(null);
    expect(withNull.data.submitUtterance.utterance.metadata).toEqual({});
  });

  test.each([
    ['an array', ['a']],
    ['a string', 'att-42'],
    ['a number value', { attempt: 42 }],
    ['a nested object', { attempt: { id: 'x' } }],
    ['a null value', { attempt: null }],
    ['an empty value', { attempt: '' }],
    ['a value too long', { attempt: 'x'.repeat(MAX_METADATA_VALUE_CHARS + 1) }],
    ['an empty key', { '': 'x' }],
    ['a key too long', { ['k'.repeat(41)]: 'x' }],
    // Sent as JSON text, as a client's JSON arrives: an own key that a careless codec would take for the prototype.
    ['the key __proto__', JSON.parse('{"__proto__": "x"}')],
    ['a control character in a key', { 'a\nb': 'x' }],
    ['a control character in a value', { attempt: 'a\tb' }],
    ['more than 8 KiB as JSON', { ...Object.fromEntries(Array.from({ length: 19 }, (_, i) => [`k${String(i).padStart(2, '0')}`, 'v'.repeat(400)])), k19: 'v'.repeat(412) }],
    ['too many keys', Object.fromEntries(Array.from({ length: MAX_METADATA_KEYS + 1 }, (_, i) => [`k${i}`, 'v']))],
  ])('%s is BAD_USER_INPUT naming input.metadata, and nothing is stored', async (_what, metadata) => {
    const before = await utteranceCount();
    const res = await submit(metadata);
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.errors![0]!.extensions!.argument).toBe('input.metadata');
    expect(res.errors![0]!.message).toMatch(/^metadata /);
    expect(await utteranceCount()).toBe(before);
  });

  test('a NUL, which no text can hold, is refused for the whole request, and nothing is stored', async () => {
    const before = await utteranceCount();
    const res = await submit({ attempt: 'a\u0000b' });
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.errors![0]!.message).toMatch(/NUL/);
    expect(await utteranceCount()).toBe(before);
  });

  test('the limits themselves are accepted: 20 keys, 40-character keys, 500-character values, 8 KiB of JSON', async () => {
    const wide = { ['k'.repeat(MAX_METADATA_KEY_CHARS)]: 'é'.repeat(MAX_METADATA_VALUE_CHARS) };
    const many = Object.fromEntries(Array.from({ length: MAX_METADATA_KEYS }, (_, i) => [`k${String(i).padStart(2, '0')}`, 'v']));
    // 19 values of 400 characters and one of 411: exactly 8,192 bytes as JSON (one more is refused above).
    const full = { ...Object.fromEntries(Array.from({ length: 19 }, (_, i) => [`k${String(i).padStart(2, '0')}`, 'v'.repeat(400)])), k19: 'v'.repeat(411) };
    expect(Buffer.byteLength(JSON.stringify(full))).toBe(MAX_METADATA_BYTES);
    for (const metadata of [wide, many, full]) {
      const res = await submit(metadata);
      expect(res.errors).toBeUndefined();
      expect(res.data.submitUtterance.utterance.metadata).toEqual(metadata);
    }
  });

  test('part of the idempotency fingerprint: the same pairs in any order replay, other pairs are CONFLICT naming metadata', async () => {
    const first = await submit({ a: '1', b: '2' }, `meta-key-${kind}`, 1.2);
    expect(first.errors).toBeUndefined();
    const again = await submit({ b: '2', a: '1' }, `meta-key-${kind}`, 1.2);
    expect(again.errors).toBeUndefined();
    expect(again.data.submitUtterance).toMatchObject({ replayed: true, utterance: { id: first.data.submitUtterance.utterance.id } });
    const other = await submit({ a: '1', b: '3' }, `meta-key-${kind}`, 1.2);
    expect(errorCode(other)).toBe('CONFLICT');
    expect(other.errors![0]!.extensions!.differs).toEqual(['metadata']);
    const none = await submit(undefined, `meta-key-${kind}`, 1.2);
    expect(none.errors![0]!.extensions!.differs).toEqual(['metadata']);

    // A key used without metadata keeps the fingerprint it had before metadata existed: a retry replays.
    const plain = await submit(undefined, `plain-key-${kind}`, 1.3);
    const { prisma } = t.app.services;
    const row = await prisma.utterance.findUniqueOrThrow({ where: { id: fromGlobalId(plain.data.submitUtterance.utterance.id)!.id } });
    const v2 = ['v2', row.learnerId, normalizeReferenceText('We call it bear').join(' '), row.audioSha256, null, null, null];
    expect(row.requestFingerprint).toBe(createHash('sha256').update(JSON.stringify(v2)).digest('hex'));
    expect((await submit(null, `plain-key-${kind}`, 1.3)).data.submitUtterance.replayed).toBe(true);
  });

  test('in the results export: JSON lines carry the object, CSV its JSON text', async () => {
    const base = t.app.url.replace(/\/graphql$/, '/export/results');
    const jsonl = await fetch(`${base}?learner=meta-1&format=jsonl`, { headers: { authorization: `Bearer ${t.app.adminKey}` } });
    expect(jsonl.status).toBe(200);
    const rows = (await jsonl.text()).trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(rows.map((r) => r.metadata)).toContainEqual({ lmsAttemptId: 'att-42', assignment: 'Unit 3 · reading', 'lms:course': 'ENG-101' });
    const csv = await (await fetch(`${base}?learner=meta-1`, { headers: { authorization: `Bearer ${t.app.adminKey}` } })).text();
    // after the outcome columns, before the prosody and fluency ones (added later, so last)
    expect(csv.split('\r\n')[0]!).toContain(',groupsAtSubmission,metadata,medianPitchHz,');
    expect(csv).toContain('"{""assignment"":""Unit 3 · reading"",""lms:course"":""ENG-101"",""lmsAttemptId"":""att-42""}"');
  });
});
