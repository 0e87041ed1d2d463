/**
 * The event feed (`Query.eventFeed`): events oldest first in the order they became readable, after a
 * cursor, for integrations that poll. Real uploads through HTTP write the events. The feed must list
 * every event once, in order, through cursors, with filters, scope and tenancy, on both databases;
 * and on PostgreSQL, an event whose transaction commits after a later event's was read must still
 * come, where a poller resuming from the newest `createdAt` it saw would skip it.
 */
import { readFileSync } from 'node:fs';
import { startTestApp, testDatabases, waitForJob, type TestApp } from '../support/app.js';
import { errorCode, type GqlClient } from '../support/client.js';
import { keyWithScopes, otherOrganization } from '../support/seed.js';
import { speechLikeWav } from '../support/audio-fixtures.js';
import { emitEvent } from '../../src/outbox/events.js';
import { sequenceFeed } from '../../src/outbox/feed.js';

const DATABASES = await testDatabases();

const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { utterance { id } job { id } } }`;
const FEED = `query($first: Int, $after: String, $filter: EventFilter) {
  eventFeed(first: $first, after: $after, filter: $filter) { events { id type createdAt payload } cursor hasMore } }`;
const EVENTS = `{ events(first: 100) { edges { node { id type createdAt } } } }`;

interface FeedEvent { id: string; type: string; createdAt: string; payload: { type: string; timestamp: string; data: any } }
interface FeedPage { events: FeedEvent[]; cursor: string; hasMore: boolean }

const readFeed = async (client: GqlClient, variables: Record<string, unknown> = {}): Promise<FeedPage> => {
  const res = await client.request(FEED, variables);
  expect(res.errors).toBeUndefined();
  return res.data.eventFeed as FeedPage;
};

/** Every event after `after`, page by page as an integration reads them; the pages and the cursor it ends on. */
const drain = async (client: GqlClient, first: number, after?: string, filter?: unknown) => {
  const pages: FeedPage[] = [];
  let cursor = after;
  for (;;) {
    const page = await readFeed(client, { first, after: cursor, filter });
    pages.push(page);
    cursor = page.cursor;
    if (!page.hasMore) break;
    expect(pages.length).toBeLessThan(100);
  }
  return { events: pages.flatMap((p) => p.events), pages, cursor: cursor! };
};

const rowId = (webhookId: string) => webhookId.replace(/^msg_(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');

describe.each(DATABASES)('the event feed on %s', (kind) => {
  let t: TestApp;
  let organizationId: string;
  const learners: string[] = [];

  const submit = async (learnerId: string) => {
    const up = await t.admin.upload(SUBMIT, { input: { learnerId, referenceText: 'We call it bear', audio: null } }, 'variables.input.audio', {
      bytes: speechLikeWav(1.5), name: 'take.wav',
    });
    expect(up.errors).toBeUndefined();
    expect((await waitForJob(t.admin, up.data.submitUtterance.job.id)).status).toBe('SUCCEEDED');
  };

  beforeAll(async () => {
    t = await startTestApp(kind);
    organizationId = (await t.app.services.prisma.organization.findFirstOrThrow({ orderBy: { createdAt: 'asc' } })).id;
    for (const externalId of [`feed-a-${kind}`, `feed-b-${kind}`]) {
      const created = await t.admin.request(`mutation($e: String!) { createLearner(input: {externalId: $e}) { id } }`, { e: externalId });
      learners.push(created.data.createLearner.id);
      await submit(created.data.createLearner.id);
    }
  }, 180_000);
  afterAll(async () => {
    await t?.dispose();
  });

  test('lists every event once, oldest first, page by page through the cursors, with the bodies the events list shows', async () => {
    const { events, pages, cursor } = await drain(t.admin, 1);
    // Two recordings: submitted, then completed, each.
    expect(events.map((e) => e.type)).toEqual(['utterance.submitted', 'assessment.completed', 'utterance.submitted', 'assessment.completed']);
    expect(pages.slice(0, -1).every((p) => p.hasMore && p.events.length === 1)).toBe(true);
    expect(pages.at(-1)).toMatchObject({ hasMore: false });
    const listed = (await t.admin.request(EVENTS)).data.events.edges.map((e: { node: FeedEvent }) => e.node.id);
    expect(new Set(events.map((e) => e.id))).toEqual(new Set(listed));
    expect(listed).toHaveLength(4);
    const rows = await t.app.services.prisma.outboxEvent.findMany({ where: { id: { in: events.map((e) => rowId(e.id)) } } });
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const e of events) {
      expect(e.payload).toEqual(JSON.parse(byId.get(rowId(e.id))!.body));
      expect(new Date(e.createdAt).toISOString()).toBe(e.payload.timestamp);
    }
    // In position order, which here is also the order they were made.
    const positions = events.map((e) => byId.get(rowId(e.id))!.feedPosition!);
    expect([...positions].sort((a, b) => (a < b ? -1 : 1))).toEqual(positions);
    expect(new Set(positions).size).toBe(4);
    // Caught up: the same cursor again, nothing new, until something happens.
    expect(await readFeed(t.admin, { after: cursor })).toEqual({ events: [], cursor, hasMore: false });
    await submit(learners[0]!);
    const next = await readFeed(t.admin, { after: cursor });
    expect(next.events.map((e) => e.type)).toEqual(['utterance.submitted', 'assessment.completed']);
    expect(next.events.every((e) => !events.some((old) => old.id === e.id))).toBe(true);
    expect(next.hasMore).toBe(false);
    expect(await readFeed(t.admin, { after: next.cursor })).toEqual({ events: [], cursor: next.cursor, hasMore: false });
  });

  test('a filter lists only its events, and once caught up its cursor moves past the others', async () => {
    const all = (await drain(t.admin, 100)).events;
    const completed = await drain(t.admin, 1, undefined, { types: ['assessment.completed'] });
    expect(completed.events.map((e) => e.id)).toEqual(all.filter((e) => e.type === 'assessment.completed').map((e) => e.id));
    const mine = await drain(t.admin, 100, undefined, { learnerId: learners[1] });
    expect(mine.events.map((e) => e.id)).toEqual(all.filter((e) => e.payload.data.learner?.id === learners[1]).map((e) => e.id));
    expect(mine.events.length).toBe(2);
    // The filtered read ends where the whole feed ends: the same cursor, nothing after it.
    const whole = await drain(t.admin, 100);
    expect(completed.cursor).toBe(whole.cursor);
    expect(mine.cursor).toBe(whole.cursor);
    expect((await readFeed(t.admin, { after: mine.cursor })).events).toEqual([]);
    // first: 0 lists nothing and gives the end: a new integration's start without history.
    expect(await readFeed(t.admin, { first: 0 })).toEqual({ events: [], cursor: whole.cursor, hasMore: false });
    // since/until as in events.
    const cut = all[2]!.createdAt;
    const since = await drain(t.admin, 100, undefined, { since: cut });
    expect(since.events.map((e) => e.id)).toEqual(all.filter((e) => e.createdAt >= cut).map((e) => e.id));
  });

  test('bad input is BAD_USER_INPUT naming what is wrong', async () => {
    expect(errorCode(await t.admin.request(FEED, { after: 'not-a-cursor' }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await t.admin.request(FEED, { after: '' }))).toBe('BAD_USER_INPUT');
    const tooMany = await t.admin.request(FEED, { first: 101 });
    expect([errorCode(tooMany), tooMany.errors![0]!.extensions!.max]).toEqual(['BAD_USER_INPUT', 100]);
    expect(errorCode(await t.admin.request(FEED, { first: -1 }))).toBe('BAD_USER_INPUT');
    const typo = await t.admin.request(FEED, { filter: { types: ['assessment.complete'] } });
    expect([errorCode(typo), typo.errors![0]!.extensions!.eventTypes]).toEqual(['BAD_USER_INPUT', expect.arrayContaining(['assessment.completed'])]);
    // A cursor beyond the feed's end (as one from before a restore would be) is refused, not read as "caught up".
    const end = (await readFeed(t.admin, { first: 0 })).cursor;
    const position = BigInt(Buffer.from(end, 'base64url').toString('utf8').split(':')[1]!);
    const beyond = Buffer.from(`eventFeed:${position + 5n}`, 'utf8').toString('base64url');
    const refused = await t.admin.request(FEED, { after: beyond });
    expect([errorCode(refused), refused.errors![0]!.message]).toEqual(['BAD_USER_INPUT', expect.stringContaining('beyond the end')]);
    // A cursor of another list is not one of the feed's.
    const eventsCursor = (await t.admin.request(`{ events(first: 1) { pageInfo { endCursor } } }`)).data.events.pageInfo.endCursor;
    expect(errorCode(await t.admin.request(FEED, { after: eventsCursor }))).toBe('BAD_USER_INPUT');
  });

  test('SCORES_READ reads the feed; a key that may only write may not; another organisation has a feed of its own', async () => {
    const reader = await keyWithScopes(t, ['SCORES_READ']);
    const read = await drain(reader, 100);
    expect(read.events.length).toBe((await drain(t.admin, 100)).events.length);
    const writer = await keyWithScopes(t, ['ASSESS_WRITE']);
    const refused = await writer.request(FEED, {});
    expect(errorCode(refused)).toBe('FORBIDDEN');
    expect(refused.data).toBeNull();
    const { client: other, org } = await otherOrganization(t);
    expect(await readFeed(other)).toMatchObject({ events: [], hasMore: false });
    expect((await readFeed(other, { filter: { learnerId: learners[0] } })).events).toEqual([]);
    // Its positions are its own: its first event is at its feed's start, whatever ours holds.
    await t.app.services.prisma.$transaction((tx) => emitEvent(tx, { organizationId: org.id, learnerId: null, type: 'bulkOperation.completed', data: { n: 1 } }));
    const theirs = await readFeed(other);
    expect(theirs.events.map((e) => e.payload.data)).toEqual([{ n: 1 }]);
    expect(Buffer.from(theirs.cursor, 'base64url').toString('utf8')).toBe('eventFeed:1');
    // Our cursor, read by them, is beyond their feed's end.
    expect(errorCode(await other.request(FEED, { after: read.cursor }))).toBe('BAD_USER_INPUT');
  });

  test('a backlog larger than one placing round is placed over several reads, each event once, oldest first', async () => {
    const { cursor } = await drain(t.admin, 100);
    const prisma = t.app.services.prisma;
    await prisma.$transaction(async (tx) => {
      for (let n = 0; n < 5; n++) {
        await emitEvent(tx, { organizationId, learnerId: null, type: 'bulkOperation.completed', data: { n }, at: new Date(Date.UTC(2026, 0, 1, 0, 0, n)) });
      }
    });
    // Two at a time: 2, 2, then 1 and no more.
    expect(await sequenceFeed(prisma, organizationId, 2)).toMatchObject({ more: true });
    expect(await sequenceFeed(prisma, organizationId, 2)).toMatchObject({ more: true });
    const third = await sequenceFeed(prisma, organizationId, 2);
    expect(third.more).toBe(false);
    expect(await sequenceFeed(prisma, organizationId, 2)).toEqual(third);
    const read = await drain(t.admin, 100, cursor);
    expect(read.events.map((e) => e.payload.data.n)).toEqual([0, 1, 2, 3, 4]);
  });

  test('readers placing at the same time give every event one place, with no gaps', async () => {
    const prisma = t.app.services.prisma;
    const before = await sequenceFeed(prisma, organizationId);
    await prisma.$transaction(async (tx) => {
      for (let n = 0; n < 30; n++) await emitEvent(tx, { organizationId, learnerId: null, type: 'bulkOperation.completed', data: { n } });
    });
    const rounds = await Promise.all(Array.from({ length: 6 }, () => sequenceFeed(prisma, organizationId, 7)));
    let horizon = rounds.reduce((a, b) => (a.last > b.last ? a : b));
    while (horizon.more) horizon = await sequenceFeed(prisma, organizationId, 7);
    const placed = await prisma.outboxEvent.findMany({ where: { organizationId, feedPosition: { gt: before.last } }, orderBy: { feedPosition: 'asc' } });
    expect(placed).toHaveLength(30);
    expect(placed.map((r) => r.feedPosition)).toEqual(Array.from({ length: 30 }, (_, i) => before.last + BigInt(i + 1)));
    expect(horizon.last).toBe(before.last + 30n);
    expect(await prisma.outboxEvent.count({ where: { organizationId, feedPosition: null } })).toBe(0);
  });

  test("the README's polling query runs as written, and resumes from its cursor", async () => {
    const readme = readFileSync('README.md', 'utf8');
    const section = readme.slice(readme.indexOf('#### Polling instead: the events feed'));
    const query = /```graphql\n([\s\S]*?)```/.exec(section)![1]!;
    expect(query).toContain('eventFeed');
    const first = await t.admin.request(query, {});
    expect(first.errors).toBeUndefined();
    const completed = first.data.eventFeed.events as FeedEvent[];
    expect(completed.length).toBeGreaterThanOrEqual(3);
    expect(completed.every((e) => e.type === 'assessment.completed')).toBe(true);
    const again = await t.admin.request(query, { after: first.data.eventFeed.cursor });
    expect(again.data.eventFeed).toEqual({ events: [], cursor: first.data.eventFeed.cursor, hasMore: false });
  });

  (kind === 'postgres' ? test : test.skip)('an event another transaction holds locked is placed later, without the read waiting for it', async () => {
    const prisma = t.app.services.prisma;
    const { cursor } = await drain(t.admin, 100);
    const [held, free] = await prisma.$transaction(async (tx) => [
      await emitEvent(tx, { organizationId, learnerId: null, type: 'bulkOperation.completed', data: { held: true } }),
      await emitEvent(tx, { organizationId, learnerId: null, type: 'bulkOperation.completed', data: { held: false } }),
    ]);
    let release!: () => void;
    const released = new Promise<void>((resolve) => { release = resolve; });
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => { locked = resolve; });
    // As a re-send of the event does (src/outbox/resend.ts), in a transaction that stays open.
    const holder = prisma.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT "id" FROM "OutboxEvent" WHERE "id" = ${held}::uuid FOR NO KEY UPDATE`;
      locked();
      await released;
    }, { timeout: 60_000 });
    await isLocked;
    const now = await readFeed(t.admin, { after: cursor });
    expect(now.events.map((e) => e.payload.data)).toEqual([{ held: false }]);
    expect(await prisma.outboxEvent.findUniqueOrThrow({ where: { id: held } })).toMatchObject({ feedPosition: null });
    release();
    await holder;
    const later = await readFeed(t.admin, { after: now.cursor });
    expect(later.events.map((e) => e.payload.data)).toEqual([{ held: true }]);
    expect(free).not.toBe(held);
  });

  // PGlite serves one connection, one transaction at a time: commits cannot interleave there.
  (kind === 'postgres' ? test : test.skip)('an event that commits after a later event was read still comes, after it', async () => {
    const prisma = t.app.services.prisma;
    const { cursor } = await drain(t.admin, 100);
    let release!: () => void;
    const held = new Promise<void>((resolve) => { release = resolve; });
    let emitted!: () => void;
    const written = new Promise<void>((resolve) => { emitted = resolve; });
    // Made first (the earlier createdAt), committed last.
    const late = prisma.$transaction(async (tx) => {
      await emitEvent(tx, { organizationId, learnerId: null, type: 'bulkOperation.completed', data: { late: true } });
      emitted();
      await held;
    }, { timeout: 60_000 });
    await written;
    await submit(learners[1]!);
    const seen = await readFeed(t.admin, { after: cursor });
    expect(seen.events.map((e) => e.type)).toEqual(['utterance.submitted', 'assessment.completed']);
    release();
    await late;
    const lateEvent = (await readFeed(t.admin, { after: seen.cursor })).events;
    expect(lateEvent.map((e) => e.payload.data)).toEqual([{ late: true }]);
    // Resuming by time from the newest createdAt seen would have skipped it.
    const newestSeen = seen.events.map((e) => e.createdAt).sort().at(-1)!;
    expect(lateEvent[0]!.createdAt < newestSeen).toBe(true);
    const byTime = (await t.admin.request(`query($s: DateTime) { events(first: 100, filter: {since: $s}) { edges { node { id } } } }`, { s: newestSeen })).data.events.edges;
    expect(byTime.map((e: { node: { id: string } }) => e.node.id)).not.toContain(lateEvent[0]!.id);
  });
});
