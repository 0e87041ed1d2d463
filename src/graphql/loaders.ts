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
 * Dispatch a batch once the I/O callbacks of this turn of the event loop have run, not on the next
 * tick: resolvers resumed by different query results of the same wave (PostgreSQL answers on
 * several connections) then still share one batch, so a page's statement count is independent of
 * its size and of timing.
 */
function batched<K, V>(load: DataLoader.BatchLoadFn<K, V>): DataLoader<K, V> {
  return new DataLoader<K, V>(load, { batchScheduleFn: (dispatch) => setImmediate(dispatch) });
}

/**
 * Per-request batch loaders. Every one is bound to the caller's organisation, so an id from
 * another tenant simply loads as null: no field or lookup can cross organisations.
 */
export function createLoaders(prisma: PrismaClient, organizationId: string) {
  const byId = <T extends { id: string }>(fetch: (ids: string[]) => Promise<T[]>) =>
    batched<string, T | null>(async (ids) => {
      const rows = new Map((await fetch([...ids])).map((r) => [r.id, r]));
      return ids.map((id) => rows.get(id) ?? null);
    });
  const groupedBy = <T, K extends keyof T>(key: K, fetch: (ids: string[]) => Promise<T[]>) =>
    batched<string, T[]>(async (ids) => {
      const groups = new Map<string, T[]>(ids.map((id) => [id, []]));
      for (const row of await fetch([...ids])) groups.get(row[key] as string)?.push(row);
      return ids.map((id) => groups.get(id) ?? []);
    });
  const scope = (ids: string[]) => ({ organizationId, id: { in: ids } });
  // Each utterance's newest MODEL and newest HUMAN assessment in one statement (DISTINCT ON), shared
  // by the two loaders below so both arrive in the same wave and what they lead to batches together.
  const latestBySource = batched<string, Partial<Record<'MODEL' | 'HUMAN', Assessment>>>(async (ids) => {
    const rows = await prisma.assessment.findMany({
      where: { organizationId, utteranceId: { in: [...ids] } },
      orderBy: [{ utteranceId: 'asc' }, { source: 'asc' }, { createdAt: 'desc' }, { id: 'desc' }],
      distinct: ['utteranceId', 'source'],
    });
    const byUtterance = new Map<string, Partial<Record<'MODEL' | 'HUMAN', Assessment>>>(ids.map((id) => [id, {}]));
    for (const r of rows) byUtterance.get(r.utteranceId)![r.source] = r;
    return ids.map((id) => byUtterance.get(id)!);
  });

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
    latestAssessmentByUtterance: batched<string, Assessment | null>(async (ids) =>
      (await latestBySource.loadMany(ids)).map((r) => (r instanceof Error ? r : r.MODEL ?? null)),
    ),
    latestHumanByUtterance: batched<string, Assessment | null>(async (ids) =>
      (await latestBySource.loadMany(ids)).map((r) => (r instanceof Error ? r : r.HUMAN ?? null)),
    ),
    assessmentByJob: batched<string, Assessment | null>(async (ids) => {
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
    rationaleByAssessment: batched<string, Rationale | null>(async (ids) => {
      const rows = await prisma.rationale.findMany({ where: { organizationId, assessmentId: { in: [...ids] } } });
      const byAssessment = new Map(rows.map((r) => [r.assessmentId, r]));
      return ids.map((id) => byAssessment.get(id) ?? null);
    }),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
