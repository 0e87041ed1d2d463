/**
 * The history analytics as the per-request loaders hand them out (loaders.ts): bound to the
 * caller's organisation, each checking the key's scope before it reads. Learner and cohort
 * analytics need SCORES_READ; the model audit and the organisation's usage need ADMIN.
 *
 * The Learner fields batch: every learner of one request asking a field with the same arguments
 * (a page of learners, say) is answered by the same statement(s), partitioned by learner, so the
 * statement count depends neither on the rows nor on the number of learners.
 */
import DataLoader from 'dataloader';
import type { PrismaClient } from '../generated/prisma/client.js';
import { groupProgress, learnerProgress, type ProgressArgs } from './progress.js';
import { learnersScope, MAX_SOUNDS, perKey, soundChanges, soundStats, wordStats, type ChangeArgs, type SoundArgs } from './sounds.js';
import {
  droppedLearnerCount, droppedLearners, groupDistribution, groups, inactiveLearnerCount, inactiveLearners, weakSounds, weakWords, groupSoundChanges, hardestTexts, type DistributionArgs, type DropArgs,
} from './cohorts.js';
import { modelAudit } from './audit.js';
import { organizationUsage, type UsageArgs } from './usage.js';

/**
 * A loader per distinct arguments, keyed by learner id, dispatched like the other loaders
 * (setImmediate). `forget`, registered here, empties them (Loaders.forgetCached).
 */
function perLearner<A, R>(forget: (() => void)[], fetch: (learnerIds: string[], args: A) => Promise<Map<string, R>>) {
  const loaders = new Map<string, DataLoader<string, R>>();
  forget.push(() => loaders.clear());
  return (learnerId: string, args: A): Promise<R> => {
    const key = JSON.stringify(args);
    let loader = loaders.get(key);
    if (!loader) {
      loader = new DataLoader<string, R>(async (ids) => {
        const results = await fetch([...ids], args);
        return ids.map((id) => results.get(id)!);
      }, { batchScheduleFn: (dispatch) => setImmediate(dispatch) });
      loaders.set(key, loader);
    }
    return loader.load(learnerId);
  };
}

export function scopedAnalytics(prisma: PrismaClient, organizationId: string, reads: () => void, admin: () => void) {
  const org = organizationId;
  const forget: (() => void)[] = [];
  const progress = perLearner(forget, (ids, args: ProgressArgs) => learnerProgress(prisma, org, ids, args));
  const sounds = perLearner(forget, async (ids, args: SoundArgs) =>
    perKey(ids, await soundStats(prisma, org, learnersScope(ids), args, MAX_SOUNDS)));
  const words = perLearner(forget, async (ids, args: SoundArgs) => perKey(ids, await wordStats(prisma, org, learnersScope(ids), args)));
  const changes = perLearner(forget, async (ids, args: ChangeArgs) => perKey(ids, await soundChanges(prisma, org, learnersScope(ids), args)));
  return {
    /** Forget every answer read so far in this request (Loaders.forgetCached). */
    forget: () => forget.forEach((f) => f()),
    progress: (learnerId: string, args: ProgressArgs) => (reads(), progress(learnerId, args)),
    groupProgress: (externalId: string, args: ProgressArgs) => (reads(), groupProgress(prisma, org, externalId, args)),
    soundProfile: (learnerId: string, args: SoundArgs) => (reads(), sounds(learnerId, args)),
    wordProfile: (learnerId: string, args: SoundArgs) => (reads(), words(learnerId, args)),
    soundChanges: (learnerId: string, args: ChangeArgs) => (reads(), changes(learnerId, args)),
    groups: (externalIds: string[]) => (reads(), groups(prisma, org, externalIds)),
    groupDistribution: (externalId: string, args: DistributionArgs) => (reads(), groupDistribution(prisma, org, externalId, args)),
    /** A group's, or with null the whole organisation's. */
    weakSounds: (externalId: string | null, args: SoundArgs) => (reads(), weakSounds(prisma, org, externalId, args)),
    weakWords: (externalId: string | null, args: SoundArgs) => (reads(), weakWords(prisma, org, externalId, args)),
    groupSoundChanges: (externalId: string, args: ChangeArgs) => (reads(), groupSoundChanges(prisma, org, externalId, args)),
    hardestTexts: (externalId: string, args: SoundArgs) => (reads(), hardestTexts(prisma, org, externalId, args)),
    droppedLearners: (externalId: string, args: DropArgs & { after?: string | null }) => (reads(), droppedLearners(prisma, org, externalId, args)),
    droppedLearnerCount: (externalId: string, args: DropArgs) => (reads(), droppedLearnerCount(prisma, org, externalId, args)),
    inactiveLearners: (externalId: string, args: { days?: number | null; first?: number | null; after?: string | null }) =>
      (reads(), inactiveLearners(prisma, org, externalId, args)),
    inactiveLearnerCount: (externalId: string, args: { days?: number | null }) => (reads(), inactiveLearnerCount(prisma, org, externalId, args)),
    modelAudit: (modelVersion: string | null | undefined) => (admin(), modelAudit(prisma, org, modelVersion)),
    usage: (args: UsageArgs) => (admin(), organizationUsage(prisma, org, args)),
  };
}

export type ScopedAnalytics = ReturnType<typeof scopedAnalytics>;
