/**
 * Rate limits and CORS (issue 8), through the real HTTP server with small configured limits.
 * The limits are in-memory token buckets that refill at perMinute/60 a second: with 3 a minute a
 * token comes back every 20 s, so the counts below hold without any assertion on timing.
 * PGlite only: neither guard touches the database beyond authentication.
 */
import { startTestApp, type TestApp } from '../support/app.js';
import { errorCode } from '../support/client.js';
import { keyWithScopes } from '../support/seed.js';
import { loadConfig } from '../../src/config.js';

const ALLOWED = 'https://lms.example';

async function post(t: TestApp, apiKey: string | undefined, query = '{ viewer { scopes } }', headers: Record<string, string> = {}) {
  const res = await fetch(t.app.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}), ...headers },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

test('defaults: generous per-key limit, failed-auth throttle on, no CORS', () => {
  const c = loadConfig({});
  expect(c.rateLimitPerMinute).toBe(600);
  expect(c.rateLimitUploadCost).toBe(5);
  expect(c.authFailuresPerMinute).toBe(30);
  expect(c.corsOrigins).toEqual([]);
  expect(loadConfig({ SPEECHMARK_CORS_ORIGINS: 'https://a.example, https://b.example/' }).corsOrigins).toEqual(['https://a.example', 'https://b.example']);
});

describe('rate limits', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp('pglite', { inProcessWorker: false, rateLimitPerMinute: 3, rateLimitUploadCost: 3, authFailuresPerMinute: 4 });
  });
  afterAll(() => t?.dispose());

  test('a key gets its quota, then RATE_LIMITED with HTTP 429, Retry-After and a retry hint', async () => {
    const client = await keyWithScopes(t, ['SCORES_READ']);
    const first = await post(t, client.apiKey);
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-policy')).toBe('"api-key";q=3;w=60');
    expect(first.headers.get('ratelimit')).toMatch(/^"api-key";r=2;t=\d+$/);
    const rest = [];
    for (let i = 0; i < 7; i++) rest.push(await post(t, client.apiKey));
    const refused = rest.filter((r) => r.status === 429);
    expect(refused.length).toBeGreaterThanOrEqual(5);
    for (const r of refused) {
      expect(errorCode(r.body)).toBe('RATE_LIMITED');
      const retry = r.body.errors[0].extensions.retryAfterSeconds;
      expect(retry).toBeGreaterThanOrEqual(1);
      expect(retry).toBeLessThanOrEqual(20);
      expect(r.headers.get('retry-after')).toBe(String(retry));
      expect(r.headers.get('ratelimit')).toMatch(/^"api-key";r=0;t=\d+$/);
      expect(r.body.data).toBeUndefined();
    }
    // another key of the same organisation has its own bucket
    expect((await post(t, (await keyWithScopes(t, ['SCORES_READ'])).apiKey)).status).toBe(200);
  });

  test('an upload costs more: one upload takes this key\'s whole quota', async () => {
    const client = await keyWithScopes(t, ['ASSESS_WRITE']);
    const form = new FormData();
    form.append('operations', JSON.stringify({ query: `mutation($f: Upload!) { submitUtterance(input: {learnerId: "x", referenceText: "A", audio: $f}) { job { id } } }`, variables: { f: null } }));
    form.append('map', JSON.stringify({ 0: ['variables.f'] }));
    form.append('0', new Blob([new Uint8Array(100)]), 'a.wav');
    const upload = await fetch(t.app.url, { method: 'POST', headers: { 'apollo-require-preflight': 'true', authorization: `Bearer ${client.apiKey}` }, body: form });
    await upload.text();
    expect(upload.status).not.toBe(429);
    expect(upload.headers.get('ratelimit')).toMatch(/^"api-key";r=0;/);
    const after = await post(t, client.apiKey);
    expect(after.status).toBe(429);
    expect(errorCode(after.body)).toBe('RATE_LIMITED');
  });

  test('guessed keys from one address are throttled after a few failures; a working key still gets in', async () => {
    const good = await keyWithScopes(t, ['SCORES_READ']);
    expect((await post(t, good.apiKey)).status).toBe(200); // known to authenticate
    const answers = [];
    for (let i = 0; i < 12; i++) answers.push(await post(t, `sm_guess${i}${Math.random().toString(36).slice(2)}`));
    const codes = answers.map((r) => errorCode(r.body));
    expect(codes.slice(0, 4)).toEqual(Array(4).fill('UNAUTHENTICATED'));
    expect(codes.filter((c) => c === 'RATE_LIMITED').length).toBeGreaterThanOrEqual(7);
    const limited = answers.find((r) => r.status === 429)!;
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited.headers.get('ratelimit-policy')).toBe('"auth-failures";q=4;w=60');
    expect(answers[0]!.headers.get('ratelimit')).toMatch(/^"auth-failures";r=3;/);
    // no key at all counts as a failure too, and is refused the same way now
    expect(errorCode((await post(t, undefined)).body)).toBe('RATE_LIMITED');
    // a key that authenticated recently is not locked out by someone guessing from the same address
    expect((await post(t, good.apiKey)).status).toBe(200);
  });
});

describe('rate limits off', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp('pglite', { inProcessWorker: false, rateLimitPerMinute: 0, authFailuresPerMinute: 0, corsOrigins: [ALLOWED] });
  });
  afterAll(() => t?.dispose());

  test('0 turns both limits off: no headers, no refusals', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await post(t, t.admin.apiKey);
      expect(r.status).toBe(200);
      expect(r.headers.get('ratelimit')).toBeNull();
    }
    for (let i = 0; i < 5; i++) expect(errorCode((await post(t, 'sm_wrong')).body)).toBe('UNAUTHENTICATED');
  });

  test('CORS: an allowed origin gets a preflight with the upload headers, and its responses are readable', async () => {
    const pre = await fetch(t.app.url, {
      method: 'OPTIONS',
      headers: { origin: ALLOWED, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, apollo-require-preflight' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    const allowed = (pre.headers.get('access-control-allow-headers') ?? '').split(/,\s*/);
    expect(allowed).toEqual(expect.arrayContaining(['authorization', 'content-type', 'apollo-require-preflight']));
    expect(pre.headers.get('access-control-allow-methods')).toContain('POST');
    const res = await post(t, t.admin.apiKey, undefined, { origin: ALLOWED });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(res.headers.get('vary')).toMatch(/origin/i);
  });

  test('CORS: another origin gets no preflight and no Access-Control-Allow-Origin', async () => {
    const pre = await fetch(t.app.url, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(pre.status).toBe(403);
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    const res = await post(t, t.admin.apiKey, undefined, { origin: 'https://evil.example' });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('CORS off by default', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp('pglite', { inProcessWorker: false });
  });
  afterAll(() => t?.dispose());

  test('no origin is allowed and no preflight is answered', async () => {
    const pre = await fetch(t.app.url, { method: 'OPTIONS', headers: { origin: ALLOWED, 'access-control-request-method': 'POST' } });
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    expect(pre.status).toBeGreaterThanOrEqual(400);
    const res = await post(t, t.admin.apiKey, undefined, { origin: ALLOWED });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});
