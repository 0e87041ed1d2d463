/**
 * Query limits (issue 8): nested lists, aliases, cost, tokens, size, directives, root mutation
 * fields and batching are refused with QUERY_TOO_COMPLEX before anything runs, through the real
 * HTTP server. The defaults are the ones `loadConfig` gives a server with no configuration.
 */
import { getIntrospectionQuery } from 'graphql';
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { errorCode, GqlClient, type GqlResponse } from '../support/client.js';
import { keyWithScopes, seedUtterance } from '../support/seed.js';
import { subscribe } from '../support/subscriptions.js';
import { loadConfig } from '../../src/config.js';
import { toGlobalId } from '../../src/graphql/ids.js';

const DATABASES = await testDatabases();
const DEFAULTS = loadConfig({});

/**
 * `utterance { jobs { edges { node { utterance { jobs { ... { id } } } } } } }` with `hops` job
 * connections: 4·hops + 1 fields deep.
 */
function nestedJobs(hops: number, first?: number): string {
  const args = first === undefined ? '' : `(first: ${first})`;
  let inner = `jobs${args} { edges { node { id } } }`;
  for (let i = 1; i < hops; i++) inner = `jobs${args} { edges { node { utterance { ${inner} } } } }`;
  return `query($id: ID!) { utterance(id: $id) { ${inner} } }`;
}

async function post(url: string, body: unknown, apiKey: string, timeoutMs = 60_000): Promise<GqlResponse & { headers: Headers }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: res.status, headers: res.headers, ...((await res.json()) as object) };
}

function expectLimit(res: GqlResponse, limit: string | string[]) {
  expect(res.status).toBe(400);
  expect(res.data ?? null).toBeNull();
  expect(errorCode(res)).toBe('QUERY_TOO_COMPLEX');
  expect(Array.isArray(limit) ? limit : [limit]).toContain(res.errors![0]!.extensions!.limit);
  expect(typeof res.errors![0]!.extensions!.max).toBe('number');
  expect(res.errors![0]!.extensions).not.toHaveProperty('stacktrace');
}

test('the documented defaults', () => {
  expect(DEFAULTS).toMatchObject({
    maxQueryChars: 20_000,
    maxQueryTokens: 2_000,
    maxQueryDepth: 15,
    maxQueryCost: 50_000,
    maxQueryAliases: 30,
    maxQueryDirectives: 20,
    maxMutationFields: 10,
    introspection: true,
    dev: false,
  });
});

