/** Stored rows → StatementSource, read a page at a time and always within one organisation. */
import type { PrismaClient, Prisma } from '../generated/prisma/client.js';
import { storedNormalizedText } from '../text/reference.js';
import type { StatementSource } from './statement.js';
import { decodeMetadata } from '../assessment/metadata.js';

export const STATEMENT_PAGE_SIZE = 200;

type Db = PrismaClient | Prisma.TransactionClient;

const include = {
  utterance: { include: { learner: { select: { externalId: true } }, organization: { select: { xapiAccountHomePage: true } } } },
  words: { orderBy: { index: 'asc' }, include: { phonemes: { orderBy: { index: 'asc' } } } },
} as const satisfies Prisma.AssessmentInclude;

type Loaded = Prisma.AssessmentGetPayload<{ include: typeof include }>;

function toSource(a: Loaded): StatementSource {
  const u = a.utterance;
  return {
    accountHomePage: u.organization.xapiAccountHomePage,
    assessmentId: a.id,
    assessedAt: a.createdAt,
    learnerExternalId: u.learner.externalId,
    learnerGroups: u.learnerGroups,
    metadata: decodeMetadata(u.metadata),
    utterance: { id: u.id, createdAt: u.createdAt, referenceText: u.referenceText, normalisedText: storedNormalizedText(u.referenceWords, u.referenceText), durationMs: u.durationMs },
    model: { name: a.modelName, version: a.modelVersion, executionProvider: a.executionProvider },
    sentence: { accuracy: a.accuracy, fluency: a.fluency, prosody: a.prosody, completeness: a.completeness, total: a.total },
    contentMatch: a.contentMatch,
    flags: a.flags,
    words: a.words.map((w) => ({
      index: w.index, text: w.text, accuracy: w.accuracy, stress: w.stress, total: w.total,
      startMs: w.startMs, endMs: w.endMs, errorType: w.errorType,
      phonemes: w.phonemes.map((p) => ({ index: p.index, symbol: p.symbol, accuracy: p.accuracy })),
    })),
  };
}

/** One MODEL assessment of the organisation, or null (unknown, another organisation's, or HUMAN labels). */
export async function loadStatementSource(db: Db, organizationId: string, assessmentId: string): Promise<StatementSource | null> {
  const a = await db.assessment.findFirst({ where: { id: assessmentId, organizationId, source: 'MODEL' }, include });
  return a ? toSource(a) : null;
}

/**
 * Which assessments: made from `since` (inclusive) to `until` (exclusive), null for no bound; with
 * `liveOnly`, only those live sending sends (not a bulk re-assessment's started without sendStatements).
 */
export interface StatementSelection {
  since: Date | null;
  until: Date | null;
  liveOnly?: boolean;
}

/**
 * Every MODEL assessment of a learner (re-assessments included, bulk ones too, which live sending
 * leaves out unless asked: src/assessment/handler.ts) made in `window`, oldest first, in keyset
 * pages: an export is the learner's assessed history as statements.
 */
export async function* learnerStatementSources(
  db: Db, organizationId: string, learnerId: string, which: StatementSelection = { since: null, until: null }, pageSize = STATEMENT_PAGE_SIZE,
): AsyncGenerator<StatementSource[]> {
  let after: { createdAt: Date; id: string } | null = null;
  const assessedIn: Prisma.AssessmentWhereInput = which.since || which.until
    ? { createdAt: { ...(which.since ? { gte: which.since } : {}), ...(which.until ? { lt: which.until } : {}) } }
    : {};
  // As src/assessment/handler.ts deliveriesOf decides: a bulk re-assessment's only with sendStatements.
  // (jobId null spelt out: NOT over a relation filter leaves out rows whose foreign key is null.)
  const live: Prisma.AssessmentWhereInput = which.liveOnly
    ? { OR: [{ jobId: null }, { NOT: { job: { is: { bulkOperation: { is: { sendStatements: false } } } } } }] }
    : {};
  for (;;) {
    const page: Loaded[] = await db.assessment.findMany({
      where: {
        organizationId,
        source: 'MODEL',
        utterance: { learnerId },
        AND: [assessedIn, live],
        ...(after ? { OR: [{ createdAt: { gt: after.createdAt } }, { createdAt: after.createdAt, id: { gt: after.id } }] } : {}),
      },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      take: pageSize,
      include,
    });
    if (page.length === 0) return;
    yield page.map(toSource);
    if (page.length < pageSize) return;
    const last: Loaded = page.at(-1)!;
    after = { createdAt: last.createdAt, id: last.id };
  }
}
