/**
 * The migration that adds Assessment.supersededAt (20261204190000): a database with an utterance
 * assessed three times by the model and once by a rater, and another assessed once, migrated: each
 * model assessment but an utterance's latest is superseded at the next one's time (of two made at
 * once, the larger id is the later); the latest and the human labels are not. PGlite and PostgreSQL.
 */
import { rm } from 'node:fs/promises';
import { defaultMigrationsDir } from '../../src/db/client.js';
import { applyMigrations } from '../../src/db/migrate.js';
import { migrationsBefore, rows } from '../support/migrations.js';
import { openTestDatabase, postgresUnavailable, type TestDatabase } from '../support/db.js';

const MIGRATION = '20261204190000_assessment_superseded';
const pgSkip = await postgresUnavailable();

const ORG = '00000000-0000-4000-8000-000000000001';
const LEARNER = '00000000-0000-4000-8000-000000000002';
const TWICE = '00000000-0000-4000-8000-000000000003';
const ONCE = '00000000-0000-4000-8000-000000000004';
const TIED = '00000000-0000-4000-8000-000000000005';

const OLD_ROWS = `
  INSERT INTO "Organization" ("id", "name") VALUES ('${ORG}', 'old');
  INSERT INTO "Learner" ("id", "organizationId", "externalId") VALUES ('${LEARNER}', '${ORG}', 'learner-1');
  INSERT INTO "Utterance" ("id", "organizationId", "learnerId", "referenceText", "referenceWords", "audioSha256", "audioFormat",
                           "audioBytes", "durationMs", "sourceSampleRate", "sourceChannels", "speechMs")
       SELECT u, '${ORG}', '${LEARNER}', 'We call it bear', '[]', 'abc', 'wav', 10, 1000, 16000, 1, 800 FROM unnest(ARRAY['${TWICE}', '${ONCE}', '${TIED}']::uuid[]) AS u;
  INSERT INTO "Assessment" ("id", "organizationId", "utteranceId", "source", "accuracy", "fluency", "prosody", "completeness", "total", "createdAt")
  VALUES
    ('00000000-0000-4000-8000-00000000000a', '${ORG}', '${TWICE}', 'MODEL', 7, 7, 7, 10, 7, '2026-11-30T05:00:00Z'),
    ('00000000-0000-4000-8000-00000000000c', '${ORG}', '${TWICE}', 'MODEL', 7, 7, 7, 10, 7, '2026-11-30T07:00:00Z'),
    ('00000000-0000-4000-8000-00000000000b', '${ORG}', '${TWICE}', 'MODEL', 7, 7, 7, 10, 7, '2026-11-30T06:00:00Z'),
    ('00000000-0000-4000-8000-00000000000d', '${ORG}', '${TWICE}', 'HUMAN', 7, 7, 7, 10, 7, '2026-11-30T08:00:00Z'),
    ('00000000-0000-4000-8000-00000000000e', '${ORG}', '${ONCE}', 'MODEL', 7, 7, 7, 10, 7, '2026-11-30T05:30:00Z'),
    -- the same time: the larger id is the later, as every reader orders them (createdAt DESC, id DESC)
    ('00000000-0000-4000-8000-000000000012', '${ORG}', '${TIED}', 'MODEL', 7, 7, 7, 10, 7, '2026-11-30T09:00:00Z'),
    ('00000000-0000-4000-8000-000000000011', '${ORG}', '${TIED}', 'MODEL', 7, 7, 7, 10, 7, '2026-11-30T09:00:00Z');`;

for (const kind of ['pglite', 'postgres'] as const) {
  const d = kind === 'postgres' && pgSkip !== null && !process.env.CI ? describe.skip : describe;
  d(`model assessments replaced by a re-assessment are marked [${kind}]`, () => {
    let db: TestDatabase;
    let dir: string;
    beforeAll(async () => {
      db = await openTestDatabase(kind, { migrate: false });
      dir = await migrationsBefore(MIGRATION);
    });
    afterAll(async () => {
      await db?.close();
      await rm(dir, { recursive: true, force: true });
    });

    test("each but an utterance's latest model assessment superseded at the next one's time; human labels never", async () => {
      await applyMigrations(db.executor, dir);
      await db.executor.withConnection((c) => c.exec(OLD_ROWS));
      expect((await applyMigrations(db.executor, defaultMigrationsDir())).applied).toContain(MIGRATION);
      const marked = await rows(db.executor, `
        SELECT right("id"::text, 1) AS "id", to_char("supersededAt" AT TIME ZONE 'UTC', 'HH24:MI') AS "at" FROM "Assessment" ORDER BY "id"`);
      expect(marked).toEqual([
        { id: '1', at: '09:00' },
        { id: '2', at: null },
        { id: 'a', at: '06:00' },
        { id: 'b', at: '07:00' },
        { id: 'c', at: null },
        { id: 'd', at: null },
        { id: 'e', at: null },
      ]);
    });
  });
}