describe.each(DATABASES)('query limits on %s', (kind) => {
  let t: TestApp;
  let reader: GqlClient;
  let utteranceId: string;

  beforeAll(async () => {
    t = await startTestApp(kind, { inProcessWorker: false });
    const prisma = t.app.services.prisma;
    const org = await prisma.organization.findFirstOrThrow();
    const utterance = await seedUtterance(prisma, org.id, 'WE CALL IT BEAR');
    for (let i = 0; i < 5; i++) {
      await prisma.job.create({ data: { organizationId: org.id, utteranceId: utterance.id, status: 'FAILED', attempts: 3 } });
    }
    utteranceId = toGlobalId('Utterance', utterance.id);
    reader = await keyWithScopes(t, ['SCORES_READ']);
  });
  afterAll(() => t?.dispose());

  test('a shallow nested query still answers (25 jobs two levels down)', async () => {
    const res = await reader.request(nestedJobs(2), { id: utteranceId });
    expect(res.errors).toBeUndefined();
    expect(res.data.utterance.jobs.edges).toHaveLength(5);
    expect(res.data.utterance.jobs.edges.flatMap((j: any) => j.node.utterance.jobs.edges)).toHaveLength(25);
  });

  test('utterance{jobs{edges{node{utterance{jobs{...}}}}}} nine connections deep, five jobs a level, is refused without memory growth', async () => {
    const before = process.memoryUsage();
    const res = await post(t.app.url, { query: nestedJobs(9), variables: { id: utteranceId } }, reader.apiKey!, 30_000);
    const after = process.memoryUsage();
    expectLimit(res, 'depth');
    expect(res.errors![0]!.extensions).toMatchObject({ max: DEFAULTS.maxQueryDepth, actual: 37 });
    // today's main built the whole 5^9-job tree (gigabytes, then a heap OOM)
    expect(after.heapUsed - before.heapUsed).toBeLessThan(100 * 1024 * 1024);
    expect(after.rss - before.rss).toBeLessThan(200 * 1024 * 1024);
  });

  test('the same nesting within the depth limit is refused by cost', async () => {
    const res = await reader.request(nestedJobs(3, 100), { id: utteranceId });
    expectLimit(res, 'cost');
    expect(res.errors![0]!.message).toMatch(/limit is 50000/);
  });

  const PAGE = `learners(first: 100) { edges { node { id utterances(first: 100) { edges { node { id referenceText } } } } } }`;

  test('100 aliases of learners(first:100){...utterances(first:100)...} are refused', async () => {
    const query = `{ ${Array.from({ length: 100 }, (_, i) => `a${i}: ${PAGE}`).join(' ')} }`;
    // refused by whichever limit trips first (it is over several)
    expectLimit(await reader.request(query), ['aliases', 'tokens', 'querySize', 'cost']);
  });

  test('more than 30 aliases are refused; 30 are accepted', async () => {
    const aliased = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `v${i}: viewer { scopes }`).join(' ')} }`;
    const res = await reader.request(aliased(DEFAULTS.maxQueryAliases + 1));
    expectLimit(res, 'aliases');
    expect(res.errors![0]!.extensions).toMatchObject({ max: 30, actual: 31 });
    expect((await reader.request(aliased(DEFAULTS.maxQueryAliases))).errors).toBeUndefined();
  });

  test('one such page is within the cost limit, two are not', async () => {
    const one = await reader.request(`{ ${PAGE} }`);
    expect(one.errors).toBeUndefined();
    expect(one.data.learners.edges.length).toBeGreaterThan(0);
    const two = await reader.request(`{ a: ${PAGE} b: ${PAGE} }`);
    expectLimit(two, 'cost');
    expect(two.errors![0]!.extensions!.actual).toBeGreaterThan(DEFAULTS.maxQueryCost);
  });

  test('a page size passed as a variable is costed with its value', async () => {
    const query = `query($n: Int) { a: learners(first: $n) { edges { node { utterances(first: $n) { edges { node { id referenceText } } } } } } b: learners(first: $n) { edges { node { utterances(first: $n) { edges { node { id } } } } } } }`;
    expect((await reader.request(query, { n: 5 })).errors).toBeUndefined();
    expectLimit(await reader.request(query, { n: 100 }), 'cost');
  });

  test('a page size above the cap is still BAD_USER_INPUT naming the cap', async () => {
    const res = await reader.request(`{ learners(first: 1000) { edges { node { id } } } }`);
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.errors![0]!.message).toContain('100');
  });

  test('1,000 aliased createLearner in one request are refused and create nothing', async () => {
    const before = await t.app.services.prisma.learner.count();
    const query = `mutation { ${Array.from({ length: 1000 }, (_, i) => `l${i}: createLearner(input: {externalId: "bulk-${i}"}) { id }`).join(' ')} }`;
    expectLimit(await t.admin.request(query), ['aliases', 'tokens', 'querySize']);
    expect(await t.app.services.prisma.learner.count()).toBe(before);
  });

  test('more than 10 root mutation fields are refused; 10 are accepted', async () => {
    const prisma = t.app.services.prisma;
    const mutation = (n: number, tag: string) =>
      `mutation { ${Array.from({ length: n }, (_, i) => `l${i}: createLearner(input: {externalId: "${tag}-${i}"}) { id }`).join(' ')} }`;
    const before = await prisma.learner.count();
    expectLimit(await t.admin.request(mutation(11, 'eleven')), 'mutationFields');
    expect(await prisma.learner.count()).toBe(before);
    const ten = await t.admin.request(mutation(10, 'ten'));
    expect(ten.errors).toBeUndefined();
    expect(await prisma.learner.count()).toBe(before + 10);
  });

  test('two submitUtterance in one request are refused before any upload is stored', async () => {
    const learnerId = (await t.admin.request(`mutation { createLearner(input: {externalId: "two-submits"}) { id } }`)).data.createLearner.id;
    const form = new FormData();
    const input = { learnerId, referenceText: 'WE CALL IT BEAR', audio: null };
    form.append(
      'operations',
      JSON.stringify({
        query: `mutation($a: SubmitUtteranceInput!, $b: SubmitUtteranceInput!) { a: submitUtterance(input: $a) { job { id } } b: submitUtterance(input: $b) { job { id } } }`,
        variables: { a: input, b: { ...input, idempotencyKey: 'second' } },
      }),
    );
    form.append('map', JSON.stringify({ 0: ['variables.a.audio', 'variables.b.audio'] }));
    form.append('0', new Blob([new Uint8Array(1000)]), 'take.wav');
    const before = await t.app.services.prisma.utterance.count();
    const res = await fetch(t.app.url, { method: 'POST', headers: { 'apollo-require-preflight': 'true', authorization: `Bearer ${t.admin.apiKey}` }, body: form });
    expectLimit({ status: res.status, ...((await res.json()) as object) }, 'submitUtterance');
    expect(await t.app.services.prisma.utterance.count()).toBe(before);
  });

  test('too many tokens, too many characters and too many directives are refused', async () => {
    expectLimit(await reader.request(`{ viewer { ${'scopes '.repeat(DEFAULTS.maxQueryTokens)} } }`), 'tokens');
    expectLimit(await reader.request(`# ${'x'.repeat(DEFAULTS.maxQueryChars)}\n{ viewer { scopes } }`), 'querySize');
    expectLimit(await reader.request(`{ viewer { ${'... @include(if: true) { scopes } '.repeat(DEFAULTS.maxQueryDirectives + 1)} } }`), 'directives');
    expect((await reader.request(`{ viewer { ${'... @include(if: true) { scopes } '.repeat(DEFAULTS.maxQueryDirectives)} } }`)).errors).toBeUndefined();
  });

  test('a JSON body over 1 MiB is QUERY_TOO_COMPLEX (limit bodyBytes), not an upload error; just under it is parsed', async () => {
    const MiB = 1024 * 1024;
    const over = await post(t.app.url, { query: '{ viewer { scopes } }', variables: { pad: 'x'.repeat(MiB) } }, reader.apiKey!);
    expect(over.status).toBe(413);
    expect(over.errors).toEqual([{
      message: `The request body exceeds ${MiB} bytes; send audio as a multipart upload.`,
      extensions: { code: 'QUERY_TOO_COMPLEX', limit: 'bodyBytes', max: MiB },
    }]);
    const under = await post(t.app.url, { query: '{ viewer { scopes } }', variables: { pad: 'x'.repeat(MiB - 100) } }, reader.apiKey!);
    expect(under.errors).toBeUndefined();
  });

  test('a batch of operations (JSON array) is refused', async () => {
    const res = await post(t.app.url, [{ query: '{ viewer { scopes } }' }, { query: '{ viewer { scopes } }' }], reader.apiKey!);
    expect(res.status).toBe(400);
    expect(res.errors![0]!.message).toMatch(/batching disabled/i);
    expect(res.data ?? null).toBeNull();
  });

  test('introspection is on by default, and the full introspection query passes the limits', async () => {
    const res = await reader.request(getIntrospectionQuery({ descriptions: true, inputValueDeprecation: true, directiveIsRepeatable: true }));
    expect(res.errors).toBeUndefined();
    expect(res.data.__schema.types.map((x: any) => x.name)).toContain('Utterance');
    expect((await reader.request(`{ viewer { scopez } }`)).errors![0]!.message).toMatch(/Did you mean/);
  });
});

describe('introspection off', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(DATABASES[0]!, { inProcessWorker: false, introspection: false });
  });
  afterAll(() => t?.dispose());

  test('introspection is refused and field suggestions are hidden', async () => {
    const res = await t.admin.request(`{ __schema { types { name } } }`);
    expect(errorCode(res)).toBe('GRAPHQL_VALIDATION_FAILED');
    const typo = await t.admin.request(`{ viewer { scopez } }`);
    expect(errorCode(typo)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(typo.errors![0]!.message).not.toMatch(/Did you mean|scopes/);
  });

  test('over WebSocket too: a subscription with a misspelt field names no suggestion', async () => {
    const s = subscribe(t.app.url, t.admin.apiKey!, `subscription { jobStatusChanged(learnerId: "x") { id stauts } }`);
    try {
      const ended = await s.ended;
      expect(ended.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(ended.errors![0]!.message).toMatch(/stauts/);
      expect(ended.errors![0]!.message).not.toMatch(/Did you mean|status/);
    } finally {
      await s.dispose();
    }
  });
});
