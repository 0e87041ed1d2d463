import path from 'node:path';
import { readManifest } from './inference/bundle.js';
import { LOG_LEVELS, type LogLevel } from './ops/log.js';

/** The longest audio retention in days (a hundred years: "keep", written out); the database's CHECK says the same. */
export const MAX_AUDIO_RETENTION_DAYS = 36_500;

/** Every setting, read once from the environment; the defaults run with no configuration at all. */
export interface Config {
  port: number;
  /** PostgreSQL connection string; empty means the embedded PGlite database in `dataDir`. */
  databaseUrl: string | undefined;
  dataDir: string;
  audioDir: string;
  modelDir: string;
  /**
   * More model bundles a worker serves beside `modelDir` (SPEECHMARK_EXTRA_MODEL_DIRS, comma-separated
   * paths): jobs that ask for one of their versions run on it; jobs that ask for none on `modelDir`'s.
   */
  extraModelDirs: string[];
  /** onnxruntime execution providers, in order of preference. */
  executionProviders: string[];
  maxUploadBytes: number;
  maxAudioSeconds: number;
  minAudioSeconds: number;
  /** Threads running voice-activity detection for uploads, off the thread that serves HTTP (at most; started on use). */
  vadThreads: number;
  /** Recordings one voice-activity thread runs together, one batch row each, in one session call. */
  vadMaxBatch: number;
  /** Run the inference worker inside the API process. */
  inProcessWorker: boolean;
  /**
   * Each model bundle in a worker thread of its own (SPEECHMARK_INFERENCE_THREAD, on by default):
   * model runs and feature code off the thread that serves HTTP and writes results. Off: on that thread.
   */
  inferenceThread: boolean;
  /**
   * Threads serving the default bundle, each with its own sessions (SPEECHMARK_MODEL_THREADS): one
   * thread's feature code runs while another's model runs, which a single thread cannot overlap.
   */
  modelThreads: number;
  workerConcurrency: number;
  /** Dynamic batching of acoustic runs (src/inference/batcher.ts): most requests per run; 1 = off. */
  batchSize: number;
  /** How long a request waits for others to fill its batch, in milliseconds. */
  batchWaitMs: number;
  jobLeaseSeconds: number;
  jobMaxAttempts: number;
  /** An attempt still running after this long is given up (transient: retried while attempts last). */
  jobMaxAttemptSeconds: number;
  /** How long reassessUtterances queues batches before returning (the rest in the background). */
  bulkEnqueueInRequestMs: number;
  /** On SIGTERM/SIGINT a worker waits this long for its running jobs, then hands them back to the queue (seconds). */
  shutdownGraceSeconds: number;
  /** PostgreSQL only: connections in the pool (requests beyond it queue for a free one). */
  dbPoolSize: number;
  /** How long a transaction may wait for a connection before its start is retried (ms). */
  dbTransactionMaxWaitMs: number;
  /** A transaction running longer than this is rolled back (ms). */
  dbTransactionTimeoutMs: number;
  /** Development mode: stack traces in error responses. Never set it on a server others can reach. */
  dev: boolean;
  /** Schema introspection (and "Did you mean" field suggestions, which leak the schema the same way). */
  introspection: boolean;
  /** Query limits, checked before anything runs (src/graphql/limits.ts); a refusal is QUERY_TOO_COMPLEX. */
  maxQueryChars: number;
  maxQueryTokens: number;
  maxQueryDepth: number;
  maxQueryCost: number;
  maxQueryAliases: number;
  maxQueryDirectives: number;
  maxMutationFields: number;
  /** Requests per API key per minute (token bucket, per process); 0 turns the limit off. */
  rateLimitPerMinute: number;
  /** WebSocket (subscriptions): open connections per API process; beyond, a new one is closed with 1013. */
  wsMaxConnections: number;
  /** WebSocket: open connections per API key per API process; beyond, a new one is closed with 1013 (Try Again Later). */
  wsMaxConnectionsPerKey: number;
  /** WebSocket: active subscriptions per API key per API process; beyond, a subscribe gets RATE_LIMITED. */
  wsMaxSubscriptionsPerKey: number;
  /** WebSocket: how often each connected key is authenticated again (ms); a key no longer valid has its sockets closed with 4401. */
  wsKeyCheckMs: number;
  /** PostgreSQL LISTEN connection: first reconnect delay after it drops (ms), doubling up to 10 s. */
  listenReconnectMs: number;
  /** What one multipart upload request costs against `rateLimitPerMinute`. */
  rateLimitUploadCost: number;
  /** Failed authentications per client IP per minute before that IP is refused; 0 turns it off. */
  authFailuresPerMinute: number;
  /**
   * How long a verified API key is reused before it is read from the database again (ms; 0: every
   * request). Revocation through this process is immediate; through another one, within this time.
   */
  apiKeyCacheMs: number;
  /** Browser origins allowed to call the API (CORS); empty means no cross-origin access. */
  corsOrigins: string[];
  /** Express `trust proxy`: which proxies' X-Forwarded-For to believe for the client IP. */
  trustProxy: boolean | number | string;
  /** Run a delivery worker (outbox: webhooks) in this process. */
  deliveryWorker: boolean;
  /** Deliveries one delivery worker sends at once. */
  deliveryConcurrency: number;
  /** Webhooks: one request (connect, send, answer) may take this long (ms). */
  webhookTimeoutMs: number;
  /** Webhooks: largest body sent (bytes); an assessment that would be larger is sent without its words. */
  webhookMaxPayloadBytes: number;
  /** Webhooks: attempts per delivery (the first included). */
  webhookMaxAttempts: number;
  /** Webhooks: the first retry's delay (ms); each next one is 3 times longer, up to the cap. */
  webhookBackoffBaseMs: number;
  webhookBackoffCapMs: number;
  /**
   * Webhooks: private, loopback, link-local and other non-public addresses are refused unless listed
   * here (CIDRs or addresses), or `true` for all of them (SSRF protection).
   */
  webhookAllowedPrivateNetworks: string[] | true;
  /** Webhooks: allow http:// endpoint URLs (https only by default). */
  webhookAllowHttp: boolean;
  /** Webhooks: endpoints per organisation (every event is fanned out to each). */
  webhookMaxEndpoints: number;
  /** Webhooks: an endpoint whose every attempt failed for this many days is disabled (0: never). */
  webhookDisableAfterFailingDays: number;
  /** Outbox events (and their deliveries) older than this many days are deleted once settled. */
  outboxRetentionDays: number;
  /** Days a recording's audio is kept where the organisation set none (0: for ever; src/assessment/audio-retention.ts). */
  audioRetentionDays: number;
  /** Seconds between audio retention sweeps (0: none). */
  audioRetentionSweepSeconds: number;
  /**
   * PGlite has no autovacuum: every this many seconds the server VACUUMs or ANALYZEs the tables
   * autovacuum would (src/db/maintenance.ts); 0 turns it off. Unused with a PostgreSQL server.
   */
  pgliteMaintenanceSeconds: number;
  // --- xAPI (src/xapi/) ---
  xapi: XapiConfig;
  // --- Operations (src/ops/) ---
  /** How often a worker with nothing to do looks for jobs (ms); PostgreSQL NOTIFY wakes it sooner. */
  workerPollMs: number;
  /** How often a worker writes its heartbeat row (seconds). */
  workerHeartbeatSeconds: number;
  /** /readyz: a worker must have been seen within this many seconds; 0 leaves workers out of readiness. */
  readyWorkerSeconds: number;
  /** Log level: debug, info, warn, error or silent. */
  logLevel: LogLevel;
  /** /metrics on the API port needs `Authorization: Bearer <token>`; null: not served there. */
  metricsToken: string | null;
  /**
   * The secret that signs audio playback URLs (src/http/audio-url.ts); null: one generated and kept
   * in the audio folder, which every API process serving that folder shares.
   */
  urlSigningSecret: string | null;
  /** /metrics, without a token, on its own listener at this port (null: none); API and worker processes alike. */
  metricsPort: number | null;
  /** Address of that listener (default loopback: keep it off networks you do not trust). */
  metricsHost: string;
}

