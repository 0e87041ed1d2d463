/**
 * Test databases. PGlite runs in memory; PostgreSQL gets a fresh schema per openTestDatabase call
 * (on the server at TEST_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test), dropped on
 * close, so parallel test files never see each other's rows.
 *
 * describeEachDatabase runs a suite on both. PostgreSQL is probed once per test file: unreachable
 * means the PostgreSQL half is skipped locally, and fails when `CI` is set.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { openDatabase, MEMORY_DATA_DIR, quoteIdent, type Database, type DatabaseKind, type OpenDatabaseOptions } from '../../src/db/client.js';
import type { PrismaClient } from '../../src/generated/prisma/client.js';


export const TEST_POSTGRES_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

/** Drop a per-suite schema on the test PostgreSQL server. */
export async function dropTestSchema(schema: string): Promise<void> {
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  admin.on('error', () => undefined);
  await admin.connect();
  try {
    await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
  } finally {
    await admin.end();
  }
}

export interface TestDatabase extends Database {
  /** postgres only: the URL (with ?schema=) that reaches this same database, for a second client. */
  url: string | undefined;
  /** Empties every application table (keeps the migration history). */
  reset(): Promise<void>;
}

const APP_TABLES = [
  'PhonemeAssessment',
  'WordAssessment',
  'Rationale',
  'Assessment',
  'Job',
  'Utterance',
  'Learner',
  'ApiKey',
  'Organization',
];

async function probePostgres(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    await client.end().catch(() => undefined);
  }
}

let probe: Promise<string | null> | null = null;
/** null when PostgreSQL answers, else why not. Probed once per test file. */
export function postgresUnavailable(): Promise<string | null> {
  probe ??= probePostgres(TEST_POSTGRES_URL);
  return probe;
}

function withSchema(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('schema', schema);
  return u.toString();
}

export async function openTestDatabase(kind: DatabaseKind, options: OpenDatabaseOptions = {}): Promise<TestDatabase> {
  if (kind === 'pglite') {
    const db = await openDatabase({ databaseUrl: undefined, dataDir: MEMORY_DATA_DIR }, options);
    return { ...db, url: undefined, reset: () => truncateAll(db) };
  }
  const schema = `test_${process.pid}_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const url = withSchema(TEST_POSTGRES_URL, schema);
  const db = await openDatabase({ databaseUrl: url, dataDir: MEMORY_DATA_DIR }, options);
  return {
    ...db,
    url,
    reset: () => truncateAll(db),
    async close() {
      await db.close();
      await dropTestSchema(schema);
    },
  };
}

async function truncateAll(db: Database): Promise<void> {
  await db.executor.withConnection((c) =>
    c.exec(`TRUNCATE ${APP_TABLES.map(quoteIdent).join(', ')} CASCADE`),
  );
}

export interface DatabaseContext {
  kind: DatabaseKind;
  /** Opened in beforeAll, closed in afterAll. */
  readonly db: TestDatabase;
  readonly prisma: PrismaClient;
}

export interface DescribeEachDatabaseOptions {
  kinds?: DatabaseKind[];
  /** Passed to openTestDatabase (e.g. migrate: false). */
  open?: OpenDatabaseOptions;
}

// Top-level await: Jest's describe() is synchronous, so whether to skip must be known on import.
const postgresSkipReason = await postgresUnavailable();

/**
 * Declares `describe('<name> [pglite]')` and `describe('<name> [postgres]')`, each with its own
 * database opened once for the suite. Without PostgreSQL the second is skipped, or fails under CI.
 */
export function describeEachDatabase(
  name: string,
  fn: (ctx: DatabaseContext) => void,
  options: DescribeEachDatabaseOptions = {},
): void {
  for (const kind of options.kinds ?? (['pglite', 'postgres'] as const)) {
    const title = `${name} [${kind}]`;
    if (kind === 'postgres' && postgresSkipReason !== null) {
      if (process.env.CI) {
        describe(title, () => {
          test('PostgreSQL is reachable', () => {
            throw new Error(`PostgreSQL at ${TEST_POSTGRES_URL} is unreachable (${postgresSkipReason}); CI must run the PostgreSQL suites`);
          });
        });
      } else {
        describe.skip(`${title} (PostgreSQL unreachable: ${postgresSkipReason})`, () => fn(unavailable(kind)));
      }
      continue;
    }
    describe(title, () => {
      let db: TestDatabase | undefined;
      beforeAll(async () => {
        db = await openTestDatabase(kind, options.open);
      });
      afterAll(async () => {
        await db?.close();
      });
      fn({
        kind,
        get db() {
          if (!db) throw new Error('database not open yet (use it inside beforeAll/test)');
          return db;
        },
        get prisma() {
          if (!db) throw new Error('database not open yet (use it inside beforeAll/test)');
          return db.prisma;
        },
      });
    });
  }
}

function unavailable(kind: DatabaseKind): DatabaseContext {
  const fail = () => {
    throw new Error('PostgreSQL unavailable');
  };
  return {
    kind,
    get db(): TestDatabase {
      return fail();
    },
    get prisma(): PrismaClient {
      return fail();
    },
  };
}
