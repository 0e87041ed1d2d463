/**
 * Webhooks end to end (issue 10): an admin registers an endpoint through GraphQL, real uploads are
 * scored by the real model, and a receiver on 127.0.0.1 gets utterance.submitted,
 * assessment.completed, humanLabels.attached and assessment.failed as Standard Webhooks, verified
 * with the reference library. Deliveries and attempts are queried and re-sent; secrets rotate with
 * an overlap; a disabled endpoint's missed events are recovered; erasure takes a learner's events
 * with it; only ADMIN keys of the organisation reach any of it.
 */
import { readFileSync } from 'node:fs';
import { LOCAL_PEERS, startTestApp, testDatabases, waitForJob, type TestApp } from '../support/app.js';
import { errorCode } from '../support/client.js';
import { Receiver, verifyStandardWebhook } from '../support/receiver.js';
import { keyWithScopes, otherOrganization, seedUtterance } from '../support/seed.js';
import { speechLikeWav } from '../support/audio-fixtures.js';
import { INTERNAL_FAILURE_MESSAGE } from '../../src/jobs/queue.js';
import { sweepBulkCompletion } from '../../src/assessment/bulk.js';
import { fromGlobalId, toGlobalId } from '../../src/graphql/ids.js';
import { sleep, waitFor } from '../jobs/fixtures.js';

const DATABASES = await testDatabases();

