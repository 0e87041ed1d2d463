/**
 * PGlite's autovacuum (src/db/maintenance.ts): the tables autovacuum's own thresholds pick, what
 * VACUUM and ANALYZE leave in the statistics, and the server running it on its interval. PGlite
 * only: a PostgreSQL server has its own autovacuum, which would race these counts.
 */
import { randomUUID } from 'node:crypto';
import { openTestDatabase, type TestDatabase } from '../support/db.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { maintainTables, tablesDueForMaintenance } from '../../src/db/maintenance.js';
import type { MigrationExecutor } from '../../src/db/migrate.js';

interface TableStats {
  reltuples: number;
  n_live_tup: number;
  n_dead_tup: number;
  last_vacuum: Date | null;
  last_analyze: Date | null;
}

/** pg_stat_user_tables and pg_class for one table, after the backend's pending counts are flushed. */
async function statsOf(executor: MigrationExecutor, table: string): Promise<TableStats> {
  return executor.withConnection(async (c) => {
    await c.query('SELECT pg_stat_force_next_flush()');
    const [row] = await c.query<TableStats>(
      `SELECT c.reltuples::float8 AS reltuples, s.n_live_tup::int, s.n_dead_tup::int, s.last_vacuum, s.last_analyze
         FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
        WHERE s.schemaname = current_schema() AND s.relname = $1`,
      [table],
    );
    return row!;
  });
}

async function insertLearners(executor: MigrationExecutor, organizationId: string, count: number): Promise<void> {
  await executor.withConnection((c) =>
    c.query(
      `INSERT INTO "Learner"(id, "organizationId", "externalId")
         SELECT gen_random_uuid(), $1, 'maint-' || gen_random_uuid() FROM generate_series(1, $2::int)`,
      [organizationId, count],
    ),
  );
}

