/**
 * Writes the generated history (./generate.ts) in bulk: one INSERT ... SELECT FROM unnest(arrays)
 * per table per batch, each batch in its own transaction (Prisma's raw queries: the same on PGlite
 * and PostgreSQL, and usable on a running server's client in tests). Word, phoneme and rationale ids are derived in SQL (md5 of the assessment id and
 * position), so the whole history is deterministic and little is sent per row.
 */
import type { PrismaClient } from '../generated/prisma/client.js';
import { checkRationale } from '../rationale/check.js';
import { generateRationale } from '../rationale/generate.js';
import { addNewLearners } from '../analytics/rollup.js';
import { markSuperseded } from '../assessment/persist.js';
import {
  SEED_AUDIO_FORMAT,
  SEED_AUDIO_SHA256,
  SEED_MODEL_NAME,
  seedGroups,
  seedLearner,
  seedUtterances,
  utteranceCounts,
  type SeedLearner,
  type SeedOptions,
  type SeedUtterance,
} from './generate.js';

export interface SeedResult {
  learners: number;
  utterances: number;
  assessments: number;
  words: number;
  phonemes: number;
  humanLabels: number;
  seconds: number;
}

/** One raw statement with $n parameters (arrays for unnest). */
interface Sql {
  query(sql: string, params: unknown[]): Promise<unknown[]>;
}
type Raw = Pick<PrismaClient, '$queryRawUnsafe'>;
const sqlOf = (p: Raw): Sql => ({ query: (sql, params) => p.$queryRawUnsafe(sql, ...params) });
const q = (conn: Sql, sql: string, params: unknown[]) => conn.query(sql, params);

async function insertLearners(conn: Sql, org: string, learners: SeedLearner[]) {
  await q(
    conn,
    `INSERT INTO "Learner" ("id","organizationId","externalId","displayName","groups","createdAt")
     SELECT id, $1::uuid, ext, name, string_to_array(g, ','), at
     FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::timestamptz[]) AS t(id, ext, name, g, at)`,
    [org, learners.map((l) => l.id), learners.map((l) => l.externalId), learners.map((l) => l.displayName), learners.map((l) => l.groups.join(',')), learners.map((l) => l.createdAt.toISOString())],
  );
}

const columns = (n: number): unknown[][] => Array.from({ length: n }, () => []);

class Batch {
  // One array per unnest() column of each INSERT below.
  utt = columns(6);
  job = columns(5);
  asm = columns(13);
  word = columns(6);
  ph = columns(5);
  rat = columns(11);
  size = 0;
  counts = { assessments: 0, words: 0, phonemes: 0, humanLabels: 0 };

  add(learnerId: string, u: SeedUtterance) {
    this.size++;
    const push = (cols: unknown[][], values: unknown[]) => values.forEach((v, i) => cols[i]!.push(v));
    push(this.utt, [u.id, learnerId, u.referenceText, JSON.stringify(u.referenceWords), u.durationMs, u.createdAt.toISOString()]);
    for (const a of u.assessments) {
      this.counts.assessments++;
      if (a.source === 'HUMAN') this.counts.humanLabels++;
      const at = a.createdAt.toISOString();
      if (a.jobId) {
        const queued = new Date(a.createdAt.getTime() - 1200).toISOString();
        push(this.job, [a.jobId, u.id, a === u.assessments[0] ? null : a.modelVersion, queued, at]);
      }
      const s = a.labels.sentence;
      push(this.asm, [a.id, u.id, a.jobId, a.source, a.modelVersion, s.accuracy, s.fluency, s.prosody, s.completeness, s.total, a.source === 'MODEL' ? 300 + (s.total * 37) % 400 : null, a.rater, at]);
      a.labels.words.forEach((w, wi) => {
        this.counts.words++;
        push(this.word, [a.id, wi, w.text, w.accuracy, w.stress, w.total]);
        w.phonemes.forEach((p, pi) => {
          this.counts.phonemes++;
          push(this.ph, [a.id, wi, pi, p.symbol, p.accuracy]);
        });
      });
      if (a.source === 'MODEL') {
        const text = generateRationale(a.labels);
        const c = checkRationale(text, a.labels);
        push(this.rat, [a.id, text, c.flags.join(','), JSON.stringify(c.plausibility), JSON.stringify(c.words), JSON.stringify(c.phonemes), c.words.precision, c.words.recall, c.phonemes.precision, c.phonemes.recall, at]);
      }
    }
  }

