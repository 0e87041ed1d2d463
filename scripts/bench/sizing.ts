/**
 * `npm run bench -- sizing [--target 10000000] [--json]` (PostgreSQL: DATABASE_URL, e.g. the schema
 * `npm run bench -- analytics` seeded)
 *
 * Measures what the database holds per utterance, table by table (rows, heap, indexes and TOAST as
 * PostgreSQL reports them, after ANALYZE), and extrapolates linearly to --target utterances. Rows
 * that grow with learners rather than with utterances (the per-learner rollups) are scaled by
 * learners, at the seeded ratio of utterances per learner. The figures are those of the rows in
 * this database: seeded rows (src/seed) carry no alignment timeline and no audio; the README
 * compares them with rows written by the worker.
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { parsePostgresUrl, quoteIdent } from '../../src/db/client.js';

/** Tables whose rows come with each utterance (its assessments, their words and phonemes, rationale, jobs). */
const PER_UTTERANCE = ['Utterance', 'Assessment', 'WordAssessment', 'PhonemeAssessment', 'Rationale', 'Job', 'OutboxEvent', 'Delivery', 'DeliveryAttempt'];
/** Tables whose rows come with each learner (rollups per sound, word and score). */
const PER_LEARNER = ['Learner', 'LearnerSoundRollup', 'LearnerSoundWordRollup', 'LearnerScoreRollup'];

interface TableSize {
  table: string;
  rows: number;
  heapBytes: number;
  indexBytes: number;
  totalBytes: number;
}

const GiB = 1024 ** 3;

export async function measureSizing(databaseUrl: string): Promise<{ schema: string; utterances: number; learners: number; tables: TableSize[] }> {
  const { connectionString, schema = 'public' } = parsePostgresUrl(databaseUrl);
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    const tables: TableSize[] = [];
    for (const table of [...PER_UTTERANCE, ...PER_LEARNER]) {
      const name = `${quoteIdent(schema)}.${quoteIdent(table)}`;
      await client.query(`ANALYZE ${name}`);
      const { rows } = await client.query(
        `SELECT (SELECT count(*) FROM ${name})::bigint AS rows, pg_relation_size($1::regclass) AS heap,
                pg_indexes_size($1::regclass) AS indexes, pg_total_relation_size($1::regclass) AS total`,
        [name],
      );
      const r = rows[0];
      tables.push({ table, rows: Number(r.rows), heapBytes: Number(r.heap), indexBytes: Number(r.indexes), totalBytes: Number(r.total) });
    }
    const count = (t: string) => tables.find((x) => x.table === t)!.rows;
    return { schema, utterances: count('Utterance'), learners: count('Learner'), tables };
  } finally {
    await client.end();
  }
}

export async function runSizingBench(args: string[], say: (line: string) => void, figures: Record<string, number | string>): Promise<void> {
  const { values } = parseArgs({ args, options: { target: { type: 'string', default: '10000000' } } });
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl || !/^postgres(ql)?:/.test(databaseUrl)) throw new Error('npm run bench -- sizing needs DATABASE_URL (PostgreSQL).');
  const target = Number(values.target);
  const m = await measureSizing(databaseUrl);
  if (m.utterances === 0) throw new Error(`schema ${m.schema} holds no utterances: seed it first (npm run seed, or npm run bench -- analytics).`);
  const learnersAtTarget = (target / m.utterances) * m.learners;
  say(`schema ${m.schema}: ${m.utterances} utterances, ${m.learners} learners; extrapolated to ${target} utterances and ${Math.round(learnersAtTarget)} learners`);
  say('table | rows | rows per utterance | bytes per row (heap / indexes) | bytes per utterance | at target (GiB)');
  let perUtterance = 0;
  let atTarget = 0;
  for (const t of m.tables) {
    const scale = PER_LEARNER.includes(t.table) ? learnersAtTarget / Math.max(1, m.learners) : target / m.utterances;
    const bytesAtTarget = t.totalBytes * scale;
    const bytesPerUtterance = t.totalBytes / m.utterances;
    perUtterance += bytesPerUtterance;
    atTarget += bytesAtTarget;
    const perRow = t.rows ? `${Math.round(t.heapBytes / t.rows)} / ${Math.round(t.indexBytes / t.rows)}` : '-';
    say(`${t.table} | ${t.rows} | ${(t.rows / m.utterances).toFixed(2)} | ${perRow} | ${Math.round(bytesPerUtterance)} | ${(bytesAtTarget / GiB).toFixed(1)}`);
    figures[`sizing.${t.table}.bytes_per_utterance`] = bytesPerUtterance;
  }
  say(`all: ${Math.round(perUtterance)} bytes per utterance; ${(atTarget / GiB).toFixed(1)} GiB at ${target} utterances (audio files not included: they are on disk, SPEECHMARK_AUDIO_DIR)`);
  figures['sizing.bytes_per_utterance'] = perUtterance;
  figures['sizing.target_utterances'] = target;
  figures['sizing.target_gib'] = atTarget / GiB;
}
