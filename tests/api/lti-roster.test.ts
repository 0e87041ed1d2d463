/**
 * Course rosters from the LMS (LTI Names and Role Provisioning Services 2.0): `syncLtiMembers` reads
 * every page of a course's memberships from a real local platform (tests/support/lti-platform.ts:
 * it verifies the client assertion against the tool's JWKS over HTTP, grants a token of the NRPS
 * scope, serves pages with `Link: rel="next"` only to that token and the container's media type),
 * and applies them to the organisation's learners and their groups, on both databases.
 */
import { readFileSync } from 'node:fs';
import { openDatabase } from '../../src/db/client.js';
import { waitFor } from '../jobs/fixtures.js';
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { errorCode } from '../support/client.js';
import { keyWithScopes, otherOrganization } from '../support/seed.js';
import { LtiTestPlatform, type RosterMember } from '../support/lti-platform.js';
import { MAX_GROUPS } from '../../src/learners/groups.js';
import { ERASED_REASON, isLearnerRole, nextLink } from '../../src/lti/members.js';

const DATABASES = await testDatabases();

const LEARNER = 'http://purl.imsglobal.org/vocab/lis/v2/membership#Learner';
const INSTRUCTOR = 'http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor';
const SYNC = `mutation($input: SyncLtiMembersInput!) { syncLtiMembers(input: $input) {
  group contextId contextLabel contextTitle learners created added removed skipped { userId reason } } }`;

test('a Link header gives its rel="next" target, resolved against the page; learner roles are told apart', () => {
  const base = 'https://lms.example/api/memberships?page=1';
  expect(nextLink('<https://lms.example/api/memberships?page=2>; rel="next"', base)).toBe('https://lms.example/api/memberships?page=2');
  expect(nextLink('<?page=1>; rel="prev", </api/memberships?page=3>; rel=next', base)).toBe('https://lms.example/api/memberships?page=3');
  expect(nextLink(['<https://a.example/x>; rel="differences"', '<https://lms.example/n>; rel="first next"'], base)).toBe('https://lms.example/n');
  expect(nextLink('<https://lms.example/x>; rel="differences"', base)).toBeNull();
  expect(nextLink(undefined, base)).toBeNull();
  // A next link that is no URL is the platform's error, named as such (not an internal one).
  expect(() => nextLink('<http://[::1/x>; rel="next"', base)).toThrow(expect.objectContaining({ extensions: expect.objectContaining({ code: 'LTI_PLATFORM_ERROR' }) }));
  for (const role of [LEARNER, 'Learner', 'http://purl.imsglobal.org/vocab/lis/v2/membership/Learner#Learner']) expect(isLearnerRole(role)).toBe(true);
  for (const role of [INSTRUCTOR, 'http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant', 'LearnerX', 42]) expect(isLearnerRole(role)).toBe(false);
});

