/**
 * postStatements against a local LRS started by the test (tests/support/xapi-lrs.ts), which
 * checks Basic auth, the version header, the content type and every statement against the xAPI
 * schema: what is delivered, what is already there (409: read back and compared, delivered when
 * it is ours, a conflict when another statement holds the id), what to retry and what retrying
 * cannot fix. The LRS's own checks are shown to refuse what they should.
 */
import { loadConfig } from '../../src/config.js';
import { postStatements, sendStatement, classifyLrsStatus, statementsUrl, statementReadUrl, lrsHeaders } from '../../src/xapi/lrs.js';
import { statementDifferences } from '../../src/xapi/compare.js';
import { buildStatement, type StatementSource } from '../../src/xapi/statement.js';
import { TestLrs } from '../support/xapi-lrs.js';

const { xapi } = loadConfig({ SPEECHMARK_XAPI_ACCOUNT_HOME_PAGE: 'https://lms.example.edu' });

function statement(assessmentId: string, total = 7, learnerExternalId = 'lms-42', nulls = false) {
  const source: StatementSource = {
    accountHomePage: null, assessmentId, assessedAt: new Date('2026-07-01T10:00:02Z'), learnerExternalId, learnerGroups: ['course-7'], metadata: {},
    utterance: { id: '5a0c3e8e-7f1b-4c55-a3a4-3b2f9d7f4e11', createdAt: new Date('2026-07-01T10:00:00.123Z'), referenceText: 'We call it bear', normalisedText: 'WE CALL IT BEAR', durationMs: 1500 },
    model: { name: 'm', version: '1', executionProvider: 'cpu' },
    sentence: { accuracy: total, fluency: total, prosody: total, completeness: 10, total },
    contentMatch: nulls ? null : 0.97,
    flags: [],
    words: [{ index: 0, text: 'WE', accuracy: 9, stress: nulls ? null : 10, total: 9, startMs: 100, endMs: 350, errorType: 'NONE', phonemes: [{ index: 0, symbol: 'W', accuracy: 2 }] }],
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

  test('a 409 is read back and compared: the same statement is delivered, another one under the id is a conflict', async () => {
    const id = '0b4f2d0e-1a6c-4d0e-9f57-3c1f1e8f2a20';
    expect(await sendStatement(config(), statement(id))).toEqual({ kind: 'delivered', status: 200, alreadyStored: false });
    // Sent again: 409, and the statement the LRS returns (with stored/authority/version added and its
    // timestamp in another zone) is ours.
    const before = lrs.requests.length;
    expect(await sendStatement(config(), statement(id))).toEqual({ kind: 'delivered', status: 409, alreadyStored: true, matches: true });
    const read = lrs.requests.slice(before);
    expect(read.map((r) => [r.status, r.reason])).toEqual([[409, 'a statement with this id is stored already'], [200, 'read']]);
    const statementId = statement(id).id; // derived from the assessment id
    expect(read[1]!.query).toBe(`?statementId=${statementId}&format=exact`);
    expect(read[1]!.headers['x-experience-api-version']).toBe('1.0.3');
    expect(read[1]!.headers['content-type']).toBeUndefined();
    // Built again for a learner whose LMS id changed and with another score: the LRS keeps the old one.
    const changed = await sendStatement(config(), statement(id, 4, 'lms-43'));
    expect(changed).toMatchObject({ kind: 'conflict', status: 409 });
    if (changed.kind !== 'conflict') throw new Error('unreachable');
    expect(changed.differences).toEqual(expect.arrayContaining(['actor.account.name', 'result.score.raw', 'result.score.scaled']));
    expect(changed.differences).toContain('result.extensions["https://speechmark.dev/xapi/extensions/aspects"].total');
    expect(changed.reason).toContain(`id ${statementId}`);
    expect(changed.reason).toContain('actor.account.name');
  });

  test('a stored statement that cannot be read back: write-only credentials count as delivered, a failing read is retried, a missing one is a conflict', async () => {
    const id = '0b4f2d0e-1a6c-4d0e-9f57-3c1f1e8f2a21';
    await sendStatement(config(), statement(id));
    try {
      // A statement with null members (no content match, no stress), as an LRS that drops null
      // members returns it: still ours.
      const withNulls = '0b4f2d0e-1a6c-4d0e-9f57-3c1f1e8f2a24';
      await sendStatement(config(), statement(withNulls, 7, 'lms-42', true));
      lrs.readBack = 'dropNulls';
      expect(await sendStatement(config(), statement(withNulls, 7, 'lms-42', true))).toEqual({ kind: 'delivered', status: 409, alreadyStored: true, matches: true });
      lrs.readBack = 'forbid';
      expect(await sendStatement(config(), statement(id))).toEqual({
        kind: 'delivered', status: 409, alreadyStored: true, matches: null, note: 'Stored already (409); not compared: the LRS answered 403 to reading it back.',
      });
      // An LRS that ignores the single read and answers with a StatementResult: nothing compared.
      lrs.readBack = 'statementResult';
      expect(await sendStatement(config(), statement(id))).toMatchObject({ kind: 'delivered', matches: null, note: expect.stringContaining('did not return the statement') });
      lrs.readBack = 'fail';
      expect(await sendStatement(config(), statement(id))).toMatchObject({ kind: 'retry', status: 503, reason: expect.stringContaining('reading the stored statement back') });
    } finally {
      lrs.readBack = 'serve';
    }
    // A voided statement keeps its id: the LRS answers 409, and 404 to statementId (xAPI returns
    // voided ones only by voidedStatementId). Ours, voided since: delivered, with a note.
    await sendStatement(config(), statement(id, 7, 'lms-42'));
    lrs.voided.add(statement(id).id);
    expect(await sendStatement(config(), statement(id))).toEqual({
      kind: 'delivered', status: 409, alreadyStored: true, matches: true, note: 'Stored already (409), and voided in the LRS since.',
    });
    expect(await sendStatement(config(), statement(id, 3))).toMatchObject({ kind: 'conflict', reason: expect.stringContaining('different voided statement') });
    // An id the LRS holds but returns neither way.
    const unknown = '0b4f2d0e-1a6c-4d0e-9f57-3c1f1e8f2a22';
    lrs.voided.add(statement(unknown).id);
    const conflict = await sendStatement(config(), statement(unknown));
    expect(conflict).toMatchObject({ kind: 'conflict', status: 409, differences: [], reason: expect.stringContaining('neither as a statement nor as a voided one') });
    // The endpoint's own query is kept as written.
    expect(statementReadUrl('https://lrs.example/xapi?tenant=7', unknown)).toBe(`https://lrs.example/xapi/statements?tenant=7&statementId=${unknown}&format=exact`);
    expect(statementReadUrl('https://lrs.example/xapi?key=a%20b&flag', unknown, 'voidedStatementId'))
      .toBe(`https://lrs.example/xapi/statements?key=a%20b&flag&voidedStatementId=${unknown}&format=exact`);
  });

  test("statements are compared by xAPI's rules: what an LRS may rewrite is ignored, everything else counts", () => {
    const sent = statement('0b4f2d0e-1a6c-4d0e-9f57-3c1f1e8f2a23');
    const copy = () => JSON.parse(JSON.stringify(sent)) as Record<string, any>;
    expect(statementDifferences(sent, copy())).toEqual([]);
    // A null member left out, or given as null where we left it out, is the same statement; null is
    // not the same as a value.
    const word = (s: Record<string, any>) => s.result.extensions['https://speechmark.dev/xapi/extensions/words'].items[0];
    const withNull = copy();
    word(withNull).stress = null;
    const dropped = copy();
    delete word(dropped).stress;
    word(dropped).extra = null;
    expect(statementDifferences(withNull as never, dropped)).toEqual([]);
    expect(statementDifferences(withNull as never, copy())).toEqual(['result.extensions["https://speechmark.dev/xapi/extensions/words"].items[0].stress']);
    // What 2.3.1 lets an LRS change: assigned properties, the timestamp's zone, id case, verb display,
    // the activity definition, a default objectType left out, key order.
    const rewritten = copy();
    rewritten.id = sent.id.toUpperCase();
    rewritten.stored = '2026-12-01T00:00:00Z';
    rewritten.authority = { mbox: 'mailto:lrs@example.org' };
    rewritten.version = '1.0.0';
    rewritten.timestamp = '2026-07-01T05:00:00.123-05:00';
    rewritten.verb.display = { 'en-GB': 'scored' };
    rewritten.object.definition = { name: { 'en-US': 'something else' } };
    delete rewritten.actor.objectType;
    delete rewritten.object.objectType;
    rewritten.result = Object.fromEntries(Object.entries(rewritten.result).reverse());
    rewritten.context.language = 'EN-us';
    // The context's activities too: their definitions, a default objectType, one given bare.
    rewritten.context.contextActivities.grouping[0].definition = { name: { 'en-US': 'Course seven' } };
    delete rewritten.context.contextActivities.grouping[0].objectType;
    rewritten.context.contextActivities.grouping = rewritten.context.contextActivities.grouping[0];
    expect(statementDifferences(sent, rewritten)).toEqual([]);
    // What it may not.
    const cases: [string, (s: Record<string, any>) => void][] = [
      ['timestamp', (s) => { s.timestamp = '2026-07-01T10:00:00.124Z'; }],
      ['verb.id', (s) => { s.verb.id = 'http://adlnet.gov/expapi/verbs/answered'; }],
      ['object.id', (s) => { s.object.id = 'https://elsewhere.example/activity'; }],
      ['actor.account.homePage', (s) => { s.actor.account.homePage = 'https://other-lms.example'; }],
      ['result.duration', (s) => { s.result.duration = 'PT1.50S'; }],
      ['result.completion', (s) => { s.result.completion = false; }],
      ['context.language', (s) => { delete s.context.language; }],
      ['result.extensions["https://speechmark.dev/xapi/extensions/words"].items.length', (s) => { s.result.extensions['https://speechmark.dev/xapi/extensions/words'].items.push({}); }],
      ['result.extensions["https://speechmark.dev/xapi/extensions/phonemes"].items[0].accuracy', (s) => { s.result.extensions['https://speechmark.dev/xapi/extensions/phonemes'].items[0].accuracy = 1; }],
      ['extra', (s) => { s.extra = 1; }],
      ['context.contextActivities.grouping[0].id', (s) => { s.context.contextActivities.grouping[0].id = 'https://elsewhere.example/group'; }],
      ['context.contextActivities.grouping.length', (s) => { s.context.contextActivities.grouping.push({ objectType: 'Activity', id: 'https://elsewhere.example/g2' }); }],
    ];
    for (const [path, change] of cases) {
      const other = copy();
      change(other);
      expect({ path, differences: statementDifferences(sent, other) }).toEqual({ path, differences: [path] });
    }
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
