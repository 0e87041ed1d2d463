import type { Job, PrismaClient } from '../../src/generated/prisma/client.js';
import type { TransactionClient } from '../../src/jobs/queue.js';

/** An organisation, learner and utterance with `n` jobs on it. */
export async function createJobs(prisma: PrismaClient, n: number, job: Partial<Pick<Job, 'maxAttempts' | 'runAfter'>> = {}): Promise<Job[]> {
  const org = await prisma.organization.create({ data: { name: 'org' } });
  const learner = await prisma.learner.create({ data: { organizationId: org.id, externalId: `l-${org.id}` } });
  const utt = await prisma.utterance.create({
    data: {
      organizationId: org.id, learnerId: learner.id, referenceText: 'hi', referenceWords: [],
      audioSha256: 'a'.repeat(64), audioFormat: 'wav', audioBytes: 1, durationMs: 1000,
      sourceSampleRate: 16000, sourceChannels: 1, speechMs: 900,
    },
  });
  const jobs: Job[] = [];
  for (let i = 0; i < n; i++) {
    jobs.push(await prisma.job.create({ data: { organizationId: org.id, utteranceId: utt.id, ...job } }));
  }
  return jobs;
}

/** The result writer a handler would return: an assessment row for the job. */
export function writeAssessment(job: Job) {
  return async (tx: TransactionClient) => {
    await tx.assessment.create({
      data: {
        organizationId: job.organizationId, utteranceId: job.utteranceId, jobId: job.id,
        accuracy: 8, fluency: 8, prosody: 8, completeness: 10, total: 8,
      },
    });
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor<T>(fn: () => Promise<T | null | undefined | false>, timeoutMs = 15000, stepMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('waitFor: timed out');
    await sleep(stepMs);
  }
}
