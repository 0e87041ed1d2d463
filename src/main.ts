import { loadConfig } from './config.js';
import { startSpeechmark } from './app.js';
import { exitOnStartFailure, logUnhandledRejections, stopOnSignals } from './lifecycle.js';
import { log } from './ops/log.js';

/** `npm start`: the API with the in-process worker on the embedded defaults. */
async function main() {
  const config = loadConfig();
  log.configure({ level: config.logLevel, base: { service: 'api' } });
  logUnhandledRejections('speechmark');
  const app = await startSpeechmark(config);
  // app.close(): stops accepting requests, stops the worker (running jobs finish or are handed back
  // within the grace), closes the database. Before the banners: whoever reads them may signal at once.
  stopOnSignals('speechmark', () => app.close(), config.shutdownGraceSeconds * 1000);
  // The two banners stay plain text: for the person at the terminal (and scripts that read them).
  console.log(`speechmark GraphQL API: ${app.url}`);
  const model = app.services.model();
  console.log(
    config.inProcessWorker
      ? `model ${model.name} ${model.version} on ${model.executionProvider}`
      : `model ${model.name} ${model.version} (from its manifest; no model runs in this process: start workers with npm run worker)`,
  );
  if (app.adminKey) {
    console.log(`First start: created the default organisation. Admin API key (shown once, store it now):\n  ${app.adminKey}`);
  }
  log.info('started', { url: app.url, model: model.version, inProcessWorker: config.inProcessWorker, workerId: app.worker?.workerId });
}

main().catch(exitOnStartFailure('speechmark'));
