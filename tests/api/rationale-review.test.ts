/**
 * reviewRationale over real HTTP on the real server: a person's verdict on a rationale, the review
 * queue it shrinks (`flaggedAssessments(reviewed:)`), what it says about the checks
 * (`rationaleAnalytics.reviews`, recomputed here from the stored rows), its audit trail, its
 * refusals (which write nothing), tenancy and scopes, and erasure.
 */
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { errorCode } from '../support/client.js';
import { keyWithScopes, otherOrganization, seedModelAssessment, seedUtterance } from '../support/seed.js';
import { fromGlobalId, toGlobalId } from '../../src/graphql/ids.js';
import type { AssessmentLabels, RationaleCheck, RationaleFlag, TokenFaithfulness } from '../../src/types.js';

const DATABASES = await testDatabases();

const REVIEW = `mutation($a: ID!, $v: RationaleVerdict!, $note: String) {
  reviewRationale(assessmentId: $a, verdict: $v, note: $note) { id rationale { flags review { verdict note reviewer reviewedAt } } } }`;
const QUEUE = `query($reviewed: Boolean, $flag: RationaleFlag, $learnerId: ID, $group: String) {
  flaggedAssessments(reviewed: $reviewed, flag: $flag, learnerId: $learnerId, group: $group) { totalCount edges { node { id } } } }`;
const STATS = `query { rationaleAnalytics { modelVersion rationales
  reviews { reviewed accurate inaccurate flaggedAccurate trustedInaccurate flagPrecision } } }`;

const LABELS: AssessmentLabels = {
  sentence: { accuracy: 7, fluency: 7, prosody: 7, completeness: 10, total: 7 },
  words: [{ text: 'HELLO', accuracy: 7, stress: 10, total: 7, phonemes: [{ symbol: 'HH', accuracy: 2 }] }],
};

function check(flags: RationaleFlag[]): RationaleCheck {
  const faith: TokenFaithfulness = { criticised: [], praised: [], precision: null, recall: null, mentions: 0, agreeing: 0, errorTokens: 0, errorTokensCriticised: 0 };
  const plausibility = { accuracy: 'consistent', fluency: 'consistent', prosody: 'consistent', overall: 'consistent' } as const;
  return { flags, plausibility, words: faith, phonemes: faith, unknownWords: [] };
}

