/**
 * Gradebook columns speechmark makes itself (AGS 2.0 line items service): `createLtiLineItem` with
 * `lineItemsUrl` POSTs a line item to a real local platform (tests/support/lti-platform.ts: it
 * verifies the client assertion against the tool's JWKS over HTTP, grants a token of the lineitem
 * scope, checks the media type and the item's fields) and maps the URL it answers with; a recording
 * scored by the real model then posts its score to that column. On both databases.
 */
import { readFileSync } from 'node:fs';
import { startTestApp, testDatabases, waitForJob, type TestApp } from '../support/app.js';
import { errorCode } from '../support/client.js';
import { keyWithScopes, otherOrganization } from '../support/seed.js';
import { speechLikeWav } from '../support/audio-fixtures.js';
import { LtiTestPlatform } from '../support/lti-platform.js';
import { waitFor } from '../jobs/fixtures.js';

const DATABASES = await testDatabases();

const CREATE = `mutation($input: CreateLtiLineItemInput!) { createLtiLineItem(input: $input) { id url label aspect scoreMaximum } }`;

describe.each(DATABASES)('gradebook columns made on the platform on %s', (kind) => {
  let t: TestApp;
  let lms: LtiTestPlatform;
  let platformId: string;
  const mapped = () => t.app.services.prisma.ltiLineItem.count();

  beforeAll(async () => {
    lms = await LtiTestPlatform.start();
    t = await startTestApp(kind, { webhookAllowedPrivateNetworks: ['127.0.0.1'], webhookAllowHttp: true });
    platformId = await lms.registerWith(t.admin, t.app.url, 'speechmark-columns');
  });
  afterAll(async () => {
    await t?.dispose();
    await lms?.close();
  });

  test('a column is made in the course, mapped, and fed: a scored recording posts to it', async () => {
    const res = await t.admin.request(CREATE, {
      input: { platformId, lineItemsUrl: lms.lineItemsUrl('course-1'), aspect: 'TOTAL', scoreMaximum: 50, label: 'Speaking week 3', tag: 'speechmark', resourceId: 'unit-3', resourceLinkId: 'link-9' },
    });
    expect(res.errors).toBeUndefined();
    const made = lms.createdLineItems.at(-1)!;
    expect(made).toEqual({ context: 'course-1', id: expect.any(String), body: { scoreMaximum: 50, label: 'Speaking week 3', tag: 'speechmark', resourceId: 'unit-3', resourceLinkId: 'link-9' } });
    expect(res.data.createLtiLineItem).toEqual({ id: expect.any(String), url: made.id, label: 'Speaking week 3', aspect: 'TOTAL', scoreMaximum: 50 });

    const learner = (await t.admin.request(`mutation { createLearner(input: {externalId: "column-learner"}) { id } }`)).data.createLearner.id;
    const submitted = await t.admin.upload(
      `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { job { id } } }`,
      { input: { learnerId: learner, referenceText: 'We call it bear', audio: null, lti: { lineItemId: res.data.createLtiLineItem.id, userId: 'lms-user-3' } } },
      'variables.input.audio',
      { bytes: speechLikeWav(1.2, 33), name: 'take.wav' },
    );
    expect(submitted.errors).toBeUndefined();
    const job = await waitForJob(t.admin, submitted.data.submitUtterance.job.id);
    expect(job.status).toBe('SUCCEEDED');
    const column = new URL(made.id).pathname.split('/')[2]!;
    const [posted] = await waitFor(async () => {
      const s = lms.scores.filter((x) => x.lineItem === column);
      return s.length ? s : null;
    }, 30_000, 50);
    expect(posted!.body).toMatchObject({ userId: 'lms-user-3', scoreMaximum: 50, activityProgress: 'Completed' });

    // Without a label the column gets one; a 401 gets one fresh token and one more try.
    lms.failNextLineItems(401);
    const plain = await t.admin.request(CREATE, { input: { platformId, lineItemsUrl: lms.lineItemsUrl('course-1'), aspect: 'ACCURACY', scoreMaximum: 10 } });
    expect(plain.errors).toBeUndefined();
    expect(lms.createdLineItems.at(-1)!.body).toEqual({ scoreMaximum: 10, label: 'Pronunciation (accuracy)' });
    expect(plain.data.createLtiLineItem.label).toBe('Pronunciation (accuracy)');
    const audit = await t.admin.request(`{ auditEvents(first: 1, action: "ltiLineItem.created") { edges { node { targetId details } } } }`);
    expect(audit.data.auditEvents.edges[0].node.details).toMatchObject({ url: lms.createdLineItems.at(-1)!.id, aspect: 'ACCURACY' });
    // A 403 with the cached token (the lineitem scope allowed since it was granted): one fresh token.
    const tokensBefore = lms.assertions.length;
    const postsBefore = lms.lineItemPosts;
    lms.failNextLineItems(403);
    const afterForbidden = await t.admin.request(CREATE, { input: { platformId, lineItemsUrl: lms.lineItemsUrl('course-1'), aspect: 'TOTAL', scoreMaximum: 10 } });
    expect(afterForbidden.errors).toBeUndefined();
    expect([lms.assertions.length - tokensBefore, lms.lineItemPosts - postsBefore]).toEqual([1, 2]);
    // A platform that answers 200 with only a (relative) Location: that URL is mapped.
    lms.answerNextLineItems('location-only');
    const located = await t.admin.request(CREATE, { input: { platformId, lineItemsUrl: lms.lineItemsUrl('course-1'), aspect: 'FLUENCY', scoreMaximum: 10 } });
    expect(located.errors).toBeUndefined();
    expect(located.data.createLtiLineItem.url).toBe(lms.createdLineItems.at(-1)!.id);
    expect(lms.problems).toEqual([]);
  });

  test('input is checked before the platform is asked; a platform that refuses leaves nothing mapped', async () => {
    const before = { posts: lms.lineItemPosts, mapped: await mapped() };
    const url = lms.lineItemsUrl('course-2');
    for (const input of [
      { platformId, aspect: 'TOTAL', scoreMaximum: 10 },
      { platformId, url: lms.lineItemUrl('x'), lineItemsUrl: url, aspect: 'TOTAL', scoreMaximum: 10 },
      { platformId, url: lms.lineItemUrl('y'), aspect: 'TOTAL', scoreMaximum: 10, tag: 'only with lineItemsUrl' },
      { platformId, url: lms.lineItemUrl('z'), aspect: 'TOTAL', scoreMaximum: 10, resourceLinkId: 'only with lineItemsUrl' },
      { platformId, lineItemsUrl: url, aspect: 'TOTAL', scoreMaximum: 0 },
      { platformId, lineItemsUrl: url, aspect: 'TOTAL', scoreMaximum: 10, label: '  ' },
      { platformId, lineItemsUrl: url, aspect: 'TOTAL', scoreMaximum: 10, tag: 't'.repeat(257) },
      { platformId, lineItemsUrl: 'not a url', aspect: 'TOTAL', scoreMaximum: 10 },
      { platformId, lineItemsUrl: 'http://10.9.8.7/lineitems', aspect: 'TOTAL', scoreMaximum: 10 },
    ]) {
      expect({ input, code: errorCode(await t.admin.request(CREATE, { input })) }).toEqual({ input, code: 'BAD_USER_INPUT' });
    }
    const { client: other } = await otherOrganization(t);
    expect(errorCode(await other.request(CREATE, { input: { platformId, lineItemsUrl: url, aspect: 'TOTAL', scoreMaximum: 10 } }))).toBe('NOT_FOUND');
    const writer = await keyWithScopes(t, ['ASSESS_WRITE', 'SCORES_READ']);
    expect(errorCode(await writer.request(CREATE, { input: { platformId, lineItemsUrl: url, aspect: 'TOTAL', scoreMaximum: 10 } }))).toBe('FORBIDDEN');
    expect({ posts: lms.lineItemPosts, mapped: await mapped() }).toEqual(before);

    // An id on another origin: every score would carry a token there. Refused, nothing mapped.
    lms.answerNextLineItems('foreign-id');
    const foreign = await t.admin.request(CREATE, { input: { platformId, lineItemsUrl: url, aspect: 'TOTAL', scoreMaximum: 10 } });
    expect([errorCode(foreign), foreign.errors![0]!.extensions!.reason]).toEqual(['LTI_PLATFORM_ERROR', expect.stringMatching(/another origin/)]);
    expect(await mapped()).toBe(before.mapped);

    lms.failNextLineItems(500);
    const failed = await t.admin.request(CREATE, { input: { platformId, lineItemsUrl: url, aspect: 'TOTAL', scoreMaximum: 10 } });
    expect(errorCode(failed)).toBe('LTI_PLATFORM_ERROR');
    expect(failed.errors![0]!.extensions).toMatchObject({ status: 500 });
    expect(await mapped()).toBe(before.mapped);
  });

  test("the README's createLtiLineItem with lineItemsUrl runs as written", async () => {
    const readme = readFileSync('README.md', 'utf8');
    const section = readme.slice(readme.indexOf('Or speechmark makes the column itself'));
    const op = /```graphql\n([\s\S]*?)```/.exec(section)![1]!.trim();
    const filled = op.replace('<platform id>', platformId).replace('<line items url>', lms.lineItemsUrl('readme-course'));
    expect(filled).not.toMatch(/<[a-z ]+>/);
    const res = await t.admin.request(filled);
    expect(res.errors).toBeUndefined();
    expect(res.data.createLtiLineItem).toEqual({ id: expect.any(String), url: lms.createdLineItems.at(-1)!.id, label: 'Pronunciation' });
    expect(lms.createdLineItems.at(-1)).toMatchObject({ context: 'readme-course', body: { label: 'Pronunciation', scoreMaximum: 100, tag: 'speechmark' } });
  });
});
