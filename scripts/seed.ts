/**
 * `npm run seed -- --learners 2000 --utterances 200000 [--groups 50] [--seed 1] [--months 6]
 *  [--end 2026-06-01 (default: today, 00:00 UTC)] [--org ID] [--batch 1000]`
 *
 * Writes a deterministic, plausible assessment history (src/seed/generate.ts) into the database the
 * server uses: PostgreSQL when DATABASE_URL is set, else PGlite in SPEECHMARK_DATA_DIR (default
 * ./data). Migrations are applied first. Without --org the oldest organisation is used; on an empty
 * database one is created with an admin key (printed once, as the server's first start would).
 * Seeded utterances have no audio: their audioSha256/audioFormat are a marked placeholder.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/client.js';
import { bootstrapAdminKey } from '../src/graphql/auth.js';
import { writeSeed } from '../src/seed/write.js';

const { values } = parseArgs({
  options: {
    learners: { type: 'string', default: '2000' },
    utterances: { type: 'string', default: '200000' },
    groups: { type: 'string', default: '50' },
    seed: { type: 'string', default: '1' },
    months: { type: 'string', default: '6' },
    // Today at 00:00 UTC: the history runs up to now, so "recent practice" and the default periods of
    // soundChanges find it. Give --end for the same rows on another day.
    end: { type: 'string', default: new Date().toISOString().slice(0, 10) + 'T00:00:00Z' },
    org: { type: 'string' },
    batch: { type: 'string', default: '1000' },
  },
});

function int(name: keyof typeof values, min: number): number {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got "${values[name]}"`);
  return n;
}

async function main() {
  const options = {
    learners: int('learners', 1),
    utterances: int('utterances', 0),
    groups: int('groups', 0),
    seed: int('seed', 0),
    months: int('months', 1),
    batchSize: int('batch', 1),
    end: new Date(values.end!),
  };
  if (Number.isNaN(options.end.getTime())) throw new Error(`--end must be a date, got "${values.end}"`);
  const config = loadConfig();
  const db = await openDatabase(config);
  try {
    console.log(`seeding ${db.kind === 'postgres' ? 'PostgreSQL (DATABASE_URL)' : `PGlite in ${config.dataDir}`}: ${options.learners} learners, ${options.utterances} utterances, ${options.groups} groups, seed ${options.seed}`);
    const adminKey = values.org ? null : await bootstrapAdminKey(db.prisma);
    if (adminKey) console.log(`created an organisation and its admin key (shown once):\n  ${adminKey}`);
    const org = values.org
      ? await db.prisma.organization.findUnique({ where: { id: values.org } })
      : await db.prisma.organization.findFirst({ orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
    if (!org) throw new Error(`no organisation ${values.org}`);
    console.log(`organisation: ${org.id} (${org.name})`);
    const result = await writeSeed(db.prisma, { ...options, organizationId: org.id, progress: (line) => console.log(`  ${line}`) });
    console.log(
      `seeded ${result.learners} learners, ${result.utterances} utterances, ${result.assessments} assessments (${result.humanLabels} human), ` +
        `${result.words} word rows, ${result.phonemes} phoneme rows in ${result.seconds.toFixed(1)} s`,
    );
  } finally {
    await db.close();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
