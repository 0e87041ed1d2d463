import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startTestApp, testDatabases, waitForJob, type TestApp } from '../support/app.js';
import { SHARED_DATA_DIR } from '../support/audio-fixtures.js';
import { describeWithSpeech } from '../support/speech.js';
import { createIntake } from '../../src/app.js';
import { openDatabase } from '../../src/db/client.js';
import { importSpeechOcean, resolveOrganization, type ImportSummary } from '../../src/import/speechocean.js';
import { speechOceanToLabels } from '../../src/rationale/speechocean.js';
import { checkRationale } from '../../src/rationale/check.js';

const DATABASES = await testDatabases();
const DEV = path.join(SHARED_DATA_DIR, 'dev');

const LEARNER = `query($ext: String!) { learnerByExternalId(externalId: $ext) { externalId utterances(first: 10) { edges { node {
  id referenceText audio { format }
  jobs { totalCount edges { node { id status } } }
  humanLabels { rater source sentence { accuracy fluency prosody completeness total }
    words { text accuracy stress total phonemes { symbol accuracy } } }
} } } } }`;
const ASSESSMENT = `query($id: ID!) { job(id: $id) { assessment { source
  rationale { text humanAlignment { humanLabels { rater } flags words { precision recall } phonemes { precision recall } } }
  agreementWithHuman { wordsCompared phonemesCompared } } } }`;

