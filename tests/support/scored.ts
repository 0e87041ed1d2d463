/** A learner with one uploaded, model-scored utterance, made through the API like a client would. */
import { randomUUID } from 'node:crypto';
import { waitForJob, type TestApp } from './app.js';
import type { GqlClient } from './client.js';
import { speechLikeWav } from './audio-fixtures.js';

export const SUBMIT = `mutation($input: SubmitUtteranceInput!) {
  submitUtterance(input: $input) { utterance { id } job { id } } }`;

export async function submitSpeech(client: GqlClient, learnerId: string, referenceText: string, wav: Uint8Array) {
  return client.upload(SUBMIT, { input: { learnerId, referenceText, audio: null } }, 'variables.input.audio', {
    bytes: wav,
    name: 'speech.wav',
  });
}

export async function seedScoredUtterance(t: TestApp, referenceText = 'We call it bear') {
  const externalId = `scored-${randomUUID()}`;
  const created = await t.admin.request(
    `mutation($input: CreateLearnerInput!) { createLearner(input: $input) { id } }`,
    { input: { externalId, displayName: `Learner ${externalId}` } },
  );
  if (created.errors) throw new Error(JSON.stringify(created.errors));
  const learnerId: string = created.data.createLearner.id;
  const res = await submitSpeech(t.admin, learnerId, referenceText, speechLikeWav(1.5));
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  const { utterance, job } = res.data.submitUtterance;
  const done = await waitForJob(t.admin, job.id);
  if (done.status !== 'SUCCEEDED') throw new Error(`seed job ${done.status}: ${JSON.stringify(done.error)}`);
  return { externalId, learnerId, utteranceId: utterance.id as string, jobId: job.id as string, assessmentId: done.assessment.id as string };
}
