import { startTestApp, testDatabases, waitForJob, type TestApp } from '../support/app.js';
import { errorCode } from '../support/client.js';
import { describeWithSpeech, speechOceanUtterances } from '../support/speech.js';

const DATABASES = await testDatabases();

const CREATE_LEARNER = `mutation($input: CreateLearnerInput!) { createLearner(input: $input) { id externalId } }`;
const SUBMIT = `mutation($input: SubmitUtteranceInput!) {
  submitUtterance(input: $input) { replayed utterance { id referenceWords { text phonemes source } audio { format durationMs speechMs } } job { id status } }
}`;
const ASSESSMENT = `query($id: ID!) { job(id: $id) { status assessment {
  id source model { name version } executionProvider inferenceMs
  sentence { accuracy fluency prosody completeness total }
  words { index text accuracy stress total phonemes { index symbol accuracy } }
  rationale { text flags trusted plausibility { accuracy fluency prosody overall }
    words { criticised praised precision recall mentions errorTokens }
    phonemes { criticised praised precision recall mentions errorTokens } }
} } }`;

describeWithSpeech('assessment flow over HTTP', () => {
  describe.each(DATABASES)('on %s', (kind) => {
    let t: TestApp;
    let learnerId: string;
    const [first, second, third] = speechOceanUtterances('train', 3);

    beforeAll(async () => {
      t = await startTestApp(kind);
      const res = await t.admin.request(CREATE_LEARNER, { input: { externalId: 'lms-42', displayName: 'Ada' } });
      learnerId = res.data.createLearner.id;
    });
    afterAll(() => t?.dispose());

    const submit = (u: { text: string; bytes: Uint8Array }, idempotencyKey?: string) =>
      t.admin.upload(SUBMIT, { input: { learnerId, referenceText: u.text, audio: null, idempotencyKey } }, 'variables.input.audio', {
        bytes: u.bytes,
        name: 'recording.bin', // the format is sniffed from the bytes, not the name
      });

    test('uploads real speech, assesses it and serves every level', async () => {
      const res = await submit(first!);
      expect(res.errors).toBeUndefined();
      const { utterance, job } = res.data.submitUtterance;
      expect(job.status).toBe('QUEUED');
      expect(utterance.audio.format).toBe('flac');
      expect(utterance.audio.speechMs).toBeGreaterThan(300);
      expect(utterance.referenceWords.map((w: any) => w.text)).toEqual(first!.text.split(' '));

      expect((await waitForJob(t.admin, job.id)).status).toBe('SUCCEEDED');
      const a = (await t.admin.request(ASSESSMENT, { id: job.id })).data.job.assessment;
      expect(a.source).toBe('MODEL');
      expect(a.executionProvider).toBe('cpu');
      expect(a.model.version).toMatch(/\S/);
      for (const v of Object.values(a.sentence)) expect(Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 10).toBe(true);
      expect(a.words.map((w: any) => w.text)).toEqual(first!.text.split(' '));
      a.words.forEach((w: any, i: number) => {
        expect(w.index).toBe(i);
        expect([5, 10]).toContain(w.stress);
        expect(w.accuracy).toBeGreaterThanOrEqual(0);
        expect(w.accuracy).toBeLessThanOrEqual(10);
        expect(w.phonemes.map((p: any) => p.symbol)).toEqual(utterance.referenceWords[i].phonemes);
        for (const p of w.phonemes) expect(p.accuracy >= 0 && p.accuracy <= 2).toBe(true);
      });
      expect(a.rationale.text.length).toBeGreaterThan(20);
      // The platform's own rationale is grounded in the predictions, so it passes its checks.
      expect(a.rationale.flags).toEqual([]);
      expect(a.rationale.trusted).toBe(true);
    });

    test('lists a learner\'s utterances newest first with cursor pagination', async () => {
      await submit(second!);
      await submit(third!);
      const page = `query($id: ID!, $after: String) { learner(id: $id) { utterances(first: 2, after: $after) {
        edges { cursor node { referenceText latestAssessment { id } } } pageInfo { hasNextPage endCursor } } } }`;
      const p1 = (await t.admin.request(page, { id: learnerId })).data.learner.utterances;
      expect(p1.edges.map((e: any) => e.node.referenceText)).toEqual([third!.text, second!.text]);
      expect(p1.pageInfo.hasNextPage).toBe(true);
      const p2 = (await t.admin.request(page, { id: learnerId, after: p1.pageInfo.endCursor })).data.learner.utterances;
      expect(p2.edges.map((e: any) => e.node.referenceText)).toEqual([first!.text]);
      expect(p2.pageInfo.hasNextPage).toBe(false);
    });

    test('re-assessing keeps the earlier assessment', async () => {
      const utterance = (await submit(first!, 'reassess-me')).data.submitUtterance.utterance;
      const list = `query($id: ID!) { utterance(id: $id) { latestAssessment { id } assessments { edges { node { id createdAt supersededAt } } } jobs { totalCount edges { node { id status } } } } }`;
      const firstJob = (await t.admin.request(`query($id: ID!) { utterance(id: $id) { jobs(first: 1) { edges { node { id } } } } }`, { id: utterance.id })).data.utterance.jobs.edges[0].node.id;
      await waitForJob(t.admin, firstJob);
      const before = (await t.admin.request(list, { id: utterance.id })).data.utterance;
      const again = await t.admin.request(`mutation($id: ID!) { reassessUtterance(utteranceId: $id) { id status } }`, { id: utterance.id });
      expect(again.errors).toBeUndefined();
      expect((await waitForJob(t.admin, again.data.reassessUtterance.id)).status).toBe('SUCCEEDED');
      const after = (await t.admin.request(list, { id: utterance.id })).data.utterance;
      expect(after.assessments.edges).toHaveLength(2);
      expect(after.assessments.edges.map((e: any) => e.node.id)).toContain(before.latestAssessment.id);
      expect(after.latestAssessment.id).not.toBe(before.latestAssessment.id);
      // The first is superseded when the re-assessment was made; the latest is not (the worker's path, which asks under its lock).
      const [newer, older] = after.assessments.edges.map((e: any) => e.node);
      expect(before.assessments.edges[0].node.supersededAt).toBeNull();
      expect([newer.id, newer.supersededAt, older.id, older.supersededAt]).toEqual([after.latestAssessment.id, null, before.latestAssessment.id, newer.createdAt]);
      expect(after.jobs.edges).toHaveLength(2);
      expect(after.jobs.totalCount).toBe(2);
      // newest first: the re-assessment's job leads
      expect(after.jobs.edges[0].node.id).toBe(again.data.reassessUtterance.id);
    });

    test('a retried submit with the same idempotency key returns the first result', async () => {
      const a = await submit(second!, 'retry-key-1');
      const b = await submit(second!, 'retry-key-1');
      expect(a.data.submitUtterance.replayed).toBe(false);
      expect(b.data.submitUtterance.replayed).toBe(true);
      expect(b.data.submitUtterance.utterance.id).toBe(a.data.submitUtterance.utterance.id);
      expect(b.data.submitUtterance.job.id).toBe(a.data.submitUtterance.job.id);
      const count = await t.app.services.prisma.utterance.count({ where: { idempotencyKey: 'retry-key-1' } });
      expect(count).toBe(1);
    });

    test('unknown learner is NOT_FOUND and leaves nothing behind', async () => {
      const before = await t.app.services.prisma.utterance.count();
      const res = await t.admin.upload(
        SUBMIT,
        { input: { learnerId: 'TGVhcm5lcjowMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDA', referenceText: 'HELLO', audio: null } },
        'variables.input.audio',
        { bytes: first!.bytes, name: 'a.flac' },
      );
      expect(errorCode(res)).toBe('NOT_FOUND');
      expect(await t.app.services.prisma.utterance.count()).toBe(before);
    });
  });
});
