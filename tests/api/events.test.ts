/**
 * The events feed (`Query.events`): what webhooks carry, listed for integrations that poll or catch
 * up. Real uploads through HTTP write the events; a real webhook receiver started here gets the same
 * events, and the feed must list exactly them (same webhook-ids, same bodies), newest first, with
 * its filters, paging, scope and tenancy, on both databases.
 */
import { readFileSync } from 'node:fs';
import { startTestApp, testDatabases, waitForJob, type TestApp } from '../support/app.js';
import { errorCode } from '../support/client.js';
import { Receiver, verifyStandardWebhook } from '../support/receiver.js';
import { keyWithScopes, otherOrganization } from '../support/seed.js';
import { speechLikeWav } from '../support/audio-fixtures.js';

const DATABASES = await testDatabases();

const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { utterance { id } job { id } } }`;
const EVENTS = `query($first: Int, $after: String, $last: Int, $before: String, $filter: EventFilter) {
  events(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id type createdAt payload } } } }`;

interface EventNode { id: string; type: string; createdAt: string; payload: { type: string; timestamp: string; data: any } }

describe.each(DATABASES)('the events feed on %s', (kind) => {
  let t: TestApp;
  const receiver = new Receiver();
  const learners: string[] = [];

  const events = async (variables: Record<string, unknown> = {}) => {
    const res = await t.admin.request(EVENTS, { first: 50, ...variables });
    expect(res.errors).toBeUndefined();
    return res.data.events as { totalCount: number; pageInfo: Record<string, unknown>; edges: { cursor: string; node: EventNode }[] };
  };
  const nodes = async (variables: Record<string, unknown> = {}) => (await events(variables)).edges.map((e) => e.node);

  beforeAll(async () => {
    await receiver.start();
    t = await startTestApp(kind, { webhookAllowedPrivateNetworks: ['127.0.0.1'], webhookAllowHttp: true });
    const endpoint = await t.admin.request(`mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret } }`, {
      // Subscribed to one type only: the feed lists the others all the same.
      input: { url: receiver.url, eventTypes: ['assessment.completed'] },
    });
    expect(endpoint.errors).toBeUndefined();
    for (const externalId of [`events-a-${kind}`, `events-b-${kind}`]) {
      const created = await t.admin.request(`mutation($e: String!) { createLearner(input: {externalId: $e}) { id } }`, { e: externalId });
      learners.push(created.data.createLearner.id);
      const up = await t.admin.upload(SUBMIT, { input: { learnerId: created.data.createLearner.id, referenceText: 'We call it bear', audio: null } }, 'variables.input.audio', {
        bytes: speechLikeWav(1.5), name: 'take.wav',
      });
      expect(up.errors).toBeUndefined();
      expect((await waitForJob(t.admin, up.data.submitUtterance.job.id)).status).toBe('SUCCEEDED');
    }
    await receiver.waitForCount(2);
  }, 180_000);
  afterAll(async () => {
    await t?.dispose();
    await receiver.stop();
  });

  test('lists what the webhooks carried (the same webhook-ids and bodies) and the events no endpoint took, newest first', async () => {
    const page = await events();
    expect(page.totalCount).toBe(4);
    const delivered = new Map(receiver.delivered().map((r) => [r.id, JSON.parse(r.body)]));
    const completed = page.edges.filter((e) => e.node.type === 'assessment.completed');
    expect(new Set(completed.map((e) => e.node.id))).toEqual(new Set(delivered.keys()));
    for (const { node } of completed) expect(node.payload).toEqual(delivered.get(node.id));
    // Newest first, in the database's order (createdAt, then id), each with its stored body.
    const rows = await t.app.services.prisma.outboxEvent.findMany({ orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
    expect(page.edges.map((e) => e.node.id)).toEqual(rows.map((r) => `msg_${r.id.replace(/-/g, '')}`));
    page.edges.forEach(({ node }, i) => {
      expect(node.payload).toEqual(JSON.parse(rows[i]!.body));
      expect(node.type).toBe(node.payload.type);
      expect(new Date(node.createdAt).toISOString()).toBe(node.payload.timestamp);
    });
    expect(page.edges.map((e) => e.node.type)).toEqual(['assessment.completed', 'utterance.submitted', 'assessment.completed', 'utterance.submitted']);
  });

  test('filters by type, learner and time, and pages both ways', async () => {
    const all = await nodes();
    const completed = await nodes({ filter: { types: ['assessment.completed'] } });
    expect(completed.map((n) => n.id)).toEqual(all.filter((n) => n.type === 'assessment.completed').map((n) => n.id));
    expect(await nodes({ filter: { types: ['assessment.failed', 'humanLabels.attached'] } })).toEqual([]);
    const [a, b] = learners;
    const ofA = await nodes({ filter: { learnerId: a } });
    expect(ofA).toHaveLength(2);
    expect(ofA.every((n) => n.payload.data.learner.id === a)).toBe(true);
    expect((await nodes({ filter: { learnerId: b, types: ['utterance.submitted'] } })).map((n) => n.payload.data.learner.id)).toEqual([b]);
    // An id of another type matches nothing.
    const utteranceId = ofA.find((n) => n.type === 'utterance.submitted')!.payload.data.utterance.id;
    expect(await nodes({ filter: { learnerId: utteranceId } })).toEqual([]);
    // since is inclusive, until exclusive: B's events are at or after B's submission.
    const bSubmitted = all.find((n) => n.type === 'utterance.submitted' && n.payload.data.learner.id === b)!;
    const since = await nodes({ filter: { since: bSubmitted.createdAt } });
    expect(since.map((n) => n.id)).toEqual(all.filter((n) => n.createdAt >= bSubmitted.createdAt).map((n) => n.id));
    expect(since.map((n) => n.id)).toContain(bSubmitted.id);
    const until = await nodes({ filter: { until: bSubmitted.createdAt } });
    expect(until.map((n) => n.id)).toEqual(all.filter((n) => n.createdAt < bSubmitted.createdAt).map((n) => n.id));

    // Forward one at a time, then backward from the end: every event once, newest first.
    const forward: string[] = [];
    let after: string | undefined;
    for (;;) {
      const p = await events({ first: 1, after });
      forward.push(...p.edges.map((e) => e.node.id));
      if (!p.pageInfo.hasNextPage) break;
      after = p.pageInfo.endCursor as string;
    }
    expect(forward).toEqual(all.map((n) => n.id));
    const oldest = await events({ first: undefined, last: 2 });
    expect(oldest.edges.map((e) => e.node.id)).toEqual(all.slice(-2).map((n) => n.id));
    expect(oldest.pageInfo.hasPreviousPage).toBe(true);
    // And forward in time from there by `before`, one at a time, back to the newest.
    const backward: string[] = [];
    let before = oldest.pageInfo.startCursor as string;
    for (;;) {
      const p = await events({ first: undefined, last: 1, before });
      backward.push(...p.edges.map((e) => e.node.id));
      if (!p.pageInfo.hasPreviousPage) break;
      before = p.pageInfo.startCursor as string;
    }
    expect(backward).toEqual(all.slice(0, -2).map((n) => n.id).reverse());
  });

  test('bad input is BAD_USER_INPUT naming what is allowed', async () => {
    const typo = await t.admin.request(EVENTS, { filter: { types: ['assessment.complete'] } });
    expect(errorCode(typo)).toBe('BAD_USER_INPUT');
    expect(typo.errors![0]!.message).toContain('assessment.completed');
    expect(typo.errors![0]!.extensions!.eventTypes).toContain('bulkOperation.completed');
    const empty = await t.admin.request(EVENTS, { filter: { types: [] } });
    expect([errorCode(empty), empty.errors![0]!.message]).toEqual(['BAD_USER_INPUT', expect.stringContaining('at least one')]);
    expect(errorCode(await t.admin.request(EVENTS, { first: 101 }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await t.admin.request(EVENTS, { first: 1, after: 'not-a-cursor' }))).toBe('BAD_USER_INPUT');
  });

  test('SCORES_READ reads the feed; a key that may only write may not; another organisation sees none of it', async () => {
    const reader = await keyWithScopes(t, ['SCORES_READ']);
    const read = await reader.request(EVENTS, { first: 50 });
    expect(read.errors).toBeUndefined();
    expect(read.data.events.totalCount).toBe(4);
    const writer = await keyWithScopes(t, ['ASSESS_WRITE']);
    const refused = await writer.request(EVENTS, { first: 50 });
    expect(errorCode(refused)).toBe('FORBIDDEN');
    expect(refused.data).toBeNull();
    const { client: other } = await otherOrganization(t);
    const theirs = await other.request(EVENTS, { first: 50, filter: { learnerId: learners[0] } });
    expect(theirs.data.events).toMatchObject({ totalCount: 0, edges: [] });
    expect((await other.request(EVENTS, { first: 50 })).data.events.totalCount).toBe(0);
  });

  test("the README's events query runs as written", async () => {
    const readme = readFileSync('README.md', 'utf8');
    const section = readme.slice(readme.indexOf('#### Polling instead: the events feed'));
    const query = [...section.matchAll(/```graphql\n([\s\S]*?)```/g)].map((m) => m[1]!).find((q) => q.includes('{ events('))!;
    const res = await t.admin.request(query);
    expect(res.errors).toBeUndefined();
    expect(res.data.events.edges.map((e: { node: EventNode }) => e.node.type)).toEqual(['assessment.completed', 'assessment.completed']);
    expect(res.data.events.pageInfo).toMatchObject({ hasNextPage: false, endCursor: expect.any(String) });
  });

  test("erasing a learner deletes the learner's events from the feed, and one learner.erased event tells subscribers", async () => {
    const [a, b] = learners;
    const erasures = new Receiver();
    await erasures.start();
    try {
      const endpoint = await t.admin.request(`mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret } }`, {
        input: { url: erasures.url, eventTypes: ['learner.erased'] },
      });
      expect(endpoint.errors).toBeUndefined();
      const erased = await t.admin.request(`mutation($id: ID!) { eraseLearner(id: $id) { utterances assessments } }`, { id: a });
      expect(erased.errors).toBeUndefined();
      expect(await nodes({ filter: { learnerId: a } })).toEqual([]);
      const left = await nodes();
      expect(left).toHaveLength(3);
      const [notice, ...rest] = left;
      expect(rest.every((n) => n.payload.data.learner.id === b)).toBe(true);
      // Newest, not the learner's (so it stays), with what a receiver needs to find its copies.
      expect(notice!.type).toBe('learner.erased');
      expect(notice!.payload.data).toEqual({ learner: { id: a, externalId: `events-a-${kind}` }, ...erased.data.eraseLearner });
      expect(erased.data.eraseLearner).toEqual({ utterances: 1, assessments: 1 });
      expect(await nodes({ filter: { types: ['learner.erased'] } })).toEqual([notice]);
      // The endpoint subscribed to erasures gets that event, signed like any other, and nothing else.
      await erasures.waitForCount(1);
      const [delivered] = erasures.delivered();
      expect(delivered!.type).toBe('learner.erased');
      expect(delivered!.id).toBe(notice!.id);
      expect(JSON.parse(delivered!.body)).toEqual(notice!.payload);
      expect(() => verifyStandardWebhook(endpoint.data.createWebhookEndpoint.secret, erasures.received[0]!)).not.toThrow();
      expect(erasures.received).toHaveLength(1);
    } finally {
      await erasures.stop();
    }
  });
});