/**
 * Settings that only a process running a job worker must get right. A batch forms from the jobs one
 * model thread has in hand (the worker's jobs shared among its model threads), so a bigger one can
 * never fill, and every acoustic run would wait SPEECHMARK_BATCH_WAIT_MS for rows that cannot come;
 * a model thread beyond the worker's concurrency would never get a job.
 */
export function workerProblems(config: Pick<Config, 'batchSize' | 'workerConcurrency' | 'modelThreads' | 'inferenceThread'>): string[] {
  const problems: string[] = [];
  if (config.modelThreads > 1 && !config.inferenceThread) {
    problems.push(`SPEECHMARK_MODEL_THREADS (${config.modelThreads}) needs SPEECHMARK_INFERENCE_THREAD=true: with it off the model runs on the thread that serves HTTP, and there is only one of those`);
  }
  if (config.modelThreads > config.workerConcurrency) {
    problems.push(`SPEECHMARK_MODEL_THREADS (${config.modelThreads}) must be at most SPEECHMARK_WORKER_CONCURRENCY (${config.workerConcurrency}): each model thread runs the jobs the worker has in hand, and a thread beyond them would never get one`);
  }
  const perThread = Math.floor(config.workerConcurrency / config.modelThreads);
  if (config.batchSize > 1 && config.batchSize > perThread) {
    problems.push(
      config.modelThreads === 1
        ? `SPEECHMARK_BATCH_SIZE (${config.batchSize}) must be at most SPEECHMARK_WORKER_CONCURRENCY (${config.workerConcurrency}): a batch is formed from the jobs one worker has in hand`
        : `SPEECHMARK_BATCH_SIZE (${config.batchSize}) must be at most SPEECHMARK_WORKER_CONCURRENCY / SPEECHMARK_MODEL_THREADS (${config.workerConcurrency} / ${config.modelThreads}, so ${perThread}): a batch is formed from the jobs one model thread has in hand`,
    );
  }
  return problems;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** xAPI statements (src/xapi/): where their IRIs live, whose accounts they name, and the optional LRS. */
export interface XapiConfig {
  /** Base of the IRIs speechmark owns in statements (activities, extensions), without a trailing slash. */
  iriBase: string;
  /** `actor.account.homePage`: the LMS whose user ids are the learners' externalIds. */
  accountHomePage: string;
  /** Learning Record Store to send statements to; null sends nothing. The password never leaves the server. */
  lrs: { endpoint: string; username: string; password: string } | null;
}

export const DEFAULT_XAPI_IRI_BASE = 'https://speechmark.dev/xapi';

function absoluteUrl(name: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`${name} must be an absolute http(s) URL, got "${raw}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`${name} must be an http(s) URL, got "${raw}"`);
  return raw.replace(/\/+$/, '');
}

function xapiConfig(env: NodeJS.ProcessEnv): XapiConfig {
  const iriBase = absoluteUrl('SPEECHMARK_XAPI_IRI_BASE', env.SPEECHMARK_XAPI_IRI_BASE || DEFAULT_XAPI_IRI_BASE);
  const accountHomePage = absoluteUrl('SPEECHMARK_XAPI_ACCOUNT_HOME_PAGE', env.SPEECHMARK_XAPI_ACCOUNT_HOME_PAGE || `${iriBase}/lms`);
  const endpoint = env.SPEECHMARK_XAPI_LRS_ENDPOINT;
  if (!endpoint) return { iriBase, accountHomePage, lrs: null };
  const username = env.SPEECHMARK_XAPI_LRS_USERNAME ?? '';
  const password = env.SPEECHMARK_XAPI_LRS_PASSWORD ?? '';
  if (!username) throw new Error('SPEECHMARK_XAPI_LRS_ENDPOINT needs SPEECHMARK_XAPI_LRS_USERNAME (and _PASSWORD): an LRS takes Basic auth');
  return { iriBase, accountHomePage, lrs: { endpoint: absoluteUrl('SPEECHMARK_XAPI_LRS_ENDPOINT', endpoint), username, password } };
}

function int(name: string, fallback: number, env: NodeJS.ProcessEnv, range: { min?: number; max?: number; integer?: boolean } = {}): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw.trim());
  if (raw.trim() === '' || !Number.isFinite(value)) throw new Error(`${name} must be a number, got "${raw}"`);
  if (range.integer && !Number.isInteger(value)) throw new Error(`${name} must be a whole number, got "${raw}"`);
  if (range.min !== undefined && value < range.min) throw new Error(`${name} must be at least ${range.min}, got "${raw}"`);
  if (range.max !== undefined && value > range.max) throw new Error(`${name} must be at most ${range.max}, got "${raw}"`);
  return value;
}

const COUNT = { min: 1, integer: true };
const NON_NEGATIVE = { min: 0 };
const POSITIVE = { min: Number.MIN_VALUE };

function oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T, env: NodeJS.ProcessEnv): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if ((allowed as readonly string[]).includes(raw)) return raw as T;
  throw new Error(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
}

function postgresUrl(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  let protocol: string;
  try {
    protocol = new URL(raw).protocol;
  } catch {
    throw new Error('DATABASE_URL must be a postgresql:// URL (it is not a URL)');
  }
  if (protocol !== 'postgresql:' && protocol !== 'postgres:') throw new Error(`DATABASE_URL must be a postgresql:// URL, got a ${protocol} URL`);
  return raw;
}

/** 1/true/yes/on and 0/false/no/off; anything else is a configuration error. */
function flag(name: string, env: NodeJS.ProcessEnv, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new Error(`${name} must be true or false, got "${raw}"`);
}

function trustProxy(raw: string | undefined): boolean | number | string {
  if (raw === undefined || raw === '' || /^(0|false|no|off)$/i.test(raw)) return false;
  if (/^(true|yes|on)$/i.test(raw)) return true;
  if (/^\d+$/.test(raw)) return Number(raw);
  return raw; // addresses or subnets, comma-separated, as Express takes them
}

function networks(raw: string | undefined): string[] | true {
  if (raw === undefined || raw === '' || /^(0|false|no|off)$/i.test(raw)) return [];
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  return raw.split(',').map((s) => s.trim()).filter(Boolean);
}

/**
 * The configuration from `env`. Every setting is checked, and all problems are reported together
 * (ConfigError, one line each), so an operator fixes a bad deployment in one round.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const check = <T>(read: () => T, fallback: T): T => {
    try {
      return read();
    } catch (e) {
      problems.push(...(e as Error).message.split('\n')); // one line per problem
      return fallback;
    }
  };
  const num = (name: string, fallback: number, range?: Parameters<typeof int>[3]) => check(() => int(name, fallback, env, range), fallback);
  const bool = (name: string, fallback: boolean) => check(() => flag(name, env, fallback), fallback);
  const dataDir = path.resolve(env.SPEECHMARK_DATA_DIR ?? 'data');
  const metricsPort = env.SPEECHMARK_METRICS_PORT ? num('SPEECHMARK_METRICS_PORT', 0, { min: 0, max: 65535, integer: true }) : null;
  const config: Config = {
    port: num('PORT', 4000, { min: 0, max: 65535, integer: true }),
    databaseUrl: check(() => postgresUrl(env.DATABASE_URL), undefined),
    dataDir,
    audioDir: path.resolve(env.SPEECHMARK_AUDIO_DIR ?? path.join(dataDir, 'audio')),
    modelDir: path.resolve(env.SPEECHMARK_MODEL_DIR ?? 'models/default'),
    extraModelDirs: check(() => extraModelDirs(env), []),
    executionProviders: check(() => providers(env.SPEECHMARK_EXECUTION_PROVIDERS), ['cpu']),
    maxUploadBytes: num('SPEECHMARK_MAX_UPLOAD_BYTES', 20 * 1024 * 1024, COUNT),
    maxAudioSeconds: num('SPEECHMARK_MAX_AUDIO_SECONDS', 60, POSITIVE),
    minAudioSeconds: num('SPEECHMARK_MIN_AUDIO_SECONDS', 0.3, NON_NEGATIVE),
    vadThreads: num('SPEECHMARK_VAD_THREADS', 1, COUNT),
    vadMaxBatch: num('SPEECHMARK_VAD_MAX_BATCH', 32, COUNT),
    inProcessWorker: check(() => oneOf('SPEECHMARK_WORKER', ['in-process', 'none'], 'in-process', env), 'in-process') === 'in-process',
    inferenceThread: bool('SPEECHMARK_INFERENCE_THREAD', true),
    modelThreads: num('SPEECHMARK_MODEL_THREADS', 1, { min: 1, max: 64, integer: true }),
    workerConcurrency: num('SPEECHMARK_WORKER_CONCURRENCY', 1, COUNT),
    batchSize: num('SPEECHMARK_BATCH_SIZE', 1, { min: 1, max: 64, integer: true }),
    batchWaitMs: num('SPEECHMARK_BATCH_WAIT_MS', 5, { min: 0, max: 1000 }),
    jobLeaseSeconds: num('SPEECHMARK_JOB_LEASE_SECONDS', 60, POSITIVE),
    jobMaxAttempts: num('SPEECHMARK_JOB_MAX_ATTEMPTS', 3, COUNT),
    jobMaxAttemptSeconds: num('SPEECHMARK_JOB_MAX_ATTEMPT_SECONDS', 600, POSITIVE),
    bulkEnqueueInRequestMs: num('SPEECHMARK_BULK_ENQUEUE_IN_REQUEST_MS', 2_000, { min: 0, max: 60_000 }),
    shutdownGraceSeconds: num('SPEECHMARK_SHUTDOWN_GRACE_SECONDS', 10, NON_NEGATIVE),
    dbPoolSize: num('SPEECHMARK_DB_POOL_SIZE', 10, COUNT),
    dbTransactionMaxWaitMs: num('SPEECHMARK_DB_TX_MAX_WAIT_MS', 10_000, POSITIVE),
    dbTransactionTimeoutMs: num('SPEECHMARK_DB_TX_TIMEOUT_MS', 15_000, POSITIVE),
    dev: bool('SPEECHMARK_DEV', false),
    introspection: bool('SPEECHMARK_INTROSPECTION', true),
    maxQueryChars: num('SPEECHMARK_MAX_QUERY_CHARS', 20_000, COUNT),
    maxQueryTokens: num('SPEECHMARK_MAX_QUERY_TOKENS', 2_000, COUNT),
    maxQueryDepth: num('SPEECHMARK_MAX_QUERY_DEPTH', 15, COUNT),
    maxQueryCost: num('SPEECHMARK_MAX_QUERY_COST', 50_000, COUNT),
    maxQueryAliases: num('SPEECHMARK_MAX_QUERY_ALIASES', 30, NON_NEGATIVE),
    maxQueryDirectives: num('SPEECHMARK_MAX_QUERY_DIRECTIVES', 20, NON_NEGATIVE),
    maxMutationFields: num('SPEECHMARK_MAX_MUTATION_FIELDS', 10, COUNT),
    rateLimitPerMinute: num('SPEECHMARK_RATE_LIMIT_PER_MINUTE', 600, NON_NEGATIVE),
    wsMaxConnections: num('SPEECHMARK_WS_MAX_CONNECTIONS', 2000, COUNT),
    wsMaxConnectionsPerKey: num('SPEECHMARK_WS_MAX_CONNECTIONS_PER_KEY', 50, COUNT),
    wsKeyCheckMs: num('SPEECHMARK_WS_KEY_CHECK_MS', 30_000, { min: 100, max: 3_600_000, integer: true }), // a timer's range; a check a few times a second at most
    wsMaxSubscriptionsPerKey: num('SPEECHMARK_WS_MAX_SUBSCRIPTIONS_PER_KEY', 200, COUNT),
    listenReconnectMs: num('SPEECHMARK_LISTEN_RECONNECT_MS', 500, POSITIVE),
    rateLimitUploadCost: num('SPEECHMARK_RATE_LIMIT_UPLOAD_COST', 5, NON_NEGATIVE),
    authFailuresPerMinute: num('SPEECHMARK_AUTH_FAILURES_PER_MINUTE', 30, NON_NEGATIVE),
    // At most a minute: a revoked key must stop working within seconds everywhere (issue 14).
    apiKeyCacheMs: num('SPEECHMARK_API_KEY_CACHE_MS', 5_000, { min: 0, max: 60_000 }),
    corsOrigins: (env.SPEECHMARK_CORS_ORIGINS ?? '').split(',').map((s) => s.trim().replace(/\/+$/, '')).filter(Boolean),
    trustProxy: trustProxy(env.SPEECHMARK_TRUST_PROXY),
    xapi: check(() => xapiConfig(env), { iriBase: DEFAULT_XAPI_IRI_BASE, accountHomePage: `${DEFAULT_XAPI_IRI_BASE}/lms`, lrs: null }),
    deliveryWorker: (env.SPEECHMARK_DELIVERY_WORKER ?? 'in-process') === 'in-process',
    deliveryConcurrency: num('SPEECHMARK_DELIVERY_CONCURRENCY', 8, COUNT),
    webhookTimeoutMs: num('SPEECHMARK_WEBHOOK_TIMEOUT_SECONDS', 15, POSITIVE) * 1000,
    webhookMaxPayloadBytes: num('SPEECHMARK_WEBHOOK_MAX_PAYLOAD_BYTES', 64 * 1024, COUNT),
    webhookMaxAttempts: num('SPEECHMARK_WEBHOOK_MAX_ATTEMPTS', 12, COUNT),
    webhookBackoffBaseMs: num('SPEECHMARK_WEBHOOK_BACKOFF_BASE_SECONDS', 5, NON_NEGATIVE) * 1000,
    webhookBackoffCapMs: num('SPEECHMARK_WEBHOOK_BACKOFF_CAP_SECONDS', 7 * 3600, NON_NEGATIVE) * 1000,
    webhookAllowedPrivateNetworks: networks(env.SPEECHMARK_WEBHOOK_ALLOW_PRIVATE_NETWORKS),
    webhookAllowHttp: bool('SPEECHMARK_WEBHOOK_ALLOW_HTTP', false),
    webhookMaxEndpoints: num('SPEECHMARK_WEBHOOK_MAX_ENDPOINTS', 20, NON_NEGATIVE),
    webhookDisableAfterFailingDays: num('SPEECHMARK_WEBHOOK_DISABLE_AFTER_DAYS', 5, { min: 0, max: 365 }),
    outboxRetentionDays: num('SPEECHMARK_OUTBOX_RETENTION_DAYS', 30, NON_NEGATIVE),
    audioRetentionDays: num('SPEECHMARK_AUDIO_RETENTION_DAYS', 0, { min: 0, max: MAX_AUDIO_RETENTION_DAYS, integer: true }),
    audioRetentionSweepSeconds: num('SPEECHMARK_AUDIO_RETENTION_SWEEP_SECONDS', 3600, NON_NEGATIVE),
    pgliteMaintenanceSeconds: num('SPEECHMARK_PGLITE_MAINTENANCE_SECONDS', 60, NON_NEGATIVE),
    workerPollMs: num('SPEECHMARK_WORKER_POLL_MS', 1000, { min: 10 }),
    workerHeartbeatSeconds: num('SPEECHMARK_WORKER_HEARTBEAT_SECONDS', 10, POSITIVE),
    readyWorkerSeconds: num('SPEECHMARK_READY_WORKER_SECONDS', 60, NON_NEGATIVE),
    logLevel: check(() => oneOf('SPEECHMARK_LOG_LEVEL', LOG_LEVELS, 'info', env), 'info'),
    metricsToken: env.SPEECHMARK_METRICS_TOKEN || null,
    urlSigningSecret: env.SPEECHMARK_URL_SIGNING_SECRET || null,
    metricsPort,
    metricsHost: env.SPEECHMARK_METRICS_HOST || '127.0.0.1',
  };
  if (config.metricsToken !== null && config.metricsToken.length < 16) {
    problems.push('SPEECHMARK_METRICS_TOKEN must be at least 16 characters (a guessable token protects nothing)');
  }
  if (config.urlSigningSecret !== null && config.urlSigningSecret.length < 32) {
    problems.push('SPEECHMARK_URL_SIGNING_SECRET must be at least 32 characters (it signs the audio playback URLs)');
  }
  if (config.minAudioSeconds >= config.maxAudioSeconds) {
    problems.push(`SPEECHMARK_MIN_AUDIO_SECONDS (${config.minAudioSeconds}) must be below SPEECHMARK_MAX_AUDIO_SECONDS (${config.maxAudioSeconds})`);
  }
  if (config.workerHeartbeatSeconds > 0 && config.readyWorkerSeconds > 0 && config.readyWorkerSeconds < config.workerHeartbeatSeconds) {
    problems.push(`SPEECHMARK_READY_WORKER_SECONDS (${config.readyWorkerSeconds}) must be at least SPEECHMARK_WORKER_HEARTBEAT_SECONDS (${config.workerHeartbeatSeconds}), or 0`);
  }
  // Only where this process runs a worker: an API process with SPEECHMARK_WORKER=none batches nothing
  // and may share a worker's environment. `npm run worker` checks its own (workerProblems).
  if (config.inProcessWorker) problems.push(...workerProblems(config));
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/**
 * SPEECHMARK_EXTRA_MODEL_DIRS: each a bundle whose manifest reads, none the default's directory,
 * no model version twice (a version names one bundle; jobs ask for it by that name). The default
 * bundle's own problems are reported by its loader, so here its version is only compared with.
 */
function extraModelDirs(env: NodeJS.ProcessEnv): string[] {
  const dirs = (env.SPEECHMARK_EXTRA_MODEL_DIRS ?? '').split(',').map((s) => s.trim()).filter(Boolean).map((d) => path.resolve(d));
  if (dirs.length === 0) return [];
  const defaultDir = path.resolve(env.SPEECHMARK_MODEL_DIR ?? 'models/default');
  const problems: string[] = [];
  const versions = new Map<string, string>();
  try {
    versions.set(readManifest(defaultDir).version, `SPEECHMARK_MODEL_DIR (${defaultDir})`);
  } catch {
    // reported when the default bundle is loaded
  }
  for (const dir of new Set(dirs)) {
    if (dir === defaultDir) {
      problems.push(`SPEECHMARK_EXTRA_MODEL_DIRS: ${dir} is already SPEECHMARK_MODEL_DIR`);
      continue;
    }
    try {
      const { version } = readManifest(dir);
      const other = versions.get(version);
      if (other) problems.push(`SPEECHMARK_EXTRA_MODEL_DIRS: ${dir} has model version "${version}", like ${other}; each version must name one bundle`);
      else versions.set(version, dir);
    } catch (e) {
      problems.push(`SPEECHMARK_EXTRA_MODEL_DIRS: ${(e as Error).message}`);
    }
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return [...new Set(dirs)];
}

// onnxruntime-node's provider names (src/inference/session.ts KNOWN_PROVIDERS; not imported: it loads onnxruntime).
const KNOWN_PROVIDERS = ['cuda', 'tensorrt', 'cpu', 'webgpu', 'dml', 'coreml', 'qnn', 'xnnpack'];

function providers(raw: string | undefined): string[] {
  const list = (raw ?? 'cuda,cpu').split(',').map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) throw new Error('SPEECHMARK_EXECUTION_PROVIDERS must name at least one provider (e.g. cpu)');
  const unknown = list.filter((p) => !KNOWN_PROVIDERS.includes(p));
  if (unknown.length > 0) throw new Error(`SPEECHMARK_EXECUTION_PROVIDERS: unknown provider ${unknown.join(', ')} (known: ${KNOWN_PROVIDERS.join(', ')})`);
  return list;
}
