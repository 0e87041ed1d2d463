/**
 * A group's analytics run their own aggregate statements for each group (unbatched), so the query
 * cost weighs each evaluation as AGGREGATE_FIELD_COST fields, through the real HTTP server: a page
 * of groups times aliased analytics is refused before any statement runs, while a dashboard (one
 * group with every analytic, a page of 20 groups with a few) still fits the default limit.
 */
import { buildSchema, getNamedType, isLeafType } from 'graphql';
import { readFileSync } from 'node:fs';
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { errorCode, GqlClient, type GqlResponse } from '../support/client.js';
import { keyWithScopes } from '../support/seed.js';
import { loadConfig } from '../../src/config.js';
import { AGGREGATE_FIELD_COST } from '../../src/graphql/limits.js';

const [DATABASE] = await testDatabases();
const DEFAULTS = loadConfig({});
const SCHEMA = buildSchema(readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8'));
/** LearnerGroup fields answered from the group's own row, not by an aggregate over its learners' history. */
const PLAIN_GROUP_FIELDS = ['externalId', 'learnerCount'];

function expectCost(res: GqlResponse): number {
  expect(res.status).toBe(400);
  expect(errorCode(res)).toBe('QUERY_TOO_COMPLEX');
  expect(res.errors![0]!.extensions!.limit).toBe('cost');
  return res.errors![0]!.extensions!.actual as number;
}

describe('per-group aggregates in the query cost', () => {
  let t: TestApp;
  let measuring: TestApp;
  let reader: GqlClient;
  let measurer: GqlClient;
  const statements: string[] = [];

  beforeAll(async () => {
    t = await startTestApp(DATABASE!, { inProcessWorker: false }, { onQuery: (sql) => statements.push(sql) });
    measuring = await startTestApp(DATABASE!, { inProcessWorker: false, maxQueryCost: 1 });
    reader = await keyWithScopes(t, ['SCORES_READ']);
    measurer = await keyWithScopes(measuring, ['SCORES_READ']);
    for (let i = 0; i < 25; i++) {
      const res = await t.admin.request(`mutation($i: CreateLearnerInput!) { createLearner(input: $i) { id } }`, {
        i: { externalId: `agg-${i}`, groups: [`class-${String(i).padStart(2, '0')}`] },
      });
      expect(res.errors).toBeUndefined();
    }
  }, 120_000);
  afterAll(async () => {
    await t?.dispose();
    await measuring?.dispose();
  });

  test('30 aliased droppedLearnerCount over a page of 100 groups are refused before any aggregate runs', async () => {
    const counts = Array.from({ length: 30 }, (_, i) => `d${i}: droppedLearnerCount(latest: ${1000 - i}, minDrop: -100)`).join(' ');
    statements.length = 0;
    const actual = expectCost(await reader.request(`{ groups(first: 100) { edges { node { ${counts} } } } }`));
    expect(actual).toBeGreaterThanOrEqual(100 * 30 * AGGREGATE_FIELD_COST);
    // droppedLearnerCount reads the learners' score histograms: not one such statement ran
    expect(statements.filter((s) => s.includes('LearnerScoreRollup'))).toEqual([]);
  });

  test('every LearnerGroup analytic weighs AGGREGATE_FIELD_COST per group, multiplied by the groups of the page', async () => {
    const group = SCHEMA.getType('LearnerGroup') as import('graphql').GraphQLObjectType;
    for (const field of Object.values(group.getFields())) {
      const selection = isLeafType(getNamedType(field.type)) ? field.name : `${field.name} { __typename }`;
      const one = expectCost(await measurer.request(`{ group(externalId: "class-00") { ${selection} } }`));
      const weight = PLAIN_GROUP_FIELDS.includes(field.name) ? 1 : AGGREGATE_FIELD_COST;
      expect({ field: field.name, atLeast: one >= 1 + weight, below: one < 1 + weight + 1000 }).toEqual({ field: field.name, atLeast: true, below: true });
      const page = expectCost(await measurer.request(`{ groups(first: 20) { edges { node { ${selection} } } } }`));
      expect({ field: field.name, page: page >= 20 * weight }).toEqual({ field: field.name, page: true });
    }
  });

  test('compareGroups weighs its aspects and sounds, and each side as a group', async () => {
    expect(expectCost(await measurer.request(`{ compareGroups(a: "x", b: "y") { aspects { aspect } sounds { phoneme } } }`)))
      .toBeGreaterThanOrEqual(2 * AGGREGATE_FIELD_COST);
    expect(expectCost(await measurer.request(`{ compareGroups(a: "x", b: "y") { a { droppedLearnerCount } b { inactiveLearnerCount } } }`)))
      .toBeGreaterThanOrEqual(2 * AGGREGATE_FIELD_COST);
  });

  test('one group with every analytic fits the default limit', async () => {
    const res = await reader.request(`{ group(externalId: "class-00") {
      externalId learnerCount
      progress { aspects { aspect series { count } } }
      scoreDistribution { aspect count mean median }
      weakSounds { phoneme errors } weakWords { word errors } soundChanges { phoneme }
      hardestTexts { meanTotal }
      droppedLearners { learner { externalId } drop cursor } droppedLearnerCount
      inactiveLearners { learner { externalId } lastPracticeAt cursor } inactiveLearnerCount } }`);
    expect(res.errors).toBeUndefined();
    expect(res.data.group).toMatchObject({ externalId: 'class-00', learnerCount: 1, inactiveLearnerCount: 1, droppedLearnerCount: 0 });
  });

  test('a page of 20 groups with five analytics fits the default limit, and so does a page of 100 with one', async () => {
    const twenty = await reader.request(`{ groups(first: 20) { edges { node {
      externalId learnerCount inactiveLearnerCount droppedLearnerCount weakSounds { phoneme errors }
      hardestTexts { meanTotal } scoreDistribution { aspect mean } } } } }`);
    expect(twenty.errors).toBeUndefined();
    expect(twenty.data.groups.edges).toHaveLength(20);
    expect(twenty.data.groups.edges.every((e: any) => e.node.inactiveLearnerCount === 1)).toBe(true);
    const hundred = await reader.request(`{ groups(first: 100) { edges { node { externalId learnerCount inactiveLearnerCount } } } }`);
    expect(hundred.errors).toBeUndefined();
    expect(hundred.data.groups.edges).toHaveLength(25);
    expect(DEFAULTS.maxQueryCost).toBe(50_000);
  });
});