describe.each(DATABASES)('course rosters from the LMS on %s', (kind) => {
  let t: TestApp;
  let lms: LtiTestPlatform;
  let platformId: string;
  const prisma = () => t.app.services.prisma;
  const learnerOf = (externalId: string) => prisma().learner.findFirst({ where: { externalId }, select: { displayName: true, groups: true } });

  beforeAll(async () => {
    lms = await LtiTestPlatform.start();
    t = await startTestApp(kind, { webhookAllowedPrivateNetworks: ['127.0.0.1'], webhookAllowHttp: true });
    platformId = await lms.registerWith(t.admin, t.app.url, 'speechmark-roster');
  });
  afterAll(async () => {
    await t?.dispose();
    await lms?.close();
  });

  test('the roster becomes learners in the course group: new ones created, known ones added, leavers removed, the rest untouched', async () => {
    const admin = t.admin;
    const create = (externalId: string, extra: Record<string, unknown>) =>
      admin.request(`mutation($i: CreateLearnerInput!) { createLearner(input: $i) { id } }`, { i: { externalId, ...extra } });
    await create('u-known', { displayName: 'Kept Name', groups: ['other-course'] });
    await create('u-left', { groups: ['course-7', 'other-course'] });
    await create('u-full', { groups: Array.from({ length: MAX_GROUPS }, (_, i) => `g-${i}`) });
    const members: RosterMember[] = [
      { user_id: 'u-new-1', roles: [LEARNER], name: 'Ada Learner', email: 'ada@example.edu' },
      { user_id: 'u-new-2', roles: ['http://purl.imsglobal.org/vocab/lis/v2/membership/Learner#Learner'], status: 'Active' },
      { user_id: 'u-known', roles: [LEARNER], name: 'Another Name' },
      { user_id: 'u-teacher', roles: [INSTRUCTOR], name: 'Teacher' },
      { user_id: 'u-dropped', roles: [LEARNER], status: 'Inactive' },
      { user_id: 'u-full', roles: [LEARNER] },
      { user_id: 'x'.repeat(201), roles: [LEARNER] },
      // Listed again, inactive in another section: still an active learner of the course.
      { user_id: 'u-new-2', roles: ['Learner'], status: 'Inactive' },
    ];
    lms.setRoster('course-7', members, { pageSize: 2, label: 'ENG7', title: 'English 7' });
    const res = await admin.request(SYNC, { input: { platformId, contextMembershipsUrl: lms.membershipsUrl('course-7') } });
    expect(res.errors).toBeUndefined();
    expect(res.data.syncLtiMembers).toEqual({
      group: 'course-7', contextId: 'course-7', contextLabel: 'ENG7', contextTitle: 'English 7',
      learners: 4, created: 2, added: 1, removed: 1,
      skipped: [{ userId: 'x'.repeat(200), reason: 'user_id must be 1 to 200 characters' }, { userId: 'u-full', reason: `already in ${MAX_GROUPS} groups` }],
    });
    // Every page was read, in order (8 members, 2 a page).
    expect(lms.rosterPages.filter((p) => p.context === 'course-7').map((p) => p.page)).toEqual([0, 1, 2, 3]);
    expect(await learnerOf('u-new-1')).toEqual({ displayName: 'Ada Learner', groups: ['course-7'] });
    expect(await learnerOf('u-new-2')).toEqual({ displayName: null, groups: ['course-7'] });
    expect(await learnerOf('u-known')).toEqual({ displayName: 'Kept Name', groups: ['other-course', 'course-7'] });
    expect(await learnerOf('u-left')).toEqual({ displayName: null, groups: ['other-course'] });
    expect((await learnerOf('u-full'))!.groups).toHaveLength(MAX_GROUPS);
    expect(await learnerOf('u-teacher')).toBeNull();
    expect(await learnerOf('u-dropped')).toBeNull();
    // The group is the cohort the analytics read.
    const group = await admin.request(`{ learners(first: 10, filter: {group: "course-7"}) { totalCount } }`);
    expect(group.data.learners.totalCount).toBe(3);
    const audit = await admin.request(`{ auditEvents(first: 1, action: "ltiPlatform.membersSynced") { edges { node { targetType targetId details } } } }`);
    expect(audit.data.auditEvents.edges[0].node).toMatchObject({
      targetType: 'LtiPlatform', targetId: platformId,
      details: { group: 'course-7', learners: 4, created: 2, added: 1, removed: 1, skipped: 2, contextMembershipsUrl: lms.membershipsUrl('course-7') },
    });

    // The same roster again changes nothing, and reuses the token of the first sync (still valid).
    const tokensAsked = lms.assertions.length;
    const again = await admin.request(SYNC, { input: { platformId, contextMembershipsUrl: lms.membershipsUrl('course-7') } });
    expect(again.data.syncLtiMembers).toMatchObject({ learners: 4, created: 0, added: 0, removed: 0 });
    expect(lms.assertions.length).toBe(tokensAsked);
    // One learner leaves the course (Inactive): only the group goes.
    lms.setRoster('course-7', members.map((m) => (m.user_id === 'u-new-1' ? { ...m, status: 'Inactive' as const } : m)), { pageSize: 2 });
    const left = await admin.request(SYNC, { input: { platformId, contextMembershipsUrl: lms.membershipsUrl('course-7') } });
    expect(left.data.syncLtiMembers).toMatchObject({ learners: 3, created: 0, added: 0, removed: 1, contextLabel: null });
    expect(await learnerOf('u-new-1')).toEqual({ displayName: 'Ada Learner', groups: [] });
    // A group of the caller's choosing instead of the context id.
    const section = await admin.request(SYNC, { input: { platformId, contextMembershipsUrl: lms.membershipsUrl('course-7'), group: ' section-a ' } });
    expect(section.data.syncLtiMembers).toMatchObject({ group: 'section-a', learners: 3, created: 0, added: 2, removed: 0 });
    // A 401 part-way (the platform revoked the token): one fresh token, and the page again.
    lms.failNextRosterPages(0, 401);
    const refreshed = await admin.request(SYNC, { input: { platformId, contextMembershipsUrl: lms.membershipsUrl('course-7') } });
    expect(refreshed.errors).toBeUndefined();
    expect(refreshed.data.syncLtiMembers).toMatchObject({ learners: 3, created: 0, added: 0, removed: 0 });
    expect(lms.assertions.length).toBe(tokensAsked + 1);
    // A 403 with the cached token (as when the LMS allowed the scope only after the token was
    // granted): one fresh token too, and the sync goes through.
    lms.failNextRosterPages(0, 403);
    const afterForbidden = await admin.request(SYNC, { input: { platformId, contextMembershipsUrl: lms.membershipsUrl('course-7') } });
    expect(afterForbidden.errors).toBeUndefined();
    expect(lms.assertions.length).toBe(tokensAsked + 2);
    // A roster with no learners removes no one (a platform's empty page by mistake would empty the cohort).
    lms.setRoster('course-7', [{ user_id: 'u-teacher', roles: [INSTRUCTOR] }]);
    const empty = await admin.request(SYNC, { input: { platformId, contextMembershipsUrl: lms.membershipsUrl('course-7') } });
    expect(empty.data.syncLtiMembers).toMatchObject({ learners: 0, created: 0, added: 0, removed: 0 });
    expect((await learnerOf('u-known'))!.groups).toContain('course-7');
    expect(lms.problems).toEqual([]);
  });

  test('an erased learner is not created again by the next sync, until createLearner brings them back', async () => {
    const admin = t.admin;
    const members: RosterMember[] = [
      { user_id: 'e-erased', roles: [LEARNER], name: 'Erin Erased' },
      { user_id: 'e-stays', roles: [LEARNER], name: 'Sam Stays' },
    ];
    lms.setRoster('course-9', members);
    const sync = () => admin.request(SYNC, { input: { platformId, contextMembershipsUrl: lms.membershipsUrl('course-9') } });
    expect((await sync()).data.syncLtiMembers).toMatchObject({ created: 2, skipped: [] });
    const erasedId = (await admin.request(`{ learnerByExternalId(externalId: "e-erased") { id } }`)).data.learnerByExternalId.id;
    const erased = await admin.request(`mutation($id: ID!) { eraseLearner(id: $id) { learners } }`, { id: erasedId });
    expect(erased.errors).toBeUndefined();
    // The hold keeps no trace of the id itself.
    const holds = await prisma().erasedLearner.findMany();
    expect(holds).toHaveLength(1);
    expect(JSON.stringify(holds)).not.toContain('e-erased');

    // The LMS still lists them: the sync skips them, saying why, and creates no one.
    const again = await sync();
    expect(again.errors).toBeUndefined();
    expect(again.data.syncLtiMembers).toMatchObject({ learners: 2, created: 0, added: 0, removed: 0, skipped: [{ userId: 'e-erased', reason: ERASED_REASON }] });
    expect(await learnerOf('e-erased')).toBeNull();
    expect(await learnerOf('e-stays')).toEqual({ displayName: 'Sam Stays', groups: ['course-9'] });
    // The hold is the organisation's: another one's learner with the same id neither meets nor lifts it.
    const other = await otherOrganization(t);
    expect((await other.client.request(`mutation { createLearner(input: {externalId: "e-erased"}) { id } }`)).errors).toBeUndefined();
    expect(await prisma().erasedLearner.count()).toBe(1);
    expect((await sync()).data.syncLtiMembers).toMatchObject({ created: 0, skipped: [{ userId: 'e-erased', reason: ERASED_REASON }] });

    // An explicit createLearner is a request about that person: created, and the hold is gone.
    const back = await admin.request(`mutation { createLearner(input: {externalId: "e-erased"}) { id } }`);
    expect(back.errors).toBeUndefined();
    expect(await prisma().erasedLearner.count()).toBe(0);
    const lifted = await admin.request(`{ auditEvents(first: 1, action: "learner.erasureHoldLifted") { edges { node { targetType targetId } } } }`);
    expect(lifted.data.auditEvents.edges.map((e: any) => e.node)).toEqual([{ targetType: 'Learner', targetId: back.data.createLearner.id }]);
    expect((await sync()).data.syncLtiMembers).toMatchObject({ created: 0, added: 1, skipped: [] });
    expect(await prisma().learner.findFirst({ where: { externalId: 'e-erased', organizationId: { not: other.org.id } }, select: { displayName: true, groups: true } }))
      .toEqual({ displayName: null, groups: ['course-9'] });
  });

  if (kind === 'postgres') {
    // An erasure held at one of two points (src/admin/erase.ts) by a table lock it waits for:
    // - "Job": it has locked the learner (FOR UPDATE) and not deleted them yet;
    // - "ErasedLearner": it has deleted the learner and not recorded the hold yet, the window where
    //   a sync could read no hold and insert the learner once the deletion commits.
    test.each([['Job', 'EXCLUSIVE', 'locked'], ['ErasedLearner', 'SHARE', 'deleted']])(
      'a sync running while the learner is being erased (held at %s: %s) does not create them again and says why',
      async (table, mode, tag) => {
        const course = `course-race-${tag}`;
        const userId = `r-erased-${tag}`;
        lms.setRoster(`${course}-0`, [{ user_id: userId, roles: [LEARNER] }]);
        await t.admin.request(SYNC, { input: { platformId, contextMembershipsUrl: lms.membershipsUrl(`${course}-0`) } });
        const erasedId = (await t.admin.request(`query($e: String!) { learnerByExternalId(externalId: $e) { id } }`, { e: userId })).data.learnerByExternalId.id;
        lms.setRoster(course, [{ user_id: userId, roles: [LEARNER], name: 'Rae Race' }, { user_id: `r-new-${tag}`, roles: [LEARNER] }]);

        const blocker = await openDatabase({ databaseUrl: t.config.databaseUrl, dataDir: 'memory://' });
        // The erasure's transaction id, once it waits for the table (this schema's: other suites share the server).
        const erasureXid = async () => (await prisma().$queryRawUnsafe<{ xid: string }[]>(
          `SELECT a.backend_xid::text AS "xid" FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'relation' AND l.relation = '"${table}"'::regclass AND NOT l.granted AND a.backend_xid IS NOT NULL`))[0]?.xid;
        const waitsFor = async (xid: string) => (await prisma().$queryRaw<{ n: number }[]>`
          SELECT count(*)::int AS "n" FROM pg_locks WHERE locktype = 'transactionid' AND transactionid::text = ${xid} AND NOT granted`)[0]!.n > 0;
        try {
          let release!: () => void;
          const released = new Promise<void>((resolve) => (release = resolve));
          let locked!: () => void;
          const tableLocked = new Promise<void>((resolve) => (locked = resolve));
          const holding = blocker.prisma.$transaction(async (tx) => {
            await tx.$executeRawUnsafe(`LOCK TABLE "${table}" IN ${mode} MODE`);
            locked();
            await released;
          }, { timeout: 60_000 });
          await tableLocked;
          const erasure = t.admin.request(`mutation($id: ID!) { eraseLearner(id: $id) { learners } }`, { id: erasedId });
          const xid = await waitFor(erasureXid);
          let syncDone = false;
          const racing = t.admin.request(SYNC, { input: { platformId, contextMembershipsUrl: lms.membershipsUrl(course) } }).finally(() => (syncDone = true));
          // The sync either waits for the erasure's transaction or, wrongly, finishes first.
          await waitFor(async () => syncDone || (await waitsFor(xid)));
          release();
          await holding;
          expect((await erasure).errors).toBeUndefined();
          const res = await racing;
          expect(res.errors).toBeUndefined();
          expect(res.data.syncLtiMembers).toMatchObject({ learners: 2, created: 1, skipped: [{ userId, reason: ERASED_REASON }] });
          expect(await learnerOf(userId)).toBeNull();
          expect(await learnerOf(`r-new-${tag}`)).toEqual({ displayName: null, groups: [course] });
        } finally {
          await blocker.close();
        }
      },
    );
  }

  test('a platform that fails part-way writes nothing: LTI_PLATFORM_ERROR with its status', async () => {
    lms.setRoster('course-9', [{ user_id: 'n-1', roles: [LEARNER] }, { user_id: 'n-2', roles: [LEARNER] }, { user_id: 'n-3', roles: [LEARNER] }], { pageSize: 1 });
    const audits = () => prisma().auditEvent.count({ where: { action: 'ltiPlatform.membersSynced' } });
    const before = { learners: await prisma().learner.count(), audits: await audits() };
    lms.failNextRosterPages(0, 503); // the first page is served, the second fails
    const failed = await t.admin.request(SYNC, { input: { platformId, contextMembershipsUrl: lms.membershipsUrl('course-9') } });
    expect(errorCode(failed)).toBe('LTI_PLATFORM_ERROR');
    expect(failed.errors![0]!.extensions).toMatchObject({ status: 503 });
    expect(failed.errors![0]!.message).toContain('answered 503');
    expect({ learners: await prisma().learner.count(), audits: await audits() }).toEqual(before);
    // Once it answers again, the whole roster goes in.
    const ok = await t.admin.request(SYNC, { input: { platformId, contextMembershipsUrl: lms.membershipsUrl('course-9') } });
    expect(ok.data.syncLtiMembers).toMatchObject({ learners: 3, created: 3 });

    // A course the platform does not know: its 404, nothing written.
    const unknown = await t.admin.request(SYNC, { input: { platformId, contextMembershipsUrl: lms.membershipsUrl('no-such-course') } });
    expect([errorCode(unknown), unknown.errors![0]!.extensions!.status]).toEqual(['LTI_PLATFORM_ERROR', 404]);
    // A next page on another origin (the token would go there) or one read already (a loop).
    const members = [{ user_id: 'l-1', roles: [LEARNER] }];
    lms.setRoster('course-elsewhere', members, { next: () => 'https://elsewhere.example/memberships?page=2' });
    const elsewhere = await t.admin.request(SYNC, { input: { platformId, contextMembershipsUrl: lms.membershipsUrl('course-elsewhere') } });
    expect([errorCode(elsewhere), elsewhere.errors![0]!.extensions!.reason]).toEqual(['LTI_PLATFORM_ERROR', expect.stringMatching(/another origin/)]);
    lms.setRoster('course-loop', members, { next: (page) => `${lms.membershipsUrl('course-loop')}?page=${page % 2}` });
    const loop = await t.admin.request(SYNC, { input: { platformId, contextMembershipsUrl: lms.membershipsUrl('course-loop') } });
    expect([errorCode(loop), loop.errors![0]!.extensions!.reason]).toEqual(['LTI_PLATFORM_ERROR', expect.stringMatching(/read already/)]);
    expect(await prisma().learner.count({ where: { externalId: 'l-1' } })).toBe(0);
  });

  test('a platform answering what cannot be used is LTI_PLATFORM_ERROR, and strings text cannot hold are skipped, not an internal error', async () => {
    const sync = (contextId: string, extra: Record<string, unknown> = {}) =>
      t.admin.request(SYNC, { input: { platformId, contextMembershipsUrl: lms.membershipsUrl(contextId), ...extra } });
    const audits = () => prisma().auditEvent.count({ where: { action: 'ltiPlatform.membersSynced' } });
    const before = { learners: await prisma().learner.count(), audits: await audits() };
    const problems = lms.problems.length;
    lms.setRoster('course-odd', [{ user_id: 'odd-1', roles: [LEARNER] }]);
    // A token endpoint answering JSON that holds no token: null, a number, a token no header can carry.
    for (const body of ['null', '42', JSON.stringify({ access_token: 'line\nbreak', token_type: 'Bearer' })]) {
      lms.revokeTokens(); // the cached token is refused, so a fresh one is asked for
      lms.answerNextTokens(body);
      const res = await sync('course-odd');
      expect({ body, code: errorCode(res), reason: res.errors?.[0]?.extensions?.reason }).toEqual({ body, code: 'LTI_PLATFORM_ERROR', reason: expect.stringMatching(/token endpoint refused/) });
    }
    // A next link that is not a URL.
    lms.setRoster('course-badlink', [{ user_id: 'odd-2', roles: [LEARNER] }], { next: () => 'http://[::1/x' });
    const badLink = await sync('course-badlink');
    expect([errorCode(badLink), badLink.errors![0]!.extensions!.reason]).toEqual(['LTI_PLATFORM_ERROR', expect.stringMatching(/is not a URL/)]);
    // A context id with a NUL can name no group; with a group given, the sync goes on.
    lms.setRoster('course-nul', [
      { user_id: 'nul-ok', roles: [LEARNER], name: 'Bad\u0000Name' },
      { user_id: 'nul\u0000id', roles: [LEARNER] },
      { user_id: 'lone\uD800', roles: [LEARNER] },
    ], { servedContextId: 'ctx\u0000nul' });
    const noGroup = await sync('course-nul');
    expect([errorCode(noGroup), noGroup.errors![0]!.extensions!.reason]).toEqual(['LTI_PLATFORM_ERROR', expect.stringMatching(/context id contains a character text cannot hold.*pass group/)]);
    expect({ learners: await prisma().learner.count(), audits: await audits() }).toEqual(before);
    const grouped = await sync('course-nul', { group: 'course-nul' });
    expect(grouped.errors).toBeUndefined();
    expect(grouped.data.syncLtiMembers).toMatchObject({ group: 'course-nul', contextId: null, learners: 1, created: 1 });
    expect(grouped.data.syncLtiMembers.skipped).toEqual([
      { userId: 'nul\u0000id', reason: expect.stringMatching(/^user_id contains a NUL character/) },
      { userId: 'lone\uD800', reason: expect.stringMatching(/^user_id contains an unpaired UTF-16 surrogate/) },
    ]);
    expect(await learnerOf('nul-ok')).toEqual({ displayName: null, groups: ['course-nul'] });
    expect(lms.problems.slice(problems)).toEqual([]); // every request we made was well-formed
  });

  test('bad input is BAD_USER_INPUT, another organisation\'s platform NOT_FOUND, and only an admin key may sync', async () => {
    const url = lms.membershipsUrl('course-7');
    for (const input of [
      { platformId, contextMembershipsUrl: 'not a url' },
      { platformId, contextMembershipsUrl: 'ftp://lms.example/memberships' },
      // an address the operator's policy refuses: no token is asked for it
      { platformId, contextMembershipsUrl: 'http://10.1.2.3/contexts/x/memberships' },
      { platformId, contextMembershipsUrl: url, group: '   ' },
      { platformId, contextMembershipsUrl: url, group: 'g'.repeat(201) },
    ]) {
      expect({ input, code: errorCode(await t.admin.request(SYNC, { input })) }).toEqual({ input, code: 'BAD_USER_INPUT' });
    }
    const { client: other } = await otherOrganization(t);
    expect(errorCode(await other.request(SYNC, { input: { platformId, contextMembershipsUrl: url } }))).toBe('NOT_FOUND');
    const writer = await keyWithScopes(t, ['ASSESS_WRITE', 'SCORES_READ']);
    expect(errorCode(await writer.request(SYNC, { input: { platformId, contextMembershipsUrl: url } }))).toBe('FORBIDDEN');
  });

  test("the README's syncLtiMembers runs as written", async () => {
    const readme = readFileSync('README.md', 'utf8');
    const section = readme.slice(readme.indexOf('#### Course rosters: LTI Names and Role Provisioning'));
    const op = /```graphql\n([\s\S]*?)```/.exec(section)![1]!.trim();
    lms.setRoster('readme-course', [{ user_id: 'readme-1', roles: [LEARNER], name: 'Readme Learner' }], { title: 'Readme Course' });
    const filled = op.replace('<platform id>', platformId).replace('<context memberships url>', lms.membershipsUrl('readme-course'));
    expect(filled).not.toMatch(/<[a-z ]+>/);
    const res = await t.admin.request(filled);
    expect(res.errors).toBeUndefined();
    expect(res.data.syncLtiMembers).toEqual({ group: 'readme-course', contextTitle: 'Readme Course', learners: 1, created: 1, added: 0, removed: 0, skipped: [] });
  });
});
