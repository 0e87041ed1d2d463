/**
 * `npm run bench -- queue [--jobs 100000] [--orgs 100] [--claims 500] [--json]`: the job claim's
 * latency with a deep backlog. Seeds `--jobs` pending jobs (BULK backlogs spread over `--orgs`
 * organisations, 1% INTERACTIVE, oldest first), ANALYZEs, prints the claim statement's plan, then
 * times `--claims` claims through claimJob exactly as a worker makes them (one transaction each, with the default bundle's model version as the versions it serves)
 * and prints the median and p95 (goal: median under 10 ms); then the statement alone, sent as one
 * round trip on one connection, and as the server times it (EXPLAIN ANALYZE, rolled back), so the
 * share of the transaction's round trips (BEGIN, claim, NOTIFY, COMMIT through Prisma) is visible.
 *
 * Database: DATABASE_URL (PostgreSQL; use a schema of its own, e.g.
 * `postgresql://postgres@127.0.0.1:5432/test?schema=bench_queue`: its application tables are
 * emptied first), else PGlite in memory.
 */
import { parseArgs } from 'node:util';
import { openDatabase, MEMORY_DATA_DIR, quoteIdent, type Database } from '../../src/db/client.js';
import { readManifest } from '../../src/inference/bundle.js';
import { CLAIM_SQL, claimJob } from '../../src/jobs/queue.js';

/** The model versions a worker serving the default bundle claims with (a worker never claims with NULL). */
const WORKER_VERSIONS = [readManifest('models/default').version];

export interface QueueBenchResult {
  database: 'postgres' | 'pglite';
  pendingJobs: number;
  organizations: number;
  claims: number;
  claimMsP50: number;
  claimMsP95: number;
  /** The claim statement sent alone on one connection (autocommit, no notification): one round trip. */
  statementRoundTripMsP50: number;
  /** The claim statement alone, as the server timed it (EXPLAIN ANALYZE, rolled back): the rest of claimJob is round trips. */
  statementMs: number;
  plan: string;
}

const TABLES = ['Job', 'Utterance', 'Learner', 'Organization'];

