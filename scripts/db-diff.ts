/**
 * Prints the SQL that takes the database described by prisma/migrations to the one described by
 * prisma/schema.prisma, computed by Prisma's own schema engine (WASM build, fully offline, on a
 * throw-away in-memory PGlite database; no server needed). See ../shared/STACK.md for why the
 * Prisma CLI cannot do this here.
 *
 *   npx tsx scripts/db-diff.ts                       # print the diff (empty output = in sync)
 *   npx tsx scripts/db-diff.ts --create add_foo      # write prisma/migrations/<timestamp>_add_foo/migration.sql
 *   npx tsx scripts/db-diff.ts --check               # exit 2 when the schema and migrations differ (CI)
 *
 * Needs the dev dependency `@prisma/schema-engine-wasm@8.1.0-2.59be4fda12412a79eeb9c2ae727b6aa723593323`.
 */
import { readFile, readdir, mkdir, writeFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import type { SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';

const ENGINE_PKG = '@prisma/schema-engine-wasm';

interface EngineModule {
  SchemaEngine: {
    new: (options: { datamodels: [string, string][] }, log: (msg: string) => void, adapter: unknown) => Promise<Engine>;
  };
}
interface Engine {
  diff(params: unknown): Promise<{ exitCode: number; stdout: string | null }>;
  free(): void;
}

/** Loads the WASM schema engine by hand: Node 20 cannot `import` a .wasm file. */
export async function loadSchemaEngine(): Promise<EngineModule> {
  const g = globalThis as Record<string, unknown>;
  g.PRISMA_WASM_PANIC_REGISTRY ??= { set_message: (m: string) => { (g.PRISMA_WASM_PANIC_MESSAGE = m); } };
  const require = createRequire(import.meta.url);
  const bgJs = require.resolve(`${ENGINE_PKG}/schema_engine_bg`);
  const bg = (await import(`${ENGINE_PKG}/schema_engine_bg`)) as Record<string, unknown>;
  const imports: Record<string, unknown> = { ...bg };
  // The engine's timers would keep the process alive ~10 s after the work is done.
  for (const key of Object.keys(imports)) {
    if (key.startsWith('__wbg_setTimeout_')) {
      imports[key] = (fn: () => void, ms: number) => {
        const t = setTimeout(fn, ms >>> 0);
        t.unref();
        return t;
      };
    }
  }
  const wasmBytes = await readFile(path.join(path.dirname(bgJs), 'schema_engine_bg.wasm'));
  const { instance } = await WebAssembly.instantiate(wasmBytes, { './schema_engine_bg.js': imports as WebAssembly.ModuleImports });
  (bg.__wbg_set_wasm as (w: unknown) => void)(instance.exports);
  (instance.exports.__wbindgen_start as () => void)();
  return bg as unknown as EngineModule;
}

/** pglite-prisma-adapter's executeScript does not await exec(): a failing script would look applied. */
function fixExecuteScript(adapter: SqlDriverAdapter): SqlDriverAdapter {
  const client = (adapter as unknown as { client: PGlite }).client;
  adapter.executeScript = async (script: string) => {
    await client.exec(script);
  };
  return adapter;
}

function pgliteFactory(db: PGlite): SqlMigrationAwareDriverAdapterFactory {
  const inner = new PrismaPGlite(db);
  return {
    provider: inner.provider,
    adapterName: inner.adapterName,
    connect: async () => fixExecuteScript(await inner.connect()),
    connectToShadowDb: async () => {
      // The adapter's shadow database is a fresh in-memory PGlite that its dispose() never closes.
      const shadow = fixExecuteScript(await inner.connectToShadowDb());
      const client = (shadow as unknown as { client: PGlite }).client;
      shadow.dispose = async () => {
        await client.close();
      };
      return shadow;
    },
  };
}

export async function readMigrationsList(migrationsDir: string) {
  const entries = await readdir(migrationsDir, { withFileTypes: true }).catch(() => []);
  const dirs = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  const migrationDirectories = [];
  for (const dir of dirs) {
    const file = path.join(migrationsDir, dir, 'migration.sql');
    const content = await readFile(file, 'utf8').then(
      (value) => ({ tag: 'ok' as const, value }),
      (err: Error) => ({ tag: 'error' as const, value: err.message }),
    );
    migrationDirectories.push({ path: dir, migrationFile: { path: 'migration.sql', content } });
  }
  const lockPath = path.join(migrationsDir, 'migration_lock.toml');
  const lockContent = await readFile(lockPath, 'utf8').catch(() => null);
  return {
    baseDir: migrationsDir,
    lockfile: { path: 'migration_lock.toml', content: lockContent },
    shadowDbInitScript: '',
    migrationDirectories,
  };
}

/** SQL from the migrations folder's end state to the schema's (empty string when in sync). */
export async function diffMigrationsToSchema(schemaPath: string, migrationsDir: string): Promise<string> {
  const { SchemaEngine } = await loadSchemaEngine();
  const schemaText = await readFile(schemaPath, 'utf8');
  const db = new PGlite('memory://');
  const logs: string[] = [];
  const engine = await SchemaEngine.new(
    { datamodels: [[schemaPath, schemaText]] },
    (msg) => logs.push(msg),
    bindMigrationAwareSqlAdapterFactory(pgliteFactory(db)),
  );
  try {
    const migrations = await readMigrationsList(migrationsDir);
    const result = await engine.diff({
      from: { tag: 'migrations', ...migrations },
      to: { tag: 'schemaDatamodel', files: [{ path: schemaPath, content: schemaText }] },
      script: true,
      exitCode: null,
      filters: { externalTables: [], externalEnums: [] },
    });
    const out = result.stdout ?? '';
    return out.trim() === '-- This is an empty migration.' ? '' : out;
  } finally {
    engine.free();
    await db.close();
  }
}

async function main(): Promise<void> {
  const root = process.cwd();
  const schemaPath = path.join(root, 'prisma/schema.prisma');
  const migrationsDir = path.join(root, 'prisma/migrations');
  const args = process.argv.slice(2);
  const sql = await diffMigrationsToSchema(schemaPath, migrationsDir);
  const createAt = args.indexOf('--create');
  if (createAt >= 0) {
    const name = args[createAt + 1];
    if (!name || !/^[a-z0-9_]+$/.test(name)) throw new Error('--create needs a snake_case name');
    if (!sql) {
      console.error('Schema and migrations are in sync; nothing to create.');
      return;
    }
    const ts = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
    const dir = path.join(migrationsDir, `${ts}_${name}`);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'migration.sql'), sql);
    const lock = path.join(migrationsDir, 'migration_lock.toml');
    if (!(await stat(lock).catch(() => null))) {
      await writeFile(
        lock,
        '# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "postgresql"\n',
      );
    }
    console.error(`Wrote ${path.relative(root, dir)}/migration.sql`);
    return;
  }
  process.stdout.write(sql);
  if (args.includes('--check') && sql) {
    console.error('prisma/schema.prisma and prisma/migrations differ: run `npx tsx scripts/db-diff.ts --create <name>`');
    process.exitCode = 2;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
