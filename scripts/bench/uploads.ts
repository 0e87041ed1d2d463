/** Uploads through HTTP and waiting for their jobs: shared by the end-to-end and worker benches. */
import type { GqlClient } from '../../tests/support/client.js';

const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { job { id } } }`;
const JOB = `query($id: ID!) { job(id: $id) { status } }`;

/** Polls every job until it has SUCCEEDED (a FAILED job ends the bench: its figure would be wrong). */
export async function waitAll(client: GqlClient, jobIds: string[]): Promise<void> {
  const pending = new Set(jobIds);
  while (pending.size) {
    for (const id of [...pending]) {
      const status = (await client.request(JOB, { id })).data.job.status;
      if (status === 'SUCCEEDED') pending.delete(id);
      else if (status === 'FAILED') throw new Error(`job ${id} failed`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Uploads every recording at once (multipart, as clients do); resolves to their job ids. */
export async function submitAll(client: GqlClient, learnerId: string, utterances: { text: string; bytes: Uint8Array }[]): Promise<string[]> {
  return Promise.all(
    utterances.map(async (u) => {
      const res = await client.upload(SUBMIT, { input: { learnerId, referenceText: u.text, audio: null } }, 'variables.input.audio', {
        bytes: u.bytes,
        name: 'take.flac',
      });
      if (res.errors) throw new Error(JSON.stringify(res.errors));
      return res.data.submitUtterance.job.id as string;
    }),
  );
}