describeWithSpeech('SpeechOcean762 import', () => {
  const scores = JSON.parse(readFileSync(path.join(DEV, 'scores.json'), 'utf8')) as Record<string, any>;
  const ids = Object.keys(scores).slice(0, 3);
  const speakers = new Map(readFileSync(path.join(DEV, 'utt2spk'), 'utf8').trim().split('\n').map((l) => l.split(/\s+/) as [string, string]));

  describe.each(DATABASES)('on %s', (kind) => {
    let t: TestApp;
    let intake: ReturnType<typeof createIntake>;
    let first: ImportSummary;

    beforeAll(async () => {
      t = await startTestApp(kind);
      intake = createIntake(t.config);
    });
    afterAll(async () => {
      await intake?.close();
      await t?.dispose();
    });

    const run = async () => {
      const prisma = t.app.services.prisma;
      const organizationId = await resolveOrganization(prisma, undefined);
      return importSpeechOcean(prisma, intake, { dataDir: DEV, organizationId, learnerPrefix: 'so762-', limit: 3, jobMaxAttempts: 3 });
    };

    test('imports 3 utterances with learners, queued jobs and the dataset labels as HUMAN labels', async () => {
      first = await run();
      expect(first.failed).toEqual([]);
      expect(first.imported).toBe(3);
      expect(first.skipped).toBe(0);
      const bySpeaker = new Map<string, string[]>();
      for (const id of ids) bySpeaker.set(speakers.get(id)!, [...(bySpeaker.get(speakers.get(id)!) ?? []), id]);
      for (const [speaker, uttIds] of bySpeaker) {
        const res = await t.admin.request(LEARNER, { ext: `so762-${speaker}` });
        expect(res.errors).toBeUndefined();
        const nodes = res.data.learnerByExternalId.utterances.edges.map((e: any) => e.node);
        expect(nodes.map((n: any) => n.referenceText).sort()).toEqual(uttIds.map((id) => scores[id].text).sort());
        for (const node of nodes) {
          const id = uttIds.find((u) => scores[u].text === node.referenceText)!;
          const expected = speechOceanToLabels(scores[id]);
          expect(node.audio.format).toBe('flac');
          expect(node.jobs.edges).toHaveLength(1);
          expect(node.jobs.totalCount).toBe(1);
          expect(node.humanLabels).toMatchObject({ source: 'HUMAN', rater: 'speechocean762', sentence: expected.sentence });
          // The dataset's canonical phones are the reference, so every word and phone label is kept.
          expect(node.humanLabels.words.map((w: any) => [w.text, w.accuracy, w.stress, w.total])).toEqual(
            expected.words.map((w) => [w.text, w.accuracy, w.stress, w.total]),
          );
          expect(node.humanLabels.words.map((w: any) => w.phonemes.map((p: any) => [p.symbol, p.accuracy]))).toEqual(
            expected.words.map((w) => w.phonemes.map((p) => [p.symbol, p.accuracy])),
          );
        }
      }
      expect(await t.app.services.prisma.assessment.count({ where: { source: 'HUMAN', words: { none: {} } } })).toBe(0);
    });

    test('the worker checks each model rationale against the imported labels when it writes it', async () => {
      const jobs = await t.app.services.prisma.job.findMany({ include: { utterance: true } });
      expect(jobs).toHaveLength(3);
      // An import is bulk work: workers take learners' submissions (INTERACTIVE) before it.
      expect(jobs.map((j) => j.priority)).toEqual(['BULK', 'BULK', 'BULK']);
      for (const job of jobs) {
        const { toGlobalId } = await import('../../src/graphql/ids.js');
        const jobId = toGlobalId('Job', job.id);
        expect((await waitForJob(t.admin, jobId, 120000)).status).toBe('SUCCEEDED');
        const a = (await t.admin.request(ASSESSMENT, { id: jobId })).data.job.assessment;
        expect(a.source).toBe('MODEL');
        expect(a.rationale.humanAlignment.humanLabels.rater).toBe('speechocean762');
        const uttId = job.utterance.idempotencyKey!.slice('import:'.length);
        const human = speechOceanToLabels(scores[uttId]);
        expect(a.agreementWithHuman.wordsCompared).toBe(human.words.length);
        const expected = checkRationale(a.rationale.text, human);
        expect(a.rationale.humanAlignment.flags).toEqual(expected.flags);
        expect(a.rationale.humanAlignment.words).toEqual({ precision: expected.words.precision, recall: expected.words.recall });
      }
    });

    test('a second run imports nothing twice', async () => {
      const before = await t.app.services.prisma.utterance.count();
      const again = await run();
      expect(again).toEqual({ imported: 0, skipped: 3, failed: [] });
      expect(await t.app.services.prisma.utterance.count()).toBe(before);
      expect(await t.app.services.prisma.learner.count()).toBe(new Set(ids.map((id) => speakers.get(id))).size);
    });
  });

  test("the README's `npm run import` into the embedded database, which it then analyses (PGlite has no autovacuum)", async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'speechmark-import-'));
    try {
      // As after the server's first start: one organisation, which the import then picks.
      const created = await openDatabase({ databaseUrl: undefined, dataDir });
      await created.prisma.organization.create({ data: { name: 'import' } });
      await created.close();
      const { stdout } = await promisify(execFile)('npm', ['run', '-s', 'import', '--', '--data', DEV, '--limit', '51'], {
        env: { ...process.env, NODE_OPTIONS: '', DATABASE_URL: '', SPEECHMARK_DATA_DIR: dataDir },
      });
      expect(stdout).toContain('imported 51, skipped 0 already imported, failed 0');
      expect(stdout).toMatch(/^database maintenance: .*analyze "?Utterance/m);
      // The planner's row count, kept in the catalogue: what the server's first queries are planned on.
      const db = await openDatabase({ databaseUrl: undefined, dataDir });
      try {
        const [row] = await db.executor.withConnection((c) =>
          c.query<{ reltuples: number }>(`SELECT reltuples::float8 AS reltuples FROM pg_class WHERE relname = 'Utterance'`),
        );
        expect(row!.reltuples).toBe(51);
      } finally {
        await db.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test('the npm script refuses a folder without scores.json, with a clear message', async () => {
    await expect(promisify(execFile)('npx', ['tsx', 'scripts/import-dataset.ts', '--data', SHARED_DATA_DIR], {
      env: { ...process.env, NODE_OPTIONS: '' },
    })).rejects.toMatchObject({ stderr: expect.stringContaining('scores.json not found') });
  });
});
