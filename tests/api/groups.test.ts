/**
 * Learner groups (issue 9): the LMS's group ids on createLearner and updateLearner (replace, add,
 * remove), their validation, the scope updateLearner needs, tenant isolation, and concurrent edits,
 * through the real HTTP server on PGlite and PostgreSQL.
 */
import { randomUUID } from 'node:crypto';
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { errorCode, type GqlClient } from '../support/client.js';
import { keyWithScopes, otherOrganization } from '../support/seed.js';
import { fromGlobalId, toGlobalId } from '../../src/graphql/ids.js';

const DATABASES = await testDatabases();

const CREATE = `mutation($i: CreateLearnerInput!) { createLearner(input: $i) { id externalId displayName groups } }`;
const UPDATE = `mutation($id: ID!, $i: UpdateLearnerInput!) { updateLearner(id: $id, input: $i) { id externalId displayName groups } }`;

describe.each(DATABASES)('learner groups on %s', (kind) => {
  let t: TestApp;
  let writer: GqlClient;
  let reader: GqlClient;
  /** An LMS's usual key: writes and reads. */
  let lms: GqlClient;

  beforeAll(async () => {
    t = await startTestApp(kind, { inProcessWorker: false });
    writer = await keyWithScopes(t, ['ASSESS_WRITE']);
    reader = await keyWithScopes(t, ['SCORES_READ']);
    lms = await keyWithScopes(t, ['ASSESS_WRITE', 'SCORES_READ']);
  });
  afterAll(() => t?.dispose());

  const create = async (groups?: string[], displayName: string | null = 'Grouped') => {
    const res = await writer.request(CREATE, { i: { externalId: `g-${randomUUID()}`, displayName, ...(groups ? { groups } : {}) } });
    return res;
  };
  const stored = async (id: string) =>
    (await t.app.services.prisma.learner.findUniqueOrThrow({ where: { id: fromGlobalId(id)!.id } })).groups;

  test('createLearner stores groups trimmed and deduplicated, in order; none when omitted', async () => {
    const res = await create(['course-1', ' class-A ', 'course-1', 'section 3']);
    expect(res.errors).toBeUndefined();
    expect(res.data.createLearner.groups).toEqual(['course-1', 'class-A', 'section 3']);
    expect(await stored(res.data.createLearner.id)).toEqual(['course-1', 'class-A', 'section 3']);
    const none = await create();
    expect(none.data.createLearner.groups).toEqual([]);
    const read = await reader.request(`query($id: ID!) { learner(id: $id) { groups } }`, { id: res.data.createLearner.id });
    expect(read.data.learner.groups).toEqual(['course-1', 'class-A', 'section 3']);
  });

  test('createLearner refuses more than 50 groups, an empty group and one over 200 characters, creating nothing', async () => {
    const before = await t.app.services.prisma.learner.count();
    const fifty = Array.from({ length: 50 }, (_, i) => `c${i}`);
    for (const groups of [[...fifty, 'one-more'], ['ok', '   '], ['x'.repeat(201)]]) {
      const res = await create(groups);
      expect({ groups: groups.length, code: errorCode(res) }).toEqual({ groups: groups.length, code: 'BAD_USER_INPUT' });
    }
    expect(await t.app.services.prisma.learner.count()).toBe(before);
    // the limits themselves are accepted
    expect((await create(fifty)).data.createLearner.groups).toHaveLength(50);
    expect((await create(['y'.repeat(200)])).data.createLearner.groups).toEqual(['y'.repeat(200)]);
  });

  test('updateLearner replaces, adds and removes groups and changes the display name', async () => {
    const id = (await create(['a', 'b'])).data.createLearner.id;
    const update = async (i: Record<string, unknown>) => {
      const res = await lms.request(UPDATE, { id, i });
      expect(res.errors).toBeUndefined();
      return res.data.updateLearner;
    };
    expect(await update({ addGroups: ['c', 'a', 'd'] })).toMatchObject({ groups: ['a', 'b', 'c', 'd'], displayName: 'Grouped' });
    expect((await update({ removeGroups: ['b', 'zz'] })).groups).toEqual(['a', 'c', 'd']);
    expect((await update({ addGroups: ['e'], removeGroups: ['e', 'a'] })).groups).toEqual(['c', 'd']);
    expect(await update({ groups: ['x', 'x', 'y'] })).toMatchObject({ groups: ['x', 'y'] });
    expect(await update({ displayName: 'Renamed' })).toMatchObject({ groups: ['x', 'y'], displayName: 'Renamed' });
    expect(await update({ displayName: null })).toMatchObject({ displayName: null, groups: ['x', 'y'] });
    expect((await update({ groups: [] })).groups).toEqual([]);
    expect(await stored(id)).toEqual([]);
    // the group filter follows the update
    await update({ groups: [`only-${id}`] });
    const found = await reader.request(`query($g: String!) { learners(filter: { group: $g }) { totalCount edges { node { id } } } }`, { g: `only-${id}` });
    expect(found.data.learners).toEqual({ totalCount: 1, edges: [{ node: { id } }] });
  });

  test('a display name is at most 200 characters (code points) on create and update; the learners search at most 200', async () => {
    expect(errorCode(await writer.request(CREATE, { i: { externalId: `d-${randomUUID()}`, displayName: 'd'.repeat(201) } }))).toBe('BAD_USER_INPUT');
    const longest = '\u{1F600}'.repeat(200); // 200 characters, 400 UTF-16 units
    const made = await writer.request(CREATE, { i: { externalId: `d-${randomUUID()}`, displayName: longest } });
    expect(made.data.createLearner.displayName).toBe(longest);
    const search = (s: string) => t.admin.request(`query($s: String) { learners(first: 1, filter: {search: $s}) { totalCount } }`, { s });
    expect((await search(longest)).data.learners.totalCount).toBe(1);
    expect(errorCode(await search('d'.repeat(201)))).toBe('BAD_USER_INPUT');
  });

  test('updateLearner refuses invalid changes and leaves the learner as it was', async () => {
    const id = (await create(Array.from({ length: 49 }, (_, i) => `k${i}`))).data.createLearner.id;
    const before = await stored(id);
    const cases: Record<string, unknown>[] = [
      { addGroups: ['n1', 'n2'] }, // 51 after adding
      { groups: Array.from({ length: 51 }, (_, i) => `r${i}`) },
      { groups: ['ok'], addGroups: ['x'] },
      { groups: ['ok'], removeGroups: ['k1'] },
      { addGroups: [''] },
      { removeGroups: ['z'.repeat(201)] },
      { groups: ['ok', 'x'.repeat(201)], displayName: 'Not applied' },
      { displayName: 'd'.repeat(201) }, // was stored at any length: 1 MB names made every page of learners huge
      { addGroups: ['n1'], displayName: 'd'.repeat(201) },
    ];
    for (const i of cases) {
      const res = await lms.request(UPDATE, { id, i });
      expect({ i, code: errorCode(res) }).toEqual({ i, code: 'BAD_USER_INPUT' });
    }
    expect(await stored(id)).toEqual(before);
    // adding one more, and replacing while removing some, stays within 50
    const ok = await lms.request(UPDATE, { id, i: { addGroups: ['n1', 'n2'], removeGroups: ['k0'] } });
    expect(ok.data.updateLearner.groups).toHaveLength(50);
  });

  test('updateLearner needs ASSESS_WRITE; unknown, malformed and foreign ids are NOT_FOUND', async () => {
    const id = (await create(['a'])).data.createLearner.id;
    const refused = await reader.request(UPDATE, { id, i: { addGroups: ['b'] } });
    expect(errorCode(refused)).toBe('FORBIDDEN');
    expect(refused.errors![0]!.message).toMatch(/ASSESS_WRITE/);
    expect(await stored(id)).toEqual(['a']);

    const other = await otherOrganization(t);
    const foreign = await t.app.services.prisma.learner.create({ data: { organizationId: other.org.id, externalId: `f-${randomUUID()}`, groups: ['theirs'] } });
    for (const target of [toGlobalId('Learner', foreign.id), toGlobalId('Learner', randomUUID()), toGlobalId('Utterance', randomUUID()), 'nope']) {
      const res = await writer.request(UPDATE, { id: target, i: { addGroups: ['mine'] } });
      expect({ target, code: errorCode(res) }).toEqual({ target, code: 'NOT_FOUND' });
    }
    expect((await t.app.services.prisma.learner.findUniqueOrThrow({ where: { id: foreign.id } })).groups).toEqual(['theirs']);
    // and the other organisation cannot touch ours
    const theirs = await other.client.request(UPDATE, { id, i: { groups: [] } });
    expect(errorCode(theirs)).toBe('NOT_FOUND');
    expect(await stored(id)).toEqual(['a']);
  });

  test('a key without SCORES_READ reads back only what its update wrote, never the rest of the learner', async () => {
    const created = await lms.request(CREATE, { i: { externalId: `secret-${randomUUID()}`, displayName: 'Alice Secret', groups: ['class-7b'], ageGroup: 'CHILD' } });
    const id = created.data.createLearner.id;
    const as = (selection: string, i: Record<string, unknown>) =>
      writer.request(`mutation($id: ID!, $i: UpdateLearnerInput!) { updateLearner(id: $id, input: $i) { ${selection} } }`, { id, i });

    // Nothing written, everything asked: refused, and nothing of the row in the answer.
    for (const field of ['externalId', 'displayName', 'groups', 'ageGroup', 'createdAt']) {
      const res = await as(`id ${field}`, {});
      expect({ field, code: errorCode(res), message: res.errors?.[0]?.message }).toEqual({ field, code: 'FORBIDDEN', message: 'This API key lacks the SCORES_READ scope.' });
      expect(JSON.stringify(res)).not.toMatch(/Alice Secret|class-7b|CHILD|secret-/);
    }
    // What it wrote, it reads back; the groups after addGroups hold groups it did not send.
    expect((await as('id displayName ageGroup', { displayName: 'Bob', ageGroup: 'ADULT' })).data.updateLearner).toEqual({ id, displayName: 'Bob', ageGroup: 'ADULT' });
    expect((await as('id groups', { groups: ['x', ' x ', 'y'] })).data.updateLearner).toEqual({ id, groups: ['x', 'y'] });
    const added = await as('groups', { addGroups: ['z'] });
    expect(errorCode(added)).toBe('FORBIDDEN');
    expect(JSON.stringify(added)).not.toContain('"y"');
    // The write itself happened each time (the refusal is of reading, not of writing).
    const row = await t.app.services.prisma.learner.findUniqueOrThrow({ where: { id: fromGlobalId(id)!.id } });
    expect(row).toMatchObject({ displayName: 'Bob', ageGroup: 'ADULT', groups: ['x', 'y', 'z'] });
    // Too many groups: refused without saying how many the learner would have (its current count,
    // and with removeGroups whether it is in a group, would follow from it).
    const tooMany = await as('id', { addGroups: Array.from({ length: 50 }, (_, i) => `many-${i}`), removeGroups: ['x'] });
    expect({ code: errorCode(tooMany), message: tooMany.errors?.[0]?.message, max: tooMany.errors?.[0]?.extensions?.max })
      .toEqual({ code: 'BAD_USER_INPUT', message: 'The learner would belong to more than 50 groups, the most one can.', max: 50 });
    // A key that also reads gets the whole row.
    expect((await lms.request(UPDATE, { id, i: {} })).data.updateLearner).toMatchObject({ externalId: created.data.createLearner.externalId, groups: ['x', 'y', 'z'] });
  });

  test('concurrent addGroups on one learner all apply', async () => {
    const id = (await create([])).data.createLearner.id;
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => lms.request(UPDATE, { id, i: { addGroups: [`p${i}`] } })),
    );
    for (const r of results) expect(r.errors).toBeUndefined();
    expect((await stored(id)).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `p${i}`).sort());
  });
});
