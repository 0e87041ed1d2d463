/**
 * Learner.activity over real HTTP on both databases: each learner's recordings counted, first and
 * latest, equal to a recomputation from the stored rows (a learner without any: 0 and nulls; another
 * organisation's rows never counted), one statement for a whole page of learners, and learner data:
 * a key without SCORES_READ is refused it even on the learner it just created.
 */
import { randomUUID } from 'node:crypto';
import type { PrismaClient } from '../../src/generated/prisma/client.js';
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { errorCode } from '../support/client.js';
import { keyWithScopes, otherOrganization } from '../support/seed.js';
import { analyzeReferenceText } from '../../src/text/reference.js';

const DATABASES = await testDatabases();

const LEARNERS = `query($first: Int!, $search: String) { learners(first: $first, filter: {search: $search}) { edges { node {
  id externalId activity { recordings firstPracticeAt lastPracticeAt } } } } }`;

async function recording(prisma: PrismaClient, organizationId: string, learnerId: string, at: string) {
  return prisma.utterance.create({
    data: {
      organizationId, learnerId, referenceText: 'We call it bear', referenceWords: analyzeReferenceText('We call it bear') as never,
      audioSha256: randomUUID().replace(/-/g, '').padEnd(64, '0'), audioFormat: 'wav', audioBytes: 1, durationMs: 1000,
      sourceSampleRate: 16000, sourceChannels: 1, speechMs: 900, createdAt: new Date(at),
    },
  });
}

describe.each(DATABASES)('Learner.activity on %s', (kind) => {
  let t: TestApp;
  const statements: string[] = [];
  const tag = `activity-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    // No in-process worker: its polling would add statements that are not the request's.
    t = await startTestApp(kind, { inProcessWorker: false }, { onQuery: (sql) => statements.push(sql) });
    const prisma = t.app.services.prisma;
    const org = await prisma.organization.findFirstOrThrow({ orderBy: { createdAt: 'asc' } });
    const learner = (n: string) => prisma.learner.create({ data: { organizationId: org.id, externalId: `${tag}-${n}` } });
    const [a, b] = [await learner('a'), await learner('b'), await learner('c')];
    for (const at of ['2026-03-02T08:00:00.250Z', '2026-01-15T10:00:00.000Z', '2026-02-01T23:59:59.999Z']) await recording(prisma, org.id, a!.id, at);
    const deleted = await recording(prisma, org.id, b!.id, '2026-04-01T00:00:00.000Z');
    await recording(prisma, org.id, b!.id, '2026-03-31T12:00:00.000Z');
    await prisma.utterance.delete({ where: { id: deleted.id } }); // a deleted recording is gone from the count
    // Another organisation's learner with the same externalId and a newer recording: never counted.
    const other = await otherOrganization(t);
    const twin = await prisma.learner.create({ data: { organizationId: other.org.id, externalId: `${tag}-a` } });
    await recording(prisma, other.org.id, twin.id, '2026-05-01T00:00:00.000Z');
  });
  afterAll(() => t?.dispose());

  test('recordings, first and latest per learner, as the stored rows say; none: 0 and nulls', async () => {
    const res = await t.admin.request(LEARNERS, { first: 10, search: tag });
    expect(res.errors).toBeUndefined();
    const got = res.data.learners.edges.map((e: { node: { externalId: string; activity: unknown } }) => [e.node.externalId, e.node.activity]);
    // Recomputed from the organisation's rows.
    const prisma = t.app.services.prisma;
    const org = await prisma.organization.findFirstOrThrow({ orderBy: { createdAt: 'asc' } });
    const want = [];
    for (const l of await prisma.learner.findMany({ where: { organizationId: org.id, externalId: { startsWith: tag } } })) {
      const rows = await prisma.utterance.findMany({ where: { learnerId: l.id }, orderBy: { createdAt: 'asc' } });
      want.push([l.externalId, {
        recordings: rows.length,
        firstPracticeAt: rows[0]?.createdAt.toISOString() ?? null,
        lastPracticeAt: rows.at(-1)?.createdAt.toISOString() ?? null,
      }]);
    }
    expect([...got].sort()).toEqual([...want].sort());
    expect(Object.fromEntries(got)).toEqual({
      [`${tag}-a`]: { recordings: 3, firstPracticeAt: '2026-01-15T10:00:00.000Z', lastPracticeAt: '2026-03-02T08:00:00.250Z' },
      [`${tag}-b`]: { recordings: 1, firstPracticeAt: '2026-03-31T12:00:00.000Z', lastPracticeAt: '2026-03-31T12:00:00.000Z' },
      [`${tag}-c`]: { recordings: 0, firstPracticeAt: null, lastPracticeAt: null },
    });
  });

  test('one statement for a page of learners, whatever its size', async () => {
    const cost = async (first: number) => {
      statements.length = 0;
      const res = await t.admin.request(LEARNERS, { first, search: tag });
      expect(res.errors).toBeUndefined();
      expect(res.data.learners.edges).toHaveLength(first);
      return statements.filter((s) => /"Utterance"/.test(s)).length;
    };
    expect(await cost(1)).toBe(1);
    expect(await cost(3)).toBe(1);
  });

  test('learner data: a key without SCORES_READ is refused it, even on the learner it just created', async () => {
    const writer = await keyWithScopes(t, ['ASSESS_WRITE']);
    const created = await writer.request(`mutation($e: String!) { createLearner(input: {externalId: $e}) { id externalId activity { recordings } } }`, { e: `${tag}-new` });
    expect(errorCode(created)).toBe('FORBIDDEN');
    expect(created.errors![0]!.path).toEqual(['createLearner', 'activity']);
    // The learner it wrote is still returned, without the activity.
    expect(created.data.createLearner).toEqual({ id: expect.any(String), externalId: `${tag}-new`, activity: null });
    const reader = await keyWithScopes(t, ['SCORES_READ']);
    const read = await reader.request(`query($id: ID!) { node(id: $id) { ... on Learner { activity { recordings lastPracticeAt } } } }`, { id: created.data.createLearner.id });
    expect(read.errors).toBeUndefined();
    expect(read.data.node).toEqual({ activity: { recordings: 0, lastPracticeAt: null } });
  });
});