/** Every organisation gets one learner and utterance; jobs are spread round the organisations, one second apart. */
async function seed(db: Database, jobs: number, orgs: number): Promise<void> {
  await db.executor.withConnection(async (c) => {
    await c.exec(`TRUNCATE ${TABLES.map(quoteIdent).join(', ')} CASCADE`);
    await c.exec(`
      INSERT INTO "Organization"(id, name) SELECT md5('o' || g)::uuid, 'bench ' || g FROM generate_series(1, ${orgs}) g;
      INSERT INTO "Learner"(id, "organizationId", "externalId") SELECT id, id, 'bench' FROM "Organization";
      INSERT INTO "Utterance"(id, "organizationId", "learnerId", "referenceText", "referenceWords", "audioSha256", "audioFormat",
                              "audioBytes", "durationMs", "sourceSampleRate", "sourceChannels", "speechMs")
        SELECT id, id, id, 'HI', '[]', repeat('a', 64), 'wav', 1, 1000, 16000, 1, 900 FROM "Organization";
      INSERT INTO "Job"(id, "organizationId", "utteranceId", priority, "runAfter", "createdAt")
        SELECT gen_random_uuid(), md5('o' || (1 + g % ${orgs}))::uuid, md5('o' || (1 + g % ${orgs}))::uuid,
               CASE WHEN g % 100 = 0 THEN 'INTERACTIVE' ELSE 'BULK' END::"JobPriority",
               now() - interval '1 day' + g * interval '1 second', now() - interval '1 day' + g * interval '1 second'
          FROM generate_series(1, ${jobs}) g;
      ANALYZE;`);
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** The bench empties tables: on PostgreSQL only in a schema named bench*, never someone's data. */
function checkBenchDatabase(url: string | undefined): void {
  if (!url) return;
  const schema = new URL(url).searchParams.get('schema') ?? 'public';
  if (!schema.startsWith('bench')) {
    throw new Error(`the queue bench empties Job, Utterance, Learner and Organization: point DATABASE_URL at a schema named bench* (got "${schema}")`);
  }
}

export async function benchQueue(args: { jobs: number; orgs: number; claims: number }): Promise<QueueBenchResult> {
  checkBenchDatabase(process.env.DATABASE_URL);
  const db = await openDatabase({ databaseUrl: process.env.DATABASE_URL, dataDir: MEMORY_DATA_DIR });
  try {
    await seed(db, args.jobs, args.orgs);
    const plan = (
      await db.executor.withConnection((c) => c.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${CLAIM_SQL}`, ['bench', 60, WORKER_VERSIONS]))
    ).map((r) => r['QUERY PLAN']).join('\n');
    for (let i = 0; i < 20; i++) await claimJob(db.prisma, 'bench-warm', 60, {}, WORKER_VERSIONS); // connections, plan cache, JIT
    const ms: number[] = [];
    for (let i = 0; i < args.claims; i++) {
      const t0 = performance.now();
      const job = await claimJob(db.prisma, 'bench', 60, {}, WORKER_VERSIONS);
      ms.push(performance.now() - t0);
      if (!job) throw new Error('the backlog ran out; seed more jobs');
    }
    ms.sort((a, b) => a - b);
    const bare = await db.executor.withConnection(async (c) => {
      const out: number[] = [];
      for (let i = 0; i < args.claims; i++) {
        const t0 = performance.now();
        await c.query(CLAIM_SQL, ['bench-bare', 60, WORKER_VERSIONS]);
        out.push(performance.now() - t0);
      }
      return out.sort((a, b) => a - b);
    });
    const statementMs = await db.executor.withConnection(async (c) => {
      await c.exec('BEGIN');
      try {
        const rows = await c.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, TIMING OFF) ${CLAIM_SQL}`, ['bench', 60, WORKER_VERSIONS]);
        const line = rows.map((r) => r['QUERY PLAN']).find((l) => l.startsWith('Execution Time'));
        return Number(/([\d.]+) ms/.exec(line ?? '')?.[1] ?? NaN);
      } finally {
        await c.exec('ROLLBACK');
      }
    });
    return {
      database: db.kind === 'postgres' ? 'postgres' : 'pglite',
      pendingJobs: args.jobs,
      organizations: args.orgs,
      claims: args.claims,
      claimMsP50: percentile(ms, 0.5),
      claimMsP95: percentile(ms, 0.95),
      statementMs,
      statementRoundTripMsP50: percentile(bare, 0.5),
      plan,
    };
  } finally {
    await db.close();
  }
}

export async function runQueueBench(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      jobs: { type: 'string', default: '100000' },
      orgs: { type: 'string', default: '100' },
      claims: { type: 'string', default: '500' },
      json: { type: 'boolean', default: false },
    },
  });
  const r = await benchQueue({ jobs: Number(values.jobs), orgs: Number(values.orgs), claims: Number(values.claims) });
  if (values.json) {
    console.log(JSON.stringify({ 'queue.claim_ms_p50': r.claimMsP50, 'queue.claim_ms_p95': r.claimMsP95, 'queue.statement_ms': r.statementMs, 'queue.statement_round_trip_ms_p50': r.statementRoundTripMsP50, 'queue.pending_jobs': r.pendingJobs, 'queue.database': r.database }));
    return;
  }
  console.log(`claim plan (EXPLAIN, ${r.pendingJobs} pending jobs, ${r.organizations} organisations, ${r.database}):\n${r.plan}`);
  console.log(
    `queue claim latency over ${r.claims} claims (claimJob, one transaction each): median ${r.claimMsP50.toFixed(2)} ms, ` +
      `p95 ${r.claimMsP95.toFixed(2)} ms (goal: median under 10 ms, ratio ${(r.claimMsP50 / 10).toFixed(2)}); ` +
      `the claim statement alone: ${r.statementRoundTripMsP50.toFixed(2)} ms median as one round trip, ${r.statementMs.toFixed(2)} ms timed by the server`,
  );
}
