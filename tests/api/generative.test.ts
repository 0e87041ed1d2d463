import { analyzeReferenceText } from '../../src/text/reference.js';
import { startTestApp, waitForJob, type TestApp } from '../support/app.js';
import { describeWithSpeech, speechOceanUtterances } from '../support/speech.js';
import { buildBundle, cleanupBundles, GOOD_JSON } from '../inference/generative/fixtures.js';

const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { job { id } } }`;
const RESULT = `query($id: ID!) { job(id: $id) { status error { code message rawOutput }
  assessment { model { name } sentence { accuracy total } words { text accuracy phonemes { symbol accuracy } }
    rationale { text flags words { criticised } phonemes { criticised } } } } }`;

/**
 * A generative bundle (audio encoder + KV-cache text decoder, built in the test with a known
 * response) served by the real server: its labels and rationale are stored, and a malformed
 * response is a FAILED job with the raw text kept, never zeros.
 */
describeWithSpeech('generative model bundles through the API', () => {
  const [utterance] = speechOceanUtterances('train', 1); // "WE CALL IT BEAR"
  const words = analyzeReferenceText(utterance!.text);
  afterAll(cleanupBundles);

  async function assessWith(response: string): Promise<{ t: TestApp; job: any }> {
    const t = await startTestApp('pglite', { modelDir: buildBundle({ response, words }) });
    const learnerId = (await t.admin.request(`mutation { createLearner(input: {externalId: "g1"}) { id } }`)).data.createLearner.id;
    const res = await t.admin.upload(SUBMIT, { input: { learnerId, referenceText: utterance!.text, audio: null } }, 'variables.input.audio', {
      bytes: utterance!.bytes,
      name: 'take.flac',
    });
    const jobId = res.data.submitUtterance.job.id;
    await waitForJob(t.admin, jobId);
    return { t, job: (await t.admin.request(RESULT, { id: jobId })).data.job };
  }

  test('a well-formed response is stored with its own rationale, checked', async () => {
    const { t, job } = await assessWith(JSON.stringify(GOOD_JSON));
    try {
      expect(job.status).toBe('SUCCEEDED');
      const a = job.assessment;
      expect(a.model.name).toBe('test-speechllm');
      expect(a.sentence).toEqual({ accuracy: 8, total: 7 });
      expect(a.words.map((w: any) => w.accuracy)).toEqual([9, 6, 10, 8]);
      expect(a.words[1].phonemes.map((p: any) => p.accuracy)).toEqual([2, 1, 0]);
      expect(a.rationale.text).toBe(GOOD_JSON.rationale);
      expect(a.rationale.words.criticised).toEqual(['CALL']);
      // "/ɔ/ (AO)" is a phoneme mention; a bare single capital ("the final L") is too ambiguous to count.
      expect(a.rationale.phonemes.criticised).toEqual(['AO']);
    } finally {
      await t.dispose();
    }
  });

  test('a malformed response fails the job with MODEL_OUTPUT_INVALID and keeps the raw text', async () => {
    const garbage = '{"accuracy": 8, "fluency": "very good", "words": [';
    const { t, job } = await assessWith(garbage);
    try {
      expect(job.status).toBe('FAILED');
      expect(job.error.code).toBe('MODEL_OUTPUT_INVALID');
      expect(job.error.rawOutput).toBe(garbage);
      expect(job.assessment).toBeNull();
      expect(await t.app.services.prisma.assessment.count()).toBe(0);
    } finally {
      await t.dispose();
    }
  });

  test('an out-of-range score is refused, not clamped', async () => {
    const { t, job } = await assessWith(JSON.stringify({ ...GOOD_JSON, fluency: 14 }));
    try {
      expect(job.status).toBe('FAILED');
      expect(job.error.code).toBe('MODEL_OUTPUT_INVALID');
      expect(job.error.message).toMatch(/fluency/);
    } finally {
      await t.dispose();
    }
  });
});
