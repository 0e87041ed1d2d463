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
}

function int(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new Error(`${name} must be a number, got "${raw}"`);
  return value;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const dataDir = path.resolve(env.SPEECHMARK_DATA_DIR ?? 'data');
  return {
    port: int('PORT', 4000),
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir,
    audioDir: path.resolve(env.SPEECHMARK_AUDIO_DIR ?? path.join(dataDir, 'audio')),
    modelDir: path.resolve(env.SPEECHMARK_MODEL_DIR ?? 'models/default'),
    executionProviders: (env.SPEECHMARK_EXECUTION_PROVIDERS ?? 'cuda,cpu').split(',').map((s) => s.trim()).filter(Boolean),
    maxUploadBytes: int('SPEECHMARK_MAX_UPLOAD_BYTES', 20 * 1024 * 1024),
    maxAudioSeconds: int('SPEECHMARK_MAX_AUDIO_SECONDS', 60),
    minAudioSeconds: int('SPEECHMARK_MIN_AUDIO_SECONDS', 0.3),
    inProcessWorker: (env.SPEECHMARK_WORKER ?? 'in-process') === 'in-process',
    workerConcurrency: int('SPEECHMARK_WORKER_CONCURRENCY', 1),
    jobLeaseSeconds: int('SPEECHMARK_JOB_LEASE_SECONDS', 60),
    jobMaxAttempts: int('SPEECHMARK_JOB_MAX_ATTEMPTS', 3),
    shutdownGraceSeconds: int('SPEECHMARK_SHUTDOWN_GRACE_SECONDS', 10),
    dbPoolSize: int('SPEECHMARK_DB_POOL_SIZE', 10),
    dbTransactionMaxWaitMs: int('SPEECHMARK_DB_TX_MAX_WAIT_MS', 10_000),
    dbTransactionTimeoutMs: int('SPEECHMARK_DB_TX_TIMEOUT_MS', 15_000),
  };
}