describe('PGlite maintenance: autovacuum decisions', () => {
  let db: TestDatabase;
  let org: string;
  beforeAll(async () => {
    db = await openTestDatabase('pglite');
    org = randomUUID();
    await db.executor.withConnection((c) => c.query(`INSERT INTO "Organization"(id, name) VALUES ($1, 'maintenance')`, [org]));
  });
  afterAll(() => db?.close());

  test('inserts past the analyze threshold are ANALYZEd, and the planner then knows the row count', async () => {
    // Settle what the migrations and the organisation insert left due.
    await maintainTables(db.executor);
    await insertLearners(db.executor, org, 600);
    const due = await tablesDueForMaintenance(db.executor);
    // 600 changes > 50 + 0.1 × 0 rows; 600 inserts < 1,000 + 0.2 × 0: an ANALYZE, not a VACUUM.
    expect(due).toContainEqual(expect.objectContaining({ table: 'Learner', action: 'analyze' }));
    expect(due.map((d) => d.table)).not.toContain('Utterance');
    expect((await statsOf(db.executor, 'Learner')).reltuples).not.toBe(600);

    const runs = await maintainTables(db.executor);
    expect(runs.find((r) => r.table === 'Learner')).toMatchObject({ action: 'analyze' });
    const after = await statsOf(db.executor, 'Learner');
    expect(after.reltuples).toBe(600);
    expect(after.last_analyze).not.toBeNull();
    expect(after.last_vacuum).toBeNull();
    expect((await tablesDueForMaintenance(db.executor)).map((d) => d.table)).not.toContain('Learner');
  });

  test('dead rows past the vacuum threshold are VACUUMed (and analysed)', async () => {
    await db.executor.withConnection((c) =>
      c.query(`DELETE FROM "Learner" WHERE id IN (SELECT id FROM "Learner" WHERE "organizationId" = $1 LIMIT 400)`, [org]),
    );
    // 400 dead rows > 50 + 0.2 × 600.
    expect(await tablesDueForMaintenance(db.executor)).toContainEqual(expect.objectContaining({ table: 'Learner', action: 'vacuum' }));
    expect((await statsOf(db.executor, 'Learner')).n_dead_tup).toBe(400);

    const runs = await maintainTables(db.executor);
    expect(runs.find((r) => r.table === 'Learner')).toMatchObject({ action: 'vacuum' });
    const after = await statsOf(db.executor, 'Learner');
    expect(after.n_dead_tup).toBe(0);
    expect(after.n_live_tup).toBe(200);
    expect(after.reltuples).toBe(200);
    expect(after.last_vacuum).not.toBeNull();
  });

  test('many inserts are VACUUMed too (the visibility map that index-only scans read)', async () => {
    await insertLearners(db.executor, org, 1300);
    // 1,300 inserts > 1,000 + 0.2 × 200.
    expect(await tablesDueForMaintenance(db.executor)).toContainEqual(expect.objectContaining({ table: 'Learner', action: 'vacuum' }));
  });

  test('a table whose oldest transaction id passed autovacuum_freeze_max_age is vacuumed (frozen) whatever its row counts', async () => {
    await maintainTables(db.executor);
    // ApiKey's rows are rarely changed: the row thresholds alone would never vacuum it.
    expect((await tablesDueForMaintenance(db.executor)).map((d) => d.table)).not.toContain('ApiKey');
    const [{ age }] = await db.executor.withConnection((c) =>
      c.query<{ age: number }>(`SELECT age(relfrozenxid)::int AS age FROM pg_class WHERE relname = 'ApiKey'`));
    expect(age).toBeGreaterThan(1);
    const due = await tablesDueForMaintenance(db.executor, { freezeMaxAge: age - 1 });
    expect(due).toContainEqual(expect.objectContaining({ table: 'ApiKey', action: 'vacuum' }));
    expect(await tablesDueForMaintenance(db.executor, { freezeMaxAge: age + 1_000 })).not.toContainEqual(expect.objectContaining({ table: 'ApiKey' }));
    // The system catalogues too (a single-user PostgreSQL, as PGlite is, does not stop before wraparound).
    expect(due).toContainEqual({ schema: 'pg_catalog', table: 'pg_class', action: 'vacuum' });
    const runs = await maintainTables(db.executor, () => true, { freezeMaxAge: 1 });
    expect(runs.map((r) => r.table)).toEqual(expect.arrayContaining(['ApiKey', 'pg_catalog.pg_class', 'pg_catalog.pg_attribute']));
    expect(runs.every((r) => r.action === 'vacuum')).toBe(true);
  });

  test('a run asked to stop processes no further table', async () => {
    await insertLearners(db.executor, org, 100);
    expect((await tablesDueForMaintenance(db.executor)).length).toBeGreaterThan(0);
    expect(await maintainTables(db.executor, () => false)).toEqual([]);
    expect((await tablesDueForMaintenance(db.executor)).length).toBeGreaterThan(0);
  });
});

describe('PGlite maintenance: the server runs it', () => {
  let app: TestApp | undefined;
  afterEach(async () => {
    await app?.dispose();
    app = undefined;
  });

  async function learnersOfNewOrganisation(t: TestApp, count: number): Promise<void> {
    const org = await t.app.services.prisma.organization.create({ data: { name: 'maintained' } });
    await t.app.services.prisma.learner.createMany({
      data: Array.from({ length: count }, (_, i) => ({ organizationId: org.id, externalId: `m-${i}` })),
    });
  }

  async function learnerLastAnalyze(t: TestApp): Promise<Date | null> {
    const rows = await t.app.services.prisma.$queryRaw<{ last_analyze: Date | null }[]>`
      SELECT last_analyze FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = 'Learner'`;
    return rows[0]!.last_analyze;
  }

  test('every SPEECHMARK_PGLITE_MAINTENANCE_SECONDS it analyses a table that changed', async () => {
    app = await startTestApp('pglite', { pgliteMaintenanceSeconds: 1, inProcessWorker: false });
    await learnersOfNewOrganisation(app, 700);
    const deadline = Date.now() + 30_000;
    while ((await learnerLastAnalyze(app)) === null) {
      if (Date.now() > deadline) throw new Error('Learner was not analysed within 30 s');
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(await learnerLastAnalyze(app)).not.toBeNull();
  });

  test('0 turns it off', async () => {
    app = await startTestApp('pglite', { pgliteMaintenanceSeconds: 0, inProcessWorker: false });
    await learnersOfNewOrganisation(app, 700);
    await new Promise((r) => setTimeout(r, 3_000));
    // 700 new rows are past the threshold (the first suite): the setting kept it from running.
    expect(await learnerLastAnalyze(app)).toBeNull();
  });
});
