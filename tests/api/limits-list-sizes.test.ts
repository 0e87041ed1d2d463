/**
 * Query cost counts what each list can really return, through the real HTTP server: a list field
 * with `first` counts its page (its schema default, or its documented default, when omitted), a
 * list argument (`ids`, `externalIds`) one item per entry, `eventFeed` its page of events (100 when
 * `first` is omitted). A second server with a cost limit of 1 refuses everything and reports the
 * measured cost in `extensions.actual`, so each count is read back exactly.
 */
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { errorCode, GqlClient, type GqlResponse } from '../support/client.js';
import { keyWithScopes } from '../support/seed.js';
import { loadConfig } from '../../src/config.js';

const [DATABASE] = await testDatabases();
const DEFAULTS = loadConfig({});
const UTTERANCE = 'id referenceText createdAt normalizedText metadata audioRemovedAt';
const ids = (n: number) => Array.from({ length: n }, (_, i) => `ext-${i}`);

function expectCost(res: GqlResponse): number {
  expect(res.status).toBe(400);
  expect(errorCode(res)).toBe('QUERY_TOO_COMPLEX');
  expect(res.errors![0]!.extensions!.limit).toBe('cost');
  return res.errors![0]!.extensions!.actual as number;
}

describe('list sizes in the query cost', () => {
  let t: TestApp;
  let measuring: TestApp;
  let reader: GqlClient;
  let measure: (query: string, variables?: Record<string, unknown>) => Promise<number>;

  beforeAll(async () => {
    t = await startTestApp(DATABASE!, { inProcessWorker: false });
    measuring = await startTestApp(DATABASE!, { inProcessWorker: false, maxQueryCost: 1 });
    reader = await keyWithScopes(t, ['SCORES_READ']);
    const measurer = await keyWithScopes(measuring, ['SCORES_READ']);
    measure = async (query, variables = {}) => expectCost(await measurer.request(query, variables));
  }, 120_000);
  afterAll(async () => {
    await t?.dispose();
    await measuring?.dispose();
  });

  test('learnersByExternalIds with 100 ids, each with a page of 100 utterances, is refused (it counted as 10 learners)', async () => {
    const query = `query($ids: [String!]!) { learnersByExternalIds(externalIds: $ids) { id utterances(first: 100) { edges { node { ${UTTERANCE} } } } } }`;
    const actual = expectCost(await reader.request(query, { ids: ids(100) }));
    // 100 learners × (id + utterances + edges + 100 × (node + 6 fields)) + the root field
    expect(actual).toBe(1 + 100 * (1 + 1 + 1 + 100 * 7));
    expect(actual).toBeGreaterThan(DEFAULTS.maxQueryCost);
    // a roster page of 5 fits
    const five = await reader.request(query, { ids: ids(5) });
    expect(five.errors).toBeUndefined();
    expect(five.data.learnersByExternalIds).toEqual([null, null, null, null, null]);
  });

  test('a list argument counts one item per entry, as literal or variable, at most 100', async () => {
    expect(await measure(`query($ids: [String!]!) { learnersByExternalIds(externalIds: $ids) { id } }`, { ids: ids(37) })).toBe(1 + 37);
    expect(await measure(`{ learnersByExternalIds(externalIds: ["a", "b", "c"]) { id } }`)).toBe(1 + 3);
    expect(await measure(`{ nodes(ids: ["a", "b"]) { id } }`)).toBe(1 + 2);
    // more than 100 is the resolver's BAD_USER_INPUT; the cost counts the 100 it could answer
    expect(await measure(`query($ids: [String!]!) { learnersByExternalIds(externalIds: $ids) { id } }`, { ids: ids(150) })).toBe(1 + 100);
  });

  test('eventFeed counts its page of events: 100 when first is omitted, else first', async () => {
    expect(await measure(`{ eventFeed { events { id type createdAt payload } cursor } }`)).toBe(1 + 1 + 100 * 4 + 1);
    expect(await measure(`{ eventFeed(first: 5) { events { id } } }`)).toBe(1 + 1 + 5);
    expect(await measure(`query($n: Int) { eventFeed(first: $n) { events { id } } }`, { n: 30 })).toBe(1 + 1 + 30);
  });

  test('a list with first counts first, or its schema default (soundProfile 40, wordProfile 20)', async () => {
    expect(await measure(`{ learners(first: 2) { edges { node { soundProfile { phoneme } wordProfile(first: 7) { word } } } } }`))
      .toBe(1 + 1 + 2 * (1 + (1 + 40) + (1 + 7)));
    // exampleWords (a list of strings) is one field per sound, 2 sounds
    expect(await measure(`{ learners(first: 1) { edges { node { soundProfile(first: 2) { phoneme exampleWords } } } } }`))
      .toBe(1 + 1 + 1 * (1 + (1 + 2 * 2)));
  });

  test("a page of groups' inactiveLearners counts their first, each with its learner's connections", async () => {
    const query = `{ groups(first: 10) { edges { node { inactiveLearners(first: 100) { learner { utterances(first: 40) { edges { node { ${UTTERANCE} } } } } } } } } }`;
    const actual = expectCost(await reader.request(query));
    // 10 groups × 100 learners × 40 utterances × 7 fields: far over, whatever a group's analytic weighs
    expect(actual).toBeGreaterThan(10 * 100 * 40 * 7);
  });
});
