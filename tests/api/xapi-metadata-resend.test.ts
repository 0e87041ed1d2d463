/**
 * A statement about a recording submitted with metadata, sent before statements carried the
 * metadata extension ({base}/extensions/metadata) and before identities were frozen per event (no
 * OutboxEvent.xapiIdentity): the LRS holds it without the extension, and a re-send of its event
 * builds it with one. What differs between the two builds is only that extension; the re-send's 409
 * reads the stored one back, which is ours as the earlier version built it: DELIVERED, not a
 * STATEMENT_CONFLICT, and the event freezes that build (metadata: false), so every later re-send
 * posts exactly the stored statement. Events frozen by this version carry the extension.
 *
 * The real server over HTTP (its delivery worker sending), a real database, the test LRS
 * (tests/support/xapi-lrs.ts).
 */
import { randomUUID } from 'node:crypto';
import { LOCAL_PEERS, startTestApp, submitScored, testDatabases, type TestApp } from '../support/app.js';
import { TestLrs } from '../support/xapi-lrs.js';
import { fromGlobalId, toGlobalId } from '../../src/graphql/ids.js';
import { statementIdFor } from '../../src/xapi/uuid.js';
import { waitFor } from '../jobs/fixtures.js';

const DATABASES = await testDatabases();

const SET = `mutation($input: SetXapiLrsInput!) { setXapiLrs(input: $input) { endpoint } }`;
const RESEND = `mutation($id: ID!) { resendXapiDelivery(id: $id) { id } }`;
const METADATA_EXTENSION = 'https://speechmark.dev/xapi/extensions/metadata';

type Stored = { context: { extensions: Record<string, unknown> } };

describe.each(DATABASES)('a metadata statement re-sent after a 409, on %s', (kind) => {
  let t: TestApp;
  let lrs: TestLrs;
  let learnerId: string;
  const prisma = () => t.app.services.prisma;

  beforeAll(async () => {
    lrs = await new TestLrs().start();
    t = await startTestApp(kind, LOCAL_PEERS);
    learnerId = (await t.admin.request(`mutation($e: String!) { createLearner(input: {externalId: $e}) { id } }`, { e: `xapi-meta-${randomUUID()}` })).data.createLearner.id;
    expect((await t.admin.request(SET, { input: { endpoint: lrs.url, username: lrs.username, password: lrs.password } })).errors).toBeUndefined();
  });
  afterAll(async () => {
    await t?.dispose();
    await lrs?.stop();
  });

  async function settled(deliveryId: string) {
    return waitFor(async () => {
      const d = await prisma().delivery.findUniqueOrThrow({ where: { id: deliveryId } });
      return d.status === 'DELIVERED' || d.status === 'FAILED' ? d : null;
    }, 30_000, 50);
  }

  async function resent(deliveryId: string) {
    const r = await t.admin.request(RESEND, { id: toGlobalId('XapiDelivery', deliveryId) });
    expect(r.errors).toBeUndefined();
    return settled(fromGlobalId(r.data.resendXapiDelivery.id)!.id);
  }

  test('sent by a version without the extension (no frozen identity): the re-send is DELIVERED and freezes that build', async () => {
    const assessmentId = fromGlobalId((await submitScored(t, { learnerId, metadata: { attempt: 'quiz-9/2' } })).assessment.id)!.id;
    const id = statementIdFor(assessmentId);
    const { id: deliveryId, eventId } = await waitFor(() => prisma().delivery.findFirst({
      where: { channel: 'XAPI', event: { is: { type: 'assessment.completed', body: { contains: Buffer.from(`Assessment:${assessmentId}`).toString('base64url') } } } },
    }), 30_000, 50);
    expect(await settled(deliveryId)).toMatchObject({ status: 'DELIVERED', lastStatusCode: 200 });
    // This version froze the event's statement with the extension.
    expect((await prisma().outboxEvent.findUniqueOrThrow({ where: { id: eventId } })).xapiIdentity)
      .toEqual({ iriBase: t.config.xapi.iriBase, accountHomePage: t.config.xapi.accountHomePage, metadata: true });
    const sent = lrs.stored.get(id) as Stored;
    expect(sent.context.extensions[METADATA_EXTENSION]).toEqual({ attempt: 'quiz-9/2' });

    // As an earlier version left it: the LRS holds the statement without the extension, and the
    // event has no frozen identity.
    const { [METADATA_EXTENSION]: _gone, ...older } = sent.context.extensions;
    lrs.stored.set(id, { ...sent, context: { ...sent.context, extensions: older } });
    await prisma().$executeRawUnsafe(`UPDATE "OutboxEvent" SET "xapiIdentity" = NULL WHERE "id" = $1::uuid`, eventId);

    const first = await resent(deliveryId);
    expect(first).toMatchObject({ status: 'DELIVERED', lastStatusCode: 409, lastErrorCode: null });
    expect(first.lastError).toContain('without the metadata extension');
    expect(await prisma().outboxEvent.count({ where: { type: 'xapiDelivery.failed', body: { contains: toGlobalId('XapiDelivery', deliveryId) } } })).toBe(0);
    // The build the LRS holds is frozen on the event.
    expect((await prisma().outboxEvent.findUniqueOrThrow({ where: { id: eventId } })).xapiIdentity)
      .toEqual({ iriBase: t.config.xapi.iriBase, accountHomePage: t.config.xapi.accountHomePage, metadata: false });

    // Every re-send after posts that statement: the 409 compares equal at once.
    const requests = lrs.requests.length;
    const second = await resent(deliveryId);
    expect(second).toMatchObject({ status: 'DELIVERED', lastStatusCode: 409, lastError: null });
    expect(lrs.requests.slice(requests).map((r) => [r.status, r.reason])).toEqual([[409, 'a statement with this id is stored already'], [200, 'read']]);
    expect((lrs.stored.get(id) as Stored).context.extensions[METADATA_EXTENSION]).toBeUndefined();
  });

  test('a statement the LRS holds with other content is still a conflict', async () => {
    const assessmentId = fromGlobalId((await submitScored(t, { learnerId, metadata: { attempt: 'quiz-10/1' } })).assessment.id)!.id;
    const id = statementIdFor(assessmentId);
    const { id: deliveryId, eventId } = await waitFor(() => prisma().delivery.findFirst({
      where: { channel: 'XAPI', event: { is: { type: 'assessment.completed', body: { contains: Buffer.from(`Assessment:${assessmentId}`).toString('base64url') } } } },
    }), 30_000, 50);
    await settled(deliveryId);
    const sent = lrs.stored.get(id) as Stored & { result: { score: { raw: number } } };
    const { [METADATA_EXTENSION]: _gone, ...older } = sent.context.extensions;
    // Without the extension and with another score: no build of this event.
    lrs.stored.set(id, { ...sent, context: { ...sent.context, extensions: older }, result: { ...sent.result, score: { ...sent.result.score, raw: sent.result.score.raw === 1 ? 2 : 1 } } });
    await prisma().$executeRawUnsafe(`UPDATE "OutboxEvent" SET "xapiIdentity" = NULL WHERE "id" = $1::uuid`, eventId);
    const conflict = await resent(deliveryId);
    expect(conflict).toMatchObject({ status: 'FAILED', lastErrorCode: 'STATEMENT_CONFLICT' });
    expect(conflict.lastError).toContain('result.score.raw');
    expect((await prisma().outboxEvent.findUniqueOrThrow({ where: { id: eventId } })).xapiIdentity).toBeNull();
  });
});
