/**
 * What a delivery driver (the outbox's worker) holds for LTI: one token client per process, so
 * tokens are cached across deliveries, and `deliver(id)` making one recorded attempt.
 */
import type { PrismaClient } from '../generated/prisma/client.js';
import { deliverLtiScore } from './deliver.js';
import { fetchPost, type HttpPost } from './http.js';
import { LtiTokenClient } from './token.js';

export function createLtiScoreSender(prisma: PrismaClient, post: HttpPost = fetchPost) {
  const tokens = new LtiTokenClient(prisma, post);
  const deps = { prisma, tokens, post };
  return { tokens, deliver: (deliveryId: string) => deliverLtiScore(deps, deliveryId) };
}
export type LtiScoreSender = ReturnType<typeof createLtiScoreSender>;
