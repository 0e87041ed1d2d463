/**
 * API key administration and the audit log over real HTTP on the real server: expiry, last use,
 * revocation (the last active admin key is protected), rotation with an overlap, tenant isolation,
 * scopes, and the audit events every change leaves.
 */
import { readFileSync } from 'node:fs';
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { errorCode, GqlClient } from '../support/client.js';
import { keyWithScopes, otherOrganization, seedUtterance } from '../support/seed.js';
import { fromGlobalId, toGlobalId } from '../../src/graphql/ids.js';

const DATABASES = await testDatabases();

const KEY_FIELDS = 'id name prefix scopes createdAt expiresAt lastUsedAt revokedAt status';
const CREATE = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key apiKey { ${KEY_FIELDS} } } }`;
const REVOKE = `mutation($id: ID!) { revokeApiKey(id: $id) { ${KEY_FIELDS} } }`;
const ROTATE = `mutation($id: ID!, $s: Int, $e: DateTime) { rotateApiKey(id: $id, expireOldAfterSeconds: $s, expiresAt: $e) {
  key apiKey { ${KEY_FIELDS} } previous { ${KEY_FIELDS} } } }`;
const LIST = `query($first: Int, $after: String, $rev: Boolean) { apiKeys(first: $first, after: $after, includeRevoked: $rev) {
  edges { cursor node { ${KEY_FIELDS} } } pageInfo { hasNextPage endCursor } } }`;
const AUDIT = `query($first: Int, $after: String, $action: String) { auditEvents(first: $first, after: $after, action: $action) {
  edges { node { id action actor actorApiKeyId targetType targetId details createdAt } } pageInfo { hasNextPage endCursor } } }`;
const VIEWER = `{ viewer { scopes organization { name } } }`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(DATABASES)('API key administration on %s', (kind) => {
  let t: TestApp;
  const prisma = () => t.app.services.prisma;
  const statements: string[] = [];
  const keyLookups = () => statements.filter((s) => /^\s*SELECT\b[\s\S]*\bFROM\s+("[^"]+"\.)?"ApiKey"/i.test(s)).length;

  beforeAll(async () => {
    // A short key cache, so that "another process revoked it" is seen within the test.
    t = await startTestApp(kind, { inProcessWorker: false, apiKeyCacheMs: 1_000 }, { onQuery: (sql) => statements.push(sql) });
  });
  afterAll(() => t?.dispose());

  async function create(input: Record<string, unknown>, client: GqlClient = t.admin) {
    const res = await client.request(CREATE, { input });
    expect(res.errors).toBeUndefined();
    return { ...res.data.createApiKey, client: new GqlClient(t.app.url, res.data.createApiKey.key) };
  }

  /** The admin key the request authenticates with, as the audit log names it. */
  async function callerKey(client: GqlClient) {
    const row = await prisma().apiKey.findFirstOrThrow({ where: { prefix: client.apiKey!.slice(0, 10) } });
    return { id: toGlobalId('ApiKey', row.id), label: `${row.name} (${row.prefix})` };
  }

  test('createApiKey stores expiry; an expiry in the past, no scope or an empty name is BAD_USER_INPUT and stores nothing', async () => {
    const before = await prisma().apiKey.count();
    for (const input of [
      { name: 'late', scopes: ['SCORES_READ'], expiresAt: new Date(Date.now() - 1000).toISOString() },
      { name: 'none', scopes: [] },
      { name: '   ', scopes: ['SCORES_READ'] },
    ]) {
      const res = await t.admin.request(CREATE, { input });
      expect(errorCode(res)).toBe('BAD_USER_INPUT');
    }
    expect(await prisma().apiKey.count()).toBe(before);
    expect(await prisma().auditEvent.count({ where: { action: 'apiKey.created' } })).toBe(0);

    const expiresAt = new Date(Date.now() + 3600_000).toISOString();
    const { apiKey, key } = await create({ name: 'lms reader', scopes: ['SCORES_READ', 'SCORES_READ'], expiresAt });
    expect(apiKey).toMatchObject({ name: 'lms reader', scopes: ['SCORES_READ'], expiresAt, lastUsedAt: null, revokedAt: null, status: 'ACTIVE' });
    expect(apiKey.prefix).toBe(key.slice(0, 10));
    const row = await prisma().apiKey.findUniqueOrThrow({ where: { id: fromGlobalId(apiKey.id)!.id } });
    expect(row.keyHash).not.toContain(key);
    expect(row.expiresAt?.toISOString()).toBe(expiresAt);
  });

  test('the schema has no way to read a key hash or secret back', async () => {
    const res = await t.admin.request(`{ apiKeys { edges { node { keyHash } } } }`);
    expect(errorCode(res)).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  test('an expired key is refused with UNAUTHENTICATED and a message saying it expired', async () => {
    const { client, apiKey } = await create({ name: 'short-lived', scopes: ['SCORES_READ'], expiresAt: new Date(Date.now() + 1500).toISOString() });
    expect((await client.request(VIEWER)).errors).toBeUndefined();
    await sleep(1600);
    const res = await client.request(VIEWER);
    expect(res.status).toBe(401);
    expect(errorCode(res)).toBe('UNAUTHENTICATED');
    expect(res.errors![0]!.message).toBe(`The API key expired at ${apiKey.expiresAt}.`);
    const listed = await t.admin.request(LIST, { first: 100 });
    expect(listed.data.apiKeys.edges.find((e: any) => e.node.id === apiKey.id).node.status).toBe('EXPIRED');
  });

  test('lastUsedAt is recorded after use, at most once a minute', async () => {
    const { client, apiKey } = await create({ name: 'usage', scopes: ['SCORES_READ'] });
    const id = fromGlobalId(apiKey.id)!.id;
    const lastUsed = async () => (await prisma().apiKey.findUniqueOrThrow({ where: { id } })).lastUsedAt;
    expect(await lastUsed()).toBeNull();
    expect((await client.request(VIEWER)).errors).toBeUndefined();
    // Written off the request's path: wait for it.
    let first: Date | null = null;
    for (let i = 0; i < 100 && !first; i++, await sleep(50)) first = await lastUsed();
    expect(first).not.toBeNull();
    for (let i = 0; i < 3; i++) expect((await client.request(VIEWER)).errors).toBeUndefined();
    await sleep(300);
    expect((await lastUsed())?.getTime()).toBe(first!.getTime());
    // A minute later (moved back in the database, and read again once the key cache has expired),
    // the next use is recorded again.
    const old = new Date(first!.getTime() - 120_000);
    await prisma().apiKey.update({ where: { id }, data: { lastUsedAt: old } });
    await sleep(t.config.apiKeyCacheMs + 50);
    expect((await client.request(VIEWER)).errors).toBeUndefined();
    let again: Date | null = old;
    for (let i = 0; i < 100 && again!.getTime() === old.getTime(); i++, await sleep(50)) again = await lastUsed();
    expect(again!.getTime()).toBeGreaterThan(first!.getTime() - 1000);
    const listed = await t.admin.request(LIST, { first: 100 });
    expect(listed.data.apiKeys.edges.find((e: any) => e.node.id === apiKey.id).node.lastUsedAt).toBe(again!.toISOString());
  });

  test('a verified key is reused for apiKeyCacheMs, then read again: a revocation written by another process takes effect then', async () => {
    const { client, apiKey } = await create({ name: 'cached', scopes: ['SCORES_READ'] });
    await sleep(t.config.apiKeyCacheMs + 50); // whatever create() left in the cache has expired
    statements.length = 0;
    expect((await client.request(VIEWER)).errors).toBeUndefined();
    expect(keyLookups()).toBe(1);
    statements.length = 0;
    for (let i = 0; i < 3; i++) expect((await client.request(VIEWER)).errors).toBeUndefined();
    expect(keyLookups()).toBe(0);
    // As the admin CLI in another process would: straight to the database, this process not told.
    await prisma().$executeRaw`UPDATE "ApiKey" SET "revokedAt" = now() WHERE "id" = ${fromGlobalId(apiKey.id)!.id}::uuid`;
    await sleep(t.config.apiKeyCacheMs + 50);
    const refused = await client.request(VIEWER);
    expect(refused.status).toBe(401);
    expect(errorCode(refused)).toBe('UNAUTHENTICATED');
    // Unknown keys are never cached: each attempt goes to the database.
    statements.length = 0;
    for (let i = 0; i < 2; i++) await new GqlClient(t.app.url, 'sm_unknown_key_for_cache_test').request(VIEWER);
    expect(keyLookups()).toBe(2);
  });

  test('revokeApiKey: the key stops working at once, is hidden unless includeRevoked, and a second revoke changes nothing', async () => {
    const { client, apiKey } = await create({ name: 'to revoke', scopes: ['ASSESS_WRITE'] });
    expect((await client.request(VIEWER)).errors).toBeUndefined();
    const res = await t.admin.request(REVOKE, { id: apiKey.id });
    expect(res.errors).toBeUndefined();
    expect(res.data.revokeApiKey).toMatchObject({ id: apiKey.id, status: 'REVOKED' });
    const revokedAt = res.data.revokeApiKey.revokedAt;
    expect(revokedAt).not.toBeNull();
    const refused = await client.request(VIEWER);
    expect(refused.status).toBe(401);
    expect(errorCode(refused)).toBe('UNAUTHENTICATED');

    const ids = async (rev: boolean) => (await t.admin.request(LIST, { first: 100, rev })).data.apiKeys.edges.map((e: any) => e.node.id);
    expect(await ids(false)).not.toContain(apiKey.id);
    expect(await ids(true)).toContain(apiKey.id);

    const again = await t.admin.request(REVOKE, { id: apiKey.id });
    expect(again.data.revokeApiKey.revokedAt).toBe(revokedAt);
    expect(await prisma().auditEvent.count({ where: { action: 'apiKey.revoked', targetId: fromGlobalId(apiKey.id)!.id } })).toBe(1);
  });

  test("the organisation's last active ADMIN key cannot be revoked (CONFLICT); another admin key lifts that", async () => {
    const other = await otherOrganization(t, ['ADMIN']);
    const [self] = (await other.client.request(LIST)).data.apiKeys.edges.map((e: any) => e.node);
    const res = await other.client.request(REVOKE, { id: self.id });
    expect(errorCode(res)).toBe('CONFLICT');
    expect(res.errors![0]!.message).toMatch(/last active ADMIN key/);
    expect((await other.client.request(VIEWER)).errors).toBeUndefined();

    // A non-admin key does not count, nor does an expired admin key.
    await create({ name: 'reader', scopes: ['SCORES_READ'] }, other.client);
    const expiring = await create({ name: 'brief admin', scopes: ['ADMIN'], expiresAt: new Date(Date.now() + 800).toISOString() }, other.client);
    await sleep(900);
    expect(errorCode(await expiring.client.request(VIEWER))).toBe('UNAUTHENTICATED');
    expect(errorCode(await other.client.request(REVOKE, { id: self.id }))).toBe('CONFLICT');

    const second = await create({ name: 'second admin', scopes: ['ADMIN'] }, other.client);
    const revoked = await other.client.request(REVOKE, { id: self.id });
    expect(revoked.errors).toBeUndefined();
    expect(revoked.data.revokeApiKey.status).toBe('REVOKED');
    // The second is now the last: it cannot revoke itself.
    expect(errorCode(await second.client.request(REVOKE, { id: second.apiKey.id }))).toBe('CONFLICT');
  });

  test('an admin key that expires sooner does not cover revoking one that lasts longer: the rotated-away key in its overlap', async () => {
    const other = await otherOrganization(t, ['ADMIN']);
    const [self] = (await other.client.request(LIST)).data.apiKeys.edges.map((e: any) => e.node);
    // Rotate with an hour's overlap: the old key now expires in an hour, its successor never.
    const rotated = (await other.client.request(ROTATE, { id: self.id, s: 3600 })).data.rotateApiKey;
    const successor = new GqlClient(t.app.url, rotated.key);
    // Revoking the successor by mistake (both share a name) would leave the organisation without an
    // admin key in an hour.
    const res = await other.client.request(REVOKE, { id: rotated.apiKey.id });
    expect(errorCode(res)).toBe('CONFLICT');
    expect(res.errors![0]!.message).toMatch(/does not expire \(the others expire sooner\)/);
    expect((await successor.request(VIEWER)).errors).toBeUndefined();
    // The expiring key itself may go: the successor outlives it.
    const gone = await successor.request(REVOKE, { id: self.id });
    expect(gone.errors).toBeUndefined();
    expect(gone.data.revokeApiKey.status).toBe('REVOKED');
    // An admin key with a later expiry than the one revoked covers it; an earlier one does not.
    const soon = await create({ name: 'a day', scopes: ['ADMIN'], expiresAt: new Date(Date.now() + 86_400_000).toISOString() }, successor);
    const later = await create({ name: 'a week', scopes: ['ADMIN'], expiresAt: new Date(Date.now() + 7 * 86_400_000).toISOString() }, successor);
    expect(errorCode(await later.client.request(REVOKE, { id: rotated.apiKey.id }))).toBe('CONFLICT');
    expect((await soon.client.request(REVOKE, { id: later.apiKey.id })).errors).toBeUndefined();
  });

  test('rotateApiKey: same name and scopes, both keys work during the overlap, the old one expires at its end', async () => {
    const { client: old, apiKey } = await create({ name: 'lms backend', scopes: ['ASSESS_WRITE', 'SCORES_READ'] });
    const before = Date.now();
    const res = await t.admin.request(ROTATE, { id: apiKey.id, s: 3600 });
    expect(res.errors).toBeUndefined();
    const rotated = res.data.rotateApiKey;
    expect(rotated.apiKey).toMatchObject({ name: 'lms backend', scopes: ['ASSESS_WRITE', 'SCORES_READ'], status: 'ACTIVE', expiresAt: null });
    expect(rotated.apiKey.id).not.toBe(apiKey.id);
    expect(rotated.key.slice(0, 10)).toBe(rotated.apiKey.prefix);
    expect(rotated.previous).toMatchObject({ id: apiKey.id, status: 'ACTIVE' });
    const oldExpiry = Date.parse(rotated.previous.expiresAt);
    expect(oldExpiry).toBeGreaterThanOrEqual(before + 3600_000 - 1000);
    expect(oldExpiry).toBeLessThanOrEqual(Date.now() + 3600_000 + 1000);
    const fresh = new GqlClient(t.app.url, rotated.key);
    expect((await old.request(VIEWER)).errors).toBeUndefined();
    expect((await fresh.request(VIEWER)).data.viewer.scopes).toEqual(['ASSESS_WRITE', 'SCORES_READ']);

    // Rotating again with no overlap: the current key stops at once, its successor works.
    const now = await t.admin.request(ROTATE, { id: rotated.apiKey.id });
    expect(now.errors).toBeUndefined();
    expect(now.data.rotateApiKey.previous.status).toBe('EXPIRED');
    const stopped = await fresh.request(VIEWER);
    expect(errorCode(stopped)).toBe('UNAUTHENTICATED');
    expect(stopped.errors![0]!.message).toMatch(/expired/);
    expect((await new GqlClient(t.app.url, now.data.rotateApiKey.key).request(VIEWER)).errors).toBeUndefined();
    // The first key keeps its one-hour overlap; an expired key cannot be rotated.
    expect((await old.request(VIEWER)).errors).toBeUndefined();
    expect(errorCode(await t.admin.request(ROTATE, { id: rotated.apiKey.id }))).toBe('CONFLICT');
  });

  test('viewer.apiKey: any key sees its own id, name, prefix and expiry (an overlap set by rotation too), never another key', async () => {
    // As the README's access control section writes it.
    const VIEWER_KEY = `{ viewer { scopes apiKey { id name prefix createdAt expiresAt } } }`;
    expect(readFileSync('README.md', 'utf8').replace(/\s+/g, ' ')).toContain(`\`${VIEWER_KEY}\``);
    const expiresAt = new Date(Date.now() + 7 * 24 * 3600_000).toISOString();
    const { client, apiKey } = await create({ name: 'lms writer', scopes: ['ASSESS_WRITE'], expiresAt });
    const own = await client.request(VIEWER_KEY);
    expect(own.errors).toBeUndefined();
    // The same values an admin lists for it (the write-only key cannot list keys).
    expect(own.data.viewer.scopes).toEqual(['ASSESS_WRITE']);
    expect(own.data.viewer.apiKey).toEqual({ id: apiKey.id, name: 'lms writer', prefix: apiKey.prefix, createdAt: apiKey.createdAt, expiresAt });
    expect(errorCode(await client.request(LIST, { first: 5 }))).toBe('FORBIDDEN');
    // Rotated with an hour's overlap: the old key sees its new expiry, the new key itself.
    const rotated = (await t.admin.request(ROTATE, { id: apiKey.id, s: 3600 })).data.rotateApiKey;
    expect((await client.request(VIEWER_KEY)).data.viewer.apiKey).toMatchObject({ id: apiKey.id, expiresAt: rotated.previous.expiresAt });
    const successor = (await new GqlClient(t.app.url, rotated.key).request(VIEWER_KEY)).data.viewer.apiKey;
    // Its own expiry is what rotateApiKey gave it (none here).
    expect(successor).toEqual({ id: rotated.apiKey.id, name: 'lms writer', prefix: rotated.key.slice(0, 10), createdAt: rotated.apiKey.createdAt, expiresAt: null });
    const other = (await otherOrganization(t, ['SCORES_READ'])).client;
    expect((await other.request(VIEWER_KEY)).data.viewer.apiKey.id).not.toBe(apiKey.id);
  });

  test('rotateApiKey refuses a revoked key (CONFLICT), a bad overlap or a past expiry (BAD_USER_INPUT)', async () => {
    const { apiKey } = await create({ name: 'rot', scopes: ['SCORES_READ'], expiresAt: new Date(Date.now() + 600_000).toISOString() });
    expect(errorCode(await t.admin.request(ROTATE, { id: apiKey.id, s: -1 }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await t.admin.request(ROTATE, { id: apiKey.id, s: 31 * 24 * 3600 }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await t.admin.request(ROTATE, { id: apiKey.id, e: new Date(Date.now() - 5000).toISOString() }))).toBe('BAD_USER_INPUT');
    // An overlap longer than the key had left does not extend it.
    const longer = await t.admin.request(ROTATE, { id: apiKey.id, s: 7200 });
    expect(longer.data.rotateApiKey.previous.expiresAt).toBe(apiKey.expiresAt);
    await t.admin.request(REVOKE, { id: apiKey.id });
    expect(errorCode(await t.admin.request(ROTATE, { id: apiKey.id }))).toBe('CONFLICT');
  });

  test('another organisation cannot see, revoke or rotate our keys or read our audit log', async () => {
    const { apiKey } = await create({ name: 'ours', scopes: ['SCORES_READ'] });
    const other = await otherOrganization(t, ['ADMIN']);
    expect(errorCode(await other.client.request(REVOKE, { id: apiKey.id }))).toBe('NOT_FOUND');
    expect(errorCode(await other.client.request(ROTATE, { id: apiKey.id, s: 60 }))).toBe('NOT_FOUND');
    const keys = (await other.client.request(LIST, { first: 100, rev: true })).data.apiKeys.edges.map((e: any) => e.node.name);
    expect(keys).toEqual(['other']);
    expect((await other.client.request(AUDIT, { first: 100 })).data.auditEvents.edges).toEqual([]);
    expect((await prisma().apiKey.findUniqueOrThrow({ where: { id: fromGlobalId(apiKey.id)!.id } })).revokedAt).toBeNull();
  });

  test('without ADMIN scope every administrative field is FORBIDDEN', async () => {
    const reader = await keyWithScopes(t, ['SCORES_READ', 'ASSESS_WRITE']);
    const { apiKey } = await create({ name: 'target', scopes: ['SCORES_READ'] });
    const learnerId = toGlobalId('Learner', '00000000-0000-4000-8000-000000000000');
    for (const [query, variables] of [
      [LIST, {}], [AUDIT, {}], [CREATE, { input: { name: 'x', scopes: ['ADMIN'] } }], [REVOKE, { id: apiKey.id }],
      [ROTATE, { id: apiKey.id }], [`mutation($id: ID!) { eraseLearner(id: $id) { learners } }`, { id: learnerId }],
    ] as const) {
      expect(errorCode(await reader.request(query, variables))).toBe('FORBIDDEN');
    }
  });

  test('apiKeys pages newest first with cursors', async () => {
    const all = (await t.admin.request(LIST, { first: 100, rev: true })).data.apiKeys.edges.map((e: any) => e.node);
    const created = all.map((k: any) => Date.parse(k.createdAt));
    expect([...created].sort((a, b) => b - a)).toEqual(created);
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: any = (await t.admin.request(LIST, { first: 2, after, rev: true })).data.apiKeys;
      seen.push(...page.edges.map((e: any) => e.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(all.map((k: any) => k.id));
  });

  test('every change is in the audit log, newest first, with who did it; human labels too', async () => {
    const org = await prisma().organization.findFirstOrThrow({ orderBy: { createdAt: 'asc' } });
    const utterance = await seedUtterance(prisma(), org.id, 'We call it bear');
    const attach = await t.admin.request(
      `mutation($u: ID!) { attachHumanLabels(utteranceId: $u, labels: {sentence: {accuracy: 8, fluency: 7, prosody: 7, completeness: 10, total: 8}}, rater: "r1") { id } }`,
      { u: toGlobalId('Utterance', utterance.id) },
    );
    expect(attach.errors).toBeUndefined();
    const { apiKey } = await create({ name: 'audited', scopes: ['SCORES_READ'] });
    await t.admin.request(ROTATE, { id: apiKey.id, s: 60 });

    const admin = await callerKey(t.admin);
    const events = (await t.admin.request(AUDIT, { first: 100 })).data.auditEvents.edges.map((e: any) => e.node);
    const times = events.map((e: any) => Date.parse(e.createdAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(events[0]).toMatchObject({
      action: 'apiKey.rotated', actor: admin.label, actorApiKeyId: admin.id, targetType: 'ApiKey', targetId: apiKey.id,
      details: { name: 'audited', prefix: apiKey.prefix },
    });
    expect(events[1]).toMatchObject({
      action: 'apiKey.created', actor: admin.label, targetId: apiKey.id, details: { name: 'audited', scopes: ['SCORES_READ'], expiresAt: null },
    });
    expect(events[2]).toMatchObject({
      action: 'humanLabels.attached', actor: admin.label, targetType: 'Utterance', targetId: toGlobalId('Utterance', utterance.id),
      details: { assessmentId: attach.data.attachHumanLabels.id, rater: 'r1', wordLevel: false, gradesReposted: 0 },
    });
    const actions = new Set(events.map((e: any) => e.action));
    expect(actions).toEqual(new Set(['apiKey.created', 'apiKey.revoked', 'apiKey.rotated', 'humanLabels.attached']));
    // No secret anywhere in the log.
    expect(JSON.stringify(events)).not.toMatch(/sm_[A-Za-z0-9_-]{20,}/);

    const revoked = (await t.admin.request(AUDIT, { first: 100, action: 'apiKey.revoked' })).data.auditEvents.edges;
    expect(revoked.length).toBeGreaterThan(0);
    expect(revoked.every((e: any) => e.node.action === 'apiKey.revoked')).toBe(true);
    const page1 = (await t.admin.request(AUDIT, { first: 2 })).data.auditEvents;
    const page2 = (await t.admin.request(AUDIT, { first: 2, after: page1.pageInfo.endCursor })).data.auditEvents;
    expect([...page1.edges, ...page2.edges].map((e: any) => e.node.id)).toEqual(events.slice(0, 4).map((e: any) => e.id));
  });

  test("each audit event names the request that did it (its X-Request-Id, sent or made) and the client's address; a forwarded address only from a trusted proxy", async () => {
    const REQUEST_AUDIT = `query($id: ID!) { auditEvents(first: 1, targetId: $id) { edges { node { action requestId ipAddress } } } }`;
    /** createApiKey over plain HTTP with the headers given: the response's X-Request-Id and the new key's id. */
    async function createWith(url: string, headers: Record<string, string>) {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${t.admin.apiKey}`, ...headers },
        body: JSON.stringify({ query: CREATE, variables: { input: { name: 'traced', scopes: ['SCORES_READ'] } } }),
      });
      const body = await res.json();
      expect(body.errors).toBeUndefined();
      return { requestId: res.headers.get('x-request-id'), keyId: body.data.createApiKey.apiKey.id as string };
    }
    const eventOf = async (keyId: string) => (await t.admin.request(REQUEST_AUDIT, { id: keyId })).data.auditEvents.edges[0].node;
    const LOOPBACK = /^(::ffff:)?127\.0\.0\.1$|^::1$/;

    // The client's own id is kept; an address it claims is ignored (no proxy is trusted by default).
    const sent = await createWith(t.app.url, { 'x-request-id': 'lms-sync-42', 'x-forwarded-for': '203.0.113.9' });
    expect(sent.requestId).toBe('lms-sync-42');
    const sentEvent = await eventOf(sent.keyId);
    expect(sentEvent).toEqual({ action: 'apiKey.created', requestId: 'lms-sync-42', ipAddress: expect.stringMatching(LOOPBACK) });
    // None sent (or not a plain token): the one the server made and returned.
    const made = await createWith(t.app.url, { 'x-request-id': 'two words' });
    expect(made.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect((await eventOf(made.keyId)).requestId).toBe(made.requestId);
    // What else one request did: the log narrowed to its id.
    const byRequest = await t.admin.request(`query($r: String!) { auditEvents(first: 10, requestId: $r) { edges { node { action targetId } } } }`, { r: 'lms-sync-42' });
    expect(byRequest.data.auditEvents.edges).toEqual([{ node: { action: 'apiKey.created', targetId: sent.keyId } }]);
    // The README's audit query, as written, shows both.
    const readmeQuery = readFileSync('README.md', 'utf8').split('\n').find((l) => l.startsWith('{ auditEvents(first: 50'))!;
    const listed = await t.admin.request(readmeQuery.replace('"learner.erased"', '"apiKey.created"'));
    expect(listed.errors).toBeUndefined();
    expect(listed.data.auditEvents.edges.map((e: { node: { requestId: string } }) => e.node.requestId)).toEqual(expect.arrayContaining(['lms-sync-42', made.requestId]));

    // Behind a trusted proxy (here the loopback one), the forwarded client address is recorded.
    const proxied = await startTestApp(kind, { inProcessWorker: false, trustProxy: 'loopback' });
    try {
      const behind = await fetch(proxied.app.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${proxied.admin.apiKey}`, 'x-forwarded-for': '203.0.113.9' },
        body: JSON.stringify({ query: CREATE, variables: { input: { name: 'proxied', scopes: ['SCORES_READ'] } } }),
      }).then((r) => r.json());
      const keyId = behind.data.createApiKey.apiKey.id;
      const event = (await proxied.admin.request(REQUEST_AUDIT, { id: keyId })).data.auditEvents.edges[0].node;
      expect(event).toEqual({ action: 'apiKey.created', requestId: expect.any(String), ipAddress: '203.0.113.9' });
    } finally {
      await proxied.dispose();
    }
  });

  test('the audit log narrows by target, acting key and time; ids of another kind match nothing', async () => {
    const FILTERED = `query($t: ID, $a: ID, $s: DateTime, $u: DateTime, $action: String) {
      auditEvents(first: 100, targetId: $t, actorApiKeyId: $a, since: $s, until: $u, action: $action) { totalCount edges { node { id action actorApiKeyId targetId createdAt } } } }`;
    const list = async (vars: Record<string, unknown>) => {
      const res = await t.admin.request(FILTERED, vars);
      expect(res.errors).toBeUndefined();
      return res.data.auditEvents as { totalCount: number; edges: { node: { id: string; action: string; actorApiKeyId: string | null; targetId: string | null; createdAt: string } }[] };
    };
    const { apiKey: target } = await create({ name: 'audit-target', scopes: ['SCORES_READ'] });
    const { key: otherAdminKey } = await create({ name: 'second admin', scopes: ['ADMIN'] });
    const otherAdmin = new GqlClient(t.app.url, otherAdminKey);
    await sleep(5); // createdAt has millisecond precision: `between` falls strictly between the two events
    const between = new Date();
    await sleep(5);
    expect((await otherAdmin.request(ROTATE, { id: target.id, s: 0 })).errors).toBeUndefined();
    const rotatedTarget = (await list({ action: 'apiKey.rotated' })).edges[0]!.node.targetId;

    const aboutTarget = await list({ t: target.id });
    expect(aboutTarget.edges.map((e) => e.node.action)).toEqual(['apiKey.rotated', 'apiKey.created']);
    expect(aboutTarget.totalCount).toBe(2);
    expect(aboutTarget.edges.every((e) => e.node.targetId === target.id)).toBe(true);
    expect(rotatedTarget).toBe(target.id);

    const second = await callerKey(otherAdmin);
    const bySecond = await list({ a: second.id });
    expect(bySecond.edges.map((e) => e.node.action)).toEqual(['apiKey.rotated']);
    expect(bySecond.edges[0]!.node.actorApiKeyId).toBe(second.id);

    const after = await list({ t: target.id, s: between.toISOString() });
    expect(after.edges.map((e) => e.node.action)).toEqual(['apiKey.rotated']);
    const before = await list({ t: target.id, u: between.toISOString() });
    expect(before.edges.map((e) => e.node.action)).toEqual(['apiKey.created']);
    expect((await list({ t: target.id, action: 'apiKey.created', a: second.id })).totalCount).toBe(0); // every filter must hold

    // An id of a kind that names nothing audited, or none at all, matches nothing (it is no error).
    expect((await list({ a: toGlobalId('Learner', fromGlobalId(target.id)!.id) })).totalCount).toBe(0);
    expect((await list({ t: 'not-an-id' })).totalCount).toBe(0);
    // Another organisation's admin filtering on our key sees nothing of ours.
    const { client: other } = await otherOrganization(t);
    const theirs = await other.request(FILTERED, { t: target.id });
    expect(theirs.data.auditEvents.totalCount).toBe(0);
  });

  test('a refused attach of human labels leaves no audit event', async () => {
    const org = await prisma().organization.findFirstOrThrow({ orderBy: { createdAt: 'asc' } });
    const utterance = await seedUtterance(prisma(), org.id, 'We call it bear');
    const before = await prisma().auditEvent.count();
    const res = await t.admin.request(
      `mutation($u: ID!) { attachHumanLabels(utteranceId: $u, labels: {sentence: {accuracy: 11, fluency: 7, prosody: 7, completeness: 10, total: 8}}) { id } }`,
      { u: toGlobalId('Utterance', utterance.id) },
    );
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(await prisma().auditEvent.count()).toBe(before);
  });
});
