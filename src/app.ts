import os from 'node:os';
import type { Config } from './config.js';
import { openDatabase } from './db/client.js';
import { bootstrapAdminKey } from './graphql/auth.js';
import { AudioStore } from './audio/store.js';
import { SpeechDetector } from './audio/vad.js';
import { Intake } from './intake.js';
import { loadAssessor, type Assessor } from './inference/assessor.js';
import { Worker } from './jobs/worker.js';
import { createAssessHandler, classifyAssessError } from './assessment/handler.js';
import { startHttpServer } from './server.js';
import type { Services } from './graphql/context.js';
import { EventHub } from './events/hub.js';
import { changesSince } from './events/notify.js';
import { DeliveryWorker } from './outbox/worker.js';
import { AddressPolicy } from './outbox/address-policy.js';
import { emitJobFailed } from './outbox/events.js';

export interface Speechmark {
  url: string;
  /** The first start's admin key; null when the database already had an organisation. */
  adminKey: string | null;
  services: Services;
  worker: Worker | null;
  /** Sends the outbox's deliveries (webhooks, LTI scores, xAPI statements); null when SPEECHMARK_DELIVERY_WORKER is not in-process. */
  deliveries: DeliveryWorker | null;
  close(): Promise<void>;
}

/** The audio intake the API uses (also the dataset importer's, which needs no model). */
export function createIntake(config: Config): Intake {
  const store = new AudioStore(config.audioDir);
  // Temp files of writes cut short by a killed process; in the background, nothing waits on it.
  store.sweepStaleTempFiles().catch((e) => console.warn(`audio store temp sweep failed: ${(e as Error).message}`));
  return new Intake(store, new SpeechDetector(), {
    maxSeconds: config.maxAudioSeconds,
    minSeconds: config.minAudioSeconds,
  });
}

/** The model and the audio intake, shared by the API and the worker. */
export async function loadInferenceParts(config: Config) {
  const assessor = await loadAssessor(config.modelDir, { providers: config.executionProviders });
  await assessor.warmUp();
  return { assessor, intake: createIntake(config) };
}

/**
 * The inference worker. A job that ends (succeeded or failed for good) committed an outbox event
 * with its result, so `onEventsCommitted` (the local delivery worker's wake) runs after each.
 */
export function createWorker(
  config: Config,
  parts: { prisma: Services['prisma']; intake: Intake; assessor: Assessor },
  onEventsCommitted: () => void = () => undefined,
) {
  return new Worker({
    prisma: parts.prisma,
    workerId: `${os.hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`,
    leaseSeconds: config.jobLeaseSeconds,
    pollIntervalMs: 1000,
    concurrency: config.workerConcurrency,
    handler: createAssessHandler({ ...parts, serverLrs: config.xapi.lrs }),
    classifyError: classifyAssessError,
    shutdownGraceMs: (config.shutdownGraceSeconds ?? 10) * 1000,
    onJobFailed: emitJobFailed,
    onJobSettled: (_job, outcome) => {
      if (outcome === 'succeeded' || outcome === 'failed') onEventsCommitted();
    },
  });
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
    xapi: config.xapi,
  });
}

function modelInfo(assessor: Assessor) {
  const { name, version, kind, sha256, phoneSet } = assessor.bundle.manifest;
  return { name, version, kind, sha256, phoneSet: [...phoneSet], executionProvider: assessor.executionProvider };
}

async function startOnDatabase(config: Config, db: Awaited<ReturnType<typeof openDatabase>>, host?: string) {
  const { assessor, intake } = await loadInferenceParts(config);
  const deliveries = config.deliveryWorker ? createDeliveryWorker(config, db.prisma) : null;
  const wakeDelivery = () => deliveries?.wake();
  const worker = config.inProcessWorker ? createWorker(config, { prisma: db.prisma, intake, assessor }, wakeDelivery) : null;
  // Subscriptions hear job and assessment changes from every process through LISTEN (src/events).
  const events = new EventHub();
  const services: Services = {
    prisma: db.prisma,
    config,
    intake,
    model: () => modelInfo(assessor),
    wakeWorker: () => worker?.wake(),
    events,
    wakeDelivery,
    webhookPolicy: new AddressPolicy(config.webhookAllowedPrivateNetworks),
  };
  try {
    await events.start(db.listen, { catchUp: (since) => changesSince(db.prisma, since), reconnectMs: config.listenReconnectMs });
    return { http: await startHttpServer(services, config.port, host), worker, deliveries, intake, services, events };
  } catch (e) {
    await events.close().catch(() => undefined);
    await intake.close().catch(() => undefined);
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
  const { http, worker, deliveries, intake, services, events } = started;
  // Only now, with the model loaded and the port bound, can the first start no longer fail: a key
  // created earlier was lost with every failed start (`npm run admin -- create-key` recovers one).
  const adminKey = await bootstrapAdminKey(db.prisma);
  worker?.start();
  deliveries?.start();
  return {
    url: http.url,
    adminKey,
    services,
    worker,
    deliveries,
    async close() {
      // Together: the worker stops claiming while the HTTP server drains its requests. Running jobs
      // finish, or are handed back to the queue once the shutdown grace has passed; so do the
      // deliveries in flight (their attempts are bounded by the outbound request timeout).
      await Promise.all([http.close(), worker?.stop({ graceful: true })]);
      await deliveries?.stop();
      await events.close();
      await intake.close();
      await db.close();
    },
  };
}
