/**
 * Imports a SpeechOcean762-layout folder (scores.json, utt2spk, audio) as learners, utterances,
 * queued assessment jobs and HUMAN labels. Each recording goes through submitRecording, the API's
 * own write path, so an imported utterance is exactly what a submit of the same recording stores.
 *
 * Idempotent per utterance (idempotencyKey "import:<utt id>"); each utterance is one transaction.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { Intake } from '../intake.js';
import { isAppError } from '../errors.js';
import { submitRecording } from '../assessment/submit.js';
import { speechOceanToLabels, SpeechOceanFormatError } from '../rationale/speechocean.js';
import { validateHumanLabels, writeHumanLabels, type HumanLabelsInput } from '../assessment/human.js';
import type { AssessmentLabels, ReferenceWord } from '../types.js';
import { ensureLearner } from '../learners/create.js';
import { cliActor } from '../admin/audit.js';

export const IMPORT_RATER = 'speechocean762';

export interface ImportOptions {
  dataDir: string;
  organizationId: string;
  /** Prepended to the speaker id to make the learner's externalId. */
  learnerPrefix: string;
  limit?: number;
  jobMaxAttempts: number;
  log?: (line: string) => void;
}

export interface ImportSummary {
  imported: number;
  /** Already imported by an earlier run. */
  skipped: number;
  failed: { id: string; reason: string }[];
}

/** Kaldi-style "<key> <value...>" lines. */
async function readKeyValues(file: string): Promise<Map<string, string>> {
  const text = await readFile(file, 'utf8');
  const map = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+(.+?)\s*$/.exec(line);
    if (m) map.set(m[1]!, m[2]!);
  }
  return map;
}

interface Dataset {
  dir: string;
  scores: Record<string, unknown>;
  utt2spk: Map<string, string>;
  wavScp: Map<string, string> | null;
}

/** Throws, naming the missing file, unless `dir` looks like a SpeechOcean762 split folder. */
export function checkDatasetDir(dir: string): void {
  const scoresPath = path.join(dir, 'scores.json');
  if (!existsSync(scoresPath)) throw new Error(`${scoresPath} not found: --data must point at a SpeechOcean762 split folder.`);
  const utt2spkPath = path.join(dir, 'utt2spk');
  if (!existsSync(utt2spkPath)) throw new Error(`${utt2spkPath} not found: it names each utterance's speaker.`);
}

async function loadDataset(dir: string): Promise<Dataset> {
  checkDatasetDir(dir);
  const scoresPath = path.join(dir, 'scores.json');
  const utt2spkPath = path.join(dir, 'utt2spk');
  const scpPath = path.join(dir, 'wav.scp');
  return {
    dir,
    scores: JSON.parse(await readFile(scoresPath, 'utf8')) as Record<string, unknown>,
    utt2spk: await readKeyValues(utt2spkPath),
    wavScp: existsSync(scpPath) ? await readKeyValues(scpPath) : null,
  };
}

/** DIR/audio/<id>.flac|wav, then DIR/../audio/<id>.flac|wav, then DIR/wav.scp. */
function audioPath(ds: Dataset, id: string): string {
  for (const base of [path.join(ds.dir, 'audio'), path.join(ds.dir, '..', 'audio')]) {
    for (const ext of ['flac', 'wav']) {
      const p = path.join(base, `${id}.${ext}`);
      if (existsSync(p)) return p;
    }
  }
  const entry = ds.wavScp?.get(id);
  if (entry === undefined) throw new Error('no audio file (audio/<id>.flac|wav, ../audio/<id>.flac|wav or wav.scp)');
  if (entry.endsWith('|')) throw new Error(`wav.scp entry is a command pipe ("${entry}"), not a file`);
  // Kaldi paths are usually relative to the recipe folder, which holds the split folders.
  const candidates = [entry, path.resolve(ds.dir, entry), path.resolve(ds.dir, '..', entry)];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`wav.scp names ${entry}, which does not exist`);
  return found;
}

/**
 * The dataset says which pronunciation each recording was scored against (YOUR is Y AO0 in some
 * records, Y UH AH0 in others), so its canonical phones become the utterance's reference words and
 * every word and phone label lines up with them.
 */
