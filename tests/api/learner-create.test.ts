/**
 * createLearner's CONFLICT names the learner that has the externalId (extensions.learnerId), so an
 * integration whose key only writes, and which lost the first answer, can still submit for it.
 */
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { errorCode } from '../support/client.js';
import { keyWithScopes, otherOrganization } from '../support/seed.js';

const DATABASES = await testDatabases();
const CREATE = `mutation($e: String!) { createLearner(input: {externalId: $e}) { id externalId } }`;

describe.each(DATABASES)('createLearner on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(kind, { inProcessWorker: false });
  });
  afterAll(() => t?.dispose());

  test('a taken externalId is CONFLICT naming the existing learner; nothing is written; another organisation is apart', async () => {
    const writer = await keyWithScopes(t, ['ASSESS_WRITE']);
    const first = await writer.request(CREATE, { e: 'lms-7' });
    expect(first.errors).toBeUndefined();
    const id = first.data.createLearner.id;
    const count = await t.app.services.prisma.learner.count();

    // The same externalId again (trimmed to the same), from a key that cannot read learners.
    const again = await writer.request(CREATE, { e: '  lms-7 ' });
    expect(errorCode(again)).toBe('CONFLICT');
    expect(again.errors![0]!.extensions).toEqual({ code: 'CONFLICT', externalId: 'lms-7', learnerId: id });
    expect(again.errors![0]!.message).toBe('A learner with externalId "lms-7" exists.');
    expect(await t.app.services.prisma.learner.count()).toBe(count);
    // The id it names is one the key can submit for (the write target is found).
    const submit = await writer.request(`mutation($l: ID!) { reassessUtterances(input: {learnerId: $l}) { id } }`, { l: again.errors![0]!.extensions!.learnerId });
    expect(submit.errors).toBeUndefined();

    // Another organisation's learner with the same externalId is its own.
    const { client: foreign } = await otherOrganization(t, ['ASSESS_WRITE']);
    const theirs = await foreign.request(CREATE, { e: 'lms-7' });
    expect(theirs.errors).toBeUndefined();
    expect(theirs.data.createLearner.id).not.toBe(id);
    const theirsAgain = await foreign.request(CREATE, { e: 'lms-7' });
    expect(theirsAgain.errors![0]!.extensions!.learnerId).toBe(theirs.data.createLearner.id);
  });
});