const CREATE = `mutation($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { secret endpoint { id url eventTypes enabled description signingSecrets { prefix expiresAt } } } }`;
const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { utterance { id } job { id } } }`;
const DELIVERIES = `query($filter: WebhookDeliveryFilter) { webhookDeliveries(first: 50, filter: $filter) { totalCount edges { node {
  id status attemptCount maxAttempts nextAttemptAt lastStatusCode lastErrorCode deliveredAt
  endpoint { id } event { id type createdAt payload } attempts { number statusCode errorCode durationMs startedAt } } } } }`;

describe.each(DATABASES)('webhooks through the API on %s', (kind) => {
  let t: TestApp;
  const receiver = new Receiver();
  let secret: string;
  let endpointId: string;
  let learnerId: string;
  let externalId: string;

  beforeAll(async () => {
    await receiver.start();
    t = await startTestApp(kind, {
      ...LOCAL_PEERS,
      jobMaxAttempts: 1,
    });
    externalId = `lms-${kind}-webhooks`;
    const created = await t.admin.request(`mutation($e: String!) { createLearner(input: {externalId: $e, groups: ["class-7"]}) { id } }`, { e: externalId });
    learnerId = created.data.createLearner.id;
  }, 120_000);
  afterAll(async () => {
    await t?.dispose();
    await receiver.stop();
  });

  test('registering: the secret is shown once; bad URLs, private addresses and unknown event types are refused', async () => {
    const res = await t.admin.request(CREATE, {
      input: { url: receiver.url, eventTypes: ['assessment.completed', 'assessment.failed', 'utterance.submitted', 'humanLabels.attached', 'assessment.completed'], description: ' LMS ' },
    });
    expect(res.errors).toBeUndefined();
    const c = res.data.createWebhookEndpoint;
    secret = c.secret;
    endpointId = c.endpoint.id;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(c.endpoint).toMatchObject({
      url: receiver.url, enabled: true, description: 'LMS',
      eventTypes: ['assessment.completed', 'assessment.failed', 'utterance.submitted', 'humanLabels.attached'],
      signingSecrets: [{ prefix: secret.slice(0, 12), expiresAt: null }],
    });
    // Never readable again: not through the endpoint, not in the audit log.
    const again = await t.admin.request(`query($id: ID!) { webhookEndpoint(id: $id) { url signingSecrets { prefix } } auditEvents(first: 5) { edges { node { action details } } } }`, { id: endpointId });
    expect(JSON.stringify(again.data)).not.toContain(secret.slice(12));
    expect(again.data.auditEvents.edges[0].node).toMatchObject({ action: 'webhookEndpoint.created', details: { url: receiver.url, secretPrefix: secret.slice(0, 12) } });

    const refused = async (input: Record<string, unknown>) => {
      const r = await t.admin.request(CREATE, { input: { eventTypes: ['assessment.completed'], url: receiver.url, ...input } });
      return `${r.errors?.[0]?.extensions?.code}: ${r.errors?.[0]?.message}`;
    };
    expect(await refused({ url: 'https://10.1.2.3/hooks' })).toMatch(/BAD_USER_INPUT: url refused: 10.1.2.3 is not a public address/);
    expect(await refused({ url: 'https://169.254.169.254/latest' })).toMatch(/BAD_USER_INPUT.*not a public address/);
    expect(await refused({ url: 'https://[::1]/x' })).toMatch(/BAD_USER_INPUT.*not a public address/);
    expect(await refused({ url: 'gopher://example.com/' })).toMatch(/BAD_USER_INPUT.*http:\/\/ or https:\/\//);
    expect(await refused({ eventTypes: ['assessment.created'] })).toMatch(/BAD_USER_INPUT: Unknown event type "assessment.created"/);
    expect(await refused({ eventTypes: [] })).toMatch(/BAD_USER_INPUT: eventTypes needs at least one/);
    expect(await refused({ description: 'x'.repeat(501) })).toMatch(/BAD_USER_INPUT: description must be at most 500/);
  });

  test('an upload: utterance.submitted, then assessment.completed with the scores the API serves, signed', async () => {
    const before = receiver.received.length;
    const res = await t.admin.upload(SUBMIT, { input: { learnerId, referenceText: 'We call it bear', audio: null } }, 'variables.input.audio', {
      bytes: speechLikeWav(1.5), name: 'take.wav',
    });
    expect(res.errors).toBeUndefined();
    const { utterance, job } = res.data.submitUtterance;
    const done = await waitForJob(t.admin, job.id);
    expect(done.status).toBe('SUCCEEDED');
    await receiver.waitForCount(before + 2);
    // Standard Webhooks promise no order: sorted by type.
    const got = receiver.delivered().slice(before).sort((x, y) => y.type.localeCompare(x.type));
    expect(got.map((g) => g.type)).toEqual(['utterance.submitted', 'assessment.completed']);
    for (const g of got) expect(verifyStandardWebhook(secret, g)).toMatchObject({ type: g.type });
    const [submitted, completed] = got;
    expect(submitted!.data).toMatchObject({
      utterance: { id: utterance.id, referenceText: 'We call it bear' },
      learner: { id: learnerId, externalId },
      job: { id: job.id, status: 'QUEUED' },
    });
    expect(submitted!.data.utterance.durationMs).toBeGreaterThan(1000);
    const served = await t.admin.request(
      `query($id: ID!) { assessment(id: $id) { model { name version } executionProvider sentence { accuracy fluency prosody completeness total }
         words { text accuracy stress total startMs endMs errorType breakBefore { silenceMs expected errorTypes } phonemes { symbol accuracy } }
         intonation { medianPitchHz pitchSpanSemitones voicedMs errorTypes }
         fluencyMetrics { wordCount syllableCount speakingMs articulationMs wordsPerMinute speechRate articulationRate pauseCount totalPauseMs longestPauseMs meanLengthOfRun phonationTimeRatio } rationale { text flags trusted } contentMatch flags } }`,
      { id: done.assessment.id },
    );
    const a = served.data.assessment;
    // the diagnostics a receiver needs to act without a query back: word timing, miscues, content match
    expect(a.words.length).toBeGreaterThan(0);
    for (const w of a.words) {
      expect(w.endMs).toBeGreaterThan(w.startMs);
      expect(['NONE', 'OMITTED', 'MISPRONOUNCED']).toContain(w.errorType);
    }
    expect(typeof a.contentMatch).toBe('number');
    expect(completed!.data).toEqual({
      assessment: { id: done.assessment.id, source: 'MODEL', ...a },
      job: { id: job.id, attempts: 1, bulkOperationId: null },
      utterance: { id: utterance.id, referenceText: 'We call it bear', createdAt: expect.any(String), metadata: {} },
      learner: { id: learnerId, externalId },
    });
    expect(completed!.headers['webhook-id']).not.toBe(submitted!.headers['webhook-id']);
  });

  test('deliveries are found by learner and time; an unknown event type is BAD_USER_INPUT', async () => {
    const list = async (filter: Record<string, unknown>) => {
      const res = await t.admin.request(`query($filter: WebhookDeliveryFilter) { webhookDeliveries(first: 50, filter: $filter) {
        totalCount edges { node { id createdAt event { type payload } } } } }`, { filter });
      expect(res.errors).toBeUndefined();
      return res.data.webhookDeliveries as { totalCount: number; edges: { node: any }[] };
    };
    const prisma = t.app.services.prisma;
    const learner = await prisma.learner.findFirstOrThrow({ where: { externalId } });
    const expected = await prisma.delivery.count({ where: { channel: 'WEBHOOK', event: { is: { learnerId: learner.id } } } });
    expect(expected).toBeGreaterThan(0);
    const ofLearner = await list({ learnerId });
    expect(ofLearner.totalCount).toBe(expected);
    expect(ofLearner.edges.every((e) => e.node.event.payload.data.learner.id === learnerId)).toBe(true);
    const completed = await list({ learnerId, eventType: 'assessment.completed' });
    expect(completed.edges.map((e) => e.node.event.type)).toEqual(Array(completed.totalCount).fill('assessment.completed'));
    expect(completed.totalCount).toBeGreaterThan(0);
    const newest = ofLearner.edges[0]!.node.createdAt as string;
    expect((await list({ learnerId, since: newest })).edges.map((e) => e.node.id)).toContain(ofLearner.edges[0]!.node.id);
    expect((await list({ learnerId, until: newest })).edges.map((e) => e.node.id)).not.toContain(ofLearner.edges[0]!.node.id);
    expect((await list({ since: new Date(Date.now() + 3_600_000).toISOString() })).totalCount).toBe(0);
    expect((await list({ learnerId: endpointId })).totalCount).toBe(0); // an id of another type
    const typo = await t.admin.request(DELIVERIES, { filter: { eventType: 'assessment.complete' } });
    expect([errorCode(typo), typo.errors![0]!.message]).toEqual(['BAD_USER_INPUT', expect.stringContaining('webhook.test')]);
  });

  test('human labels: humanLabels.attached; a job that fails for good: assessment.failed', async () => {
    const prisma = t.app.services.prisma;
    const org = await prisma.organization.findFirstOrThrow({ orderBy: { createdAt: 'asc' } });
    // An utterance whose audio file does not exist: its assessment job fails (one attempt allowed).
    const seeded = await seedUtterance(prisma, org.id, 'A bear is here');
    const uid = toGlobalId('Utterance', seeded.id);
    const before = receiver.received.length;
    const reassess = await t.admin.request(`mutation($u: ID!) { reassessUtterance(utteranceId: $u) { id } }`, { u: uid });
    const failed = await waitForJob(t.admin, reassess.data.reassessUtterance.id);
    expect(failed.status).toBe('FAILED');
    // An internal fault, told as one without its detail (the store's path stays in the worker's log).
    expect(failed.error).toEqual({ code: 'INTERNAL_SERVER_ERROR', message: INTERNAL_FAILURE_MESSAGE, rawOutput: null });
    const labels = await t.admin.request(
      `mutation($u: ID!, $l: HumanLabelsInput!) { attachHumanLabels(utteranceId: $u, labels: $l, rater: "rater 1") { id } }`,
      { u: uid, l: { sentence: { accuracy: 7, fluency: 6, prosody: 6, completeness: 10, total: 7 } } },
    );
    expect(labels.errors).toBeUndefined();
    await receiver.waitForCount(before + 2);
    const got = receiver.delivered().slice(before).sort((x, y) => x.type.localeCompare(y.type));
    expect(got.map((g) => g.type)).toEqual(['assessment.failed', 'humanLabels.attached']);
    got.forEach((g) => verifyStandardWebhook(secret, g));
    expect(got[0]!.data).toMatchObject({
      job: { id: reassess.data.reassessUtterance.id, status: 'FAILED', attempts: 1, bulkOperationId: null, error: { code: failed.error.code, message: failed.error.message } },
      utterance: { id: uid, referenceText: 'A bear is here' },
      learner: { externalId: expect.stringMatching(/^seed-/) },
    });
    expect(JSON.stringify(got[0]!.data)).not.toContain(t.config.audioDir);
    expect(got[1]!.data).toMatchObject({
      assessment: { id: labels.data.attachHumanLabels.id, source: 'HUMAN', rater: 'rater 1', sentence: { total: 7 }, words: null },
      utterance: { id: uid },
    });

    // The same failure in a bulk re-assessment names the operation, so a receiver can tell a re-grade's events apart.
    const bulk = await t.admin.request(`mutation($l: ID!) { reassessUtterances(input: {learnerId: $l}) { id } }`, { l: toGlobalId('Learner', seeded.learnerId) });
    expect(bulk.errors).toBeUndefined();
    await receiver.waitForCount(before + 3);
    const fromBulk = receiver.delivered().slice(before + 2);
    expect(fromBulk.map((g) => g.type)).toEqual(['assessment.failed']);
    expect(fromBulk[0]!.data.job).toMatchObject({ status: 'FAILED', bulkOperationId: bulk.data.reassessUtterances.id });
    expect(fromBulk[0]!.data.job.id).not.toBe(reassess.data.reassessUtterance.id);
  });

  test('deliveries and their attempts are queryable and filterable; re-sending keeps the webhook-id', async () => {
    // The receiver counts a request when it answers; the sender records DELIVERED after reading that
    // answer, so the last delivery of the previous test may still be SENDING for a moment.
    const settled = async () => {
      const res = await t.admin.request(DELIVERIES, { filter: { endpointId } });
      return res.data.webhookDeliveries.edges.every((e: any) => !['PENDING', 'SENDING'].includes(e.node.status));
    };
    await waitFor(settled);
    const all = await t.admin.request(DELIVERIES, { filter: { endpointId } });
    expect(all.errors).toBeUndefined();
    const nodes = all.data.webhookDeliveries.edges.map((e: any) => e.node);
    expect(all.data.webhookDeliveries.totalCount).toBe(nodes.length);
    expect(nodes.length).toBeGreaterThanOrEqual(4);
    for (const n of nodes) {
      expect(n).toMatchObject({ status: 'DELIVERED', attemptCount: 1, maxAttempts: 4, nextAttemptAt: null, lastStatusCode: 204, endpoint: { id: endpointId } });
      expect(n.attempts).toEqual([expect.objectContaining({ number: 1, statusCode: 204, errorCode: null })]);
      expect(n.event.id).toMatch(/^msg_[0-9a-f]{32}$/);
      expect(n.event.payload.type).toBe(n.event.type);
    }
    const completed = await t.admin.request(DELIVERIES, { filter: { eventType: 'assessment.completed', status: 'DELIVERED' } });
    expect(completed.data.webhookDeliveries.edges.map((e: any) => e.node.event.type)).toEqual(['assessment.completed']);
    const target = completed.data.webhookDeliveries.edges[0].node;
    const byId = await t.admin.request(DELIVERIES, { filter: { webhookId: target.event.id } });
    expect(byId.data.webhookDeliveries.edges.map((e: any) => e.node.id)).toEqual([target.id]);
    expect((await t.admin.request(DELIVERIES, { filter: { webhookId: 'msg_nope' } })).data.webhookDeliveries.totalCount).toBe(0);

    const before = receiver.received.length;
    const resent = await t.admin.request(`mutation($id: ID!) { resendWebhookDelivery(id: $id) { id status event { id } } }`, { id: target.id });
    expect(resent.errors).toBeUndefined();
    expect(resent.data.resendWebhookDelivery.id).not.toBe(target.id);
    expect(resent.data.resendWebhookDelivery.event.id).toBe(target.event.id);
    await receiver.waitForCount(before + 1);
    const again = receiver.received.at(-1)!;
    expect(again.headers['webhook-id']).toBe(target.event.id);
    expect(again.body).toBe(JSON.stringify(target.event.payload));
    verifyStandardWebhook(secret, again);
    const one = await t.admin.request(`query($id: ID!) { webhookDelivery(id: $id) { status } webhookEndpoint(id: $id) { id } }`, { id: resent.data.resendWebhookDelivery.id });
    expect(one.data.webhookEndpoint).toBeNull(); // another type's id
    await waitFor(async () => (await t.admin.request(`query($id: ID!) { webhookDelivery(id: $id) { status } }`, { id: resent.data.resendWebhookDelivery.id })).data.webhookDelivery.status === 'DELIVERED');
  });

  test('rotating the secret: during the overlap both old and new verify; afterwards only the new', async () => {
    const rotated = await t.admin.request(
      `mutation($id: ID!) { rotateWebhookSecret(id: $id, expireOldAfterSeconds: 3600) { secret endpoint { signingSecrets { prefix expiresAt } } } }`,
      { id: endpointId },
    );
    expect(rotated.errors).toBeUndefined();
    const fresh = rotated.data.rotateWebhookSecret.secret;
    expect(fresh).not.toBe(secret);
    const secrets = rotated.data.rotateWebhookSecret.endpoint.signingSecrets;
    expect(secrets.map((s: any) => s.prefix)).toEqual([fresh.slice(0, 12), secret.slice(0, 12)]);
    expect(secrets[0].expiresAt).toBeNull();
    expect(Date.parse(secrets[1].expiresAt) - Date.now()).toBeGreaterThan(3500_000);

    const send = async () => {
      const before = receiver.received.length;
      const r = await t.admin.request(`mutation { createLearner(input: {externalId: "rotation-${Math.random()}"}) { id } }`);
      const up = await t.admin.upload(SUBMIT, { input: { learnerId: r.data.createLearner.id, referenceText: 'Hello there', audio: null } }, 'variables.input.audio', {
        bytes: speechLikeWav(1.0, 140), name: 'take.wav',
      });
      await receiver.waitForCount(before + 1);
      await waitForJob(t.admin, up.data.submitUtterance.job.id);
      return receiver.received[before]!;
    };
    const during = await send();
    expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(() => verifyStandardWebhook(secret, during)).not.toThrow();
    expect(() => verifyStandardWebhook(fresh, during)).not.toThrow();

    const ended = await t.admin.request(`mutation($id: ID!) { rotateWebhookSecret(id: $id, expireOldAfterSeconds: 0) { secret } }`, { id: endpointId });
    secret = ended.data.rotateWebhookSecret.secret;
    const after = await send();
    expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(() => verifyStandardWebhook(secret, after)).not.toThrow();
    expect(() => verifyStandardWebhook(fresh, after)).toThrow();
    const bad = await t.admin.request(`mutation($id: ID!) { rotateWebhookSecret(id: $id, expireOldAfterSeconds: 604801) { secret } }`, { id: endpointId });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  test('disabled, events are recorded as not sent; enabled again, resendFailedWebhookDeliveries recovers them', async () => {
    await receiver.waitForCount(receiver.received.length); // settle
    await sleep(300);
    const since = new Date().toISOString();
    const off = await t.admin.request(`mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: {enabled: false}) { enabled disabledReason } }`, { id: endpointId });
    expect(off.data.updateWebhookEndpoint).toMatchObject({ enabled: false, disabledReason: expect.stringMatching(/Disabled by bootstrap admin/) });
    const before = receiver.received.length;
    await t.admin.request(`mutation { createLearner(input: {externalId: "while-off"}) { id } }`);
    const r = await t.admin.request(`query { learnerByExternalId(externalId: "while-off") { id } }`);
    const up = await t.admin.upload(SUBMIT, { input: { learnerId: r.data.learnerByExternalId.id, referenceText: 'Good morning', audio: null } }, 'variables.input.audio', {
      bytes: speechLikeWav(1.0, 170), name: 'take.wav',
    });
    await waitForJob(t.admin, up.data.submitUtterance.job.id);
    await sleep(500);
    expect(receiver.received.length).toBe(before);
    const missed = await t.admin.request(DELIVERIES, { filter: { endpointId, status: 'FAILED' } });
    const missedTypes = missed.data.webhookDeliveries.edges.map((e: any) => e.node.event.type).sort();
    expect(missedTypes).toEqual(['assessment.completed', 'utterance.submitted']);
    expect(missed.data.webhookDeliveries.edges.every((e: any) => e.node.lastErrorCode === 'ENDPOINT_DISABLED' && e.node.attemptCount === 0)).toBe(true);
    // Re-sending while disabled is refused.
    const refused = await t.admin.request(`mutation($id: ID!, $s: DateTime!) { resendFailedWebhookDeliveries(endpointId: $id, since: $s) { count } }`, { id: endpointId, s: since });
    expect(refused.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    const on = await t.admin.request(`mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: {enabled: true}) { enabled disabledAt } }`, { id: endpointId });
    expect(on.data.updateWebhookEndpoint).toEqual({ enabled: true, disabledAt: null });
    const recovered = await t.admin.request(`mutation($id: ID!, $s: DateTime!) { resendFailedWebhookDeliveries(endpointId: $id, since: $s) { count } }`, { id: endpointId, s: since });
    expect(recovered.data.resendFailedWebhookDeliveries.count).toBe(2);
    await receiver.waitForCount(before + 2);
    expect(receiver.delivered().slice(before).map((g) => g.type).sort()).toEqual(['assessment.completed', 'utterance.submitted']);
    // A second recovery finds nothing left to send.
    await sleep(300);
    const twice = await t.admin.request(`mutation($id: ID!, $s: DateTime!) { resendFailedWebhookDeliveries(endpointId: $id, since: $s) { count } }`, { id: endpointId, s: since });
    expect(twice.data.resendFailedWebhookDeliveries.count).toBe(0);
  });

  test('only ADMIN keys of the organisation reach webhooks', async () => {
    for (const scopes of [['SCORES_READ'], ['ASSESS_WRITE', 'SCORES_READ']] as const) {
      const client = await keyWithScopes(t, [...scopes]);
      const q = await client.request(`{ webhookEndpoints { totalCount } }`);
      expect(q.errors?.[0]).toMatchObject({ message: 'This API key lacks the ADMIN scope.', extensions: { code: 'FORBIDDEN' } });
      const m = await client.request(CREATE, { input: { url: receiver.url, eventTypes: ['assessment.completed'] } });
      expect(m.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
    // node(id) refetches an endpoint and a delivery for an admin, as their own fields read them, and
    // refuses any other key.
    const delivery = (await t.admin.request(DELIVERIES, { filter: { endpointId } })).data.webhookDeliveries.edges[0].node.id;
    const NODE = `query($id: ID!) { node(id: $id) { __typename id ... on WebhookEndpoint { url } ... on WebhookDelivery { endpoint { id } } } }`;
    const { url } = (await t.admin.request(`query($id: ID!) { webhookEndpoint(id: $id) { url } }`, { id: endpointId })).data.webhookEndpoint;
    expect((await t.admin.request(NODE, { id: endpointId })).data.node).toEqual({ __typename: 'WebhookEndpoint', id: endpointId, url });
    expect((await t.admin.request(NODE, { id: delivery })).data.node).toEqual({ __typename: 'WebhookDelivery', id: delivery, endpoint: { id: endpointId } });
    const reader = await keyWithScopes(t, ['SCORES_READ']);
    for (const id of [endpointId, delivery]) {
      const refused = await reader.request(NODE, { id });
      expect([errorCode(refused), refused.data?.node ?? null]).toEqual(['FORBIDDEN', null]);
    }
    const other = await otherOrganization(t);
    expect((await other.client.request(`{ webhookEndpoints { totalCount } webhookDeliveries { totalCount } }`)).data).toEqual({
      webhookEndpoints: { totalCount: 0 }, webhookDeliveries: { totalCount: 0 },
    });
    expect((await other.client.request(`query($id: ID!) { webhookEndpoint(id: $id) { id } }`, { id: endpointId })).data.webhookEndpoint).toBeNull();
    expect((await other.client.request(NODE, { id: endpointId })).data.node).toBeNull();
    expect((await other.client.request(NODE, { id: delivery })).data.node).toBeNull();
    for (const m of [
      `mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: {enabled: false}) { id } }`,
      `mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }`,
      `mutation($id: ID!) { deleteWebhookEndpoint(id: $id) { id } }`,
    ]) {
      expect((await other.client.request(m, { id: endpointId })).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    }
    // At most 20 endpoints per organisation (SPEECHMARK_WEBHOOK_MAX_ENDPOINTS).
    for (let i = 0; i < 20; i++) {
      const r = await other.client.request(CREATE, { input: { url: `${receiver.url}/b${i}`, eventTypes: ['assessment.failed'] } });
      expect(r.errors).toBeUndefined();
    }
    const full = await other.client.request(CREATE, { input: { url: `${receiver.url}/b20`, eventTypes: ['assessment.failed'] } });
    expect(full.errors?.[0]).toMatchObject({ extensions: { code: 'CONFLICT' }, message: expect.stringMatching(/already has 20 webhook endpoints/) });
    // Organisation B's events never reach A's endpoint.
    const before = receiver.received.length;
    const l = await other.client.request(`mutation { createLearner(input: {externalId: "b-learner"}) { id } }`);
    await other.client.upload(SUBMIT, { input: { learnerId: l.data.createLearner.id, referenceText: 'Hello', audio: null } }, 'variables.input.audio', {
      bytes: speechLikeWav(1.0, 190), name: 'b.wav',
    });
    await sleep(500);
    expect(receiver.received.length).toBe(before);
  });

  test('a bulk re-assessment sends bulkOperation.completed once, when its last job has finished, with the counts', async () => {
    const hook = await t.admin.request(CREATE, { input: { url: `${receiver.url}/bulk`, eventTypes: ['bulkOperation.completed'] } });
    expect(hook.errors).toBeUndefined();
    const learner = (await t.admin.request(`mutation { createLearner(input: {externalId: "bulk-hooked"}) { id } }`)).data.createLearner.id;
    for (const seed of [301, 302]) {
      const res = await t.admin.upload(SUBMIT, { input: { learnerId: learner, referenceText: 'We call it bear', audio: null } }, 'variables.input.audio', {
        bytes: speechLikeWav(1.2, seed), name: 'take.wav',
      });
      expect((await waitForJob(t.admin, res.data.submitUtterance.job.id)).status).toBe('SUCCEEDED');
    }
    const started = await t.admin.request(`mutation($l: ID!) { reassessUtterances(input: {learnerId: $l}) { id completedAt } }`, { l: learner });
    expect(started.errors).toBeUndefined();
    const op = started.data.reassessUtterances;
    expect(op.completedAt).toBeNull();
    const isMine = (r: { body: string }) => {
      const b = JSON.parse(r.body) as { type: string; data: { bulkOperation?: { id: string } } };
      return b.type === 'bulkOperation.completed' && b.data.bulkOperation?.id === op.id;
    };
    const got = await waitFor(async () => receiver.received.find(isMine) ?? null, 60_000, 50);
    const event = verifyStandardWebhook(hook.data.createWebhookEndpoint.secret, got) as { data: { bulkOperation: Record<string, unknown> } };
    const read = (await t.admin.request(`query($id: ID!) { bulkOperation(id: $id) { status completedAt progress { total succeeded failed } } }`, { id: op.id })).data.bulkOperation;
    expect(read).toMatchObject({ status: 'COMPLETED', progress: { total: 2, succeeded: 2, failed: 0 } });
    expect(event.data.bulkOperation).toEqual({
      id: op.id, learnerId: learner, groupExternalId: null, wholeOrganisation: false, since: null, onlyFailed: false, failedWithCode: null, modelVersion: null, postGrades: false, sendStatements: false,
      total: 2, succeeded: 2, failed: 0, createdAt: expect.any(String), completedAt: new Date(read.completedAt).toISOString(),
    });
    // Once, whatever else checks: the sweep finds nothing more to complete.
    expect(await sweepBulkCompletion(t.app.services.prisma)).toBe(0);
    const events = await t.app.services.prisma.outboxEvent.count({ where: { type: 'bulkOperation.completed', body: { contains: op.id } } });
    expect(events).toBe(1);
    // Its endpoint goes again: the tests below count the first endpoint's deliveries only.
    const removed = await t.admin.request(`mutation($id: ID!) { deleteWebhookEndpoint(id: $id) { id } }`, { id: hook.data.createWebhookEndpoint.endpoint.id });
    expect(removed.errors).toBeUndefined();
  });

  test("erasing a learner removes their events and deliveries; deleting the endpoint removes its deliveries", async () => {
    const prisma = t.app.services.prisma;
    const learner = await prisma.learner.findFirstOrThrow({ where: { externalId } });
    expect(await prisma.outboxEvent.count({ where: { learnerId: learner.id } })).toBeGreaterThan(0);
    const erased = await t.admin.request(`mutation($id: ID!) { eraseLearner(id: $id) { learners } }`, { id: learnerId });
    expect(erased.errors).toBeUndefined();
    expect(await prisma.outboxEvent.count({ where: { learnerId: learner.id } })).toBe(0);
    const deliveries = await prisma.delivery.count({ where: { webhookEndpointId: { not: null } } });
    expect(deliveries).toBeGreaterThan(0);
    const deleted = await t.admin.request(`mutation($id: ID!) { deleteWebhookEndpoint(id: $id) { id url } }`, { id: endpointId });
    expect(deleted.data.deleteWebhookEndpoint).toEqual({ id: endpointId, url: receiver.url });
    expect(await prisma.delivery.count({ where: { webhookEndpointId: { not: null } } })).toBe(0);
    const audit = await t.admin.request(`{ auditEvents(first: 30) { edges { node { action targetType targetId } } } }`);
    const actions = audit.data.auditEvents.edges.map((e: any) => e.node.action);
    for (const a of ['webhookEndpoint.created', 'webhookEndpoint.updated', 'webhookEndpoint.secretRotated', 'webhookDelivery.resent', 'webhookEndpoint.deleted']) {
      expect(actions).toContain(a);
    }
    expect(audit.data.auditEvents.edges[0].node).toEqual({ action: 'webhookEndpoint.deleted', targetType: 'WebhookEndpoint', targetId: endpointId });
  });

  test("sendTestWebhook: a signed webhook.test to one endpoint, kept out of the events feed; the README's webhook operations run as written", async () => {
    // The README's block, one operation at a time, "..." standing for the endpoint (or delivery) it made.
    const readme = readFileSync('README.md', 'utf8');
    const section = readme.slice(readme.indexOf('### Webhooks (Standard Webhooks)'));
    const block = /```graphql\n([\s\S]*?)```/.exec(section)![1]!;
    const operations: string[] = [];
    let current = '';
    for (const line of block.split('\n')) {
      current += `${line.replace(/\s+#.*$/, '')}\n`;
      const depth = [...current].reduce((d, c) => d + (c === '{' ? 1 : c === '}' ? -1 : 0), 0);
      if (depth === 0 && current.trim()) {
        operations.push(current.trim());
        current = '';
      }
    }
    expect(operations.map((o) => /^(?:mutation|query)?\s*\{\s*(\w+)/.exec(o)![1])).toEqual([
      'createWebhookEndpoint', 'rotateWebhookSecret', 'updateWebhookEndpoint', 'sendTestWebhook', 'webhookDeliveries', 'resendWebhookDelivery', 'resendFailedWebhookDeliveries',
    ]);
    const run = async (op: string, id = '') => {
      const res = await t.admin.request(op.replace('https://lms.example.com/speechmark', `${receiver.url}/readme`).replace('"..."', JSON.stringify(id)));
      expect(res.errors).toBeUndefined();
      return res.data;
    };
    const before = receiver.received.length;
    const created = await run(operations[0]!);
    const id = created.createWebhookEndpoint.endpoint.id;
    const { secret } = (await run(operations[1]!, id)).rotateWebhookSecret;
    expect((await run(operations[2]!, id)).updateWebhookEndpoint).toEqual({ enabled: true });
    const test = (await run(operations[3]!, id)).sendTestWebhook;
    expect(test).toMatchObject({ status: 'PENDING', event: { type: 'webhook.test', payload: { type: 'webhook.test', data: { endpoint: { id } } } } });
    // It arrives signed with the endpoint's secrets (the rotated one among them) and is DELIVERED.
    const got = await waitFor(async () => receiver.delivered().slice(before).find((r) => r.headers['webhook-id'] === test.event.id) ?? null, 30_000, 50);
    expect(got.headers['webhook-id']).toBe(test.event.id);
    expect(verifyStandardWebhook(secret, got)).toMatchObject({ type: 'webhook.test', data: { endpoint: { id }, message: expect.stringContaining('nothing happened') } });
    const settled = await waitFor(async () => {
      const d = (await t.admin.request(`query($id: ID!) { webhookDelivery(id: $id) { status } }`, { id: test.id })).data.webhookDelivery;
      return d.status === 'DELIVERED' ? d : null;
    }, 30_000, 50);
    expect(settled.status).toBe('DELIVERED');
    expect((await run(operations[4]!)).webhookDeliveries.edges).toBeDefined();
    expect((await run(operations[5]!, test.id)).resendWebhookDelivery).toMatchObject({ status: 'PENDING' });
    expect((await run(operations[6]!, id)).resendFailedWebhookDeliveries).toEqual({ count: 0, hasMore: false });
    // Listed among the endpoint's deliveries by its type, never in the events feed; audited.
    const listed = await t.admin.request(`query($f: WebhookDeliveryFilter) { webhookDeliveries(first: 10, filter: $f) { totalCount } events(first: 100) { edges { node { id type } } } }`,
      { f: { endpointId: id, eventType: 'webhook.test' } });
    expect(listed.data.webhookDeliveries.totalCount).toBe(2);
    expect(listed.data.events.edges.map((e: any) => e.node.type)).not.toContain('webhook.test');
    const audit = await t.admin.request(`{ auditEvents(first: 1, action: "webhookEndpoint.tested") { edges { node { targetId details } } } }`);
    expect(audit.data.auditEvents.edges[0].node).toMatchObject({ targetId: id, details: { type: 'webhook.test', webhookId: test.event.id, deliveryId: test.id } });

    // A disabled endpoint is CONFLICT; an unknown one NOT_FOUND; only an admin may test.
    await t.admin.request(`mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: {enabled: false}) { enabled } }`, { id });
    const disabled = await t.admin.request(`mutation($id: ID!) { sendTestWebhook(endpointId: $id) { id } }`, { id });
    expect([errorCode(disabled), disabled.errors![0]!.message]).toEqual(['CONFLICT', expect.stringContaining('enable it')]);
    const unknown = await t.admin.request(`mutation($id: ID!) { sendTestWebhook(endpointId: $id) { id } }`, { id: toGlobalId('WebhookEndpoint', '00000000-0000-4000-8000-000000000000') });
    expect(errorCode(unknown)).toBe('NOT_FOUND');
    const reader = await keyWithScopes(t, ['SCORES_READ', 'ASSESS_WRITE']);
    expect(errorCode(await reader.request(`mutation($id: ID!) { sendTestWebhook(endpointId: $id) { id } }`, { id }))).toBe('FORBIDDEN');
    const { client: other } = await otherOrganization(t);
    expect(errorCode(await other.request(`mutation($id: ID!) { sendTestWebhook(endpointId: $id) { id } }`, { id }))).toBe('NOT_FOUND');
    // Deleting the endpoint deletes its test events with it (nothing else would ever show them).
    const testEvents = () => t.app.services.prisma.outboxEvent.count({ where: { type: 'webhook.test', body: { contains: id } } });
    expect(await testEvents()).toBe(1);
    await t.admin.request(`mutation($id: ID!) { deleteWebhookEndpoint(id: $id) { id } }`, { id });
    expect(await testEvents()).toBe(0);
  });

  test('an endpoint failing for days: failingSince shows the run, the server disables it at the next failure (audit: system:delivery-worker), enabling it starts afresh', async () => {
    const failing = new Receiver();
    await failing.start();
    try {
      failing.answer = () => ({ status: 500 });
      const created = await t.admin.request(CREATE, { input: { url: `${failing.url}/down`, eventTypes: ['ltiLineItem.regraded'] } });
      const id = created.data.createWebhookEndpoint.endpoint.id as string;
      const READ = `query($id: ID!) { webhookEndpoint(id: $id) { enabled disabledAt disabledReason failingSince } }`;
      const endpointNow = async () => (await t.admin.request(READ, { id })).data.webhookEndpoint;
      expect(await endpointNow()).toEqual({ enabled: true, disabledAt: null, disabledReason: null, failingSince: null });
      const test = async () => expect((await t.admin.request(`mutation($id: ID!) { sendTestWebhook(endpointId: $id) { id } }`, { id })).errors).toBeUndefined();
      await test();
      const run = await waitFor(async () => (await endpointNow()).failingSince as string | null, 20_000, 50);
      expect(Date.parse(run)).toBeLessThanOrEqual(Date.now());
      // As if that run had begun 6 days ago: the server's setting (5 days, the default) is past.
      const sixDaysAgo = new Date(Date.now() - 6 * 86_400_000);
      await t.app.services.prisma.webhookEndpoint.update({ where: { id: fromGlobalId(id)!.id }, data: { failingSince: sixDaysAgo } });
      await test();
      const off = await waitFor(async () => { const e = await endpointNow(); return e.enabled ? null : e; }, 20_000, 50);
      expect(off).toMatchObject({ failingSince: sixDaysAgo.toISOString(), disabledReason: expect.stringMatching(/^Every delivery attempt failed for 5 days \(since /) });
      const audit = await t.admin.request(`{ auditEvents(first: 20) { edges { node { action actor actorApiKeyId details } } } }`);
      expect(audit.data.auditEvents.edges.map((e: any) => e.node).filter((n: any) => n.action === 'webhookEndpoint.disabled'))
        .toEqual([{ action: 'webhookEndpoint.disabled', actor: 'system:delivery-worker', actorApiKeyId: null, details: expect.objectContaining({ reason: off.disabledReason }) }]);
      const on = await t.admin.request(`mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: {enabled: true}) { enabled disabledReason failingSince } }`, { id });
      expect(on.data.updateWebhookEndpoint).toEqual({ enabled: true, disabledReason: null, failingSince: null });
      // Gone, with what it still had to retry.
      expect((await t.admin.request(`mutation($id: ID!) { deleteWebhookEndpoint(id: $id) { id } }`, { id })).errors).toBeUndefined();
    } finally {
      await failing.stop();
    }
  });

  test('a failed delivery re-sent by id while the endpoint is re-sent in bulk: one new delivery, no deadlock', async () => {
    const prisma = t.app.services.prisma;
    // Deliveries stay as the re-sends leave them (nothing sent), so each round starts from FAILED.
    await t.app.deliveries?.stop({ deadlineMs: 10_000 });
    const created = await t.admin.request(CREATE, { input: { url: `${receiver.url}/race`, eventTypes: ['assessment.completed'] } });
    const endpoint = created.data.createWebhookEndpoint.endpoint.id;
    const endpointDbId = fromGlobalId(endpoint)!.id;
    const { organizationId } = await prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: endpointDbId } });
    const event = await prisma.outboxEvent.create({ data: { organizationId, type: 'assessment.completed', body: '{}' } });
    const failed = await prisma.delivery.create({ data: { organizationId, eventId: event.id, channel: 'WEBHOOK', webhookEndpointId: endpointDbId, status: 'FAILED', attempts: 4 } });
    const since = new Date(event.createdAt.getTime() - 1000).toISOString();
    for (let round = 0; round < 8; round++) {
      await prisma.delivery.updateMany({ where: { webhookEndpointId: endpointDbId, status: { not: 'FAILED' } }, data: { status: 'FAILED' } });
      const before = await prisma.delivery.count({ where: { webhookEndpointId: endpointDbId } });
      const [one, bulk] = await Promise.all([
        t.admin.request(`mutation($id: ID!) { resendWebhookDelivery(id: $id) { id } }`, { id: toGlobalId('WebhookDelivery', failed.id) }),
        t.admin.request(`mutation($e: ID!, $s: DateTime!) { resendFailedWebhookDeliveries(endpointId: $e, since: $s) { count } }`, { e: endpoint, s: since }),
      ]);
      expect({ round, errors: [one.errors, bulk.errors] }).toEqual({ round, errors: [undefined, undefined] });
      // Whichever ran first made the delivery; the other found it open (by id) or left it (bulk).
      expect(await prisma.delivery.count({ where: { webhookEndpointId: endpointDbId } })).toBe(before + 1);
      expect(await prisma.delivery.count({ where: { webhookEndpointId: endpointDbId, status: 'PENDING' } })).toBe(1);
    }
  });

  test('a bulk re-send makes at most 10,000 deliveries a call and says hasMore until the rest are sent', async () => {
    const prisma = t.app.services.prisma;
    // Nothing is sent from here on: the new deliveries stay PENDING for the counts.
    await t.app.deliveries?.stop({ deadlineMs: 10_000 });
    const created = await t.admin.request(CREATE, { input: { url: `${receiver.url}/outage`, eventTypes: ['assessment.completed'] } });
    expect(created.errors).toBeUndefined();
    const endpoint = created.data.createWebhookEndpoint.endpoint.id;
    const organizationId = (await prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: fromGlobalId(endpoint)!.id } })).organizationId;
    // 10,001 events of a long outage, each with its one delivery FAILED, a millisecond apart.
    await prisma.$executeRaw`
      WITH ev AS (
        INSERT INTO "OutboxEvent" ("id", "organizationId", "type", "body", "createdAt")
        SELECT gen_random_uuid(), ${organizationId}::uuid, 'assessment.completed', '{}', now() - interval '1 hour' + g * interval '1 millisecond'
          FROM generate_series(1, 10001) g
        RETURNING "id")
      INSERT INTO "Delivery" ("id", "organizationId", "eventId", "channel", "webhookEndpointId", "status", "attempts", "runAfter", "createdAt", "updatedAt")
      SELECT gen_random_uuid(), ${organizationId}::uuid, ev."id", 'WEBHOOK', ${fromGlobalId(endpoint)!.id}::uuid, 'FAILED', 4, now(), now(), now() FROM ev`;
    // Statistics for the new rows, as autovacuum takes them after a bulk load on a server: with the
    // planner's stale estimate (30 rows), the checks below took a nested loop over 10,001 events
    // (20-30 s each), and PGlite, running in this process, held the event loop past the HTTP
    // keep-alive timeout under CI's load, so the next request met a closed socket (ECONNRESET).
    await prisma.$executeRawUnsafe('ANALYZE "OutboxEvent", "Delivery"');
    const RESEND = `mutation($e: ID!, $s: DateTime!) { resendFailedWebhookDeliveries(endpointId: $e, since: $s) { count hasMore } }`;
    const since = new Date(Date.now() - 2 * 3_600_000).toISOString();
    const first = await t.admin.request(RESEND, { e: endpoint, s: since });
    expect(first.errors).toBeUndefined();
    expect(first.data.resendFailedWebhookDeliveries).toEqual({ count: 10_000, hasMore: true });
    // The oldest first: the newest event is the one left for the next call.
    const newest = await prisma.outboxEvent.findFirstOrThrow({ where: { organizationId, body: '{}', deliveries: { some: { webhookEndpointId: fromGlobalId(endpoint)!.id } } }, orderBy: { createdAt: 'desc' } });
    expect(await prisma.delivery.count({ where: { eventId: newest.id, status: 'PENDING' } })).toBe(0);
    const oldest = await prisma.outboxEvent.findFirstOrThrow({ where: { organizationId, body: '{}', deliveries: { some: { webhookEndpointId: fromGlobalId(endpoint)!.id } } }, orderBy: { createdAt: 'asc' } });
    expect(await prisma.delivery.count({ where: { eventId: oldest.id, status: 'PENDING' } })).toBe(1);
    expect((await t.admin.request(RESEND, { e: endpoint, s: since })).data.resendFailedWebhookDeliveries).toEqual({ count: 1, hasMore: false });
    expect((await t.admin.request(RESEND, { e: endpoint, s: since })).data.resendFailedWebhookDeliveries).toEqual({ count: 0, hasMore: false });
    // Every event has exactly one delivery waiting, the oldest ones from the first call.
    const open = await prisma.delivery.groupBy({ by: ['eventId'], where: { webhookEndpointId: fromGlobalId(endpoint)!.id, status: 'PENDING' }, _count: true });
    expect(open.length).toBe(10_001);
    expect(open.every((g) => g._count === 1)).toBe(true);
  });
});
