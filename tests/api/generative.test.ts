import { analyzeReferenceText } from '../../src/text/reference.js';
import { startTestApp, waitForJob, type TestApp } from '../support/app.js';
import { describeWithSpeech, speechOceanUtterances } from '../support/speech.js';
import { buildBundle, cleanupBundles, GOOD_JSON, GOOD_RUBRIC, type BundleOptions } from '../inference/generative/fixtures.js';

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

  async function assessWith(response: string, bundle: Partial<BundleOptions> = {}, query = RESULT): Promise<{ t: TestApp; job: any }> {
    const t = await startTestApp('pglite', { modelDir: buildBundle({ response, words, ...bundle }) });
    const learnerId = (await t.admin.request(`mutation { createLearner(input: {externalId: "g1"}) { id } }`)).data.createLearner.id;
    const res = await t.admin.upload(SUBMIT, { input: { learnerId, referenceText: utterance!.text, audio: null } }, 'variables.input.audio', {
      bytes: utterance!.bytes,
      name: 'take.flac',
    });
    const jobId = res.data.submitUtterance.job.id;
    await waitForJob(t.admin, jobId);
    return { t, job: (await t.admin.request(query, { id: jobId })).data.job };
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

  const RUBRIC_RESULT = `query($id: ID!) { job(id: $id) { status error { code reason: message rawOutput }
    assessment { model { name } sentence { accuracy fluency prosody completeness total completenessDerivedBy totalDerivedBy wordTotalsDerivedBy }
      words { text accuracy stress total phonemes { symbol accuracy label } } rationale { text flags words { criticised praised } } } } }`;
  const paperBundle: Partial<BundleOptions> = { format: 'rubric', decoderOnly: true };

  test("the paper's format from a decoder-only model: labels on the platform's scales, derived scores named, no invented stress, the rationale checked", async () => {
    // the rationale praises CALL, which the labels call Bad: the checker must flag it
    const response = GOOD_RUBRIC.replace('Word Stress: WE/Correct CALL/Correct IT/Correct BEAR/Incorrect\n', '').replace(
      /Verdict:[\s\S]*/,
      'Verdict: Very good overall. "CALL" was pronounced perfectly, but the /ɔ/ vowel is accented.',
    );
    const { t, job } = await assessWith(response, paperBundle, RUBRIC_RESULT);
    try {
      expect(job.status).toBe('SUCCEEDED');
      const a = job.assessment;
      expect(a.sentence).toEqual({
        accuracy: 8, fluency: 9, prosody: 6, completeness: 10, total: 8,
        completenessDerivedBy: 'words_not_worst', totalDerivedBy: 'mean_accuracy_fluency_prosody', wordTotalsDerivedBy: 'word_accuracy',
      });
      expect(a.words.map((w: any) => [w.text, w.accuracy, w.stress, w.total])).toEqual([['WE', 10, null, 10], ['CALL', 3, null, 3], ['IT', 10, null, 10], ['BEAR', 8, null, 8]]);
      expect(a.words[1].phonemes.map((p: any) => [p.accuracy, p.label])).toEqual([[2, 'EXCELLENT'], [1.2, 'AVERAGE'], [0.2, 'WORST']]);
      expect(a.rationale.text).toBe('Very good overall. "CALL" was pronounced perfectly, but the /ɔ/ vowel is accented.');
      expect(a.rationale.words.praised).toContain('CALL');
      expect(a.rationale.flags).toContain('CONTRADICTED_PRAISE');
      const stored = await t.app.services.prisma.rationale.findFirstOrThrow();
      expect(stored.flags).toEqual(a.rationale.flags);
    } finally {
      await t.dispose();
    }
  });

  test("the paper's format with one phoneme too few fails the job and keeps the raw text", async () => {
    const short = GOOD_RUBRIC.replace(' ɹ/Excellent', '');
    const { t, job } = await assessWith(short, paperBundle, RUBRIC_RESULT);
    try {
      expect(job.status).toBe('FAILED');
      expect(job.error.code).toBe('MODEL_OUTPUT_INVALID');
      expect(job.error.reason).toMatch(/Phonemes has 9 label\(s\), the target phonemes are 10/);
      expect(job.error.rawOutput).toBe(short);
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
