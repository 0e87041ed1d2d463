/**
 * postStatements against a local LRS started by the test (tests/support/xapi-lrs.ts), which
 * checks Basic auth, the version header, the content type and every statement against the xAPI
 * schema: what is delivered, what is already there (409, also delivered), what to retry and what
 * retrying cannot fix. The LRS's own checks are shown to refuse what they should.
 */
import { loadConfig } from '../../src/config.js';
import { postStatements, classifyLrsStatus, statementsUrl, lrsHeaders } from '../../src/xapi/lrs.js';
import { buildStatement, type StatementSource } from '../../src/xapi/statement.js';
import { TestLrs } from '../support/xapi-lrs.js';

const { xapi } = loadConfig({ SPEECHMARK_XAPI_ACCOUNT_HOME_PAGE: 'https://lms.example.edu' });

function statement(assessmentId: string, total = 7) {
  const source: StatementSource = {
    assessmentId, assessedAt: new Date('2026-07-01T10:00:02Z'), learnerExternalId: 'lms-42',
    utterance: { id: '5a0c3e8e-7f1b-4c55-a3a4-3b2f9d7f4e11', createdAt: new Date('2026-07-01T10:00:00Z'), referenceText: 'We call it bear', normalisedText: 'WE CALL IT BEAR', durationMs: 1500 },
    model: { name: 'm', version: '1', executionProvider: 'cpu' },
    sentence: { accuracy: total, fluency: total, prosody: total, completeness: 10, total },
    contentMatch: 0.97,
    flags: [],
    words: [{ index: 0, text: 'WE', accuracy: 9, stress: 10, total: 9, startMs: 100, endMs: 350, errorType: 'NONE', phonemes: [{ index: 0, symbol: 'W', accuracy: 2 }] }],
  };
  return buildStatement(xapi, source);
}

describe('sending statements to a Learning Record Store', () => {
  let lrs: TestLrs;
  beforeAll(async () => {
    lrs = await new TestLrs().start();
  });
  afterAll(async () => {
    await lrs?.stop();
  });
  const config = () => ({ endpoint: lrs.url, username: lrs.username, password: lrs.password });

  test('a batch is delivered with Basic auth, the version header and JSON; a re-send is 409 = already there = delivered', async () => {
    const batch = [statement('0b4f2d0e-1a6c-4d0e-9f57-3c1f1e8f2a10'), statement('0b4f2d0e-1a6c-4d0e-9f57-3c1f1e8f2a11')];
    expect(await postStatements(config(), batch)).toEqual({ kind: 'delivered', status: 200, alreadyStored: false });
    const seen = lrs.requests.at(-1)!.headers;
    expect(seen['x-experience-api-version']).toBe('1.0.3');
    expect(seen['content-type']).toBe('application/json; charset=utf-8');
    expect([...lrs.stored.keys()]).toEqual(batch.map((s) => s.id));
    // The same assessment built again: the same id, so the LRS keeps one copy.
    expect(await postStatements(config(), [statement('0b4f2d0e-1a6c-4d0e-9f57-3c1f1e8f2a10')])).toEqual({ kind: 'delivered', status: 409, alreadyStored: true });
    expect(lrs.stored.size).toBe(2);
  });

  test('an LRS that is down or overloaded is retried; bad credentials are not; nothing throws', async () => {
    lrs.failNext = 1;
    expect(await postStatements(config(), [statement('0b4f2d0e-1a6c-4d0e-9f57-3c1f1e8f2a12')])).toMatchObject({ kind: 'retry', status: 503 });
    expect(await postStatements(config(), [statement('0b4f2d0e-1a6c-4d0e-9f57-3c1f1e8f2a12')])).toMatchObject({ kind: 'delivered', status: 200 });
    expect(await postStatements({ ...config(), password: 'wrong' }, [statement('0b4f2d0e-1a6c-4d0e-9f57-3c1f1e8f2a13')])).toMatchObject({ kind: 'rejected', status: 401 });
    const closed = await new TestLrs().start();
    const url = closed.url;
    await closed.stop();
    expect(await postStatements({ ...config(), endpoint: url }, [statement('0b4f2d0e-1a6c-4d0e-9f57-3c1f1e8f2a13')])).toMatchObject({ kind: 'retry', status: null });
    expect(classifyLrsStatus(204)).toEqual({ kind: 'delivered', status: 204, alreadyStored: false });
    expect(classifyLrsStatus(429).kind).toBe('retry');
    expect(classifyLrsStatus(400, 'bad').kind).toBe('rejected');
    expect(statementsUrl('https://lrs.example/xapi/')).toBe('https://lrs.example/xapi/statements');
    expect(statementsUrl('https://lrs.example/xapi?tenant=7')).toBe('https://lrs.example/xapi/statements?tenant=7');
  });

  test('an endpoint with a query string (a hosted LRS naming its tenant): the statements go to /statements with the query kept', async () => {
    const before = lrs.requests.length;
    const res = await postStatements({ ...config(), endpoint: `${lrs.url}?tenant=7` }, [statement('0b4f2d0e-1a6c-4d0e-9f57-3c1f1e8f2a15')]);
    expect(res).toMatchObject({ kind: 'delivered' });
    expect(lrs.requests.slice(before).map((r) => [r.status, r.query])).toEqual([[200, '?tenant=7']]);
  });

  test("the test LRS refuses what a strict LRS refuses: a missing version header, another content type, an invalid statement", async () => {
    const headers = lrsHeaders(config());
    const post = (h: Record<string, string>, body: unknown) => fetch(statementsUrl(lrs.url), { method: 'POST', headers: h, body: JSON.stringify(body) });
    const good = [statement('0b4f2d0e-1a6c-4d0e-9f57-3c1f1e8f2a14')];
    const { ['x-experience-api-version']: _v, ...noVersion } = headers;
    expect((await post(noVersion, good)).status).toBe(400);
    expect((await post({ ...headers, 'content-type': 'text/plain' }, good)).status).toBe(400);
    const broken = JSON.parse(JSON.stringify(good));
    broken[0].result.score.raw = 11;
    const refused = await post(headers, broken);
    expect(refused.status).toBe(400);
    expect((await refused.json()).error).toMatch(/raw/);
    expect((await post(headers, good)).status).toBe(200);
  });
});
