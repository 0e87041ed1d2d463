import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { defaultMigrationsDir, openDatabase } from '../../src/db/client.js';
import { applyMigrations, MigrationError, readMigrations, type MigrationExecutor } from '../../src/db/migrate.js';
import { openTestDatabase, postgresUnavailable, type TestDatabase } from '../support/db.js';

const MIGRATIONS = defaultMigrationsDir();
const kinds = ['pglite', 'postgres'] as const;
const pgSkip = await postgresUnavailable();
const timings: string[] = [];

async function rows(exec: MigrationExecutor, sql: string) {
  return exec.withConnection((c) => c.query<Record<string, unknown>>(sql));
}

async function copyMigrations(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'speechmark-mig-'));
  await cp(MIGRATIONS, dir, { recursive: true });
  return dir;
}

afterAll(() => {
  if (timings.length) console.log(`migration timings:\n  ${timings.join('\n  ')}`);
});

for (const kind of kinds) {
  const d = kind === 'postgres' && pgSkip !== null && !process.env.CI ? describe.skip : describe;
  d(`migrations [${kind}]`, () => {
    let db: TestDatabase;
    let dir: string;
    beforeEach(async () => {
      db = await openTestDatabase(kind, { migrate: false });
      dir = await copyMigrations();
    });
    afterEach(async () => {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    });

    test('applies once, records Prisma-compatible rows, second run applies nothing', async () => {
      const files = await readMigrations(dir);
      expect(files.length).toBeGreaterThan(0);
      const first = await applyMigrations(db.executor, dir);
      expect(first.applied).toEqual(files.map((f) => f.name));
      timings.push(`${kind}: fresh apply of ${first.applied.length} migration(s) ${first.durationMs.toFixed(0)} ms`);

      const recorded = await rows(
        db.executor,
        `SELECT migration_name, checksum, finished_at, rolled_back_at, applied_steps_count, logs FROM "_prisma_migrations" ORDER BY migration_name`,
      );
      expect(recorded).toHaveLength(files.length);
      for (const [i, f] of files.entries()) {
        const sha = createHash('sha256').update(await readFile(path.join(dir, f.name, 'migration.sql'))).digest('hex');
        expect(recorded[i]).toMatchObject({ migration_name: f.name, checksum: sha, rolled_back_at: null, applied_steps_count: 1, logs: null });
        expect(recorded[i]!.finished_at).toBeInstanceOf(Date);
      }

      const second = await applyMigrations(db.executor, dir);
      expect(second.applied).toEqual([]);
      expect(second.alreadyApplied).toEqual(files.map((f) => f.name));
      timings.push(`${kind}: nothing pending ${second.durationMs.toFixed(0)} ms`);
      const count = await rows(db.executor, `SELECT count(*)::int AS n FROM "_prisma_migrations"`);
      expect(count[0]!.n).toBe(files.length);

      // The tables exist: the schema's enums, a few tables, and one of its indexes.
      const tables = await rows(
        db.executor,
        `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1`,
      );
      expect(tables.map((t) => t.table_name)).toEqual(
        expect.arrayContaining(['Organization', 'ApiKey', 'Learner', 'Utterance', 'Job', 'Assessment', 'WordAssessment', 'PhonemeAssessment', 'Rationale', '_prisma_migrations']),
      );
    });

    test('an edited applied migration stops start-up with a clear error', async () => {
      await applyMigrations(db.executor, dir);
      const [first] = await readMigrations(dir);
      const file = path.join(dir, first!.name, 'migration.sql');
      await writeFile(file, (await readFile(file, 'utf8')) + '\n-- edited later\n');
      const err = await applyMigrations(db.executor, dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MigrationError);
      expect((err as MigrationError).reason).toBe('edited');
      expect((err as Error).message).toContain(`Migration "${first!.name}" was modified after it was applied`);
    });

    test('a failing migration rolls back, is recorded as failed, and blocks the next start', async () => {
      await applyMigrations(db.executor, dir);
      const name = '99990101000000_broken';
      await mkdir(path.join(dir, name));
      await writeFile(
        path.join(dir, name, 'migration.sql'),
        `CREATE TABLE "Half" ("id" INT);\nCREATE FUNCTION half_fn() RETURNS int AS $$ BEGIN RETURN 1; END; $$ LANGUAGE plpgsql;\nSELECT * FROM "NoSuchTable";\n`,
      );
      const err = await applyMigrations(db.executor, dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MigrationError);
      expect((err as MigrationError).reason).toBe('apply-failed');
      expect((err as Error).message).toContain(name);
      // Rolled back: no half-applied table.
      const half = await rows(db.executor, `SELECT to_regclass('"Half"')::text AS t`);
      expect(half[0]!.t).toBeNull();

      const again = await applyMigrations(db.executor, dir).catch((e: unknown) => e);
      expect(again).toBeInstanceOf(MigrationError);
      expect((again as MigrationError).reason).toBe('failed');
      expect((again as Error).message).toContain(`Migration "${name}" failed earlier`);

      // Resolving it (marked rolled back) and fixing the script lets start-up continue.
      await db.executor.withConnection((c) => c.exec(`UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = '${name}'`));
      await writeFile(
        path.join(dir, name, 'migration.sql'),
        `CREATE TABLE "Half" ("id" INT);\nCREATE FUNCTION half_fn() RETURNS int AS $$ BEGIN RETURN 1; END; $$ LANGUAGE plpgsql;\n`,
      );
      const fixed = await applyMigrations(db.executor, dir);
      expect(fixed.applied).toEqual([name]);
      const fn = await rows(db.executor, `SELECT half_fn() AS v`);
      expect(fn[0]!.v).toBe(1);
    });

    if (kind === 'postgres') {
      test('concurrent starts apply each migration once (advisory lock)', async () => {
        const others = await Promise.all([0, 1, 2].map(() => openDatabase({ databaseUrl: db.url, dataDir: 'memory://' }, { migrate: false })));
        try {
          const results = await Promise.all([db, ...others].map((o) => applyMigrations(o.executor, dir)));
          const applied = results.flatMap((r) => r.applied);
          const files = await readMigrations(dir);
          expect(applied.sort()).toEqual(files.map((f) => f.name).sort());
          const count = await rows(db.executor, `SELECT count(*)::int AS n FROM "_prisma_migrations"`);
          expect(count[0]!.n).toBe(files.length);
        } finally {
          await Promise.all(others.map((o) => o.close()));
        }
      });
    }
  });
}

describe('openDatabase on a PGlite data folder', () => {
  test('migrates on first open, applies nothing on reopen', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'speechmark-data-'));
    try {
      let t = performance.now();
      const first = await openDatabase({ databaseUrl: undefined, dataDir });
      const firstMs = performance.now() - t;
      expect(first.kind).toBe('pglite');
      expect(first.migrations?.applied.length).toBeGreaterThan(0);
      await first.prisma.organization.create({ data: { name: 'kept' } });
      await first.close();

      t = performance.now();
      const second = await openDatabase({ databaseUrl: undefined, dataDir });
      const secondMs = performance.now() - t;
      expect(second.migrations?.applied).toEqual([]);
      expect(await second.prisma.organization.count()).toBe(1);
      timings.push(
        `pglite data folder: first open ${firstMs.toFixed(0)} ms (apply ${first.migrations!.durationMs.toFixed(0)} ms), ` +
          `reopen ${secondMs.toFixed(0)} ms (migration check ${second.migrations!.durationMs.toFixed(0)} ms)`,
      );
      await second.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
