/**
 * Forged cursors that decode to something the database cannot take are BAD_USER_INPUT naming the
 * argument, not INTERNAL_SERVER_ERROR, through the real HTTP server on both databases: a rank
 * cursor (inactiveLearners) whose instant lies outside the years 1000-9999 that the server writes
 * (year 0, negative and six-digit years fail PostgreSQL's timestamptz cast), and a group name
 * cursor holding a NUL (which PostgreSQL text cannot hold).
 */
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { errorCode } from '../support/client.js';

const DATABASES = await testDatabases();
const LEARNER_ID = '00000000-0000-4000-8000-000000000000';
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
/** What the server writes for inactiveLearners(days: 14): the kind, then [last practice, learner id] as JSON. */
const inactiveCursor = (instant: string | null) => b64(`inactive/14:${JSON.stringify([instant, LEARNER_ID])}`);

const INACTIVE = `query($after: String) { group(externalId: "class-f") { inactiveLearners(after: $after) { learner { externalId } cursor } } }`;
const GROUPS = `query($after: String, $before: String) { groups(first: 5, after: $after, before: $before) { edges { node { externalId } } } }`;

describe.each(DATABASES)('forged cursors on %s', (kind) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp(kind, { inProcessWorker: false });
    const res = await t.admin.request(`mutation { createLearner(input: {externalId: "forged-1", groups: ["class-f"]}) { id } }`);
    expect(res.errors).toBeUndefined();
  }, 120_000);
  afterAll(() => t?.dispose());

  test.each(['0000-01-01T00:00:00.000Z', '-000001-01-01T00:00:00.000Z', '+275760-09-13T00:00:00.000Z', '0999-12-31T23:59:59.999Z'])(
    'a rank cursor at %s is BAD_USER_INPUT naming after',
    async (instant) => {
      const res = await t.admin.request(INACTIVE, { after: inactiveCursor(instant) });
      expect(errorCode(res)).toBe('BAD_USER_INPUT');
      expect(res.errors![0]!.extensions!.argument).toBe('after');
    },
  );

  test('rank cursors at instants the server can write still page', async () => {
    for (const instant of ['1000-01-01T00:00:00.000Z', '2026-01-05T10:00:00.000Z', null]) {
      const res = await t.admin.request(INACTIVE, { after: inactiveCursor(instant) });
      expect({ instant, errors: res.errors }).toEqual({ instant, errors: undefined });
    }
    // the learner never practised: listed first, so after any dated cursor there is no one
    const whole = await t.admin.request(INACTIVE, {});
    expect(whole.data.group.inactiveLearners.map((l: any) => l.learner.externalId)).toEqual(['forged-1']);
  });

  test.each(['after', 'before'])('a group name cursor holding a NUL is BAD_USER_INPUT naming %s', async (argument) => {
    const res = await t.admin.request(GROUPS, { [argument]: b64('name:a\u0000b') });
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.errors![0]!.extensions!.argument).toBe(argument);
    // an ordinary name cursor pages
    const ok = await t.admin.request(GROUPS, { [argument]: b64('name:class-a') });
    expect(ok.errors).toBeUndefined();
  });
});
