import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { errorCode } from '../support/client.js';
import { keyWithScopes, otherOrganization, seedModelAssessment, seedUtterance } from '../support/seed.js';
import type { HumanCheck } from '../../src/assessment/human.js';
import { toGlobalId } from '../../src/graphql/ids.js';
import { RATIONALE_FLAGS, type AssessmentLabels, type RationaleCheck, type RationaleFlag, type TokenFaithfulness } from '../../src/types.js';

const DATABASES = await testDatabases();

const CHECKS = `rationales flags { flag count share } words { precision recall } phonemes { precision recall }`;
const ANALYTICS = `query($v: String) { rationaleAnalytics(modelVersion: $v) {
  modelVersion assessments rationales selfCheck { ${CHECKS} } vsHuman { ${CHECKS} } } }`;
const FLAGGED = `query($flag: RationaleFlag, $v: String, $first: Int, $after: String) {
  flaggedAssessments(flag: $flag, modelVersion: $v, first: $first, after: $after) {
    edges { node { id model { version } rationale { flags } } } pageInfo { hasNextPage endCursor } } }`;

const LABELS: AssessmentLabels = {
  sentence: { accuracy: 7, fluency: 7, prosody: 7, completeness: 10, total: 7 },
  words: [{ text: 'HELLO', accuracy: 7, stress: 10, total: 7, phonemes: [{ symbol: 'HH', accuracy: 2 }] }],
};

function faith(precision: number | null, recall: number | null): TokenFaithfulness {
  return { criticised: [], praised: [], precision, recall, mentions: 1, agreeing: 1, errorTokens: 1, errorTokensCriticised: 1 };
}

/** A stored check with exactly these flags and precision/recall values. */
function check(flags: RationaleFlag[], words: [number | null, number | null], phonemes: [number | null, number | null]): RationaleCheck {
  const plausibility = { accuracy: 'consistent', fluency: 'consistent', prosody: 'consistent', overall: 'consistent' } as const;
  return { flags, plausibility, words: faith(...words), phonemes: faith(...phonemes), unknownWords: [] };
}

function humanCheck(flags: RationaleFlag[], words: [number | null, number | null] | null, phonemes: [number | null, number | null] | null): HumanCheck {
  const c = check(flags, [null, null], [null, null]);
  return { ...c, words: words && faith(...words), phonemes: phonemes && faith(...phonemes), humanAssessmentId: '00000000-0000-4000-8000-000000000000' };
}

/** Every flag in enum order, with the given counts and count / rationales. */
function shares(counts: Partial<Record<RationaleFlag, number>>, rationales: number) {
  return RATIONALE_FLAGS.map((flag) => ({ flag, count: counts[flag] ?? 0, share: rationales ? (counts[flag] ?? 0) / rationales : 0 }));
}

