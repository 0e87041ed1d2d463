/**
 * The README's BAD_USER_INPUT convention (`extensions.argument`, `arguments` for a conflict; the
 * HTTP export endpoints' `parameter`), over real HTTP on the real server. Every GraphQL answer any
 * suite reads through GqlClient is checked against the schema (tests/support/input-error-convention.ts);
 * here: that checker itself can fail, every refusal in src goes through badInput (so it names an
 * input), and the exact paths of refusals of each kind.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { inputErrorViolations } from '../support/input-error-convention.js';
import { seedUtterance } from '../support/seed.js';
import { toGlobalId } from '../../src/graphql/ids.js';

const DATABASES = await testDatabases();

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? (name === 'generated' ? [] : sourceFiles(p)) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('the convention checker', () => {
  const query = 'mutation($i: CreateLearnerInput!) { createLearner(input: $i) { id } }';
  const at = (extensions: Record<string, unknown>) => [{ message: 'no', path: ['createLearner'], extensions: { code: 'BAD_USER_INPUT', ...extensions } }];

  test('accepts a path through the field\'s arguments and input fields, and list positions', () => {
    expect(inputErrorViolations(query, at({ argument: 'input.displayName' }))).toEqual([]);
    expect(inputErrorViolations(query, at({ argument: 'input.groups.3' }))).toEqual([]);
    expect(inputErrorViolations(query, at({ argument: 'input.groups', arguments: ['input.groups', 'input.externalId'] }))).toEqual([]);
    // Errors about the request as a whole carry no path and are not its concern.
    expect(inputErrorViolations(query, [{ message: 'bad variable', extensions: { code: 'BAD_USER_INPUT' } }])).toEqual([]);
    // Nested fields, aliases and fragments: the path is followed through the selection.
    const nested = '{ a: learner(id: "x") { ...F } } fragment F on Learner { p: progress(from: "2026-01-01T00:00:00Z") { count } }';
    expect(inputErrorViolations(nested, [{ message: 'no', path: ['a', 'p'], extensions: { code: 'BAD_USER_INPUT', argument: 'from' } }])).toEqual([]);
  });

  test('refuses a missing argument, a path the schema does not have, a lone arguments list and the old field key', () => {
    expect(inputErrorViolations(query, at({}))).toEqual([expect.stringContaining('extensions.argument is missing')]);
    expect(inputErrorViolations(query, at({ argument: 'displayName' }))).toEqual([expect.stringContaining('not an argument of createLearner')]);
    expect(inputErrorViolations(query, at({ argument: 'input.nope' }))).toEqual([expect.stringContaining('not an argument of createLearner')]);
    expect(inputErrorViolations(query, at({ argument: 'input.displayName.0' }))).toEqual([expect.stringContaining('not an argument')]);
    expect(inputErrorViolations(query, at({ argument: 'input.groups', arguments: ['input.groups'] }))).toEqual([expect.stringContaining('two or more')]);
    expect(inputErrorViolations(query, at({ argument: 'input.groups', arguments: ['input.externalId', 'input.groups'] }))).toEqual([expect.stringContaining('the first being argument')]);
    expect(inputErrorViolations(query, at({ argument: 'input.groups', field: 'groups' }))).toEqual([expect.stringContaining('extensions.field')]);
    // A refused variable names a declared variable.
    const refused = (extensions: Record<string, unknown>) => [{ message: 'Variable "$i" got invalid value 7 at "i.groups[0]"; String cannot represent a non string value: 7', extensions: { code: 'BAD_USER_INPUT', ...extensions } }];
    expect(inputErrorViolations(query, refused({ variable: 'i.groups.0' }))).toEqual([]);
    expect(inputErrorViolations(query, refused({}))).toEqual([expect.stringContaining('extensions.variable is missing')]);
    expect(inputErrorViolations(query, refused({ variable: 'input.groups.0' }))).toEqual([expect.stringContaining('no variable of the operation')]);
  });
});

test('every BAD_USER_INPUT raised in src names its input (badInput), except the request-level refusals', () => {
  const requestLevel = new Set([
    'src/graphql/limits.ts', // the document's size, tokens, depth: no field to name
    'src/graphql/subscriptions.ts', // the WebSocket subscribe message itself (no query, no operation, bad variables)
    'src/resolvers/scalars.ts', // a DateTime literal or variable, refused while the request is validated
    'src/server.ts', // a body that is not JSON or multipart
    'src/errors.ts', // badInput itself
  ]);
  const root = path.resolve('src');
  const offenders = sourceFiles(root)
    .map((f) => path.relative(path.resolve('.'), f))
    .filter((f) => !requestLevel.has(f) && /new (AppError|GraphQLError)\(\s*'BAD_USER_INPUT'|code: 'BAD_USER_INPUT' \}/.test(readFileSync(f, 'utf8')));
  expect(offenders).toEqual([]);
});

describe.each(DATABASES)('BAD_USER_INPUT names the input at fault [%s]', (kind) => {
  let t: TestApp;
  let learnerId: string;
  let utteranceId: string;

  beforeAll(async () => {
    t = await startTestApp(kind, { inProcessWorker: false });
    learnerId = (await t.admin.request(`mutation { createLearner(input: {externalId: "named-1"}) { id } }`)).data.createLearner.id;
    const org = await t.app.services.prisma.organization.findFirstOrThrow();
    utteranceId = toGlobalId('Utterance', (await seedUtterance(t.app.services.prisma, org.id, 'WE CALL IT BEAR')).id);
  });
  afterAll(() => t?.dispose());

  const extensionsOf = async (query: string, variables: Record<string, unknown> = {}) => {
    const res = await t.admin.request(query, variables);
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const { argument, arguments: many } = res.errors![0]!.extensions as { argument: string; arguments?: string[] };
    return many ? { argument, arguments: many } : { argument };
  };

  test('an input object\'s field, a list position, a top-level argument', async () => {
    expect(await extensionsOf('mutation($i: CreateLearnerInput!) { createLearner(input: $i) { id } }', { i: { externalId: 'x', displayName: 'n'.repeat(201) } }))
      .toEqual({ argument: 'input.displayName' });
    expect(await extensionsOf('mutation($i: CreateLearnerInput!) { createLearner(input: $i) { id } }', { i: { externalId: 'y', groups: ['a', ' '] } }))
      .toEqual({ argument: 'input.groups.1' });
    expect(await extensionsOf('mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { key } }', { i: { name: '  ', scopes: ['SCORES_READ'] } }))
      .toEqual({ argument: 'input.name' });
    expect(await extensionsOf('mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { key } }', { i: { name: 'k', scopes: [] } }))
      .toEqual({ argument: 'input.scopes' });
    expect(await extensionsOf('{ learners(first: 101) { totalCount } }')).toEqual({ argument: 'first' });
    expect(await extensionsOf('{ learners(before: "bm90IGEgY3Vyc29y", last: 2) { totalCount } }')).toEqual({ argument: 'before' });
    expect(await extensionsOf('{ learners(filter: {search: "' + 's'.repeat(201) + '"}) { totalCount } }')).toEqual({ argument: 'filter.search' });
    expect(await extensionsOf('{ groups(search: "' + 's'.repeat(201) + '") { totalCount } }')).toEqual({ argument: 'search' });
    expect(await extensionsOf('mutation($id: ID!) { reassessUtterance(utteranceId: $id, idempotencyKey: "") { id } }', { id: utteranceId }))
      .toEqual({ argument: 'idempotencyKey' });
  });

  test('a nested field\'s argument, under an alias', async () => {
    expect(await extensionsOf('query($id: ID!) { l: learner(id: $id) { p: progress(timeZone: "Mars/Olympus") { timeZone } } }', { id: learnerId }))
      .toEqual({ argument: 'timeZone' });
    expect(await extensionsOf('query($id: ID!) { utterance(id: $id) { audioUrl(expiresInSeconds: 0) } }', { id: utteranceId }))
      .toEqual({ argument: 'expiresInSeconds' });
  });

  test('several inputs together: every one listed, the first as argument', async () => {
    expect(await extensionsOf('{ learners(first: 1, last: 1) { totalCount } }')).toEqual({ argument: 'first', arguments: ['first', 'last'] });
    expect(await extensionsOf('{ utterances(filter: {createdAfter: "2026-02-01T00:00:00Z", createdBefore: "2026-01-01T00:00:00Z"}) { totalCount } }'))
      .toEqual({ argument: 'filter.createdAfter', arguments: ['filter.createdAfter', 'filter.createdBefore'] });
    expect(await extensionsOf('mutation($id: ID!) { updateLearner(id: $id, input: {groups: ["a"], removeGroups: ["b"]}) { id } }', { id: learnerId }))
      .toEqual({ argument: 'input.groups', arguments: ['input.groups', 'input.removeGroups'] });
    expect(await extensionsOf('mutation($l: ID!) { reassessUtterances(input: {learnerId: $l, wholeOrganisation: true}) { id } }', { l: learnerId }))
      .toEqual({ argument: 'input.learnerId', arguments: ['input.learnerId', 'input.wholeOrganisation'] });
    expect(await extensionsOf('mutation { reassessUtterances(input: {}) { id } }'))
      .toEqual({ argument: 'input.learnerId', arguments: ['input.learnerId', 'input.groupExternalId', 'input.wholeOrganisation'] });
  });

  test('an empty time window on the event, audit and delivery lists: both bounds named, not an empty page', async () => {
    const [early, late] = ['"2026-01-01T00:00:00Z"', '"2026-02-01T00:00:00Z"'];
    const both = (prefix: string) => ({ argument: `${prefix}since`, arguments: [`${prefix}since`, `${prefix}until`] });
    for (const [since, until] of [[late, early], [early, early]]) {
      const window = `since: ${since}, until: ${until}`;
      expect(await extensionsOf(`{ events(filter: {${window}}) { totalCount } }`)).toEqual(both('filter.'));
      expect(await extensionsOf(`{ eventFeed(filter: {${window}}) { cursor } }`)).toEqual(both('filter.'));
      expect(await extensionsOf(`{ auditEvents(${window}) { totalCount } }`)).toEqual(both(''));
      expect(await extensionsOf(`{ webhookDeliveries(filter: {${window}}) { totalCount } }`)).toEqual(both('filter.'));
      expect(await extensionsOf(`{ gradeDeliveries(filter: {${window}}) { totalCount } }`)).toEqual(both('filter.'));
      expect(await extensionsOf(`{ xapiDeliveries(${window}) { totalCount } }`)).toEqual(both(''));
    }
    // A window with room in it still lists.
    const listed = await t.admin.request(`{ events(filter: {since: ${early}, until: ${late}}) { totalCount } }`);
    expect(listed.errors).toBeUndefined();
    expect(listed.data.events.totalCount).toEqual(expect.any(Number));
  });

  test('a rater\'s labels: the path down to the offending score', async () => {
    const labels = {
      sentence: { accuracy: 8, fluency: 8, prosody: 8, completeness: 10, total: 8 },
      words: ['WE', 'CALL', 'IT', 'BEAR'].map((text, i) => ({ text, accuracy: i === 2 ? 11 : 9, stress: 10, total: 9, phonemes: text === 'WE' || text === 'IT' ? [2, 2] : [2, 2, 2] })),
    };
    expect(await extensionsOf('mutation($u: ID!, $l: HumanLabelsInput!) { attachHumanLabels(utteranceId: $u, labels: $l) { id } }', { u: utteranceId, l: labels }))
      .toEqual({ argument: 'labels.words.2.accuracy' });
  });

  test("a variable the request's coercion refuses is named in extensions.variable, down to the list position", async () => {
    const variableOf = async (query: string, variables: Record<string, unknown>) => {
      const res = await t.admin.request(query, variables);
      expect(res.errors).toHaveLength(1);
      expect(res.errors![0]!.path).toBeUndefined();
      return res.errors![0]!.extensions;
    };
    const KEY = 'mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { key } }';
    expect(await variableOf(KEY, { i: { name: 'k', scopes: ['SCORES_READ', 'ROOT'] } })).toEqual({ code: 'BAD_USER_INPUT', variable: 'i.scopes.1' });
    expect(await variableOf(KEY, { i: { name: 'k' } })).toEqual({ code: 'BAD_USER_INPUT', variable: 'i' });
    expect(await variableOf(KEY, {})).toEqual({ code: 'BAD_USER_INPUT', variable: 'i' });
    expect(await variableOf('query($n: Int) { learners(first: $n) { totalCount } }', { n: 'ten' })).toEqual({ code: 'BAD_USER_INPUT', variable: 'n' });
    expect(await variableOf('query($f: LearnerFilter) { learners(filter: $f) { totalCount } }', { f: { group: 7, search: 'x' } })).toEqual({ code: 'BAD_USER_INPUT', variable: 'f.group' });
  });

  test('the HTTP export endpoints name the query parameter', async () => {
    const base = t.app.url.replace(/\/graphql$/, '');
    const get = async (p: string) => {
      const res = await fetch(`${base}${p}`, { headers: { authorization: `Bearer ${t.admin.apiKey}` } });
      expect(res.status).toBe(400);
      return ((await res.json()) as { errors: { extensions: Record<string, unknown> }[] }).errors[0]!.extensions;
    };
    expect(await get('/export/results?group=g&format=xml')).toEqual({ code: 'BAD_USER_INPUT', parameter: 'format' });
    expect(await get('/export/results?group=g&since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z'))
      .toEqual({ code: 'BAD_USER_INPUT', parameter: 'since', parameters: ['since', 'until'] });
    expect(await get('/export/results?learner=a&group=g')).toEqual({ code: 'BAD_USER_INPUT', parameter: 'learner', parameters: ['learner', 'group'] });
    expect(await get('/export/xapi?learner=a&format=csv')).toEqual({ code: 'BAD_USER_INPUT', parameter: 'format' });
    expect(await get('/export/xapi?learner=a&group=g')).toEqual({ code: 'BAD_USER_INPUT', parameter: 'learner', parameters: ['learner', 'group'] });
    expect(await get('/export/xapi?group=')).toEqual({ code: 'BAD_USER_INPUT', parameter: 'group' });
    // Neither: all three named; a conflict names the ones given.
    expect(await get('/export/results')).toEqual({ code: 'BAD_USER_INPUT', parameter: 'learner', parameters: ['learner', 'group', 'all'] });
    expect(await get('/export/xapi?all=true&group=g')).toEqual({ code: 'BAD_USER_INPUT', parameter: 'group', parameters: ['group', 'all'] });
    expect(await get('/export/results?all=yes')).toEqual({ code: 'BAD_USER_INPUT', parameter: 'all' });
    // A typo'd parameter is named, not ignored (with all=true it would export everything).
    expect(await get('/export/results?all=true&sinse=2026-01-01T00:00:00Z')).toEqual({ code: 'BAD_USER_INPUT', parameter: 'sinse' });
    expect(await get('/export/xapi?all=true&since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z'))
      .toEqual({ code: 'BAD_USER_INPUT', parameter: 'since', parameters: ['since', 'until'] });
  });
});
