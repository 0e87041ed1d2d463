/**
 * Error hygiene (issue 8), through the real HTTP server: no stack traces unless SPEECHMARK_DEV,
 * internal errors carry a request id that the log line also carries, malformed cursors and NUL
 * characters are BAD_USER_INPUT (never INTERNAL_SERVER_ERROR) on PGlite and PostgreSQL.
 */
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { errorCode, type GqlResponse } from '../support/client.js';
import { seedUtterance } from '../support/seed.js';
import { toGlobalId } from '../../src/graphql/ids.js';
import { encodeWav, sine } from '../support/audio-fixtures.js';

const DATABASES = await testDatabases();
const b64 = (s: string) => Buffer.from(s).toString('base64url');
const UUID = '0b6e3b1e-8f3c-4c1e-9d5a-2f1d3c4b5a69';

async function raw(t: TestApp, query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const res = await fetch(t.app.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${t.admin.apiKey}`, ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: JSON.parse(text) as GqlResponse };
}

/** Runs `fn` with console.error captured (the server logs in this process). */
async function captureErrors<T>(fn: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const original = console.error;
  const lines: string[] = [];
  console.error = (...args: unknown[]) => {
    lines.push(args.map((a) => (a instanceof Error ? `${a.message}\n${a.stack}` : String(a))).join(' '));
  };
  try {
    return { result: await fn(), lines };
  } finally {
    console.error = original;
  }
}

describe.each(DATABASES)('error hygiene on %s', (kind) => {
  let t: TestApp;
  let learnerId: string;
  let utteranceId: string;

  beforeAll(async () => {
    // NODE_ENV=development made Apollo add stack traces to every error: it must not matter any more
    const nodeEnv = process.env.NODE_ENV;
    process.env.NODE_ENV = 'development';
    try {
      t = await startTestApp(kind, { inProcessWorker: false });
    } finally {
      process.env.NODE_ENV = nodeEnv;
    }
    learnerId = (await t.admin.request(`mutation { createLearner(input: {externalId: "e1"}) { id } }`)).data.createLearner.id;
    const org = await t.app.services.prisma.organization.findFirstOrThrow();
    utteranceId = toGlobalId('Utterance', (await seedUtterance(t.app.services.prisma, org.id, 'WE CALL IT BEAR')).id);
  });
  afterAll(() => t?.dispose());

  test('no stack trace in any error response without SPEECHMARK_DEV, even with NODE_ENV=development', async () => {
    for (const query of [`{ learners(first: 1000) { edges { cursor } } }`, `{ learners(after: "nope") { edges { cursor } } }`, `{ nope }`, `{`]) {
      const res = await raw(t, query);
      expect(res.body.errors?.length).toBeGreaterThan(0);
      expect(res.text).not.toMatch(/stacktrace|\/src\/|node_modules|at [A-Za-z.]+ \(/);
    }
  });

  test('every response carries an X-Request-Id; a sane client id is kept, another replaced', async () => {
    const own = await raw(t, `{ viewer { scopes } }`, {}, { 'x-request-id': 'lms-req.42:a_b' });
    expect(own.headers.get('x-request-id')).toBe('lms-req.42:a_b');
    const odd = await raw(t, `{ viewer { scopes } }`, {}, { 'x-request-id': 'two words' });
    expect(odd.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const long = await raw(t, `{ viewer { scopes } }`, {}, { 'x-request-id': 'x'.repeat(500) });
    expect(long.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const none = await raw(t, `{ viewer { scopes } }`);
    expect(none.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(none.headers.get('x-request-id')).not.toBe(odd.headers.get('x-request-id'));
  });

  test('a database error is INTERNAL_SERVER_ERROR with the request id, which the log line carries', async () => {
    const prisma = t.app.services.prisma;
    const schema = t.config.databaseUrl ? new URL(t.config.databaseUrl).searchParams.get('schema')! : 'public';
    await prisma.$executeRawUnsafe(`ALTER TABLE "${schema}"."Learner" RENAME TO "Learner_gone"`);
    try {
      const { result: res, lines } = await captureErrors(() =>
        raw(t, `{ learners { edges { node { externalId } } } }`, {}, { 'x-request-id': 'trace-me-123' }),
      );
      expect(res.body.errors).toHaveLength(1);
      expect(res.body.errors![0]).toEqual({
        message: 'Internal server error.',
        locations: expect.any(Array),
        path: ['learners'],
        extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: 'trace-me-123' },
      });
      expect(res.text).not.toMatch(/Learner_gone|prisma|relation|stacktrace|\/src\//i);
      expect(lines.some((l) => l.includes('trace-me-123') && /Learner/.test(l))).toBe(true);
    } finally {
      await prisma.$executeRawUnsafe(`ALTER TABLE "${schema}"."Learner_gone" RENAME TO "Learner"`);
    }
  });

  const BAD_CURSORS: [string, string][] = [
    ['date|non-uuid', b64('2024-01-01T00:00:00.000Z|non-uuid')],
    ['year 0', b64(`0000-01-01T00:00:00.000Z|${UUID}`)],
    ['year -271821', b64(`-271821-04-20T00:00:00.000Z|${UUID}`)],
    ['year +275760', b64(`+275760-09-13T00:00:00.000Z|${UUID}`)],
    ['NUL in the date', b64(`2024-01-01T00:00:00.000Z\u0000|${UUID}`)],
    ['NUL after the id', b64(`2024-01-01T00:00:00.000Z|${UUID}\u0000`)],
    ['NUL in the id', b64(`2024-01-01T00:00:00.000Z|${UUID.slice(0, 8)}\u0000${UUID.slice(9)}`)],
    ['31 February', b64(`2024-02-31T00:00:00.000Z|${UUID}`)],
    ['date only', b64(`2024-01-01|${UUID}`)],
    ['three parts', b64(`2024-01-01T00:00:00.000Z|${UUID}|x`)],
    ['garbage base64', b64('\u00ff\u00fe garbage')],
    ['not base64 at all', '!!! not a cursor !!!'],
    ['NUL in the cursor text', 'abc\u0000def'],
    ['very long', 'A'.repeat(5000)],
  ];
  const PAGED: [string, string, (after: string) => Record<string, unknown>][] = [
    ['learners', `query($after: String) { learners(after: $after) { edges { cursor } } }`, (after) => ({ after })],
    ['Learner.utterances', `query($id: ID!, $after: String) { learner(id: $id) { utterances(after: $after) { edges { cursor } } } }`, (after) => ({ id: learnerId, after })],
    ['Utterance.assessments', `query($id: ID!, $after: String) { utterance(id: $id) { assessments(after: $after) { edges { cursor } } } }`, (after) => ({ id: utteranceId, after })],
    ['flaggedAssessments', `query($after: String) { flaggedAssessments(after: $after) { edges { cursor } } }`, (after) => ({ after })],
  ];

  test.each(PAGED)('malformed cursors on %s are BAD_USER_INPUT', async (_field, query, variables) => {
    const codes: Record<string, string | undefined> = {};
    for (const [name, cursor] of BAD_CURSORS) codes[name] = errorCode((await raw(t, query, variables(cursor))).body);
    expect(codes).toEqual(Object.fromEntries(BAD_CURSORS.map(([name]) => [name, 'BAD_USER_INPUT'])));
  });

  test('cursors the API hands out still page through', async () => {
    await t.admin.request(`mutation { a: createLearner(input: {externalId: "e2"}) { id } b: createLearner(input: {externalId: "e3"}) { id } }`);
    const first = await t.admin.request(`{ learners(first: 1) { edges { node { externalId } } pageInfo { endCursor hasNextPage } } }`);
    const next = await t.admin.request(`query($c: String) { learners(first: 1, after: $c) { edges { node { externalId } } } }`, { c: first.data.learners.pageInfo.endCursor });
    expect(next.errors).toBeUndefined();
    expect(next.data.learners.edges).toHaveLength(1);
    expect(next.data.learners.edges[0].node.externalId).not.toBe(first.data.learners.edges[0].node.externalId);
  });

  describe('a NUL character in any string argument is BAD_USER_INPUT and writes nothing', () => {
    const NUL = 'a\u0000b';
    const counts = async () => {
      const p = t.app.services.prisma;
      return [await p.learner.count(), await p.utterance.count(), await p.assessment.count(), await p.job.count()];
    };

    test.each([
      ['createLearner externalId', `mutation($v: String!) { createLearner(input: {externalId: $v}) { id } }`],
      ['createLearner displayName', `mutation($v: String) { createLearner(input: {externalId: "nul-display", displayName: $v}) { id } }`],
      ['learnerByExternalId', `query($v: String!) { learnerByExternalId(externalId: $v) { id } }`],
      ['flaggedAssessments modelVersion', `query($v: String) { flaggedAssessments(modelVersion: $v) { edges { cursor } } }`],
    ])('%s (variable)', async (_name, query) => {
      const before = await counts();
      const res = await raw(t, query, { v: NUL });
      expect(errorCode(res.body)).toBe('BAD_USER_INPUT');
      expect(res.body.errors![0]!.message).toMatch(/NUL/);
      expect(await counts()).toEqual(before);
    });

    test('nested inside an input object variable', async () => {
      const before = await counts();
      const res = await raw(t, `mutation($input: CreateLearnerInput!) { createLearner(input: $input) { id } }`, {
        input: { externalId: 'nul-nested', displayName: NUL },
      });
      expect(errorCode(res.body)).toBe('BAD_USER_INPUT');
      expect(res.body.errors![0]!.message).toContain('$input.displayName');
      expect(await counts()).toEqual(before);
    });

    test('literal strings in the query text', async () => {
      const before = await counts();
      for (const query of [
        `mutation { createLearner(input: {externalId: "lit\\u0000eral"}) { id } }`,
        `mutation { createLearner(input: {externalId: "lit-ok", displayName: "x\\u0000y"}) { id } }`,
        `{ learnerByExternalId(externalId: "q\\u0000") { id } }`,
      ]) {
        expect(errorCode((await raw(t, query)).body)).toBe('BAD_USER_INPUT');
      }
      expect(await counts()).toEqual(before);
    });

    test('attachHumanLabels rater', async () => {
      const before = await counts();
      const res = await raw(
        t,
        `mutation($u: ID!, $r: String) { attachHumanLabels(utteranceId: $u, labels: {sentence: {accuracy: 8, fluency: 7, prosody: 7, completeness: 10, total: 8}}, rater: $r) { id } }`,
        { u: utteranceId, r: NUL },
      );
      expect(errorCode(res.body)).toBe('BAD_USER_INPUT');
      expect(await counts()).toEqual(before);
    });

    test.each(['referenceText', 'idempotencyKey'])('submitUtterance %s (multipart)', async (field) => {
      const before = await counts();
      const input: Record<string, unknown> = { learnerId, referenceText: 'WE CALL IT BEAR', audio: null, idempotencyKey: 'nul-test', [field]: NUL };
      const res = await t.admin.upload(
        `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { job { id } } }`,
        { input },
        'variables.input.audio',
        { bytes: encodeWav(sine(220, 1.5, 16000), 16000), name: 'take.wav' },
      );
      expect(errorCode(res)).toBe('BAD_USER_INPUT');
      expect(await counts()).toEqual(before);
    });
  });

  describe('strings text cannot hold as sent, instants outside years 1-9999, malformed multipart: BAD_USER_INPUT, nothing written', () => {
    const counts = async () => {
      const p = t.app.services.prisma;
      return [await p.learner.count(), await p.apiKey.count(), await p.bulkOperation.count(), await p.job.count()];
    };

    test('an unpaired surrogate would be stored as U+FFFD (two different ids becoming one): refused', async () => {
      const before = await counts();
      for (const v of ['s\uD800', 'x\uDFFFy']) {
        const res = await raw(t, `mutation($v: String!) { createLearner(input: {externalId: $v}) { id } }`, { v });
        expect(errorCode(res.body)).toBe('BAD_USER_INPUT');
        expect(res.body.errors![0]!.message).toMatch(/unpaired UTF-16 surrogate/);
      }
      // A pair is a character, and is kept as sent.
      const ok = await raw(t, `mutation($v: String!) { createLearner(input: {externalId: $v}) { externalId } }`, { v: 'emoji-\u{1F600}' });
      expect(ok.body.data).toEqual({ createLearner: { externalId: 'emoji-\u{1F600}' } });
      expect((await counts())[0]).toBe(before[0]! + 1);
    });

    test.each([
      ['a filter before year 1', `query($v: DateTime) { utterances(first: 1, filter: {createdAfter: $v}) { totalCount } }`, '0000-01-01T00:00:00Z'],
      ['a filter at year 0 through its offset', `query($v: DateTime) { utterances(first: 1, filter: {createdBefore: $v}) { totalCount } }`, '0001-01-01T00:00:00+01:00'],
      ['a key expiring in year 10000 through its offset', `mutation($v: DateTime) { createApiKey(input: {name: "far", scopes: [SCORES_READ], expiresAt: $v}) { key } }`, '9999-12-31T23:59:59-01:00'],
      ['a bulk re-assessment since year 0', `mutation($v: DateTime) { reassessUtterances(input: {wholeOrganisation: true, since: $v}) { id } }`, '0000-06-01T00:00:00Z'],
    ])('%s (variable)', async (_name, query, v) => {
      const before = await counts();
      const res = await raw(t, query, { v });
      expect(errorCode(res.body)).toBe('BAD_USER_INPUT');
      expect(res.body.errors![0]!.message).toMatch(/outside the supported range/);
      expect(await counts()).toEqual(before);
    });

    test('the same instants as literals are refused; the ends of the range are accepted', async () => {
      const literal = await raw(t, `{ utterances(first: 1, filter: {createdAfter: "0000-01-01T00:00:00Z"}) { totalCount } }`);
      expect(errorCode(literal.body)).toBe('GRAPHQL_VALIDATION_FAILED'); // a literal is checked with the document
      expect(literal.body.errors![0]!.message).toMatch(/outside the supported range/);
      // The range is in the contract clients read (the schema's description, not the library's).
      const described = await raw(t, `{ __type(name: "DateTime") { description } }`);
      expect(described.body.data.__type.description).toMatch(/9999-12-31T23:59:59\.999Z/);
      const ends = await raw(t, `{ utterances(first: 1, filter: {createdAfter: "0001-01-01T00:00:00Z", createdBefore: "9999-12-31T23:59:59.999Z"}) { totalCount } }`);
      expect(ends.body.errors).toBeUndefined();
      expect(ends.body.data.utterances.totalCount).toBeGreaterThanOrEqual(1);
    });

    test("soundChanges' default periods near year 1 stay within the range (was INTERNAL: year 0 reached the database)", async () => {
      const res = await raw(t, `query($id: ID!) { learner(id: $id) { soundChanges(period2To: "0001-01-15T00:00:00Z") { phoneme } } }`, { id: learnerId });
      // period 2 is clamped to start at 0001-01-01, leaving period 1 empty: the range rule names it
      expect(errorCode(res.body)).toBe('BAD_USER_INPUT');
      expect(res.body.errors![0]!.message).toMatch(/period1From/);
      // Every bound there came from period2To, the one argument given: it is the one named.
      expect(res.body.errors![0]!.extensions).toMatchObject({ argument: 'period2To' });
      expect(res.body.errors![0]!.extensions).not.toHaveProperty('arguments');
    });

    const multipart = (body: string, contentType: string) =>
      fetch(t.app.url, {
        method: 'POST',
        headers: { 'content-type': contentType, 'apollo-require-preflight': 'true', authorization: `Bearer ${t.admin.apiKey}` },
        body,
        signal: AbortSignal.timeout(30_000),
      });

    test('a multipart request without a boundary is answered 400 (it hung: nothing read the body the answer waited for)', async () => {
      const res = await multipart('operations=x', 'multipart/form-data');
      expect(res.status).toBe(400);
      const body = (await res.json()) as GqlResponse;
      expect(errorCode(body)).toBe('BAD_USER_INPUT');
      expect(body.errors![0]!.message).toMatch(/Malformed multipart request/);
    });

    test('a multipart form cut short or with a malformed part header is 400, not INTERNAL', async () => {
      const operations = JSON.stringify({ query: `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { job { id } } }`, variables: { input: { learnerId, referenceText: 'A', audio: null } } });
      const cut = `--b\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${operations}\r\n--b\r\nContent-Disposition: form-data; name="map"\r\n\r\n{"0": ["variables.inp`;
      const badHeader = `--b\r\n${'X'.repeat(100_000)}\r\n\r\nvalue\r\n--b--\r\n`;
      const before = await counts();
      for (const body of [cut, badHeader, '']) {
        const res = await multipart(body, 'multipart/form-data; boundary=b');
        expect(res.status).toBe(400);
        const json = (await res.json()) as GqlResponse;
        expect(errorCode(json)).toBe('BAD_USER_INPUT');
        expect(json.errors![0]!.extensions).not.toHaveProperty('requestId');
      }
      expect(await counts()).toEqual(before);
    });
  });
});

describe('development mode', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(DATABASES[0]!, { inProcessWorker: false, dev: true });
  });
  afterAll(() => t?.dispose());

  test('SPEECHMARK_DEV=1 puts stack traces in error responses', async () => {
    const res = await raw(t, `{ learners(first: 1000) { edges { cursor } } }`);
    expect(errorCode(res.body)).toBe('BAD_USER_INPUT');
    expect(Array.isArray(res.body.errors![0]!.extensions!.stacktrace)).toBe(true);
  });
});
