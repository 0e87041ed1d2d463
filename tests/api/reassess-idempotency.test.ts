/**
 * reassessUtterance(idempotencyKey:): a retry after a lost answer returns the job the key first
 * created (one job, so one assessment, one webhook, one grade); the same key for another utterance
 * is CONFLICT naming the difference and writes nothing; two requests at once with one key get one
 * job; keys are per organisation.
 */
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { errorCode } from '../support/client.js';
import { keyWithScopes, otherOrganization, seedUtterance } from '../support/seed.js';
import { toGlobalId } from '../../src/graphql/ids.js';

const DATABASES = await testDatabases();
const REASSESS = `mutation($u: ID!, $k: String) { reassessUtterance(utteranceId: $u, idempotencyKey: $k) { id status priority } }`;

describe.each(DATABASES)('reassessUtterance idempotency on %s', (kind) => {
  let t: TestApp;
  let org: string;
  beforeAll(async () => {
    t = await startTestApp(kind, { inProcessWorker: false });
    org = (await t.app.services.prisma.organization.findFirstOrThrow({ orderBy: { createdAt: 'asc' } })).id;
  });
  afterAll(() => t?.dispose());
  const jobsOf = (utteranceId: string) => t.app.services.prisma.job.count({ where: { utteranceId } });

  test('the same key returns the first job; another utterance with it is CONFLICT; without a key each call queues', async () => {
    const writer = await keyWithScopes(t, ['ASSESS_WRITE']);
    const a = await seedUtterance(t.app.services.prisma, org, 'We call it bear');
    const b = await seedUtterance(t.app.services.prisma, org, 'A bear is here');
    const first = await writer.request(REASSESS, { u: toGlobalId('Utterance', a.id), k: 'regrade-a-1' });
    expect(first.errors).toBeUndefined();
    expect(first.data.reassessUtterance).toMatchObject({ status: 'QUEUED', priority: 'INTERACTIVE' });
    const retry = await writer.request(REASSESS, { u: toGlobalId('Utterance', a.id), k: 'regrade-a-1' });
    expect(retry.data.reassessUtterance.id).toBe(first.data.reassessUtterance.id);
    expect(await jobsOf(a.id)).toBe(1);

    const other = await writer.request(REASSESS, { u: toGlobalId('Utterance', b.id), k: 'regrade-a-1' });
    expect(errorCode(other)).toBe('CONFLICT');
    expect(other.errors![0]!.extensions).toMatchObject({ idempotencyKey: 'regrade-a-1', differs: ['utterance'] });
    expect(await jobsOf(b.id)).toBe(0);

    expect(errorCode(await writer.request(REASSESS, { u: toGlobalId('Utterance', b.id), k: '' }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await writer.request(REASSESS, { u: toGlobalId('Utterance', b.id), k: 'x'.repeat(256) }))).toBe('BAD_USER_INPUT');
    expect(await jobsOf(b.id)).toBe(0);

    // No key: every call is a new re-assessment.
    await writer.request(REASSESS, { u: toGlobalId('Utterance', b.id) });
    await writer.request(REASSESS, { u: toGlobalId('Utterance', b.id) });
    expect(await jobsOf(b.id)).toBe(2);
  });

  test('two requests at once with one key get one job', async () => {
    const writer = await keyWithScopes(t, ['ASSESS_WRITE']);
    const u = await seedUtterance(t.app.services.prisma, org, 'We call it bear');
    const both = await Promise.all([0, 1, 2].map(() => writer.request(REASSESS, { u: toGlobalId('Utterance', u.id), k: 'at-once' })));
    for (const r of both) expect(r.errors).toBeUndefined();
    expect(new Set(both.map((r) => r.data.reassessUtterance.id)).size).toBe(1);
    expect(await jobsOf(u.id)).toBe(1);
  });

  test('keys are per organisation', async () => {
    const writer = await keyWithScopes(t, ['ASSESS_WRITE']);
    const mine = await seedUtterance(t.app.services.prisma, org, 'We call it bear');
    const { client: foreign, org: { id: organizationId } } = await otherOrganization(t, ['ASSESS_WRITE']);
    const theirs = await seedUtterance(t.app.services.prisma, organizationId, 'We call it bear');
    const a = await writer.request(REASSESS, { u: toGlobalId('Utterance', mine.id), k: 'shared-key' });
    const b = await foreign.request(REASSESS, { u: toGlobalId('Utterance', theirs.id), k: 'shared-key' });
    expect(a.errors).toBeUndefined();
    expect(b.errors).toBeUndefined();
    expect(b.data.reassessUtterance.id).not.toBe(a.data.reassessUtterance.id);
    // and another organisation's utterance stays NOT_FOUND, key or not
    expect(errorCode(await foreign.request(REASSESS, { u: toGlobalId('Utterance', mine.id), k: 'shared-key' }))).toBe('NOT_FOUND');
  });
});
