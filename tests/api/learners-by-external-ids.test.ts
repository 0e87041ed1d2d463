/**
 * Query.learnersByExternalIds over real HTTP on both databases: a roster page matched in one
 * request and one statement, each id answered in its place (unknown and other organisations' ids
 * as null, a repeated id with the same learner), at most 100, SCORES_READ.
 */
import { randomUUID } from 'node:crypto';
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { errorCode } from '../support/client.js';
import { keyWithScopes, otherOrganization } from '../support/seed.js';
import { toGlobalId } from '../../src/graphql/ids.js';

const DATABASES = await testDatabases();
const BY_IDS = `query($ids: [String!]!) { learnersByExternalIds(externalIds: $ids) { id externalId } }`;

describe.each(DATABASES)('learnersByExternalIds on %s', (kind) => {
  let t: TestApp;
  const statements: string[] = [];
  const tag = `roster-${randomUUID().slice(0, 8)}`;
  const learners: { id: string; externalId: string }[] = [];

  beforeAll(async () => {
    // No in-process worker: its polling would add statements that are not the request's.
    t = await startTestApp(kind, { inProcessWorker: false }, { onQuery: (sql) => statements.push(sql) });
    const prisma = t.app.services.prisma;
    const org = await prisma.organization.findFirstOrThrow({ orderBy: { createdAt: 'asc' } });
    for (let i = 0; i < 60; i++) learners.push(await prisma.learner.create({ data: { organizationId: org.id, externalId: `${tag}-${String(i).padStart(2, '0')}` } }));
    // Another organisation's learner with an id of its own.
    const other = await otherOrganization(t);
    await prisma.learner.create({ data: { organizationId: other.org.id, externalId: `${tag}-theirs` } });
  });
  afterAll(() => t?.dispose());

  test('each id in its place: unknown, case-different and other organisations’ ids null, a repeat answered again', async () => {
    const [a, b] = [learners[7]!, learners[3]!];
    const ids = [a.externalId, `${tag}-missing`, b.externalId, a.externalId.toUpperCase(), `${tag}-theirs`, a.externalId];
    const res = await t.admin.request(BY_IDS, { ids });
    expect(res.errors).toBeUndefined();
    const one = (l: { id: string; externalId: string }) => ({ id: toGlobalId('Learner', l.id), externalId: l.externalId });
    expect(res.data.learnersByExternalIds).toEqual([one(a), null, one(b), null, null, one(a)]);
    expect((await t.admin.request(BY_IDS, { ids: [] })).data.learnersByExternalIds).toEqual([]);
  });

  test('one statement for a roster page, whatever its size; at most 100 ids', async () => {
    const cost = async (n: number) => {
      statements.length = 0;
      const res = await t.admin.request(BY_IDS, { ids: learners.slice(0, n).map((l) => l.externalId) });
      expect(res.errors).toBeUndefined();
      expect(res.data.learnersByExternalIds.map((l: { externalId: string }) => l.externalId)).toEqual(learners.slice(0, n).map((l) => l.externalId));
      // Every statement of the request but the key's own look-up.
      return statements.filter((s) => !/"ApiKey"/.test(s)).length;
    };
    expect(await cost(1)).toBe(1);
    expect(await cost(60)).toBe(1);
    const tooMany = await t.admin.request(BY_IDS, { ids: Array.from({ length: 101 }, (_, i) => `x${i}`) });
    expect(errorCode(tooMany)).toBe('BAD_USER_INPUT');
    expect(tooMany.errors![0]!.extensions).toMatchObject({ argument: 'externalIds', max: 100 });
  });

  test('learner data: SCORES_READ (or ADMIN)', async () => {
    const writer = await keyWithScopes(t, ['ASSESS_WRITE']);
    expect(errorCode(await writer.request(BY_IDS, { ids: [learners[0]!.externalId] }))).toBe('FORBIDDEN');
    expect(errorCode(await writer.request(BY_IDS, { ids: [] }))).toBe('FORBIDDEN'); // refused whatever the ids
    const reader = await keyWithScopes(t, ['SCORES_READ']);
    expect((await reader.request(BY_IDS, { ids: [learners[0]!.externalId] })).data.learnersByExternalIds).toHaveLength(1);
  });
});
