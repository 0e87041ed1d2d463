import { loadConfig } from './config.js';
import { openDatabase } from './db/client.js';
import { createWorker, loadInferenceParts } from './app.js';

/** `npm run worker`: a stand-alone inference worker claiming jobs from DATABASE_URL's queue. */
async function main() {
  const config = loadConfig();
  if (!config.databaseUrl) {
    throw new Error('A separate worker needs DATABASE_URL (PGlite allows one process per data folder).');
  }
  const db = await openDatabase(config);
  const parts = await loadInferenceParts(config);
  const worker = createWorker(config, { prisma: db.prisma, ...parts });
  worker.start();
  console.log(`speechmark worker: ${parts.assessor.modelVersion} on ${parts.assessor.executionProvider}`);
  const stop = async () => {
    await worker.stop({ graceful: true });
    await db.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
