/**
 * The indexes of the read path and of erasure, checked where it matters: in the planner's own
 * EXPLAIN output, on a database seeded with enough rows (and ANALYZEd) for a sequential scan to be
 * the worse plan. Two tenants: a big one (the bulk of the rows) and a small one, as on a shared
 * deployment. The statements explained are the ones our code sends (captured through Prisma's query
 * log), and the ones PostgreSQL runs for a cascading delete.
 */
import { randomUUID } from 'node:crypto';
import { describeEachDatabase } from '../support/db.js';
import { openTestDatabase, type TestDatabase } from '../support/db.js';
import { createLoaders } from '../../src/graphql/loaders.js';
import { rationaleAnalytics } from '../../src/analytics/trust.js';
import type { Principal } from '../../src/graphql/auth.js';

const BIG_UTTERANCES = 3000;
const SMALL_UTTERANCES = 40;
/** A flag almost nobody raises: the review queue must find these through the GIN index on flags. */
const RARE_FLAG = 'MISSED_ERRORS';
const RARE_COUNT = 3;

/** One tenant's rows: learners, utterances, jobs, MODEL assessments with one word, three phonemes and a rationale. */
function seedTenant(org: string, utterances: number, rareEvery: number | null): string {
  return `
    INSERT INTO "Organization"(id, name) VALUES ('${org}', 'org ${org}');
    INSERT INTO "Learner"(id, "organizationId", "externalId")
      SELECT md5('${org}' || 'l' || g)::uuid, '${org}', 'learner-' || g FROM generate_series(1, ${Math.max(1, utterances / 10)}) g;
    INSERT INTO "Utterance"(id, "organizationId", "learnerId", "referenceText", "referenceWords", "audioSha256", "audioFormat",
                            "audioBytes", "durationMs", "sourceSampleRate", "sourceChannels", "speechMs", "createdAt", "metadata")
      SELECT md5('${org}' || 'u' || g)::uuid, '${org}', md5('${org}' || 'l' || (1 + g % ${Math.max(1, utterances / 10)}))::uuid,
             'WE CALL IT BEAR', '[]', md5('a' || g), 'wav', 1000, 1000, 16000, 1, 900, now() - g * interval '1 minute',
             jsonb_build_object('lmsAttemptId', 'att-' || g, 'course', 'c-' || g % 5)
        FROM generate_series(1, ${utterances}) g;
    INSERT INTO "Job"(id, "organizationId", "utteranceId", status, "createdAt")
      SELECT md5('${org}' || 'j' || g)::uuid, '${org}', md5('${org}' || 'u' || g)::uuid, 'SUCCEEDED', now() - g * interval '1 minute'
        FROM generate_series(1, ${utterances}) g;
    INSERT INTO "Assessment"(id, "organizationId", "utteranceId", "jobId", source, "modelName", "modelVersion", "executionProvider",
                             accuracy, fluency, prosody, completeness, total, "createdAt")
      SELECT md5('${org}' || 'a' || g)::uuid, '${org}', md5('${org}' || 'u' || g)::uuid, md5('${org}' || 'j' || g)::uuid, 'MODEL',
             'm', CASE WHEN g % 2 = 0 THEN 'v1' ELSE 'v2' END, 'cpu', 8, 8, 8, 10, 8, now() - g * interval '1 minute'
        FROM generate_series(1, ${utterances}) g;
    INSERT INTO "WordAssessment"(id, "organizationId", "assessmentId", index, text, accuracy, stress, total)
      SELECT md5('${org}' || 'w' || g)::uuid, '${org}', md5('${org}' || 'a' || g)::uuid, 0, 'BEAR', 8, 10, 8
        FROM generate_series(1, ${utterances}) g;
    INSERT INTO "PhonemeAssessment"(id, "organizationId", "assessmentId", "wordAssessmentId", index, symbol, accuracy)
      SELECT gen_random_uuid(), '${org}', md5('${org}' || 'a' || g)::uuid, md5('${org}' || 'w' || g)::uuid, p, 'B', 2
        FROM generate_series(1, ${utterances}) g, generate_series(0, 2) p;
    INSERT INTO "Rationale"(id, "organizationId", "assessmentId", text, flags, plausibility, "wordCheck", "phonemeCheck",
                            "wordPrecision", "wordRecall", "createdAt")
      SELECT gen_random_uuid(), '${org}', md5('${org}' || 'a' || g)::uuid, 'Good.',
             CASE WHEN ${rareEvery ?? 0} > 0 AND g % ${rareEvery ?? 1} = 0 THEN ARRAY['${RARE_FLAG}']
                  WHEN g % 3 = 0 THEN ARRAY['SENTIMENT_MISMATCH'] ELSE ARRAY[]::text[] END,
             '{}', '{}', '{}', 1, 1, now() - g * interval '1 minute'
        FROM generate_series(1, ${utterances}) g;`;
}

