/**
 * One assessment alone, end to end, broken down by stage: the client times its upload request and
 * the wait for the stored result; the server's own stage histograms (/metrics:
 * speechmark_submit_stage_duration_seconds and speechmark_job_stage_duration_seconds) are read
 * before and after, and their sums' differences are this one assessment's stages.
 *   upload    the submit request as the client saw it, less the submit stages below (HTTP, multipart,
 *             GraphQL, authentication);
 *   decode, vad, store, enqueue: the submit's stages (the enqueue transaction writes utterance, job, event);
 *   queued    job created to claimed, on the database's clock (includes the worker's wake-up);
 *   claim     the claim statement's transaction;
 *   load, job decode: the job's rows, and its stored audio read and decoded again;
 *   acoustic, features, heads: the model (src/inference/gop/pipeline.ts);
 *   rationale, write: the grounded rationale and its check; the completing transaction;
 *   other     what is left of the end-to-end time (polling granularity, notification, scheduling).
 */
import type { GqlClient } from '../../tests/support/client.js';
import { submitOne, waitAll } from './uploads.js';

/** The child server's /metrics token (set in its environment by the bench). */
export const METRICS_TOKEN = 'bench-metrics-token-0123456789abcdef';


/** The table's rows: the key (e2e.stage_ms.<key> in --json), the histogram and stage it comes from. */
const ROWS: { key: string; metric?: 'submit' | 'job'; stage?: string; label: string }[] = [
  { key: 'upload', label: 'upload (HTTP, multipart, GraphQL)' },
  { key: 'decode', metric: 'submit', stage: 'decode', label: 'decode (submit)' },
  { key: 'vad', metric: 'submit', stage: 'vad', label: 'VAD' },
  { key: 'store', metric: 'submit', stage: 'store', label: 'store (audio file)' },
  { key: 'enqueue', metric: 'submit', stage: 'enqueue', label: 'enqueue (transaction)' },
  { key: 'queued', metric: 'job', stage: 'queued', label: 'queued (until claimed)' },
  { key: 'claim', metric: 'job', stage: 'claim', label: 'claim' },
  { key: 'load', metric: 'job', stage: 'load', label: 'load (job rows)' },
  { key: 'job_decode', metric: 'job', stage: 'decode', label: 'decode (worker)' },
  { key: 'acoustic', metric: 'job', stage: 'acoustic', label: 'acoustic model' },
  { key: 'features', metric: 'job', stage: 'features', label: 'features (alignment, GOP)' },
  { key: 'heads', metric: 'job', stage: 'heads', label: 'heads' },
  { key: 'rationale', metric: 'job', stage: 'rationale', label: 'rationale' },
  { key: 'write', metric: 'job', stage: 'write', label: 'write (completing transaction)' },
];

const HISTOGRAM = { submit: 'speechmark_submit_stage_duration_seconds', job: 'speechmark_job_stage_duration_seconds' } as const;

/** Every `<histogram>_sum{stage="..."}` of both histograms, in ms, keyed `<metric>:<stage>`. */
async function stageSums(apiUrl: string): Promise<Map<string, number>> {
  const res = await fetch(apiUrl.replace(/\/graphql$/, '/metrics'), { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
  const sums = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    for (const [metric, name] of Object.entries(HISTOGRAM)) {
      const m = new RegExp(`^${name}_sum\\{stage="([^"]+)"\\} (\\S+)$`).exec(line);
      if (m) sums.set(`${metric}:${m[1]}`, Number(m[2]) * 1000);
    }
  }
  return sums;
}

export interface StageBreakdown {
  e2eMs: number;
  /** Per row key, ms; `other` is the end-to-end time the rows do not account for. */
  stageMs: Record<string, number>;
  table: string[];
}

export async function oneAssessmentByStage(
  client: GqlClient,
  apiUrl: string,
  learnerId: string,
  utterance: { text: string; bytes: Uint8Array },
): Promise<StageBreakdown> {
  const before = await stageSums(apiUrl);
  const started = performance.now();
  const jobId = await submitOne(client, learnerId, utterance);
  const submitMs = performance.now() - started;
  await waitAll(client, [jobId], 5);
  const e2eMs = performance.now() - started;
  const after = await stageSums(apiUrl);
  const delta = (metric: string, stage: string) => (after.get(`${metric}:${stage}`) ?? 0) - (before.get(`${metric}:${stage}`) ?? 0);
  const stageMs: Record<string, number> = {};
  for (const row of ROWS) if (row.metric) stageMs[row.key] = delta(row.metric, row.stage!);
  stageMs.upload = Math.max(0, submitMs - ['decode', 'vad', 'store', 'enqueue'].reduce((s, k) => s + stageMs[k]!, 0));
  stageMs.other = e2eMs - ROWS.reduce((s, r) => s + stageMs[r.key]!, 0);
  const rows = [...ROWS, { key: 'other', label: 'other (polling, wake-up, scheduling)' }];
  const table = [
    `${'stage'.padEnd(38)} ${'ms'.padStart(8)} ${'share'.padStart(7)}`,
    ...rows.map((r) => `${r.label.padEnd(38)} ${stageMs[r.key]!.toFixed(1).padStart(8)} ${((100 * stageMs[r.key]!) / e2eMs).toFixed(1).padStart(6)}%`),
  ];
  return { e2eMs, stageMs, table };
}

/**
 * `npm run bench -- stages [--json]`: the breakdown alone, on a fresh child server (one warm-up
 * assessment first, so the model's first run and the JIT are not in it).
 */
export async function runStagesBench(args: string[]): Promise<void> {
  const { startChildServer } = await import('./server.js');
  const { GqlClient } = await import('../../tests/support/client.js');
  const { speechOceanUtterances } = await import('../../tests/support/speech.js');
  const json = args.includes('--json');
  const say = (line: string) => (json ? console.error(line) : console.log(line));
  const [warm, take] = speechOceanUtterances('dev', 2);
  const server = await startChildServer({ SPEECHMARK_METRICS_TOKEN: METRICS_TOKEN });
  try {
    const client = new GqlClient(server.url, server.adminKey);
    const learnerId = (await client.request(`mutation { createLearner(input: {externalId: "bench"}) { id } }`)).data.createLearner.id;
    await oneAssessmentByStage(client, server.url, learnerId, warm!);
    const stages = await oneAssessmentByStage(client, server.url, learnerId, take!);
    say(`one assessment alone, by stage (end to end ${stages.e2eMs.toFixed(0)} ms, ${take!.id}):`);
    for (const line of stages.table) say(`  ${line}`);
    if (json) {
      const figures: Record<string, number> = { 'e2e.one_assessment_ms': stages.e2eMs };
      for (const [stage, ms] of Object.entries(stages.stageMs)) figures[`e2e.stage_ms.${stage}`] = ms;
      console.log(JSON.stringify(figures));
    }
  } finally {
    await server.stop();
  }
}
