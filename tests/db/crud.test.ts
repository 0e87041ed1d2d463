import { describeEachDatabase } from '../support/db.js';

describeEachDatabase('Prisma client on the migrated schema', (ctx) => {
  test('create, read, update and delete every model; cascades and constraints hold', async () => {
    const p = ctx.prisma;
    const org = await p.organization.create({ data: { name: 'Acme' } });
    const key = await p.apiKey.create({
      data: { organizationId: org.id, name: 'lms', prefix: 'sm_abc', keyHash: 'h'.repeat(64), scopes: ['assess:write', 'scores:read'] },
    });
    expect(key.scopes).toEqual(['assess:write', 'scores:read']);
    await expect(
      p.apiKey.create({ data: { organizationId: org.id, name: 'dup', prefix: 'x', keyHash: 'h'.repeat(64), scopes: [] } }),
    ).rejects.toMatchObject({ code: 'P2002' });

    const learner = await p.learner.create({ data: { organizationId: org.id, externalId: 'stu-1', displayName: 'Ana' } });
    await expect(p.learner.create({ data: { organizationId: org.id, externalId: 'stu-1' } })).rejects.toMatchObject({ code: 'P2002' });

    const words = [{ text: 'hello', phones: ['HH', 'AH0', 'L', 'OW1'], source: 'cmudict' }];
    const utt = await p.utterance.create({
      data: {
        organizationId: org.id, learnerId: learner.id, referenceText: 'Hello', referenceWords: words,
        audioSha256: 'a'.repeat(64), audioFormat: 'wav', audioBytes: 32000, durationMs: 1000,
        sourceSampleRate: 16000, sourceChannels: 1, speechMs: 800, idempotencyKey: 'k1',
      },
    });
    expect(utt.referenceWords).toEqual(words);

    const job = await p.job.create({ data: { organizationId: org.id, utteranceId: utt.id } });
    expect(job).toMatchObject({ status: 'QUEUED', attempts: 0, maxAttempts: 3, lockedBy: null });
    expect(job.runAfter).toBeInstanceOf(Date);

    const a = await p.assessment.create({
      data: {
        organizationId: org.id, utteranceId: utt.id, jobId: job.id, modelName: 'm', modelVersion: '1.0.0',
        executionProvider: 'cpu', accuracy: 8, fluency: 7, prosody: 6, completeness: 10, total: 7, inferenceMs: 120,
        words: {
          create: [{ organizationId: org.id, index: 0, text: 'hello', accuracy: 8, stress: 10, total: 8 }],
        },
        rationale: {
          create: {
            organizationId: org.id, text: 'Clear overall.', flags: ['MISSED_ERRORS'],
            plausibility: { accuracy: 'consistent' }, wordCheck: { criticised: [] }, phonemeCheck: {}, wordPrecision: 1, wordRecall: 0.5,
          },
        },
      },
      include: { words: true, rationale: true },
    });
    expect(a.source).toBe('MODEL');
    expect(a.rationale?.flags).toEqual(['MISSED_ERRORS']);
    const ph = await p.phonemeAssessment.create({
      data: { organizationId: org.id, assessmentId: a.id, wordAssessmentId: a.words[0]!.id, index: 0, symbol: 'HH', accuracy: 1.5 },
    });
    expect(ph.accuracy).toBe(1.5);

    const found = await p.assessment.findUniqueOrThrow({
      where: { jobId: job.id },
      include: { words: { include: { phonemes: true } }, rationale: true, job: true, utterance: { include: { learner: true } } },
    });
    expect(found.words[0]!.phonemes[0]!.symbol).toBe('HH');
    expect(found.utterance.learner.externalId).toBe('stu-1');
    expect(found.rationale?.wordRecall).toBe(0.5);

    await p.job.update({ where: { id: job.id }, data: { status: 'SUCCEEDED', finishedAt: new Date() } });
    expect((await p.job.findUniqueOrThrow({ where: { id: job.id } })).status).toBe('SUCCEEDED');
    expect(await p.rationale.count({ where: { flags: { has: 'MISSED_ERRORS' } } })).toBe(1);

    // Deleting the job keeps the assessment (SetNull); deleting the organisation removes everything.
    await p.job.delete({ where: { id: job.id } });
    expect((await p.assessment.findUniqueOrThrow({ where: { id: a.id } })).jobId).toBeNull();
    await p.organization.delete({ where: { id: org.id } });
    for (const n of await Promise.all([
      p.apiKey.count(), p.learner.count(), p.utterance.count(), p.job.count(), p.assessment.count(),
      p.wordAssessment.count(), p.phonemeAssessment.count(), p.rationale.count(),
    ])) expect(n).toBe(0);
  });
});

describe('openDatabase onQuery', () => {
  test('reports the SQL of each statement Prisma sends', async () => {
    const { openDatabase } = await import('../../src/db/client.js');
    const seen: string[] = [];
    const db = await openDatabase({ databaseUrl: undefined, dataDir: 'memory://' }, { onQuery: (sql) => seen.push(sql) });
    try {
      await db.prisma.organization.findMany({ where: { name: 'x' } });
      expect(seen.some((s) => s.includes('"Organization"'))).toBe(true);
    } finally {
      await db.close();
    }
  });
});
