/**
 * xAPI statements sent to a Learning Record Store by themselves (issue 10): an admin sets the
 * organisation's LRS through GraphQL (the password never readable back), and every completed
 * assessment writes an XAPI delivery in its completing transaction, which the outbox's delivery
 * worker sends to a local LRS started by the test (tests/support/xapi-lrs.ts: Basic auth, the
 * version header, every statement validated against the xAPI schema). A 503 is retried, a re-send
 * of a stored statement is a 409 the LRS dedupes on the stable statement id, and an organisation
 * without an LRS gets no delivery.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { LOCAL_PEERS, startTestApp, submitScored, testDatabases, waitForJob, type TestApp } from '../support/app.js';
import { errorCode } from '../support/client.js';
import { keyWithScopes, otherOrganization } from '../support/seed.js';
import { speechLikeWav } from '../support/audio-fixtures.js';
import { TestLrs } from '../support/xapi-lrs.js';
import { xapiErrors } from '../support/xapi-schema.js';
import { fromGlobalId, toGlobalId } from '../../src/graphql/ids.js';
import { statementIdFor } from '../../src/xapi/uuid.js';
import { sendVoiding, voidingStatementIdFor } from '../../src/xapi/voiding.js';
import { waitFor } from '../jobs/fixtures.js';

const DATABASES = await testDatabases();

const SET = `mutation($input: SetXapiLrsInput!) { setXapiLrs(input: $input) { endpoint username createdAt updatedAt } }`;
const GET = `{ xapiLrs { endpoint username } }`;
const REMOVE = `mutation { removeXapiLrs { endpoint } }`;
const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { job { id } } }`;

describe.each(DATABASES)('xAPI statements to an LRS through the outbox on %s', (kind) => {
  let t: TestApp;
  let lrs: TestLrs;
  let learnerId: string;
  const externalId = `xapi-${randomUUID()}`;
  const prisma = () => t.app.services.prisma;

  beforeAll(async () => {
    lrs = await new TestLrs().start();
    // The LRS is on 127.0.0.1: the operator allows that address and http://. A short request
    // timeout: a voiding refused for a statement not in the LRS is read again once twice that has
    // passed since the erasure (a statement on its way would have landed: tests/api/xapi-voiding-moot.test.ts).
    t = await startTestApp(kind, { ...LOCAL_PEERS, webhookTimeoutMs: 2_000 });
    learnerId = (await t.admin.request(`mutation($e: String!) { createLearner(input: {externalId: $e, groups: ["course-xapi"]}) { id } }`, { e: externalId })).data.createLearner.id;
  });
  afterAll(async () => {
    await t?.dispose();
    await lrs?.stop();
  });

  async function assessed(metadata?: Record<string, string>): Promise<string> {
    return fromGlobalId((await submitScored(t, { learnerId, ...(metadata ? { metadata } : {}) })).assessment.id)!.id;
  }

  /** The XAPI deliveries of an assessment's assessment.completed event, once all settled. */
  async function settledXapi(assessmentId: string) {
    return waitFor(async () => {
      const rows = await prisma().delivery.findMany({
        where: { channel: 'XAPI', event: { is: { type: 'assessment.completed', body: { contains: Buffer.from(`Assessment:${assessmentId}`).toString('base64url') } } } },
        include: { attemptLog: { orderBy: { number: 'asc' } } },
      });
      return rows.length > 0 && rows.every((r) => r.status === 'DELIVERED' || r.status === 'FAILED') ? rows : null;
    }, 30_000, 50);
  }

  test('an admin sets the LRS; the password is never read back; bad settings and other scopes are refused', async () => {
    const input = { endpoint: lrs.url, username: lrs.username, password: lrs.password };
    const set = await t.admin.request(SET, { input });
    expect(set.errors).toBeUndefined();
    expect(set.data.setXapiLrs).toMatchObject({ endpoint: lrs.url, username: lrs.username });
    const read = await t.admin.request(`${GET.slice(0, -1)} auditEvents(first: 1) { edges { node { action details } } } }`);
    expect(read.data.xapiLrs).toEqual({ endpoint: lrs.url, username: lrs.username });
    expect(read.data.auditEvents.edges[0].node).toEqual({ action: 'xapiLrs.set', details: { endpoint: lrs.url, username: lrs.username } });
    expect(JSON.stringify([set, read])).not.toContain(lrs.password);
    // No field of the type reads the password.
    expect(errorCode(await t.admin.request(`{ xapiLrs { password } }`))).toBe('GRAPHQL_VALIDATION_FAILED');

    const refused = async (patch: Record<string, string>) => {
      const r = await t.admin.request(SET, { input: { ...input, ...patch } });
      return `${errorCode(r)}: ${r.errors?.[0]?.message}`;
    };
    expect(await refused({ endpoint: 'https://10.0.0.7/xapi' })).toMatch(/^BAD_USER_INPUT: .*not a public address/);
    expect(await refused({ endpoint: 'ftp://lrs.example/' })).toMatch(/^BAD_USER_INPUT/);
    expect(await refused({ username: 'has:colon' })).toMatch(/^BAD_USER_INPUT: username/);
    expect(await refused({ password: '' })).toMatch(/^BAD_USER_INPUT: password/);
    expect((await t.admin.request(GET)).data.xapiLrs.username).toBe(lrs.username); // nothing half-written

    const reader = await keyWithScopes(t, ['SCORES_READ', 'ASSESS_WRITE']);
    expect(errorCode(await reader.request(GET))).toBe('FORBIDDEN');
    expect(errorCode(await reader.request(SET, { input }))).toBe('FORBIDDEN');
  });

  test('a completed assessment is sent as a valid statement with its stable id; a 503 is retried', async () => {
    lrs.failNext = 1;
    const assessmentId = await assessed({ attempt: 'quiz-9/2', 'lms.session': 'abc' });
    const [delivery] = await settledXapi(assessmentId);
    expect(delivery).toMatchObject({ status: 'DELIVERED', attempts: 2, lastStatusCode: 200 });
    expect(delivery!.attemptLog.map((a) => [a.statusCode, a.errorCode])).toEqual([[503, 'HTTP_STATUS'], [200, null]]);
    const statement = lrs.stored.get(statementIdFor(assessmentId)) as { actor: { account: { name: string } }; result: { score: { raw: number } } };
    expect(statement).toBeDefined();
    expect(xapiErrors([statement], true)).toEqual([]);
    expect(statement.actor.account.name).toBe(externalId);
    // The course the learner was in when they read is the context's grouping.
    const grouping = (statement as unknown as { context: { contextActivities: { grouping: { id: string; definition: { name: Record<string, string> } }[] } } }).context.contextActivities.grouping;
    expect(grouping.map((g) => g.definition.name.und)).toEqual(['course-xapi']);
    // The integrator's metadata, so an LRS report can join a statement to the LMS's own attempt.
    const context = (statement as unknown as { context: { extensions: Record<string, unknown> } }).context;
    expect(context.extensions['https://speechmark.dev/xapi/extensions/metadata']).toEqual({ attempt: 'quiz-9/2', 'lms.session': 'abc' });
    const row = await prisma().assessment.findUniqueOrThrow({ where: { id: assessmentId }, include: { words: { orderBy: { index: 'asc' } } } });
    expect(statement.result.score.raw).toBe(row.total);
    // the model's diagnostics: word timing and miscues, the content match and its outcome
    const ext = (statement as unknown as { result: { completion: boolean; extensions: Record<string, any> } }).result;
    const items = ext.extensions['https://speechmark.dev/xapi/extensions/words'].items;
    expect(items.map((w: any) => [w.text, w.startMs, w.endMs, w.errorType])).toEqual(row.words.map((w) => [w.text, w.startMs, w.endMs, w.errorType]));
    expect(items.every((w: any) => typeof w.startMs === 'number' && w.endMs > w.startMs)).toBe(true);
    expect(ext.extensions['https://speechmark.dev/xapi/extensions/content-match']).toBe(row.contentMatch);
    expect(typeof row.contentMatch).toBe('number');
    expect(ext.extensions['https://speechmark.dev/xapi/extensions/flags']).toEqual(row.flags);
    expect(ext.completion).toBe(!row.flags.includes('READ_WRONG_TEXT'));
    const last = lrs.requests.at(-1)!;
    expect(last.headers['x-experience-api-version']).toBe('1.0.3');
    expect(last.headers.authorization).toBe(`Basic ${Buffer.from(`${lrs.username}:${lrs.password}`).toString('base64')}`);

    // Sent again (as after a lost answer: the lease ran out), the LRS answers 409 for the id it holds:
    // delivered, and still one statement.
    // The learner moved on to another course meanwhile: the statement is built from the snapshot
    // taken at submission, so the one read back is still ours.
    const moved = await t.admin.request(`mutation($id: ID!) { updateLearner(id: $id, input: {groups: ["course-next"]}) { groups } }`, { id: learnerId });
    expect(moved.data.updateLearner.groups).toEqual(['course-next']);
    const snapshot = await t.admin.request(`query($id: ID!) { utterance(id: $id) { learnerGroups learner { groups } } }`, { id: toGlobalId('Utterance', row.utteranceId) });
    expect(snapshot.data.utterance).toEqual({ learnerGroups: ['course-xapi'], learner: { groups: ['course-next'] } });
    const stored = lrs.stored.size;
    await prisma().delivery.update({ where: { id: delivery!.id }, data: { status: 'PENDING', runAfter: new Date() } });
    t.app.deliveries!.wake();
    const again = await waitFor(async () => {
      const d = await prisma().delivery.findUniqueOrThrow({ where: { id: delivery!.id } });
      return d.status === 'DELIVERED' && d.attempts === 3 ? d : null;
    }, 30_000, 50);
    expect(again.lastStatusCode).toBe(409);
    expect(lrs.stored.size).toBe(stored);
    // Delivered because the statement read back is ours, not only because of the 409.
    expect(lrs.requests.slice(-2).map((r) => [r.status, r.reason])).toEqual([[409, 'a statement with this id is stored already'], [200, 'read']]);

    // The LRS holds another statement under the id (as one sent before the account home page
    // changed): read back, compared, FAILED as a conflict that names where they differ.
    const id = statementIdFor(assessmentId);
    const theirs = { ...statement, actor: { objectType: 'Agent', account: { homePage: 'https://old-lms.example', name: externalId } } };
    lrs.stored.set(id, theirs);
    const resent = await t.admin.request(`mutation($id: ID!) { resendXapiDelivery(id: $id) { id } }`, { id: toGlobalId('XapiDelivery', delivery!.id) });
    expect(resent.errors).toBeUndefined();
    const conflict = await waitFor(async () => {
      const d = await prisma().delivery.findUniqueOrThrow({ where: { id: fromGlobalId(resent.data.resendXapiDelivery.id)!.id } });
      return d.status === 'FAILED' ? d : null;
    }, 30_000, 50);
    expect(conflict).toMatchObject({ lastStatusCode: 409, lastErrorCode: 'STATEMENT_CONFLICT', attempts: 1 });
    expect(conflict.lastError).toContain('actor.account.homePage');
  });

  test('a bulk re-assessment sends statements only with sendStatements (an LRS keeps every one)', async () => {
    const learner = (await t.admin.request(`mutation { createLearner(input: {externalId: "xapi-bulk-${kind}"}) { id } }`)).data.createLearner.id;
    const res = await t.admin.upload(SUBMIT, { input: { learnerId: learner, referenceText: 'We call it bear', audio: null } }, 'variables.input.audio', {
      bytes: speechLikeWav(1.3, 77), name: 'take.wav',
    });
    const first = await waitForJob(t.admin, res.data.submitUtterance.job.id);
    expect((await settledXapi(fromGlobalId(first.assessment.id)!.id)).map((d) => d.status)).toEqual(['DELIVERED']);

    const START = `mutation($i: ReassessUtterancesInput!) { reassessUtterances(input: $i) { id sendStatements postGrades } }`;
    /** Runs a bulk re-assessment of the learner to its end; the new assessment's id. */
    const bulk = async (input: object) => {
      const started = await t.admin.request(START, { i: { learnerId: learner, ...input } });
      expect(started.errors).toBeUndefined();
      const op = started.data.reassessUtterances;
      await waitFor(async () => {
        const r = await t.admin.request(`query($id: ID!) { node(id: $id) { ... on BulkOperation { status } } }`, { id: op.id });
        return r.data.node.status === 'COMPLETED';
      }, 60_000, 100);
      const newest = await prisma().assessment.findFirstOrThrow({
        where: { utterance: { learnerId: fromGlobalId(learner)!.id }, source: 'MODEL' }, orderBy: { createdAt: 'desc' },
      });
      return { op, assessmentId: newest.id };
    };
    const quiet = await bulk({});
    expect(quiet.op).toMatchObject({ sendStatements: false, postGrades: false });
    // Its assessment.completed event is there (webhooks, the feed), with no XAPI delivery.
    const event = await waitFor(() => prisma().outboxEvent.findFirst({
      where: { type: 'assessment.completed', body: { contains: Buffer.from(`Assessment:${quiet.assessmentId}`).toString('base64url') } },
      include: { deliveries: true },
    }));
    expect(event.deliveries.filter((d) => d.channel === 'XAPI')).toEqual([]);

    const sent = await bulk({ sendStatements: true });
    expect(sent.op.sendStatements).toBe(true);
    const deliveries = await settledXapi(sent.assessmentId);
    expect(deliveries.map((d) => d.status)).toEqual(['DELIVERED']);
    expect(lrs.stored.has(statementIdFor(sent.assessmentId))).toBe(true);
  });

  test("the README's LRS operations run as written (with this test's LRS)", async () => {
    const readme = readFileSync('README.md', 'utf8');
    const section = readme.slice(readme.indexOf('#### Sent to a Learning Record Store by themselves'));
    const block = /```graphql\n([\s\S]*?)```/.exec(section)![1]!;
    const operations = block.split('\n').filter((l) => l.trim()).map((l) => l.replace(/\s+#.*$/, ''));
    expect(operations).toHaveLength(3);
    const local = (op: string) =>
      op.replace('https://lrs.example.org/xapi/', lrs.url).replace('username: "key"', `username: "${lrs.username}"`).replace('password: "secret"', `password: ${JSON.stringify(lrs.password)}`);
    const [set, get, remove] = operations.map(local);
    expect((await t.admin.request(set!)).data.setXapiLrs).toEqual({ endpoint: lrs.url, username: lrs.username });
    expect((await t.admin.request(get!)).data.xapiLrs).toMatchObject({ endpoint: lrs.url, username: lrs.username, updatedAt: expect.any(String) });
    // Removed and set again: the next test starts from the LRS set.
    expect((await t.admin.request(remove!)).data.removeXapiLrs).toEqual({ endpoint: lrs.url });
    expect((await t.admin.request(set!)).errors).toBeUndefined();
  });

  test("the organisation's own account home page (the README's line) is in the statements sent after it; null returns to the server's", async () => {
    const readme = readFileSync('README.md', 'utf8');
    const line = readme.split('\n').find((l) => l.startsWith('mutation { setXapiAccountHomePage('))!;
    const set = await t.admin.request(line);
    expect(set.errors).toBeUndefined();
    expect(set.data.setXapiAccountHomePage).toEqual({ xapiAccountHomePage: 'https://moodle.school.example' });
    // One spelling: trailing slashes go (as from the server's setting); an IRI's unicode stays.
    const unicode = await t.admin.request(`mutation { setXapiAccountHomePage(url: " https://lms.exämple.org/schule// ") { xapiAccountHomePage } }`);
    expect(unicode.data.setXapiAccountHomePage.xapiAccountHomePage).toBe('https://lms.exämple.org/schule');
    expect((await t.admin.request(line)).errors).toBeUndefined();
    expect((await t.admin.request(`{ viewer { organization { xapiAccountHomePage } } }`)).data.viewer.organization.xapiAccountHomePage).toBe('https://moodle.school.example');
    const actorOf = async () => {
      const assessmentId = await assessed();
      const [delivery] = await settledXapi(assessmentId);
      expect(delivery).toMatchObject({ status: 'DELIVERED' });
      const statement = lrs.stored.get(statementIdFor(assessmentId)) as { actor: unknown };
      expect(xapiErrors([statement], true)).toEqual([]);
      return statement.actor;
    };
    expect(await actorOf()).toEqual({ objectType: 'Agent', account: { homePage: 'https://moodle.school.example', name: externalId } });
    // Another organisation keeps the server's.
    const { client: other } = await otherOrganization(t);
    expect((await other.request(`{ viewer { organization { xapiAccountHomePage } } }`)).data.viewer.organization.xapiAccountHomePage).toBe(t.config.xapi.accountHomePage);
    // Back to the server's.
    const cleared = await t.admin.request(`mutation { setXapiAccountHomePage(url: null) { xapiAccountHomePage } }`);
    expect(cleared.data.setXapiAccountHomePage.xapiAccountHomePage).toBe(t.config.xapi.accountHomePage);
    expect(await actorOf()).toEqual({ objectType: 'Agent', account: { homePage: t.config.xapi.accountHomePage, name: externalId } });
    // Audited, from and to.
    const audit = (await t.admin.request(`{ auditEvents(first: 2, action: "organization.xapiAccountHomePageSet") { edges { node { details } } } }`)).data.auditEvents.edges;
    expect(audit.map((e: { node: { details: unknown } }) => e.node.details)).toEqual([
      { from: 'https://moodle.school.example', to: null }, { from: 'https://lms.exämple.org/schule', to: 'https://moodle.school.example' },
    ]);
    // Bad input: BAD_USER_INPUT naming the argument, nothing changed; only ADMIN may set it.
    const refusedUrls = [
      'moodle.school.example', 'ftp://moodle.school.example', 'https://user:pw@moodle.school.example', 'https://moodle.school.example/#x', '',
      `https://x.example/${'a'.repeat(2000)}`, 'https://lms.example/my lms', 'https://lms.example/a\tb', 'https://lms.example/a\\b', 'https://lms.example/%zz',
      'https:lms.example', 'https://lms.example/{x}',
    ];
    for (const url of refusedUrls) {
      const refused = await t.admin.request(`mutation($u: String) { setXapiAccountHomePage(url: $u) { id } }`, { u: url });
      expect([url, errorCode(refused), refused.errors![0]!.extensions!.argument]).toEqual([url, 'BAD_USER_INPUT', 'url']);
    }
    const reader = await keyWithScopes(t, ['SCORES_READ', 'ASSESS_WRITE']);
    expect(errorCode(await reader.request(`mutation { setXapiAccountHomePage(url: "https://evil.example") { id } }`))).toBe('FORBIDDEN');
    expect((await t.admin.request(`{ viewer { organization { xapiAccountHomePage } } }`)).data.viewer.organization.xapiAccountHomePage).toBe(t.config.xapi.accountHomePage);
  });

  test('wrong credentials fail the delivery without retrying; with the LRS removed no delivery is written', async () => {
    expect((await t.admin.request(SET, { input: { endpoint: lrs.url, username: lrs.username, password: 'wrong' } })).errors).toBeUndefined();
    const refusedId = await assessed();
    const [refused] = await settledXapi(refusedId);
    expect(refused).toMatchObject({ status: 'FAILED', attempts: 1, lastStatusCode: 401, lastErrorCode: 'HTTP_STATUS' });
    expect(lrs.stored.has(statementIdFor(refusedId))).toBe(false);
    // The give-up is an event (webhooks and the events feed), written with the FAILED state.
    const refusedUtterance = toGlobalId('Utterance', (await prisma().assessment.findUniqueOrThrow({ where: { id: refusedId }, select: { utteranceId: true } })).utteranceId);
    const failedEvents = await t.admin.request(`query($learner: ID!) { events(first: 50, filter: {types: ["xapiDelivery.failed"], learnerId: $learner}) { edges { node { payload } } } }`, { learner: learnerId });
    expect(failedEvents.errors).toBeUndefined();
    const payloads = failedEvents.data.events.edges.map((e: { node: { payload: { data: { assessment: { id: string } } } } }) => e.node.payload);
    expect(payloads.filter((p: { data: { assessment: { id: string } } }) => p.data.assessment.id === toGlobalId('Assessment', refusedId))).toEqual([{
      type: 'xapiDelivery.failed',
      timestamp: expect.any(String),
      data: {
        xapiDelivery: { id: toGlobalId('XapiDelivery', refused!.id), status: 'FAILED', attempts: 1, lastErrorCode: 'HTTP_STATUS', lastHttpStatus: 401, statementId: statementIdFor(refusedId), voidedStatementIds: [] },
        assessment: { id: toGlobalId('Assessment', refusedId) },
        utterance: { id: refusedUtterance },
        learner: { id: learnerId, externalId },
      },
    }]);
    // Deleting the recording deletes the events that name it, this one too.
    expect((await t.admin.request(`mutation($id: ID!) { deleteUtterance(id: $id) { assessments } }`, { id: refusedUtterance })).errors).toBeUndefined();
    expect(await prisma().outboxEvent.count({ where: { type: 'xapiDelivery.failed', body: { contains: toGlobalId('XapiDelivery', refused!.id) } } })).toBe(0);

    const removed = await t.admin.request(REMOVE);
    expect(removed.data.removeXapiLrs).toEqual({ endpoint: lrs.url });
    expect((await t.admin.request(REMOVE)).data.removeXapiLrs).toBeNull();
    const silentId = await assessed();
    const idInBody = Buffer.from(`Assessment:${silentId}`).toString('base64url');
    expect(await prisma().delivery.count({ where: { channel: 'XAPI', event: { is: { body: { contains: idInBody } } } } })).toBe(0);
    expect(lrs.stored.has(statementIdFor(silentId))).toBe(false);
  });
  test("deleting a recording, then erasing its learner, voids their statements in the LRS (xAPI voided); a re-send voids the same ones", async () => {
    expect((await t.admin.request(SET, { input: { endpoint: lrs.url, username: lrs.username, password: lrs.password } })).errors).toBeUndefined();
    const erasedLearner = (await t.admin.request(`mutation($e: String!) { createLearner(input: {externalId: $e}) { id } }`, { e: `xapi-void-${randomUUID()}` })).data.createLearner.id;
    const take = async () => {
      const res = await t.admin.upload(SUBMIT, { input: { learnerId: erasedLearner, referenceText: 'We call it bear', audio: null } }, 'variables.input.audio', {
        bytes: speechLikeWav(1.2, Math.floor(Math.random() * 1000)), name: 'take.wav',
      });
      expect(res.errors).toBeUndefined();
      const job = await waitForJob(t.admin, res.data.submitUtterance.job.id);
      expect(job.status).toBe('SUCCEEDED');
      const assessmentId = fromGlobalId(job.assessment.id)!.id;
      await settledXapi(assessmentId);
      expect(lrs.stored.has(statementIdFor(assessmentId))).toBe(true);
      const utterance = await prisma().assessment.findUniqueOrThrow({ where: { id: assessmentId }, select: { utteranceId: true } });
      return { assessmentId, utteranceId: toGlobalId('Utterance', utterance.utteranceId) };
    };
    const [first, second] = [await take(), await take()];
    const VOIDINGS = `{ xapiDeliveries(first: 100) { edges { node { id status statementId assessment { id } voidedStatementIds } } } }`;
    const voidingOf = async (statementId: string) => {
      const edges = (await t.admin.request(VOIDINGS)).data.xapiDeliveries.edges as { node: { id: string; status: string; statementId: string | null; assessment: unknown; voidedStatementIds: string[] } }[];
      return edges.map((e) => e.node).find((n) => n.voidedStatementIds.includes(statementId) && n.status === 'DELIVERED') ?? null;
    };

    // One recording deleted: its statement is voided, by a statement of speechmark's own.
    const deleted = await t.admin.request(`mutation($id: ID!) { deleteUtterance(id: $id) { assessments xapiStatementsVoided } }`, { id: first.utteranceId });
    expect(deleted.data.deleteUtterance).toEqual({ assessments: 1, xapiStatementsVoided: 1 });
    const firstStatement = statementIdFor(first.assessmentId);
    const voiding = await waitFor(() => voidingOf(firstStatement), 30_000, 50);
    expect(voiding).toMatchObject({ statementId: null, assessment: null, voidedStatementIds: [firstStatement] });
    expect(lrs.voided.has(firstStatement)).toBe(true);
    const sent = lrs.stored.get(voidingStatementIdFor(firstStatement)) as Record<string, unknown>;
    expect(sent).toEqual({
      id: voidingStatementIdFor(firstStatement),
      actor: { objectType: 'Agent', account: { homePage: t.config.xapi.iriBase, name: 'speechmark' } },
      verb: { id: 'http://adlnet.gov/expapi/verbs/voided', display: { 'en-US': 'voided' } },
      object: { objectType: 'StatementRef', id: firstStatement },
      timestamp: expect.any(String),
    });
    expect(xapiErrors([sent], true)).toEqual([]);
    expect(lrs.voided.has(statementIdFor(second.assessmentId))).toBe(false);

    // Sent again (an admin's re-send): the same voiding statement, which the LRS already holds (409, compared): delivered.
    const resent = await t.admin.request(`mutation($id: ID!) { resendXapiDelivery(id: $id) { id } }`, { id: voiding!.id });
    expect(resent.errors).toBeUndefined();
    const again = await waitFor(async () => {
      const edges = (await t.admin.request(VOIDINGS)).data.xapiDeliveries.edges as { node: { id: string; status: string } }[];
      const node = edges.map((e) => e.node).find((n) => n.id === resent.data.resendXapiDelivery.id);
      return node && node.status !== 'PENDING' && node.status !== 'SENDING' ? node : null;
    }, 30_000, 50);
    expect(again.status).toBe('DELIVERED');

    // The learner erased: the statement of the recording left is voided too.
    const erased = await t.admin.request(`mutation($id: ID!) { eraseLearner(id: $id) { utterances xapiStatementsVoided } }`, { id: erasedLearner });
    expect(erased.data.eraseLearner).toEqual({ utterances: 1, xapiStatementsVoided: 1 });
    await waitFor(async () => (lrs.voided.has(statementIdFor(second.assessmentId)) ? true : null), 30_000, 50);
    // The LRS voids it before the attempt's record lands (DELIVERED): waited for too.
    expect(await waitFor(() => voidingOf(statementIdFor(second.assessmentId)), 30_000, 50)).toMatchObject({ voidedStatementIds: [statementIdFor(second.assessmentId)] });

    // A deletion whose voiding the LRS refused (wrong password), then the learner erased: the
    // erasure takes that voiding over (with its time) instead of losing it with the learner's events.
    expect((await t.admin.request(SET, { input: { endpoint: lrs.url, username: lrs.username, password: 'wrong' } })).errors).toBeUndefined();
    const carriedLearner = (await t.admin.request(`mutation($e: String!) { createLearner(input: {externalId: $e}) { id } }`, { e: `xapi-carry-${randomUUID()}` })).data.createLearner.id;
    const refusedTake = async () => {
      const res = await t.admin.upload(SUBMIT, { input: { learnerId: carriedLearner, referenceText: 'We call it bear', audio: null } }, 'variables.input.audio', {
        bytes: speechLikeWav(1.2, Math.floor(Math.random() * 1000)), name: 'take.wav',
      });
      const job = await waitForJob(t.admin, res.data.submitUtterance.job.id);
      const assessmentId = fromGlobalId(job.assessment.id)!.id;
      await settledXapi(assessmentId);
      const { utteranceId } = await prisma().assessment.findUniqueOrThrow({ where: { id: assessmentId }, select: { utteranceId: true } });
      return { statementId: statementIdFor(assessmentId), utteranceId: toGlobalId('Utterance', utteranceId) };
    };
    const [gone1, kept1] = [await refusedTake(), await refusedTake()];
    expect((await t.admin.request(`mutation($id: ID!) { deleteUtterance(id: $id) { xapiStatementsVoided } }`, { id: gone1.utteranceId })).data.deleteUtterance).toEqual({ xapiStatementsVoided: 1 });
    const firstVoiding = await waitFor(async () => {
      const row = await prisma().xapiVoiding.findFirst({ where: { statementId: gone1.statementId }, include: { event: { include: { deliveries: true } } } });
      return row && row.event.deliveries.some((d) => d.channel === 'XAPI' && d.status === 'FAILED') ? row : null;
    }, 30_000, 50);
    const carriedErase = await t.admin.request(`mutation($id: ID!) { eraseLearner(id: $id) { xapiStatementsVoided } }`, { id: carriedLearner });
    expect(carriedErase.data.eraseLearner).toEqual({ xapiStatementsVoided: 2 });
    const rows = await prisma().xapiVoiding.findMany({ where: { statementId: { in: [gone1.statementId, kept1.statementId] } }, include: { event: true } });
    expect(rows.map((r) => [r.statementId, r.event.type]).sort()).toEqual([[gone1.statementId, 'learner.erased'], [kept1.statementId, 'learner.erased']].sort());
    expect(rows.find((r) => r.statementId === gone1.statementId)!.voidedAt).toEqual(firstVoiding.voidedAt);
    // With the password mended, a re-send of the erasure's voiding voids both.
    expect((await t.admin.request(SET, { input: { endpoint: lrs.url, username: lrs.username, password: lrs.password } })).errors).toBeUndefined();
    const erasureVoiding = await waitFor(async () => {
      const d = await prisma().delivery.findFirst({ where: { eventId: rows[0]!.eventId, channel: 'XAPI' } });
      return d && (d.status === 'FAILED' || d.status === 'DELIVERED') ? d : null;
    }, 30_000, 50);
    if (erasureVoiding.status === 'FAILED') {
      expect((await t.admin.request(`mutation($id: ID!) { resendXapiDelivery(id: $id) { id } }`, { id: toGlobalId('XapiDelivery', erasureVoiding.id) })).errors).toBeUndefined();
    }
    await waitFor(async () => (lrs.voided.has(gone1.statementId) && lrs.voided.has(kept1.statementId) ? true : null), 30_000, 50);

    // Without an LRS, nothing is voided (and nothing owed).
    expect((await t.admin.request(REMOVE)).errors).toBeUndefined();
    const quiet = (await t.admin.request(`mutation($e: String!) { createLearner(input: {externalId: $e}) { id } }`, { e: `xapi-quiet-${randomUUID()}` })).data.createLearner.id;
    const gone = await t.admin.request(`mutation($id: ID!) { eraseLearner(id: $id) { xapiStatementsVoided } }`, { id: quiet });
    expect(gone.data.eraseLearner).toEqual({ xapiStatementsVoided: 0 });
  });

  test('an LRS that refuses some voidings: the others are voided, what it does not hold counts as done, the refused ones are named; a batch refused whole stops the attempt', async () => {
    expect((await t.admin.request(SET, { input: { endpoint: lrs.url, username: lrs.username, password: lrs.password } })).errors).toBeUndefined();
    const learner = (await t.admin.request(`mutation($e: String!) { createLearner(input: {externalId: $e}) { id } }`, { e: `xapi-strict-${randomUUID()}` })).data.createLearner.id;
    const take = async () => {
      const res = await t.admin.upload(SUBMIT, { input: { learnerId: learner, referenceText: 'We call it bear', audio: null } }, 'variables.input.audio', {
        bytes: speechLikeWav(1.2, Math.floor(Math.random() * 1000)), name: 'take.wav',
      });
      const job = await waitForJob(t.admin, res.data.submitUtterance.job.id);
      expect(job.status).toBe('SUCCEEDED');
      const assessmentId = fromGlobalId(job.assessment.id)!.id;
      await settledXapi(assessmentId);
      expect(lrs.stored.has(statementIdFor(assessmentId))).toBe(true);
      return statementIdFor(assessmentId);
    };
    const [held, lost, refused] = [await take(), await take(), await take()];
    lrs.stored.delete(lost); // the LRS no longer has it (as if it never got it)
    lrs.refuseVoidingUnknown = true;
    lrs.refuseVoidingOf.add(refused);
    try {
      const erased = await t.admin.request(`mutation($id: ID!) { eraseLearner(id: $id) { xapiStatementsVoided } }`, { id: learner });
      expect(erased.data.eraseLearner).toEqual({ xapiStatementsVoided: 3 });
      const { eventId } = await prisma().xapiVoiding.findFirstOrThrow({ where: { statementId: held } });
      const failed = await waitFor(async () => {
        const d = await prisma().delivery.findFirst({ where: { eventId, channel: 'XAPI' } });
        return d && (d.status === 'FAILED' || d.status === 'DELIVERED') ? d : null;
      }, 30_000, 50);
      expect(failed).toMatchObject({ status: 'FAILED', lastStatusCode: 400 });
      expect(failed.lastError).toContain(`refused to void 1 of 3 statements (${refused})`);
      expect(failed.lastError).toContain('1 voided, 1 not in the LRS');
      expect(lrs.voided.has(held)).toBe(true);
      expect(lrs.voided.has(refused)).toBe(false);

      // The LRS relents; a re-send: the voided one is 409 and compared, the lost one still counts as done, the refused one is voided.
      lrs.refuseVoidingOf.clear();
      const resent = await t.admin.request(`mutation($id: ID!) { resendXapiDelivery(id: $id) { id } }`, { id: toGlobalId('XapiDelivery', failed.id) });
      expect(resent.errors).toBeUndefined();
      const delivered = await waitFor(async () => {
        const d = await prisma().delivery.findUnique({ where: { id: fromGlobalId(resent.data.resendXapiDelivery.id)!.id } });
        return d && (d.status === 'FAILED' || d.status === 'DELIVERED') ? d : null;
      }, 30_000, 50);
      expect(delivered.status).toBe('DELIVERED');
      expect(delivered.lastError).toContain('1 of 3 statements are not in the LRS');
      expect(lrs.voided.has(refused)).toBe(true);
      expect(lrs.stored.has(voidingStatementIdFor(lost))).toBe(false);

      // Every voiding refused (the LRS refuses these requests, not one statement): one batch, then each statement once, no more.
      const learner2 = (await t.admin.request(`mutation($e: String!) { createLearner(input: {externalId: $e}) { id } }`, { e: `xapi-strict-${randomUUID()}` })).data.createLearner.id;
      const takes2: string[] = [];
      for (let i = 0; i < 2; i++) {
        const res = await t.admin.upload(SUBMIT, { input: { learnerId: learner2, referenceText: 'We call it bear', audio: null } }, 'variables.input.audio', {
          bytes: speechLikeWav(1.2, Math.floor(Math.random() * 1000)), name: 'take.wav',
        });
        const job = await waitForJob(t.admin, res.data.submitUtterance.job.id);
        expect(job.status).toBe('SUCCEEDED');
        const assessmentId = fromGlobalId(job.assessment.id)!.id;
        await settledXapi(assessmentId);
        takes2.push(statementIdFor(assessmentId));
      }
      for (const id of takes2) lrs.refuseVoidingOf.add(id);
      const before = lrs.requests.length;
      await t.admin.request(`mutation($id: ID!) { eraseLearner(id: $id) { xapiStatementsVoided } }`, { id: learner2 });
      const event2 = (await prisma().xapiVoiding.findFirstOrThrow({ where: { statementId: takes2[0] } })).eventId;
      const allRefused = await waitFor(async () => {
        const d = await prisma().delivery.findFirst({ where: { eventId: event2, channel: 'XAPI' } });
        return d && (d.status === 'FAILED' || d.status === 'DELIVERED') ? d : null;
      }, 30_000, 50);
      expect(allRefused.status).toBe('FAILED');
      expect(allRefused.lastError).toContain('refused to void 2 of 2 statements');
      // the batch, then per statement its POST and the read of its target
      expect(lrs.requests.length - before).toBe(1 + 2 * 2);

      // The same attempt in batches of one: the first batch refused whole ends it (the LRS refuses
      // these requests), the second is not sent.
      const endpoint = { endpoint: lrs.url, username: lrs.username, password: lrs.password };
      const start = lrs.requests.length;
      const stopped = await sendVoiding(prisma(), t.config.xapi, endpoint, { id: event2 }, {}, 1);
      expect(stopped).toMatchObject({ kind: 'rejected', status: 400 });
      expect((stopped as { reason: string }).reason).toContain('refused to void 1 of 2 statements');
      expect((stopped as { reason: string }).reason).toContain('0 voided, 1 not sent after a batch of which the LRS took nothing');
      expect(lrs.requests.length - start).toBe(3);
      // A wrong endpoint answers 404 to everything: that is no "not held", it fails as it is.
      const nowhere = await sendVoiding(prisma(), t.config.xapi, { ...endpoint, endpoint: `${lrs.url}nowhere/` }, { id: event2 }, {});
      expect(nowhere).toMatchObject({ kind: 'rejected', status: 404 });
      // Statements the LRS never got, voidings refused for them: once the About resource shows the
      // endpoint is an LRS, nothing is left to void, and the delivery says so.
      lrs.refuseVoidingOf.clear();
      for (const id of takes2) lrs.stored.delete(id);
      // (No settle window here: the erasure was moments ago, and the window has its own suite.)
      const moot = await sendVoiding(prisma(), t.config.xapi, endpoint, { id: event2 }, { settleMs: 0 });
      expect(moot).toMatchObject({ kind: 'delivered', note: expect.stringContaining('2 of 2 statements are not in the LRS') });
      for (const id of takes2) expect(lrs.stored.has(voidingStatementIdFor(id))).toBe(false);
    } finally {
      lrs.refuseVoidingUnknown = false;
      lrs.refuseVoidingOf.clear();
    }
  });

  test("a write-only key gets its submission's utterance back, but not the learner's groups it snapshots", async () => {
    const writer = await keyWithScopes(t, ['ASSESS_WRITE']);
    const res = await writer.upload(
      `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { utterance { id learnerGroups } } }`,
      { input: { learnerId, referenceText: 'We call it bear', audio: null } }, 'variables.input.audio',
      { bytes: speechLikeWav(1.2, 11), name: 'take.wav' },
    );
    expect(errorCode(res)).toBe('FORBIDDEN');
    expect(res.errors![0]!.path).toEqual(['submitUtterance', 'utterance', 'learnerGroups']);
    const readable = await writer.upload(
      `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { utterance { id } } }`,
      { input: { learnerId, referenceText: 'We call it bear', audio: null } }, 'variables.input.audio',
      { bytes: speechLikeWav(1.2, 12), name: 'take.wav' },
    );
    expect(readable.errors).toBeUndefined();
    const row = await prisma().utterance.findUniqueOrThrow({ where: { id: fromGlobalId(readable.data.submitUtterance.utterance.id)!.id } });
    expect(row.learnerGroups).toEqual(['course-next']); // the groups the learner is in now
  });
});
