/**
 * A platform's credentials go only to its origins: the signed client assertion to its token
 * endpoint, its access tokens to its line items and memberships. Three local LTI platforms
 * (tests/support/lti-platform.ts) on three ports, so three origins: `lms` is the registered
 * platform, `elsewhere` another host an admin could type, which must receive nothing (it records
 * every request it gets), and `canvas` a platform whose issuer is not where its services are, as
 * Canvas's is not, registered with its origins listed.
 */
import { LOCAL_PEERS, startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { LtiTestPlatform } from '../support/lti-platform.js';
import { completeReading } from '../support/lti-grading.js';
import { seedUtterance } from '../support/seed.js';
import { waitFor } from '../jobs/fixtures.js';
import { errorCode, type GqlResponse } from '../support/client.js';
import { fromGlobalId } from '../../src/graphql/ids.js';

const DATABASES = await testDatabases();

const REGISTER = `mutation($input: RegisterLtiPlatformInput!) { registerLtiPlatform(input: $input) { id jwksPath serviceOrigins } }`;
const UPDATE_PLATFORM = `mutation($id: ID!, $input: UpdateLtiPlatformInput!) { updateLtiPlatform(id: $id, input: $input) { tokenEndpoint serviceOrigins } }`;
const LINE_ITEM = `mutation($input: CreateLtiLineItemInput!) { createLtiLineItem(input: $input) { id url } }`;
const UPDATE_ITEM = `mutation($id: ID!, $input: UpdateLtiLineItemInput!) { updateLtiLineItem(id: $id, input: $input) { url } }`;
const SYNC = `mutation($input: SyncLtiMembersInput!) { syncLtiMembers(input: $input) { learners } }`;

const refusal = (res: GqlResponse) => ({ code: errorCode(res), argument: res.errors?.[0]?.extensions?.argument, message: res.errors?.[0]?.message });

describe.each(DATABASES)('LTI service URLs bound to the platform\'s origins on %s', (kind) => {
  let t: TestApp;
  let lms: LtiTestPlatform;
  let elsewhere: LtiTestPlatform;
  let canvas: LtiTestPlatform;
  let platformId: string;
  let organizationId: string;

  beforeAll(async () => {
    t = await startTestApp(kind, LOCAL_PEERS);
    [lms, elsewhere, canvas] = await Promise.all([LtiTestPlatform.start(), LtiTestPlatform.start(), LtiTestPlatform.start()]);
    platformId = await lms.registerWith(t.admin, t.app.url, 'speechmark-tool');
    organizationId = (await t.app.services.prisma.organization.findFirstOrThrow({ orderBy: { createdAt: 'asc' } })).id;
  });
  afterAll(async () => {
    await Promise.all([lms, elsewhere, canvas].map((p) => p?.close()));
    await t?.dispose();
  });

  /** What `elsewhere` was sent: nothing at all, not even a request it refused. */
  const sentElsewhere = () => ({ assertions: elsewhere.assertions.length, scores: elsewhere.scores.length, rosterPages: elsewhere.rosterPages.length, lineItemPosts: elsewhere.lineItemPosts, problems: elsewhere.problems });
  const NOTHING = { assertions: 0, scores: 0, rosterPages: 0, lineItemPosts: 0, problems: [] };
  const localId = (globalId: string) => fromGlobalId(globalId)!.id;

  test('a token endpoint, line item, line items container or memberships URL on another origin is BAD_USER_INPUT naming it; nothing is sent or stored', async () => {
    const input = { name: 'Hijacked', issuer: lms.url, clientId: 'another-tool', deploymentId: 'dep-1', tokenEndpoint: elsewhere.tokenEndpoint };
    const registered = await t.admin.request(REGISTER, { input });
    expect(refusal(registered)).toEqual({ code: 'BAD_USER_INPUT', argument: 'input.tokenEndpoint', message: expect.stringContaining(elsewhere.url) });
    expect(registered.errors![0]!.extensions).toMatchObject({ origin: elsewhere.url, allowedOrigins: [lms.url] });
    expect(await t.app.services.prisma.ltiPlatform.count({ where: { clientId: 'another-tool' } })).toBe(0);

    expect(refusal(await t.admin.request(UPDATE_PLATFORM, { id: platformId, input: { tokenEndpoint: elsewhere.tokenEndpoint } })))
      .toMatchObject({ code: 'BAD_USER_INPUT', argument: 'input.tokenEndpoint' });
    // The issuer moved away from the token endpoint's origin leaves it unbound too.
    expect(refusal(await t.admin.request(UPDATE_PLATFORM, { id: platformId, input: { issuer: 'https://moved.example' } })))
      .toMatchObject({ code: 'BAD_USER_INPUT', argument: 'input.tokenEndpoint' });
    expect(refusal(await t.admin.request(UPDATE_PLATFORM, { id: platformId, input: { serviceOrigins: ['https://lms.example/with/a/path'] } })))
      .toMatchObject({ code: 'BAD_USER_INPUT', argument: 'input.serviceOrigins' });
    const stored = await t.app.services.prisma.ltiPlatform.findUniqueOrThrow({ where: { id: localId(platformId) } });
    expect([stored.tokenEndpoint, stored.issuer, stored.serviceOrigins]).toEqual([lms.tokenEndpoint, lms.url, []]);

    const item = { platformId, aspect: 'TOTAL', scoreMaximum: 10 };
    expect(refusal(await t.admin.request(LINE_ITEM, { input: { ...item, url: elsewhere.lineItemUrl('x') } })))
      .toMatchObject({ code: 'BAD_USER_INPUT', argument: 'input.url' });
    expect(refusal(await t.admin.request(LINE_ITEM, { input: { ...item, lineItemsUrl: elsewhere.lineItemsUrl('course-1') } })))
      .toMatchObject({ code: 'BAD_USER_INPUT', argument: 'input.lineItemsUrl' });
    const mapped = await t.admin.request(LINE_ITEM, { input: { ...item, url: lms.lineItemUrl('bound') } });
    expect(mapped.errors).toBeUndefined();
    expect(refusal(await t.admin.request(UPDATE_ITEM, { id: mapped.data.createLtiLineItem.id, input: { url: elsewhere.lineItemUrl('x') } })))
      .toMatchObject({ code: 'BAD_USER_INPUT', argument: 'input.url' });
    elsewhere.setRoster('course-1', [{ user_id: 'u1', roles: ['Learner'] }]);
    expect(refusal(await t.admin.request(SYNC, { input: { platformId, contextMembershipsUrl: elsewhere.membershipsUrl('course-1') } })))
      .toMatchObject({ code: 'BAD_USER_INPUT', argument: 'input.contextMembershipsUrl' });

    expect(sentElsewhere()).toEqual(NOTHING);
    expect(await t.app.services.prisma.ltiLineItem.count({ where: { url: { startsWith: elsewhere.url } } })).toBe(0);
  });

  test('a platform whose token endpoint and services are on other origins than its issuer\'s lists them in serviceOrigins, and grades reach it', async () => {
    const clientId = 'canvas-tool';
    const input = { name: 'Canvas', issuer: 'https://canvas.example', clientId, deploymentId: '1', tokenEndpoint: canvas.tokenEndpoint };
    expect(refusal(await t.admin.request(REGISTER, { input }))).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'input.tokenEndpoint' });
    const registered = await t.admin.request(REGISTER, { input: { ...input, serviceOrigins: [`${canvas.url}/`] } });
    expect(registered.errors).toBeUndefined();
    expect(registered.data.registerLtiPlatform.serviceOrigins).toEqual(['https://canvas.example', canvas.url]);
    canvas.trustTool(clientId, new URL(registered.data.registerLtiPlatform.jwksPath, t.app.url).href);
    const id = registered.data.registerLtiPlatform.id;
    const item = await t.admin.request(LINE_ITEM, { input: { platformId: id, url: canvas.lineItemUrl('week-1'), aspect: 'TOTAL', scoreMaximum: 10 } });
    expect(item.errors).toBeUndefined();
    const prisma = t.app.services.prisma;
    const u = await seedUtterance(prisma, organizationId, 'We call it bear');
    await prisma.ltiSubmission.create({ data: { organizationId, utteranceId: u.id, lineItemId: localId(item.data.createLtiLineItem.id), userId: 'canvas-user' } });
    await completeReading(prisma, organizationId, u, 7, Promise.resolve());
    await waitFor(async () => canvas.scores.length === 1, 30_000, 50);
    expect(canvas.scores[0]!.body).toMatchObject({ userId: 'canvas-user', scoreGiven: 7 });
    expect(canvas.problems).toEqual([]);
    // Dropping the origin the token endpoint is on is refused.
    expect(refusal(await t.admin.request(UPDATE_PLATFORM, { id, input: { serviceOrigins: [] } })))
      .toMatchObject({ code: 'BAD_USER_INPUT', argument: 'input.tokenEndpoint' });
  });

  test('rows stored before the check: nothing is sent to an unbound line item or token endpoint', async () => {
    const prisma = t.app.services.prisma;
    const item = await t.admin.request(LINE_ITEM, { input: { platformId, url: lms.lineItemUrl('stored-before'), aspect: 'TOTAL', scoreMaximum: 10 } });
    const lineItemId = localId(item.data.createLtiLineItem.id);
    // As an admin could store it before URLs were bound to the platform.
    await prisma.ltiLineItem.update({ where: { id: lineItemId }, data: { url: elsewhere.lineItemUrl('stored-before') } });
    const u = await seedUtterance(prisma, organizationId, 'We call it bear');
    await prisma.ltiSubmission.create({ data: { organizationId, utteranceId: u.id, lineItemId, userId: 'stored-user' } });
    const scoreId = await completeReading(prisma, organizationId, u, 6, Promise.resolve());
    const attempt = await waitFor(() => prisma.deliveryAttempt.findFirst({ where: { delivery: { ltiScoreId: scoreId } } }), 30_000, 50);
    expect(attempt).toMatchObject({ errorCode: 'ORIGIN_NOT_BOUND', statusCode: null });
    expect(attempt.error).toContain(elsewhere.url);
    const delivery = await prisma.delivery.findFirstOrThrow({ where: { ltiScoreId: scoreId } });
    expect(delivery.status).not.toBe('DELIVERED');

    // A token endpoint stored on another origin: a roster sync sends no client assertion there.
    await prisma.ltiPlatform.update({ where: { id: localId(platformId) }, data: { tokenEndpoint: elsewhere.tokenEndpoint } });
    lms.setRoster('course-2', [{ user_id: 'u2', roles: ['Learner'] }]);
    const sync = await t.admin.request(SYNC, { input: { platformId, contextMembershipsUrl: lms.membershipsUrl('course-2') } });
    expect(refusal(sync)).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'input.platformId', message: expect.stringContaining('tokenEndpoint') });
    expect(sync.errors![0]!.extensions).toMatchObject({ platformField: 'tokenEndpoint', origin: elsewhere.url });
    await new Promise((r) => setTimeout(r, 500));
    expect(sentElsewhere()).toEqual(NOTHING);
    expect(lms.rosterPages).toEqual([]);
    await prisma.ltiPlatform.update({ where: { id: localId(platformId) }, data: { tokenEndpoint: lms.tokenEndpoint } });
  });
});
