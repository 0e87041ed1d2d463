/**
 * Small learner histories with known answers for the analytics suites: each utterance reads
 * "think bear" (THINK = TH IH1 NG K, BEAR = B EH1 R) with a chosen total, TH and R accuracy and
 * word accuracies; the other phones are 2. `superseded` writes an earlier model assessment of the
 * same utterance first (a re-assessment must replace it, not count twice).
 */
import { randomUUID } from 'node:crypto';
import type { PrismaClient } from '../../src/generated/prisma/client.js';
import { analyzeReferenceText } from '../../src/text/reference.js';
import type { AssessmentLabels, SentenceScores } from '../../src/types.js';
import { seedModelAssessment } from './seed.js';

export interface Take {
  at: string;
  total: number;
  th: number;
  r: number;
  think: number;
  bear: number;
  version?: string;
  superseded?: number;
}

export const ASPECT_KEYS = ['accuracy', 'fluency', 'prosody', 'completeness', 'total'] as const;

export function sentence(total: number): SentenceScores {
  return { accuracy: total, fluency: Math.min(10, total + 1), prosody: Math.max(0, total - 1), completeness: 10, total };
}

export function labels(t: Pick<Take, 'total' | 'th' | 'r' | 'think' | 'bear'>): AssessmentLabels {
  return {
    sentence: sentence(t.total),
    words: [
      { text: 'THINK', accuracy: t.think, stress: 10, total: t.think, phonemes: [{ symbol: 'TH', accuracy: t.th }, { symbol: 'IH1', accuracy: 2 }, { symbol: 'NG', accuracy: 2 }, { symbol: 'K', accuracy: 2 }] },
      { text: 'BEAR', accuracy: t.bear, stress: 10, total: t.bear, phonemes: [{ symbol: 'B', accuracy: 2 }, { symbol: 'EH1', accuracy: 2 }, { symbol: 'R', accuracy: t.r }] },
    ],
  };
}

/** Phone → accuracies of one take, stress stripped, in utterance order. */
export function phonesOf(t: Take): [string, number, string][] {
  return labels(t).words.flatMap((w) => w.phonemes.map((p) => [p.symbol.replace(/[012]$/, ''), p.accuracy, w.text] as [string, number, string]));
}

export async function seedLearner(prisma: PrismaClient, organizationId: string, takes: Take[], groups: string[] = []) {
  const learner = await prisma.learner.create({ data: { organizationId, externalId: `hist-${randomUUID()}`, groups } });
  for (const t of takes) {
    const u = await prisma.utterance.create({
      data: {
        organizationId, learnerId: learner.id, referenceText: 'think bear', referenceWords: analyzeReferenceText('think bear') as never,
        audioSha256: randomUUID().replace(/-/g, '').padEnd(64, '0'), audioFormat: 'wav', audioBytes: 1, durationMs: 1000,
        sourceSampleRate: 16000, sourceChannels: 1, speechMs: 900, createdAt: new Date(t.at),
      },
    });
    const scoredAt = new Date(t.at).getTime() + 60_000;
    if (t.superseded !== undefined) {
      await seedModelAssessment(prisma, u, labels({ ...t, total: t.superseded, th: 0, r: 0 }), null, { version: t.version ?? 'v1', createdAt: new Date(scoredAt) });
    }
    await seedModelAssessment(prisma, u, labels(t), null, { version: t.version ?? 'v1', createdAt: new Date(scoredAt + 60_000) });
  }
  return learner;
}

// Straightforward recomputations, the oracle of the suites.
export const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** PostgreSQL's percentile_cont: linear interpolation between the closest ranks. */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const pos = p * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

/** Least-squares slope of y over x. */
export function slope(xs: number[], ys: number[]): number | null {
  const mx = mean(xs);
  const my = mean(ys);
  const sxx = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  if (xs.length < 2 || sxx === 0) return null;
  return xs.reduce((a, x, i) => a + (x - mx) * (ys[i]! - my), 0) / sxx;
}

export const WEEK_MS = 7 * 24 * 3600 * 1000;
export const weeksOf = (at: string) => new Date(at).getTime() / WEEK_MS;

/** Start of the ISO week (Monday 00:00 UTC). */
export function weekStart(at: string): string {
  const d = new Date(at);
  const day = (d.getUTCDay() + 6) % 7;
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day)).toISOString();
}

/** Compare numbers within floating-point noise, recursively. */
export function close(actual: unknown, expected: unknown, path = '$'): void {
  if (typeof expected === 'number' && typeof actual === 'number') {
    if (Math.abs(actual - expected) > 1e-9) throw new Error(`${path}: ${actual} != ${expected}`);
    return;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) throw new Error(`${path}: ${JSON.stringify(actual)} != ${JSON.stringify(expected)}`);
    expected.forEach((e, i) => close(actual[i], e, `${path}[${i}]`));
    return;
  }
  if (expected && typeof expected === 'object') {
    if (!actual || typeof actual !== 'object') throw new Error(`${path}: ${JSON.stringify(actual)} is not an object`);
    for (const k of Object.keys(expected)) close((actual as any)[k], (expected as any)[k], `${path}.${k}`);
    return;
  }
  if (actual !== expected) throw new Error(`${path}: ${JSON.stringify(actual)} != ${JSON.stringify(expected)}`);
}

/**
 * Sound changes between two periods recomputed from takes, as `soundChanges` (a learner's or a
 * group's) should report them: per sound of period 1, mean accuracy, count and error rate in each
 * period, the change and its direction; largest change first, then by phoneme.
 */
export function expectedSoundChanges(takes: Take[], periods: { a: string; b: string; c: string; d: string }) {
  const rows = (lo: string, hi: string) => takes.filter((x) => x.at >= lo && x.at < hi).flatMap(phonesOf);
  const [before, after] = [rows(periods.a, periods.b), rows(periods.c, periods.d)];
  const stat = (rs: [string, number, string][], phone: string) => {
    const xs = rs.filter((r) => r[0] === phone).map((r) => r[1]);
    return { mean: mean(xs), n: xs.length, er: xs.filter((a) => a < 1.5).length / xs.length };
  };
  return [...new Set(before.map((r) => r[0]))].map((phone) => {
    const b = stat(before, phone);
    const a = stat(after, phone);
    const change = a.mean - b.mean;
    return {
      phoneme: phone, before: b.mean, after: a.mean, countBefore: b.n, countAfter: a.n, errorRateBefore: b.er, errorRateAfter: a.er, change,
      direction: change >= 0.1 ? 'IMPROVED' : change <= -0.1 ? 'WORSENED' : 'UNCHANGED',
    };
  }).sort((x, y) => Math.abs(y.change) - Math.abs(x.change) || (x.phoneme < y.phoneme ? -1 : 1));
}