function datasetReferenceWords(labels: AssessmentLabels): ReferenceWord[] {
  return labels.words.map((w) => ({ text: w.text, phones: w.phonemes.map((p) => p.symbol), source: 'dataset' }));
}

function toInput(labels: AssessmentLabels): HumanLabelsInput {
  return {
    sentence: labels.sentence,
    // the dataset scores every word's stress (src/rationale/speechocean.ts), so it is never null here
    words: labels.words.map((w) => ({ ...w, stress: w.stress!, phonemes: w.phonemes.map((p) => p.accuracy) })),
  };
}

type Outcome = 'imported' | 'skipped';

async function importOne(prisma: PrismaClient, intake: Intake, ds: Dataset, id: string, opts: ImportOptions): Promise<Outcome> {
  const { organizationId } = opts;
  const speaker = ds.utt2spk.get(id);
  if (!speaker) throw new Error('not in utt2spk');
  const record = ds.scores[id] as { text?: unknown };
  if (typeof record?.text !== 'string') throw new Error('scores.json record has no text');
  const dataset = speechOceanToLabels(record);
  const words = datasetReferenceWords(dataset);
  // Labels are checked against the reference before the audio is stored.
  const labels = validateHumanLabels(toInput(dataset), words);
  const audio = new Uint8Array(await readFile(audioPath(ds, id)));
  // An operator's command: a learner erased earlier is imported again, and the audit log says so.
  const learner = await ensureLearner(prisma, organizationId, opts.learnerPrefix + speaker, cliActor());
  // The API's write path; the key makes a re-run (or a concurrent run) replay instead of duplicating,
  // and a dataset whose record changed since the first import a CONFLICT (reported as failed).
  const { replayed } = await submitRecording(
    { prisma, intake, jobMaxAttempts: opts.jobMaxAttempts },
    {
      organizationId,
      learnerId: learner.id,
      referenceText: record.text,
      audio,
      words,
      idempotencyKey: `import:${id}`,
      priority: 'BULK', // a dataset import must not hold up learners' submissions
      alsoWrite: (tx, utterance) => writeHumanLabels(tx, { organizationId, utterance, labels, rater: IMPORT_RATER }).then(() => undefined),
    },
  );
  return replayed ? 'skipped' : 'imported';
}

function reasonOf(e: unknown): string {
  if (isAppError(e)) return `${e.code}: ${e.message}`;
  if (e instanceof SpeechOceanFormatError) return `malformed scores.json record: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

/** Imports utterances in scores.json order; one failing utterance is reported, not fatal. */
export async function importSpeechOcean(prisma: PrismaClient, intake: Intake, opts: ImportOptions): Promise<ImportSummary> {
  const log = opts.log ?? (() => undefined);
  const ds = await loadDataset(opts.dataDir);
  const ids = Object.keys(ds.scores).slice(0, opts.limit ?? undefined);
  const summary: ImportSummary = { imported: 0, skipped: 0, failed: [] };
  for (const [n, id] of ids.entries()) {
    try {
      const outcome = await importOne(prisma, intake, ds, id, opts);
      if (outcome === 'skipped') summary.skipped++;
      else summary.imported++;
      log(`${n + 1}/${ids.length} ${id}: ${outcome}`);
    } catch (e) {
      summary.failed.push({ id, reason: reasonOf(e) });
      log(`${n + 1}/${ids.length} ${id}: FAILED ${reasonOf(e)}`);
    }
  }
  return summary;
}

/** The organisation to import into: the one named, or the only one. */
export async function resolveOrganization(prisma: PrismaClient, orgId: string | undefined): Promise<string> {
  if (orgId) {
    const org = await prisma.organization.findUnique({ where: { id: orgId } }).catch(() => null);
    if (!org) throw new Error(`No organisation with id ${orgId}.`);
    return org.id;
  }
  const orgs = await prisma.organization.findMany({ take: 2, select: { id: true } });
  if (orgs.length === 0) throw new Error('The database has no organisation yet: start the server once, or pass --org-id.');
  if (orgs.length > 1) throw new Error('The database has several organisations: pass --org-id.');
  return orgs[0]!.id;
}