  async flush(prisma: PrismaClient, org: string) {
    if (!this.size) return;
    await prisma.$transaction(async (tx) => {
      const conn = sqlOf(tx);
      await q(
        conn,
        `INSERT INTO "Utterance" ("id","organizationId","learnerId","referenceText","referenceWords","audioSha256","audioFormat","audioBytes","durationMs","sourceSampleRate","sourceChannels","speechMs","createdAt","learnerGroups")
         SELECT id, $1::uuid, learner, txt, words::jsonb, $8, $9, 32 * dur, dur, 16000, 1, (dur * 85) / 100, at,
                -- the groups snapshot a submission takes (the seeded learners keep theirs throughout)
                (SELECT l."groups" FROM "Learner" l WHERE l."id" = learner)
         FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::int[], $7::timestamptz[]) AS t(id, learner, txt, words, dur, at)`,
        [org, ...this.utt, SEED_AUDIO_SHA256, SEED_AUDIO_FORMAT],
      );
      await q(
        conn,
        `INSERT INTO "Job" ("id","organizationId","utteranceId","status","requestedModelVersion","attempts","maxAttempts","runAfter","createdAt","startedAt","finishedAt")
         SELECT id, $1::uuid, utt, 'SUCCEEDED', ver, 1, 3, queued, queued, queued + interval '200 milliseconds', done
         FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[], $6::timestamptz[]) AS t(id, utt, ver, queued, done)`,
        [org, ...this.job],
      );
      await q(
        conn,
        `INSERT INTO "Assessment" ("id","organizationId","utteranceId","jobId","source","modelName","modelVersion","executionProvider","accuracy","fluency","prosody","completeness","total","inferenceMs","rater","createdAt")
         SELECT id, $1::uuid, utt, job, src::"LabelSource", CASE WHEN src = 'MODEL' THEN $15 END, ver, CASE WHEN src = 'MODEL' THEN 'cpu' END, acc, flu, pro, com, tot, ms, rater, at
         FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::int[], $8::int[], $9::int[], $10::int[], $11::int[], $12::int[], $13::text[], $14::timestamptz[])
           AS t(id, utt, job, src, ver, acc, flu, pro, com, tot, ms, rater, at)`,
        [org, ...this.asm, SEED_MODEL_NAME],
      );
      await q(
        conn,
        `INSERT INTO "WordAssessment" ("id","organizationId","assessmentId","index","text","accuracy","stress","total")
         SELECT md5(asm::text || ':w' || wi)::uuid, $1::uuid, asm, wi, txt, acc, st, tot
         FROM unnest($2::uuid[], $3::int[], $4::text[], $5::int[], $6::int[], $7::int[]) AS t(asm, wi, txt, acc, st, tot)`,
        [org, ...this.word],
      );
      await q(
        conn,
        `INSERT INTO "PhonemeAssessment" ("id","organizationId","assessmentId","wordAssessmentId","index","symbol","accuracy")
         SELECT md5(asm::text || ':p' || wi || ':' || pi)::uuid, $1::uuid, asm, md5(asm::text || ':w' || wi)::uuid, pi, sym, acc
         FROM unnest($2::uuid[], $3::int[], $4::int[], $5::text[], $6::float8[]) AS t(asm, wi, pi, sym, acc)`,
        [org, ...this.ph],
      );
      await q(
        conn,
        `INSERT INTO "Rationale" ("id","organizationId","assessmentId","text","flags","plausibility","wordCheck","phonemeCheck","wordPrecision","wordRecall","phonemePrecision","phonemeRecall","createdAt")
         SELECT md5(asm::text || ':r')::uuid, $1::uuid, asm, txt, string_to_array(fl, ','), pl::jsonb, wc::jsonb, pc::jsonb, wp, wr, pp, pr, at
         FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::float8[], $9::float8[], $10::float8[], $11::float8[], $12::timestamptz[])
           AS t(asm, txt, fl, pl, wc, pc, wp, wr, pp, pr, at)`,
        [org, ...this.rat],
      );
      // Raw inserts bypass writeAssessment: the re-assessed utterances' earlier assessments marked as it marks them.
      await markSuperseded(tx, org, this.utt[0] as string[]);
    }, { timeout: 300_000, maxWait: 60_000 });
  }
}

