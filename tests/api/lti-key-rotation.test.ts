/**
 * Tool key rotation with a grace period, against the local LTI platform (tests/support/lti-platform.ts),
 * which verifies every client assertion against the tool's JWKS fetched over HTTP. A rotated key is
 * published at once but signs only once its grace has passed (platforms cache key sets: one that
 * fetched the set before the rotation would refuse an assertion signed by a key it has not seen);
 * the old key signs until then and stays published for a day after. `activateAfterSeconds: 0`
 * makes the new key sign at once (a key thought compromised).
 */
import { LOCAL_PEERS, startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { LtiTestPlatform } from '../support/lti-platform.js';
import { completeReading } from '../support/lti-grading.js';
import { seedUtterance } from '../support/seed.js';
import { waitFor } from '../jobs/fixtures.js';
import { errorCode } from '../support/client.js';
import { readFileSync } from 'node:fs';
import { fromGlobalId } from '../../src/graphql/ids.js';
import { signingKey } from '../../src/lti/keys.js';

const DATABASES = await testDatabases();

const KEYS = 'keys { kid createdAt activatesAt retiredAt }';
const ROTATE = `mutation($id: ID!, $after: NonNegativeInt) { rotateLtiPlatformKey(id: $id, activateAfterSeconds: $after) { jwksPath ${KEYS} } }`;
const LINE_ITEM = `mutation($input: CreateLtiLineItemInput!) { createLtiLineItem(input: $input) { id } }`;
const HOUR = 3600_000;

describe.each(DATABASES)('LTI tool key rotation on %s', (kind) => {
  let t: TestApp;
  let lms: LtiTestPlatform;
  let platformId: string;
  let lineItemId: string;
  let organizationId: string;

  beforeAll(async () => {
    t = await startTestApp(kind, LOCAL_PEERS);
    lms = await LtiTestPlatform.start();
    // The platform's token lifetime is short, so that every grade below asks for a token (signs an assertion).
    lms.tokenLifetimeS = 1;
    platformId = await lms.registerWith(t.admin, t.app.url, 'speechmark-tool');
    organizationId = (await t.app.services.prisma.organization.findFirstOrThrow({ orderBy: { createdAt: 'asc' } })).id;
    const item = await t.admin.request(LINE_ITEM, { input: { platformId, url: lms.lineItemUrl('keys'), aspect: 'TOTAL', scoreMaximum: 10 } });
    lineItemId = fromGlobalId(item.data.createLtiLineItem.id)!.id;
  });
  afterAll(async () => {
    await lms?.close();
    await t?.dispose();
  });

  /** A graded reading posted to the platform; the kid of the client assertion its token was asked with. */
  async function gradeSignedBy(): Promise<string> {
    const prisma = t.app.services.prisma;
    const before = lms.assertions.length;
    // The cached token (1 s) runs out first, so the grade asks for a fresh one.
    await new Promise((r) => setTimeout(r, 1100));
    const u = await seedUtterance(prisma, organizationId, 'We call it bear');
    await prisma.ltiSubmission.create({ data: { organizationId, utteranceId: u.id, lineItemId, userId: `user-${u.id}` } });
    const scoreId = await completeReading(prisma, organizationId, u, 5, Promise.resolve());
    await waitFor(async () => (await prisma.delivery.findFirst({ where: { ltiScoreId: scoreId, status: 'DELIVERED' } })) ?? null, 30_000, 50);
    expect(lms.assertions.length).toBeGreaterThan(before);
    expect(lms.problems).toEqual([]);
    return lms.assertions.at(-1)!.kid;
  }
  const published = async (jwksPath: string) => ((await (await fetch(new URL(jwksPath, t.app.url))).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);

  test("a platform's first key signs at once in a process whose clock is a minute behind the API's that registered it", async () => {
    const prisma = t.app.services.prisma;
    const fresh = await LtiTestPlatform.start();
    try {
      const id = fromGlobalId(await fresh.registerWith(t.admin, t.app.url, 'speechmark-tool-skew'))!.id;
      const lagging = new Date(Date.now() - 60_000);
      await expect(signingKey(prisma, id, lagging)).resolves.toMatchObject({ kid: expect.any(String) });
    } finally {
      await fresh.close();
    }
  });

  test('a rotated key is published at once and signs after the grace; the old key signs until then and stays published after', async () => {
    const prisma = t.app.services.prisma;
    const oldKid = await gradeSignedBy();
    const started = Date.now();
    const rotated = await t.admin.request(ROTATE, { id: platformId });
    expect(rotated.errors).toBeUndefined();
    const [fresh, old] = rotated.data.rotateLtiPlatformKey.keys;
    expect(old.kid).toBe(oldKid);
    // Published first, signing a day later (the default grace); the old key retires then.
    expect(await published(rotated.data.rotateLtiPlatformKey.jwksPath)).toEqual([fresh.kid, oldKid]);
    expect(Date.parse(fresh.activatesAt)).toBeGreaterThanOrEqual(started + 24 * HOUR - 5_000);
    expect(Date.parse(fresh.activatesAt)).toBeLessThanOrEqual(Date.now() + 24 * HOUR);
    expect(fresh.retiredAt).toBeNull();
    expect(old.retiredAt).toBe(fresh.activatesAt);
    expect(await gradeSignedBy()).toBe(oldKid);

    // A day later (moved back in the database rather than waited for): the new key signs, the old one is still published.
    await prisma.$executeRaw`UPDATE "LtiKey" SET "activatesAt" = "activatesAt" - interval '24 hours 1 minute', "retiredAt" = "retiredAt" - interval '24 hours 1 minute',
      "createdAt" = "createdAt" - interval '24 hours 1 minute' WHERE "platformId" = ${fromGlobalId(platformId)!.id}::uuid`;
    expect(await gradeSignedBy()).toBe(fresh.kid);
    expect(await published(rotated.data.rotateLtiPlatformKey.jwksPath)).toEqual([fresh.kid, oldKid]);
    // And leaves the set a day after it stopped signing.
    await prisma.$executeRaw`UPDATE "LtiKey" SET "retiredAt" = "retiredAt" - interval '24 hours' WHERE "id" = ${oldKid}::uuid`;
    expect(await published(rotated.data.rotateLtiPlatformKey.jwksPath)).toEqual([fresh.kid]);
  });

  test('activateAfterSeconds: 0 signs with the new key at once; a second rotation during a grace supersedes the waiting key', async () => {
    const signing = await gradeSignedBy();
    const waiting = (await t.admin.request(ROTATE, { id: platformId, after: 600 })).data.rotateLtiPlatformKey.keys[0];
    expect(await gradeSignedBy()).toBe(signing);
    const now = await t.admin.request(ROTATE, { id: platformId, after: 0 });
    expect(now.errors).toBeUndefined();
    const [fresh, ...rest] = now.data.rotateLtiPlatformKey.keys;
    expect(await gradeSignedBy()).toBe(fresh.kid);
    // The key that was waiting never signs; it and the one that signed stay published for the overlap.
    expect(rest.find((k: { kid: string }) => k.kid === waiting.kid)).toMatchObject({ retiredAt: expect.any(String) });
    expect(await published(now.data.rotateLtiPlatformKey.jwksPath)).toEqual(expect.arrayContaining([fresh.kid, waiting.kid, signing]));
    expect(lms.assertions.some((a) => a.kid === waiting.kid)).toBe(false);
    expect(errorCode(await t.admin.request(ROTATE, { id: platformId, after: 31 * 24 * 3600 }))).toBe('BAD_USER_INPUT');
  });

  test("activateLtiPlatformKey (the README's call): the waiting key signs now, the one before retires now; a retry changes nothing; CONFLICT when none waits", async () => {
    const prisma = t.app.services.prisma;
    const signing = await gradeSignedBy();
    const rotated = (await t.admin.request(ROTATE, { id: platformId })).data.rotateLtiPlatformKey;
    const waiting = rotated.keys[0];
    expect(Date.parse(waiting.activatesAt)).toBeGreaterThan(Date.now() + 23 * HOUR);
    expect(await gradeSignedBy()).toBe(signing);
    // The call as the README writes it, with this platform's id and the waiting key's kid.
    const call = /`(activateLtiPlatformKey\(id: "\.\.\.", kid: "\.\.\."\))`/.exec(readFileSync('README.md', 'utf8'))![1]!;
    const operation = `mutation { ${call.replace('id: "..."', `id: ${JSON.stringify(platformId)}`).replace('kid: "..."', `kid: ${JSON.stringify(waiting.kid)}`)} { ${KEYS} } }`;
    const before = Date.now();
    const activated = await t.admin.request(operation);
    expect(activated.errors).toBeUndefined();
    const keys = activated.data.activateLtiPlatformKey.keys as { kid: string; activatesAt: string; retiredAt: string | null }[];
    const now = keys.find((k) => k.kid === waiting.kid)!;
    expect(Date.parse(now.activatesAt)).toBeGreaterThanOrEqual(before - 5_000);
    expect(Date.parse(now.activatesAt)).toBeLessThanOrEqual(Date.now() + 5_000);
    expect(now.retiredAt).toBeNull();
    expect(keys.find((k) => k.kid === signing)!.retiredAt).toBe(now.activatesAt);
    expect(await gradeSignedBy()).toBe(waiting.kid);
    // Both stay published: the old one for its overlap.
    expect(await published(rotated.jwksPath)).toEqual(expect.arrayContaining([waiting.kid, signing]));
    const audited = () => prisma.auditEvent.findMany({ where: { action: 'ltiPlatform.keyActivated', targetId: fromGlobalId(platformId)!.id } });
    expect((await audited()).map((a) => a.details)).toEqual([{ kid: waiting.kid, activatesAt: now.activatesAt, wasDueAt: waiting.activatesAt }]);
    // A retry after a lost answer: the same answer, nothing changed, no second audit event.
    const retried = await t.admin.request(operation);
    expect(retried.errors).toBeUndefined();
    expect(retried.data.activateLtiPlatformKey.keys).toEqual(keys);
    expect(await audited()).toHaveLength(1);
    // Nothing waiting now; a key that is not the platform's; the old, retired key.
    const ACTIVATE = `mutation($id: ID!, $kid: String) { activateLtiPlatformKey(id: $id, kid: $kid) { id } }`;
    expect(errorCode(await t.admin.request(ACTIVATE, { id: platformId }))).toBe('CONFLICT');
    expect(errorCode(await t.admin.request(ACTIVATE, { id: platformId, kid: '00000000-0000-4000-8000-000000000000' }))).toBe('NOT_FOUND');
    expect(errorCode(await t.admin.request(ACTIVATE, { id: platformId, kid: signing }))).toBe('CONFLICT');
    expect(errorCode(await t.admin.request(ACTIVATE, { id: platformId, kid: 'not a kid' }))).toBe('NOT_FOUND');
    // With another key waiting, the kid of the key that signs is not taken for a retry.
    const next = (await t.admin.request(ROTATE, { id: platformId })).data.rotateLtiPlatformKey.keys[0];
    const wrong = await t.admin.request(ACTIVATE, { id: platformId, kid: waiting.kid });
    expect(errorCode(wrong)).toBe('CONFLICT');
    expect(wrong.errors![0]!.message).toMatch(/another key is waiting/);
    expect(await gradeSignedBy()).toBe(waiting.kid);
    expect((await t.admin.request(ACTIVATE, { id: platformId, kid: next.kid })).errors).toBeUndefined();
    expect(await gradeSignedBy()).toBe(next.kid);
  });

  test('in one operation, each mutation field answers with what the fields before it wrote, not what an earlier payload read', async () => {
    const both = await t.admin.request(`mutation($id: ID!) {
      rotated: rotateLtiPlatformKey(id: $id) { ${KEYS} }
      activated: activateLtiPlatformKey(id: $id) { ${KEYS} } }`, { id: platformId });
    expect(both.errors).toBeUndefined();
    const waiting = both.data.rotated.keys[0];
    expect(Date.parse(waiting.activatesAt)).toBeGreaterThan(Date.now() + 23 * HOUR);
    // The second field shows the activation it made (the rows as stored), not the first field's keys.
    const stored = (await t.app.services.prisma.ltiKey.findMany({ where: { platformId: fromGlobalId(platformId)!.id }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] }))
      .map((k) => ({ kid: k.id, activatesAt: k.activatesAt.toISOString(), retiredAt: k.retiredAt?.toISOString() ?? null }));
    const shown = (both.data.activated.keys as { kid: string; activatesAt: string; retiredAt: string | null }[]).map(({ kid, activatesAt, retiredAt }) => ({ kid, activatesAt, retiredAt }));
    expect(shown).toEqual(stored);
    expect(Date.parse(shown.find((k) => k.kid === waiting.kid)!.activatesAt)).toBeLessThan(Date.now() + 60_000);
  });
});
