/**
 * Autovacuum for PGlite. PostgreSQL's autovacuum is a background process; PGlite runs PostgreSQL
 * single-user inside this process, so it has none. Without it the embedded default never refreshes
 * the planner's statistics (after an import or a bulk re-assessment the planner still believes the
 * tables hold the handful of rows they held when last analysed, and picks nested loops over
 * thousands of rows) and never reclaims dead row versions (the organisation row a claim updates
 * each time, the job, delivery and heartbeat rows, the rollups: tables and indexes grow without
 * bound, and index-only scans stop, as the visibility map is only set by VACUUM).
 *
 * So the process that owns the PGlite database runs, every SPEECHMARK_PGLITE_MAINTENANCE_SECONDS,
 * the decision autovacuum would make from the same statistics and the same settings
 * (`autovacuum_*_threshold` + `autovacuum_*_scale_factor` × rows), and VACUUMs or ANALYZEs the
 * tables that crossed a threshold. PostgreSQL servers are left to their own autovacuum.
 */
import type { MigrationExecutor } from './migrate.js';
import { quoteIdent } from './client.js';
import { log } from '../ops/log.js';

/** What one table needs now. */
export interface TableMaintenance {
  table: string;
  /** VACUUM (ANALYZE) when dead rows or inserts since the last vacuum passed autovacuum's threshold; else ANALYZE. */
  action: 'vacuum' | 'analyze';
}

export interface MaintenanceRun {
  table: string;
  action: TableMaintenance['action'];
  ms: number;
}

/**
 * autovacuum.c's relation_needs_vacanalyze, from pg_stat_user_tables and the server's settings: a
 * never-analysed table counts as empty (reltuples -1), so its first rows past the base threshold
 * trigger the first ANALYZE. Per-table storage parameters are not used (the schema sets none).
 */
const TABLES_DUE_SQL = `
  WITH settings AS (
    SELECT current_setting('autovacuum_vacuum_threshold')::float8 AS vt,
           current_setting('autovacuum_vacuum_scale_factor')::float8 AS vs,
           current_setting('autovacuum_vacuum_insert_threshold')::float8 AS it,
           current_setting('autovacuum_vacuum_insert_scale_factor')::float8 AS "is",
           current_setting('autovacuum_analyze_threshold')::float8 AS at,
           current_setting('autovacuum_analyze_scale_factor')::float8 AS "as"
  )
  SELECT s.relname AS "table",
         CASE WHEN s.n_dead_tup > st.vt + st.vs * greatest(c.reltuples, 0)
                OR s.n_ins_since_vacuum > st.it + st."is" * greatest(c.reltuples, 0)
              THEN 'vacuum' ELSE 'analyze' END AS action
    FROM pg_stat_user_tables s
    JOIN pg_class c ON c.oid = s.relid
    CROSS JOIN settings st
   WHERE s.schemaname = current_schema()
     AND (s.n_dead_tup > st.vt + st.vs * greatest(c.reltuples, 0)
       OR s.n_ins_since_vacuum > st.it + st."is" * greatest(c.reltuples, 0)
       OR s.n_mod_since_analyze > st.at + st."as" * greatest(c.reltuples, 0))
   ORDER BY s.n_dead_tup + s.n_mod_since_analyze DESC, s.relname`;

/** The tables autovacuum would process now, most changed first. */
export async function tablesDueForMaintenance(executor: MigrationExecutor): Promise<TableMaintenance[]> {
  return executor.withConnection(async (c) => {
    // The backend sends its counts to the statistics at most once a second, after a statement:
    // forced here, so the decision sees the writes made up to now.
    await c.query('SELECT pg_stat_force_next_flush()');
    return c.query<TableMaintenance>(TABLES_DUE_SQL);
  });
}

/**
 * VACUUMs or ANALYZEs every table that is due, one at a time (PGlite runs one statement at a time
 * anyway: requests wait while a table is processed, so each is logged with how long it took).
 * `go` is asked between tables, so a shutdown does not wait for the rest.
 */
export async function maintainTables(executor: MigrationExecutor, go: () => boolean = () => true): Promise<MaintenanceRun[]> {
  const runs: MaintenanceRun[] = [];
  for (const { table, action } of await tablesDueForMaintenance(executor)) {
    if (!go()) break;
    const started = performance.now();
    const sql = action === 'vacuum' ? `VACUUM (ANALYZE) ${quoteIdent(table)}` : `ANALYZE ${quoteIdent(table)}`;
    await executor.withConnection((c) => c.exec(sql));
    runs.push({ table, action, ms: Math.round(performance.now() - started) });
  }
  return runs;
}

/** Runs maintainTables every `everyMs` (never two at once), logging what it did; stop() waits for a run in progress. */
export class PgliteMaintenance {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly executor: MigrationExecutor,
    private readonly everyMs: number,
  ) {}

  start(): void {
    if (this.timer || this.everyMs <= 0) return;
    this.stopped = false;
    this.timer = setInterval(() => void this.tick(), this.everyMs);
    this.timer.unref();
  }

  /** One run now, unless one is in progress (then that one's end). */
  tick(): Promise<void> {
    this.running ??= maintainTables(this.executor, () => !this.stopped)
      .then((runs) => {
        for (const run of runs) log.info('database maintenance', { ...run });
      })
      .catch((err: unknown) => log.warn('database maintenance failed; the next run retries', { err }))
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
