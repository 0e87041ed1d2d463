/**
 * `npm run admin` (scripts/admin.ts) as a child process against a real database (a PGlite folder,
 * or a schema on the PostgreSQL server), then the keys it printed used over HTTP by the real server
 * started on that same database.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../src/config.js';
import { startSpeechmark, type Speechmark } from '../../src/app.js';
import { testDatabases } from '../support/app.js';
import { GqlClient, errorCode } from '../support/client.js';
import { dropTestSchema, TEST_POSTGRES_URL } from '../support/db.js';

const DATABASES = await testDatabases();
const TSX = path.resolve('node_modules/.bin/tsx');
const ACTOR = `cli:${os.userInfo().username}`;

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

describe.each(DATABASES)('npm run admin on %s', (kind) => {
  let tmp: string;
  let schema: string;
  let env: NodeJS.ProcessEnv;
  let config: Config;
  let app: Speechmark | null = null;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'speechmark-cli-'));
    schema = `sm_cli_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
    const databaseUrl = kind === 'postgres' ? `${TEST_POSTGRES_URL}?schema=${schema}` : undefined;
    env = { ...process.env, SPEECHMARK_DATA_DIR: tmp };
    delete env.NODE_OPTIONS; // jest's --experimental-vm-modules is not for the child
    delete env.DATABASE_URL;
    if (databaseUrl) env.DATABASE_URL = databaseUrl;
    config = {
      ...loadConfig({}), port: 0, dataDir: tmp, databaseUrl, audioDir: path.join(tmp, 'audio'),
      executionProviders: ['cpu'], inProcessWorker: false,
    };
  });
  afterAll(async () => {
    await app?.close();
    if (kind === 'postgres') await dropTestSchema(schema);
    await rm(tmp, { recursive: true, force: true });
  });

  const cli = (...args: string[]) =>
    new Promise<CliResult>((resolve) => {
      execFile(TSX, ['scripts/admin.ts', ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      });
    });

  async function start() {
    app = await startSpeechmark(config, { host: '127.0.0.1' });
    return app;
  }
  async function stop() {
    await app?.close();
    app = null;
  }

  let orgId: string;
  let adminKey: string;
  let readerKey: string;

  test('bad arguments: a clear message and a non-zero exit status, before any database is touched', async () => {
    const missing = await cli('create-key');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('error: --org is required.');
    expect(missing.stderr).toContain('usage: npm run admin');
    const unknown = await cli('make-coffee');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Unknown command "make-coffee"');
    const flag = await cli('list-orgs', '--verbose');
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/Unknown option '--verbose'/);
    const noOrg = await cli('create-key', '--org', '5d2f6c7e-0000-4000-8000-000000000000');
    expect(noOrg.code).toBe(1);
    expect(noOrg.stderr).toContain('No organisation with id 5d2f6c7e-0000-4000-8000-000000000000');
  });

  test('create-org prints the id; create-key prints the secret once; list-keys and list-orgs show no secret or hash', async () => {
    const org = await cli('create-org', '--name', 'Acme Learning');
    expect(org).toMatchObject({ code: 0 });
    orgId = org.stdout.trim();
    expect(orgId).toMatch(/^[0-9a-f-]{36}$/);

    const badScope = await cli('create-key', '--org', orgId, '--scopes', 'ADMIN,EVERYTHING');
    expect(badScope.code).toBe(2);
    expect(badScope.stderr).toContain('Unknown scope "EVERYTHING"');
    // An expiry past year 9999 was stored, then could not be read back (the key list failed).
    const farOff = await cli('create-key', '--org', orgId, '--expires-in-days', '3000000');
    expect(farOff.code).toBe(2);
    expect(farOff.stderr).toContain('expiresAt must be an instant from');

    const admin = await cli('create-key', '--org', orgId, '--name', 'ops');
    expect(admin.code).toBe(0);
    adminKey = admin.stdout.trim();
    expect(adminKey).toMatch(/^sm_[A-Za-z0-9_-]{32}$/);
    expect(admin.stderr).toContain(`Created API key ${adminKey.slice(0, 10)} "ops"`);
    const reader = await cli('create-key', '--org', orgId, '--name', 'lms', '--scopes', 'scores_read,assess_write', '--expires-in-days', '30');
    expect(reader.code).toBe(0);
    readerKey = reader.stdout.trim();

    const keys = await cli('list-keys', '--org', orgId);
    expect(keys.code).toBe(0);
    const lines = keys.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ORGANISATION\s+ID\s+NAME\s+PREFIX\s+SCOPES\s+STATUS\s+CREATED\s+LAST USED\s+EXPIRES\s+REVOKED$/);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(new RegExp(`ops\\s+${adminKey.slice(0, 10)}\\s+ADMIN\\s+ACTIVE\\s+\\S+\\s+-\\s+-\\s+-$`));
    expect(lines[2]).toMatch(new RegExp(`lms\\s+${readerKey.slice(0, 10)}\\s+SCORES_READ,ASSESS_WRITE\\s+ACTIVE\\s+\\S+\\s+-\\s+20\\d\\d-`));
    for (const key of [adminKey, readerKey]) {
      expect(keys.stdout).not.toContain(key);
      expect(keys.stdout).not.toContain(createHash('sha256').update(key).digest('hex'));
    }
    const orgs = await cli('list-orgs');
    expect(orgs.code).toBe(0);
    expect(orgs.stdout).toMatch(new RegExp(`${orgId}\\s+Acme Learning\\s+\\S+\\s+2\\s+0`));
  });

  test('the server on the same database accepts the keys; the audit log names the operator', async () => {
    const server = await start();
    expect(server.adminKey).toBeNull(); // the organisation exists: no bootstrap key
    const admin = new GqlClient(server.url, adminKey);
    const viewer = await admin.request(`{ viewer { scopes organization { name } } }`);
    expect(viewer.data.viewer).toEqual({ scopes: ['ADMIN'], organization: { name: 'Acme Learning' } });
    const reader = new GqlClient(server.url, readerKey);
    expect((await reader.request(`{ viewer { scopes } }`)).data.viewer.scopes).toEqual(['SCORES_READ', 'ASSESS_WRITE']);
    expect(errorCode(await reader.request(`{ apiKeys { edges { node { id } } } }`))).toBe('FORBIDDEN');

    const events = (await admin.request(`{ auditEvents { edges { node { action actor actorApiKeyId targetType details } } } }`)).data
      .auditEvents.edges.map((e: any) => e.node);
    expect(events).toEqual([
      { action: 'apiKey.created', actor: ACTOR, actorApiKeyId: null, targetType: 'ApiKey',
        details: expect.objectContaining({ name: 'lms', scopes: ['SCORES_READ', 'ASSESS_WRITE'] }) },
      { action: 'apiKey.created', actor: ACTOR, actorApiKeyId: null, targetType: 'ApiKey',
        details: expect.objectContaining({ name: 'ops', scopes: ['ADMIN'], expiresAt: null }) },
      { action: 'organization.created', actor: ACTOR, actorApiKeyId: null, targetType: 'Organization', details: { name: 'Acme Learning' } },
    ]);

    if (kind === 'pglite') {
      // One process per PGlite folder: the CLI refuses clearly while the server runs.
      const busy = await cli('list-keys');
      expect(busy.code).toBe(1);
      expect(busy.stderr).toMatch(/in use by process/);
    } else {
      // A PostgreSQL server is shared: the CLI works while the server runs.
      const keys = await cli('list-keys');
      expect(keys.code).toBe(0);
    }
  });

  test('a lost admin key: revoke it by prefix, create a new one; the server honours both', async () => {
    if (kind === 'pglite') await stop();
    const revoked = await cli('revoke-key', '--prefix', adminKey.slice(0, 10));
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain(`Revoked API key ${adminKey.slice(0, 10)} "ops"`);
    expect(revoked.stderr).toContain(`warning: organisation ${orgId} has no active ADMIN key left`);
    const twice = await cli('revoke-key', '--prefix', adminKey.slice(0, 10));
    expect(twice.code).toBe(0);
    expect(twice.stdout).toContain('was already revoked');
    const recovered = await cli('create-key', '--org', orgId, '--name', 'ops (recovered)');
    expect(recovered.code).toBe(0);
    const newKey = recovered.stdout.trim();
    const keys = await cli('list-keys', '--org', orgId);
    expect(keys.stdout).toMatch(new RegExp(`${adminKey.slice(0, 10)}\\s+ADMIN\\s+REVOKED`));
    expect(keys.stdout).toMatch(/LAST USED/);

    const server = app ?? (await start());
    const old = await new GqlClient(server.url, adminKey).request(`{ viewer { scopes } }`);
    expect(old.status).toBe(401);
    expect(errorCode(old)).toBe('UNAUTHENTICATED');
    const admin = new GqlClient(server.url, newKey);
    const listed = await admin.request(`{ apiKeys(includeRevoked: true) { edges { node { name status lastUsedAt } } } }`);
    expect(listed.data.apiKeys.edges.map((e: any) => [e.node.name, e.node.status])).toEqual([
      ['ops (recovered)', 'ACTIVE'], ['lms', 'ACTIVE'], ['ops', 'REVOKED'],
    ]);
    // The first admin key was used over HTTP before it was revoked.
    expect(listed.data.apiKeys.edges[2].node.lastUsedAt).not.toBeNull();
    const revokedEvent = (await admin.request(`{ auditEvents(action: "apiKey.revoked") { edges { node { actor details } } } }`)).data
      .auditEvents.edges;
    expect(revokedEvent).toEqual([{ node: { actor: ACTOR, details: { name: 'ops', prefix: adminKey.slice(0, 10), scopes: ['ADMIN'] } } }]);
    const bad = await cli('revoke-key', '--prefix', 'x', '--id', 'y');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Give exactly one of --prefix or --id.');
  });
});
