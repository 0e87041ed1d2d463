import { ConfigError, loadConfig, workerProblems } from './config.js';
import { openDatabase } from './db/client.js';
import { createBulkSweeper, createDeliveryWorker, createHeartbeat, createWorker, loadInferenceParts, wakeOnQueuedJobs } from './app.js';
import { exitOnStartFailure, logUnhandledRejections, stopOnSignals, withTimeout } from './lifecycle.js';
import { log } from './ops/log.js';
import { createReadinessCheck, registerQueueMetrics, startOpsServer } from './ops/http.js';

/**
 * `npm run worker`: a stand-alone inference worker claiming jobs from DATABASE_URL's queue, woken by
 * PostgreSQL NOTIFY when a job is queued (its poll, SPEECHMARK_WORKER_POLL_MS, is the fallback), with
 * a heartbeat row, and a delivery worker sending the outbox's webhooks, LTI scores and xAPI statements (unless
 * SPEECHMARK_DELIVERY_WORKER is not in-process). /metrics, /healthz and /readyz on
 * SPEECHMARK_METRICS_PORT when set.
 */
async function main() {
  const config = loadConfig();
  // This process runs a worker whatever SPEECHMARK_WORKER says (that setting is the API's).
  const problems = workerProblems(config);
  if (problems.length > 0) throw new ConfigError(problems);
  log.configure({ level: config.logLevel, base: { service: 'worker' } });
  if (!config.databaseUrl) {
    throw new Error('A separate worker needs DATABASE_URL (PGlite allows one process per data folder).');
  }
  logUnhandledRejections('speechmark worker');
  // The model first: a bundle that fails its checks is refused before anything touches the database.
  const parts = await loadInferenceParts(config);
  const db = await openDatabase(config);
  const deliveries = config.deliveryWorker ? createDeliveryWorker(config, db.prisma) : null;
  const worker = createWorker(config, { prisma: db.prisma, ...parts }, () => deliveries?.wake());
  const heartbeat = createHeartbeat(config, db.prisma, worker, parts.models);
  // LISTEN before the first claim: a job queued from here on wakes this worker.
  const listener = await db.listen(wakeOnQueuedJobs(worker));
  registerQueueMetrics(db.prisma, config.readyWorkerSeconds || 60);
  const ops = config.metricsPort !== null
    ? await startOpsServer(config.metricsPort, config.metricsHost, createReadinessCheck({ prisma: db.prisma, readyWorkerSeconds: config.readyWorkerSeconds }))
    : null;
  await heartbeat.start();
  worker.start();
  deliveries?.start();
  const bulkSweeper = createBulkSweeper(config, db.prisma, () => deliveries?.wake());
  bulkSweeper.start();
  // Before the banner: whoever reads it may signal at once.
  const graceMs = config.shutdownGraceSeconds * 1000;
  stopOnSignals('speechmark worker', async () => {
    await Promise.all([worker.stop({ graceful: true, deadlineMs: graceMs }), deliveries?.stop({ deadlineMs: graceMs }), bulkSweeper.stop()]);
    await withTimeout(heartbeat.stop().catch((err: unknown) => log.warn('heartbeat not marked stopped', { err })), 5_000);
    await withTimeout(listener.close(), 5_000);
    await ops?.close();
    await withTimeout(parts.intake.close(), 5_000);
    await withTimeout(parts.models.close(), 5_000);
    await withTimeout(db.close(), 5_000);
  }, graceMs);
  const threads = config.modelThreads > 1 ? `, ${config.modelThreads} model threads` : '';
  console.log(`speechmark worker: ${parts.models.versions.join(', ')} on ${parts.assessor.executionProvider}${threads}${ops ? ` (metrics ${ops.url}/metrics)` : ''}`);
  log.info('started', { workerId: worker.workerId, model: parts.assessor.modelVersion, modelVersions: parts.models.versions, provider: parts.assessor.executionProvider, modelThreads: config.modelThreads });
}

main().catch(exitOnStartFailure('speechmark worker'));
