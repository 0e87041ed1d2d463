/** Rows written straight through the platform's own persistence code, for API tests that need no inference. */
import { randomUUID } from 'node:crypto';
import type { PrismaClient } from '../../src/generated/prisma/client.js';
import { writeAssessment, type RationaleRecord } from '../../src/assessment/persist.js';
import { analyzeReferenceText } from '../../src/text/reference.js';
import type { AssessmentLabels } from '../../src/types.js';
import { createApiKey, type Scope } from '../../src/graphql/auth.js';
import { GqlClient } from './client.js';
import type { TestApp } from './app.js';

/** A second organisation with its own key: for tenant isolation checks. */
export async function otherOrganization(t: TestApp, scopes: Scope[] = ['ADMIN']) {
  const prisma = t.app.services.prisma;
  const org = await prisma.organization.create({ data: { name: `other ${randomUUID()}` } });
  const { key } = await createApiKey(prisma, org.id, 'other', scopes);
  return { org, client: new GqlClient(t.app.url, key) };
}

/** A key of the bootstrap organisation with the given scopes. */
export async function keyWithScopes(t: TestApp, scopes: Scope[]) {
  const prisma = t.app.services.prisma;
  const org = await prisma.organization.findFirstOrThrow({ orderBy: { createdAt: 'asc' } });
  const { key } = await createApiKey(prisma, org.id, scopes.join('+'), scopes);
  return new GqlClient(t.app.url, key);
}

export async function seedUtterance(prisma: PrismaClient, organizationId: string, referenceText: string) {
  const learner = await prisma.learner.create({ data: { organizationId, externalId: `seed-${randomUUID()}` } });
  return prisma.utterance.create({
    data: {
      organizationId, learnerId: learner.id, referenceText,
      referenceWords: analyzeReferenceText(referenceText) as never,
      audioSha256: randomUUID().replace(/-/g, '').padEnd(64, '0'), audioFormat: 'wav', audioBytes: 1, durationMs: 1000,
      sourceSampleRate: 16000, sourceChannels: 1, speechMs: 900,
    },
  });
}

export async function seedModelAssessment(
  prisma: PrismaClient,
  utterance: { id: string; organizationId: string },
  labels: AssessmentLabels,
  rationale: RationaleRecord | null,
  options: { version?: string; createdAt?: Date } = {},
): Promise<string> {
  const id = await prisma.$transaction((tx) =>
    writeAssessment(tx, {
      organizationId: utterance.organizationId, utteranceId: utterance.id, jobId: null, source: 'MODEL',
      model: { name: 'seed-model', version: options.version ?? '1', executionProvider: 'cpu' }, inferenceMs: 1, labels, rationale,
      // Given at write time, not updated afterwards: the sound rollups take the latest assessment as written.
      createdAt: options.createdAt,
    }),
  );
  return id;
}
