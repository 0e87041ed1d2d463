/**
 * Import a SpeechOcean762-layout folder as learners, utterances (queued for assessment) and human
 * labels, into the database the server uses (DATABASE_URL, or PGlite in SPEECHMARK_DATA_DIR).
 *
 *   npm run import -- --data ../shared/speechocean762/dev [--limit N] [--learner-prefix so762-] [--org-id UUID]
 *
 * Re-running is safe: utterances imported earlier are skipped. Jobs run when a worker next polls.
 */
import { parseArgs } from 'node:util';
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/client.js';
import { maintainTables } from '../src/db/maintenance.js';
import { createIntake } from '../src/app.js';
import { checkDatasetDir, importSpeechOcean, resolveOrganization } from '../src/import/speechocean.js';

function options() {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      limit: { type: 'string' },
      'learner-prefix': { type: 'string', default: 'so762-' },
      'org-id': { type: 'string' },
    },
  });
  if (!values.data) throw new Error('--data DIR is required (a folder with scores.json and utt2spk).');
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new Error('--limit must be a positive integer.');
  return { data: path.resolve(values.data), limit, prefix: values['learner-prefix']!, orgId: values['org-id'] };
}

async function main() {
  const opts = options();
  checkDatasetDir(opts.data); // before opening (and perhaps creating) a database
  const config = loadConfig();
  const db = await openDatabase(config);
  const intake = createIntake(config);
  try {
    const organizationId = await resolveOrganization(db.prisma, opts.orgId);
    const summary = await importSpeechOcean(db.prisma, intake, {
      dataDir: opts.data, organizationId, learnerPrefix: opts.prefix, limit: opts.limit,
      jobMaxAttempts: config.jobMaxAttempts, log: (line) => console.log(line),
    });
    console.log(
      `imported ${summary.imported}, ` +
        `skipped ${summary.skipped} already imported, failed ${summary.failed.length}`,
    );
    if (summary.failed.length > 0) process.exitCode = 1;
    // PGlite has no autovacuum, and the server's maintenance runs only once it starts: analyse the
    // imported tables now, so the first requests after an import are planned on their real sizes.
    // A failure here loses nothing imported: the server's own maintenance runs it again.
    if (db.kind === 'pglite') {
      await maintainTables(db.executor)
        .then((runs) => { if (runs.length > 0) console.log(`database maintenance: ${runs.map((r) => `${r.action} ${r.table}`).join(', ')}`); })
        .catch((e: unknown) => console.error(`database maintenance failed (the server runs it again): ${e instanceof Error ? e.message : e}`));
    }
  } finally {
    await intake.close();
    await db.close();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
