/**
 * `npm run eval -- --rationales --data DIR --limit N --keep-db DIR --json`, run as a user runs it,
 * on a small split in the dataset's layout built from dev (its audio stays in ../shared: wav.scp
 * names it). The figures it prints are recomputed here from the rows it kept: the human labels and
 * the worker's own human check of each rationale.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { SHARED_DATA_DIR } from '../support/audio-fixtures.js';
import { describeWithSpeech } from '../support/speech.js';
import { openDatabase } from '../../src/db/client.js';
import { PHONEME_ERROR_BELOW, WORD_ERROR_BELOW } from '../../src/rationale/reference.js';
import { ratioWithCI } from '../../scripts/eval/stats.js';
import type { HumanCheck } from '../../src/assessment/human.js';

const run = promisify(execFile);
const DEV = path.join(SHARED_DATA_DIR, 'dev');
const SPLIT_SIZE = 10;
const LIMIT = 8;
const FLAG_KEYS = {
  sentiment_mismatch: 'SENTIMENT_MISMATCH',
  missed_errors: 'MISSED_ERRORS',
  unsupported_phoneme_critique: 'UNSUPPORTED_PHONEME_CRITIQUE',
  unsupported_word_critique: 'UNSUPPORTED_WORD_CRITIQUE',
  contradicted_praise: 'CONTRADICTED_PRAISE',
} as const;
const RATIO_KEYS = ['words.precision', 'words.recall', 'phonemes.precision', 'phonemes.recall'] as const;

function evalCommand(args: string[]) {
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // jest's --experimental-vm-modules is not for the child
  delete env.DATABASE_URL; // the eval never touches the server's database anyway
  return run('npx', ['tsx', 'scripts/eval.ts', '--rationales', ...args], { env, timeout: 540_000, maxBuffer: 16 << 20 });
}

/** Each speaker's weakest dev utterance, for the SPLIT_SIZE weakest speakers, weakest first. */
function buildSplit(dir: string): string[] {
  const scores = JSON.parse(fs.readFileSync(path.join(DEV, 'scores.json'), 'utf8')) as Record<string, { total: number }>;
  const spk = new Map(fs.readFileSync(path.join(DEV, 'utt2spk'), 'utf8').trim().split('\n').map((l) => l.split(/\s+/) as [string, string]));
  const weakest = new Map<string, string>();
  for (const id of Object.keys(scores).sort()) {
    const s = spk.get(id)!;
    const cur = weakest.get(s);
    if (cur === undefined || scores[id]!.total < scores[cur]!.total) weakest.set(s, id);
  }
  // the weakest speakers first: their rationales have errors to find and, mostly, words to criticise
  const ids = [...weakest.values()].sort((a, b) => scores[a]!.total - scores[b]!.total || a.localeCompare(b)).slice(0, SPLIT_SIZE);
  fs.writeFileSync(path.join(dir, 'scores.json'), JSON.stringify(Object.fromEntries(ids.map((id) => [id, scores[id]]))));
  fs.writeFileSync(path.join(dir, 'utt2spk'), ids.map((id) => `${id} ${spk.get(id)}\n`).join(''));
  fs.writeFileSync(path.join(dir, 'wav.scp'), ids.map((id) => `${id} ${path.join(SHARED_DATA_DIR, 'audio', `${id}.flac`)}\n`).join(''));
  return ids;
}

interface KeptRationale {
  speaker: string;
  flags: string[];
  human: HumanCheck;
  words: { text: string; accuracy: number; phonemes: { symbol: string; accuracy: number }[] }[];
}

