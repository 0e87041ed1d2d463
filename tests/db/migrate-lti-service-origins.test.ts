/**
 * The backfill of LtiPlatform.serviceOrigins (20261206130000): platforms registered before their
 * credentials were bound to origins get the origins their stored token endpoint and line item URLs
 * are on, so grades and roster syncs go on through the deploy; a platform all on its issuer's origin
 * gets none; a list already set is left alone. Each stored URL is then bound by the very check the
 * token client makes (src/lti/origins.ts). PGlite and PostgreSQL.
 */
import { rm } from 'node:fs/promises';
import { defaultMigrationsDir } from '../../src/db/client.js';
import { applyMigrations } from '../../src/db/migrate.js';
import { requireBound } from '../../src/lti/origins.js';
import { migrationsBefore, rows } from '../support/migrations.js';
import { openTestDatabase, postgresUnavailable, type TestDatabase } from '../support/db.js';

const MIGRATION = '20261206130000_lti_service_origins_backfill';
const pgSkip = await postgresUnavailable();

const ORG = '00000000-0000-4000-8000-000000000001';
const CANVAS = '00000000-0000-4000-8000-0000000000c1';
const MOODLE = '00000000-0000-4000-8000-0000000000d1';
const LISTED = '00000000-0000-4000-8000-0000000000e1';

const OLD_ROWS = `
  INSERT INTO "Organization" ("id", "name") VALUES ('${ORG}', 'old');
  INSERT INTO "LtiPlatform" ("id", "organizationId", "name", "issuer", "clientId", "deploymentId", "tokenEndpoint", "serviceOrigins") VALUES
    ('${CANVAS}', '${ORG}', 'Canvas', 'https://canvas.instructure.com', 'tool', '1', 'https://SSO.canvaslms.com/login/oauth2/token', '{}'),
    ('${MOODLE}', '${ORG}', 'Moodle', 'https://moodle.school.example', 'tool', '1', 'https://moodle.school.example/mod/lti/token.php', '{}'),
    ('${LISTED}', '${ORG}', 'Listed', 'https://lms.example', 'tool', '1', 'https://auth.example/token', '{https://auth.example}');
  INSERT INTO "LtiLineItem" ("id", "organizationId", "platformId", "url", "aspect", "scoreMaximum") VALUES
    (gen_random_uuid(), '${ORG}', '${CANVAS}', 'https://school.instructure.com:443/api/lti/courses/1/line_items/7', 'TOTAL', 100),
    (gen_random_uuid(), '${ORG}', '${CANVAS}', 'https://school.instructure.com/api/lti/courses/2/line_items/9#x', 'ACCURACY', 100),
    (gen_random_uuid(), '${ORG}', '${CANVAS}', 'https://canvas.instructure.com/api/lti/courses/3/line_items/1', 'TOTAL', 100),
    (gen_random_uuid(), '${ORG}', '${MOODLE}', 'https://moodle.school.example/mod/lti/services.php/2/lineitems/5/lineitem?type_id=1', 'TOTAL', 100),
    (gen_random_uuid(), '${ORG}', '${LISTED}', 'https://other.example/lineitems/1', 'TOTAL', 100);`;

for (const kind of ['pglite', 'postgres'] as const) {
  const d = kind === 'postgres' && pgSkip !== null && !process.env.CI ? describe.skip : describe;
  d(`LTI platforms keep their stored service addresses through the origin binding [${kind}]`, () => {
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

    test("each platform's serviceOrigins hold the other origins its stored addresses are on, in URL's form; a list already set stays", async () => {
      await applyMigrations(db.executor, dir);
      await db.executor.withConnection((c) => c.exec(OLD_ROWS));
      expect((await applyMigrations(db.executor, defaultMigrationsDir())).applied).toContain(MIGRATION);

      const platforms = await rows(db.executor, `SELECT "id"::text, "issuer", "tokenEndpoint", "serviceOrigins" FROM "LtiPlatform" ORDER BY "name"`);
      expect(platforms.map((p) => [p.id, p.serviceOrigins])).toEqual([
        [CANVAS, ['https://school.instructure.com', 'https://sso.canvaslms.com']],
        [LISTED, ['https://auth.example']],
        [MOODLE, []],
      ]);
      // What the token client checks before every request now passes for every stored address of
      // the backfilled platforms (the one whose list was set is checked as it was).
      const items = await rows(db.executor, `SELECT "platformId"::text AS "platform", "url" FROM "LtiLineItem"`);
      for (const p of platforms.filter((x) => x.id !== LISTED)) {
        const bound = { issuer: p.issuer as string, serviceOrigins: p.serviceOrigins as string[] };
        expect(() => requireBound(bound, 'tokenEndpoint', p.tokenEndpoint as string)).not.toThrow();
        for (const item of items.filter((i) => i.platform === p.id)) expect(() => requireBound(bound, 'lineItem', item.url as string)).not.toThrow();
      }
    });
  });
}
