/**
 * Introspection's repeats are limited, through the real HTTP server: one `__schema` and at most 10
 * `__type` per operation, no alias inside an introspection selection, so aliases cannot multiply a
 * schema-sized answer (graphql-js's validation already refuses deep walks); the introspection
 * queries that tools send (GraphiQL, Apollo Sandbox, graphql-codegen: graphql-js's
 * getIntrospectionQuery, with or without its options) still pass.
 */
import { getIntrospectionQuery } from 'graphql';
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { errorCode, GqlClient, type GqlResponse } from '../support/client.js';
import { keyWithScopes } from '../support/seed.js';

const [DATABASE] = await testDatabases();
const FLAT = 'types { name description fields(includeDeprecated: true) { name description args { name description type { name } } type { name ofType { name } } } inputFields { name description } enumValues { name description } }';

function expectLimit(res: GqlResponse, limit: string) {
  expect(res.status).toBe(400);
  expect(res.data ?? null).toBeNull();
  expect(errorCode(res)).toBe('QUERY_TOO_COMPLEX');
  expect(res.errors![0]!.extensions!.limit).toBe(limit);
}

describe('introspection in the query limits', () => {
  let t: TestApp;
  let reader: GqlClient;

  beforeAll(async () => {
    t = await startTestApp(DATABASE!, { inProcessWorker: false });
    reader = await keyWithScopes(t, ['SCORES_READ']);
  }, 120_000);
  afterAll(() => t?.dispose());

  test('30 aliased __schema are refused (each a schema-sized answer)', async () => {
    const res = await reader.request(`{ ${Array.from({ length: 30 }, (_, i) => `a${i}: __schema { ${FLAT} }`).join(' ')} }`);
    expectLimit(res, 'introspection');
    expect(res.errors![0]!.extensions).toMatchObject({ max: 1, actual: 30 });
  });

  test('two __schema under one response key are one field, and pass', async () => {
    const res = await reader.request(`{ __schema { queryType { name } } ... on Query { __schema { types { name } } } }`);
    expect(res.errors).toBeUndefined();
    expect(res.data.__schema.queryType.name).toBe('Query');
  });

  test('aliases inside an introspection selection are refused (each a copy of a schema-sized list)', async () => {
    const copies = Array.from({ length: 10 }, (_, i) => `f${i}: fields(includeDeprecated: true) { name args { name type { name } } }`).join(' ');
    const res = await reader.request(`{ __schema { types { name ${copies} } } }`);
    expectLimit(res, 'introspection');
    expect(res.errors![0]!.extensions).toMatchObject({ max: 0, actual: 10 });
    // in a fragment on an introspection type too
    const viaFragment = await reader.request(`{ __type(name: "Query") { ...F } } fragment F on __Type { a: name b: name }`);
    expectLimit(viaFragment, 'introspection');
  });

  test('more than 10 __type are refused; 10 pass', async () => {
    const types = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `t${i}: __type(name: "Query") { fields { name type { name ofType { name } } } }`).join(' ')} }`;
    const eleven = await reader.request(types(11));
    expectLimit(eleven, 'introspection');
    expect(eleven.errors![0]!.extensions).toMatchObject({ max: 10, actual: 11 });
    const ten = await reader.request(types(10));
    expect(ten.errors).toBeUndefined();
    expect(ten.data.t9.fields.map((f: any) => f.name)).toContain('learners');
  });

  test('a walk nesting fields within fields within fields is still refused (graphql-js validation)', async () => {
    // __type → fields → type → ofType → fields ...: five hops, each one list of fields deeper
    let walk = '';
    for (let i = 0; i < 5; i++) walk = `fields { name type { name ofType { name ${walk} } } }`;
    const res = await reader.request(`{ __type(name: "Query") { ${walk} } }`);
    expect(res.status).toBe(400);
    expect(errorCode(res)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(res.errors![0]!.message).toMatch(/introspection depth/i);
  });

  test.each([
    ['graphql-js defaults (GraphiQL)', {}],
    ['every option (Apollo Sandbox, graphql-codegen)', { descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true, oneOf: true }],
  ])('the standard introspection query passes: %s', async (_name, options) => {
    const res = await reader.request(getIntrospectionQuery(options as Parameters<typeof getIntrospectionQuery>[0]));
    expect(res.errors).toBeUndefined();
    expect(res.data.__schema.types.map((x: any) => x.name)).toEqual(expect.arrayContaining(['Utterance', 'LearnerGroup']));
  });

});
