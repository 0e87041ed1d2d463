import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../src/config.js';
import { startSpeechmark } from '../../src/app.js';
import { claimJob } from '../../src/jobs/queue.js';
import { GqlClient } from '../support/client.js';
import { waitForJob } from '../support/app.js';
import { describeWithSpeech, speechOceanUtterances } from '../support/speech.js';

const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { job { id } } }`;

describeWithSpeech('nothing accepted is lost', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'speechmark-restart-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  test('a job claimed by a worker that died is finished after the server restarts on the same data', async () => {
    const config: Config = { ...loadConfig({}), port: 0, dataDir, audioDir: path.join(dataDir, 'audio'), executionProviders: ['cpu'], jobLeaseSeconds: 1 };
    const [u] = speechOceanUtterances('train', 1);

    // First life: the API accepts the upload; a worker claims the job and dies without a word.
    const first = await startSpeechmark({ ...config, inProcessWorker: false }, { host: '127.0.0.1' });
    const admin = new GqlClient(first.url, first.adminKey!);
    const learnerId = (await admin.request(`mutation { createLearner(input: {externalId: "r1"}) { id } }`)).data.createLearner.id;
    const submitted = await admin.upload(SUBMIT, { input: { learnerId, referenceText: u!.text, audio: null } }, 'variables.input.audio', {
      bytes: u!.bytes,
      name: 'take.flac',
    });
    const jobId = submitted.data.submitUtterance.job.id;
    const claimed = await claimJob(first.services.prisma, 'worker-that-dies', 1);
    expect(claimed?.status).toBe('RUNNING');
    await first.close();

    // Second life on the same PGlite folder and audio store: the expired lease is re-claimed.
    const second = await startSpeechmark(config, { host: '127.0.0.1' });
    try {
      expect(second.adminKey).toBeNull(); // same database: no second bootstrap
      const job = await waitForJob(new GqlClient(second.url, first.adminKey!), jobId);
      expect(job.status).toBe('SUCCEEDED');
      expect(job.attempts).toBe(2);
      expect(job.assessment.id).toBeTruthy();
    } finally {
      await second.close();
    }
  });
});
