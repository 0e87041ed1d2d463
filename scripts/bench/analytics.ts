/**
 * `npm run bench -- analytics [--utterances 200000] [--learners N] [--groups 50] [--seed 1] [--runs 30] [--group ID] [--only NAME]`
 *
 * Reads on a seeded history (npm run seed), through GraphQL over HTTP against the same SQL run
 * directly on the driver, in the same run:
 *
 *   - a history page by cursor (learner.utterances(first: 20, after) with each latest assessment),
 *     walking a heavy learner's history page after page;
 *   - a learner's progress (weekly buckets), a learner's sound profile, a cohort summary
 *     (group: learner count, score distribution, weak sounds, dropped and inactive learners) of the
 *     largest group, or of --group.
 *     Issue 9's 500-learner cohort: --learners 2000 --groups 5 (groups of 483 to 510 learners).
 *
 * First a floor: `{ __typename }`, which sends no statement (the API key is cached), so HTTP, the
 * middleware and Apollo alone.
 *
 * For each: median and p95 of the GraphQL request (timed by a client in its own process over one
 * keep-alive connection, client-process.ts), the same of the direct replay, their ratio, and
 * the server's CPU time per request (process.cpuUsage of this process; the client runs in its own),
 * and the statements the request sent (the onQuery hook of the server's Prisma client). "Direct" replays
 * exactly the statements (SQL and parameters) one GraphQL request sent, one after another, on a
 * dedicated pg connection: what is left is the database's own time. Then EXPLAIN of each distinct
 * statement, listing sequential scans on the big tables.
 *
 * Database: DATABASE_URL (PostgreSQL; the direct replay needs it), else PGlite in
 * SPEECHMARK_DATA_DIR (GraphQL figures and statement counts only: PGlite is in-process to the
 * server, there is no second driver to replay on). An empty database is seeded first.
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig, type Config } from '../../src/config.js';
import { openDatabase, parsePostgresUrl, quoteIdent } from '../../src/db/client.js';
import { startSpeechmark } from '../../src/app.js';
import { bootstrapAdminKey, createApiKey } from '../../src/graphql/auth.js';
import { toGlobalId } from '../../src/graphql/ids.js';
import { writeSeed } from '../../src/seed/write.js';
import { ClientProcess } from './client-process.js';
import { log } from '../../src/ops/log.js';

interface Statement {
  sql: string;
  params: unknown[];
}

const BIG_TABLES = ['Utterance', 'Assessment', 'WordAssessment', 'PhonemeAssessment', 'Rationale', 'Job', 'Learner'];

function quantile(sorted: number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

function summary(ms: number[]) {
  const s = [...ms].sort((a, b) => a - b);
  return { median: quantile(s, 0.5), p95: quantile(s, 0.95) };
}

export async function benchAnalytics(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      utterances: { type: 'string', default: '200000' },
      learners: { type: 'string' },
      groups: { type: 'string', default: '50' },
      seed: { type: 'string', default: '1' },
      runs: { type: 'string', default: '30' },
      group: { type: 'string' },
      // Only the cases whose name contains this (e.g. --only history), with the floor kept as the reference.
      only: { type: 'string' },
    },
  });
  const utterances = Number(values.utterances);
  const learners = Number(values.learners ?? Math.max(1, Math.round(utterances / 100)));
  const runs = Number(values.runs);
  const base = loadConfig();
  // The server's request log as `npm start` writes it (SPEECHMARK_LOG_LEVEL, default info): part of what a request costs.
  log.configure({ level: base.logLevel });
  const config: Config = { ...base, port: 0, inProcessWorker: false, deliveryWorker: false, executionProviders: ['cpu'], rateLimitPerMinute: 0, authFailuresPerMinute: 0 };

  // 1. Seed when empty (the server's database, closed again before the server opens it).
  {
    const db = await openDatabase(config);
    try {
      const existing = await db.prisma.utterance.count();
      if (existing === 0) {
        await bootstrapAdminKey(db.prisma);
        const org = await db.prisma.organization.findFirstOrThrow({ orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
        console.log(`seeding ${db.kind}: ${learners} learners, ${utterances} utterances, ${values.groups} groups`);
        const r = await writeSeed(db.prisma, {
          learners, utterances, groups: Number(values.groups), seed: Number(values.seed), months: 6, end: new Date('2026-06-01T00:00:00Z'),
          organizationId: org.id, progress: (l) => console.log(`  ${l}`),
        });
        console.log(`seeded ${r.utterances} utterances, ${r.words} words, ${r.phonemes} phonemes in ${r.seconds.toFixed(1)} s`);
      } else {
        console.log(`database already holds ${existing} utterances: benchmarking those (no seeding)`);
      }
    } finally {
      await db.close();
    }
  }

  // 2. The real server, counting (and recording) the statements of each request.
  let recording: Statement[] | null = null;
  const app = await startSpeechmark(config, {
    host: '127.0.0.1',
    onQuery: (sql, params) => {
      recording?.push({ sql, params: params ? (JSON.parse(params) as unknown[]) : [] });
    },
  });
  const prisma = app.services.prisma;
  const org = await prisma.organization.findFirstOrThrow({ orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
  const { key, apiKey } = await createApiKey(prisma, org.id, 'analytics bench', ['ADMIN']);
  const client = new ClientProcess(app.url, key);
  let pool: pg.Pool | null = null;
  let direct: pg.PoolClient | null = null;
  if (config.databaseUrl) {
    const { connectionString, schema } = parsePostgresUrl(config.databaseUrl);
    pool = new pg.Pool({ connectionString, max: 1, ...(schema ? { options: `-c search_path=${quoteIdent(schema)}` } : {}) });
    direct = await pool.connect();
  }
  try {
    const heavy = await prisma.utterance.groupBy({ by: ['learnerId'], where: { organizationId: org.id }, _count: true, orderBy: { _count: { learnerId: 'desc' } }, take: 1 });
    const learnerId = heavy[0]!.learnerId;
    const learner = await prisma.learner.findUniqueOrThrow({ where: { id: learnerId } });
    const groupRows = await prisma.$queryRaw<{ g: string; n: number }[]>`
      SELECT g, count(*)::int AS n FROM "Learner", unnest(groups) AS g WHERE "organizationId" = ${org.id}::uuid
        AND (${values.group ?? null}::text IS NULL OR g = ${values.group ?? null}::text)
      GROUP BY g ORDER BY n DESC, g LIMIT 1`;
    const group = groupRows[0]?.g ?? 'none';
    const total = await prisma.utterance.count({ where: { organizationId: org.id } });
    console.log(`\n${app.services.config.databaseUrl ? 'PostgreSQL' : 'PGlite'}: ${total} utterances; learner ${learner.externalId} (${heavy[0]!._count} utterances), group ${group} (${groupRows[0]?.n ?? 0} learners); ${runs} runs each after 3 warm-ups`);

    let lastMs = 0;
    const gql = async (query: string, variables: Record<string, unknown>) => {
      const { ms, body } = await client.request(query, variables);
      if (body.errors) throw new Error(JSON.stringify(body.errors));
      lastMs = ms;
      return body.data;
    };
    const id = toGlobalId('Learner', learnerId);
    const HISTORY = `query($id: ID!, $after: String) { learner(id: $id) { utterances(first: 20, after: $after) {
      edges { cursor node { id referenceText createdAt latestAssessment { model { version } sentence { accuracy fluency prosody completeness total } } } }
      pageInfo { hasNextPage endCursor } } } }`;
    let after: string | null = null;
    const cases: { name: string; run: () => Promise<void> }[] = [
      {
        // No statement at all (the key is cached): what HTTP, the middleware and Apollo cost alone.
        name: 'floor ({ __typename }: no statement)',
        run: () => gql(`{ __typename }`, {}),
      },
      {
        name: 'history page (utterances first:20 after cursor)',
        run: async () => {
          const d = await gql(HISTORY, { id, after });
          const conn = d.learner.utterances;
          after = conn.pageInfo.hasNextPage ? conn.pageInfo.endCursor : null;
        },
      },
      {
        name: 'learner progress (weekly)',
        run: () => gql(`query($id: ID!) { learner(id: $id) { progress(bucket: WEEK) { utterances aspects { aspect first latest best mean slopePerWeek series { start count mean p25 median p75 movingAverage } } } } }`, { id }),
      },
      {
        name: 'learner sound profile',
        run: () => gql(`query($id: ID!) { learner(id: $id) { soundProfile { phoneme ipa count meanAccuracy errors errorRate slopePerWeek exampleWords } } }`, { id }),
      },
      {
        name: 'cohort summary (group)',
        run: () => gql(`query($g: String!) { group(externalId: $g) { externalId learnerCount scoreDistribution { aspect count mean p10 median p90 } weakSounds { phoneme count meanAccuracy errorRate } droppedLearners { learner { externalId } drop } inactiveLearners { learner { externalId } lastPracticeAt } } }`, { g: group }),
      },
      {
        // The learners' running sums (LearnerSoundRollup): one statement whatever the history's size.
        name: 'organisation weak sounds (all time)',
        run: () => gql(`{ viewer { organization { weakSounds(first: 41) { phoneme count meanAccuracy errorRate } } } }`, {}),
      },
      {
        // A window reads every phoneme row of the window's latest assessments: the seed's last month (a sixth of the history).
        name: 'organisation weak sounds (last month)',
        run: () => gql(`query($from: DateTime!) { viewer { organization { weakSounds(from: $from, first: 41) { phoneme count meanAccuracy errorRate } } } }`, { from: '2026-05-01T00:00:00Z' }),
      },
    ];

    const chosen = values.only ? cases.filter((c, i) => i === 0 || c.name.includes(values.only!)) : cases;
    const rows: string[] = [];
    const explained = new Map<string, string[]>();
    for (const c of chosen) {
      for (let i = 0; i < 3; i++) await c.run();
      const graphMs: number[] = [];
      const counts: number[] = [];
      let sample: Statement[] = [];
      const cpu0 = process.cpuUsage();
      for (let i = 0; i < runs; i++) {
        recording = [];
        await c.run();
        graphMs.push(lastMs);
        // Statements of this request (the once-a-minute lastUsedAt UPDATE of the key is not one of its reads).
        const mine = recording.filter((s) => !/^UPDATE "ApiKey"/i.test(s.sql.trim()));
        counts.push(mine.length);
        if (i === 0) sample = mine;
        recording = null;
      }
      // The server's CPU per request (this process: the client runs in its own), PGlite's included.
      const cpu = process.cpuUsage(cpu0);
      const cpuMs = (cpu.user + cpu.system) / 1000 / runs;
      const g = summary(graphMs);
      const cnt = [...new Set(counts)].sort((a, b) => a - b).join('/');
      if (!direct) {
        rows.push(`${c.name}: GraphQL median ${g.median.toFixed(2)} ms, p95 ${g.p95.toFixed(2)} ms; server CPU ${cpuMs.toFixed(2)} ms/request; ${cnt} statements/request; direct: n/a on PGlite`);
        continue;
      }
      const replay = sample.filter((s) => !/^(BEGIN|COMMIT|ROLLBACK)\b/i.test(s.sql.trim()));
      if (replay.length === 0) {
        rows.push(`${c.name}: GraphQL median ${g.median.toFixed(2)} ms, p95 ${g.p95.toFixed(2)} ms | server CPU ${cpuMs.toFixed(2)} ms/request | no statement to replay`);
        continue;
      }
      for (let i = 0; i < 3; i++) for (const s of replay) await direct.query(s.sql, s.params);
      const directMs: number[] = [];
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        for (const s of replay) await direct.query(s.sql, s.params);
        directMs.push(performance.now() - t0);
      }
      const d = summary(directMs);
      rows.push(
        `${c.name}: GraphQL median ${g.median.toFixed(2)} ms, p95 ${g.p95.toFixed(2)} ms | direct SQL median ${d.median.toFixed(2)} ms, p95 ${d.p95.toFixed(2)} ms | ` +
          `ratio GraphQL/direct ${(g.median / d.median).toFixed(2)} (median), ${(g.p95 / d.p95).toFixed(2)} (p95) | server CPU ${cpuMs.toFixed(2)} ms/request | ${cnt} statements/request`,
      );
      const seqScans: string[] = [];
      for (const s of replay) {
        if (!/^\s*(SELECT|WITH)\b/i.test(s.sql)) continue;
        const plan = (await direct.query(`EXPLAIN (FORMAT JSON) ${s.sql}`, s.params)).rows[0]['QUERY PLAN'];
        const walk = (node: any) => {
          if (node['Node Type'] === 'Seq Scan' && BIG_TABLES.includes(node['Relation Name'])) seqScans.push(`${node['Relation Name']} (est. ${node['Plan Rows']} rows)`);
          for (const child of node.Plans ?? []) walk(child);
        };
        walk(plan[0].Plan);
      }
      explained.set(c.name, seqScans);
    }
    console.log('');
    for (const r of rows) console.log(r);
    if (direct) {
      console.log('\nEXPLAIN: sequential scans on the big tables (Utterance, Assessment, WordAssessment, PhonemeAssessment, Rationale, Job, Learner)');
      for (const [name, scans] of explained) console.log(`  ${name}: ${scans.length ? scans.join(', ') : 'none'}`);
    }
  } finally {
    await client.close();
    direct?.release();
    await pool?.end();
    await prisma.apiKey.update({ where: { id: apiKey.id }, data: { revokedAt: new Date() } }).catch(() => undefined);
    await app.close();
  }
}
