/**
 * LTI 1.3 Assignment and Grade Services score passback over real HTTP, against a local platform
 * (tests/support/lti-platform.ts) that fetches the tool's JWKS from speechmark and verifies every
 * client assertion and every score as a real LMS does: registration and its JWKS, scopes and
 * tenants, a submission naming a line item, the score posted with the right scale and fields,
 * a 500 retried, a revoked token refreshed once, a refused score given up, key rotation, an
 * address the operator does not allow refused. Scores go out through the outbox: the app's own
 * delivery worker (and, in the last test, two more) claims, retries and logs them like webhooks.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { startTestApp, testDatabases, waitForJob, type TestApp } from '../support/app.js';
import { errorCode, type GqlClient } from '../support/client.js';
import { keyWithScopes, otherOrganization, seedUtterance } from '../support/seed.js';
import { writeLtiSubmission } from '../../src/lti/submission.js';
import { lockGrade } from '../../src/lti/grading.js';
import { speechLikeWav } from '../support/audio-fixtures.js';
import { espeakWav, hasEspeak } from '../support/espeak.js';
import { LtiTestPlatform, scoreProblems } from '../support/lti-platform.js';
import { fromGlobalId, toGlobalId } from '../../src/graphql/ids.js';
import { createDeliveryWorker } from '../../src/app.js';
import { waitFor } from '../jobs/fixtures.js';

const DATABASES = await testDatabases();

const PLATFORM_FIELDS = 'id name issuer clientId deploymentId tokenEndpoint audience jwksPath createdAt keys { kid publicJwk createdAt retiredAt }';
const REGISTER = `mutation($input: RegisterLtiPlatformInput!) { registerLtiPlatform(input: $input) { ${PLATFORM_FIELDS} } }`;
// activateAfterSeconds 0: the new key signs at once (tests/api/lti-key-rotation.test.ts covers the grace).
const ROTATE = `mutation($id: ID!) { rotateLtiPlatformKey(id: $id, activateAfterSeconds: 0) { ${PLATFORM_FIELDS} } }`;
const PLATFORMS = `{ ltiPlatforms { ${PLATFORM_FIELDS} lineItems { id url aspect scoreMaximum label } } }`;
const LINE_ITEM = `mutation($input: CreateLtiLineItemInput!) { createLtiLineItem(input: $input) { id url aspect scoreMaximum label platform { id } } }`;
const CREATE_LEARNER = `mutation($externalId: String!) { createLearner(input: {externalId: $externalId}) { id } }`;
const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { job { id } } }`;
const DELIVERIES = `query($id: ID!) { assessment(id: $id) {
  flags sentence { accuracy fluency prosody completeness total } rationale { text }
  gradeDeliveries { userId scoreGiven scoreMaximum gradingProgress comment status attempts lastError lastErrorCode lastHttpStatus nextAttemptAt deliveredAt createdAt
    lineItem { id url aspect scoreMaximum } attemptLog { number statusCode errorCode error durationMs } } } }`;

describe.each(DATABASES)('LTI grade passback on %s', (kind) => {
  let t: TestApp;
  let lms: LtiTestPlatform;
  let platformId: string;
  let writer: GqlClient;
  const prisma = () => t.app.services.prisma;
  const base = () => new URL(t.app.url).origin;

  beforeAll(async () => {
    // The platform is on 127.0.0.1 over http: the operator allows that one address (nothing else
    // private) and http, as SPEECHMARK_WEBHOOK_ALLOW_PRIVATE_NETWORKS=127.0.0.1 and
    // SPEECHMARK_WEBHOOK_ALLOW_HTTP=true do. Short backoff, four attempts.
    t = await startTestApp(kind, {
      webhookAllowedPrivateNetworks: ['127.0.0.1'],
      webhookAllowHttp: true,
      webhookBackoffBaseMs: 200,
      webhookBackoffCapMs: 1000,
      webhookMaxAttempts: 4,
    });
    lms = await LtiTestPlatform.start();
    writer = await keyWithScopes(t, ['ASSESS_WRITE']);
  });
  afterAll(async () => {
    await lms?.close();
    await t?.dispose();
  });

  async function lineItem(input: { aspect: string; scoreMaximum: number; path: string }) {
    const res = await t.admin.request(LINE_ITEM, { input: { platformId, url: lms.lineItemUrl(input.path), aspect: input.aspect, scoreMaximum: input.scoreMaximum, label: input.path } });
    expect(res.errors).toBeUndefined();
    return res.data.createLtiLineItem;
  }

  /** Submit a recording naming a line item (with the writing key) and wait for its assessment. */
  async function assessedSubmission(
    lti: { lineItemId: string; userId?: string },
    externalId = `lti-${randomUUID()}`,
    take: { referenceText: string; bytes: Uint8Array } = { referenceText: 'We call it bear', bytes: speechLikeWav(1.2, Math.floor(Math.random() * 1000)) },
  ) {
    const learnerId = (await t.admin.request(CREATE_LEARNER, { externalId })).data.createLearner.id;
    const res = await writer.upload(
      SUBMIT,
      { input: { learnerId, referenceText: take.referenceText, audio: null, lti } },
      'variables.input.audio',
      { bytes: take.bytes, name: 'take.wav' },
    );
    expect(res.errors).toBeUndefined();
    const job = await waitForJob(t.admin, res.data.submitUtterance.job.id);
    expect(job.status).toBe('SUCCEEDED');
    return { assessmentId: job.assessment.id as string, externalId, learnerId: learnerId as string };
  }

  async function deliveriesOf(assessmentId: string, client: GqlClient = t.admin) {
    const res = await client.request(DELIVERIES, { id: assessmentId });
    return res;
  }

  /** The assessment once every grade delivery of it has settled (DELIVERED or FAILED), as the delivery worker leaves it. */
  async function settled(assessmentId: string) {
    return waitFor(async () => {
      const a = (await deliveriesOf(assessmentId)).data.assessment;
      const done = a.gradeDeliveries.length > 0 && a.gradeDeliveries.every((d: { status: string }) => d.status === 'DELIVERED' || d.status === 'FAILED');
      return done ? a : null;
    }, 30_000, 50);
  }

  test('registering a platform makes an RSA 2048 key pair; its public half is served as a JWKS, the private half never', async () => {
    const input = { name: 'Test LMS', issuer: lms.url, clientId: 'speechmark-tool', deploymentId: 'dep-1', tokenEndpoint: lms.tokenEndpoint };
    const res = await t.admin.request(REGISTER, { input });
    expect(res.errors).toBeUndefined();
    const p = res.data.registerLtiPlatform;
    platformId = p.id;
    expect(p).toMatchObject({ ...input, audience: lms.tokenEndpoint, keys: [{ retiredAt: null }] });
    const dbId = fromGlobalId(p.id)!.id;
    expect(p.jwksPath).toBe(`/lti/jwks/${dbId}`);
    expect(Object.keys(p.keys[0].publicJwk).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);

    const jwks = await fetch(base() + p.jwksPath);
    expect(jwks.status).toBe(200);
    const set = (await jwks.json()) as { keys: Record<string, string>[] };
    expect(set.keys).toHaveLength(1);
    expect(set.keys[0]).toEqual({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: p.keys[0].kid, n: expect.any(String), e: 'AQAB' });
    expect(Buffer.from(set.keys[0]!.n!, 'base64url').length * 8).toBe(2048);
    expect((await fetch(`${base()}/lti/jwks/${randomUUID()}`)).status).toBe(404);

    // The private key is stored and appears in no answer.
    const row = await prisma().ltiKey.findFirstOrThrow({ where: { platformId: dbId } });
    expect(row.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const listed = await t.admin.request(PLATFORMS);
    const body = escape(JSON.stringify([res, listed, set]));
    expect(body).not.toContain(escape(row.privateKeyPem.split('\n')[1]!));
    expect(JSON.stringify(set)).not.toMatch(/"(d|p|q|dp|dq|qi)":/);

    lms.trustTool('speechmark-tool', base() + p.jwksPath);
    // The same registration again is CONFLICT; a token endpoint that is no URL is refused.
    expect(errorCode(await t.admin.request(REGISTER, { input }))).toBe('CONFLICT');
    expect(errorCode(await t.admin.request(REGISTER, { input: { ...input, deploymentId: 'x', tokenEndpoint: 'not a url' } }))).toBe('BAD_USER_INPUT');
    // Identifiers that would overflow the unique index's row (random text does not compress) are
    // refused by name, not left to the database as an internal error; the limits themselves pass.
    const random = (bytes: number) => randomBytes(bytes).toString('base64url').slice(0, bytes);
    for (const [field, value] of [['issuer', random(1025)], ['clientId', random(1025)], ['deploymentId', random(256)], ['deploymentId', 'é'.repeat(128)]] as const) {
      const res = await t.admin.request(REGISTER, { input: { ...input, issuer: random(1024), clientId: random(1024), deploymentId: random(255), [field]: value } });
      expect({ field, code: errorCode(res), argument: res.errors?.[0]?.extensions?.argument }).toEqual({ field, code: 'BAD_USER_INPUT', argument: `input.${field}` });
    }
    expect(await prisma().auditEvent.count({ where: { action: 'ltiPlatform.registered' } })).toBe(1);
    // (in another organisation, so this one still has the one platform the later tests use)
    const { client: otherAdmin } = await otherOrganization(t);
    // (an issuer that is no URL: the token endpoint's origin listed)
    const largest = await otherAdmin.request(REGISTER, { input: { ...input, issuer: random(1024), clientId: random(1024), deploymentId: random(255), serviceOrigins: [lms.url] } });
    expect(largest.errors).toBeUndefined();
  });

  test('platforms and line items are admin-only and per organisation', async () => {
    const reader = await keyWithScopes(t, ['SCORES_READ']);
    expect(errorCode(await reader.request(PLATFORMS))).toBe('FORBIDDEN');
    expect(errorCode(await writer.request(REGISTER, { input: { name: 'x', issuer: 'x', clientId: 'x', deploymentId: 'x', tokenEndpoint: lms.tokenEndpoint } }))).toBe('FORBIDDEN');
    const other = (await otherOrganization(t)).client;
    expect((await other.request(PLATFORMS)).data.ltiPlatforms).toEqual([]);
    expect(errorCode(await other.request(ROTATE, { id: platformId }))).toBe('NOT_FOUND');
    expect(errorCode(await other.request(LINE_ITEM, { input: { platformId, url: lms.lineItemUrl('x'), aspect: 'TOTAL', scoreMaximum: 10 } }))).toBe('NOT_FOUND');
    for (const scoreMaximum of [0, -1, 1e9]) {
      expect(errorCode(await t.admin.request(LINE_ITEM, { input: { platformId, url: lms.lineItemUrl('x'), aspect: 'TOTAL', scoreMaximum } }))).toBe('BAD_USER_INPUT');
    }
    // 1,900 CJK characters are 17,100 once percent-encoded: refused before the unique index sees them.
    const wide = await t.admin.request(LINE_ITEM, { input: { platformId, url: lms.lineItemUrl('字'.repeat(1900)), aspect: 'TOTAL', scoreMaximum: 10 } });
    expect(errorCode(wide)).toBe('BAD_USER_INPUT');
    expect(wide.errors![0]!.message).toMatch(/at most 2048 characters once percent-encoded/);
    // Another organisation's line item cannot be named by a submission.
    const item = await lineItem({ aspect: 'TOTAL', scoreMaximum: 10, path: 'scoped' });
    const { client: foreignWriter } = await otherOrganization(t, ['ASSESS_WRITE', 'ADMIN']);
    const learnerId = (await foreignWriter.request(CREATE_LEARNER, { externalId: 'foreign' })).data.createLearner.id;
    const res = await foreignWriter.upload(SUBMIT, { input: { learnerId, referenceText: 'We call it bear', audio: null, lti: { lineItemId: item.id } } },
      'variables.input.audio', { bytes: speechLikeWav(1.2, 7), name: 'take.wav' });
    expect(errorCode(res)).toBe('NOT_FOUND');
    expect(await prisma().ltiSubmission.count()).toBe(0);
  });

  test('an LTI user id is 1 to 255 characters (LTI 1.3 caps it at 255): a longer one is BAD_USER_INPUT and writes nothing; the longest, wide characters too, is scored and posted', async () => {
    const item = await lineItem({ aspect: 'TOTAL', scoreMaximum: 10, path: 'user-id-bounds' });
    const learnerId = (await t.admin.request(CREATE_LEARNER, { externalId: `uid-${randomUUID()}` })).data.createLearner.id;
    const counts = async () => ({ utterances: await prisma().utterance.count(), submissions: await prisma().ltiSubmission.count() });
    const before = await counts();
    // 900 CJK characters (2,700 bytes) once passed the submission's index and broke the score's, in every completing transaction.
    for (const userId of ['u'.repeat(256), '字'.repeat(900), '   ']) {
      const res = await writer.upload(SUBMIT, { input: { learnerId, referenceText: 'We call it bear', audio: null, lti: { lineItemId: item.id, userId } } },
        'variables.input.audio', { bytes: speechLikeWav(1.2, 11), name: 'take.wav' });
      expect({ length: userId.length, code: errorCode(res), argument: res.errors?.[0]?.extensions?.argument })
        .toEqual({ length: userId.length, code: 'BAD_USER_INPUT', argument: 'input.lti.userId' });
    }
    expect(await counts()).toEqual(before);
    const longest = '字'.repeat(255);
    const { assessmentId } = await assessedSubmission({ lineItemId: item.id, userId: longest });
    const a = await settled(assessmentId);
    expect(a.gradeDeliveries).toMatchObject([{ status: 'DELIVERED', userId: longest }]);
    expect(lms.scores.filter((x) => x.lineItem === 'user-id-bounds').map((x) => x.body.userId)).toEqual([longest]);
  });

  // A reading of its own sentence (espeak-ng), so an ordinary assessment: speechLikeWav's noise is
  // rightly READ_WRONG_TEXT, which the next test covers with real speech of another sentence.
  (hasEspeak ? test : test.skip)('a completed assessment posts its scaled score with every field; the delivery status is visible with the scores', async () => {
    const item = await lineItem({ aspect: 'TOTAL', scoreMaximum: 100, path: 'total-100' });
    const said = 'We will see you tomorrow at the stream';
    const { assessmentId, externalId } = await assessedSubmission({ lineItemId: item.id }, undefined, { referenceText: said, bytes: espeakWav(said) });
    // The score is owed from the completing transaction on: an LTI_SCORE delivery of the outbox,
    // hanging on the assessment.completed event.
    const dbId = fromGlobalId(assessmentId)!.id;
    const row = await prisma().delivery.findFirstOrThrow({ where: { channel: 'LTI_SCORE', ltiScore: { is: { assessmentId: dbId } } }, include: { event: true } });
    expect(row.event.type).toBe('assessment.completed');
    expect(JSON.parse(row.event.body).data.assessment.id).toBe(assessmentId);

    const a = await settled(assessmentId);
    expect(lms.problems).toEqual([]);
    const posted = lms.scores.filter((s) => s.lineItem === 'total-100');
    expect(posted).toHaveLength(1);
    const score = posted[0]!.body;
    expect(scoreProblems(score)).toEqual([]);
    expect(score).toEqual({
      userId: externalId,
      scoreGiven: a.sentence.total * 10,
      scoreMaximum: 100,
      comment: a.rationale.text,
      timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      activityProgress: 'Completed',
      gradingProgress: 'FullyGraded',
    });
    expect(lms.assertions.at(-1)!.exp - lms.assertions.at(-1)!.iat).toBeLessThanOrEqual(300);

    expect(a.flags).toEqual([]);
    const after = a.gradeDeliveries[0];
    expect(after).toMatchObject({
      status: 'DELIVERED', attempts: 1, userId: externalId, scoreGiven: a.sentence.total * 10, scoreMaximum: 100, gradingProgress: 'FULLY_GRADED',
      comment: score.comment, // what the platform got, the rationale
      lastHttpStatus: 204, lastError: null, lastErrorCode: null, nextAttemptAt: null, lineItem: { id: item.id, aspect: 'TOTAL' },
      attemptLog: [{ number: 1, statusCode: 204, errorCode: null, error: null, durationMs: expect.any(Number) }],
    });
    expect(Date.parse(after.deliveredAt)).toBeGreaterThanOrEqual(Date.parse(after.createdAt));
    // Not a webhook: the admin's webhook delivery list does not show it.
    const hooks = await t.admin.request(`{ webhookDeliveries(first: 50) { totalCount } }`);
    expect(hooks.data.webhookDeliveries.totalCount).toBe(0);

    // Scores readers see the status; the platform behind the line item and the attempts' answers are admin's.
    const reader = await keyWithScopes(t, ['SCORES_READ']);
    const q = `query($id: ID!) { assessment(id: $id) { gradeDeliveries { status attempts lastHttpStatus } } }`;
    expect((await reader.request(q, { id: assessmentId })).data.assessment.gradeDeliveries[0]).toEqual({ status: 'DELIVERED', attempts: 1, lastHttpStatus: 204 });
    const withPlatform = await reader.request(`query($id: ID!) { assessment(id: $id) { gradeDeliveries { lineItem { platform { id } } } } }`, { id: assessmentId });
    expect(errorCode(withPlatform)).toBe('FORBIDDEN');
    expect(errorCode(await reader.request(`query($id: ID!) { assessment(id: $id) { gradeDeliveries { attemptLog { number } } } }`, { id: assessmentId }))).toBe('FORBIDDEN');
    expect(errorCode(await writer.request(DELIVERIES, { id: assessmentId }))).toBe('FORBIDDEN');

    // The README's query, as written.
    const readme = readFileSync('README.md', 'utf8');
    const section = readme.slice(readme.indexOf('### LMS gradebooks: LTI 1.3 score passback'));
    const query = /```graphql\n(\{ assessment[\s\S]*?)```/.exec(section)![1]!.replace('<id>', assessmentId);
    const fromReadme = await t.admin.request(query);
    expect(fromReadme.errors).toBeUndefined();
    expect(fromReadme.data.assessment.gradeDeliveries[0]).toMatchObject({ status: 'DELIVERED', gradingProgress: 'FULLY_GRADED', attemptLog: [{ number: 1, statusCode: 204, errorCode: null }] });
  });

  // espeak-ng reads one sentence and the learner is said to have read another (tests/api/wrong-text.test.ts).
  (hasEspeak ? test : test.skip)('a reading of another sentence is posted as PendingManual, so the gradebook waits for the teacher', async () => {
    const item = await lineItem({ aspect: 'TOTAL', scoreMaximum: 10, path: 'wrong-text' });
    const take = { referenceText: 'We will see you tomorrow at the stream', bytes: espeakWav('The quick brown fox jumps over the lazy dog') };
    const { assessmentId, externalId } = await assessedSubmission({ lineItemId: item.id }, undefined, take);
    const a = await settled(assessmentId);
    expect(a.flags).toEqual(['READ_WRONG_TEXT']);
    expect(lms.problems).toEqual([]);
    const posted = lms.scores.filter((s) => s.lineItem === 'wrong-text');
    expect(posted).toHaveLength(1);
    const score = posted[0]!.body;
    expect(scoreProblems(score)).toEqual([]);
    expect(score).toEqual({
      userId: externalId,
      scoreGiven: a.sentence.total,
      scoreMaximum: 10,
      comment: a.rationale.text,
      timestamp: expect.any(String),
      activityProgress: 'Completed',
      gradingProgress: 'PendingManual',
    });
    expect(a.rationale.text).toMatch(/does not match the sentence you were asked to read/);
    expect(a.gradeDeliveries).toMatchObject([{ status: 'DELIVERED', gradingProgress: 'PENDING_MANUAL', scoreGiven: a.sentence.total }]);
  });

  test('a 500 is retried after a backoff; a revoked token is refreshed once; the token is cached between deliveries', async () => {
    const item = await lineItem({ aspect: 'ACCURACY', scoreMaximum: 5, path: 'accuracy-5' });
    const assertionsBefore = lms.assertions.length;
    lms.failNextScores(500);
    const { assessmentId } = await assessedSubmission({ lineItemId: item.id, userId: 'platform-user-42' });
    let a = await settled(assessmentId);
    let d = a.gradeDeliveries[0];
    expect(d).toMatchObject({ status: 'DELIVERED', attempts: 2, lastHttpStatus: 204, lastError: null });
    expect(d.attemptLog).toEqual([
      expect.objectContaining({ number: 1, statusCode: 500, errorCode: 'HTTP_STATUS', error: expect.stringContaining('500') }),
      expect.objectContaining({ number: 2, statusCode: 204, errorCode: null }),
    ]);
    // The cached token served both attempts: no new assertion.
    expect(lms.assertions.length).toBe(assertionsBefore);
    expect(lms.scores.filter((s) => s.lineItem === 'accuracy-5').map((s) => s.body.userId)).toEqual(['platform-user-42']);
    expect(lms.scores.find((s) => s.lineItem === 'accuracy-5')!.body.scoreGiven).toBe(a.sentence.accuracy / 2);

    // The platform revokes its tokens: the next score is refused 401, a fresh token is fetched, and
    // the same attempt posts it again.
    lms.revokeTokens();
    const again = await assessedSubmission({ lineItemId: item.id, userId: 'platform-user-43' });
    a = await settled(again.assessmentId);
    d = a.gradeDeliveries[0];
    expect(d).toMatchObject({ status: 'DELIVERED', attempts: 1, attemptLog: [expect.objectContaining({ number: 1, statusCode: 204 })] });
    expect(lms.assertions.length).toBe(assertionsBefore + 1);
    // A 403 with the cached token (granted before the LMS allowed the score scope, say): one fresh
    // token too, and the score goes in the same attempt.
    lms.failNextScores(403);
    const third = await assessedSubmission({ lineItemId: item.id, userId: 'platform-user-44' });
    a = await settled(third.assessmentId);
    expect(a.gradeDeliveries[0]).toMatchObject({ status: 'DELIVERED', attempts: 1 });
    expect(lms.assertions.length).toBe(assertionsBefore + 2);
    expect(new Set(lms.assertions.map((x) => x.jti)).size).toBe(lms.assertions.length);
    expect(lms.problems).toEqual([]);
  });

  test('a bulk re-assessment leaves the gradebook alone unless it asks to post grades; a single re-assessment posts', async () => {
    const item = await lineItem({ aspect: 'TOTAL', scoreMaximum: 10, path: 'regrade' });
    const { assessmentId, learnerId } = await assessedSubmission({ lineItemId: item.id, userId: 'regraded-user' });
    await settled(assessmentId);
    const posted = () => lms.scores.filter((s) => s.lineItem === 'regrade').length;
    expect(posted()).toBe(1);

    /** Runs a bulk re-assessment of the learner to its end; the new assessment's id. */
    async function bulkReassess(postGrades?: boolean) {
      const res = await writer.request(`mutation($i: ReassessUtterancesInput!) { reassessUtterances(input: $i) { id postGrades } }`,
        { i: { learnerId, ...(postGrades === undefined ? {} : { postGrades }) } });
      expect(res.errors).toBeUndefined();
      expect(res.data.reassessUtterances.postGrades).toBe(postGrades === true);
      const [job] = await prisma().job.findMany({ where: { bulkOperationId: fromGlobalId(res.data.reassessUtterances.id)!.id } });
      const done = await waitForJob(t.admin, toGlobalId('Job', job!.id));
      expect(done.status).toBe('SUCCEEDED');
      return done.assessment.id as string;
    }

    // By default: a new assessment, and no score owed to the gradebook for it.
    const quiet = await bulkReassess();
    expect(quiet).not.toBe(assessmentId);
    expect((await deliveriesOf(quiet)).data.assessment.gradeDeliveries).toEqual([]);
    expect(await prisma().ltiScore.count({ where: { assessmentId: fromGlobalId(quiet)!.id } })).toBe(0);

    // Asked to: the new score replaces the grade.
    const loud = await bulkReassess(true);
    const a = await settled(loud);
    expect(a.gradeDeliveries).toMatchObject([{ status: 'DELIVERED', userId: 'regraded-user', scoreGiven: a.sentence.total }]);
    expect(posted()).toBe(2);

    // One utterance re-assessed on purpose posts, as its submission did.
    const utteranceId = (await prisma().ltiSubmission.findFirstOrThrow({ where: { lineItemId: fromGlobalId(item.id)!.id } })).utteranceId;
    const single = await writer.request(`mutation($u: ID!) { reassessUtterance(utteranceId: $u) { id } }`, { u: toGlobalId('Utterance', utteranceId) });
    expect(single.errors).toBeUndefined();
    const done = await waitForJob(t.admin, single.data.reassessUtterance.id);
    await settled(done.assessment.id);
    expect(posted()).toBe(3);
    expect(lms.problems).toEqual([]);
  });

  /** A reading named for the line item whose audio file is missing: re-assessing it fails for good. Returns the failed job's id. */
  async function failingReading(organizationId: string, lineItemId: string, userId: string) {
    const u = await seedUtterance(prisma(), organizationId, 'We call it bear');
    await prisma().$transaction((tx) => writeLtiSubmission(tx, u, { lineItemId, userId }));
    const res = await writer.request(`mutation($u: ID!) { reassessUtterance(utteranceId: $u) { id } }`, { u: toGlobalId('Utterance', u.id) });
    expect(res.errors).toBeUndefined();
    const job = await waitForJob(t.admin, res.data.reassessUtterance.id);
    expect(job.status).toBe('FAILED');
    return fromGlobalId(job.id)!.id;
  }

  test('a reading that cannot be assessed posts Failed (no score, activity Submitted) while the user has no grade; never over a grade; the next grade supersedes it', async () => {
    const item = await lineItem({ aspect: 'TOTAL', scoreMaximum: 10, path: 'failed-grading' });
    const lineItemId = fromGlobalId(item.id)!.id;
    const org = await prisma().organization.findFirstOrThrow({ orderBy: { createdAt: 'asc' } });
    const userId = `failing-${randomUUID()}`;
    const received = () => lms.scores.filter((s) => s.lineItem === 'failed-grading' && s.body.userId === userId).map((s) => s.body);
    const GRADES = `query($f: GradeDeliveryFilter) { gradeDeliveries(filter: $f) { edges { node {
      status gradingProgress scoreGiven scoreMaximum attemptsGraded comment assessment { id } job { id status error { code } } } } } }`;

    const failedReading = () => failingReading(org.id, lineItemId, userId);

    // No grade yet: the gradebook is told the learner submitted and grading failed.
    const firstFailed = await failedReading();
    const node = await waitFor(async () => {
      const edges = (await t.admin.request(GRADES, { f: { userId } })).data.gradeDeliveries.edges;
      return edges[0]?.node.status === 'DELIVERED' ? edges[0].node : null;
    }, 30_000, 50);
    expect(node).toEqual({
      status: 'DELIVERED', gradingProgress: 'FAILED', scoreGiven: null, scoreMaximum: 10, attemptsGraded: 0,
      comment: 'Your recording could not be assessed, so it has no grade. Please record it again.',
      assessment: null, job: { id: toGlobalId('Job', firstFailed), status: 'FAILED', error: { code: 'INTERNAL_SERVER_ERROR' } },
    });
    const [failedBody] = received();
    expect(failedBody).toEqual({ userId, comment: node.comment, timestamp: expect.any(String), activityProgress: 'Submitted', gradingProgress: 'Failed' });
    expect(scoreProblems(failedBody!)).toEqual([]);

    // A reading that is assessed: its grade is posted after the failure (the platform keeps the newest).
    const { assessmentId } = await assessedSubmission({ lineItemId: item.id, userId });
    await settled(assessmentId);
    const graded = received().at(-1)!;
    // (Synthetic audio reads as another sentence, so PendingManual: a score all the same.)
    expect(graded).toMatchObject({ gradingProgress: expect.stringMatching(/^(FullyGraded|PendingManual)$/), activityProgress: 'Completed', scoreMaximum: 10, scoreGiven: expect.any(Number) });
    expect(Date.parse(graded.timestamp as string)).toBeGreaterThan(Date.parse(failedBody!.timestamp as string));

    // Another failure now owes nothing: a Failed score would hide the grade the user has.
    const secondFailed = await failedReading();
    expect(await prisma().ltiScore.count({ where: { jobId: secondFailed } })).toBe(0);
    // Its assessment.failed event was written in the same transaction, so nothing more can come of it.
    expect(await prisma().outboxEvent.count({ where: { type: 'assessment.failed', body: { contains: Buffer.from(`Job:${secondFailed}`).toString('base64url') } } })).toBe(1);
    expect(received()).toHaveLength(2);
    expect(lms.problems).toEqual([]);
  });

  // PGlite has one connection: a transaction held open there would stop the queue too.
  (kind === 'postgres' ? test : test.skip)('a failure while a grade of the same user is being computed posts no Failed score and waits for that grade at most 2 s', async () => {
    const item = await lineItem({ aspect: 'TOTAL', scoreMaximum: 10, path: 'failed-while-grading' });
    const lineItemId = fromGlobalId(item.id)!.id;
    const org = await prisma().organization.findFirstOrThrow({ orderBy: { createdAt: 'asc' } });
    const userId = `busy-${randomUUID()}`;
    let release!: () => void;
    const released = new Promise<void>((resolve) => { release = resolve; });
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => { locked = resolve; });
    // Another transaction computing this user's grade holds the grade lock until released.
    const grading = prisma().$transaction(async (tx) => {
      await lockGrade(tx, { lineItemId, userId });
      locked();
      await released;
    }, { timeout: 120_000, maxWait: 10_000 });
    try {
      await isLocked;
      // The job reaches FAILED while the lock is still held: the failure hook did not wait for it.
      const failed = await failingReading(org.id, lineItemId, userId);
      expect(await prisma().ltiScore.count({ where: { jobId: failed } })).toBe(0);
      expect(await prisma().outboxEvent.count({ where: { type: 'assessment.failed', body: { contains: Buffer.from(`Job:${failed}`).toString('base64url') } } })).toBe(1);
    } finally {
      release();
      await grading;
    }
    // With the lock free, a failure posts Failed as usual (the user still has no grade).
    const next = await failingReading(org.id, lineItemId, userId);
    expect(await prisma().ltiScore.findFirst({ where: { jobId: next }, select: { gradingProgress: true } })).toEqual({ gradingProgress: 'FAILED' });
  });

  test('a score the platform refuses (400) is given up at once and shows FAILED with the reason', async () => {
    const item = await lineItem({ aspect: 'FLUENCY', scoreMaximum: 10, path: 'fluency-10' });
    lms.failNextScores(400);
    const { assessmentId, learnerId } = await assessedSubmission({ lineItemId: item.id });
    const d = (await settled(assessmentId)).gradeDeliveries[0];
    // The log first: were there another attempt before the 400, it says what that one met.
    expect(d.attemptLog).toEqual([expect.objectContaining({ number: 1, statusCode: 400, errorCode: 'HTTP_STATUS' })]);
    expect(d).toMatchObject({ status: 'FAILED', attempts: 1, lastHttpStatus: 400, lastErrorCode: 'HTTP_STATUS', nextAttemptAt: null, deliveredAt: null });
    expect(d.lastError).toContain('400');
    expect(lms.scores.filter((s) => s.lineItem === 'fluency-10')).toHaveLength(0);

    // The give-up is an event (webhooks and the events feed), written with the FAILED state: codes, not the platform's answer.
    const deliveryId = (await t.admin.request(`query($id: ID!) { assessment(id: $id) { gradeDeliveries { id } } }`, { id: assessmentId })).data.assessment.gradeDeliveries[0].id;
    const FAILED_EVENTS = `query($learner: ID!) { events(first: 10, filter: {types: ["gradeDelivery.failed"], learnerId: $learner}) { edges { node { type payload } } } }`;
    const failedEvents = await t.admin.request(FAILED_EVENTS, { learner: learnerId });
    expect(failedEvents.errors).toBeUndefined();
    const externalId = (await t.admin.request(`query($id: ID!) { node(id: $id) { ... on Learner { externalId } } }`, { id: learnerId })).data.node.externalId;
    expect(failedEvents.data.events.edges.map((e: { node: { payload: unknown } }) => e.node.payload)).toEqual([{
      type: 'gradeDelivery.failed',
      timestamp: expect.any(String),
      data: {
        gradeDelivery: {
          id: deliveryId, status: 'FAILED', attempts: 1, lastErrorCode: 'HTTP_STATUS', lastHttpStatus: 400,
          userId: externalId, scoreGiven: d.scoreGiven, scoreMaximum: 10, gradingProgress: d.gradingProgress,
        },
        lineItem: { id: item.id, url: item.url, label: 'fluency-10' },
        assessment: { id: assessmentId },
        job: null,
        utterance: { id: (await t.admin.request(`query($id: ID!) { assessment(id: $id) { utterance { id } } }`, { id: assessmentId })).data.assessment.utterance.id },
        learner: { id: learnerId, externalId },
      },
    }]);

    // Erasing the learner erases what was owed to the gradebook about them (the LTI user id with it).
    const dbId = fromGlobalId(assessmentId)!.id;
    const erased = await t.admin.request(`mutation($id: ID!) { eraseLearner(id: $id) { learnerId } }`, { id: learnerId });
    expect(erased.errors).toBeUndefined();
    expect(await prisma().ltiScore.count({ where: { assessmentId: dbId } })).toBe(0);
    expect(await prisma().delivery.count({ where: { channel: 'LTI_SCORE', ltiScore: { is: { assessmentId: dbId } } } })).toBe(0);
    expect(await prisma().ltiSubmission.count({ where: { lineItemId: fromGlobalId(item.id)!.id } })).toBe(0);
    // The failure event was the learner's: it went with them.
    expect(await prisma().outboxEvent.count({ where: { type: 'gradeDelivery.failed', body: { contains: deliveryId } } })).toBe(0);
  });

  test('a line item on an address the operator does not allow is refused when mapped, and by the outbound guard when one is stored all the same', async () => {
    // 127.0.0.2 is loopback like the platform, but only 127.0.0.1 is allowed.
    const url = lms.lineItemUrl('elsewhere').replace('127.0.0.1', '127.0.0.2');
    const refused = await t.admin.request(LINE_ITEM, { input: { platformId, url, aspect: 'TOTAL', scoreMaximum: 10 } });
    expect({ code: errorCode(refused), argument: refused.errors?.[0]?.extensions?.argument }).toEqual({ code: 'BAD_USER_INPUT', argument: 'input.url' });
    // Stored all the same (mapped before mapping checked the address; a host name resolving there
    // at delivery time meets the same guard): the delivery refuses to connect.
    // Its origin listed as the platform's (lti-service-origins.test.ts covers an origin that is not): the address guard is what refuses.
    const platformRow = await prisma().ltiPlatform.update({ where: { id: fromGlobalId(platformId)!.id }, data: { serviceOrigins: [new URL(url).origin] } });
    const row = await prisma().ltiLineItem.create({ data: { organizationId: platformRow.organizationId, platformId: platformRow.id, url, aspect: 'TOTAL', scoreMaximum: 10 } });
    const { assessmentId } = await assessedSubmission({ lineItemId: toGlobalId('LtiLineItem', row.id) });
    const d = (await settled(assessmentId)).gradeDeliveries[0];
    await prisma().ltiPlatform.update({ where: { id: platformRow.id }, data: { serviceOrigins: [] } });
    expect(d).toMatchObject({ status: 'FAILED', attempts: 1, lastErrorCode: 'ADDRESS_NOT_ALLOWED', lastHttpStatus: null });
    expect(d.lastError).toMatch(/127\.0\.0\.2/);
  });

  test('after a key rotation the new key signs, the old one stays published, and the platform verifies the new one', async () => {
    const before = (await t.admin.request(PLATFORMS)).data.ltiPlatforms[0].keys;
    const res = await t.admin.request(ROTATE, { id: platformId });
    expect(res.errors).toBeUndefined();
    const keys = res.data.rotateLtiPlatformKey.keys;
    expect(keys).toHaveLength(2);
    expect(keys[0].retiredAt).toBeNull();
    expect(keys[1]).toMatchObject({ kid: before[0].kid, retiredAt: expect.any(String) });
    const set = (await (await fetch(base() + res.data.rotateLtiPlatformKey.jwksPath)).json()) as { keys: { kid: string }[] };
    expect(set.keys.map((k) => k.kid)).toEqual([keys[0].kid, keys[1].kid]);

    const item = await lineItem({ aspect: 'TOTAL', scoreMaximum: 10, path: 'after-rotation' });
    const { assessmentId } = await assessedSubmission({ lineItemId: item.id });
    expect((await settled(assessmentId)).gradeDeliveries[0]).toMatchObject({ status: 'DELIVERED', attempts: 1 });
    expect(lms.assertions.at(-1)!.kid).toBe(keys[0].kid);
    expect(lms.problems).toEqual([]);
    expect(await prisma().auditEvent.count({ where: { action: 'ltiPlatform.keyRotated' } })).toBe(1);
  });

  test('several delivery workers post every score owed, each once, and retry a failure on their own', async () => {
    const item = await lineItem({ aspect: 'ACCURACY', scoreMaximum: 10, path: 'looped' });
    // Two more workers (two worker processes' worth, each with its own token cache) beside the app's.
    const workers = [1, 2].map(() => createDeliveryWorker(t.config, prisma(), { pollIntervalMs: 50 }));
    workers.forEach((w) => w.start());
    try {
      lms.failNextScores(503); // the first post fails
      const submitted = await Promise.all([1, 2, 3].map(() => assessedSubmission({ lineItemId: item.id })));
      const all = await Promise.all(submitted.map((s) => settled(s.assessmentId)));
      const deliveries = all.map((a) => a.gradeDeliveries[0]);
      expect(deliveries.map((d) => d.status)).toEqual(['DELIVERED', 'DELIVERED', 'DELIVERED']);
      expect(deliveries.map((d) => d.attempts).sort()).toEqual([1, 1, 2]); // one retry; no attempt made twice
      const retried = deliveries.find((d) => d.attempts === 2);
      expect(retried.attemptLog.map((x: { statusCode: number }) => x.statusCode)).toEqual([503, 204]);
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
    const posted = lms.scores.filter((s) => s.lineItem === 'looped');
    expect(posted).toHaveLength(3);
    expect(new Set(posted.map((s) => s.body.userId)).size).toBe(3);
    expect(lms.problems).toEqual([]);
  });

  test('an admin changes a line item for the scores owed from then on; a taken URL, bad values and other keys are refused', async () => {
    const UPDATE = `mutation($id: ID!, $input: UpdateLtiLineItemInput!) { updateLtiLineItem(id: $id, input: $input) { id url aspect scoreMaximum label } }`;
    const item = await lineItem({ aspect: 'TOTAL', scoreMaximum: 100, path: 'editable' });
    const before = await settled((await assessedSubmission({ lineItemId: item.id, userId: 'edit-user' })).assessmentId);
    expect(before.gradeDeliveries[0]).toMatchObject({ status: 'DELIVERED', scoreMaximum: 100 });

    const changed = await t.admin.request(UPDATE, { id: item.id, input: { aspect: 'FLUENCY', scoreMaximum: 10, label: '' } });
    expect(changed.errors).toBeUndefined();
    expect(changed.data.updateLtiLineItem).toEqual({ id: item.id, url: item.url, aspect: 'FLUENCY', scoreMaximum: 10, label: null });
    const after = await settled((await assessedSubmission({ lineItemId: item.id, userId: 'edit-user' })).assessmentId);
    expect(after.gradeDeliveries[0]).toMatchObject({ status: 'DELIVERED', scoreMaximum: 10, scoreGiven: after.sentence.fluency });
    const posts = lms.scores.filter((x) => x.lineItem === 'editable');
    expect(posts.map((x) => x.body.scoreMaximum)).toEqual([100, 10]);
    // The score owed before the change keeps what it was computed with.
    const kept = await prisma().ltiScore.findMany({ where: { lineItemId: fromGlobalId(item.id)!.id }, orderBy: { scoredAt: 'asc' } });
    expect(kept.map((k) => k.scoreMaximum)).toEqual([100, 10]);

    const other = await lineItem({ aspect: 'TOTAL', scoreMaximum: 100, path: 'taken' });
    const taken = await t.admin.request(UPDATE, { id: item.id, input: { url: other.url } });
    expect(errorCode(taken)).toBe('CONFLICT');
    // The CONFLICT names the mapping that holds the URL, so an integration can use it.
    expect(taken.errors![0]!.extensions).toMatchObject({ url: other.url, lineItemId: other.id });
    const again = await t.admin.request(LINE_ITEM, { input: { platformId: other.platform.id, url: other.url, aspect: 'TOTAL', scoreMaximum: 5 } });
    expect(errorCode(again)).toBe('CONFLICT');
    expect(again.errors![0]!.extensions).toMatchObject({ url: other.url, lineItemId: other.id });
    // Or finds it by URL.
    const PLATFORM_ITEMS = `query($id: ID!, $url: String) { node(id: $id) { ... on LtiPlatform { lineItems(url: $url) { id url } } } }`;
    const byUrl = await t.admin.request(PLATFORM_ITEMS, { id: other.platform.id, url: other.url });
    expect(byUrl.data.node.lineItems).toEqual([{ id: other.id, url: other.url }]);
    expect((await t.admin.request(PLATFORM_ITEMS, { id: other.platform.id, url: `${other.url}/nope` })).data.node.lineItems).toEqual([]);
    // Written another way, the same URL (a dot segment): found as the CONFLICT finds it.
    const dotted = other.url.replace('/lineitems/', '/lineitems/./');
    expect(dotted).not.toBe(other.url);
    expect((await t.admin.request(PLATFORM_ITEMS, { id: other.platform.id, url: dotted })).data.node.lineItems).toEqual([{ id: other.id, url: other.url }]);
    expect((await t.admin.request(PLATFORM_ITEMS, { id: other.platform.id, url: 'not a url' })).data.node.lineItems).toEqual([]);
    const every = (await t.admin.request(PLATFORM_ITEMS, { id: other.platform.id })).data.node.lineItems;
    expect(every.length).toBeGreaterThan(1);
    expect(every.map((i: { id: string }) => i.id)).toContain(other.id);
    expect(errorCode(await t.admin.request(UPDATE, { id: item.id, input: { scoreMaximum: 0 } }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await t.admin.request(UPDATE, { id: item.id, input: { url: 'ftp://lms.example/x' } }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await writer.request(UPDATE, { id: item.id, input: { label: 'x' } }))).toBe('FORBIDDEN');
    const { client: foreign } = await otherOrganization(t);
    expect(errorCode(await foreign.request(UPDATE, { id: item.id, input: { label: 'x' } }))).toBe('NOT_FOUND');
    const row = await prisma().ltiLineItem.findUniqueOrThrow({ where: { id: fromGlobalId(item.id)!.id } });
    expect(row).toMatchObject({ url: item.url, aspect: 'FLUENCY', scoreMaximum: 10, label: null }); // nothing half-written

    const audit = await t.admin.request(`{ auditEvents(first: 1, action: "ltiLineItem.updated") { edges { node { targetId details } } } }`);
    expect(audit.data.auditEvents.edges[0].node).toMatchObject({ targetId: item.id, details: { changed: ['aspect', 'scoreMaximum', 'label'] } });
  });

  test('a platform changed by an admin gets a fresh token for the new settings; deleting a line item or a platform stops every post to it', async () => {
    const UPDATE = `mutation($id: ID!, $input: UpdateLtiPlatformInput!) { updateLtiPlatform(id: $id, input: $input) { id name audience tokenEndpoint } }`;
    const item = await lineItem({ aspect: 'TOTAL', scoreMaximum: 10, path: 'moved' });
    await settled((await assessedSubmission({ lineItemId: item.id })).assessmentId);
    const assertions = lms.assertions.length;
    await settled((await assessedSubmission({ lineItemId: item.id })).assessmentId);
    expect(lms.assertions.length).toBe(assertions); // the cached token

    // The audience given explicitly (the same URL): the token is asked with other settings, so a new one.
    const updated = await t.admin.request(UPDATE, { id: platformId, input: { name: 'Renamed LMS', audience: lms.tokenEndpoint } });
    expect(updated.errors).toBeUndefined();
    expect(updated.data.updateLtiPlatform).toEqual({ id: platformId, name: 'Renamed LMS', audience: lms.tokenEndpoint, tokenEndpoint: lms.tokenEndpoint });
    const after = await settled((await assessedSubmission({ lineItemId: item.id })).assessmentId);
    expect(after.gradeDeliveries[0].status).toBe('DELIVERED');
    expect(lms.assertions.length).toBe(assertions + 1);
    expect(errorCode(await t.admin.request(UPDATE, { id: platformId, input: { tokenEndpoint: 'not a url' } }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await writer.request(UPDATE, { id: platformId, input: { name: 'x' } }))).toBe('FORBIDDEN');

    // A second registration of the same LMS; making it the first's twin is CONFLICT.
    const second = await t.admin.request(REGISTER, { input: { name: 'Second', issuer: lms.url, clientId: 'another-client', deploymentId: 'dep-1', tokenEndpoint: lms.tokenEndpoint } });
    const secondId = second.data.registerLtiPlatform.id;
    expect(errorCode(await t.admin.request(UPDATE, { id: secondId, input: { clientId: 'speechmark-tool' } }))).toBe('CONFLICT');

    // Deleting the line item: its scores and deliveries go; a later submission naming it posts nothing.
    const owed = await prisma().ltiScore.count({ where: { lineItemId: fromGlobalId(item.id)!.id } });
    const DELETE_ITEM = `mutation($id: ID!) { deleteLtiLineItem(id: $id) { id url } }`;
    const deleted = await t.admin.request(DELETE_ITEM, { id: item.id });
    expect(deleted.data.deleteLtiLineItem).toEqual({ id: item.id, url: item.url });
    expect(await prisma().ltiScore.count({ where: { lineItemId: fromGlobalId(item.id)!.id } })).toBe(0);
    expect(errorCode(await t.admin.request(DELETE_ITEM, { id: item.id }))).toBe('NOT_FOUND');
    const audit = await t.admin.request(`{ auditEvents(first: 1, action: "ltiLineItem.deleted") { edges { node { targetId details } } } }`);
    expect(audit.data.auditEvents.edges[0].node).toMatchObject({ targetId: item.id, details: { scores: owed, undeliveredDeliveries: 0 } });

    // Deleting the second platform: its JWKS is gone, its line items with it; the first is untouched.
    const secondItem = (await t.admin.request(LINE_ITEM, { input: { platformId: secondId, url: lms.lineItemUrl('second'), aspect: 'TOTAL', scoreMaximum: 10 } })).data.createLtiLineItem;
    const jwksPath = `/lti/jwks/${fromGlobalId(secondId)!.id}`;
    expect((await fetch(base() + jwksPath)).status).toBe(200);
    const DELETE_PLATFORM = `mutation($id: ID!) { deleteLtiPlatform(id: $id) { id name keys { kid } lineItems { id } } }`;
    expect(errorCode(await writer.request(DELETE_PLATFORM, { id: secondId }))).toBe('FORBIDDEN');
    const gone = await t.admin.request(DELETE_PLATFORM, { id: secondId });
    expect(gone.errors).toBeUndefined();
    expect(gone.data.deleteLtiPlatform).toEqual({ id: secondId, name: 'Second', keys: [], lineItems: [] });
    expect((await fetch(base() + jwksPath)).status).toBe(404);
    expect(await prisma().ltiLineItem.count({ where: { id: fromGlobalId(secondItem.id)!.id } })).toBe(0);
    const platforms = (await t.admin.request(PLATFORMS)).data.ltiPlatforms.map((p: { id: string }) => p.id);
    expect(platforms).toContain(platformId);
    expect(platforms).not.toContain(secondId);
    expect(lms.problems).toEqual([]);
  });
});

describe.each(DATABASES)('LMS credentials go only where the operator allows [%s]', (kind) => {
  // The defaults: https only, no private address (no SPEECHMARK_WEBHOOK_ALLOW_HTTP or _PRIVATE_NETWORKS).
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(kind, { deliveryWorker: false });
  });
  afterAll(() => t?.dispose());

  const refusal = async (query: string, variables: Record<string, unknown>) => {
    const res = await t.admin.request(query, variables);
    return { code: errorCode(res), argument: res.errors?.[0]?.extensions?.argument, message: res.errors?.[0]?.message };
  };
  const platform = (tokenEndpoint: string) => ({ name: 'LMS', issuer: 'https://lms.example', clientId: `c-${randomUUID()}`, deploymentId: '1', tokenEndpoint });
  const UPDATE_PLATFORM = `mutation($id: ID!, $input: UpdateLtiPlatformInput!) { updateLtiPlatform(id: $id, input: $input) { tokenEndpoint } }`;
  const UPDATE_ITEM = `mutation($id: ID!, $input: UpdateLtiLineItemInput!) { updateLtiLineItem(id: $id, input: $input) { url } }`;

  test('a token endpoint or line item over http, or at a private address, is BAD_USER_INPUT, and nothing is stored', async () => {
    // The signed client assertion would go to the token endpoint in clear text, the AGS token and the grade to the line item.
    expect(await refusal(REGISTER, { input: platform('http://lms.example/token') }))
      .toEqual({ code: 'BAD_USER_INPUT', argument: 'input.tokenEndpoint', message: expect.stringMatching(/must be https:\/\//) });
    expect(await refusal(REGISTER, { input: platform('https://127.0.0.1/token') }))
      .toEqual({ code: 'BAD_USER_INPUT', argument: 'input.tokenEndpoint', message: expect.stringMatching(/refused/) });
    expect(await t.app.services.prisma.ltiPlatform.count()).toBe(0);

    const made = await t.admin.request(REGISTER, { input: platform('https://lms.example/token') });
    expect(made.errors).toBeUndefined();
    const platformId = made.data.registerLtiPlatform.id;
    expect(await refusal(UPDATE_PLATFORM, { id: platformId, input: { tokenEndpoint: 'http://lms.example/token' } }))
      .toMatchObject({ code: 'BAD_USER_INPUT', argument: 'input.tokenEndpoint' });
    const item = { platformId, aspect: 'TOTAL', scoreMaximum: 10 };
    expect(await refusal(LINE_ITEM, { input: { ...item, url: 'http://lms.example/lineitems/1' } }))
      .toMatchObject({ code: 'BAD_USER_INPUT', argument: 'input.url' });
    expect(await t.app.services.prisma.ltiLineItem.count()).toBe(0);
    const mapped = await t.admin.request(LINE_ITEM, { input: { ...item, url: 'https://lms.example/lineitems/1' } });
    expect(mapped.errors).toBeUndefined();
    expect(await refusal(UPDATE_ITEM, { id: mapped.data.createLtiLineItem.id, input: { url: 'http://lms.example/lineitems/2' } }))
      .toMatchObject({ code: 'BAD_USER_INPUT', argument: 'input.url' });
    // What was stored is unchanged.
    expect((await t.app.services.prisma.ltiPlatform.findFirstOrThrow()).tokenEndpoint).toBe('https://lms.example/token');
    expect((await t.app.services.prisma.ltiLineItem.findFirstOrThrow()).url).toBe('https://lms.example/lineitems/1');
  });

  test('a stored address sent back unchanged is kept (a whole form re-sent); a fragment stays part of the URL', async () => {
    const { prisma } = t.app.services;
    const made = await t.admin.request(REGISTER, { input: platform('https://lms.example/token') });
    const platformId = made.data.registerLtiPlatform.id;
    const item = await t.admin.request(LINE_ITEM, { input: { platformId, aspect: 'TOTAL', scoreMaximum: 10, url: 'https://lms.example/lineitems/7#week-3' } });
    expect(item.errors).toBeUndefined();
    expect(item.data.createLtiLineItem.url).toBe('https://lms.example/lineitems/7#week-3');
    // Registered over http before addresses were checked: a rename that sends it back is no change of address.
    await prisma.ltiPlatform.update({ where: { id: fromGlobalId(platformId)!.id }, data: { tokenEndpoint: 'http://lms.example/token' } });
    await prisma.ltiLineItem.update({ where: { id: fromGlobalId(item.data.createLtiLineItem.id)!.id }, data: { url: 'http://lms.example/lineitems/7' } });
    const renamed = await t.admin.request(UPDATE_PLATFORM, { id: platformId, input: { name: 'Renamed', tokenEndpoint: 'http://lms.example/token' } });
    expect(renamed.errors).toBeUndefined();
    const relabelled = await t.admin.request(UPDATE_ITEM, { id: item.data.createLtiLineItem.id, input: { label: 'Week 3', url: 'http://lms.example/lineitems/7' } });
    expect(relabelled.errors).toBeUndefined();
    // A new http address is still refused.
    expect(await refusal(UPDATE_PLATFORM, { id: platformId, input: { tokenEndpoint: 'http://lms.example/token2' } })).toMatchObject({ code: 'BAD_USER_INPUT' });
  });
});
