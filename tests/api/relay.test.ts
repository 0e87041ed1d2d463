/**
 * Relay-complete connections (issue 9): forward and backward paging over a seeded set, pageInfo,
 * totalCount (counted only when selected), cursors stable under inserts, filters (group, search,
 * time, reference text, latest job status), `nodes(ids)` and the page-size cap, through the real
 * HTTP server on PGlite and PostgreSQL.
 */
import { randomUUID } from 'node:crypto';
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { errorCode, type GqlClient } from '../support/client.js';
import { keyWithScopes, otherOrganization, seedModelAssessment } from '../support/seed.js';
import { toGlobalId } from '../../src/graphql/ids.js';
import { analyzeReferenceText } from '../../src/text/reference.js';
import type { PrismaClient } from '../../src/generated/prisma/client.js';
import { checkRationale } from '../../src/rationale/check.js';
import type { AssessmentLabels } from '../../src/types.js';

const DATABASES = await testDatabases();

const UTTERANCES = `query($id: ID!, $first: Int, $after: String, $last: Int, $before: String, $filter: LearnerUtteranceFilter) {
  learner(id: $id) { utterances(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
    totalCount edges { cursor node { id referenceText } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }`;

const BASE = Date.parse('2026-01-01T00:00:00.000Z');

interface Seeded {
  learnerId: string;
  /** Utterance global ids, newest first, as the API must order them. */
  order: string[];
  /** Reference text and latest job status per utterance global id. */
  facts: Map<string, { text: string; status: string | null; createdAt: Date }>;
}

async function createUtterance(prisma: PrismaClient, organizationId: string, learnerId: string, text: string, createdAt: Date) {
  return prisma.utterance.create({
    data: {
      organizationId, learnerId, referenceText: text, referenceWords: analyzeReferenceText(text) as never,
      audioSha256: randomUUID().replace(/-/g, '').padEnd(64, '0'), audioFormat: 'wav', audioBytes: 1, durationMs: 1000,
      sourceSampleRate: 16000, sourceChannels: 1, speechMs: 900, createdAt,
    },
  });
}

/**
 * 23 utterances of one learner: pairs share a createdAt (the id breaks the tie), three reference
 * texts, and jobs whose latest status varies (some utterances have an older job of another status).
 */
async function seedLearner(t: TestApp, organizationId: string, externalId: string): Promise<Seeded> {
  const prisma = t.app.services.prisma;
  const learner = await prisma.learner.create({ data: { organizationId, externalId, groups: ['relay-course'] } });
  const texts = ['We call it bear', 'The quick brown fox', 'She sells sea shells'];
  const statuses = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', null] as const;
  const facts: Seeded['facts'] = new Map();
  const rows: { id: string; createdAt: Date }[] = [];
  for (let i = 0; i < 23; i++) {
    const createdAt = new Date(BASE + Math.floor(i / 2) * 60_000);
    const text = texts[i % 3]!;
    const u = await createUtterance(prisma, organizationId, learner.id, text, createdAt);
    const status = statuses[i % 5]!;
    if (status) {
      // an older job of another status: only the latest counts
      if (i % 2 === 0) {
        await prisma.job.create({ data: { organizationId, utteranceId: u.id, status: status === 'FAILED' ? 'SUCCEEDED' : 'FAILED', createdAt: new Date(createdAt.getTime() + 1000) } });
      }
      await prisma.job.create({ data: { organizationId, utteranceId: u.id, status, createdAt: new Date(createdAt.getTime() + 2000) } });
    }
    rows.push(u);
    facts.set(toGlobalId('Utterance', u.id), { text, status, createdAt });
  }
  rows.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1));
  return { learnerId: toGlobalId('Learner', learner.id), order: rows.map((r) => toGlobalId('Utterance', r.id)), facts };
}