/** The planner's plan for `sql` with `params`, as text (no ANALYZE: nothing is executed). */
async function explain(db: TestDatabase, sql: string, params: unknown[] = []): Promise<string> {
  const rows = await db.executor.withConnection((c) => c.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, params));
  return rows.map((r) => r['QUERY PLAN']).join('\n');
}

/** Statements Prisma sent while `fn` ran, with their parameters. */
async function captured(log: { sql: string; params: unknown[] }[], fn: () => Promise<unknown>) {
  log.length = 0;
  await fn();
  return [...log];
}

const adminOf = (organizationId: string): Principal => ({
  organizationId, apiKeyId: randomUUID(), apiKeyLabel: 'plans', scopes: ['ADMIN', 'SCORES_READ', 'ASSESS_WRITE'] as Principal['scopes'],
});

describeEachDatabase('query plans', ({ kind }) => {
  const big = randomUUID();
  const small = randomUUID();
  const log: { sql: string; params: unknown[] }[] = [];
  let db: TestDatabase;

  beforeAll(async () => {
    db = await openTestDatabase(kind, {
      onQuery: (sql, params) => log.push({ sql, params: params ? (JSON.parse(params) as unknown[]) : [] }),
    });
    // The big tenant's rare flag on RARE_COUNT rationales; the small tenant's on none.
    await db.executor.withConnection((c) => c.exec(seedTenant(big, BIG_UTTERANCES, Math.floor(BIG_UTTERANCES / RARE_COUNT)) + seedTenant(small, SMALL_UTTERANCES, null)));
    await db.executor.withConnection((c) => c.exec('VACUUM ANALYZE'));
  }, 120_000);
  afterAll(async () => {
    await db?.close();
  });

  test.each([
    ['Utterance', 'learnerId', 'Utterance_learnerId_idx'],
    ['Job', 'utteranceId', 'Job_utteranceId_idx'],
    ['Assessment', 'utteranceId', 'Assessment_utteranceId_idx'],
    ['PhonemeAssessment', 'assessmentId', 'PhonemeAssessment_assessmentId_idx'],
  ])('a cascading delete from %s by %s uses %s', async (table, column, index) => {
    // What PostgreSQL's referential-integrity trigger runs for each deleted parent row.
    const plan = await explain(db, `DELETE FROM ONLY "${table}" WHERE $1::uuid = "${column}"`, [randomUUID()]);
    expect(plan).not.toMatch(/Seq Scan/);
    expect(plan).toContain(`Index Cond: ("${column}" = `);
    // PGlite's planner (PostgreSQL 17) sometimes costs the wider (organizationId, learnerId, ...)
    // index the same and takes it; the server's takes the foreign key's own index.
    if (kind === 'postgres' || table !== 'Utterance') expect(plan).toContain(index);
  });

  test('rationaleAnalytics of a small tenant reads neither table sequentially', async () => {
    const statements = await captured(log, () => rationaleAnalytics(db.prisma, small, null));
    expect(statements.length).toBeGreaterThanOrEqual(2);
    for (const s of statements) {
      const plan = await explain(db, s.sql, s.params);
      // the two big tables by name; RationaleReview (a row per person's verdict, empty here) may be
      expect(plan).not.toMatch(/Seq Scan on "?(Assessment|Rationale)"?\s/);
      expect(plan).toMatch(/Index (Only )?Scan|Bitmap Index Scan/);
    }
  });

  test('flaggedAssessments for a rare flag is found through the GIN index on flags', async () => {
    const loaders = createLoaders(db.prisma, adminOf(big));
    let page: Awaited<ReturnType<typeof loaders.flaggedAssessmentsPage>> | undefined;
    const statements = await captured(log, async () => {
      page = await loaders.flaggedAssessmentsPage({ first: 20, flag: RARE_FLAG });
    });
    expect(page!.edges).toHaveLength(RARE_COUNT);
    const listing = statements.find((s) => /"Assessment"/.test(s.sql) && /flags/.test(s.sql));
    expect(listing).toBeDefined();
    const plan = await explain(db, listing!.sql, listing!.params);
    expect(plan).toContain('Rationale_flags_idx');
    expect(plan).not.toMatch(/Seq Scan/);
  });

  // Issue 9's learner reads on the big tenant: the history page (each learner's page in one LATERAL
  // statement), progress, and a windowed sound profile (from the phoneme rows, not the rollups).
  test.each([
    ['a history page', (l: ReturnType<typeof createLoaders>, id: string) => l.utterancesPage(id, { first: 20 })],
    ['a history page filtered by status', (l: ReturnType<typeof createLoaders>, id: string) => l.utterancesPage(id, { first: 20, filter: { status: 'SUCCEEDED' } })],
    ['learner progress', (l: ReturnType<typeof createLoaders>, id: string) => l.analytics.progress(id, {})],
    ['a windowed sound profile', (l: ReturnType<typeof createLoaders>, id: string) => l.analytics.soundProfile(id, { from: new Date(0) })],
  ])('%s reads no big table sequentially', async (_name, read) => {
    const learnerId = (await db.prisma.learner.findFirstOrThrow({ where: { organizationId: big }, orderBy: { externalId: 'asc' } })).id;
    const statements = await captured(log, () => read(createLoaders(db.prisma, adminOf(big)), learnerId));
    const reads = statements.filter((s) => /"(Utterance|Assessment|WordAssessment|PhonemeAssessment)"/.test(s.sql));
    expect(reads.length).toBeGreaterThan(0);
    for (const s of reads) {
      const plan = await explain(db, s.sql, s.params);
      expect({ sql: s.sql.slice(0, 80), plan }).not.toMatchObject({ plan: expect.stringMatching(/Seq Scan on "?(Utterance|Assessment|WordAssessment|PhonemeAssessment|Job)"?/) });
    }
  });

  test('utterances by a metadata pair are found through the GIN index on metadata', async () => {
    const loaders = createLoaders(db.prisma, adminOf(big));
    let page: Awaited<ReturnType<typeof loaders.allUtterancesPage>> | undefined;
    const statements = await captured(log, async () => {
      page = await loaders.allUtterancesPage({ first: 20, withTotalCount: true, filter: { metadata: { lmsAttemptId: 'att-42' } } });
    });
    expect(page!.edges).toHaveLength(1);
    expect(page!.totalCount).toBe(1);
    const reads = statements.filter((s) => /"Utterance"/.test(s.sql) && /metadata/.test(s.sql));
    expect(reads.length).toBeGreaterThan(0);
    for (const s of reads) {
      const plan = await explain(db, s.sql, s.params);
      expect(plan).toContain('Utterance_metadata_idx');
      expect(plan).not.toMatch(/Seq Scan on "?Utterance"?/);
    }
  });

  test('flaggedAssessments of a small tenant (any flag) stays on its own rows', async () => {
    const loaders = createLoaders(db.prisma, adminOf(small));
    const statements = await captured(log, () => loaders.flaggedAssessmentsPage({ first: 20 }));
    const listing = statements.find((s) => /"Assessment"/.test(s.sql));
    const plan = await explain(db, listing!.sql, listing!.params);
    expect(plan).not.toMatch(/Seq Scan on "?(Assessment|Rationale)/);
  });
});
