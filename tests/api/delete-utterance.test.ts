/**
 * deleteUtterance over real HTTP on the real server, with real uploads scored by the in-process
 * worker: what it deletes is counted straight from the database and the audio store on disk; the
 * learner's analytics rollups equal a rebuild from the remaining rows; a recording another utterance
 * shares stays; its events leave the feed and one utterance.deleted event arrives; refusals delete
 * nothing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { startTestApp, testDatabases, waitForJob, type TestApp } from '../support/app.js';
import { errorCode } from '../support/client.js';
import { keyWithScopes, otherOrganization } from '../support/seed.js';
import { speechLikeWav } from '../support/audio-fixtures.js';
import { espeakWav, hasEspeak } from '../support/espeak.js';
import { AudioStore } from '../../src/audio/store.js';
import { fromGlobalId } from '../../src/graphql/ids.js';
import { addNewLearners } from '../../src/analytics/rollup.js';
import { waitFor } from '../jobs/fixtures.js';
import type { GqlResponse } from '../support/client.js';

const DATABASES = await testDatabases();

const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { utterance { id } job { id } } }`;
const DELETE = `mutation($id: ID!) { deleteUtterance(id: $id) {
  utteranceId learner { id externalId } assessments jobs audioFilesRemoved audioFilesKept audioFilesNotRemoved } }`;
const FEED = `query($after: String) { eventFeed(after: $after) { events { id type payload } cursor hasMore } }`;

describe.each(DATABASES)('deleteUtterance on %s', (kind) => {
  let t: TestApp;
  let store: AudioStore;
  let organizationId: string;
  const prisma = () => t.app.services.prisma;

  beforeAll(async () => {
    t = await startTestApp(kind);
    store = new AudioStore(t.config.audioDir);
    organizationId = (await prisma().organization.findFirstOrThrow({ orderBy: { createdAt: 'asc' } })).id;
  });
  afterAll(() => t?.dispose());

  const learner = async (externalId: string) =>
    (await t.admin.request(`mutation($e: String!) { createLearner(input: {externalId: $e}) { id } }`, { e: `${externalId}-${kind}` })).data.createLearner.id as string;

  /** A real upload, scored by the worker; its utterance's global id. */
  const recording = async (learnerId: string, audio: number | Uint8Array, text = 'We call it bear') => {
    const up = await t.admin.upload(SUBMIT, { input: { learnerId, referenceText: text, audio: null } }, 'variables.input.audio', {
      bytes: typeof audio === 'number' ? speechLikeWav(audio) : audio, name: 'take.wav',
    });
    expect(up.errors).toBeUndefined();
    expect((await waitForJob(t.admin, up.data.submitUtterance.job.id)).status).toBe('SUCCEEDED');
    return up.data.submitUtterance.utterance.id as string;
  };

  const dbId = (globalId: string) => fromGlobalId(globalId)!.id;
  const audioPath = async (utteranceId: string) =>
    store.pathFor((await prisma().utterance.findUniqueOrThrow({ where: { id: dbId(utteranceId) } })).audioSha256, 'wav');

  /** The learner's rollup rows, as plain comparable values. */
  const rollups = async (learnerId: string) => {
    const where = { organizationId, learnerId };
    const plain = (rows: object[]) => rows.map((r) => JSON.parse(JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? String(v) : v?.constructor?.name === 'Decimal' ? String(v) : v))));
    return {
      sounds: plain(await prisma().learnerSoundRollup.findMany({ where, orderBy: { phone: 'asc' } })).filter((r) => r.count !== 0),
      words: plain(await prisma().learnerSoundWordRollup.findMany({ where, orderBy: [{ phone: 'asc' }, { word: 'asc' }] })).filter((r) => r.errors !== 0),
      scores: plain(await prisma().learnerScoreRollup.findMany({ where, orderBy: [{ aspect: 'asc' }, { score: 'asc' }] })).filter((r) => r.count !== 0),
    };
  };

  /**
   * `request`'s answer when the utterance is deleted under it: holding the row, the request's insert
   * waits on it (its foreign key); the row is then deleted, as a deleteUtterance or an erasure
   * committing at that moment would. PostgreSQL only: the race needs two connections at once.
   */
  const whileDeleted = async (id: string, request: () => Promise<GqlResponse>): Promise<GqlResponse> => {
    let pending!: Promise<GqlResponse>;
    await prisma().$transaction(async (tx) => {
      const [{ pid }] = await tx.$queryRawUnsafe<{ pid: number }[]>('SELECT pg_backend_pid() AS pid');
      await tx.$queryRawUnsafe(`SELECT 1 FROM "Utterance" WHERE "id" = $1::uuid FOR UPDATE`, id);
      pending = request();
      await waitFor(async () => {
        const [{ n }] = await prisma().$queryRawUnsafe<{ n: number }[]>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1::int = ANY(pg_blocking_pids(pid))', pid);
        return n > 0;
      }, 20_000, 20);
      await tx.$executeRawUnsafe(`DELETE FROM "Utterance" WHERE "id" = $1::uuid`, id);
    }, { timeout: 30_000 });
    return pending;
  };

  (kind === 'postgres' ? test : test.skip)('a re-assessment racing the deletion of its utterance answers NOT_FOUND (not a masked internal error) and queues nothing', async () => {
    const u = await recording(await learner('del-race'), 3);
    const id = dbId(u);
    const res = await whileDeleted(id, () => t.admin.request(`mutation($id: ID!) { reassessUtterance(utteranceId: $id) { id } }`, { id: u }));
    expect(res.data?.reassessUtterance ?? null).toBeNull();
    expect(errorCode(res)).toBe('NOT_FOUND');
    expect(res.errors![0]!.message).toMatch(/no longer exists/);
    expect(await prisma().job.count({ where: { utteranceId: id } })).toBe(0);
  });

  (kind === 'postgres' ? test : test.skip)('human labels attached while their utterance is deleted answer NOT_FOUND (the edge maps the write\'s foreign-key violation) and write nothing', async () => {
    const u = await recording(await learner('del-race-labels'), 3);
    const id = dbId(u);
    const before = await prisma().assessment.count();
    const res = await whileDeleted(id, () => t.admin.request(
      `mutation($u: ID!) { attachHumanLabels(utteranceId: $u, labels: {sentence: {accuracy: 8, fluency: 7, prosody: 7, completeness: 10, total: 8}}, rater: "r1") { id } }`,
      { u },
    ));
    expect(res.data?.attachHumanLabels ?? null).toBeNull();
    expect(errorCode(res)).toBe('NOT_FOUND');
    expect(res.errors![0]!.message).toBe('A record this request refers to was deleted while the request ran.');
    expect(res.errors![0]!.extensions).toEqual({ code: 'NOT_FOUND' }); // no internal detail
    expect(await prisma().assessment.count()).toBe(before - 1); // the deleted utterance's own assessment, nothing added
    expect(await prisma().auditEvent.count({ where: { action: 'humanLabels.attached', targetId: id } })).toBe(0);
  });

  test('a re-assessment of an utterance deleted before it answers NOT_FOUND', async () => {
    const u = await recording(await learner('del-before'), 3);
    expect((await t.admin.request(DELETE, { id: u })).errors).toBeUndefined();
    const res = await t.admin.request(`mutation($id: ID!) { reassessUtterance(utteranceId: $id) { id } }`, { id: u });
    expect(errorCode(res)).toBe('NOT_FOUND');
  });

  // Speech of the text, so that the readings count in the analytics (synthetic noise reads as another text).
  (hasEspeak ? test : test.skip)('deletes the recording and everything about it; the learner, its other recordings and its analytics stay right', async () => {
    const a = await learner('del-a');
    const kept = await recording(a, espeakWav('We call it bear'));
    const gone = await recording(a, espeakWav('Thank you very much'), 'Thank you very much');
    const reassessed = await t.admin.request(`mutation($id: ID!) { reassessUtterance(utteranceId: $id) { id } }`, { id: gone });
    expect(reassessed.errors).toBeUndefined();
    expect((await waitForJob(t.admin, reassessed.data.reassessUtterance.id)).status).toBe('SUCCEEDED');
    const file = await audioPath(gone);
    expect(existsSync(file)).toBe(true);
    const before = (await t.admin.request(FEED)).data.eventFeed;
    const totals = (r: Awaited<ReturnType<typeof rollups>>) => r.scores.filter((x: { aspect: string }) => x.aspect === 'TOTAL').reduce((n: number, x: { count: number }) => n + x.count, 0);
    expect(totals(await rollups(dbId(a)))).toBe(2); // both readings count before
    const aboutIt = before.events.filter((e: { payload: { data: { utterance?: { id: string } } } }) => e.payload.data.utterance?.id === gone);
    expect(aboutIt.length).toBe(3); // submitted, and two assessments completed

    const res = await t.admin.request(DELETE, { id: gone });
    expect(res.errors).toBeUndefined();
    expect(res.data.deleteUtterance).toEqual({
      utteranceId: gone, learner: { id: a, externalId: `del-a-${kind}` }, assessments: 2, jobs: 2,
      audioFilesRemoved: 1, audioFilesKept: 0, audioFilesNotRemoved: 0,
    });
    const id = dbId(gone);
    expect(await prisma().utterance.count({ where: { id } })).toBe(0);
    expect(await prisma().assessment.count({ where: { utteranceId: id } })).toBe(0);
    expect(await prisma().job.count({ where: { utteranceId: id } })).toBe(0);
    expect(await prisma().wordAssessment.count({ where: { assessment: { utteranceId: id } } })).toBe(0);
    expect(existsSync(file)).toBe(false);
    expect((await t.admin.request(`query($id: ID!) { node(id: $id) { id } }`, { id: gone })).data.node).toBeNull();
    // The learner and the other recording stay, with its assessment and its file.
    const left = await t.admin.request(`query($id: ID!) { learner(id: $id) { utterances(first: 10) { totalCount edges { node { id latestAssessment { id } } } } } }`, { id: a });
    expect(left.errors).toBeUndefined();
    expect(left.data.learner.utterances.totalCount).toBe(1);
    expect(left.data.learner.utterances.edges[0].node).toMatchObject({ id: kept, latestAssessment: { id: expect.any(String) } });
    expect(existsSync(await audioPath(kept))).toBe(true);

    // The analytics sums equal those rebuilt from the rows that remain (exact numerics).
    const afterDelete = await rollups(dbId(a));
    await prisma().$transaction(async (tx) => {
      await tx.learnerSoundRollup.deleteMany({ where: { organizationId, learnerId: dbId(a) } });
      await tx.learnerSoundWordRollup.deleteMany({ where: { organizationId, learnerId: dbId(a) } });
      await tx.learnerScoreRollup.deleteMany({ where: { organizationId, learnerId: dbId(a) } });
      await addNewLearners(tx, organizationId, [dbId(a)]);
    });
    const rebuilt = await rollups(dbId(a));
    expect(afterDelete).toEqual(rebuilt);
    expect(totals(rebuilt)).toBe(1);
    expect(rebuilt.sounds.length).toBeGreaterThan(0);

    // Its events left the feed; one utterance.deleted event took their place, after the cursor.
    const after = (await t.admin.request(FEED)).data.eventFeed;
    const ids = new Set(after.events.map((e: { id: string }) => e.id));
    for (const e of aboutIt) expect(ids.has(e.id)).toBe(false);
    const notice = (await t.admin.request(FEED, { after: before.cursor })).data.eventFeed.events;
    expect(notice.map((e: { type: string; payload: unknown }) => [e.type, e.payload])).toEqual([[
      'utterance.deleted',
      { type: 'utterance.deleted', timestamp: expect.any(String), data: { utterance: { id: gone }, learner: { id: a, externalId: `del-a-${kind}` }, assessments: 2 } },
    ]]);
    // Audited, with what went.
    const audit = (await t.admin.request(`{ auditEvents(first: 1, action: "utterance.deleted") { edges { node { targetType targetId details } } } }`)).data.auditEvents.edges[0].node;
    expect(audit).toEqual({
      targetType: 'Utterance', targetId: gone,
      details: { learnerId: a, assessments: 2, jobs: 2, audioFilesRemoved: 1, audioFilesKept: 0, audioFilesNotRemoved: 0, xapiStatementsVoided: 0, gradesReposted: 0 },
    });
  });

  test('a recording another of the organisation\'s utterances shares stays until the last one goes', async () => {
    const b = await learner('del-b');
    const c = await learner('del-c');
    const first = await recording(b, 2.1);
    const same = await recording(c, 2.1);
    const file = await audioPath(first);
    expect(await audioPath(same)).toBe(file);
    const one = await t.admin.request(DELETE, { id: first });
    expect(one.data.deleteUtterance).toMatchObject({ audioFilesRemoved: 0, audioFilesKept: 1, audioFilesNotRemoved: 0 });
    expect(existsSync(file)).toBe(true);
    const two = await t.admin.request(DELETE, { id: same });
    expect(two.data.deleteUtterance).toMatchObject({ audioFilesRemoved: 1, audioFilesKept: 0 });
    expect(existsSync(file)).toBe(false);
  });

  test('only ADMIN deletes, only its own organisation\'s utterances; refusals delete nothing', async () => {
    const d = await learner('del-d');
    const mine = await recording(d, 1.9);
    for (const scopes of [['SCORES_READ'], ['ASSESS_WRITE'], ['SCORES_READ', 'ASSESS_WRITE']] as const) {
      const client = await keyWithScopes(t, [...scopes]);
      const refused = await client.request(DELETE, { id: mine });
      expect(errorCode(refused)).toBe('FORBIDDEN');
    }
    const { client: other } = await otherOrganization(t);
    const foreign = await other.request(DELETE, { id: mine });
    expect([errorCode(foreign), foreign.errors![0]!.message]).toEqual(['NOT_FOUND', expect.stringContaining(mine)]);
    for (const id of [d, 'not-an-id', Buffer.from('Utterance:00000000-0000-0000-0000-000000000000').toString('base64url')]) {
      expect(errorCode(await t.admin.request(DELETE, { id }))).toBe('NOT_FOUND');
    }
    expect(await prisma().utterance.count({ where: { id: dbId(mine) } })).toBe(1);
    expect(existsSync(await audioPath(mine))).toBe(true);
    // Deleted once; the second time it is NOT_FOUND.
    expect((await t.admin.request(DELETE, { id: mine })).errors).toBeUndefined();
    expect(errorCode(await t.admin.request(DELETE, { id: mine }))).toBe('NOT_FOUND');
  });

  test('deleting a recording while its learner is erased: one of them goes first, neither fails', async () => {
    for (let round = 0; round < 4; round++) {
      const f = await learner(`del-race-${round}`);
      const target = await recording(f, 1.5 + round / 10);
      const erase = t.admin.request(`mutation($id: ID!) { eraseLearner(id: $id) { utterances } }`, { id: f });
      const remove = t.admin.request(DELETE, { id: target });
      const [erased, deleted] = await Promise.all([erase, remove]);
      expect(erased.errors).toBeUndefined();
      // Deleted first (the erasure then found one utterance fewer), or found already erased.
      if (deleted.errors) expect(errorCode(deleted)).toBe('NOT_FOUND');
      expect(erased.data.eraseLearner.utterances).toBe(deleted.errors ? 1 : 0);
      expect(await prisma().utterance.count({ where: { id: dbId(target) } })).toBe(0);
    }
  });

  test("the README's deleteUtterance line runs as written", async () => {
    const e = await learner('del-e');
    const target = await recording(e, 1.6);
    const line = readFileSync('README.md', 'utf8').split('\n').find((l) => l.startsWith('mutation { deleteUtterance('))!;
    const res = await t.admin.request(line.replace('"..."', JSON.stringify(target)));
    expect(res.errors).toBeUndefined();
    expect(res.data.deleteUtterance).toMatchObject({ utteranceId: target, learner: { id: e }, assessments: 1, jobs: 1 });
  });
});
