/**
 * A statement's identity is frozen when its delivery is queued (src/xapi/identity.ts): an attempt
 * whose POST the LRS stored but whose answer was lost, then an admin changing the organisation's
 * account home page, then the retry: the retry posts the same statement (same actor), the LRS's 409
 * reads back ours, and the delivery is DELIVERED, not a STATEMENT_CONFLICT with an
 * xapiDelivery.failed event while the LRS holds the statement. The real server over HTTP, a real
 * database, the test LRS (tests/support/xapi-lrs.ts) behind a pass-through that loses one answer.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { startTestApp, testDatabases, waitForJob, type TestApp } from '../support/app.js';
import { speechLikeWav } from '../support/audio-fixtures.js';
import { TestLrs } from '../support/xapi-lrs.js';
import { fromGlobalId, toGlobalId } from '../../src/graphql/ids.js';
import { statementIdFor } from '../../src/xapi/uuid.js';
import { waitFor } from '../jobs/fixtures.js';

const DATABASES = await testDatabases();

const SET = `mutation($input: SetXapiLrsInput!) { setXapiLrs(input: $input) { endpoint } }`;
const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { job { id } } }`;
const HOME = `mutation($u: String) { setXapiAccountHomePage(url: $u) { xapiAccountHomePage } }`;

/**
 * In front of the test LRS: passes every request through, except that while `lose` > 0 a POST of
 * statements reaches the LRS (which stores them) and its answer is replaced by a 502, after
 * `whileLost` ran (an admin acting before the sender hears anything).
 */
class LossyLink {
  lose = 0;
  whileLost: () => Promise<void> = async () => undefined;
  private server: http.Server | null = null;
  url = '';

