import path from 'node:path';

/** Every setting, read once from the environment; the defaults run with no configuration at all. */
export interface Config {
  port: number;
  /** PostgreSQL connection string; empty means the embedded PGlite database in `dataDir`. */
  databaseUrl: string | undefined;
  dataDir: string;
  audioDir: string;
  modelDir: string;
  /** onnxruntime execution providers, in order of preference. */
  executionProviders: string[];
  maxUploadBytes: number;
  maxAudioSeconds: number;
  minAudioSeconds: number;
  /** Run the inference worker inside the API process. */
  inProcessWorker: boolean;
  workerConcurrency: number;
  jobLeaseSeconds: number;
  jobMaxAttempts: number;
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
  /** WebSocket: open connections per API key per API process; beyond, a new one is closed with 4429. */
  wsMaxConnectionsPerKey: number;
  /** WebSocket: active subscriptions per API key per API process; beyond, a subscribe gets RATE_LIMITED. */
  wsMaxSubscriptionsPerKey: number;
  /** PostgreSQL LISTEN connection: first reconnect delay after it drops (ms), doubling up to 10 s. */
  listenReconnectMs: number;
  /** What one multipart upload request costs against `rateLimitPerMinute`. */
  rateLimitUploadCost: number;
  /** Failed authentications per client IP per minute before that IP is refused; 0 turns it off. */
  authFailuresPerMinute: number;
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
  /** Outbox events (and their deliveries) older than this many days are deleted once settled. */
  outboxRetentionDays: number;
  // --- xAPI (src/xapi/) ---
  xapi: XapiConfig;
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

function int(name: string, fallback: number, env: NodeJS.ProcessEnv): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new Error(`${name} must be a number, got "${raw}"`);
  return value;
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

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const dataDir = path.resolve(env.SPEECHMARK_DATA_DIR ?? 'data');
  return {
    port: int('PORT', 4000, env),
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir,
    audioDir: path.resolve(env.SPEECHMARK_AUDIO_DIR ?? path.join(dataDir, 'audio')),
    modelDir: path.resolve(env.SPEECHMARK_MODEL_DIR ?? 'models/default'),
    executionProviders: (env.SPEECHMARK_EXECUTION_PROVIDERS ?? 'cuda,cpu').split(',').map((s) => s.trim()).filter(Boolean),
    maxUploadBytes: int('SPEECHMARK_MAX_UPLOAD_BYTES', 20 * 1024 * 1024, env),
    maxAudioSeconds: int('SPEECHMARK_MAX_AUDIO_SECONDS', 60, env),
    minAudioSeconds: int('SPEECHMARK_MIN_AUDIO_SECONDS', 0.3, env),
    inProcessWorker: (env.SPEECHMARK_WORKER ?? 'in-process') === 'in-process',
    workerConcurrency: int('SPEECHMARK_WORKER_CONCURRENCY', 1, env),
    jobLeaseSeconds: int('SPEECHMARK_JOB_LEASE_SECONDS', 60, env),
    jobMaxAttempts: int('SPEECHMARK_JOB_MAX_ATTEMPTS', 3, env),
    shutdownGraceSeconds: int('SPEECHMARK_SHUTDOWN_GRACE_SECONDS', 10, env),
    dbPoolSize: int('SPEECHMARK_DB_POOL_SIZE', 10, env),
    dbTransactionMaxWaitMs: int('SPEECHMARK_DB_TX_MAX_WAIT_MS', 10_000, env),
    dbTransactionTimeoutMs: int('SPEECHMARK_DB_TX_TIMEOUT_MS', 15_000, env),
    dev: flag('SPEECHMARK_DEV', env, false),
    introspection: flag('SPEECHMARK_INTROSPECTION', env, true),
    maxQueryChars: int('SPEECHMARK_MAX_QUERY_CHARS', 20_000, env),
    maxQueryTokens: int('SPEECHMARK_MAX_QUERY_TOKENS', 2_000, env),
    maxQueryDepth: int('SPEECHMARK_MAX_QUERY_DEPTH', 15, env),
    maxQueryCost: int('SPEECHMARK_MAX_QUERY_COST', 50_000, env),
    maxQueryAliases: int('SPEECHMARK_MAX_QUERY_ALIASES', 30, env),
    maxQueryDirectives: int('SPEECHMARK_MAX_QUERY_DIRECTIVES', 20, env),
    maxMutationFields: int('SPEECHMARK_MAX_MUTATION_FIELDS', 10, env),
    rateLimitPerMinute: int('SPEECHMARK_RATE_LIMIT_PER_MINUTE', 600, env),
    wsMaxConnections: int('SPEECHMARK_WS_MAX_CONNECTIONS', 2000, env),
    wsMaxConnectionsPerKey: int('SPEECHMARK_WS_MAX_CONNECTIONS_PER_KEY', 50, env),
    wsMaxSubscriptionsPerKey: int('SPEECHMARK_WS_MAX_SUBSCRIPTIONS_PER_KEY', 200, env),
    listenReconnectMs: int('SPEECHMARK_LISTEN_RECONNECT_MS', 500, env),
    rateLimitUploadCost: int('SPEECHMARK_RATE_LIMIT_UPLOAD_COST', 5, env),
    authFailuresPerMinute: int('SPEECHMARK_AUTH_FAILURES_PER_MINUTE', 30, env),
    corsOrigins: (env.SPEECHMARK_CORS_ORIGINS ?? '').split(',').map((s) => s.trim().replace(/\/+$/, '')).filter(Boolean),
    trustProxy: trustProxy(env.SPEECHMARK_TRUST_PROXY),
    xapi: xapiConfig(env),
    deliveryWorker: (env.SPEECHMARK_DELIVERY_WORKER ?? 'in-process') === 'in-process',
    deliveryConcurrency: int('SPEECHMARK_DELIVERY_CONCURRENCY', 8, env),
    webhookTimeoutMs: int('SPEECHMARK_WEBHOOK_TIMEOUT_SECONDS', 15, env) * 1000,
    webhookMaxPayloadBytes: int('SPEECHMARK_WEBHOOK_MAX_PAYLOAD_BYTES', 64 * 1024, env),
    webhookMaxAttempts: int('SPEECHMARK_WEBHOOK_MAX_ATTEMPTS', 12, env),
    webhookBackoffBaseMs: int('SPEECHMARK_WEBHOOK_BACKOFF_BASE_SECONDS', 5, env) * 1000,
    webhookBackoffCapMs: int('SPEECHMARK_WEBHOOK_BACKOFF_CAP_SECONDS', 7 * 3600, env) * 1000,
    webhookAllowedPrivateNetworks: networks(env.SPEECHMARK_WEBHOOK_ALLOW_PRIVATE_NETWORKS),
    webhookAllowHttp: flag('SPEECHMARK_WEBHOOK_ALLOW_HTTP', env, false),
    webhookMaxEndpoints: int('SPEECHMARK_WEBHOOK_MAX_ENDPOINTS', 20, env),
    outboxRetentionDays: int('SPEECHMARK_OUTBOX_RETENTION_DAYS', 30, env),
  };
}
