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
  /** The application's schema, or pg_catalog for a system catalogue. */
  schema: string;
  table: string;
  /**
   * VACUUM (ANALYZE) when dead rows or inserts since the last vacuum passed autovacuum's threshold,
   * or the table's oldest transaction id is older than `autovacuum_freeze_max_age`; else ANALYZE.
   */
  action: 'vacuum' | 'analyze';
}

export interface MaintenanceRun {
  table: string;
  action: TableMaintenance['action'];
  ms: number;
}

/**
 * autovacuum.c's relation_needs_vacanalyze, from pg_stat_all_tables and the server's settings, for
 * the application's tables and the system catalogues (which VACUUM and ANALYZE themselves update):
 * - VACUUM against transaction id wraparound: relfrozenxid older than autovacuum_freeze_max_age, or
 *   relminmxid older than autovacuum_multixact_freeze_max_age (a single-user PostgreSQL, as PGlite
 *   is, does not stop before wraparound, it only warns);
 * - VACUUM for dead rows (the threshold capped by autovacuum_vacuum_max_threshold), and for
 *   inserts (unless autovacuum_vacuum_insert_threshold is -1; the scaled part counts only the
 *   share of pages not yet all-frozen), as PostgreSQL 18 decides;
 * - ANALYZE for rows changed since the last one (never pg_statistic itself).
 * A never-analysed table counts as empty (reltuples -1), so its first rows past the base threshold
 * trigger the first ANALYZE. Per-table storage parameters are not read (the schema sets none).
 */
const TABLES_DUE_SQL = `
  WITH settings AS (
    SELECT current_setting('autovacuum_vacuum_threshold')::float8 AS vt,
           current_setting('autovacuum_vacuum_scale_factor')::float8 AS vs,
           current_setting('autovacuum_vacuum_max_threshold')::float8 AS vm,
           current_setting('autovacuum_vacuum_insert_threshold')::float8 AS it,
           current_setting('autovacuum_vacuum_insert_scale_factor')::float8 AS "is",
           current_setting('autovacuum_analyze_threshold')::float8 AS at,
           current_setting('autovacuum_analyze_scale_factor')::float8 AS "as",
           coalesce($1::float8, current_setting('autovacuum_freeze_max_age')::float8) AS fa,
           current_setting('autovacuum_multixact_freeze_max_age')::float8 AS ma
  ), due AS (
    SELECT s.schemaname AS "schema", s.relname AS "table", s.n_dead_tup + s.n_mod_since_analyze AS changes,
           (c.relfrozenxid::text::bigint <> 0 AND age(c.relfrozenxid) > st.fa)
             OR (c.relminmxid::text::bigint <> 0 AND mxid_age(c.relminmxid) > st.ma)
             OR s.n_dead_tup > CASE WHEN st.vm >= 0 THEN least(st.vt + st.vs * greatest(c.reltuples, 0), st.vm)
                                    ELSE st.vt + st.vs * greatest(c.reltuples, 0) END
             OR (st.it >= 0 AND s.n_ins_since_vacuum > st.it + st."is" * greatest(c.reltuples, 0) *
                   CASE WHEN c.relpages > 0 AND c.relallfrozen > 0
                        THEN 1 - least(c.relallfrozen, c.relpages)::float8 / c.relpages ELSE 1 END) AS "vacuum",
           s.relid <> 'pg_catalog.pg_statistic'::regclass
             AND s.n_mod_since_analyze > st.at + st."as" * greatest(c.reltuples, 0) AS "analyze"
      FROM pg_stat_all_tables s
      JOIN pg_class c ON c.oid = s.relid
     CROSS JOIN settings st
     WHERE s.schemaname IN (current_schema(), 'pg_catalog') AND c.relkind = 'r'
  )
  SELECT "schema", "table", CASE WHEN "vacuum" THEN 'vacuum' ELSE 'analyze' END AS action
    FROM due
   WHERE "vacuum" OR "analyze"
   ORDER BY changes DESC, "schema", "table"`;

/**
 * The tables autovacuum would process now, most changed first. `freezeMaxAge` replaces the server's
 * autovacuum_freeze_max_age (fixed when the server starts), for tests of the wraparound rule.
 */
export async function tablesDueForMaintenance(executor: MigrationExecutor, options: { freezeMaxAge?: number } = {}): Promise<TableMaintenance[]> {
  return executor.withConnection(async (c) => {
    // The backend sends its counts to the statistics at most once a second, after a statement:
    // forced here, so the decision sees the writes made up to now.
    await c.query('SELECT pg_stat_force_next_flush()');
    return c.query<TableMaintenance>(TABLES_DUE_SQL, [options.freezeMaxAge ?? null]);
  });
}

/**
 * VACUUMs or ANALYZEs every table that is due, one at a time (PGlite runs one statement at a time
 * anyway: everything waits while a table is processed, so each is logged with how long it took).
 * `go` is asked between tables, so a shutdown does not wait for the rest.
 */
export async function maintainTables(
  executor: MigrationExecutor,
  go: () => boolean = () => true,
  options: { freezeMaxAge?: number } = {},
): Promise<MaintenanceRun[]> {
  const runs: MaintenanceRun[] = [];
  for (const { schema, table, action } of await tablesDueForMaintenance(executor, options)) {
    if (!go()) break;
    const started = performance.now();
    const name = `${quoteIdent(schema)}.${quoteIdent(table)}`;
    await executor.withConnection((c) => c.exec(action === 'vacuum' ? `VACUUM (ANALYZE) ${name}` : `ANALYZE ${name}`));
    runs.push({ table: schema === 'pg_catalog' ? `pg_catalog.${table}` : table, action, ms: Math.round(performance.now() - started) });
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
