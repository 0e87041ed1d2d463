/**
 * Query.bulkOperations and Job.bulkOperation: the organisation's bulk re-assessments listed newest
 * first with their status, filtered by status, learner and group, checked against the rows; and a
 * job led back to the operation that queued it. Scope and tenancy on both databases.
 */
import { randomUUID } from 'node:crypto';
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { errorCode, type GqlClient } from '../support/client.js';
import { keyWithScopes, otherOrganization } from '../support/seed.js';
import { toGlobalId } from '../../src/graphql/ids.js';
import type { PrismaClient } from '../../src/generated/prisma/client.js';

const DATABASES = await testDatabases();

const START = `mutation($i: ReassessUtterancesInput!) { reassessUtterances(input: $i) { id status } }`;
const LIST = `query($first: Int, $after: String, $filter: BulkOperationFilter) {
  bulkOperations(first: $first, after: $after, filter: $filter) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id status groupExternalId oneLearner progress { total } } } } }`;

/** A learner of `org` in `groups` with `n` utterances. */
async function learnerWith(prisma: PrismaClient, org: string, n: number, groups: string[] = []) {
  const learner = await prisma.learner.create({ data: { organizationId: org, externalId: `bl-${randomUUID()}`, groups } });
  await prisma.$executeRawUnsafe(
    `INSERT INTO "Utterance"(id, "organizationId", "learnerId", "referenceText", "referenceWords", "audioSha256", "audioFormat",
                             "audioBytes", "durationMs", "sourceSampleRate", "sourceChannels", "speechMs")
     SELECT gen_random_uuid(), $1::uuid, $2::uuid, 'HI', '[]', repeat('c', 64), 'wav', 1, 1000, 16000, 1, 900 FROM generate_series(1, $3::int)`,
    org, learner.id, n,
  );
  return learner;
}

describe.each(DATABASES)('the bulk operations list on %s', (kind) => {
  let t: TestApp;
  let writer: GqlClient;
  let prisma: PrismaClient;
  const ops: Record<string, string> = {};
  let learnerId = '';

  beforeAll(async () => {
    // No worker: the operations stay as made (RUNNING), but for the one cancelled here.
    t = await startTestApp(kind, { inProcessWorker: false, bulkEnqueueInRequestMs: 60_000 });
    writer = await keyWithScopes(t, ['ASSESS_WRITE', 'SCORES_READ']);
    prisma = t.app.services.prisma;
    const org = (await prisma.organization.findFirstOrThrow({ orderBy: { createdAt: 'asc' } })).id;
    const learner = await learnerWith(prisma, org, 2, ['class-1']);
    await learnerWith(prisma, org, 3, ['class-1']);
    learnerId = toGlobalId('Learner', learner.id);
    const start = async (name: string, input: Record<string, unknown>) => {
      const res = await writer.request(START, { i: input });
      expect(res.errors).toBeUndefined();
      ops[name] = res.data.reassessUtterances.id;
    };
    await start('learner', { learnerId });
    await start('group', { groupExternalId: 'class-1' });
    await start('cancelled', { groupExternalId: 'class-1' });
    const cancelled = await writer.request(`mutation($id: ID!) { cancelBulkOperation(id: $id) { status } }`, { id: ops.cancelled });
    expect(cancelled.data.cancelBulkOperation.status).toBe('CANCELLED');
  }, 120_000);
  afterAll(() => t?.dispose());

  const list = async (variables: Record<string, unknown>, client: GqlClient = writer) => {
    const res = await client.request(LIST, { first: 20, ...variables });
    expect(res.errors).toBeUndefined();
    return res.data.bulkOperations as { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string }; edges: { node: any }[] };
  };

  test('newest first with status and progress, as the rows say; filtered by status, learner and group', async () => {
    const all = await list({});
    expect(all.edges.map((e) => e.node.id)).toEqual([ops.cancelled, ops.group, ops.learner]);
    expect(all.totalCount).toBe(3);
    expect(all.edges.map((e) => [e.node.status, e.node.progress.total])).toEqual([['CANCELLED', 5], ['RUNNING', 5], ['RUNNING', 2]]);
    const rows = await prisma.bulkOperation.findMany({ orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
    expect(all.edges.map((e) => e.node.id)).toEqual(rows.map((r) => toGlobalId('BulkOperation', r.id)));

    expect((await list({ filter: { status: 'RUNNING' } })).edges.map((e) => e.node.id)).toEqual([ops.group, ops.learner]);
    expect((await list({ filter: { status: 'CANCELLED' } })).edges.map((e) => e.node.id)).toEqual([ops.cancelled]);
    expect((await list({ filter: { status: 'COMPLETED' } })).totalCount).toBe(0);
    expect((await list({ filter: { learnerId } })).edges.map((e) => e.node.id)).toEqual([ops.learner]);
    expect((await list({ filter: { groupExternalId: 'class-1', status: 'RUNNING' } })).edges.map((e) => e.node.id)).toEqual([ops.group]);
    expect((await list({ filter: { learnerId: ops.group } })).totalCount).toBe(0); // an id of another type
    // Paged.
    const first = await list({ first: 2 });
    expect(first.pageInfo.hasNextPage).toBe(true);
    expect((await list({ first: 2, after: first.pageInfo.endCursor })).edges.map((e) => e.node.id)).toEqual([ops.learner]);
  });

  test("a job leads back to the operation that queued it; a cancelled operation's removed jobs are gone", async () => {
    const res = await writer.request(`query($id: ID!) { bulkOperation(id: $id) { id } learner(id: $l) { utterances(first: 5) { edges { node { jobs(first: 5) { edges { node { bulkOperation { id } } } } } } } } }`
      .replace('query($id: ID!)', 'query($id: ID!, $l: ID!)'), { id: ops.learner, l: learnerId });
    expect(res.errors).toBeUndefined();
    const owners = res.data.learner.utterances.edges.flatMap((u: any) => u.node.jobs.edges.map((j: any) => j.node.bulkOperation?.id ?? null));
    // Each of the learner's two utterances has jobs from the learner's and the group's operation (the cancelled one's were removed).
    expect(owners.sort()).toEqual([ops.group, ops.group, ops.learner, ops.learner].sort());
  });

  test('SCORES_READ is needed; another organisation sees none of them', async () => {
    const onlyWrite = await keyWithScopes(t, ['ASSESS_WRITE']);
    expect(errorCode(await onlyWrite.request(LIST, { first: 5 }))).toBe('FORBIDDEN');
    const { client: other } = await otherOrganization(t);
    expect((await list({}, other)).totalCount).toBe(0);
  });
});
