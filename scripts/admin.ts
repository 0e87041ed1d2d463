/**
 * Operator commands, run with the server stopped or running elsewhere, against the database the
 * server uses (DATABASE_URL, or PGlite in SPEECHMARK_DATA_DIR; pending migrations are applied):
 *
 *   npm run admin -- create-org --name NAME                 prints the organisation's id
 *   npm run admin -- create-key --org ID [--name NAME] [--scopes ADMIN,SCORES_READ,ASSESS_WRITE]
 *                                 [--expires-in-days N]     prints the secret, once (stdout only)
 *   npm run admin -- revoke-key (--prefix sm_XXXXXXX | --id ID)
 *   npm run admin -- list-keys [--org ID]
 *   npm run admin -- list-orgs
 *   npm run admin -- reassess --org ID (--learner EXTERNAL_ID | --group GROUP | --all)
 *                             [--since ISO_INSTANT] [--only-failed [--failed-with-code C]] [--model-version V]
 *                             [--post-grades] [--send-statements] [--idempotency-key K]
 *                                 queues BULK re-assessment jobs (src/assessment/bulk.ts, the
 *                                 function reassessUtterances calls); prints the operation's id;
 *                                 --post-grades: the new scores replace LTI grades (default: not)
 *                                 --send-statements: the new assessments go to the LRS as xAPI statements (default: not)
 *                                 --only-failed: only utterances whose latest job FAILED (--failed-with-code: with that code)
 *   npm run admin -- bulk-operation --id ID     its status and progress
 *   npm run admin -- cancel-bulk-operation --id ID
 *
 * create-key is also how a lost admin key is recovered. Every change is recorded in the
 * organisation's audit log with actor "cli:<os user>". Exit status: 0 done, 1 failed (e.g. not
 * found), 2 bad arguments.
 */
import { servedModelVersions } from '../src/jobs/heartbeat.js';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/client.js';
import type { PrismaClient } from '../src/generated/prisma/client.js';
import { apiKeyStatus } from '../src/graphql/auth.js';
import { fromGlobalId, toGlobalId } from '../src/graphql/ids.js';
import { isAppError } from '../src/errors.js';
import { cliActor, recordAudit } from '../src/admin/audit.js';
import { issueApiKey, revokeApiKey, validateKeyName, validateScopes } from '../src/admin/keys.js';
import { bulkProgress, bulkStatus, cancelBulkOperation, startBulkReassessment } from '../src/assessment/bulk.js';
import type { BulkOperation } from '../src/generated/prisma/client.js';
import { readManifest } from '../src/inference/bundle.js';

const USAGE = `usage: npm run admin -- <command> [options]
  create-org --name NAME
  create-key --org ID [--name NAME] [--scopes ADMIN,SCORES_READ,ASSESS_WRITE] [--expires-in-days N]
  revoke-key (--prefix PREFIX | --id ID)
  list-keys [--org ID]
  list-orgs
  reassess --org ID (--learner EXTERNAL_ID | --group GROUP | --all) [--since ISO_INSTANT] [--only-failed [--failed-with-code C]] [--model-version V] [--post-grades] [--send-statements] [--idempotency-key K]
  bulk-operation --id ID
  cancel-bulk-operation --id ID`;

/** Bad arguments: exit status 2 with the usage. */
class UsageError extends Error {}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Options = Record<string, { type: 'string' }>;

function parse<T extends Options>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values as { [K in keyof T]?: string };
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function required(value: string | undefined, flag: string): string {
  if (value === undefined || value.trim() === '') throw new UsageError(`${flag} is required.`);
  return value.trim();
}

/** A database id, or the API's global id of the given type. */
function parseId(value: string, type: 'Organization' | 'ApiKey' | 'BulkOperation', flag: string): string {
  if (UUID.test(value)) return value.toLowerCase();
  const global = fromGlobalId(value);
  if (global?.type === type) return global.id;
  throw new UsageError(`${flag} must be an id (a UUID, or the API's ${type} id), got "${value}".`);
}

