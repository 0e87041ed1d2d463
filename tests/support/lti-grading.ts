/**
 * Grading races through the completing transaction's own code (writeAssessment, emitEvent,
 * queueLtiScore), for tests that hold a reading's transaction open on one connection while
 * something else grades the same user on another.
 */
import type { PrismaClient } from '../../src/generated/prisma/client.js';
import { writeAssessment } from '../../src/assessment/persist.js';
import { emitEvent } from '../../src/outbox/events.js';
import { queueLtiScore } from '../../src/lti/deliver.js';
import { seedUtterance } from './seed.js';
import type { GqlClient } from './client.js';

type Seeded = Awaited<ReturnType<typeof seedUtterance>>;

/** A platform and a TOTAL line item (0-10) under `gradingPolicy`, and `readings` utterances submitted to it by `userId`. */
export async function lineItemWithReadings(admin: GqlClient, prisma: PrismaClient, opts: { url: string; gradingPolicy: string; userId: string; readings: number }) {
  const platform = await admin.request(`mutation($input: RegisterLtiPlatformInput!) { registerLtiPlatform(input: $input) { id } }`, {
    input: { name: `LMS ${opts.url}`, issuer: 'https://lms.example', clientId: opts.url, deploymentId: 'd', tokenEndpoint: 'https://lms.example/token' },
  });
  const item = await admin.request(`mutation($input: CreateLtiLineItemInput!) { createLtiLineItem(input: $input) { id } }`, {
    input: { platformId: platform.data.registerLtiPlatform.id, url: opts.url, aspect: 'TOTAL', scoreMaximum: 10, gradingPolicy: opts.gradingPolicy },
  });
  const lineItemGlobalId: string = item.data.createLtiLineItem.id;
  const lineItemId = Buffer.from(lineItemGlobalId, 'base64url').toString('utf8').split(':')[1]!;
  const org = await prisma.organization.findFirstOrThrow({ orderBy: { createdAt: 'asc' } });
  const utterances: Seeded[] = [];
  for (let i = 0; i < opts.readings; i++) utterances.push(await seedUtterance(prisma, org.id, 'We call it bear'));
  for (const u of utterances) await prisma.ltiSubmission.create({ data: { organizationId: org.id, utteranceId: u.id, lineItemId, userId: opts.userId } });
  return { organizationId: org.id, lineItemId, lineItemGlobalId, utterances };
}

/**
 * Completes a reading (every sentence score `total`) and queues its grade in one transaction, which
 * calls `holding` once graded and commits only when `hold` settles. Resolves to the score's id.
 */
export function completeReading(prisma: PrismaClient, organizationId: string, u: Seeded, total: number, hold: Promise<void>, holding: () => void = () => {}) {
  return prisma.$transaction(async (tx) => {
    const sentence = { accuracy: total, fluency: total, prosody: total, completeness: total, total };
    const id = await writeAssessment(tx, {
      organizationId, utteranceId: u.id, jobId: null, source: 'MODEL', inferenceMs: 1, rationale: null,
      model: { name: 'm', version: '1', executionProvider: 'cpu' }, labels: { sentence, words: [] },
    });
    const eventId = await emitEvent(tx, { organizationId, learnerId: u.learnerId, type: 'assessment.completed', data: { assessmentId: id } });
    const scoreId = await queueLtiScore(tx, { id, organizationId, utteranceId: u.id, scores: sentence, comment: null, flags: [] }, eventId);
    holding();
    await hold;
    return scoreId!;
  }, { timeout: 30_000 });
}
