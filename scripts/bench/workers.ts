/**
 * `npm run bench -- workers [--utterances 40] [--workers 1,2,4]` (PostgreSQL: DATABASE_URL)
 *
 * Throughput with separate worker processes against one PostgreSQL database: an API process that
 * runs no model (SPEECHMARK_WORKER=none, `npm start`) takes the uploads, and 1, 2, then 4
 * `npm run worker` processes claim the jobs. For each count: the same burst of real dev uploads,
 * timed from the first upload to the last stored result, as assessments/s and as a ratio to one
 * worker measured in the same run; and the CPU time every process used over the burst, divided by
 * its wall time, as the cores kept busy: where that stops growing, the machine's cores have run out.
 *
 * Everything runs in a schema of its own (bench_workers_<pid>), dropped at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os, { cpus } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { GqlClient } from '../../tests/support/client.js';
import { speechOceanUtterances } from '../../tests/support/speech.js';
import { parsePostgresUrl, quoteIdent } from '../../src/db/client.js';
import { startChildServer } from './server.js';
import { submitAll, waitAll } from './uploads.js';

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** CPU seconds a process has used (user + system), from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
}

interface WorkerProcess {
  child: ChildProcess;
  stop(): Promise<void>;
}

/** `npm run worker` (src/worker-main.ts) in a child process; resolves once it has started claiming. */
function startWorker(env: Record<string, string>): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker-main.ts'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk) => {
      out += chunk;
      if (/speechmark worker: \S+ on /.test(out)) {
        resolve({
          child,
          stop: async () => {
            if (child.exitCode !== null) return;
            child.kill('SIGTERM');
            await new Promise((r) => child.once('exit', r));
          },
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${out}`)));
  });
}

async function burst(client: GqlClient, learnerId: string, utterances: { text: string; bytes: Uint8Array }[]): Promise<void> {
  await waitAll(client, await submitAll(client, learnerId, utterances));
}

export interface WorkerScaling {
  workers: number;
  assessmentsPerSecond: number;
  /** CPU seconds of the API and every worker over the burst, per wall second. */
  coresBusy: number;
}

export async function benchWorkers(args: string[]): Promise<WorkerScaling[]> {
  const { values } = parseArgs({ args, options: { utterances: { type: 'string', default: '40' }, workers: { type: 'string', default: '1,2,4' } } });
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl || !/^postgres(ql)?:/.test(databaseUrl)) {
    throw new Error('npm run bench -- workers needs DATABASE_URL (PostgreSQL): separate worker processes share one database server.');
  }
  const counts = values.workers!.split(',').map(Number);
  const count = Number(values.utterances);
  const schema = `bench_workers_${process.pid}`;
  const url = new URL(databaseUrl);
  url.searchParams.set('schema', schema);
  // The uploads' audio folder is shared by the API and the workers, as on one host or a shared volume.
  const audioDir = mkdtempSync(path.join(os.tmpdir(), 'speechmark-bench-audio-'));
  const env = { DATABASE_URL: url.toString(), SPEECHMARK_AUDIO_DIR: audioDir, SPEECHMARK_EXECUTION_PROVIDERS: 'cpu', SPEECHMARK_LOG_LEVEL: 'warn' };
  // Dev recordings, repeated to the burst's size (each upload is a new utterance and job).
  const dev = speechOceanUtterances('dev', Math.min(count, 40));
  const utterances = Array.from({ length: count }, (_, i) => dev[i % dev.length]!);

  const server = await startChildServer({ ...env, SPEECHMARK_WORKER: 'none', SPEECHMARK_RATE_LIMIT_PER_MINUTE: '0' });
  const results: WorkerScaling[] = [];
  try {
    const client = new GqlClient(server.url, server.adminKey);
    const learnerId = (await client.request(`mutation { createLearner(input: {externalId: "bench-workers"}) { id } }`)).data.createLearner.id;
    for (const n of counts) {
      const workers = await Promise.all(Array.from({ length: n }, () => startWorker(env)));
      try {
        await burst(client, learnerId, utterances.slice(0, 2 * n)); // warm every worker's sessions and JIT
        const pids = [server.pid, ...workers.map((w) => w.child.pid!)];
        const cpu0 = pids.map(cpuSeconds);
        const started = performance.now();
        await burst(client, learnerId, utterances);
        const seconds = (performance.now() - started) / 1000;
        const cpu = pids.reduce((s, pid, i) => s + cpuSeconds(pid) - cpu0[i]!, 0);
        results.push({ workers: n, assessmentsPerSecond: count / seconds, coresBusy: cpu / seconds });
      } finally {
        await Promise.all(workers.map((w) => w.stop()));
      }
    }
  } finally {
    await server.stop();
    const { connectionString } = parsePostgresUrl(databaseUrl);
    const admin = new pg.Client({ connectionString });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
    await admin.end();
    rmSync(audioDir, { recursive: true, force: true });
  }
  return results;
}

/** `npm run bench -- workers`: prints the table (and --json's figures). */
export async function runWorkersBench(
  args: string[],
  say: (line: string) => void = console.log,
  figures?: Record<string, number | string>,
): Promise<void> {
  const results = await benchWorkers(args);
  const one = results.find((r) => r.workers === 1) ?? results[0]!;
  for (const r of results) {
    say(
      `${r.workers} worker process${r.workers === 1 ? '' : 'es'} (PostgreSQL, API without a model): ${r.assessmentsPerSecond.toFixed(2)} assessments/s, ` +
        `ratio to 1 worker ${(r.assessmentsPerSecond / one.assessmentsPerSecond).toFixed(2)}; cores busy ${r.coresBusy.toFixed(2)} of ${cpus().length}`,
    );
    if (figures) {
      figures[`workers.n${r.workers}.assessments_per_s`] = r.assessmentsPerSecond;
      figures[`workers.n${r.workers}.vs_one`] = r.assessmentsPerSecond / one.assessmentsPerSecond;
      figures[`workers.n${r.workers}.cores_busy`] = r.coresBusy;
    }
  }
}
