/**
 * LTI 1.3 Assignment and Grade Services score passback over real HTTP, against a local platform
 * (tests/support/lti-platform.ts) that fetches the tool's JWKS from speechmark and verifies every
 * client assertion and every score as a real LMS does: registration and its JWKS, scopes and
 * tenants, a submission naming a line item, the score posted with the right scale and fields,
 * a 500 retried, a revoked token refreshed once, a refused score given up, key rotation.
 */
import { randomUUID } from 'node:crypto';
import { startTestApp, testDatabases, waitForJob, type TestApp } from '../support/app.js';
import { errorCode, type GqlClient } from '../support/client.js';
import { keyWithScopes, otherOrganization } from '../support/seed.js';
import { speechLikeWav } from '../support/audio-fixtures.js';
import { LtiTestPlatform, scoreProblems } from '../support/lti-platform.js';
import { fromGlobalId } from '../../src/graphql/ids.js';
import { createLtiScoreSender, type LtiScoreSender } from '../../src/lti/sender.js';
import { LtiDeliveryLoop } from '../../src/lti/delivery-loop.js';

const DATABASES = await testDatabases();

const PLATFORM_FIELDS = 'id name issuer clientId deploymentId tokenEndpoint audience jwksPath createdAt keys { kid publicJwk createdAt retiredAt }';
const REGISTER = `mutation($input: RegisterLtiPlatformInput!) { registerLtiPlatform(input: $input) { ${PLATFORM_FIELDS} } }`;
const ROTATE = `mutation($id: ID!) { rotateLtiPlatformKey(id: $id) { ${PLATFORM_FIELDS} } }`;
const PLATFORMS = `{ ltiPlatforms { ${PLATFORM_FIELDS} lineItems { id url aspect scoreMaximum label } } }`;
const LINE_ITEM = `mutation($input: CreateLtiLineItemInput!) { createLtiLineItem(input: $input) { id url aspect scoreMaximum label platform { id } } }`;
const CREATE_LEARNER = `mutation($externalId: String!) { createLearner(input: {externalId: $externalId}) { id } }`;
const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { job { id } } }`;
const DELIVERIES = `query($id: ID!) { assessment(id: $id) {
  sentence { accuracy fluency prosody completeness total } rationale { text }
  gradeDeliveries { userId scoreGiven scoreMaximum status attempts lastError lastHttpStatus nextAttemptAt deliveredAt createdAt
    lineItem { id url aspect scoreMaximum } } } }`;

describe.each(DATABASES)('LTI grade passback on %s', (kind) => {
  let t: TestApp;
  let lms: LtiTestPlatform;
  let sender: LtiScoreSender;
  let platformId: string;
  let writer: GqlClient;
  const prisma = () => t.app.services.prisma;
  const base = () => new URL(t.app.url).origin;

  beforeAll(async () => {
    // The in-process delivery loop is off here: these tests make each attempt themselves; the last
    // test runs the loops (src/lti/delivery-loop.ts) as workers do.
    t = await startTestApp(kind, { ltiDeliveryPollMs: 0 });
    lms = await LtiTestPlatform.start();
    // The sender a delivery worker holds (one token cache per process); the test makes its attempts.
    sender = createLtiScoreSender(prisma());
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
  async function assessedSubmission(lti: { lineItemId: string; userId?: string }, externalId = `lti-${randomUUID()}`) {
    const learnerId = (await t.admin.request(CREATE_LEARNER, { externalId })).data.createLearner.id;
    const res = await writer.upload(
      SUBMIT,
      { input: { learnerId, referenceText: 'We call it bear', audio: null, lti } },
      'variables.input.audio',
      { bytes: speechLikeWav(1.2, Math.floor(Math.random() * 1000)), name: 'take.wav' },
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

  /** One attempt at each pending delivery of the assessment, as the delivery worker makes them. */
  async function attemptAll(assessmentId: string) {
    const pending = await prisma().ltiScoreDelivery.findMany({ where: { assessmentId: fromGlobalId(assessmentId)!.id, status: 'PENDING' } });
    return Promise.all(pending.map((d) => sender.deliver(d.id)));
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
    expect(await prisma().auditEvent.count({ where: { action: 'ltiPlatform.registered' } })).toBe(1);
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
    // Another organisation's line item cannot be named by a submission.
    const item = await lineItem({ aspect: 'TOTAL', scoreMaximum: 10, path: 'scoped' });
    const { client: foreignWriter } = await otherOrganization(t, ['ASSESS_WRITE', 'ADMIN']);
    const learnerId = (await foreignWriter.request(CREATE_LEARNER, { externalId: 'foreign' })).data.createLearner.id;
    const res = await foreignWriter.upload(SUBMIT, { input: { learnerId, referenceText: 'We call it bear', audio: null, lti: { lineItemId: item.id } } },
      'variables.input.audio', { bytes: speechLikeWav(1.2, 7), name: 'take.wav' });
    expect(errorCode(res)).toBe('NOT_FOUND');
    expect(await prisma().ltiSubmission.count()).toBe(0);
  });

  test('a completed assessment posts its scaled score with every field; the delivery status is visible with the scores', async () => {
    const item = await lineItem({ aspect: 'TOTAL', scoreMaximum: 100, path: 'total-100' });
    const { assessmentId, externalId } = await assessedSubmission({ lineItemId: item.id });
    const before = (await deliveriesOf(assessmentId)).data.assessment;
    expect(before.gradeDeliveries).toEqual([expect.objectContaining({ status: 'PENDING', attempts: 0, userId: externalId, deliveredAt: null, lastError: null })]);
    expect(before.gradeDeliveries[0].scoreGiven).toBe(before.sentence.total * 10);

    const started = performance.now();
    expect(await attemptAll(assessmentId)).toEqual([{ outcome: 'delivered', httpStatus: 204 }]);
    // A figure, not an assertion: the first attempt signs an assertion, the platform fetches the JWKS.
    console.log(`[lti ${kind}] first delivery (token request, JWKS fetch, score post): ${(performance.now() - started).toFixed(1)} ms`);
    expect(lms.problems).toEqual([]);
    const posted = lms.scores.filter((s) => s.lineItem === 'total-100');
    expect(posted).toHaveLength(1);
    const score = posted[0]!.body;
    expect(scoreProblems(score)).toEqual([]);
    expect(score).toEqual({
      userId: externalId,
      scoreGiven: before.sentence.total * 10,
      scoreMaximum: 100,
      comment: before.rationale.text,
      timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      activityProgress: 'Completed',
      gradingProgress: 'FullyGraded',
    });
    expect(lms.assertions.at(-1)!.exp - lms.assertions.at(-1)!.iat).toBeLessThanOrEqual(300);

    const after = (await deliveriesOf(assessmentId)).data.assessment.gradeDeliveries[0];
    expect(after).toMatchObject({ status: 'DELIVERED', attempts: 1, lastHttpStatus: 204, lastError: null, nextAttemptAt: null, lineItem: { id: item.id, aspect: 'TOTAL' } });
    expect(Date.parse(after.deliveredAt)).toBeGreaterThanOrEqual(Date.parse(after.createdAt));
    // A delivered score is not posted again.
    expect(await sender.deliver((await prisma().ltiScoreDelivery.findFirstOrThrow({ where: { assessmentId: fromGlobalId(assessmentId)!.id } })).id)).toBeNull();

    // Scores readers see the status; the platform behind the line item is admin configuration.
    const reader = await keyWithScopes(t, ['SCORES_READ']);
    expect((await deliveriesOf(assessmentId, reader)).data.assessment.gradeDeliveries[0].status).toBe('DELIVERED');
    const withPlatform = await reader.request(`query($id: ID!) { assessment(id: $id) { gradeDeliveries { lineItem { platform { id } } } } }`, { id: assessmentId });
    expect(errorCode(withPlatform)).toBe('FORBIDDEN');
    expect(errorCode(await writer.request(DELIVERIES, { id: assessmentId }))).toBe('FORBIDDEN');
  });

  test('a 500 is retried later; a revoked token is refreshed once; the token is cached between deliveries', async () => {
    const item = await lineItem({ aspect: 'ACCURACY', scoreMaximum: 5, path: 'accuracy-5' });
    const { assessmentId } = await assessedSubmission({ lineItemId: item.id, userId: 'platform-user-42' });
    const assertionsBefore = lms.assertions.length;

    lms.failNextScores(500);
    const cachedStart = performance.now();
    const [first] = await attemptAll(assessmentId);
    console.log(`[lti ${kind}] attempt with a cached token (answered 500): ${(performance.now() - cachedStart).toFixed(1)} ms`);
    expect(first).toMatchObject({ outcome: 'retry', httpStatus: 500 });
    let d = (await deliveriesOf(assessmentId)).data.assessment.gradeDeliveries[0];
    expect(d).toMatchObject({ status: 'PENDING', attempts: 1, lastHttpStatus: 500, deliveredAt: null });
    expect(d.lastError).toContain('500');
    expect(Date.parse(d.nextAttemptAt)).toBeGreaterThan(Date.now());
    // The cached token served that attempt: no new assertion.
    expect(lms.assertions.length).toBe(assertionsBefore);

    lms.revokeTokens();
    const started = performance.now();
    const [second] = await attemptAll(assessmentId);
    console.log(`[lti ${kind}] delivery after a 401 (refused post, new token, post again): ${(performance.now() - started).toFixed(1)} ms`);
    expect(second).toEqual({ outcome: 'delivered', httpStatus: 204 });
    expect(lms.assertions.length).toBe(assertionsBefore + 1);
    expect(new Set(lms.assertions.map((a) => a.jti)).size).toBe(lms.assertions.length);
    d = (await deliveriesOf(assessmentId)).data.assessment;
    expect(d.gradeDeliveries[0]).toMatchObject({ status: 'DELIVERED', attempts: 2, lastError: null });
    const posted = lms.scores.filter((s) => s.lineItem === 'accuracy-5');
    expect(posted.map((s) => s.body.userId)).toEqual(['platform-user-42']);
    expect(posted[0]!.body.scoreGiven).toBe(d.sentence.accuracy / 2);
    expect(lms.problems).toEqual([]);
  });

  test('a score the platform refuses (400) is given up at once and shows FAILED with the reason', async () => {
    const item = await lineItem({ aspect: 'FLUENCY', scoreMaximum: 10, path: 'fluency-10' });
    const { assessmentId, learnerId } = await assessedSubmission({ lineItemId: item.id });
    lms.failNextScores(400);
    const [outcome] = await attemptAll(assessmentId);
    expect(outcome).toMatchObject({ outcome: 'failed', httpStatus: 400 });
    const d = (await deliveriesOf(assessmentId)).data.assessment.gradeDeliveries[0];
    expect(d).toMatchObject({ status: 'FAILED', attempts: 1, lastHttpStatus: 400, nextAttemptAt: null, deliveredAt: null });
    expect(d.lastError).toContain('400');
    expect(lms.scores.filter((s) => s.lineItem === 'fluency-10')).toHaveLength(0);

    // Erasing the learner erases what was owed to the gradebook about them (the LTI user id with it).
    const erased = await t.admin.request(`mutation($id: ID!) { eraseLearner(id: $id) { learnerId } }`, { id: learnerId });
    expect(erased.errors).toBeUndefined();
    expect(await prisma().ltiScoreDelivery.count({ where: { assessmentId: fromGlobalId(assessmentId)!.id } })).toBe(0);
    expect(await prisma().ltiSubmission.count({ where: { lineItemId: fromGlobalId(item.id)!.id } })).toBe(0);
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
    expect(await attemptAll(assessmentId)).toEqual([{ outcome: 'delivered', httpStatus: 204 }]);
    expect(lms.assertions.at(-1)!.kid).toBe(keys[0].kid);
    expect(lms.problems).toEqual([]);
    expect(await prisma().auditEvent.count({ where: { action: 'ltiPlatform.keyRotated' } })).toBe(1);
  });

  test('delivery loops post every score owed by themselves, each once, and retry a failure on their own', async () => {
    const item = await lineItem({ aspect: 'ACCURACY', scoreMaximum: 10, path: 'looped' });
    const submitted = await Promise.all([1, 2, 3].map(() => assessedSubmission({ lineItemId: item.id })));
    const ids = submitted.map((s) => fromGlobalId(s.assessmentId)!.id);
    const rows = () => prisma().ltiScoreDelivery.findMany({ where: { assessmentId: { in: ids } } });
    /** Two loops (two worker processes' worth, each with its own token cache) until `done`. */
    async function runLoopsUntil(done: (r: Awaited<ReturnType<typeof rows>>) => boolean) {
      const loops = [1, 2].map(() => new LtiDeliveryLoop(prisma(), createLtiScoreSender(prisma()), { pollIntervalMs: 50 }));
      loops.forEach((l) => l.start());
      try {
        const deadline = Date.now() + 60_000;
        while (!done(await rows())) {
          if (Date.now() > deadline) throw new Error(`loops did not finish: ${JSON.stringify((await rows()).map((r) => [r.status, r.attempts]))}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      } finally {
        await Promise.all(loops.map((l) => l.stop()));
      }
    }
    lms.failNextScores(503); // the first post fails
    await runLoopsUntil((r) => r.filter((x) => x.status === 'DELIVERED').length === 2 && r.some((x) => x.status === 'PENDING' && x.attempts === 1));
    const failed = (await rows()).find((r) => r.status === 'PENDING')!;
    expect(failed).toMatchObject({ lastHttpStatus: 503, attempts: 1 });
    expect(failed.nextAttemptAt.getTime()).toBeGreaterThan(Date.now()); // backoff, not a busy retry
    // The backoff is 30 s and more: bring its time forward (loops stopped), as the clock would.
    await prisma().ltiScoreDelivery.update({ where: { id: failed.id }, data: { nextAttemptAt: new Date() } });
    await runLoopsUntil((r) => r.every((x) => x.status === 'DELIVERED'));
    expect((await rows()).map((r) => r.attempts).sort()).toEqual([1, 1, 2]); // one retry; no attempt made twice
    const posted = lms.scores.filter((s) => s.lineItem === 'looped');
    expect(posted).toHaveLength(3);
    expect(new Set(posted.map((s) => s.body.userId)).size).toBe(3);
    expect(lms.problems).toEqual([]);
  });
});
