/**
 * The outbox's Prometheus series: `speechmark_deliveries{channel,state}` and
 * `speechmark_delivery_oldest_ready_age_seconds{channel}` read from the database at scrape time (on
 * the ops listener, over HTTP), and `speechmark_deliveries_settled_total{channel,outcome}` counted
 * by a real delivery worker posting real webhooks to a receiver started here.
 */
import { startTestApp, testDatabases, waitForJob, type TestApp } from '../support/app.js';
import { Receiver } from '../support/receiver.js';
import { speechLikeWav } from '../support/audio-fixtures.js';
import { claimDeliveries } from '../../src/outbox/store.js';

const DATABASES = await testDatabases();

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe.each(DATABASES)('delivery metrics [%s]', (kind) => {
  describe('gauges, with no delivery worker to drain them', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(kind, { metricsPort: 0, metricsHost: '127.0.0.1', deliveryWorker: false, inProcessWorker: false });
    }, 120_000);
    afterAll(() => t?.dispose());

    const scrape = async () => (await fetch(`${t.app.opsUrl}/metrics`)).text();

    test('every channel is listed at zero before the first delivery', async () => {
      const text = await scrape();
      expect(text).toContain('# TYPE speechmark_deliveries gauge');
      for (const channel of ['webhook', 'lti_score', 'xapi']) {
        for (const state of ['ready', 'delayed', 'sending']) expect(sample(text, `speechmark_deliveries{channel="${channel}",state="${state}"}`)).toBe(0);
        expect(sample(text, `speechmark_delivery_oldest_ready_age_seconds{channel="${channel}"}`)).toBe(0);
      }
    });

    test('waiting and in-flight deliveries by channel and state, and how long the oldest due one has waited', async () => {
      const { prisma } = t.app.services;
      const organizationId = (await prisma.organization.findFirstOrThrow({ orderBy: { createdAt: 'asc' } })).id;
      const event = await prisma.outboxEvent.create({ data: { organizationId, type: 'assessment.completed', body: '{}' } });
      const minutesAgo = new Date(Date.now() - 120_000);
      await prisma.delivery.createMany({
        data: [
          // Two xAPI statements due for two minutes and for a moment; a webhook in its retry delay; a grade being sent; settled ones, not counted.
          { organizationId, eventId: event.id, channel: 'XAPI', runAfter: minutesAgo },
          { organizationId, eventId: event.id, channel: 'XAPI', runAfter: new Date() },
          { organizationId, eventId: event.id, channel: 'WEBHOOK', runAfter: new Date(Date.now() + 3_600_000), attempts: 1 },
          { organizationId, eventId: event.id, channel: 'LTI_SCORE', status: 'SENDING', attempts: 1, leaseExpiresAt: new Date(Date.now() + 60_000), lockedBy: 'w' },
          // A webhook whose worker died mid-attempt three minutes ago: due again, the oldest waiting.
          { organizationId, eventId: event.id, channel: 'WEBHOOK', status: 'SENDING', attempts: 1, leaseExpiresAt: new Date(Date.now() - 180_000), lockedBy: 'dead' },
          { organizationId, eventId: event.id, channel: 'WEBHOOK', status: 'DELIVERED', attempts: 1, deliveredAt: new Date() },
          { organizationId, eventId: event.id, channel: 'XAPI', status: 'FAILED', attempts: 8 },
        ],
      });
      try {
        const text = await scrape();
        expect(sample(text, 'speechmark_deliveries{channel="xapi",state="ready"}')).toBe(2);
        expect(sample(text, 'speechmark_deliveries{channel="xapi",state="delayed"}')).toBe(0);
        expect(sample(text, 'speechmark_deliveries{channel="webhook",state="delayed"}')).toBe(1);
        expect(sample(text, 'speechmark_deliveries{channel="webhook",state="ready"}')).toBe(1);
        expect(sample(text, 'speechmark_deliveries{channel="webhook",state="sending"}')).toBe(0);
        expect(sample(text, 'speechmark_deliveries{channel="lti_score",state="sending"}')).toBe(1);
        const age = sample(text, 'speechmark_delivery_oldest_ready_age_seconds{channel="xapi"}')!;
        expect(age).toBeGreaterThanOrEqual(119);
        expect(age).toBeLessThan(600);
        const stale = sample(text, 'speechmark_delivery_oldest_ready_age_seconds{channel="webhook"}')!;
        expect(stale).toBeGreaterThanOrEqual(179);
        expect(stale).toBeLessThan(600);
        expect(sample(text, 'speechmark_delivery_oldest_ready_age_seconds{channel="lti_score"}')).toBe(0);

        // A claim retires the dead worker's delivery (its last attempt): counted as failed, though no worker settled it.
        const failed = async () => sample(await scrape(), 'speechmark_deliveries_settled_total{channel="webhook",outcome="failed"}') ?? 0;
        const before = await failed();
        const claimed = await claimDeliveries(prisma, 'w-next', 30, 10, 1);
        expect(claimed.map((d) => d.channel).sort()).toEqual(['XAPI', 'XAPI']);
        expect(await failed()).toBe(before + 1);
      } finally {
        await prisma.outboxEvent.delete({ where: { id: event.id } });
      }
    });
  });

  describe('the settled counter, from a real delivery worker', () => {
    const receiver = new Receiver();
    let t: TestApp;
    beforeAll(async () => {
      await receiver.start();
      t = await startTestApp(kind, {
        metricsPort: 0, metricsHost: '127.0.0.1', webhookAllowedPrivateNetworks: ['127.0.0.1'], webhookAllowHttp: true, webhookBackoffBaseMs: 200, webhookBackoffCapMs: 1000,
      });
    }, 120_000);
    afterAll(async () => {
      await t?.dispose();
      await receiver.stop();
    });

    test('each attempt counts once, by channel and outcome: a refused one as retry, then delivered', async () => {
      const hook = await t.admin.request(`mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret } }`, {
        input: { url: receiver.url, eventTypes: ['utterance.submitted', 'assessment.completed'] },
      });
      expect(hook.errors).toBeUndefined();
      const counted = async (outcome: string) =>
        sample(await (await fetch(`${t.app.opsUrl}/metrics`)).text(), `speechmark_deliveries_settled_total{channel="webhook",outcome="${outcome}"}`) ?? 0;
      const delivered = await counted('delivered');
      const retried = await counted('retry');
      // The receiver refuses the first request: that attempt is a retry, the next one delivers it.
      let refused = 0;
      receiver.answer = () => (refused++ === 0 ? { status: 500 } : { status: 204 });
      const learner = await t.admin.request(`mutation { createLearner(input: {externalId: "metrics-1"}) { id } }`);
      const res = await t.admin.upload(
        `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { job { id } } }`,
        { input: { learnerId: learner.data.createLearner.id, referenceText: 'We call it bear', audio: null } },
        'variables.input.audio',
        { bytes: speechLikeWav(1.5), name: 'take.wav' },
      );
      expect((await waitForJob(t.admin, res.data.submitUtterance.job.id)).status).toBe('SUCCEEDED');
      await receiver.waitForCount(3);
      // Each attempt is recorded just after the receiver answered: wait for the count, not for a time.
      const deadline = Date.now() + 15_000;
      while ((await counted('delivered')) < delivered + 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(await counted('delivered')).toBe(delivered + 2);
      expect(await counted('retry')).toBe(retried + 1);
      expect(receiver.received.map((r) => r.status)).toEqual([500, 204, 204]);
    }, 120_000);
  });
});
