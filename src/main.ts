import { loadConfig } from './config.js';
import { startSpeechmark } from './app.js';
import { exitOnStartFailure, logUnhandledRejections, stopOnSignals } from './lifecycle.js';

/** `npm start`: the API with the in-process worker on the embedded defaults. */
async function main() {
  const config = loadConfig();
  logUnhandledRejections('speechmark');
  const app = await startSpeechmark(config);
  console.log(`speechmark GraphQL API: ${app.url}`);
  console.log(`model ${app.services.model().name} ${app.services.model().version} on ${app.services.model().executionProvider}`);
  if (app.adminKey) {
    console.log(`First start: created the default organisation. Admin API key (shown once, store it now):\n  ${app.adminKey}`);
  }
  // app.close(): stops accepting requests, stops the worker (running jobs finish or are handed back
  // within the grace), closes the database.
  stopOnSignals('speechmark', () => app.close(), config.shutdownGraceSeconds * 1000);
}

main().catch(exitOnStartFailure('speechmark'));
