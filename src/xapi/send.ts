/**
 * One finished assessment to the configured LRS: read it, build its statement, POST it. What a
 * delivery target calls per attempt; every attempt rebuilds the same statement (same id), so
 * retries and re-sends never make a second copy in the LRS.
 */
import type { PrismaClient } from '../generated/prisma/client.js';
import type { XapiConfig } from '../config.js';
import { loadStatementSource } from './load.js';
import { postStatements, type Fetch, type LrsConfig, type LrsOutcome } from './lrs.js';
import { buildStatement } from './statement.js';

export type SendOutcome = LrsOutcome | { kind: 'gone'; reason: string };

export async function sendAssessmentStatement(
  prisma: PrismaClient,
  xapi: XapiConfig & { lrs: LrsConfig },
  organizationId: string,
  assessmentId: string,
  options: { fetch?: Fetch; timeoutMs?: number } = {},
): Promise<SendOutcome> {
  const source = await loadStatementSource(prisma, organizationId, assessmentId);
  // Erased since (learner erasure deletes the rows): nothing left to report, and nothing to retry.
  if (!source) return { kind: 'gone', reason: 'the assessment no longer exists' };
  return postStatements(xapi.lrs, [buildStatement(xapi, source)], options);
}