describe.each(DATABASES)('Relay connections on %s', (kind) => {
  let t: TestApp;
  let organizationId: string;
  let seeded: Seeded;
  let reader: GqlClient;
  const statements: string[] = [];

  beforeAll(async () => {
    t = await startTestApp(kind, { inProcessWorker: false }, { onQuery: (sql) => statements.push(sql) });
    const prisma = t.app.services.prisma;
    organizationId = (await prisma.organization.findFirstOrThrow({ orderBy: { createdAt: 'asc' } })).id;
    seeded = await seedLearner(t, organizationId, `relay-${randomUUID()}`);
    reader = await keyWithScopes(t, ['SCORES_READ']);
  }, 120_000);
  afterAll(() => t?.dispose());

  const page = async (vars: Record<string, unknown>) => {
    const res = await reader.request(UTTERANCES, { id: seeded.learnerId, ...vars });
    expect(res.errors).toBeUndefined();
    return res.data.learner.utterances;
  };

  test('forward paging visits every utterance once, newest first, with a complete pageInfo', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let i = 0; ; i++) {
      const p: any = await page({ first: 5, after });
      expect(p.totalCount).toBe(23);
      expect(p.pageInfo.startCursor).toBe(p.edges[0]?.cursor ?? null);
      expect(p.pageInfo.endCursor).toBe(p.edges.at(-1)?.cursor ?? null);
      expect(p.pageInfo.hasPreviousPage).toBe(i > 0);
      seen.push(...p.edges.map((e: any) => e.node.id));
      if (!p.pageInfo.hasNextPage) break;
      after = p.pageInfo.endCursor;
    }
    expect(seen).toEqual(seeded.order);
  });

  test('backward paging with last/before visits the same set from the other end', async () => {
    const pages: string[][] = [];
    let before: string | null = null;
    for (let i = 0; ; i++) {
      const p: any = await page({ last: 5, before });
      expect(p.totalCount).toBe(23);
      // hasNextPage: rows at or after `before` exist (none asked on the first, unbounded page)
      expect(p.pageInfo.hasNextPage).toBe(i > 0);
      pages.unshift(p.edges.map((e: any) => e.node.id));
      if (!p.pageInfo.hasPreviousPage) break;
      before = p.pageInfo.startCursor;
    }
    // the oldest rows first, yet each page newest first
    expect(pages.at(-1)).toEqual(seeded.order.slice(-5));
    expect(pages.flat()).toEqual(seeded.order);
  });

  test('first/after and last/before together bound a window; first 0 is an empty page', async () => {
    const all = (await page({ first: 100 })).edges;
    const window = await page({ first: 3, after: all[4].cursor, before: all[12].cursor });
    expect(window.edges.map((e: any) => e.node.id)).toEqual(seeded.order.slice(5, 8));
    expect(window.pageInfo.hasNextPage).toBe(true);
    const tail = await page({ last: 3, after: all[4].cursor, before: all[12].cursor });
    expect(tail.edges.map((e: any) => e.node.id)).toEqual(seeded.order.slice(9, 12));
    expect(tail.pageInfo.hasPreviousPage).toBe(true);
    const none = await page({ first: 0 });
    expect(none.edges).toEqual([]);
    expect(none.pageInfo).toMatchObject({ hasNextPage: true, startCursor: null, endCursor: null });
  });

  test('a status filter pages both ways like the rest: first/after, last/before, with text and the group', async () => {
    const failedOrQueued = (f: { status: string | null }) => f.status === 'FAILED';
    const want = seeded.order.filter((id) => failedOrQueued(seeded.facts.get(id)!));
    expect(want.length).toBeGreaterThanOrEqual(4);
    const filter = { status: 'FAILED' };
    const first = await page({ first: 2, filter });
    expect(first.edges.map((e: any) => e.node.id)).toEqual(want.slice(0, 2));
    const next = await page({ first: 10, after: first.pageInfo.endCursor, filter });
    expect(next.edges.map((e: any) => e.node.id)).toEqual(want.slice(2));
    const oldest = await page({ last: 2, filter });
    expect(oldest.edges.map((e: any) => e.node.id)).toEqual(want.slice(-2));
    expect(oldest.pageInfo.hasPreviousPage).toBe(true);
    const before = await page({ last: 10, before: oldest.pageInfo.startCursor, filter });
    expect(before.edges.map((e: any) => e.node.id)).toEqual(want.slice(0, -2));
    // The organisation's feed: the seeded learner's group, a status and a text together.
    const Q = `query($f: UtteranceFilter) { utterances(first: 100, filter: $f) { totalCount edges { node { id } } } }`;
    const combined = (await reader.request(Q, { f: { group: 'relay-course', status: 'SUCCEEDED', referenceText: 'we call it BEAR' } })).data.utterances;
    const expected = seeded.order.filter((id) => { const f = seeded.facts.get(id)!; return f.status === 'SUCCEEDED' && f.text === 'We call it bear'; });
    expect(expected.length).toBeGreaterThan(0);
    expect(combined.edges.map((e: any) => e.node.id)).toEqual(expected);
    expect(combined.totalCount).toBe(expected.length);
  });

  test('cursors stay valid under inserts: the next page continues where the last one ended', async () => {
    const prisma = t.app.services.prisma;
    const learner = await prisma.learner.create({ data: { organizationId, externalId: `stable-${randomUUID()}` } });
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.unshift(toGlobalId('Utterance', (await createUtterance(prisma, organizationId, learner.id, 'We call it bear', new Date(BASE + i * 1000))).id));
    const id = toGlobalId('Learner', learner.id);
    const q = async (vars: Record<string, unknown>) => (await reader.request(UTTERANCES, { id, ...vars })).data.learner.utterances;
    const p1 = await q({ first: 3 });
    expect(p1.edges.map((e: any) => e.node.id)).toEqual(ids.slice(0, 3));
    // newer rows (and one between the pages' rows' times) arrive between the two requests
    for (let i = 0; i < 3; i++) await createUtterance(prisma, organizationId, learner.id, 'We call it bear', new Date(Date.now() + i));
    const p2 = await q({ first: 3, after: p1.pageInfo.endCursor });
    expect(p2.edges.map((e: any) => e.node.id)).toEqual(ids.slice(3, 6));
    expect(p2.totalCount).toBe(9);
    // paging back from the second page gives the first page again, then the new rows
    const back = await q({ last: 3, before: p2.pageInfo.startCursor });
    expect(back.edges.map((e: any) => e.node.id)).toEqual(ids.slice(0, 3));
    expect(back.pageInfo.hasPreviousPage).toBe(true);
  });

  test('totalCount follows the filters; pages that do not select it run no COUNT', async () => {
    const expected = (pred: (f: { text: string; status: string | null; createdAt: Date }) => boolean) =>
      seeded.order.filter((id) => pred(seeded.facts.get(id)!));
    const cases: [Record<string, unknown>, string[]][] = [
      [{ referenceText: '  we CALL it BEAR ' }, expected((f) => f.text === 'We call it bear')],
      [{ status: 'FAILED' }, expected((f) => f.status === 'FAILED')],
      [{ status: 'SUCCEEDED' }, expected((f) => f.status === 'SUCCEEDED')],
      [{ status: 'QUEUED', referenceText: 'the quick brown fox' }, expected((f) => f.status === 'QUEUED' && f.text === 'The quick brown fox')],
      [
        { createdAfter: new Date(BASE + 3 * 60_000).toISOString(), createdBefore: new Date(BASE + 7 * 60_000).toISOString() },
        expected((f) => f.createdAt.getTime() >= BASE + 3 * 60_000 && f.createdAt.getTime() < BASE + 7 * 60_000),
      ],
    ];
    for (const [filter, ids] of cases) {
      expect(ids.length).toBeGreaterThan(0);
      const p = await page({ first: 2, filter });
      expect({ filter, totalCount: p.totalCount }).toEqual({ filter, totalCount: ids.length });
      expect(p.edges.map((e: any) => e.node.id)).toEqual(ids.slice(0, 2));
      const all = await page({ first: 100, filter });
      expect(all.edges.map((e: any) => e.node.id)).toEqual(ids);
    }

    const counts = () => statements.filter((s) => /\bCOUNT\s*\(/i.test(s)).length;
    statements.length = 0;
    const without = await reader.request(`query($id: ID!) { learner(id: $id) { utterances(first: 5) { edges { node { id } } pageInfo { hasNextPage } } } }`, { id: seeded.learnerId });
    expect(without.errors).toBeUndefined();
    expect(counts()).toBe(0);
    statements.length = 0;
    const viaFragment = await reader.request(
      `query($id: ID!) { learner(id: $id) { utterances(first: 5) { ...C } } } fragment C on UtteranceConnection { edges { node { id } } totalCount }`,
      { id: seeded.learnerId },
    );
    expect(viaFragment.data.learner.utterances.totalCount).toBe(23);
    expect(counts()).toBe(1);
  });

  test('Utterance.jobs is a connection, newest first', async () => {
    const id = seeded.order.find((u, i) => i % 2 === 0 && seeded.facts.get(u)!.status === 'FAILED')
      ?? seeded.order.find((u) => seeded.facts.get(u)!.status !== null)!;
    const res = await reader.request(`query($id: ID!) { utterance(id: $id) { jobs { totalCount edges { cursor node { status createdAt } } pageInfo { hasNextPage } } } }`, { id });
    expect(res.errors).toBeUndefined();
    const jobs = res.data.utterance.jobs;
    expect(jobs.edges.length).toBe(jobs.totalCount);
    const times = jobs.edges.map((e: any) => Date.parse(e.node.createdAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(jobs.edges[0].node.status).toBe(seeded.facts.get(id)!.status);
    const last = await reader.request(`query($id: ID!) { utterance(id: $id) { jobs(last: 1) { edges { node { createdAt } } pageInfo { hasPreviousPage } } } }`, { id });
    expect(last.data.utterance.jobs.edges.map((e: any) => Date.parse(e.node.createdAt))).toEqual([times.at(-1)]);
    expect(last.data.utterance.jobs.pageInfo.hasPreviousPage).toBe(times.length > 1);
  });

  test('learners: group and search filters (case-insensitive, % and _ taken literally)', async () => {
    const tag = randomUUID().slice(0, 8);
    const make = (externalId: string, displayName: string | null, groups: string[]) =>
      t.admin.request(`mutation($i: CreateLearnerInput!) { createLearner(input: $i) { id } }`, { i: { externalId, displayName, groups } });
    const a = (await make(`${tag}-alpha`, 'Ana 100% Silva', [`g-${tag}`, 'shared'])).data.createLearner.id;
    const b = (await make(`${tag}-beta`, 'Bo_Chen', [`g-${tag}`])).data.createLearner.id;
    const c = (await make(`${tag}-gamma`, 'Cy 100x Silva', ['shared'])).data.createLearner.id;
    const find = async (filter: Record<string, unknown>) => {
      const res = await reader.request(`query($f: LearnerFilter) { learners(first: 100, filter: $f) { totalCount edges { node { id } } } }`, { f: filter });
      expect(res.errors).toBeUndefined();
      expect(res.data.learners.totalCount).toBe(res.data.learners.edges.length);
      return res.data.learners.edges.map((e: any) => e.node.id).sort();
    };
    expect(await find({ group: `g-${tag}` })).toEqual([a, b].sort());
    expect(await find({ search: tag.toUpperCase() })).toEqual([a, b, c].sort());
    expect(await find({ search: 'SILVA', group: 'shared' })).toEqual([a, c].sort());
    expect(await find({ search: '100%' })).toEqual([a]);
    expect(await find({ search: 'o_c' })).toEqual([b]);
    expect(await find({ search: `${tag}_` })).toEqual([]);
    expect(await find({ search: `${tag}-GAM` })).toEqual([c]);
    expect(await find({ search: '\\' })).toEqual([]);
    expect(await find({ group: `g-${tag}`.toUpperCase() })).toEqual([]);
  });

  test('Query.utterances: across learners, by learner and by group, both directions', async () => {
    const prisma = t.app.services.prisma;
    const groupTag = `u-${randomUUID()}`;
    const l1 = await prisma.learner.create({ data: { organizationId, externalId: `ul1-${randomUUID()}`, groups: [groupTag] } });
    const l2 = await prisma.learner.create({ data: { organizationId, externalId: `ul2-${randomUUID()}`, groups: [groupTag] } });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const u = await createUtterance(prisma, organizationId, i % 2 ? l1.id : l2.id, 'She sells sea shells', new Date(BASE + 86_400_000 + i * 1000));
      ids.unshift(toGlobalId('Utterance', u.id));
    }
    const Q = `query($f: UtteranceFilter, $first: Int, $last: Int) { utterances(filter: $f, first: $first, last: $last) { totalCount edges { node { id learner { id } } } } }`;
    const grouped = await reader.request(Q, { f: { group: groupTag }, first: 10 });
    expect(grouped.errors).toBeUndefined();
    expect(grouped.data.utterances.totalCount).toBe(4);
    expect(grouped.data.utterances.edges.map((e: any) => e.node.id)).toEqual(ids);
    const oldestTwo = await reader.request(Q, { f: { group: groupTag }, last: 2 });
    expect(oldestTwo.data.utterances.edges.map((e: any) => e.node.id)).toEqual(ids.slice(2));
    const ofL1 = await reader.request(Q, { f: { learnerId: toGlobalId('Learner', l1.id), group: groupTag }, first: 10 });
    expect(ofL1.data.utterances.edges.every((e: any) => e.node.learner.id === toGlobalId('Learner', l1.id))).toBe(true);
    expect(ofL1.data.utterances.totalCount).toBe(2);
    const all = await reader.request(`{ utterances(first: 1) { totalCount } }`);
    expect(all.data.utterances.totalCount).toBe(await prisma.utterance.count({ where: { organizationId } }));
    const byStatus = await reader.request(`{ utterances(first: 100, filter: { status: FAILED, learnerId: "${seeded.learnerId}" }) { totalCount } }`);
    expect(byStatus.data.utterances.totalCount).toBe([...seeded.facts.values()].filter((f) => f.status === 'FAILED').length);
    // a Job id, or another organisation's learner, matches nothing
    const other = await otherOrganization(t);
    const foreign = await prisma.learner.create({ data: { organizationId: other.org.id, externalId: `f-${randomUUID()}` } });
    await createUtterance(prisma, other.org.id, foreign.id, 'She sells sea shells', new Date());
    for (const learnerId of [toGlobalId('Learner', foreign.id), toGlobalId('Job', randomUUID()), 'garbage']) {
      const none = await reader.request(Q, { f: { learnerId }, first: 10 });
      expect(none.errors).toBeUndefined();
      expect(none.data.utterances).toEqual({ totalCount: 0, edges: [] });
    }
    // the other organisation sees only its own
    const theirs = await other.client.request(`{ utterances { totalCount edges { node { id } } } }`);
    expect(theirs.data.utterances.totalCount).toBe(1);
  });

  test('every connection pages backward and counts', async () => {
    const prisma = t.app.services.prisma;
    const u = await createUtterance(prisma, organizationId, (await prisma.learner.findFirstOrThrow({ where: { organizationId } })).id, 'We call it bear', new Date());
    const ref = analyzeReferenceText('We call it bear');
    const labels: AssessmentLabels = {
      sentence: { accuracy: 3, fluency: 4, prosody: 4, completeness: 10, total: 3 },
      words: ref.map((w) => ({ text: w.text, accuracy: 2, stress: 10, total: 2, phonemes: w.phones.map((symbol) => ({ symbol, accuracy: 0.5 })) })),
    };
    const praise = 'Excellent work: every word was perfect and your fluency was superb.';
    for (let i = 0; i < 3; i++) {
      await seedModelAssessment(prisma, u, labels, { text: praise, check: checkRationale(praise, labels) }, { createdAt: new Date(BASE + i) });
    }
    // audit events to page over
    for (let i = 0; i < 2; i++) {
      const res = await t.admin.request(`mutation { createApiKey(input: { name: "relay-${i}", scopes: [SCORES_READ] }) { key } }`);
      expect(res.errors).toBeUndefined();
    }
    const uid = toGlobalId('Utterance', u.id);
    const fields: [string, (args: string) => string, (d: any) => any][] = [
      ['learners', (a) => `{ learners${a} { ...P } }`, (d) => d.learners],
      ['utterances', (a) => `{ utterances${a} { ...P } }`, (d) => d.utterances],
      ['Utterance.assessments', (a) => `{ utterance(id: "${uid}") { assessments${a} { ...P } } }`, (d) => d.utterance.assessments],
      ['flaggedAssessments', (a) => `{ flaggedAssessments${a} { ...P } }`, (d) => d.flaggedAssessments],
      ['apiKeys', (a) => `{ apiKeys${a} { ...P } }`, (d) => d.apiKeys],
      ['auditEvents', (a) => `{ auditEvents${a} { ...P } }`, (d) => d.auditEvents],
    ];
    for (const [name, query, pick] of fields) {
      const run = async (args: string) => {
        const res = await t.admin.request(`${query(args)} fragment P on ${name === 'learners' ? 'LearnerConnection' : name === 'utterances' ? 'UtteranceConnection' : name.endsWith('ssessments') ? 'AssessmentConnection' : name === 'apiKeys' ? 'ApiKeyConnection' : 'AuditEventConnection'} { totalCount edges { cursor } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } }`);
        expect({ name, errors: res.errors }).toEqual({ name, errors: undefined });
        return pick(res.data);
      };
      const all = await run('(first: 100)');
      expect({ name, n: all.edges.length }).toEqual({ name, n: all.totalCount });
      expect(all.totalCount).toBeGreaterThan(1);
      const tail = await run('(last: 2)');
      expect({ name, tail: tail.edges.map((e: any) => e.cursor) }).toEqual({ name, tail: all.edges.slice(-2).map((e: any) => e.cursor) });
      expect(tail.pageInfo.hasPreviousPage).toBe(all.totalCount > 2);
      const prev = await run(`(last: 1, before: "${tail.pageInfo.startCursor}")`);
      expect(prev.edges.map((e: any) => e.cursor)).toEqual(all.edges.slice(-3, -2).map((e: any) => e.cursor));
      expect(prev.pageInfo.hasNextPage).toBe(true);
    }
  });

  test('nodes(ids): in order, null for malformed, unknown and foreign ids, batched', async () => {
    const prisma = t.app.services.prisma;
    const other = await otherOrganization(t);
    const foreign = await prisma.learner.create({ data: { organizationId: other.org.id, externalId: `nf-${randomUUID()}` } });
    const job = await prisma.job.findFirstOrThrow({ where: { organizationId } });
    const ids = [
      seeded.order[0]!,
      seeded.learnerId,
      toGlobalId('Job', job.id),
      toGlobalId('Learner', foreign.id),
      'not-an-id',
      toGlobalId('Learner', randomUUID()),
      toGlobalId('Organization', organizationId),
      seeded.order[1]!,
      seeded.order[2]!,
    ];
    const Q = `query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }`;
    statements.length = 0;
    const res = await reader.request(Q, { ids });
    expect(res.errors).toBeUndefined();
    expect(res.data.nodes).toEqual([
      { __typename: 'Utterance', id: seeded.order[0] },
      { __typename: 'Learner', id: seeded.learnerId },
      { __typename: 'Job', id: toGlobalId('Job', job.id) },
      null,
      null,
      null,
      { __typename: 'Organization', id: toGlobalId('Organization', organizationId) },
      { __typename: 'Utterance', id: seeded.order[1] },
      { __typename: 'Utterance', id: seeded.order[2] },
    ]);
    // one statement per type (three utterances in one), not one per id
    const reads = statements.filter((s) => /^\s*SELECT/i.test(s) && /"(Learner|Utterance|Job)"/.test(s) && !/"ApiKey"/.test(s));
    expect(reads.length).toBeLessThanOrEqual(3);
    // the other organisation gets null for ours
    const theirs = await other.client.request(Q, { ids: [seeded.learnerId, toGlobalId('Learner', foreign.id)] });
    expect(theirs.data.nodes).toEqual([null, { __typename: 'Learner', id: toGlobalId('Learner', foreign.id) }]);
    // a key that may not read learner data is refused once
    const writer = await keyWithScopes(t, ['ASSESS_WRITE']);
    const refused = await writer.request(Q, { ids: [seeded.learnerId] });
    expect(errorCode(refused)).toBe('FORBIDDEN');
    expect(refused.data).toBeNull();
    // at most 100 ids
    const many = await reader.request(Q, { ids: Array.from({ length: 101 }, () => seeded.learnerId) });
    expect(errorCode(many)).toBe('BAD_USER_INPUT');
    expect(many.errors![0]!.message).toContain('100');
    expect((await reader.request(Q, { ids: Array.from({ length: 100 }, () => seeded.learnerId) })).data.nodes).toHaveLength(100);
  });

  test('node(id) reads every Node type back with the id it was given, and only that exact id', async () => {
    const admin = t.admin;
    const key = await t.app.services.prisma.apiKey.findFirstOrThrow({ where: { organizationId, revokedAt: null }, orderBy: { createdAt: 'asc' } });
    const Q = `query($id: ID!) { node(id: $id) { __typename id } }`;
    for (const [type, id] of [
      ['Learner', seeded.learnerId], ['Utterance', seeded.order[0]!],
      ['Organization', toGlobalId('Organization', organizationId)], ['ApiKey', toGlobalId('ApiKey', key.id)],
    ] as const) {
      expect((await admin.request(Q, { id })).data.node).toEqual({ __typename: type, id });
    }
    // an ApiKey needs the admin scope; another organisation's Organization reads as null
    expect(errorCode(await reader.request(Q, { id: toGlobalId('ApiKey', key.id) }))).toBe('FORBIDDEN');
    // in nodes(ids) the refusal is that item's alone: the others still answer
    const mixed = await reader.request(`query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }`, { ids: [seeded.learnerId, toGlobalId('ApiKey', key.id)] });
    expect(mixed.data.nodes).toEqual([{ __typename: 'Learner', id: seeded.learnerId }, null]);
    expect(mixed.errors).toEqual([expect.objectContaining({ path: ['nodes', 1], extensions: expect.objectContaining({ code: 'FORBIDDEN' }) })]);
    const other = await otherOrganization(t);
    expect((await admin.request(Q, { id: toGlobalId('Organization', other.org.id) })).data.node).toBeNull();
    expect((await other.client.request(Q, { id: toGlobalId('ApiKey', key.id) })).data.node).toBeNull();
    // Other spellings of the same id are not ids (node(id: X).id must be X): padding, spaces, the
    // standard alphabet's characters, text after the uuid.
    const raw = Buffer.from(`Learner:${seeded.learnerId ? Buffer.from(seeded.learnerId, 'base64url').toString().split(':')[1] : ''}`);
    for (const variant of [`${seeded.learnerId}==`, ` ${seeded.learnerId} `, raw.toString('base64'), Buffer.from(`${raw.toString()}:junk`).toString('base64url')]) {
      if (variant === seeded.learnerId) continue; // (base64 and base64url agree on this one)
      expect({ variant, node: (await reader.request(Q, { id: variant })).data?.node }).toEqual({ variant, node: null });
    }
  });

  test('a page above the cap, a negative page, first with last, a forged or empty cursor are BAD_USER_INPUT', async () => {
    for (const args of ['first: 101', 'last: 101', 'first: -1', 'first: 2, last: 2', 'before: "bm9wZQ"', 'after: ""', 'before: ""']) {
      const res = await reader.request(`{ learners(${args}) { edges { node { id } } } }`);
      expect({ args, code: errorCode(res) }).toEqual({ args, code: 'BAD_USER_INPUT' });
      if (args.includes('101')) expect(res.errors![0]!.message).toMatch(/100/);
    }
    const nested = await reader.request(`query($id: ID!) { learner(id: $id) { utterances(last: 500) { edges { node { id } } } } }`, { id: seeded.learnerId });
    expect(errorCode(nested)).toBe('BAD_USER_INPUT');
    expect(nested.errors![0]!.message).toContain('100');
    expect(nested.errors![0]!.extensions).toMatchObject({ max: 100, argument: 'last' });
  });
});