/** Every model rationale the run kept, with its human check and the utterance's human labels. */
async function readKept(dbDir: string): Promise<KeptRationale[]> {
  const db = await openDatabase({ databaseUrl: undefined, dataDir: dbDir });
  try {
    const rows = await db.prisma.assessment.findMany({
      where: { source: 'MODEL' },
      select: {
        rationale: { select: { flags: true, humanCheck: true } },
        utterance: {
          select: {
            learner: { select: { externalId: true } },
            assessments: {
              where: { source: 'HUMAN' },
              select: { words: { orderBy: { index: 'asc' }, select: { text: true, accuracy: true, phonemes: { orderBy: { index: 'asc' }, select: { symbol: true, accuracy: true } } } } },
            },
          },
        },
      },
    });
    return rows.map((r) => ({
      speaker: r.utterance.learner.externalId,
      flags: r.rationale!.flags,
      human: r.rationale!.humanCheck as unknown as HumanCheck,
      words: r.utterance.assessments[0]!.words,
    }));
  } finally {
    await db.close();
  }
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const share = (num: number, den: number) => (den === 0 ? null : num / den);

test('ratioWithCI: the ratio of sums, and an interval over speaker draws', () => {
  // two speakers: 3/4 and 1/4 → 4/8; a draw taking speaker 0 twice gives 6/8, speaker 1 twice 2/8
  const draws = [Uint16Array.from([2, 0]), Uint16Array.from([0, 2]), Uint16Array.from([1, 1])];
  const r = ratioWithCI([3, 1], [4, 4], draws);
  expect(r.value).toBe(0.5);
  expect(r.ci95[0]).toBeGreaterThanOrEqual(0.25);
  expect(r.ci95[0]).toBeLessThan(0.5);
  expect(r.ci95[1]).toBeGreaterThan(0.5);
  expect(r.ci95[1]).toBeLessThanOrEqual(0.75);
  expect(Number.isNaN(ratioWithCI([0], [0], draws.map(() => Uint16Array.from([1]))).value)).toBe(true);
});

describeWithSpeech('npm run eval -- --rationales on a split in the dataset layout', () => {
  let dir: string;
  let dbDir: string;
  let out: Record<string, any>;
  let kept: KeptRationale[];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'so762-rat-'));
    dbDir = path.join(dir, 'db');
    buildSplit(dir);
    const { stdout } = await evalCommand(['--data', dir, '--limit', String(LIMIT), '--keep-db', dbDir, '--json', '--draws', '200']);
    out = JSON.parse(stdout);
    kept = await readKept(dbDir);
  }, 600_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('assesses the first N utterances through the worker and checks every rationale against its human labels', () => {
    expect(out['rationale.utterances']).toBe(LIMIT);
    expect(out['rationale.import_failed']).toBe(0);
    expect(out['rationale.jobs_failed']).toBe(0);
    expect(kept).toHaveLength(LIMIT);
    expect(out['rationale.rationales']).toBe(LIMIT);
    expect(out['rationale.speakers']).toBe(new Set(kept.map((k) => k.speaker)).size);
    for (const k of kept) expect(k.human.words).not.toBeNull();
    expect(out['rationale.self.flagged']).toBeCloseTo(kept.filter((k) => k.flags.length > 0).length / LIMIT, 12);
  });

  test('flag shares are the shares of rationales whose human check carries the flag', () => {
    for (const [key, flag] of Object.entries(FLAG_KEYS)) {
      expect(out[`rationale.vs_human.${key}`]).toBeCloseTo(kept.filter((k) => k.human.flags.includes(flag)).length / LIMIT, 12);
      expect(out[`rationale.vs_human.${key}.n`]).toBe(LIMIT);
    }
  });

  test('words: precision over criticised words the human labels mark below WORD_ERROR_BELOW, recall over error positions', () => {
    const criticised = kept.map((k) => k.human.words!.criticised);
    const agreeing = kept.map((k, i) => criticised[i]!.filter((w) => k.words.some((h) => h.text === w && h.accuracy < WORD_ERROR_BELOW)).length);
    const errors = kept.map((k) => k.words.filter((h) => h.accuracy < WORD_ERROR_BELOW).length);
    expect(errors).toEqual(kept.map((k) => k.human.words!.errorTokens));
    expect(out['rationale.vs_human.words.precision']).toEqual(share(sum(agreeing), sum(criticised.map((c) => c.length))));
    expect(out['rationale.vs_human.words.precision.n']).toBe(sum(criticised.map((c) => c.length)));
    expect(out['rationale.vs_human.words.recall']).toEqual(share(sum(kept.map((k) => k.human.words!.errorTokensCriticised)), sum(errors)));
    // the weakest utterances have errors to find, and their rationales name some words: else this
    // test would compare nothing with nothing (pick another split)
    expect(sum(errors)).toBeGreaterThan(0);
    expect(sum(criticised.map((c) => c.length))).toBeGreaterThan(0);
  });

  test('phonemes: recall over error positions below PHONEME_ERROR_BELOW; precision within what the stored check allows', () => {
    const errors = kept.map((k) => sum(k.words.map((w) => w.phonemes.filter((p) => p.accuracy < PHONEME_ERROR_BELOW).length)));
    expect(errors).toEqual(kept.map((k) => k.human.phonemes!.errorTokens));
    expect(out['rationale.vs_human.phonemes.recall']).toEqual(share(sum(kept.map((k) => k.human.phonemes!.errorTokensCriticised)), sum(errors)));
    // Criticised phonemes agree within their scope (the words named beside them), which the stored
    // check does not keep: at most every criticised phoneme with an error anywhere in the utterance,
    // at least the agreeing mentions less the praised ones.
    const criticised = sum(kept.map((k) => k.human.phonemes!.criticised.length));
    expect(out['rationale.vs_human.phonemes.precision.n']).toBe(criticised);
    const p = out['rationale.vs_human.phonemes.precision'];
    if (criticised === 0) {
      expect(p).toBeNull();
      return;
    }
    const upper = sum(kept.map((k) => k.human.phonemes!.criticised.filter((sym) =>
      k.words.some((w) => w.phonemes.some((ph) => ph.symbol.replace(/[0-2]$/, '') === sym && ph.accuracy < PHONEME_ERROR_BELOW))).length));
    const lower = sum(kept.map((k) => Math.max(0, k.human.phonemes!.agreeing - k.human.phonemes!.praised.length)));
    expect(p).toBeGreaterThanOrEqual(lower / criticised - 1e-12);
    expect(p).toBeLessThanOrEqual(upper / criticised + 1e-12);
  });

  test('every figure is a fraction with a speaker-bootstrap interval around it', () => {
    for (const key of [...Object.keys(FLAG_KEYS), ...RATIO_KEYS]) {
      const v = out[`rationale.vs_human.${key}`];
      const [lo, hi] = out[`rationale.vs_human.${key}_ci95`];
      if (v === null) continue; // nothing to divide by: no criticised tokens, say
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
      expect(lo).toBeLessThanOrEqual(v + 1e-12);
      expect(hi).toBeGreaterThanOrEqual(v - 1e-12);
    }
  });

  test('a second run on the kept database scores nothing again and prints the same figures as a table', async () => {
    const { stdout } = await evalCommand(['--data', dir, '--limit', String(LIMIT), '--keep-db', dbDir, '--draws', '200']);
    expect(stdout).toMatch(new RegExp(`imported 0, already there ${LIMIT}, failed 0`));
    expect(stdout).toMatch(new RegExp(`${LIMIT} rationales`));
    const row = (caption: string) => new RegExp(`\\| ${caption} \\| ([0-9.]+|n/a) \\|`).exec(stdout)?.[1];
    const fmt = (v: number | null) => (v === null ? 'n/a' : v.toFixed(3));
    expect(row('words criticised: recall')).toBe(fmt(out['rationale.vs_human.words.recall']));
    expect(row('phonemes criticised: recall')).toBe(fmt(out['rationale.vs_human.phonemes.recall']));
    expect(row('sentiment mismatch \\(share of rationales\\)')).toBe(fmt(out['rationale.vs_human.sentiment_mismatch']));
  }, 600_000);
});
