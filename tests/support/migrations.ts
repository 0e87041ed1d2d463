/** Helpers for tests of one migration: the migrations before it, and rows read through the migration executor. */
import { cp, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defaultMigrationsDir } from '../../src/db/client.js';
import type { MigrationExecutor } from '../../src/db/migrate.js';

export async function rows(exec: MigrationExecutor, sql: string) {
  return exec.withConnection((c) => c.query<Record<string, unknown>>(sql));
}

/** A temporary folder with the migrations before `migration` only (the caller removes it). */
export async function migrationsBefore(migration: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'speechmark-mig-'));
  for (const name of await readdir(defaultMigrationsDir())) {
    if (name < migration || name === 'migration_lock.toml') await cp(path.join(defaultMigrationsDir(), name), path.join(dir, name), { recursive: true });
  }
  return dir;
}
