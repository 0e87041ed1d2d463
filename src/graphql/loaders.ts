import DataLoader from 'dataloader';
import type {
  Assessment,
  Job,
  Learner,
  PhonemeAssessment,
  PrismaClient,
  Rationale,
  Utterance,
  WordAssessment,
} from '../generated/prisma/client.js';

/**
 * Per-request batch loaders. Every one is bound to the caller's organisation, so an id from
 * another tenant simply loads as null: no field or lookup can cross organisations.
 */
export function createLoaders(prisma: PrismaClient, organizationId: string) {
  const byId = <T extends { id: string }>(fetch: (ids: string[]) => Promise<T[]>) =>
    new DataLoader<string, T | null>(async (ids) => {
      const rows = new Map((await fetch([...ids])).map((r) => [r.id, r]));
      return ids.map((id) => rows.get(id) ?? null);
    });
  const groupedBy = <T, K extends keyof T>(key: K, fetch: (ids: string[]) => Promise<T[]>) =>
    new DataLoader<string, T[]>(async (ids) => {
      const groups = new Map<string, T[]>(ids.map((id) => [id, []]));
      for (const row of await fetch([...ids])) groups.get(row[key] as string)?.push(row);
      return ids.map((id) => groups.get(id) ?? []);
    });
  const scope = (ids: string[]) => ({ organizationId, id: { in: ids } });

  return {
    learner: byId<Learner>((ids) => prisma.learner.findMany({ where: scope(ids) })),
    utterance: byId<Utterance>((ids) => prisma.utterance.findMany({ where: scope(ids) })),
    job: byId<Job>((ids) => prisma.job.findMany({ where: scope(ids) })),
    assessment: byId<Assessment>((ids) => prisma.assessment.findMany({ where: scope(ids) })),
    jobsByUtterance: groupedBy<Job, 'utteranceId'>('utteranceId', (ids) =>
      prisma.job.findMany({
        where: { organizationId, utteranceId: { in: ids } },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      }),
    ),
    latestAssessmentByUtterance: new DataLoader<string, Assessment | null>(async (ids) => {
      // DISTINCT ON picks each utterance's newest model assessment in one statement; a rater's
      // labels are Utterance.humanLabels, not the latest result.
      const rows = await prisma.assessment.findMany({
        where: { organizationId, utteranceId: { in: [...ids] }, source: 'MODEL' },
        orderBy: [{ utteranceId: 'asc' }, { createdAt: 'desc' }, { id: 'desc' }],
        distinct: ['utteranceId'],
      });
      const byUtterance = new Map(rows.map((r) => [r.utteranceId, r]));
      return ids.map((id) => byUtterance.get(id) ?? null);
    }),
    latestHumanByUtterance: new DataLoader<string, Assessment | null>(async (ids) => {
      const rows = await prisma.assessment.findMany({
        where: { organizationId, utteranceId: { in: [...ids] }, source: 'HUMAN' },
        orderBy: [{ utteranceId: 'asc' }, { createdAt: 'desc' }, { id: 'desc' }],
        distinct: ['utteranceId'],
      });
      const byUtterance = new Map(rows.map((r) => [r.utteranceId, r]));
      return ids.map((id) => byUtterance.get(id) ?? null);
    }),
    assessmentByJob: new DataLoader<string, Assessment | null>(async (ids) => {
      const rows = await prisma.assessment.findMany({ where: { organizationId, jobId: { in: [...ids] } } });
      const byJob = new Map(rows.map((r) => [r.jobId, r]));
      return ids.map((id) => byJob.get(id) ?? null);
    }),
    wordsByAssessment: groupedBy<WordAssessment, 'assessmentId'>('assessmentId', (ids) =>
      prisma.wordAssessment.findMany({
        where: { organizationId, assessmentId: { in: ids } },
        orderBy: { index: 'asc' },
      }),
    ),
    phonemesByWord: groupedBy<PhonemeAssessment, 'wordAssessmentId'>('wordAssessmentId', (ids) =>
      prisma.phonemeAssessment.findMany({
        where: { organizationId, wordAssessmentId: { in: ids } },
        orderBy: { index: 'asc' },
      }),
    ),
    rationaleByAssessment: new DataLoader<string, Rationale | null>(async (ids) => {
      const rows = await prisma.rationale.findMany({ where: { organizationId, assessmentId: { in: [...ids] } } });
      const byAssessment = new Map(rows.map((r) => [r.assessmentId, r]));
      return ids.map((id) => byAssessment.get(id) ?? null);
    }),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
