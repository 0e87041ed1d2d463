/**
 * `npm run eval -- --rationales`: the platform's rationales against human raters (issue 12).
 *
 * A split in the dataset's layout is imported with its human labels (src/import/speechocean.ts,
 * the API's write path) into a throwaway PGlite database (in memory, or the folder --keep-db names),
 * the inference worker assesses every utterance as in production, and each model rationale is
 * checked against the utterance's human labels by the current checker (src/rationale/check.ts).
 * The figures, each a ratio of sums over rationales with a speaker-bootstrap 95% interval, are
 * defined in src/rationale/README.md ("Measured against human raters").
 *
 * A --keep-db folder that already holds an evaluated split is reused: the import skips what it
 * has, the worker finds no job, and the stored rationales are checked again, so a change of the
 * checker alone is measured without scoring the audio again.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createWorker, loadInferenceParts } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { MEMORY_DATA_DIR, openDatabase } from '../../src/db/client.js';
import type { PrismaClient } from '../../src/generated/prisma/client.js';
import { checkDatasetDir, importSpeechOcean, type ImportSummary } from '../../src/import/speechocean.js';
import { latestHumanLabels } from '../../src/assessment/human.js';
import { rationaleAnalytics } from '../../src/analytics/trust.js';
import { checkRationaleDetailed } from '../../src/rationale/check.js';
import { log as serverLog } from '../../src/ops/log.js';
import type { RationaleFlag } from '../../src/types.js';
import { ratioWithCI, speakerDraws } from './stats.js';

export interface RationaleEvalOptions {
  dataDir: string;
  modelDir: string;
  providers: string[];
  /** The first N utterances of scores.json; 0 for all. */
  limit: number;
  /** PGlite folder to keep (and reuse); null for an in-memory database. */
  keepDb: string | null;
  draws: number;
  seed: number;
  log: (line: string) => void;
}

/** The learner's externalId is this prefix and the speaker id (utt2spk). */
const LEARNER_PREFIX = 'so762-';

/** One model rationale read against the human labels of its utterance. */
export interface CheckedRationale {
  utteranceId: string;
  speaker: string;
  text: string;
  /** Flags of the check against the model's own labels, as the worker stored them. */
  selfFlags: string[];
  humanFlags: RationaleFlag[];
  words: TokenCounts;
  phonemes: TokenCounts;
}

export interface TokenCounts {
  /** distinct criticised tokens, and those the human labels bear out */
  criticised: number;
  criticisedAgreeing: number;
  /** error positions in the human labels, and those the rationale criticises */
  errorTokens: number;
  errorTokensCriticised: number;
}

/** Rows of the table, in order: the JSON key under `rationale.vs_human.` and its caption. */
export const FIGURES = [
  ['sentiment_mismatch', 'sentiment mismatch (share of rationales)'],
  ['missed_errors', 'missed errors (share of rationales)'],
  ['unsupported_phoneme_critique', 'unsupported phoneme critique (share)'],
  ['unsupported_word_critique', 'unsupported word critique (share)'],
  ['contradicted_praise', 'contradicted praise (share)'],
  ['words.precision', 'words criticised: precision'],
  ['words.recall', 'words criticised: recall'],
  ['phonemes.precision', 'phonemes criticised: precision'],
  ['phonemes.recall', 'phonemes criticised: recall'],
] as const;
export type Figure = (typeof FIGURES)[number][0];

const FLAG_OF: Partial<Record<Figure, RationaleFlag>> = {
  sentiment_mismatch: 'SENTIMENT_MISMATCH',
  missed_errors: 'MISSED_ERRORS',
  unsupported_phoneme_critique: 'UNSUPPORTED_PHONEME_CRITIQUE',
  unsupported_word_critique: 'UNSUPPORTED_WORD_CRITIQUE',
  contradicted_praise: 'CONTRADICTED_PRAISE',
};

/** Numerator and denominator one rationale adds to a figure. */
export function contribution(r: CheckedRationale, figure: Figure): [number, number] {
  const flag = FLAG_OF[figure];
  if (flag) return [r.humanFlags.includes(flag) ? 1 : 0, 1];
  const level = figure.startsWith('words') ? r.words : r.phonemes;
  return figure.endsWith('precision')
    ? [level.criticisedAgreeing, level.criticised]
    : [level.errorTokensCriticised, level.errorTokens];
}

