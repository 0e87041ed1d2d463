/**
 * Opens the database: PGlite (embedded PostgreSQL in WASM) in `<dataDir>/pglite` by default, or a
 * PostgreSQL server when DATABASE_URL is set. Pending migrations are applied before returning.
 *
 * A `?schema=name` parameter on DATABASE_URL selects a PostgreSQL schema (Prisma's convention): it
 * is taken off the URL, set as the connection's search_path (so raw SQL finds the tables) and
 * given to the adapter (so Prisma's queries name it).
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import type { Config } from '../config.js';
import { lockFolder } from './folder-lock.js';
import { PrismaClient } from '../generated/prisma/client.js';
import {
  applyMigrations,
  pgliteExecutor,
  pgPoolExecutor,
  type AppliedMigrationsResult,
  type MigrationExecutor,
} from './migrate.js';
import { listenPglite, listenPostgres, type ListenOptions, type NotificationListener, type OnNotification } from '../events/listener.js';

export type DatabaseKind = 'pglite' | 'postgres';

export interface Database {
  prisma: PrismaClient;
  kind: DatabaseKind;
  /** What applyMigrations did while opening (empty `applied` when nothing was pending). */
  migrations: AppliedMigrationsResult | null;
  /** Raw SQL on the underlying driver (migrations, maintenance, tests). */
  executor: MigrationExecutor;
  /** Change notifications (src/events): a dedicated LISTEN connection, reconnecting when dropped. */
  listen(onNotification: OnNotification, options?: ListenOptions): Promise<NotificationListener>;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** Defaults to the repository's prisma/migrations. */
  migrationsDir?: string;
  /** Set false to skip applying migrations (tests of the migrator itself). Default true. */
  migrate?: boolean;
  /**
   * Called with the SQL of every statement Prisma sends (query counting in tests, debugging), and
   * its parameters as Prisma logs them (a JSON array; the analytics bench replays statements).
   */
  onQuery?: (sql: string, params?: string) => void;
}

/** Pool and transaction settings (Config's names); each defaults to Config's default. */
export type DatabaseTuning = Partial<Pick<Config, 'dbPoolSize' | 'dbTransactionMaxWaitMs' | 'dbTransactionTimeoutMs'>>;

function createPrisma(adapter: SqlDriverAdapterFactory, tuning: DatabaseTuning, onQuery?: (sql: string, params?: string) => void): PrismaClient {
  // Defaults for every $transaction; runTransaction (./transaction.ts) retries a start that timed out.
  const transactionOptions = { maxWait: tuning.dbTransactionMaxWaitMs ?? 10_000, timeout: tuning.dbTransactionTimeoutMs ?? 15_000 };
  if (!onQuery) return new PrismaClient({ adapter, transactionOptions });
  const prisma = new PrismaClient<{
    adapter: SqlDriverAdapterFactory;
    transactionOptions: typeof transactionOptions;
    log: [{ emit: 'event'; level: 'query' }];
  }>({
    adapter,
    transactionOptions,
    log: [{ emit: 'event', level: 'query' }],
  });
  prisma.$on('query', (e) => onQuery(e.query, e.params));
  return prisma as unknown as PrismaClient;
}

/** In-memory PGlite instead of a data folder, for tests and throw-away runs. */
export const MEMORY_DATA_DIR = 'memory://';

/** prisma/migrations, found from this file upwards (works from src/ under tsx/jest and from dist/). */
export function defaultMigrationsDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'prisma', 'migrations');
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve('prisma', 'migrations');
    dir = parent;
  }
}

/** Splits Prisma's `?schema=` off a PostgreSQL URL. */
export function parsePostgresUrl(url: string): { connectionString: string; schema: string | undefined } {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') ?? undefined;
  parsed.searchParams.delete('schema');
  return { connectionString: parsed.toString(), schema: schema || undefined };
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A connected driver, before migrations and Prisma: what differs between PGlite and PostgreSQL. */
interface Driver {
  kind: DatabaseKind;
  executor: MigrationExecutor;
  adapter: SqlDriverAdapterFactory;
  listen(onNotification: OnNotification, options?: ListenOptions): Promise<NotificationListener>;
  end(): Promise<void>;
}

async function connectPostgres(url: string, poolSize = 10): Promise<Driver> {
  const { connectionString, schema } = parsePostgresUrl(url);
  const connection = { connectionString, ...(schema ? { options: `-c search_path=${quoteIdent(schema)}` } : {}) };
  const pool = new pg.Pool({ ...connection, max: poolSize });
  pool.on('error', () => undefined); // an idle client dropped by the server must not crash the process
  const executor = pgPoolExecutor(pool);
  const driver: Driver = {
    kind: 'postgres',
    executor,
    adapter: new PrismaPg(pool, schema ? { schema } : undefined),
    listen: (onNotification, options) => listenPostgres(connection, onNotification, options),
    end: () => pool.end(),
  };
  if (schema) {
    // Two processes racing on IF NOT EXISTS can still collide on the catalog's unique index.
    await executor
      .withConnection((c) => c.exec(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`))
      .catch(async (err: { code?: string }) => {
        if (err.code === '23505' || err.code === '42P06') return;
        await pool.end().catch(() => undefined);
        throw err;
      });
  }
  return driver;
}

async function connectPglite(dataDir: string): Promise<Driver> {
  const driver = (db: PGlite, release: () => void = () => {}): Driver => ({
    kind: 'pglite',
    executor: pgliteExecutor(db),
    adapter: new PrismaPGlite(db),
    listen: (onNotification) => listenPglite(db, onNotification),
    end: () => db.close().finally(release),
  });
  if (dataDir === MEMORY_DATA_DIR) return driver(await PGlite.create(MEMORY_DATA_DIR));
  const dir = path.join(dataDir, 'pglite');
  await mkdir(dir, { recursive: true });
  const release = lockFolder(dir, path.join(dataDir, 'pglite.lock'));
  try {
    return driver(await PGlite.create(dir), release);
  } catch (e) {
    release();
    throw e;
  }
}

export async function openDatabase(
  config: Pick<Config, 'databaseUrl' | 'dataDir'> & DatabaseTuning,
  options: OpenDatabaseOptions = {},
): Promise<Database> {
  const driver = config.databaseUrl ? await connectPostgres(config.databaseUrl, config.dbPoolSize) : await connectPglite(config.dataDir);
  try {
    const migrate = options.migrate ?? true;
    const migrations = migrate ? await applyMigrations(driver.executor, options.migrationsDir ?? defaultMigrationsDir()) : null;
    const prisma = createPrisma(driver.adapter, config, options.onQuery);
    return {
      prisma,
      kind: driver.kind,
      migrations,
      executor: driver.executor,
      listen: driver.listen,
      async close() {
        await prisma.$disconnect();
        await driver.end();
      },
    };
  } catch (err) {
    await driver.end().catch(() => undefined);
    throw err;
  }
}
