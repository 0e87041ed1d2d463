/**
 * The history analytics as the per-request loaders hand them out (loaders.ts): bound to the
 * caller's organisation, each checking the key's scope before it reads. Learner and cohort
 * analytics need SCORES_READ; the model audit needs ADMIN.
 */
import type { PrismaClient } from '../generated/prisma/client.js';
import { learnerProgress, type ProgressArgs } from './progress.js';
import { learnerUtterances, soundChanges, soundStats, wordStats, type ChangeArgs, type SoundArgs } from './sounds.js';
import { droppedLearners, groupDistribution, groups, inactiveLearners, weakSounds, type DistributionArgs, type DropArgs } from './cohorts.js';
import { modelAudit } from './audit.js';
import { MAX_SOUNDS } from './sounds.js';

export function scopedAnalytics(prisma: PrismaClient, organizationId: string, reads: () => void, admin: () => void) {
  const org = organizationId;
  return {
    progress: (learnerId: string, args: ProgressArgs) => (reads(), learnerProgress(prisma, org, learnerId, args)),
    soundProfile: (learnerId: string, args: SoundArgs) => (reads(), soundStats(prisma, org, learnerUtterances(learnerId), args, MAX_SOUNDS)),
    wordProfile: (learnerId: string, args: SoundArgs) => (reads(), wordStats(prisma, org, learnerId, args)),
    soundChanges: (learnerId: string, args: ChangeArgs) => (reads(), soundChanges(prisma, org, learnerId, args)),
    groups: (externalIds: string[]) => (reads(), groups(prisma, org, externalIds)),
    groupDistribution: (externalId: string, args: DistributionArgs) => (reads(), groupDistribution(prisma, org, externalId, args)),
    weakSounds: (externalId: string, args: SoundArgs) => (reads(), weakSounds(prisma, org, externalId, args)),
    droppedLearners: (externalId: string, args: DropArgs) => (reads(), droppedLearners(prisma, org, externalId, args)),
    inactiveLearners: (externalId: string, args: { days?: number | null; first?: number | null }) =>
      (reads(), inactiveLearners(prisma, org, externalId, args)),
    modelAudit: (modelVersion: string | null | undefined) => (admin(), modelAudit(prisma, org, modelVersion)),
  };
}

export type ScopedAnalytics = ReturnType<typeof scopedAnalytics>;