function date(d: Date | null): string {
  return d ? d.toISOString() : '-';
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

async function organization(prisma: PrismaClient, id: string) {
  const org = await prisma.organization.findUnique({ where: { id } });
  if (!org) throw new Error(`No organisation with id ${id} (npm run admin -- list-orgs).`);
  return org;
}

/**
 * Each command checks its arguments first (bad ones fail before a database is opened, and whether
 * or not one can be) and returns what to run on the database.
 */
type Run = (prisma: PrismaClient) => Promise<void>;

const commands: Record<string, (args: string[]) => Run> = {
  'create-org'(args) {
    const name = required(parse(args, { name: { type: 'string' } }).name, '--name');
    if (name.length > 200) throw new UsageError('--name must be at most 200 characters.');
    return async (prisma) => {
      const actor = cliActor();
      const org = await prisma.$transaction(async (tx) => {
        const org = await tx.organization.create({ data: { name } });
        await recordAudit(tx, {
          organizationId: org.id, actor, action: 'organization.created', targetType: 'Organization', targetId: org.id, details: { name },
        });
        return org;
      });
      console.log(org.id);
    };
  },

  'create-key'(args) {
    const v = parse(args, {
      org: { type: 'string' }, name: { type: 'string' }, scopes: { type: 'string' }, 'expires-in-days': { type: 'string' },
    });
    const organizationId = parseId(required(v.org, '--org'), 'Organization', '--org');
    const scopes = validateScopes((v.scopes ?? 'ADMIN').split(',').map((s) => s.trim().toUpperCase()).filter(Boolean));
    const name = validateKeyName(v.name ?? 'admin (cli)');
    let expiresAt: Date | null = null;
    if (v['expires-in-days'] !== undefined) {
      const days = Number(v['expires-in-days']);
      if (!Number.isFinite(days) || days <= 0) throw new UsageError('--expires-in-days must be a positive number.');
      expiresAt = new Date(Date.now() + days * 86_400_000);
    }
    return async (prisma) => {
      const org = await organization(prisma, organizationId);
      const { key, apiKey } = await issueApiKey(
        prisma, { organizationId, name, scopes, expiresAt }, cliActor(),
      );
      console.error(
        `Created API key ${apiKey.prefix} "${apiKey.name}" (id ${apiKey.id}) for "${org.name}" with scopes ` +
          `${apiKey.scopes.join(',')}${expiresAt ? `, expires ${expiresAt.toISOString()}` : ''}. ` +
          'The key is printed once on stdout; store it now:',
      );
      console.log(key);
    };
  },

  'revoke-key'(args) {
    const v = parse(args, { prefix: { type: 'string' }, id: { type: 'string' } });
    if ((v.prefix === undefined) === (v.id === undefined)) throw new UsageError('Give exactly one of --prefix or --id.');
    const byId = v.id === undefined ? null : parseId(v.id.trim(), 'ApiKey', '--id');
    const prefix = v.id === undefined ? required(v.prefix, '--prefix') : null;
    return async (prisma) => {
      let id: string;
      if (byId) {
        id = byId;
      } else {
        const keys = await prisma.apiKey.findMany({ where: { prefix: prefix! } });
        if (keys.length === 0) throw new Error(`No API key with prefix ${prefix} (npm run admin -- list-keys).`);
        if (keys.length > 1) throw new Error(`${keys.length} API keys have prefix ${prefix}; revoke by --id (${keys.map((k) => k.id).join(', ')}).`);
        id = keys[0]!.id;
      }
      // The operator may revoke any key, an organisation's last admin key included (create-key recovers).
      const { apiKey, changed, activeAdminKeysLeft } = await revokeApiKey(
        prisma, { organizationId: null, id }, cliActor(), { protectLastAdmin: false },
      ).catch((e: unknown) => {
        if (isAppError(e) && e.code === 'NOT_FOUND') throw new Error(`No API key with id ${id}.`);
        throw e;
      });
      console.log(changed
        ? `Revoked API key ${apiKey.prefix} "${apiKey.name}" (id ${apiKey.id}).`
        : `API key ${apiKey.prefix} "${apiKey.name}" was already revoked at ${date(apiKey.revokedAt)}.`);
      if (activeAdminKeysLeft === 0) {
        console.error(
          `warning: organisation ${apiKey.organizationId} has no active ADMIN key left; ` +
            `create one with: npm run admin -- create-key --org ${apiKey.organizationId}`,
        );
      }
    };
  },

  'list-keys'(args) {
    const v = parse(args, { org: { type: 'string' } });
    const organizationId = v.org === undefined ? undefined : parseId(required(v.org, '--org'), 'Organization', '--org');
    return async (prisma) => {
      if (organizationId) await organization(prisma, organizationId);
      const keys = await prisma.apiKey.findMany({
        where: organizationId ? { organizationId } : {},
        orderBy: [{ organizationId: 'asc' }, { createdAt: 'asc' }, { id: 'asc' }],
        // Never the hash.
        select: {
          id: true, organizationId: true, name: true, prefix: true, scopes: true, createdAt: true,
          lastUsedAt: true, expiresAt: true, revokedAt: true,
        },
      });
      const now = new Date();
      console.log(table([
        ['ORGANISATION', 'ID', 'NAME', 'PREFIX', 'SCOPES', 'STATUS', 'CREATED', 'LAST USED', 'EXPIRES', 'REVOKED'],
        ...keys.map((k) => [
          k.organizationId, k.id, k.name, k.prefix, k.scopes.join(','), apiKeyStatus(k, now),
          date(k.createdAt), date(k.lastUsedAt), date(k.expiresAt), date(k.revokedAt),
        ]),
      ]));
    };
  },

  'list-orgs'(args) {
    parse(args, {});
    return async (prisma) => {
      const orgs = await prisma.organization.findMany({
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
        include: { _count: { select: { apiKeys: true, learners: true } } },
      });
      console.log(table([
        ['ID', 'NAME', 'CREATED', 'KEYS', 'LEARNERS'],
        ...orgs.map((o) => [o.id, o.name, date(o.createdAt), String(o._count.apiKeys), String(o._count.learners)]),
      ]));
    };
  },
};

/** One line: the operation's id (as the API's global id too), status and progress. */
async function printBulkOperation(prisma: PrismaClient, op: BulkOperation): Promise<void> {
  const rows = await prisma.job.groupBy({ by: ['status'], where: { bulkOperationId: op.id }, _count: { _all: true } });
  const progress = bulkProgress(op, Object.fromEntries(rows.map((r) => [r.status, r._count._all])));
  const counts = Object.entries(progress).map(([k, v]) => `${k} ${v}`).join(', ');
  console.log(`${op.id} (${toGlobalId('BulkOperation', op.id)}) ${bulkStatus(op, progress)}: ${counts}`);
}

async function bulkOperationOf(prisma: PrismaClient, id: string): Promise<BulkOperation> {
  const op = await prisma.bulkOperation.findUnique({ where: { id } });
  if (!op) throw new Error(`No bulk operation with id ${id}.`);
  return op;
}

Object.assign(commands, {
  reassess(args: string[]): Run {
    const all = args.includes('--all'); // flags without a value
    const postGrades = args.includes('--post-grades');
    const sendStatements = args.includes('--send-statements');
    const onlyFailed = args.includes('--only-failed');
    const flags = ['--all', '--post-grades', '--send-statements', '--only-failed'];
    const v = parse(args.filter((a) => !flags.includes(a)), {
      org: { type: 'string' }, learner: { type: 'string' }, group: { type: 'string' }, 'failed-with-code': { type: 'string' },
      since: { type: 'string' }, 'model-version': { type: 'string' }, 'idempotency-key': { type: 'string' },
    });
    const organizationId = parseId(required(v.org, '--org'), 'Organization', '--org');
    if ([v.learner !== undefined, v.group !== undefined, all].filter(Boolean).length !== 1) {
      throw new UsageError('Give exactly one of --learner, --group or --all.');
    }
    let since: Date | null = null;
    if (v.since !== undefined) {
      since = new Date(v.since);
      if (Number.isNaN(since.getTime())) throw new UsageError(`--since must be an ISO 8601 instant, got "${v.since}".`);
    }
    const modelVersion = v['model-version'] ?? null;
    return async (prisma) => {
      await organization(prisma, organizationId);
      if (modelVersion !== null) {
        // The API's rule (src/assessment/model-version.ts): configured bundles and live workers' versions.
        const config = loadConfig();
        const configured = [config.modelDir, ...config.extraModelDirs].map((dir) => readManifest(dir).version);
        const served = await servedModelVersions(prisma, config.readyWorkerSeconds || 60);
        const known = [...new Set([...configured, ...served])];
        if (!known.includes(modelVersion)) throw new UsageError(`Unknown --model-version "${modelVersion}": known versions are ${known.map((v) => `"${v}"`).join(', ')}.`);
      }
      let learnerId: string | null = null;
      if (v.learner !== undefined) {
        const learner = await prisma.learner.findUnique({ where: { organizationId_externalId: { organizationId, externalId: v.learner } } });
        if (!learner) throw new Error(`No learner with externalId "${v.learner}" in organisation ${organizationId}.`);
        learnerId = learner.id;
      }
      const op = await startBulkReassessment(prisma, {
        organizationId, actor: cliActor(), learnerId, groupExternalId: v.group ?? null, wholeOrganisation: all ? true : null,
        since, onlyFailed, failedWithCode: v['failed-with-code'] ?? null, requestedModelVersion: modelVersion, postGrades, sendStatements, idempotencyKey: v['idempotency-key'] ?? null,
        maxAttempts: loadConfig().jobMaxAttempts,
        // A command line waits until everything is queued (the process ends after it).
        inRequestMs: Infinity,
      });
      await printBulkOperation(prisma, op);
    };
  },

  'bulk-operation'(args: string[]): Run {
    const id = parseId(required(parse(args, { id: { type: 'string' } }).id, '--id'), 'BulkOperation', '--id');
    return async (prisma) => printBulkOperation(prisma, await bulkOperationOf(prisma, id));
  },

  'cancel-bulk-operation'(args: string[]): Run {
    const id = parseId(required(parse(args, { id: { type: 'string' } }).id, '--id'), 'BulkOperation', '--id');
    return async (prisma) => {
      const op = await bulkOperationOf(prisma, id);
      await printBulkOperation(prisma, await cancelBulkOperation(prisma, op.organizationId, op.id, cliActor()));
    };
  },
});

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    (command ? console.log : console.error)(USAGE);
    return command ? 0 : 2;
  }
  const prepare = commands[command];
  if (!prepare) throw new UsageError(`Unknown command "${command}".`);
  const run = prepare(args); // arguments checked before opening (and perhaps creating) a database
  const db = await openDatabase(loadConfig());
  try {
    await run(db.prisma);
  } finally {
    await db.close();
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof UsageError || (isAppError(e) && e.code === 'BAD_USER_INPUT')) {
      console.error(`error: ${e.message}\n${USAGE}`);
      process.exit(2);
    }
    console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
