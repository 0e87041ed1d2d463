/**
 * `npm run bench`: throughput and memory of the default model on this machine. Every figure comes
 * with the baseline it is compared to, measured in the same run. Needs ../shared/speechocean762.
 *
 *   1. end-to-end assessments/s (upload → stored result, through HTTP and the job queue) against raw
 *      onnxruntime session runs/s on the same inputs: the ratio is the platform's overhead;
 *   2. the server's peak memory while 20 uploads run at once, against its memory when idle;
 *   3. rationale checks/s on stored rationales, against the 10,000/s target (one core).
 *
 * `npm run bench -- analytics [...]` runs the history/analytics read bench instead (./analytics.ts).
 */
import { GqlClient } from '../../tests/support/client.js';
import { speechOceanUtterances } from '../../tests/support/speech.js';
import { startChildServer } from './server.js';
import { benchRawSession } from './raw-session.js';
import { benchRationaleChecks } from './rationale-checks.js';
import { benchAnalytics } from './analytics.js';
import { benchSpeechLlm } from './speechllm.js';

const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { job { id } } }`;
const JOB = `query($id: ID!) { job(id: $id) { status } }`;

async function waitAll(client: GqlClient, jobIds: string[]) {
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

async function submitAll(client: GqlClient, learnerId: string, utterances: { text: string; bytes: Uint8Array }[]) {
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

async function main() {
  const utterances = speechOceanUtterances('dev', 20);

  const raw = await benchRawSession(utterances);
  console.log(`raw session (onnxruntime-node): ${raw.runsPerSecond.toFixed(2)} runs/s (${raw.runs} runs on ${utterances.length} dev utterances, ${raw.audioSeconds.toFixed(1)} s of audio, provider ${raw.provider}); real-time factor ${raw.realTimeFactor.toFixed(4)}`);

  const server = await startChildServer();
  try {
    const client = new GqlClient(server.url, server.adminKey);
    const learnerId = (await client.request(`mutation { createLearner(input: {externalId: "bench"}) { id } }`)).data.createLearner.id;
    await waitAll(client, await submitAll(client, learnerId, utterances.slice(0, 2))); // warm caches and JIT
    const startupPeakMiB = server.peakRssMiB();
    const idleMiB = server.rssMiB();
    server.resetPeak();

    const started = performance.now();
    const ids = await submitAll(client, learnerId, utterances); // 20 uploads at once
    await waitAll(client, ids);
    const seconds = (performance.now() - started) / 1000;
    const e2e = utterances.length / seconds;
    const peakMiB = server.peakRssMiB();
    console.log(`end-to-end (HTTP upload → queue → inference → stored result): ${e2e.toFixed(2)} assessments/s`);
    console.log(`ratio end-to-end / raw session: ${(e2e / raw.runsPerSecond).toFixed(3)}`);
    console.log(`server peak RSS with 20 concurrent uploads: ${peakMiB.toFixed(0)} MiB (resident before the burst: ${idleMiB.toFixed(0)} MiB, ratio ${(peakMiB / idleMiB).toFixed(2)}; start-up peak ${startupPeakMiB.toFixed(0)} MiB)`);
  } finally {
    await server.stop();
  }

  const checks = await benchRationaleChecks(10_000);
  console.log(`rationale checks: ${checks.perSecond.toFixed(0)}/s on ${checks.count} stored-style rationales, one core (target 10,000/s: ratio ${(checks.perSecond / 10_000).toFixed(2)})`);
}

// `npm run bench -- analytics`: the history/analytics read bench (./analytics.ts) instead.
// `npm run bench -- speechllm`: the generative decode loop (./speechllm.ts).
const run =
  process.argv[2] === 'analytics' ? () => benchAnalytics(process.argv.slice(3)) : process.argv[2] === 'speechllm' ? () => benchSpeechLlm(process.argv.slice(3)) : main;

run().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
