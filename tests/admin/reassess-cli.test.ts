/**
 * `npm run admin -- reassess | bulk-operation | cancel-bulk-operation` as a child process against a
 * real database (a PGlite folder, or a schema on the PostgreSQL server); the operation it printed
 * is then read over HTTP from the real server on that same database.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../src/config.js';
import { startSpeechmark } from '../../src/app.js';
import { openDatabase } from '../../src/db/client.js';
import { createApiKey } from '../../src/graphql/auth.js';
import { testDatabases } from '../support/app.js';
import { GqlClient } from '../support/client.js';
import { dropTestSchema, TEST_POSTGRES_URL } from '../support/db.js';

const DATABASES = await testDatabases();
const TSX = path.resolve('node_modules/.bin/tsx');

describe.each(DATABASES)('npm run admin -- reassess on %s', (kind) => {
  let tmp: string;
  let schema: string;
  let env: NodeJS.ProcessEnv;
  let config: Config;
  let orgId: string;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'speechmark-bulk-cli-'));
    schema = `sm_bulk_cli_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
    const databaseUrl = kind === 'postgres' ? `${TEST_POSTGRES_URL}?schema=${schema}` : undefined;
    env = { ...process.env, SPEECHMARK_DATA_DIR: tmp };
    delete env.NODE_OPTIONS;
    delete env.DATABASE_URL;
    if (databaseUrl) env.DATABASE_URL = databaseUrl;
    config = {
      ...loadConfig({}), port: 0, dataDir: tmp, databaseUrl, audioDir: path.join(tmp, 'audio'),
      executionProviders: ['cpu'], inProcessWorker: false,
    };
    // An organisation with learner "ana" (4 utterances, group class-1) and "ben" (2, no group).
    const db = await openDatabase(config);
    try {
      const org = await db.prisma.organization.create({ data: { name: 'cli bulk' } });
      orgId = org.id;
      for (const [externalId, n, groups] of [['ana', 4, ['class-1']], ['ben', 2, []]] as const) {
        const learner = await db.prisma.learner.create({ data: { organizationId: org.id, externalId, groups: [...groups] } });
        for (let i = 0; i < n; i++) {
          await db.prisma.utterance.create({
            data: {
              organizationId: org.id, learnerId: learner.id, referenceText: 'HI', referenceWords: [], audioSha256: 'c'.repeat(64),
              audioFormat: 'wav', audioBytes: 1, durationMs: 1000, sourceSampleRate: 16000, sourceChannels: 1, speechMs: 900,
            },
          });
        }
      }
    } finally {
      await db.close();
    }
  });
  afterAll(async () => {
    if (kind === 'postgres') await dropTestSchema(schema);
    await rm(tmp, { recursive: true, force: true });
  });

  const cli = (...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(TSX, ['scripts/admin.ts', ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
      });
    });

  test('bad arguments exit 2 before the database is opened; an unknown learner exits 1', async () => {
    const none = await cli('reassess', '--org', orgId);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Give exactly one of --learner, --group or --all.');
    const two = await cli('reassess', '--org', orgId, '--all', '--group', 'x');
    expect(two.code).toBe(2);
    const since = await cli('reassess', '--org', orgId, '--all', '--since', 'yesterday');
    expect(since.code).toBe(2);
    expect(since.stderr).toContain('--since must be an ISO 8601 instant');
    const ghost = await cli('reassess', '--org', orgId, '--learner', 'nobody');
    expect(ghost.code).toBe(1);
    expect(ghost.stderr).toContain('No learner with externalId "nobody"');
  }, 120_000);

  test('reassess queues BULK jobs, bulk-operation reports them, the API shows the same operation, cancel removes them', async () => {
    const group = await cli('reassess', '--org', orgId, '--group', 'class-1');
    expect(group.stderr).toBe('');
    expect(group.code).toBe(0);
    expect(group.stdout).toMatch(/ RUNNING: total 4, queued 4, running 0, succeeded 0, failed 0, cancelled 0\n$/);
    const [, id, globalId] = /^([0-9a-f-]{36}) \(([^)]+)\)/.exec(group.stdout)!;

    const all = await cli('reassess', '--org', orgId, '--all', '--post-grades', '--send-statements');
    expect(all.stdout).toContain('total 6, queued 6');
    const [, allId] = /^([0-9a-f-]{36}) /.exec(all.stdout)!;

    const shown = await cli('bulk-operation', '--id', globalId!);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toBe(group.stdout);

    const app = await startSpeechmark(config, { host: '127.0.0.1' });
    try {
      const { key } = await createApiKey(app.services.prisma, orgId, 'bulk', ['SCORES_READ']);
      const res = await new GqlClient(app.url, key).request(`query($id: ID!) { bulkOperation(id: $id) { status groupExternalId progress { total queued } } }`, { id: globalId });
      expect(res.data.bulkOperation).toEqual({ status: 'RUNNING', groupExternalId: 'class-1', progress: { total: 4, queued: 4 } });
      const jobs = await app.services.prisma.job.findMany({ where: { bulkOperationId: id } });
      expect(jobs).toHaveLength(4);
      expect(jobs.every((j) => j.priority === 'BULK')).toBe(true);
    } finally {
      await app.close();
    }

    const cancelled = await cli('cancel-bulk-operation', '--id', id!);
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toMatch(/ CANCELLED: total 4, queued 0, running 0, succeeded 0, failed 0, cancelled 4\n$/);

    // Each start and the cancel are in the audit log as the operator's; --post-grades and --send-statements were kept.
    const again = await startSpeechmark(config, { host: '127.0.0.1' });
    try {
      const prisma = again.services.prisma;
      expect(await prisma.bulkOperation.findUniqueOrThrow({ where: { id: allId } })).toMatchObject({ postGrades: true, sendStatements: true });
      expect(await prisma.bulkOperation.findUniqueOrThrow({ where: { id } })).toMatchObject({ postGrades: false, sendStatements: false });
      const events = await prisma.auditEvent.findMany({ where: { targetType: 'BulkOperation' }, orderBy: { createdAt: 'asc' } });
      expect(events.map((e) => [e.action, e.targetId, e.actorApiKeyId, e.actor.startsWith('cli:')])).toEqual([
        ['bulkOperation.started', id, null, true],
        ['bulkOperation.started', allId, null, true],
        ['bulkOperation.cancelled', id, null, true],
      ]);
    } finally {
      await again.close();
    }

    // After an incident: only what failed, with the code given. Nothing here failed, so nothing is queued.
    const failed = await cli('reassess', '--org', orgId, '--all', '--only-failed', '--failed-with-code', 'LEASE_EXPIRED');
    expect(failed.stderr).toBe('');
    expect(failed.code).toBe(0);
    expect(failed.stdout).toMatch(/total 0, queued 0/);
    const [, failedId] = /^([0-9a-f-]{36}) /.exec(failed.stdout)!;
    const third = await startSpeechmark(config, { host: '127.0.0.1' });
    try {
      expect(await third.services.prisma.bulkOperation.findUniqueOrThrow({ where: { id: failedId } })).toMatchObject({ onlyFailed: true, failedWithCode: 'LEASE_EXPIRED' });
    } finally {
      await third.close();
    }
  }, 240_000);
});