export interface RationaleReport {
  data: string;
  utterances: number;
  importFailed: ImportSummary['failed'];
  /** jobs that did not succeed (failed, or still waiting to be retried) */
  jobsFailed: number;
  rationales: number;
  speakers: number;
  /** share of rationales with any flag against the model's own labels (goal: 0) */
  selfFlagged: number;
  figures: Record<Figure, { value: number; ci95: [number, number]; n: number }>;
  /** rationaleAnalytics(...).vsHuman for the same rows: means of per-rationale precision/recall */
  analytics: { words: { precision: number | null; recall: number | null }; phonemes: { precision: number | null; recall: number | null } } | null;
}

function evalConfig(o: RationaleEvalOptions, audioDir: string): Config {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SPEECHMARK_DATA_DIR: o.keepDb ?? MEMORY_DATA_DIR,
    SPEECHMARK_AUDIO_DIR: audioDir,
    SPEECHMARK_MODEL_DIR: o.modelDir,
    SPEECHMARK_EXECUTION_PROVIDERS: o.providers.join(','),
  };
  delete env.DATABASE_URL; // always a throwaway PGlite database, never the server's
  const config = loadConfig(env);
  // loadConfig resolves a data dir against the working directory; memory:// must stay as it is
  return { ...config, dataDir: o.keepDb ? path.resolve(o.keepDb) : MEMORY_DATA_DIR, workerPollMs: 50 };
}

async function organizationId(prisma: PrismaClient): Promise<string> {
  const existing = await prisma.organization.findFirst({ orderBy: { createdAt: 'asc' }, select: { id: true } });
  return existing?.id ?? (await prisma.organization.create({ data: { name: 'speechmark eval' } })).id;
}

/** The idempotency keys the importer gives the split's utterances (the first `limit`, as it imports them). */
function importKeys(dataDir: string, limit: number): string[] {
  const ids = Object.keys(JSON.parse(readFileSync(path.join(dataDir, 'scores.json'), 'utf8')) as Record<string, unknown>);
  return (limit > 0 ? ids.slice(0, limit) : ids).map((id) => `import:${id}`);
}

/**
 * The latest model rationale of each utterance with one of `keys` (as imported; all utterances
 * when null), checked against the utterance's latest human labels.
 */
export async function readCheckedRationales(prisma: PrismaClient, keys: string[] | null = null): Promise<CheckedRationale[]> {
  const rows = await prisma.assessment.findMany({
    where: { source: 'MODEL', rationale: { isNot: null }, ...(keys ? { utterance: { idempotencyKey: { in: keys } } } : {}) },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    select: {
      organizationId: true, utteranceId: true,
      rationale: { select: { text: true, flags: true } },
      utterance: { select: { learner: { select: { externalId: true } } } },
    },
  });
  const latest = new Map<string, (typeof rows)[number]>();
  for (const r of rows) if (!latest.has(r.utteranceId)) latest.set(r.utteranceId, r);
  const out: CheckedRationale[] = [];
  for (const r of [...latest.values()].sort((a, b) => a.utteranceId.localeCompare(b.utteranceId))) {
    const human = await latestHumanLabels(prisma, r.organizationId, r.utteranceId);
    if (!human?.words) continue; // sentence-only labels judge no words or phonemes
    const text = r.rationale!.text;
    const check = checkRationaleDetailed(text, { sentence: human.sentence, words: human.words });
    const counts = (level: 'words' | 'phonemes'): TokenCounts => ({
      criticised: check[level].criticised.length,
      criticisedAgreeing: check.criticisedAgreeing[level].length,
      errorTokens: check[level].errorTokens,
      errorTokensCriticised: check[level].errorTokensCriticised,
    });
    out.push({
      utteranceId: r.utteranceId,
      speaker: r.utterance.learner.externalId.slice(LEARNER_PREFIX.length),
      text,
      selfFlags: r.rationale!.flags,
      humanFlags: check.flags,
      words: counts('words'),
      phonemes: counts('phonemes'),
    });
  }
  return out;
}

/** Each figure as a ratio of sums over rationales, with its speaker-bootstrap interval. */
export function figuresOf(rationales: readonly CheckedRationale[], draws: number, seed: number): RationaleReport['figures'] {
  const speakers = [...new Set(rationales.map((r) => r.speaker))].sort();
  const index = new Map(speakers.map((s, i) => [s, i]));
  const resamples = speakerDraws(speakers.length, draws, seed);
  const out = {} as RationaleReport['figures'];
  for (const [figure] of FIGURES) {
    const num = new Array<number>(speakers.length).fill(0);
    const den = new Array<number>(speakers.length).fill(0);
    for (const r of rationales) {
      const [n, d] = contribution(r, figure);
      num[index.get(r.speaker)!]! += n;
      den[index.get(r.speaker)!]! += d;
    }
    out[figure] = { ...ratioWithCI(num, den, resamples), n: den.reduce((a, b) => a + b, 0) };
  }
  return out;
}