describe.each(DATABASES)('rationale analytics on %s', (kind) => {
  let t: TestApp;
  const statements: string[] = [];
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    t = await startTestApp(kind, { inProcessWorker: false }, { onQuery: (sql) => statements.push(sql) });
    const prisma = t.app.services.prisma;
    const org = await prisma.organization.findFirstOrThrow();
    const u = await seedUtterance(prisma, org.id, 'Hello');
    const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 12, minute));
    const seed = async (name: string, version: string, minute: number, rationale: Parameters<typeof seedModelAssessment>[3]) =>
      (ids[name] = toGlobalId('Assessment', await seedModelAssessment(prisma, u, LABELS, rationale, { version, createdAt: at(minute) })));
    const text = 'seeded';
    await seed('a1', 'v1', 1, { text, check: check(['MISSED_ERRORS'], [1, 0.5], [null, null]), humanCheck: humanCheck(['SENTIMENT_MISMATCH', 'MISSED_ERRORS'], [0.5, 0.25], null) });
    await seed('a2', 'v1', 2, { text, check: check([], [0.5, null], [1, 1]) });
    await seed('a3', 'v1', 3, { text, check: check(['UNSUPPORTED_WORD_CRITIQUE', 'MISSED_ERRORS'], [0, 0], [0.5, 0]), humanCheck: humanCheck([], [1, 1], [0.5, null]) });
    await seed('a4', 'v1', 4, null);
    await seed('b1', 'v2', 5, { text, check: check(['NO_TOKEN_REFERENCES'], [null, null], [null, null]) });
    // Not counted: HUMAN labels, and another organisation's assessments of the same version.
    await prisma.assessment.create({ data: { organizationId: org.id, utteranceId: u.id, source: 'HUMAN', ...LABELS.sentence } });
    const other = await otherOrganization(t);
    const foreign = await seedUtterance(prisma, other.org.id, 'Hello');
    await seedModelAssessment(prisma, foreign, LABELS, { text, check: check(['MISSED_ERRORS', 'CONTRADICTED_PRAISE'], [0, 0], [0, 0]) }, { version: 'v1' });
    ids.otherClientKey = other.client.apiKey!;
  });
  afterAll(() => t?.dispose());

  const v1 = {
    modelVersion: 'v1',
    assessments: 4,
    rationales: 3,
    selfCheck: {
      rationales: 3,
      flags: shares({ MISSED_ERRORS: 2, UNSUPPORTED_WORD_CRITIQUE: 1 }, 3),
      words: { precision: 0.5, recall: 0.25 },
      phonemes: { precision: 0.75, recall: 0.5 },
    },
    vsHuman: {
      rationales: 2,
      flags: shares({ MISSED_ERRORS: 1, SENTIMENT_MISMATCH: 1 }, 2),
      words: { precision: 0.75, recall: 0.625 },
      phonemes: { precision: 0.5, recall: null },
    },
  };
  const v2 = {
    modelVersion: 'v2',
    assessments: 1,
    rationales: 1,
    selfCheck: { rationales: 1, flags: shares({ NO_TOKEN_REFERENCES: 1 }, 1), words: { precision: null, recall: null }, phonemes: { precision: null, recall: null } },
    vsHuman: { rationales: 0, flags: shares({}, 0), words: { precision: null, recall: null }, phonemes: { precision: null, recall: null } },
  };

  test('counts, flag shares and means per model version match the seeded rows exactly', async () => {
    statements.length = 0;
    const res = await t.admin.request(ANALYTICS);
    expect(res.errors).toBeUndefined();
    expect(res.data.rationaleAnalytics).toEqual([v1, v2]);
    // Aggregated in the database: two statements, whatever the row count (the API key's look-up,
    // cached for a few seconds, and its lastUsedAt write, off the request's path, are not counted).
    const reads = statements.filter((s) => !/"ApiKey"/.test(s));
    expect(reads.length).toBeLessThanOrEqual(2);
    expect(statements.some((s) => /GROUP BY/i.test(s))).toBe(true);
  });

  test('filters by model version', async () => {
    expect((await t.admin.request(ANALYTICS, { v: 'v2' })).data.rationaleAnalytics).toEqual([v2]);
    expect((await t.admin.request(ANALYTICS, { v: 'nope' })).data.rationaleAnalytics).toEqual([]);
  });

  const flagged = async (variables: Record<string, unknown>) => {
    const res = await t.admin.request(FLAGGED, variables);
    expect(res.errors).toBeUndefined();
    return res.data.flaggedAssessments;
  };

  test('lists flagged assessments newest first, by flag and version', async () => {
    const names = (c: any) => c.edges.map((e: any) => Object.keys(ids).find((k) => ids[k] === e.node.id));
    expect(names(await flagged({ flag: 'MISSED_ERRORS' }))).toEqual(['a3', 'a1']);
    expect(names(await flagged({}))).toEqual(['b1', 'a3', 'a1']);
    expect(names(await flagged({ v: 'v1' }))).toEqual(['a3', 'a1']);
    expect(names(await flagged({ flag: 'NO_TOKEN_REFERENCES', v: 'v1' }))).toEqual([]);
    expect(names(await flagged({ flag: 'CONTRADICTED_PRAISE' }))).toEqual([]);
    const first = await flagged({ flag: 'MISSED_ERRORS', first: 1 });
    expect(names(first)).toEqual(['a3']);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = await flagged({ flag: 'MISSED_ERRORS', first: 1, after: first.pageInfo.endCursor });
    expect(names(second)).toEqual(['a1']);
    expect(second.pageInfo.hasNextPage).toBe(false);
    expect(second.edges[0].node.rationale.flags).toEqual(['MISSED_ERRORS']);
  });

  test('needs the admin scope', async () => {
    const reader = await keyWithScopes(t, ['SCORES_READ', 'ASSESS_WRITE']);
    expect(errorCode(await reader.request(ANALYTICS))).toBe('FORBIDDEN');
    expect(errorCode(await reader.request(FLAGGED, {}))).toBe('FORBIDDEN');
  });

  test('another organisation sees only its own rows', async () => {
    const other = t.admin.withKey(ids.otherClientKey);
    const stats = (await other.request(ANALYTICS)).data.rationaleAnalytics;
    expect(stats).toHaveLength(1);
    expect(stats[0]).toMatchObject({ modelVersion: 'v1', assessments: 1, rationales: 1 });
    expect(stats[0].selfCheck.flags.filter((f: any) => f.count > 0).map((f: any) => f.flag)).toEqual(['CONTRADICTED_PRAISE', 'MISSED_ERRORS']);
    const list = (await other.request(FLAGGED, {})).data.flaggedAssessments.edges;
    expect(list).toHaveLength(1);
    expect(Object.values(ids)).not.toContain(list[0].node.id);
  });
});
