import { loadConfig } from './config.js';
import { openDatabase } from './db/client.js';
import { createDeliveryWorker, createWorker, loadInferenceParts } from './app.js';
import { exitOnStartFailure, logUnhandledRejections, stopOnSignals, withTimeout } from './lifecycle.js';

/**
 * `npm run worker`: a stand-alone inference worker claiming jobs from DATABASE_URL's queue, and a
 * delivery worker sending the outbox's webhooks, LTI scores and xAPI statements (unless SPEECHMARK_DELIVERY_WORKER is not in-process).
 */
async function main() {
  const config = loadConfig();
  if (!config.databaseUrl) {
    throw new Error('A separate worker needs DATABASE_URL (PGlite allows one process per data folder).');
  }
  logUnhandledRejections('speechmark worker');
  // The model first: a bundle that fails its checks is refused before anything touches the database.
  const parts = await loadInferenceParts(config);
  const db = await openDatabase(config);
  const deliveries = config.deliveryWorker ? createDeliveryWorker(config, db.prisma) : null;
  const worker = createWorker(config, { prisma: db.prisma, ...parts }, () => deliveries?.wake());
  worker.start();
  deliveries?.start();
  console.log(`speechmark worker: ${parts.assessor.modelVersion} on ${parts.assessor.executionProvider}`);
  const graceMs = config.shutdownGraceSeconds * 1000;
  stopOnSignals('speechmark worker', async () => {
    await Promise.all([worker.stop({ graceful: true, deadlineMs: graceMs }), deliveries?.stop({ deadlineMs: graceMs })]);
    await withTimeout(parts.intake.close(), 5_000);
    await withTimeout(db.close(), 5_000);
  }, graceMs);
}

main().catch(exitOnStartFailure('speechmark worker'));
