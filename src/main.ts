import { loadConfig } from './config.js';
import { startSpeechmark } from './app.js';

/** `npm start`: the API with the in-process worker on the embedded defaults. */
async function main() {
  const config = loadConfig();
  const app = await startSpeechmark(config);
  console.log(`speechmark GraphQL API: ${app.url}`);
  console.log(`model ${app.services.model().name} ${app.services.model().version} on ${app.services.model().executionProvider}`);
  if (app.adminKey) {
    console.log(`First start: created the default organisation. Admin API key (shown once, store it now):\n  ${app.adminKey}`);
  }
  const shutdown = async (signal: string) => {
    console.log(`${signal}: finishing running jobs, then stopping`);
    await app.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
