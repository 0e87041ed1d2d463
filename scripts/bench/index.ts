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
 *   4b. dynamic batching at saturation: the scorer with batch size 8 against batch size 1, and two
 *      model threads with batching against bare onnxruntime runs of every graph on the same batches
 *      (./batching.ts);
 *   5. with DATABASE_URL (PostgreSQL): throughput with 1, 2 and 4 `npm run worker` processes behind an
 *      API that runs no model, as ratios to one worker, and the cores they kept busy (./workers.ts).
 *   6. one assessment alone, end to end, broken down by stage (./stages.ts), each as a share of its
 *      end-to-end time: the next bottleneck is the biggest row.
 *   7. voice-activity detection per recording, one at a time against batched across recordings, and
 *      the worker's decode of a stored original against reading the samples the intake kept (./vad.ts).
 *
 * `npm run bench -- --json` prints the figures as one JSON object on stdout (the lines above go to
 * stderr). `npm run bench -- analytics [...]` runs the history/analytics read bench instead
 * (./analytics.ts); `npm run bench -- queue [...]` only the claim-latency bench (./queue.ts);
 * `npm run bench -- stages [--json]` only the per-stage breakdown of one assessment (./stages.ts).
 * `npm run bench -- vad [...]` only the voice-activity bench (./vad.ts).
 * `npm run bench -- responsiveness [--uploads N]` the API's answer time while its in-process worker
 * assesses, with the model on the HTTP thread against in its own thread (./responsiveness.ts).
 */
import { GqlClient } from '../../tests/support/client.js';
import { speechOceanUtterances } from '../../tests/support/speech.js';
import { startChildServer } from './server.js';
import { submitAll, waitAll } from './uploads.js';
import { runWorkersBench } from './workers.js';
import { runBatchingBench } from './batching.js';
import { runSizingBench } from './sizing.js';
import { benchRawSession } from './raw-session.js';
import { benchRationaleChecks } from './rationale-checks.js';
import { benchAnalytics } from './analytics.js';
import { benchSpeechLlm } from './speechllm.js';
import { benchQueue, runQueueBench } from './queue.js';
import { METRICS_TOKEN, oneAssessmentByStage, runStagesBench } from './stages.js';
import { benchVad, reportVad, runVadBench } from './vad.js';
import { runVadAgreement } from './vad-agreement.js';
import { runResponsivenessBench } from './responsiveness.js';
import { runNativeBench } from './native.js';

const json = process.argv.includes('--json');
/** A human line: stdout, or stderr when --json keeps stdout for the JSON object. */
const say = (line: string) => (json ? console.error(line) : console.log(line));
/** The figures --json prints, by dotted name. */
const figures: Record<string, number | string> = {};

async function main() {
  const utterances = speechOceanUtterances('dev', 20);

  const raw = await benchRawSession(utterances);
  say(`raw session (onnxruntime-node): ${raw.runsPerSecond.toFixed(2)} runs/s (${raw.runs} runs on ${utterances.length} dev utterances, ${raw.audioSeconds.toFixed(1)} s of audio, provider ${raw.provider}); real-time factor ${raw.realTimeFactor.toFixed(4)}`);

  const server = await startChildServer({ SPEECHMARK_METRICS_TOKEN: METRICS_TOKEN });
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

    const stages = await oneAssessmentByStage(client, server.url, learnerId, utterances[0]!);
    say(`one assessment alone, by stage (end to end ${stages.e2eMs.toFixed(0)} ms, ${utterances[0]!.id}):`);
    for (const line of stages.table) say(`  ${line}`);
    figures['e2e.one_assessment_ms'] = stages.e2eMs;
    for (const [stage, ms] of Object.entries(stages.stageMs)) figures[`e2e.stage_ms.${stage}`] = ms;
  } finally {
    await server.stop();
  }

  if (/^postgres(ql)?:/.test(process.env.DATABASE_URL ?? '')) await runWorkersBench([], say, figures);
  else say('worker processes (1, 2, 4): skipped, they need DATABASE_URL (PostgreSQL): `npm run bench -- workers`');

  await runBatchingBench([], say, figures);

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
// `npm run bench -- batching`: dynamic batching at saturation alone (./batching.ts).
// `npm run bench -- workers`: 1, 2 and 4 worker processes on PostgreSQL (./workers.ts).
// `npm run bench -- sizing`: bytes per utterance in PostgreSQL, extrapolated to 10 million (./sizing.ts).
// `npm run bench -- stages`: one assessment's per-stage breakdown alone (./stages.ts).
// `npm run bench -- vad`: the voice-activity and worker-load bench alone (./vad.ts).
// `npm run bench -- responsiveness`: the API's answer time while its worker assesses, model thread or not (./responsiveness.ts).
// `npm run bench -- native --baseline FILE`: the native-English graph against a baseline graph of the same model (./native.ts).
// `npm run bench -- vad-agreement`: batched against one-at-a-time VAD decisions on a split (./vad-agreement.ts).
const benches: Record<string, () => Promise<void>> = {
  analytics: () => benchAnalytics(process.argv.slice(3)),
  speechllm: () => benchSpeechLlm(process.argv.slice(3)),
  queue: () => runQueueBench(process.argv.slice(3)),
  sizing: async () => {
    await runSizingBench(process.argv.slice(3).filter((a) => a !== '--json'), say, figures);
    if (json) console.log(JSON.stringify(figures));
  },
  batching: async () => {
    await runBatchingBench(process.argv.slice(3).filter((a) => a !== '--json'), say, figures);
    if (json) console.log(JSON.stringify(figures));
  },
  workers: async () => {
    await runWorkersBench(process.argv.slice(3).filter((a) => a !== '--json'), say, figures);
    if (json) console.log(JSON.stringify(figures));
  },
  stages: () => runStagesBench(process.argv.slice(3)),
  vad: () => runVadBench(process.argv.slice(3)),
  'vad-agreement': () => runVadAgreement(process.argv.slice(3)),
  responsiveness: () => runResponsivenessBench(process.argv.slice(3)),
  native: () => runNativeBench(process.argv.slice(3)),
};
const run = benches[process.argv[2] ?? ''] ?? main;

run().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
