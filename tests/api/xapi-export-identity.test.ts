/**
 * GET /export/xapi builds a statement whose delivery froze its identity (OutboxEvent.xapiIdentity:
 * the account home page, the IRI base, whether it carries the metadata extension) from that
 * snapshot, as the delivery does: after an admin changed the organisation's account home page, the
 * export of a statement already sent is the statement the LRS holds (same id, actor, group IRIs),
 * while one never sent (no LRS when it was assessed) is built from the current settings.
 *
 * The real server over HTTP (its delivery worker sending), a real database, the test LRS
 * (tests/support/xapi-lrs.ts).
 */
import { randomUUID } from 'node:crypto';
import { LOCAL_PEERS, startTestApp, submitScored, testDatabases, type TestApp } from '../support/app.js';
import { keyWithScopes } from '../support/seed.js';
import { TestLrs } from '../support/xapi-lrs.js';
import { fromGlobalId } from '../../src/graphql/ids.js';
import { statementIdFor } from '../../src/xapi/uuid.js';
import { waitFor } from '../jobs/fixtures.js';

const DATABASES = await testDatabases();

const SET = `mutation($input: SetXapiLrsInput!) { setXapiLrs(input: $input) { endpoint } }`;
const HOME = `mutation($u: String) { setXapiAccountHomePage(url: $u) { xapiAccountHomePage } }`;
const METADATA_EXTENSION = 'https://speechmark.dev/xapi/extensions/metadata';

type Statement = {
  id: string;
  actor: { account: { homePage: string; name: string } };
  context: { contextActivities?: { grouping: { id: string }[] }; extensions: Record<string, unknown> };
};

describe.each(DATABASES)('GET /export/xapi of statements already sent, on %s', (kind) => {
  let t: TestApp;
  let lrs: TestLrs;
  let learnerId: string;
  const externalId = `xapi-export-${randomUUID()}`;
  const prisma = () => t.app.services.prisma;

  beforeAll(async () => {
    lrs = await new TestLrs().start();
    t = await startTestApp(kind, LOCAL_PEERS);
    learnerId = (await t.admin.request(`mutation($e: String!) { createLearner(input: {externalId: $e, groups: ["course-7"]}) { id } }`, { e: externalId })).data.createLearner.id;
  });
  afterAll(async () => {
    await t?.dispose();
    await lrs?.stop();
  });

  async function exported(): Promise<Statement[]> {
    const reader = (await keyWithScopes(t, ['SCORES_READ'])).apiKey!;
    const res = await fetch(`${t.app.url.replace(/\/graphql$/, '/export/xapi')}?learner=${encodeURIComponent(externalId)}`, { headers: { authorization: `Bearer ${reader}` } });
    expect(res.status).toBe(200);
    return (await res.json()) as Statement[];
  }

  test('a sent statement is exported as the LRS holds it after the home page changed; one never sent uses the current home page', async () => {
    expect((await t.admin.request(SET, { input: { endpoint: lrs.url, username: lrs.username, password: lrs.password } })).errors).toBeUndefined();
    expect((await t.admin.request(HOME, { u: 'https://moodle.before.example' })).errors).toBeUndefined();
    const sentId = fromGlobalId((await submitScored(t, { learnerId, metadata: { attempt: 'a-1' } })).assessment.id)!.id;
    const held = await waitFor(async () => lrs.stored.get(statementIdFor(sentId)) as Statement | undefined, 30_000, 50);
    expect(held.actor.account.homePage).toBe('https://moodle.before.example');

    // The admin moves the organisation to another LMS; the LRS is removed, and one more reading is
    // assessed with none (never sent, no frozen identity).
    expect((await t.admin.request(HOME, { u: 'https://moodle.after.example' })).errors).toBeUndefined();
    expect((await t.admin.request(`mutation { removeXapiLrs { endpoint } }`)).errors).toBeUndefined();
    const unsentId = fromGlobalId((await submitScored(t, { learnerId })).assessment.id)!.id;

    const [sent, unsent] = await exported();
    // Exactly the statement the LRS holds: same id, actor, group IRIs (hashes of the home page), metadata.
    expect(sent).toEqual(JSON.parse(JSON.stringify(held)));
    expect(unsent!.id).toBe(statementIdFor(unsentId));
    expect(unsent!.actor.account).toEqual({ homePage: 'https://moodle.after.example', name: externalId });
    expect(unsent!.context.contextActivities!.grouping[0]!.id).not.toBe(sent!.context.contextActivities!.grouping[0]!.id);

    // An event that froze the build without the metadata extension (an earlier version's): exported so.
    const event = await prisma().outboxEvent.findFirstOrThrow({
      where: { type: 'assessment.completed', body: { contains: Buffer.from(`Assessment:${sentId}`).toString('base64url') } },
    });
    await prisma().outboxEvent.update({ where: { id: event.id }, data: { xapiIdentity: { ...(event.xapiIdentity as object), metadata: false } } });
    const [withoutMetadata] = await exported();
    expect(withoutMetadata!.context.extensions[METADATA_EXTENSION]).toBeUndefined();
    expect(withoutMetadata!.actor.account.homePage).toBe('https://moodle.before.example');

    // Queued, not yet attempted: the home page it was queued with, and this server's IRI base, as its first attempt will.
    await prisma().outboxEvent.update({ where: { id: event.id }, data: { xapiIdentity: { accountHomePage: 'https://moodle.queued.example' } } });
    const [queued] = await exported();
    expect(queued!.actor.account.homePage).toBe('https://moodle.queued.example');
    expect(queued!.context.extensions[METADATA_EXTENSION]).toEqual({ attempt: 'a-1' });
    expect(Object.keys(queued!.context.extensions).every((k) => k.startsWith(`${t.config.xapi.iriBase}/`))).toBe(true);
  });
});