describe.each(DATABASES)('rationale reviews on %s', (kind) => {
  let t: TestApp;
  const ids: Record<string, string> = {};
  let organizationId: string;
  let learnerToErase: string;
  let firstLearner: string;

  beforeAll(async () => {
    t = await startTestApp(kind, { inProcessWorker: false });
    const prisma = t.app.services.prisma;
    organizationId = (await prisma.organization.findFirstOrThrow({ orderBy: { createdAt: 'asc' } })).id;
    const u = await seedUtterance(prisma, organizationId, 'Hello');
    firstLearner = toGlobalId('Learner', u.learnerId);
    const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 12, minute));
    const seed = async (name: string, version: string, minute: number, flags: RationaleFlag[] | null, utterance = u) =>
      (ids[name] = toGlobalId('Assessment', await seedModelAssessment(prisma, utterance, LABELS,
        flags && { text: `seeded ${name}`, check: check(flags) }, { version, createdAt: at(minute) })));
    await seed('missed', 'v1', 1, ['MISSED_ERRORS']);
    await seed('trusted', 'v1', 2, []);
    await seed('praise', 'v1', 3, ['CONTRADICTED_PRAISE', 'MISSED_ERRORS']);
    await seed('silent', 'v1', 4, null);
    await seed('other', 'v2', 5, ['NO_TOKEN_REFERENCES']);
    const human = await prisma.assessment.create({ data: { organizationId, utteranceId: u.id, source: 'HUMAN', ...LABELS.sentence } });
    ids.human = toGlobalId('Assessment', human.id);
    const erasable = await seedUtterance(prisma, organizationId, 'Hello');
    learnerToErase = toGlobalId('Learner', erasable.learnerId);
    await prisma.learner.update({ where: { id: erasable.learnerId }, data: { groups: ['class-r'] } });
    await seed('erasable', 'v2', 6, ['MISSED_ERRORS'], erasable);
  });
  afterAll(() => t?.dispose());

  const review = async (name: string, verdict: string, note?: string | null) => {
    const res = await t.admin.request(REVIEW, { a: ids[name], v: verdict, note });
    expect(res.errors).toBeUndefined();
    return res.data.reviewRationale;
  };
  const queue = async (variables: Record<string, unknown>) => {
    const res = await t.admin.request(QUEUE, variables);
    expect(res.errors).toBeUndefined();
    const names = res.data.flaggedAssessments.edges.map((e: any) => Object.keys(ids).find((k) => ids[k] === e.node.id));
    expect(res.data.flaggedAssessments.totalCount).toBe(names.length);
    return names;
  };
  const counts = async () => {
    const prisma = t.app.services.prisma;
    return { reviews: await prisma.rationaleReview.count(), audits: await prisma.auditEvent.count({ where: { action: 'rationale.reviewed' } }) };
  };

  test("a teacher's queue: one learner's or one class's flagged rationales", async () => {
    expect(await queue({ reviewed: false, learnerId: learnerToErase })).toEqual(['erasable']);
    expect(await queue({ reviewed: false, learnerId: firstLearner })).toEqual(['other', 'praise', 'missed']);
    expect(await queue({ reviewed: false, group: 'class-r' })).toEqual(['erasable']);
    expect(await queue({ group: 'class-r', learnerId: firstLearner })).toEqual([]);
    expect(await queue({ group: 'no-such-class' })).toEqual([]);
    // An id of another type matches nothing, as another organisation's learner does.
    expect(await queue({ learnerId: ids.missed })).toEqual([]);
  });

  test('a verdict is stored with its reviewer and trimmed note, and leaves the queue', async () => {
    expect(await queue({ reviewed: false })).toEqual(['erasable', 'other', 'praise', 'missed']);
    expect(await queue({ reviewed: true })).toEqual([]);
    const before = Date.now();
    const assessment = await review('missed', 'INACCURATE', '  It never mentions the /h/ in HELLO.  ');
    expect(assessment.id).toBe(ids.missed);
    const key = await t.app.services.prisma.apiKey.findFirstOrThrow({ where: { organizationId }, orderBy: { createdAt: 'asc' } });
    expect(assessment.rationale).toEqual({
      flags: ['MISSED_ERRORS'],
      review: { verdict: 'INACCURATE', note: 'It never mentions the /h/ in HELLO.', reviewer: `${key.name} (${key.prefix})`, reviewedAt: expect.any(String) },
    });
    expect(Date.parse(assessment.rationale.review.reviewedAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(await queue({ reviewed: false })).toEqual(['erasable', 'other', 'praise']);
    expect(await queue({ reviewed: true })).toEqual(['missed']);
    expect(await queue({ reviewed: false, flag: 'MISSED_ERRORS' })).toEqual(['erasable', 'praise']);
    expect(await queue({})).toEqual(['erasable', 'other', 'praise', 'missed']);
  });

  test('a new verdict replaces the earlier one; the audit log keeps both', async () => {
    await review('praise', 'INACCURATE', 'praises HELLO, which was weak');
    const replaced = await review('praise', 'ACCURATE', '   ');
    expect(replaced.rationale.review).toMatchObject({ verdict: 'ACCURATE', note: null });
    const rationale = { assessmentId: fromGlobalId(ids.praise!)!.id };
    expect(await t.app.services.prisma.rationaleReview.count({ where: { rationale } })).toBe(1);
    const log = await t.admin.request(`query { auditEvents(action: "rationale.reviewed", first: 2) {
      edges { node { action targetType targetId details } } } }`);
    expect(log.errors).toBeUndefined();
    expect(log.data.auditEvents.edges.map((e: any) => e.node)).toEqual([
      { action: 'rationale.reviewed', targetType: 'Assessment', targetId: ids.praise, details: { verdict: 'ACCURATE', previousVerdict: 'INACCURATE', flags: ['CONTRADICTED_PRAISE', 'MISSED_ERRORS'], noteChars: 0 } },
      { action: 'rationale.reviewed', targetType: 'Assessment', targetId: ids.praise, details: { verdict: 'INACCURATE', previousVerdict: null, flags: ['CONTRADICTED_PRAISE', 'MISSED_ERRORS'], noteChars: 29 } },
    ]);
  });

  test('two verdicts in one request: each payload shows its own, the last one stays', async () => {
    const res = await t.admin.request(`mutation($a: ID!) {
      first: reviewRationale(assessmentId: $a, verdict: ACCURATE) { rationale { review { verdict } } }
      second: reviewRationale(assessmentId: $a, verdict: INACCURATE, note: "changed my mind") { rationale { review { verdict note } } } }`, { a: ids.praise });
    expect(res.errors).toBeUndefined();
    expect(res.data.first.rationale.review).toEqual({ verdict: 'ACCURATE' });
    expect(res.data.second.rationale.review).toEqual({ verdict: 'INACCURATE', note: 'changed my mind' });
    const stored = await t.app.services.prisma.rationaleReview.findFirstOrThrow({ where: { rationale: { assessmentId: fromGlobalId(ids.praise!)!.id } } });
    expect(stored).toMatchObject({ verdict: 'INACCURATE', note: 'changed my mind' });
    await review('praise', 'ACCURATE'); // back to the verdict the counts below expect
  });

  test('rationaleAnalytics counts the verdicts as the stored rows say', async () => {
    await review('trusted', 'INACCURATE');
    await review('other', 'ACCURATE');
    const res = await t.admin.request(STATS);
    expect(res.errors).toBeUndefined();
    // The expectation recomputed from the rows: every review with its rationale's flags and version.
    const rows = await t.app.services.prisma.rationaleReview.findMany({
      where: { organizationId }, include: { rationale: { select: { flags: true, assessment: { select: { modelVersion: true } } } } },
    });
    const expected = (version: string) => {
      const mine = rows.filter((r) => r.rationale.assessment.modelVersion === version);
      const flagged = mine.filter((r) => r.rationale.flags.length > 0);
      return {
        reviewed: mine.length,
        accurate: mine.filter((r) => r.verdict === 'ACCURATE').length,
        inaccurate: mine.filter((r) => r.verdict === 'INACCURATE').length,
        flaggedAccurate: flagged.filter((r) => r.verdict === 'ACCURATE').length,
        trustedInaccurate: mine.filter((r) => r.rationale.flags.length === 0 && r.verdict === 'INACCURATE').length,
        flagPrecision: flagged.length ? flagged.filter((r) => r.verdict === 'INACCURATE').length / flagged.length : null,
      };
    };
    expect(res.data.rationaleAnalytics).toEqual([
      { modelVersion: 'v1', rationales: 3, reviews: expected('v1') },
      { modelVersion: 'v2', rationales: 2, reviews: expected('v2') },
    ]);
    // and the known answer: missed INACCURATE, praise ACCURATE (a false alarm), trusted INACCURATE (a miss)
    expect(res.data.rationaleAnalytics[0].reviews).toEqual({ reviewed: 3, accurate: 1, inaccurate: 2, flaggedAccurate: 1, trustedInaccurate: 1, flagPrecision: 0.5 });
    expect(res.data.rationaleAnalytics[1].reviews).toEqual({ reviewed: 1, accurate: 1, inaccurate: 0, flaggedAccurate: 1, trustedInaccurate: 0, flagPrecision: 0 });
  });

  test('reviewedAssessments lists what the reviewers found, by verdict, flag and version', async () => {
    const reviewed = async (variables: Record<string, unknown>) => {
      const res = await t.admin.request(`query($verdict: RationaleVerdict, $flagged: Boolean, $v: String, $first: Int, $after: String, $learnerId: ID, $group: String) {
        reviewedAssessments(verdict: $verdict, flagged: $flagged, modelVersion: $v, first: $first, after: $after, learnerId: $learnerId, group: $group) {
          totalCount edges { node { id rationale { review { verdict } } } } pageInfo { hasNextPage endCursor } } }`, variables);
      expect(res.errors).toBeUndefined();
      return res.data.reviewedAssessments;
    };
    const names = (c: any) => c.edges.map((e: any) => Object.keys(ids).find((k) => ids[k] === e.node.id));
    // As the test above left them: missed INACCURATE, trusted INACCURATE (no flag), praise and other ACCURATE.
    const all = await reviewed({});
    expect(names(all)).toEqual(['other', 'praise', 'trusted', 'missed']);
    expect(all.totalCount).toBe(4);
    expect(names(await reviewed({ verdict: 'INACCURATE' }))).toEqual(['trusted', 'missed']);
    expect(names(await reviewed({ verdict: 'INACCURATE', flagged: false }))).toEqual(['trusted']);
    expect(names(await reviewed({ learnerId: firstLearner }))).toEqual(['other', 'praise', 'trusted', 'missed']);
    expect(names(await reviewed({ learnerId: learnerToErase }))).toEqual([]);
    expect(names(await reviewed({ group: 'class-r' }))).toEqual([]);
    expect(names(await reviewed({ verdict: 'ACCURATE', flagged: true, v: 'v1' }))).toEqual(['praise']);
    expect((await reviewed({ verdict: 'ACCURATE' })).edges.map((e: any) => e.node.rationale.review.verdict)).toEqual(['ACCURATE', 'ACCURATE']);
    const page1 = await reviewed({ first: 3 });
    expect(page1.pageInfo.hasNextPage).toBe(true);
    expect(names(await reviewed({ first: 3, after: page1.pageInfo.endCursor }))).toEqual(['missed']);
    const reader = await keyWithScopes(t, ['SCORES_READ', 'ASSESS_WRITE']);
    expect(errorCode(await reader.request(`{ reviewedAssessments { totalCount } }`))).toBe('FORBIDDEN');
  });

  test('refusals have stable codes and write nothing', async () => {
    const before = await counts();
    const refused = async (variables: Record<string, unknown>, code = 'BAD_USER_INPUT', client = t.admin) => {
      const res = await client.request(REVIEW, { v: 'ACCURATE', ...variables });
      expect(errorCode(res)).toBe(code);
      expect(res.data ?? null).toBeNull();
      return res.errors![0]!.message;
    };
    expect(await refused({ a: ids.missed, note: 'x'.repeat(2001) })).toMatch(/at most 2000 characters/);
    expect(await refused({ a: ids.human })).toMatch(/human labels/);
    expect(await refused({ a: ids.silent })).toMatch(/no rationale/);
    await refused({ a: 'not-an-id' }, 'NOT_FOUND');
    await refused({ a: toGlobalId('Assessment', '00000000-0000-4000-8000-000000000000') }, 'NOT_FOUND');
    await refused({ a: toGlobalId('Utterance', '00000000-0000-4000-8000-000000000000') }, 'NOT_FOUND');
    await refused({ a: ids.missed, v: 'MAYBE' }, 'BAD_USER_INPUT');
    const other = await otherOrganization(t);
    await refused({ a: ids.missed }, 'NOT_FOUND', other.client);
    const reader = await keyWithScopes(t, ['SCORES_READ', 'ASSESS_WRITE']);
    await refused({ a: ids.missed }, 'FORBIDDEN', reader);
    expect(await counts()).toEqual(before);
    // The note on an accepted verdict may be exactly 2000 characters.
    expect((await review('missed', 'INACCURATE', 'y'.repeat(2000))).rationale.review.note).toHaveLength(2000);
  });

  test("a reader without the admin scope sees the rationale but not the reviewers' verdict", async () => {
    const reader = await keyWithScopes(t, ['SCORES_READ']);
    const res = await reader.request(`query($a: ID!) { assessment(id: $a) { rationale { text review { verdict } } } }`, { a: ids.missed });
    expect(errorCode(res)).toBe('FORBIDDEN');
    expect((res.errors![0] as { path?: unknown }).path).toEqual(['assessment', 'rationale', 'review']);
    expect(res.data.assessment.rationale).toEqual({ text: 'seeded missed', review: null });
    expect(errorCode(await reader.request(QUEUE, { reviewed: false }))).toBe('FORBIDDEN');
  });

  test("another organisation's queue and counts are its own", async () => {
    const other = await otherOrganization(t);
    const prisma = t.app.services.prisma;
    const statsOf = async (client: typeof t.admin) => {
      const res = await client.request(STATS);
      expect(res.errors).toBeUndefined();
      return res.data.rationaleAnalytics;
    };
    const ours = await statsOf(t.admin);
    // Its own flagged v1 rationale, reviewed by its own admin.
    const u = await seedUtterance(prisma, other.org.id, 'Hello');
    const theirs = toGlobalId('Assessment', await seedModelAssessment(prisma, u, LABELS, { text: 'theirs', check: check(['MISSED_ERRORS']) }, { version: 'v1' }));
    const reviewed = await other.client.request(REVIEW, { a: theirs, v: 'ACCURATE', note: 'their note' });
    expect(reviewed.errors).toBeUndefined();
    expect(await statsOf(other.client)).toEqual([{
      modelVersion: 'v1', rationales: 1,
      reviews: { reviewed: 1, accurate: 1, inaccurate: 0, flaggedAccurate: 1, trustedInaccurate: 0, flagPrecision: 0 },
    }]);
    const queue = (await other.client.request(QUEUE, { reviewed: true })).data.flaggedAssessments;
    expect(queue.edges.map((e: any) => e.node.id)).toEqual([theirs]);
    // Ours did not move, and our key cannot review theirs.
    expect(await statsOf(t.admin)).toEqual(ours);
    expect(errorCode(await t.admin.request(REVIEW, { a: theirs, v: 'INACCURATE' }))).toBe('NOT_FOUND');
  });

  test("erasing the learner erases the reviews of their rationales", async () => {
    await review('erasable', 'INACCURATE', 'a note about this learner');
    const prisma = t.app.services.prisma;
    const reviewsOf = () => prisma.rationaleReview.count({ where: { note: 'a note about this learner' } });
    expect(await reviewsOf()).toBe(1);
    const erased = await t.admin.request(`mutation($id: ID!) { eraseLearner(id: $id) { learners } }`, { id: learnerToErase });
    expect(erased.errors).toBeUndefined();
    expect(await reviewsOf()).toBe(0);
    // The audit log keeps that a review was made, never the note about the learner.
    const log = await prisma.auditEvent.findMany({ where: { action: 'rationale.reviewed' } });
    expect(log.length).toBeGreaterThan(0);
    expect(JSON.stringify(log)).not.toContain('a note about this learner');
    expect(log.find((e) => e.targetId === fromGlobalId(ids.erasable!)!.id)?.details).toMatchObject({ verdict: 'INACCURATE', noteChars: 25 });
  });

  test('superseded: the queues of what learners see now, or of what re-assessments replaced, when each was replaced', async () => {
    const SUPERSEDED = `query($superseded: Boolean) {
      flaggedAssessments(superseded: $superseded) { totalCount edges { node { id supersededAt } } }
      reviewedAssessments(superseded: $superseded, first: 50) { totalCount edges { node { id } } } }`;
    const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 12, minute)).toISOString();
    const named = (edges: any[]) => edges.map((e) => Object.keys(ids).find((k) => ids[k] === e.node.id));
    const current = (await t.admin.request(SUPERSEDED, { superseded: false })).data;
    const replaced = (await t.admin.request(SUPERSEDED, { superseded: true })).data;
    // "Hello" was assessed five times (minutes 1-5): only the last, "other", is current.
    expect(named(current.flaggedAssessments.edges)).toEqual(['other']);
    expect(current.flaggedAssessments.edges[0].node.supersededAt).toBeNull();
    expect(named(replaced.flaggedAssessments.edges)).toEqual(['praise', 'missed']);
    // Each replaced when the next one was made.
    expect(replaced.flaggedAssessments.edges.map((e: any) => e.node.supersededAt)).toEqual([at(4), at(2)]);
    expect(current.flaggedAssessments.totalCount + replaced.flaggedAssessments.totalCount)
      .toBe((await t.admin.request(`{ flaggedAssessments { totalCount } }`)).data.flaggedAssessments.totalCount);
    // The reviewed list splits the same way as the stored rows do.
    const prisma = t.app.services.prisma;
    const reviewed = await prisma.assessment.findMany({ where: { organizationId, rationale: { is: { review: { isNot: null } } } }, select: { id: true, supersededAt: true } });
    expect(reviewed.length).toBeGreaterThan(0);
    const ofRows = (superseded: boolean) => reviewed.filter((r) => (r.supersededAt !== null) === superseded).map((r) => toGlobalId('Assessment', r.id)).sort();
    expect(current.reviewedAssessments.edges.map((e: any) => e.node.id).sort()).toEqual(ofRows(false));
    expect(replaced.reviewedAssessments.edges.map((e: any) => e.node.id).sort()).toEqual(ofRows(true));
    // Human labels are never superseded; a model assessment imported with an older time is replaced at once, by the next one in time.
    const ofNode = async (id: string) => (await t.admin.request(`query($id: ID!) { node(id: $id) { ... on Assessment { supersededAt } } }`, { id })).data.node.supersededAt;
    expect(await ofNode(ids.human!)).toBeNull();
    const { utteranceId } = await prisma.assessment.findUniqueOrThrow({ where: { id: fromGlobalId(ids.other!)!.id }, select: { utteranceId: true } });
    const older = toGlobalId('Assessment', await seedModelAssessment(prisma, { id: utteranceId, organizationId }, LABELS, null, { createdAt: new Date(Date.UTC(2026, 0, 1, 11, 0)) }));
    expect([await ofNode(older), await ofNode(ids.missed!), await ofNode(ids.other!)]).toEqual([at(1), at(2), null]);
  });
});
