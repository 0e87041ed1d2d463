/**
 * The migration that folds LTI score deliveries into the outbox (20261130090000): a database with
 * rows in the old LtiScoreDelivery table, migrated, keeps every score (same ids) and gets one
 * LTI_SCORE Delivery per score with its status, attempts, next attempt time and last answer, on an
 * event of the assessment's learner (so erasure still reaches it). PGlite and PostgreSQL.
 */
import { rm } from 'node:fs/promises';
import { defaultMigrationsDir } from '../../src/db/client.js';
import { applyMigrations } from '../../src/db/migrate.js';
import { migrationsBefore, rows } from '../support/migrations.js';
import { openTestDatabase, postgresUnavailable, type TestDatabase } from '../support/db.js';

const MIGRATION = '20261130090000_outbox_channels_lti_xapi';
const pgSkip = await postgresUnavailable();

const ORG = '00000000-0000-4000-8000-000000000001';
const LEARNER = '00000000-0000-4000-8000-000000000002';
const UTTERANCE = '00000000-0000-4000-8000-000000000003';
const PLATFORM = '00000000-0000-4000-8000-000000000004';
const ITEM = '00000000-0000-4000-8000-000000000005';
const ASSESSMENTS = ['00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-00000000000b', '00000000-0000-4000-8000-00000000000c'];
const SCORES = ['00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000c1'];

const OLD_ROWS = `
  INSERT INTO "Organization" ("id", "name") VALUES ('${ORG}', 'old');
  INSERT INTO "Learner" ("id", "organizationId", "externalId") VALUES ('${LEARNER}', '${ORG}', 'learner-1');
  INSERT INTO "Utterance" ("id", "organizationId", "learnerId", "referenceText", "referenceWords", "audioSha256", "audioFormat",
                           "audioBytes", "durationMs", "sourceSampleRate", "sourceChannels", "speechMs")
       VALUES ('${UTTERANCE}', '${ORG}', '${LEARNER}', 'We call it bear', '[]', 'abc', 'wav', 10, 1000, 16000, 1, 800);
  INSERT INTO "Assessment" ("id", "organizationId", "utteranceId", "accuracy", "fluency", "prosody", "completeness", "total")
       SELECT a, '${ORG}', '${UTTERANCE}', 7, 7, 7, 10, 7 FROM unnest(ARRAY['${ASSESSMENTS.join("','")}']::uuid[]) AS a;
  INSERT INTO "LtiPlatform" ("id", "organizationId", "name", "issuer", "clientId", "deploymentId", "tokenEndpoint")
       VALUES ('${PLATFORM}', '${ORG}', 'LMS', 'https://lms.example', 'tool', '1', 'https://lms.example/token');
  INSERT INTO "LtiLineItem" ("id", "organizationId", "platformId", "url", "aspect", "scoreMaximum")
       VALUES ('${ITEM}', '${ORG}', '${PLATFORM}', 'https://lms.example/lineitems/1/lineitem', 'TOTAL', 100);
  INSERT INTO "LtiScoreDelivery" ("id", "organizationId", "assessmentId", "lineItemId", "userId", "scoreGiven", "scoreMaximum", "comment",
                                  "scoredAt", "status", "attempts", "nextAttemptAt", "lastError", "lastHttpStatus", "deliveredAt")
  VALUES
    ('${SCORES[0]}', '${ORG}', '${ASSESSMENTS[0]}', '${ITEM}', 'u-pending', 70, 100, 'Good.', '2026-11-30T05:00:00Z', 'PENDING', 2,
     '2026-11-30T06:00:00Z', 'scores endpoint answered 503: busy', 503, NULL),
    ('${SCORES[1]}', '${ORG}', '${ASSESSMENTS[1]}', '${ITEM}', 'u-delivered', 80, 100, NULL, '2026-11-30T05:01:00Z', 'DELIVERED', 1,
     '2026-11-30T05:01:00Z', NULL, 204, '2026-11-30T05:01:02Z'),
    ('${SCORES[2]}', '${ORG}', '${ASSESSMENTS[2]}', '${ITEM}', 'u-failed', 60, 100, NULL, '2026-11-30T05:02:00Z', 'FAILED', 1,
     '2026-11-30T05:02:00Z', 'scores endpoint answered 400: no', 400, NULL);`;

for (const kind of ['pglite', 'postgres'] as const) {
  const d = kind === 'postgres' && pgSkip !== null && !process.env.CI ? describe.skip : describe;
  d(`LTI score deliveries move into the outbox [${kind}]`, () => {
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

    test('pending, delivered and failed scores keep their state as LTI_SCORE deliveries; erasing the learner still removes them', async () => {
      await applyMigrations(db.executor, dir);
      await db.executor.withConnection((c) => c.exec(OLD_ROWS));
      const applied = await applyMigrations(db.executor, defaultMigrationsDir());
      expect(applied.applied).toContain(MIGRATION);

      const scores = await rows(db.executor, `SELECT "id"::text, "userId", "scoreGiven", "comment" FROM "LtiScore" ORDER BY "id"`);
      expect(scores).toEqual([
        { id: SCORES[0], userId: 'u-pending', scoreGiven: 70, comment: 'Good.' },
        { id: SCORES[1], userId: 'u-delivered', scoreGiven: 80, comment: null },
        { id: SCORES[2], userId: 'u-failed', scoreGiven: 60, comment: null },
      ]);
      const deliveries = await rows(db.executor, `
        SELECT d."ltiScoreId"::text AS "score", d."channel"::text, d."status"::text, d."attempts", d."runAfter" = '2026-11-30T06:00:00Z'::timestamptz AS "keptTime",
               d."lastStatusCode", d."lastErrorCode", d."lastError", d."deliveredAt" IS NOT NULL AS "delivered", e."type", e."learnerId"::text AS "learner"
          FROM "Delivery" d JOIN "OutboxEvent" e ON e."id" = d."eventId" ORDER BY d."ltiScoreId"`);
      expect(deliveries).toEqual([
        { score: SCORES[0], channel: 'LTI_SCORE', status: 'PENDING', attempts: 2, keptTime: true, lastStatusCode: 503, lastErrorCode: 'HTTP_STATUS', lastError: 'scores endpoint answered 503: busy', delivered: false, type: 'lti.score', learner: LEARNER },
        { score: SCORES[1], channel: 'LTI_SCORE', status: 'DELIVERED', attempts: 1, keptTime: false, lastStatusCode: 204, lastErrorCode: null, lastError: null, delivered: true, type: 'lti.score', learner: LEARNER },
        { score: SCORES[2], channel: 'LTI_SCORE', status: 'FAILED', attempts: 1, keptTime: false, lastStatusCode: 400, lastErrorCode: 'HTTP_STATUS', lastError: 'scores endpoint answered 400: no', delivered: false, type: 'lti.score', learner: LEARNER },
      ]);
      expect(await rows(db.executor, `SELECT to_regclass('"LtiScoreDelivery"') IS NULL AS "gone"`)).toEqual([{ gone: true }]);

      // Erasure deletes the learner: the events, deliveries and scores about them go with it.
      await db.executor.withConnection((c) => c.exec(`DELETE FROM "Learner" WHERE "id" = '${LEARNER}'`));
      expect(await rows(db.executor, `SELECT (SELECT count(*) FROM "Delivery")::int AS "d", (SELECT count(*) FROM "LtiScore")::int AS "s", (SELECT count(*) FROM "OutboxEvent")::int AS "e"`))
        .toEqual([{ d: 0, s: 0, e: 0 }]);
    });
  });
}
