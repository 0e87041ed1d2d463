import os from 'node:os';
import type { Config } from './config.js';
import { openDatabase } from './db/client.js';
import { bootstrapAdminKey, configureApiKeyCache } from './graphql/auth.js';
import { AudioStore } from './audio/store.js';
import { VadPool } from './audio/vad-pool.js';
import { Intake } from './intake.js';
import { loadModelSet, type ModelSet } from './inference/model-set.js';
import { Worker } from './jobs/worker.js';
import { createAssessHandler, classifyAssessError, jobFailed } from './assessment/handler.js';
import { startHttpServer } from './server.js';
import type { Services } from './graphql/context.js';
import { EventHub } from './events/hub.js';
import { changesSince } from './events/notify.js';
import { DeliveryWorker } from './outbox/worker.js';
import { AddressPolicy } from './outbox/address-policy.js';
import { LtiTokenClient } from './lti/token.js';
import { guardedPost } from './lti/http.js';
import { HeartbeatPublisher, liveWorkers, servedModelVersions } from './jobs/heartbeat.js';
import { readManifest, type ModelManifest } from './inference/bundle.js';
import type { ModelInfoModel } from './graphql/models.js';
import { createReadinessCheck, registerQueueMetrics, startOpsServer } from './ops/http.js';
import { jobsSettled, jobStageDuration } from './ops/metrics.js';
import { log } from './ops/log.js';
import { parseChangeEvent } from './events/notify.js';
import type { OnNotification } from './events/listener.js';
import type { PrismaClient } from './generated/prisma/client.js';
import { BulkEnqueueSweeper } from './assessment/bulk-sweeper.js';
import { completeIfDone, STALLED_ENQUEUE_MS } from './assessment/bulk.js';
import { sweepUnreferencedAudio } from './assessment/audio-files.js';
import { AudioRetention } from './assessment/audio-retention.js';
import { loadAudioUrlSigner } from './http/audio-url.js';
import { PgliteMaintenance } from './db/maintenance.js';

export interface Speechmark {
  url: string;
  /** The separate operations listener (/metrics, /healthz, /readyz) when SPEECHMARK_METRICS_PORT is set. */
  opsUrl: string | null;
  /** The first start's admin key; null when the database already had an organisation. */
  adminKey: string | null;
  services: Services;
  worker: Worker | null;
  /** The in-process worker's model bundles (null without one); each in its own thread unless SPEECHMARK_INFERENCE_THREAD=false. */
  models: ModelSet | null;
  /** The in-process worker's heartbeat (null without one). */
  heartbeat: HeartbeatPublisher | null;
  /** Sends the outbox's deliveries (webhooks, LTI scores, xAPI statements); null when SPEECHMARK_DELIVERY_WORKER is not in-process. */
  deliveries: DeliveryWorker | null;
  close(): Promise<void>;
}

/** The audio intake the API uses (also the dataset importer's, which needs no model). */
export function createIntake(config: Config): Intake {
  const store = new AudioStore(config.audioDir);
  // Temp files of writes cut short by a killed process; in the background, nothing waits on it.
  store.sweepStaleTempFiles().catch((err: unknown) => log.warn('audio store temp sweep failed', { err }));
  return new Intake(store, new VadPool(config.vadThreads, config.vadMaxBatch), {
    maxSeconds: config.maxAudioSeconds,
    minSeconds: config.minAudioSeconds,
  });
}

/**
 * The models (the default bundle and SPEECHMARK_EXTRA_MODEL_DIRS') and the audio intake, shared by
 * the API and the worker. `assessor` is the default bundle's.
 */
export async function loadInferenceParts(config: Config) {
  const models = await loadModelSet(config.modelDir, config.extraModelDirs, {
    providers: config.executionProviders,
    batch: { size: config.batchSize, waitMs: config.batchWaitMs },
    thread: config.inferenceThread,
    threads: config.modelThreads,
  });
  await models.warmUp().catch(async (e: unknown) => {
    await models.close().catch(() => undefined);
    throw e;
  });
  return { models, assessor: models.primary, intake: createIntake(config) };
}

/**
 * The inference worker. A job that ends (succeeded or failed for good) committed an outbox event
 * with its result, so `onEventsCommitted` (the local delivery worker's wake) runs after each.
 * Every attempt's end is logged (job and organisation ids) and counted for /metrics.
 */
