/**
 * The in-process fan-out of change notifications (src/events/hub.ts), fed the way a LISTEN
 * connection feeds it: payload strings, in commit order.
 */
import { EventHub, MAX_BUFFERED } from '../../src/events/hub.js';
import type { OnNotification } from '../../src/events/listener.js';

const ORG = '00000000-0000-4000-8000-000000000001';
const job = (jobId: string, status: string, organizationId = ORG) =>
  JSON.stringify({ type: 'job', organizationId, jobId, utteranceId: 'u1', status });

async function startedHub() {
  let emit: OnNotification = () => undefined;
  let closed = false;
  const hub = new EventHub();
  await hub.start(async (onNotification) => {
    emit = onNotification;
    return { close: async () => void (closed = true) };
  });
  return { hub, emit: (p: string | undefined) => emit(p), closed: () => closed };
}

test('delivers the events a filter accepts, in order; ignores payloads that are not ours', async () => {
  const { hub, emit } = await startedHub();
  const events = hub.subscribe((e) => e.organizationId === ORG && e.type === 'job');
  emit(job('j1', 'QUEUED'));
  emit('not json');
  emit(JSON.stringify({ type: 'job', organizationId: ORG, jobId: 'j1', utteranceId: 'u1', status: 'BOGUS' }));
  emit(job('j1', 'RUNNING', '00000000-0000-4000-8000-000000000002'));
  emit(job('j1', 'RUNNING'));
  emit(job('j1', 'SUCCEEDED'));
  const statuses = [];
  for (let i = 0; i < 3; i++) statuses.push(((await events.next()).value as { status: string }).status);
  expect(statuses).toEqual(['QUEUED', 'RUNNING', 'SUCCEEDED']);
  await hub.close();
});

test('return() releases the subscription at once, even while it waits for an event', async () => {
  const { hub } = await startedHub();
  const events = hub.subscribe(() => true);
  const pending = events.next();
  expect(hub.size).toBe(1);
  await events.return!();
  expect(hub.size).toBe(0);
  expect(await pending).toEqual({ value: undefined, done: true });
  await hub.close();
});

test('a subscriber that stops reading is ended after MAX_BUFFERED events, not buffered without bound', async () => {
  const { hub, emit } = await startedHub();
  const events = hub.subscribe(() => true);
  for (let i = 0; i <= MAX_BUFFERED; i++) emit(job(`j${i}`, 'QUEUED'));
  expect(hub.size).toBe(0);
  for (let i = 0; i < MAX_BUFFERED; i++) expect((await events.next()).done).toBe(false);
  await expect(events.next()).rejects.toMatchObject({ extensions: { code: 'SERVICE_UNAVAILABLE' } });
  await hub.close();
});

test('close ends every subscription and the listener; a subscribe after it is already done', async () => {
  const { hub, closed } = await startedHub();
  const events = hub.subscribe(() => true);
  const pending = events.next();
  await hub.close();
  expect(await pending).toEqual({ value: undefined, done: true });
  expect(closed()).toBe(true);
  expect(await hub.subscribe(() => true).next()).toEqual({ value: undefined, done: true });
  expect(hub.size).toBe(0);
});

test("a held notification the replay left out for a subscriber (its row dated before the subscription) still reaches it", async () => {
  let emit: OnNotification = () => undefined;
  let listen: { onDisconnected?: () => void; onReconnected?: (since: Date) => void } = {};
  const hub = new EventHub();
  const event = { type: 'job', organizationId: ORG, jobId: 'late', utteranceId: 'u1', status: 'SUCCEEDED', attempts: 1 };
  await hub.start(
    async (onNotification, options) => {
      emit = onNotification;
      listen = options ?? {};
      return { close: async () => undefined };
    },
    // The replay reads the same commit, dated 10 s back: its transaction began before the subscription.
    { catchUp: async () => ({ changes: [{ event: { ...event, learnerId: 'L' } as never, at: new Date(Date.now() - 10_000) }], overflowed: [] }) },
  );
  const events = hub.subscribe(() => true, { learnerId: 'L' });
  listen.onDisconnected!();
  emit(JSON.stringify(event)); // held behind the replay
  listen.onReconnected!(new Date(Date.now() - 1_000));
  const got = await Promise.race([events.next(), new Promise((r) => setTimeout(() => r('nothing'), 2_000))]);
  expect(got).toMatchObject({ value: { jobId: 'late', status: 'SUCCEEDED' } });
  await hub.close();
});
