/**
 * Query.groups: the organisation's groups with their learner counts, checked against a
 * straightforward count over its learners' rows, in byte order of the ids, paged both ways by
 * cursor, searched literally; scoped to the key's organisation and SCORES_READ, on both databases.
 */
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { errorCode } from '../support/client.js';
import { keyWithScopes, otherOrganization } from '../support/seed.js';

const DATABASES = await testDatabases();

const GROUPS = `query($first: Int, $after: String, $last: Int, $before: String, $search: String) {
  groups(first: $first, after: $after, last: $last, before: $before, search: $search) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { externalId learnerCount } } } }`;

type Page = { totalCount: number; pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string; endCursor: string }; edges: { node: { externalId: string; learnerCount: number } }[] };

describe.each(DATABASES)('the groups list on %s', (kind) => {
  let t: TestApp;
  const page = async (variables: Record<string, unknown>): Promise<Page> => {
    const res = await t.admin.request(GROUPS, variables);
    expect(res.errors).toBeUndefined();
    return res.data.groups;
  };
  const ids = (p: Page) => p.edges.map((e) => e.node.externalId);

  beforeAll(async () => {
    t = await startTestApp(kind);
    const create = (externalId: string, groups: string[]) =>
      t.admin.request(`mutation($i: CreateLearnerInput!) { createLearner(input: $i) { id } }`, { i: { externalId, groups } });
    await create('g-1', ['class-b', 'Class-A']);
    await create('g-2', ['class-b']);
    await create('g-3', ['émigré 5', 'class-c', '100%']);
    await create('g-4', []);
    const { client: other } = await otherOrganization(t);
    await other.request(`mutation { createLearner(input: {externalId: "o-1", groups: ["class-z"]}) { id } }`);
  }, 120_000);
  afterAll(async () => {
    await t?.dispose();
  });

  test('every group of the organisation with its learner count, in byte order of the ids', async () => {
    const all = await page({ first: 100 });
    // The same from the rows: every group id of this organisation's learners, counted.
    const org = await t.app.services.prisma.organization.findFirstOrThrow({ orderBy: { createdAt: 'asc' } });
    const learners = await t.app.services.prisma.learner.findMany({ where: { organizationId: org.id } });
    const counts = new Map<string, number>();
    for (const l of learners) for (const g of new Set(l.groups)) counts.set(g, (counts.get(g) ?? 0) + 1);
    const expected = [...counts.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(ids(all)).toEqual(expected);
    expect(ids(all)).toEqual(['100%', 'Class-A', 'class-b', 'class-c', 'émigré 5']);
    expect(all.edges.map((e) => e.node.learnerCount)).toEqual(expected.map((g) => counts.get(g)));
    expect(all.totalCount).toBe(5);
    expect(all.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: false });
  });

  test('pages forward and backward by cursor; search is a literal, case-insensitive substring', async () => {
    const first = await page({ first: 2 });
    expect(ids(first)).toEqual(['100%', 'Class-A']);
    expect(first.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const second = await page({ first: 2, after: first.pageInfo.endCursor });
    expect(ids(second)).toEqual(['class-b', 'class-c']);
    const third = await page({ first: 2, after: second.pageInfo.endCursor });
    expect(ids(third)).toEqual(['émigré 5']);
    expect(third.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    const lastTwo = await page({ last: 2 });
    expect(ids(lastTwo)).toEqual(['class-c', 'émigré 5']);
    expect(lastTwo.pageInfo).toMatchObject({ hasPreviousPage: true });
    const before = await page({ last: 10, before: lastTwo.pageInfo.startCursor });
    expect(ids(before)).toEqual(['100%', 'Class-A', 'class-b']);
    expect(before.pageInfo).toMatchObject({ hasPreviousPage: false, hasNextPage: true });

    expect(ids(await page({ first: 10, search: 'CLASS' }))).toEqual(['Class-A', 'class-b', 'class-c']);
    expect((await page({ first: 10, search: 'CLASS' })).totalCount).toBe(3);
    expect(ids(await page({ first: 10, search: '%' }))).toEqual(['100%']); // not a wildcard
    expect(ids(await page({ first: 10, search: 'ÉMIGRÉ' }))).toEqual(['émigré 5']);
    expect(ids(await page({ first: 10, search: 'class-z' }))).toEqual([]); // another organisation's
  });

  test('bad cursors and sizes are BAD_USER_INPUT; SCORES_READ is needed; another organisation sees only its own', async () => {
    const learners = await t.admin.request(`{ learners(first: 1) { pageInfo { endCursor } } }`);
    for (const variables of [{ first: 1, after: 'nope' }, { first: 1, after: learners.data.learners.pageInfo.endCursor }, { first: 101 }, { first: 1, last: 1 }, { search: 'x'.repeat(201) }]) {
      expect({ variables, code: errorCode(await t.admin.request(GROUPS, variables)) }).toEqual({ variables, code: 'BAD_USER_INPUT' });
    }
    const writer = await keyWithScopes(t, ['ASSESS_WRITE']);
    expect(errorCode(await writer.request(GROUPS, { first: 10 }))).toBe('FORBIDDEN');
    const reader = await keyWithScopes(t, ['SCORES_READ']);
    expect((await reader.request(GROUPS, { first: 10 })).data.groups.totalCount).toBe(5);
    const { client: other } = await otherOrganization(t);
    await other.request(`mutation { createLearner(input: {externalId: "o-2", groups: ["class-y"]}) { id } }`);
    expect((await other.request(GROUPS, { first: 10 })).data.groups.edges.map((e: any) => e.node.externalId)).toEqual(['class-y']);
  });
});
