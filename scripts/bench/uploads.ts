/** Uploads through HTTP and waiting for their jobs: shared by the benches that go through the API. */
import type { GqlClient } from '../../tests/support/client.js';

const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { job { id } } }`;
const JOB = `query($id: ID!) { job(id: $id) { status } }`;

/** Polls every job until it has SUCCEEDED (a FAILED job ends the bench: its figure would be wrong). */
export async function waitAll(client: GqlClient, jobIds: string[], pollMs = 50): Promise<void> {
  const pending = new Set(jobIds);
  while (pending.size) {
    for (const id of [...pending]) {
      const res = await client.request(JOB, { id });
      if (!res.data?.job) throw new Error(`job ${id}: ${JSON.stringify(res.errors ?? res)}`);
      const status = res.data.job.status;
      if (status === 'SUCCEEDED') pending.delete(id);
      else if (status === 'FAILED') throw new Error(`job ${id} failed`);
    }
    if (pending.size) await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** One recording uploaded (multipart, as clients do); resolves to its job id. */
export async function submitOne(client: GqlClient, learnerId: string, utterance: { text: string; bytes: Uint8Array }): Promise<string> {
  const res = await client.upload(SUBMIT, { input: { learnerId, referenceText: utterance.text, audio: null } }, 'variables.input.audio', {
    bytes: utterance.bytes,
    name: 'take.flac',
  });
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data.submitUtterance.job.id as string;
}

/** Every recording uploaded at once; resolves to their job ids. */
export function submitAll(client: GqlClient, learnerId: string, utterances: { text: string; bytes: Uint8Array }[]): Promise<string[]> {
  return Promise.all(utterances.map((u) => submitOne(client, learnerId, u)));
}
