/**
 * `npm run bench`: throughput and memory of the default model on this machine. Every figure comes
 * with the baseline it is compared to, measured in the same run. Needs ../shared/speechocean762.
 *
 *   1. end-to-end assessments/s (upload → stored result, through HTTP and the job queue) against raw
 *      onnxruntime session runs/s on the same inputs: the ratio is the platform's overhead;
 *   2. the server's peak memory while 20 uploads run at once, against its memory when idle;
 *   3. rationale checks/s on stored rationales, against the 10,000/s target (one core).
 *
 *   4. the job claim's median latency with 100,000 pending jobs (./queue.ts), against the 10 ms goal;
 *   5. voice-activity detection per recording, one at a time against batched across recordings, and
 *      the worker's decode of a stored original against reading the samples the intake kept (./vad.ts).
 *
 * `npm run bench -- --json` prints the figures as one JSON object on stdout (the lines above go to
 * stderr). `npm run bench -- analytics [...]` runs the history/analytics read bench instead
 * (./analytics.ts); `npm run bench -- queue [...]` only the claim-latency bench (./queue.ts);
 * `npm run bench -- vad [...]` only the voice-activity bench (./vad.ts).
 */
import { GqlClient } from '../../tests/support/client.js';
import { speechOceanUtterances } from '../../tests/support/speech.js';
import { startChildServer } from './server.js';
import { benchRawSession } from './raw-session.js';
import { benchRationaleChecks } from './rationale-checks.js';
import { benchAnalytics } from './analytics.js';
import { benchSpeechLlm } from './speechllm.js';
import { benchQueue, runQueueBench } from './queue.js';
import { benchVad, reportVad, runVadBench } from './vad.js';
import { runVadAgreement } from './vad-agreement.js';

const json = process.argv.includes('--json');
/** A human line: stdout, or stderr when --json keeps stdout for the JSON object. */
const say = (line: string) => (json ? console.error(line) : console.log(line));
/** The figures --json prints, by dotted name. */
const figures: Record<string, number | string> = {};

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
  say(`raw session (onnxruntime-node): ${raw.runsPerSecond.toFixed(2)} runs/s (${raw.runs} runs on ${utterances.length} dev utterances, ${raw.audioSeconds.toFixed(1)} s of audio, provider ${raw.provider}); real-time factor ${raw.realTimeFactor.toFixed(4)}`);

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
    say(`end-to-end (HTTP upload → queue → inference → stored result): ${e2e.toFixed(2)} assessments/s`);
    figures['e2e.assessments_per_s'] = e2e;
    figures['e2e.vs_raw_session'] = e2e / raw.runsPerSecond;
    say(`ratio end-to-end / raw session: ${(e2e / raw.runsPerSecond).toFixed(3)}`);
    say(`server peak RSS with 20 concurrent uploads: ${peakMiB.toFixed(0)} MiB (resident before the burst: ${idleMiB.toFixed(0)} MiB, ratio ${(peakMiB / idleMiB).toFixed(2)}; start-up peak ${startupPeakMiB.toFixed(0)} MiB)`);
  } finally {
    await server.stop();
  }

  const queue = await benchQueue({ jobs: 100_000, orgs: 100, claims: 500 });
  say(`queue claim latency, ${queue.pendingJobs} pending jobs (${queue.database}): median ${queue.claimMsP50.toFixed(2)} ms, p95 ${queue.claimMsP95.toFixed(2)} ms (goal: median under 10 ms, ratio ${(queue.claimMsP50 / 10).toFixed(2)})`);
  figures['queue.claim_ms_p50'] = queue.claimMsP50;
  figures['queue.claim_ms_p95'] = queue.claimMsP95;

  const vad = reportVad(await benchVad(utterances));
  vad.lines.forEach(say);
  Object.assign(figures, vad.figures);

  const checks = await benchRationaleChecks(10_000);
  say(`rationale checks: ${checks.perSecond.toFixed(0)}/s on ${checks.count} stored-style rationales, one core (target 10,000/s: ratio ${(checks.perSecond / 10_000).toFixed(2)})`);
  figures['rationale_checks.per_s'] = checks.perSecond;
  if (json) console.log(JSON.stringify(figures));
}

// `npm run bench -- analytics`: the history/analytics read bench (./analytics.ts) instead.
// `npm run bench -- speechllm`: the generative decode loop (./speechllm.ts).
// `npm run bench -- queue`: the claim-latency bench alone (./queue.ts).
// `npm run bench -- vad`: the voice-activity and worker-load bench alone (./vad.ts).
// `npm run bench -- vad-agreement`: batched against one-at-a-time VAD decisions on a split (./vad-agreement.ts).
const benches: Record<string, () => Promise<void>> = {
  analytics: () => benchAnalytics(process.argv.slice(3)),
  speechllm: () => benchSpeechLlm(process.argv.slice(3)),
  queue: () => runQueueBench(process.argv.slice(3)),
  vad: () => runVadBench(process.argv.slice(3)),
  'vad-agreement': () => runVadAgreement(process.argv.slice(3)),
};
const run = benches[process.argv[2] ?? ''] ?? main;

run().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