  constructor(private readonly lrs: TestLrs) {}

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.pass(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/xapi/`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async pass(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !['host', 'content-length', 'connection'].includes(k))) as Record<string, string>;
    const upstream = await fetch(new URL(req.url ?? '/', this.lrs.url).toString(), {
      method: req.method, headers, ...(req.method === 'POST' ? { body: Buffer.concat(chunks) } : {}),
    });
    const body = await upstream.text();
    if (req.method === 'POST' && this.lose > 0 && upstream.status === 200) {
      this.lose--;
      await this.whileLost();
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'the LRS stored it; its answer was lost on the way' }));
      return;
    }
    res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
    res.end(body);
  }
}

describe.each(DATABASES)('an xAPI statement retried after its account home page changed, on %s', (kind) => {
  let t: TestApp;
  let lrs: TestLrs;
  let link: LossyLink;
  let learnerId: string;
  const externalId = `xapi-identity-${randomUUID()}`;
  const prisma = () => t.app.services.prisma;

  beforeAll(async () => {
    lrs = await new TestLrs().start();
    link = await new LossyLink(lrs).start();
    t = await startTestApp(kind, {
      webhookAllowedPrivateNetworks: ['127.0.0.1'],
      webhookAllowHttp: true,
      webhookBackoffBaseMs: 200,
      webhookBackoffCapMs: 1000,
      webhookMaxAttempts: 4,
    });
    learnerId = (await t.admin.request(`mutation($e: String!) { createLearner(input: {externalId: $e, groups: ["course-id"]}) { id } }`, { e: externalId })).data.createLearner.id;
    expect((await t.admin.request(SET, { input: { endpoint: link.url, username: lrs.username, password: lrs.password } })).errors).toBeUndefined();
  });
  afterAll(async () => {
    await t?.dispose();
    await link?.stop();
    await lrs?.stop();
  });

  async function assessed(): Promise<string> {
    const res = await t.admin.upload(SUBMIT, { input: { learnerId, referenceText: 'We call it bear', audio: null } }, 'variables.input.audio', {
      bytes: speechLikeWav(1.2, Math.floor(Math.random() * 1000)),
      name: 'take.wav',
    });
    expect(res.errors).toBeUndefined();
    const job = await waitForJob(t.admin, res.data.submitUtterance.job.id);
    expect(job.status).toBe('SUCCEEDED');
    return fromGlobalId(job.assessment.id)!.id;
  }

  async function settled(deliveryId: string) {
    return waitFor(async () => {
      const d = await prisma().delivery.findUniqueOrThrow({ where: { id: deliveryId }, include: { attemptLog: { orderBy: { number: 'asc' } } } });
      return d.status === 'DELIVERED' || d.status === 'FAILED' ? d : null;
    }, 30_000, 50);
  }

  test('stored by the LRS, answer lost, home page changed: the retry is DELIVERED (409 read back as ours), and so is a re-send', async () => {
    expect((await t.admin.request(HOME, { u: 'https://moodle.before.example' })).errors).toBeUndefined();
    link.lose = 1;
    link.whileLost = async () => {
      const changed = await t.admin.request(HOME, { u: 'https://moodle.after.example' });
      expect(changed.data.setXapiAccountHomePage.xapiAccountHomePage).toBe('https://moodle.after.example');
    };
    const assessmentId = await assessed();
    const id = statementIdFor(assessmentId);
    const { id: deliveryId, eventId } = await waitFor(() => prisma().delivery.findFirst({
      where: { channel: 'XAPI', event: { is: { type: 'assessment.completed', body: { contains: Buffer.from(`Assessment:${assessmentId}`).toString('base64url') } } } },
    }), 30_000, 50);
    const delivery = await settled(deliveryId);
    expect(link.lose).toBe(0); // the first POST was stored and its answer lost
    expect(delivery.attemptLog.map((a) => [a.statusCode, a.errorCode])).toEqual([[502, 'HTTP_STATUS'], [409, null]]);
    expect(delivery).toMatchObject({ status: 'DELIVERED', attempts: 2, lastStatusCode: 409, lastErrorCode: null });
    // The LRS holds the statement of the first attempt, under the home page of when it was queued.
    const stored = lrs.stored.get(id) as { actor: { account: { homePage: string; name: string } }; context: { contextActivities: { grouping: { id: string }[] } } };
    expect(stored.actor.account).toEqual({ homePage: 'https://moodle.before.example', name: externalId });
    // The retry compared equal: it was read back, not only answered 409.
    expect(lrs.requests.slice(-2).map((r) => [r.status, r.reason])).toEqual([[409, 'a statement with this id is stored already'], [200, 'read']]);
    expect(await prisma().outboxEvent.count({ where: { organizationId: delivery.organizationId, type: 'xapiDelivery.failed' } })).toBe(0);
    // What the event froze: the organisation's home page when queued, the server's IRI base at the first attempt.
    expect((await prisma().outboxEvent.findUniqueOrThrow({ where: { id: eventId } })).xapiIdentity)
      .toEqual({ iriBase: t.config.xapi.iriBase, accountHomePage: 'https://moodle.before.example' });

    // An admin's re-send later: the same statement again (409, compared), delivered.
    const resent = await t.admin.request(`mutation($id: ID!) { resendXapiDelivery(id: $id) { id } }`, { id: toGlobalId('XapiDelivery', deliveryId) });
    expect(resent.errors).toBeUndefined();
    const again = await settled(fromGlobalId(resent.data.resendXapiDelivery.id)!.id);
    expect(again).toMatchObject({ status: 'DELIVERED', attempts: 1, lastStatusCode: 409 });

    // A statement queued after the change names the new home page.
    const later = await assessed();
    const laterStatement = await waitFor(async () => lrs.stored.get(statementIdFor(later)) as { actor: { account: { homePage: string } } } | undefined, 30_000, 50);
    expect(laterStatement.actor.account.homePage).toBe('https://moodle.after.example');

    // A delivery queued before identities were frozen (no snapshot) is built from the live settings,
    // as before: its re-send now meets the stored statement as a conflict.
    await prisma().$executeRawUnsafe(`UPDATE "OutboxEvent" SET "xapiIdentity" = NULL WHERE "id" = $1::uuid`, eventId);
    const legacy = await t.admin.request(`mutation($id: ID!) { resendXapiDelivery(id: $id) { id } }`, { id: resent.data.resendXapiDelivery.id });
    expect(legacy.errors).toBeUndefined();
    const conflict = await settled(fromGlobalId(legacy.data.resendXapiDelivery.id)!.id);
    expect(conflict).toMatchObject({ status: 'FAILED', lastErrorCode: 'STATEMENT_CONFLICT' });
    expect(conflict.lastError).toContain('actor.account.homePage');
  });
});