export interface WriteSeedOptions extends SeedOptions {
  organizationId: string;
  /** Utterances per transaction. */
  batchSize?: number;
  progress?: (line: string) => void;
}

/** Writes the whole history into `organizationId`; refuses when its learners are already there. */
export async function writeSeed(prisma: PrismaClient, o: WriteSeedOptions): Promise<SeedResult> {
  const started = performance.now();
  const log = o.progress ?? (() => {});
  const groups = seedGroups(o);
  const counts = utteranceCounts(o);
  const learners = counts.map((n, i) => seedLearner(o, i, n, groups));
  const batchSize = o.batchSize ?? 1000;
  const conn = sqlOf(prisma);
  const existing = (await conn.query(
    `SELECT count(*)::int AS n FROM "Learner" WHERE "organizationId" = $1::uuid AND "externalId" = ANY($2::text[])`,
    [o.organizationId, learners.slice(0, 1000).map((l) => l.externalId)],
  )) as { n: number }[];
  if (existing[0]!.n > 0) throw new Error(`organisation ${o.organizationId} already has seeded learners (${learners[0]!.externalId}, ...): seed an empty organisation or database`);
  for (let i = 0; i < learners.length; i += 5000) await insertLearners(conn, o.organizationId, learners.slice(i, i + 5000));
  log(`learners: ${learners.length} in ${groups.length} groups`);
  const total = { assessments: 0, words: 0, phonemes: 0, humanLabels: 0 };
  let written = 0;
  let nextReport = 0.1;
  let batch = new Batch();
  const flush = async () => {
    await batch.flush(prisma, o.organizationId);
    written += batch.size;
    for (const k of Object.keys(total) as (keyof typeof total)[]) total[k] += batch.counts[k];
    batch = new Batch();
    if (written / o.utterances >= nextReport) {
      const s = (performance.now() - started) / 1000;
      log(`utterances: ${written}/${o.utterances} (${((100 * written) / o.utterances).toFixed(0)}%), ${total.words} words, ${total.phonemes} phonemes, ${s.toFixed(1)} s, ${(written / s).toFixed(0)} utterances/s`);
      while (nextReport <= written / o.utterances) nextReport += 0.1;
    }
  };
  for (const learner of learners) {
    for (const u of seedUtterances(o, learner)) {
      batch.add(learner.id, u);
      if (batch.size >= batchSize) await flush();
    }
  }
  await flush();
  // Fresh statistics, so the planner sees the new row counts straight away.
  const analyze = async (tables: string[]) => {
    for (const table of tables) await prisma.$executeRawUnsafe(`ANALYZE "${table}"`);
  };
  await analyze(['Learner', 'Utterance', 'Job', 'Assessment', 'WordAssessment', 'PhonemeAssessment', 'Rationale']);
  // The learner rollups (sounds, scores) of the new learners, by the same SQL as the completing transaction's: once at
  // the end, one hash-joined pass (per batch, each pass re-read the growing tables).
  await prisma.$transaction((tx) => addNewLearners(tx, o.organizationId, learners.map((l) => l.id)), { timeout: 3_600_000, maxWait: 60_000 });
  await analyze(['LearnerSoundRollup', 'LearnerSoundWordRollup', 'LearnerScoreRollup']);
  log('learner rollups written');
  return { learners: learners.length, utterances: written, ...total, seconds: (performance.now() - started) / 1000 };
}