/** Import, assess with the worker until the queue is empty, and read every rationale back. */
export async function runRationaleEval(o: RationaleEvalOptions): Promise<RationaleReport> {
  checkDatasetDir(o.dataDir);
  // the worker's per-job info lines would mix with the report on stdout; warnings still reach stderr
  serverLog.configure({ level: 'warn' });
  const tempAudio = o.keepDb ? null : await mkdtemp(path.join(os.tmpdir(), 'speechmark-eval-audio-'));
  const config = evalConfig(o, tempAudio ?? path.join(path.resolve(o.keepDb!), 'audio'));
  const parts = await loadInferenceParts(config);
  const db = await openDatabase(config);
  try {
    const orgId = await organizationId(db.prisma);
    const summary = await importSpeechOcean(db.prisma, parts.intake, {
      dataDir: o.dataDir, organizationId: orgId, learnerPrefix: LEARNER_PREFIX,
      ...(o.limit > 0 ? { limit: o.limit } : {}), jobMaxAttempts: config.jobMaxAttempts,
      log: (line) => { if (/FAILED|00\//.test(line)) o.log(`import ${line}`); },
    });
    o.log(`imported ${summary.imported}, already there ${summary.skipped}, failed ${summary.failed.length}; assessing`);
    const worker = createWorker(config, { prisma: db.prisma, ...parts });
    worker.start();
    await worker.drain();
    await worker.stop({ graceful: true });
    // a kept database may hold more of the split than this run asked for (an earlier run without --limit)
    const rationales = await readCheckedRationales(db.prisma, importKeys(o.dataDir, o.limit));
    const [trust] = await rationaleAnalytics(db.prisma, orgId);
    return {
      data: o.dataDir,
      utterances: summary.imported + summary.skipped,
      importFailed: summary.failed,
      jobsFailed: await db.prisma.job.count({ where: { status: { not: 'SUCCEEDED' } } }),
      rationales: rationales.length,
      speakers: new Set(rationales.map((r) => r.speaker)).size,
      selfFlagged: rationales.length === 0 ? NaN : rationales.filter((r) => r.selfFlags.length > 0).length / rationales.length,
      figures: figuresOf(rationales, o.draws, o.seed),
      analytics: trust ? { words: trust.vsHuman.words, phonemes: trust.vsHuman.phonemes } : null,
    };
  } finally {
    await parts.intake.close();
    await db.close();
    if (tempAudio) await rm(tempAudio, { recursive: true, force: true });
  }
}

/** Flat JSON keyed `rationale.vs_human.<figure>` (a fraction), `…_ci95` and `….n` (its denominator). */
export function rationaleJson(r: RationaleReport): Record<string, unknown> {
  const out: Record<string, unknown> = {
    data: r.data,
    'rationale.utterances': r.utterances,
    'rationale.import_failed': r.importFailed.length,
    'rationale.jobs_failed': r.jobsFailed,
    'rationale.rationales': r.rationales,
    'rationale.speakers': r.speakers,
    'rationale.self.flagged': r.selfFlagged,
  };
  for (const [figure] of FIGURES) {
    const f = r.figures[figure];
    out[`rationale.vs_human.${figure}`] = f.value;
    out[`rationale.vs_human.${figure}_ci95`] = f.ci95;
    out[`rationale.vs_human.${figure}.n`] = f.n;
  }
  if (r.analytics) {
    out['rationale.vs_human.analytics.words.precision_mean'] = r.analytics.words.precision;
    out['rationale.vs_human.analytics.words.recall_mean'] = r.analytics.words.recall;
    out['rationale.vs_human.analytics.phonemes.precision_mean'] = r.analytics.phonemes.precision;
    out['rationale.vs_human.analytics.phonemes.recall_mean'] = r.analytics.phonemes.recall;
  }
  return out;
}

const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : 'n/a');

/** The table in markdown. */
export function rationaleText(r: RationaleReport): string {
  const lines = [
    `Rationales vs human labels: ${r.rationales} rationales, ${r.speakers} speakers (${r.data})`,
    `import failures ${r.importFailed.length}, failed jobs ${r.jobsFailed}, rationales flagged by their own check ${fmt(r.selfFlagged)}`,
    '',
    '| vs human labels | value | 95% CI (speaker bootstrap) | n |',
    '| --- | --- | --- | --- |',
    ...FIGURES.map(([k, caption]) => {
      const f = r.figures[k];
      return `| ${caption} | ${fmt(f.value)} | [${fmt(f.ci95[0])}, ${fmt(f.ci95[1])}] | ${f.n} |`;
    }),
  ];
  return lines.join('\n') + '\n';
}
