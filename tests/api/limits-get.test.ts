/**
 * GET /graphql: the query text Apollo will run is the one whose size and tokens are checked,
 * through the real HTTP server. Apollo reads the query string with URLSearchParams (every key);
 * Express's req.query keeps only the first 1,000 keys, so 1,000 junk keys in front of `query` used
 * to hide it from the check.
 */
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import type { GqlResponse } from '../support/client.js';

const [DATABASE] = await testDatabases();
const MAX_TOKENS = 50;
/** 4 + 3·n tokens. */
const viewer = (n: number) => `{ viewer { ${'scopes '.repeat(n)} } }`;

describe('query source limits on GET', () => {
  let t: TestApp;
  const get = async (search: string): Promise<GqlResponse> => {
    const res = await fetch(`${t.app.url}?${search}`, {
      headers: { authorization: `Bearer ${t.admin.apiKey}`, 'apollo-require-preflight': 'true' },
    });
    return { status: res.status, ...((await res.json()) as object) };
  };

  beforeAll(async () => {
    t = await startTestApp(DATABASE!, { inProcessWorker: false, maxQueryTokens: MAX_TOKENS });
  }, 120_000);
  afterAll(() => t?.dispose());

  test('a GET query within the limits answers; one over the token limit is refused', async () => {
    const small = await get(new URLSearchParams({ query: viewer(5) }).toString());
    expect(small.status).toBe(200);
    expect(small.data.viewer.scopes).toContain('ADMIN');
    const big = await get(new URLSearchParams({ query: viewer(MAX_TOKENS) }).toString());
    expect(big.status).toBe(400);
    expect(big.errors![0]!.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'tokens', max: MAX_TOKENS });
  });

  test('1,000 keys before `query` do not hide it from the token limit', async () => {
    const res = await get(`${'a&'.repeat(1000)}${new URLSearchParams({ query: viewer(MAX_TOKENS) })}`);
    expect(res.status).toBe(400);
    expect(res.data ?? null).toBeNull();
    expect(res.errors![0]!.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'tokens', max: MAX_TOKENS });
  });

  test('`query` twice is refused, and neither runs', async () => {
    const res = await get(`query=${encodeURIComponent(viewer(1))}&query=${encodeURIComponent(viewer(MAX_TOKENS))}`);
    expect(res.status).toBe(400);
    expect(res.data ?? null).toBeNull();
    expect(res.errors![0]!.message).toMatch(/query.*once/i);
    expect(res.errors![0]!.extensions!.code).toBe('BAD_REQUEST');
  });
});