export function createWorker(
  config: Config,
  parts: { prisma: Services['prisma']; intake: Intake; models: ModelSet },
  onEventsCommitted: () => void = () => undefined,
) {
  const workerId = `${os.hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  const logger = log.child({ workerId });
  const assess = createAssessHandler({ ...parts, serverLrs: config.xapi.lrs });
  // When each attempt's handler started (this process's clock), for the claim-to-settled histogram.
  const handlerStarted = new WeakMap<object, number>();
  return new Worker({
    prisma: parts.prisma,
    workerId,
    leaseSeconds: config.jobLeaseSeconds,
    pollIntervalMs: config.workerPollMs,
    concurrency: config.workerConcurrency,
    // Only jobs that ask for no version (the default bundle's) or for one of this worker's.
    modelVersions: parts.models.versions,
    onClaimed: (_job, claimMs) => jobStageDuration.observe({ stage: 'claim' }, claimMs / 1000),
    handler: (job) => {
      handlerStarted.set(job, performance.now());
      return assess(job);
    },
    classifyError: classifyAssessError,
    maxAttemptMs: config.jobMaxAttemptSeconds * 1000,
    shutdownGraceMs: (config.shutdownGraceSeconds ?? 10) * 1000,
    onJobFailed: jobFailed,
    onError: (err, { jobId, phase }) => logger.error(`worker ${phase}`, { jobId, err }),
    onJobSettled: (job, outcome) => {
      jobsSettled.inc({ outcome });
      const started = handlerStarted.get(job);
      if (started !== undefined) jobStageDuration.observe({ stage: 'total' }, (performance.now() - started) / 1000);
      logger.info('job settled', { jobId: job.id, organizationId: job.organizationId, attempt: job.attempts, outcome });
      if (outcome === 'succeeded' || outcome === 'failed') {
        onEventsCommitted();
        // Its operation may be done now (the sweep catches what this misses, e.g. a process ending here).
        if (job.bulkOperationId) {
          completeIfDone(parts.prisma, job.bulkOperationId)
            .then((completed) => { if (completed) onEventsCommitted(); })
            .catch((err: unknown) => logger.warn('bulk re-assessment: completion check failed; the sweep retries', { bulkOperationId: job.bulkOperationId, err }));
        }
      }
    },
  });
}

/**
 * The sweep that queues on bulk re-assessments left part-way (src/assessment/bulk-sweeper.ts), run by
 * every process with a job worker: at start, then as often as the heartbeat and at least every
 * STALLED_ENQUEUE_MS.
 */
export function createBulkSweeper(config: Config, prisma: PrismaClient, onEventsCommitted: () => void = () => undefined): BulkEnqueueSweeper {
  return new BulkEnqueueSweeper(prisma, config.jobMaxAttempts, Math.max(STALLED_ENQUEUE_MS, config.workerHeartbeatSeconds * 1000), onEventsCommitted);
}

/** The heartbeat a worker publishes (models, provider, jobs in hand): see src/jobs/heartbeat.ts. */
export function createHeartbeat(config: Config, prisma: PrismaClient, worker: Worker, models: ModelSet): HeartbeatPublisher {
  const assessor = models.primary;
  const { name, version, sha256 } = assessor.bundle.manifest;
  return new HeartbeatPublisher(
    prisma,
    {
      workerId: worker.workerId,
      host: os.hostname(),
      pid: process.pid,
      model: { name, version, sha256 },
      modelVersions: models.versions,
      executionProvider: assessor.executionProvider,
      concurrency: config.workerConcurrency,
    },
    () => worker.activeJobs,
    config.workerHeartbeatSeconds * 1000,
  );
}

/**
 * Listens for jobs committed as QUEUED by any process (PostgreSQL NOTIFY, src/events) and wakes
 * `worker`: a separate worker starts a submitted job at once instead of at its next poll (which
 * stays, as the fallback for notifications lost while the LISTEN connection was down).
 */
export function wakeOnQueuedJobs(worker: Pick<Worker, 'wake'>): OnNotification {
  return (payload) => {
    const event = parseChangeEvent(payload);
    if (event?.type === 'job' && event.status === 'QUEUED') worker.wake();
  };
}

/**
 * The outbox's delivery worker, with the settings of `config`: webhooks, LTI scores and xAPI
 * statements share its timeout, backoff, attempts and address policy.
 */
export function createDeliveryWorker(config: Config, prisma: Services['prisma'], options: { pollIntervalMs?: number } = {}) {
  return new DeliveryWorker({
    prisma,
    concurrency: config.deliveryConcurrency,
    pollIntervalMs: options.pollIntervalMs ?? 1000,
    retentionDays: config.outboxRetentionDays,
    shutdownGraceMs: (config.shutdownGraceSeconds ?? 10) * 1000,
    timeoutMs: config.webhookTimeoutMs,
    maxPayloadBytes: config.webhookMaxPayloadBytes,
    schedule: { baseMs: config.webhookBackoffBaseMs, capMs: config.webhookBackoffCapMs, maxAttempts: config.webhookMaxAttempts },
    policy: new AddressPolicy(config.webhookAllowedPrivateNetworks),
    disableAfterFailingDays: config.webhookDisableAfterFailingDays,
    xapi: config.xapi,
  });
}

function modelInfo(manifest: ModelManifest, executionProvider: string): ModelInfoModel {
  const { name, version, kind, sha256, phoneSet } = manifest;
  return { name, version, kind, sha256, phoneSet: [...phoneSet], executionProvider };
}

/**
 * An API process without a worker names the model from its manifest alone (no model file is read,
 * no session created) and the provider from the freshest heartbeat of a worker serving that version.
 */
function modelFromWorkers(prisma: PrismaClient, manifest: ModelManifest, withinSeconds: number) {
  return async (): Promise<ModelInfoModel> => {
    const live = await liveWorkers(prisma, Math.max(withinSeconds, 1));
    // its default bundle, or one of its extra ones
    const serving = live.find((w) => w.modelVersion === manifest.version) ?? live.find((w) => w.modelVersions?.includes(manifest.version));
    return modelInfo(manifest, serving?.executionProvider ?? 'unknown');
  };
}

/**
 * The model versions a job may ask for: those live workers' heartbeats list, this process's own
 * worker's, and those of the bundles configured here (SPEECHMARK_MODEL_DIR and
 * SPEECHMARK_EXTRA_MODEL_DIRS, read from their manifests: an API process without a worker knows
 * what its deployment's workers are set up to serve even while none is running).
 */
function knownModelVersions(prisma: PrismaClient, config: Config, inProcess: ModelSet | null, withinSeconds: number) {
  const local = inProcess ? inProcess.versions : [config.modelDir, ...config.extraModelDirs].map((dir) => readManifest(dir).version);
  return async (): Promise<string[]> => [...new Set([...local, ...(await servedModelVersions(prisma, Math.max(withinSeconds, 1)))])];
}

async function startOnDatabase(config: Config, db: Awaited<ReturnType<typeof openDatabase>>, host?: string) {
  configureApiKeyCache(db.prisma, config.apiKeyCacheMs);
  // Before any background work starts: a secret file that does not read stops the start cleanly.
  const audioUrls = await loadAudioUrlSigner(config.urlSigningSecret, config.audioDir);
  // The model only where a worker runs: an API process without one creates no onnxruntime session
  // for it (the intake's voice-activity detector is the only session it has).
  const inference = config.inProcessWorker ? await loadInferenceParts(config) : null;
  const intake = inference?.intake ?? createIntake(config);
  // In the background; close() stops it between shards and waits, so it never outlives the database connection.
  const stopAudioSweep = new AbortController();
  const audioSweep = sweepUnreferencedAudio(db.prisma, intake.store, { signal: stopAudioSweep.signal })
    .then((removed) => { if (removed > 0) log.info('removed audio files no utterance references', { removed }); })
    .catch((err: unknown) => log.warn('unreferenced audio sweep failed', { err }));
  const manifest = inference?.assessor.bundle.manifest ?? readManifest(config.modelDir);
  const deliveries = config.deliveryWorker ? createDeliveryWorker(config, db.prisma) : null;
  const wakeDelivery = () => deliveries?.wake();
  const worker = inference ? createWorker(config, { prisma: db.prisma, ...inference }, wakeDelivery) : null;
  const heartbeat = inference && worker ? createHeartbeat(config, db.prisma, worker, inference.models) : null;
  // Subscriptions hear job and assessment changes from every process through LISTEN (src/events);
  // the in-process worker hears jobs other API processes queued on the same connection.
  const events = new EventHub();
  const wakeOnQueued = worker ? wakeOnQueuedJobs(worker) : null;
  const webhookPolicy = new AddressPolicy(config.webhookAllowedPrivateNetworks);
  const services: Services = {
    prisma: db.prisma,
    config,
    intake,
    model: () => modelInfo(manifest, inference?.assessor.executionProvider ?? 'unknown'),
    modelInfo: inference ? async () => modelInfo(manifest, inference.assessor.executionProvider) : modelFromWorkers(db.prisma, manifest, config.readyWorkerSeconds || 60),
    modelVersions: knownModelVersions(db.prisma, config, inference?.models ?? null, config.readyWorkerSeconds || 60),
    wakeWorker: () => worker?.wake(),
    events,
    wakeDelivery,
    webhookPolicy,
    ltiTokens: new LtiTokenClient(db.prisma, guardedPost(webhookPolicy, config.webhookTimeoutMs)),
    audioUrls,
  };
  registerQueueMetrics(db.prisma, config.readyWorkerSeconds || 60);
  const readiness = createReadinessCheck({ prisma: db.prisma, readyWorkerSeconds: config.readyWorkerSeconds });
  let ops: Awaited<ReturnType<typeof startOpsServer>> | null = null;
  try {
    await events.start(
      // One LISTEN connection for subscribers and the in-process worker; its reconnect options
      // (delay, catch-up after a drop) pass through.
      (onNotification, listenOptions) => db.listen((payload) => {
        onNotification(payload);
        wakeOnQueued?.(payload);
      }, listenOptions),
      { catchUp: (since, learnerIds) => changesSince(db.prisma, since, learnerIds), reconnectMs: config.listenReconnectMs },
    );
    if (config.metricsPort !== null) ops = await startOpsServer(config.metricsPort, config.metricsHost, readiness);
    const http = await startHttpServer(services, config.port, host, readiness);
    const stopSweep = async () => {
      stopAudioSweep.abort();
      await audioSweep;
    };
    return { http, ops, worker, heartbeat, deliveries, intake, models: inference?.models ?? null, services, events, stopSweep };
  } catch (e) {
    await ops?.close().catch(() => undefined);
    await events.close().catch(() => undefined);
    stopAudioSweep.abort();
    await audioSweep;
    await intake.close().catch(() => undefined);
    await inference?.models.close().catch(() => undefined);
    throw e;
  }
}

/** API server (and, by default, the in-process worker) on one database. */
export async function startSpeechmark(
  config: Config,
  options: { host?: string; onQuery?: (sql: string, params?: string) => void } = {},
): Promise<Speechmark> {
  const db = await openDatabase(config, { onQuery: options.onQuery });
  // A failed start releases what it opened (the PGlite folder lock above all), then reports why.
  const started = await startOnDatabase(config, db, options.host).catch(async (e: unknown) => {
    await db.close().catch(() => undefined);
    throw e;
  });
  const { http, ops, worker, heartbeat, deliveries, intake, models, services, events, stopSweep } = started;
  const bulkSweeper = worker ? createBulkSweeper(config, db.prisma, () => deliveries?.wake()) : null;
  // The embedded database's autovacuum (a PostgreSQL server runs its own).
  const maintenance = db.kind === 'pglite' ? new PgliteMaintenance(db.executor, config.pgliteMaintenanceSeconds * 1000) : null;
  // Recordings past their organisation's retention (every server sweeps; SKIP LOCKED shares the work).
  const audioRetention = new AudioRetention(db.prisma, intake.store, config.audioRetentionDays, config.audioRetentionSweepSeconds * 1000);
  // Only now, with the model loaded and the port bound, can the first start no longer fail: a key
  // created earlier was lost with every failed start (`npm run admin -- create-key` recovers one).
  const adminKey = await bootstrapAdminKey(db.prisma);
  // Visible to /readyz and Query.workers before the first job can be claimed.
  await heartbeat?.start();
  worker?.start();
  deliveries?.start();
  bulkSweeper?.start();
  maintenance?.start();
  audioRetention.start();
  return {
    url: http.url,
    opsUrl: ops?.url ?? null,
    adminKey,
    services,
    worker,
    models,
    heartbeat,
    deliveries,
    async close() {
      // One grace for everything: the worker stops claiming while the HTTP server drains its
      // requests; running jobs finish, or are handed back to the queue when the grace ends. The
      // deliveries keep going meanwhile (a job finishing now owes its webhooks and grades), and hand
      // back what is in flight at that same deadline, not a second grace later: run one after the
      // other, a slow job and a slow receiver took twice the grace and met the signal handler's hard
      // exit (SPEECHMARK_SHUTDOWN_GRACE_SECONDS + 15 s), which leaves deliveries SENDING (each
      // then spends an attempt when its lease expires) and an embedded database unclosed.
      const graceMs = (config.shutdownGraceSeconds ?? 10) * 1000;
      const deadline = Date.now() + graceMs;
      await Promise.all([http.close(), ops?.close(), worker?.stop({ graceful: true, deadlineMs: graceMs }), bulkSweeper?.stop(), maintenance?.stop(), audioRetention.stop()]);
      await heartbeat?.stop().catch((err: unknown) => log.warn('heartbeat not marked stopped', { err }));
      await deliveries?.stop({ deadlineMs: Math.max(0, deadline - Date.now()) });
      await events.close();
      await stopSweep();
      await intake.close();
      await models?.close();
      await db.close();
    },
  };
}
