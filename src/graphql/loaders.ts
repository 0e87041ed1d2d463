import DataLoader from 'dataloader';
import type {
  ApiKey,
  AuditEvent,
  Assessment,
  Delivery,
  DeliveryAttempt,
  XapiVoiding,
  Job,
  OutboxEvent,
  Learner,
  PhonemeAssessment,
  PrismaClient,
  Rationale,
  RationaleReview,
  Utterance,
  WordAssessment,
  WebhookEndpoint,
  WebhookSecret,
} from '../generated/prisma/client.js';
import type { BulkOperation, LtiKey, LtiLineItem, LtiPlatform } from '../generated/prisma/client.js';
import { Prisma } from '../generated/prisma/client.js';
import type { BulkJobCounts } from '../assessment/bulk.js';
import type { EventFeedPageModel, GradeDeliveryModel } from './models.js';
import type {
  BulkOperationFilter, EventFilter, GradeDeliveryFilter, XapiDeliveryStatus, LearnerFilter, LearnerUtteranceFilter, RationaleFlag, RationaleVerdict, SentenceAspect, WebhookDeliveryFilter,
  WebhookDeliveryStatus,
} from '../generated/graphql.js';
import { eventIdOf } from '../outbox/signing.js';
import { EVENT_TYPES, isEventType, TEST_EVENT_TYPE } from '../outbox/events.js';
import { decodeFeedCursor, encodeFeedCursor, sequenceFeed } from '../outbox/feed.js';
import { badInput } from '../errors.js';
import { rationaleAnalytics } from '../analytics/trust.js';
import { scopedAnalytics } from '../analytics/index.js';
import { requireScope, type Principal, type Scope } from './auth.js';
import { decodeNameCursor, encodeNameCursor, findPage, newestFirst, MAX_PAGE_SIZE, pageSize, rowsSource, type Connection, type PageArgs, type PageQuery } from './pagination.js';
import { countGroups, listGroups, type LearnerGroupModel } from '../analytics/cohorts.js';
import { fromGlobalId } from './ids.js';
import { likeContains } from './filters.js';
import { checkRange } from '../analytics/common.js';
import { allWorkers, servedModelVersions } from '../jobs/heartbeat.js';

/** auditEvents' filters; ids are global ids, as AuditEvent shows them. */
export interface AuditEventFilterArgs {
  action?: string | null;
  targetId?: string | null;
  actorApiKeyId?: string | null;
  requestId?: string | null;
  since?: Date | null;
  until?: Date | null;
}

const NO_ID = '00000000-0000-0000-0000-000000000000';

/** The learner (through the delivery's event) and creation window that grade and statement deliveries filter on. */
interface DeliveryWindow {
  learnerId?: string | null;
  since?: Date | null;
  until?: Date | null;
}

/**
 * Rows created in [since, until). An empty window (until not after since) is BAD_USER_INPUT naming
 * both, as the utterance filters and the analytics refuse it: an empty page would read as "nothing
 * happened" rather than as a mistake.
 */
function createdWithin(since: Date | null | undefined, until: Date | null | undefined, names: [string, string]): { createdAt?: { gte?: Date; lt?: Date } } {
  checkRange(since, until, names);
  if (since == null && until == null) return {};
  return { createdAt: { ...(since != null ? { gte: since } : {}), ...(until != null ? { lt: until } : {}) } };
}

function deliveryWindow(f: DeliveryWindow, names: [string, string] = ['filter.since', 'filter.until']): Prisma.DeliveryWhereInput {
  const learner = f.learnerId != null ? fromGlobalId(f.learnerId) : null;
  return {
    ...(f.learnerId != null ? { event: { is: { learnerId: learner?.type === 'Learner' ? learner.id : NO_ID } } } : {}),
    ...createdWithin(f.since, f.until, names),
  };
}

/**
 * Grade deliveries of a learner: on their events, or (a re-grade's, whose ltiLineItem.regraded event
 * is the line item's) of a score made from one of their readings.
 */
function gradeLearnerWhere(learnerGlobalId: string): Prisma.DeliveryWhereInput {
  const learner = fromGlobalId(learnerGlobalId);
  const learnerId = learner?.type === 'Learner' ? learner.id : NO_ID;
  return { OR: [{ event: { is: { learnerId } } }, { ltiScore: { is: { assessment: { is: { utterance: { is: { learnerId } } } } } } }] };
}

/** The Prisma filter of `bulkOperations`: a status is the columns bulkStatus reads (src/assessment/bulk.ts). */
function bulkOperationWhere(f: BulkOperationFilter): Prisma.BulkOperationWhereInput {
  const learner = f.learnerId != null ? fromGlobalId(f.learnerId) : null;
  const byStatus: Record<string, Prisma.BulkOperationWhereInput> = {
    COMPLETED: { completedAt: { not: null } },
    CANCELLED: { completedAt: null, cancelledAt: { not: null } },
    ENQUEUEING: { completedAt: null, cancelledAt: null, enqueuedAt: null },
    RUNNING: { completedAt: null, cancelledAt: null, enqueuedAt: { not: null } },
  };
  return {
    ...(f.status != null ? byStatus[f.status] : {}),
    ...(f.learnerId != null ? { learnerId: learner?.type === 'Learner' ? learner.id : NO_ID } : {}),
    ...(f.groupExternalId != null ? { groupExternalId: f.groupExternalId } : {}),
  };
}

/** The Prisma filter of `events`: types checked (a typo would otherwise list nothing), a learner id of another type matches nothing. */
function eventWhere(f: EventFilter): Prisma.OutboxEventWhereInput {
  if (f.types != null && f.types.length === 0) {
    throw badInput(`types needs at least one of ${EVENT_TYPES.join(', ')} (omit it for every type).`, 'filter.types', { eventTypes: [...EVENT_TYPES] });
  }
  const unknown = (f.types ?? []).findIndex((t) => !isEventType(t));
  if (unknown >= 0) {
    throw badInput(`Unknown event type ${JSON.stringify(f.types![unknown])} (event types: ${EVENT_TYPES.join(', ')}).`, `filter.types.${unknown}`, { eventTypes: [...EVENT_TYPES] });
  }
  const learner = f.learnerId != null ? fromGlobalId(f.learnerId) : null;
  return {
    // The listed types; without a filter every type but sendTestWebhook's (an admin's test, not an event).
    type: f.types != null ? { in: f.types } : { not: TEST_EVENT_TYPE },
    ...(f.learnerId != null ? { learnerId: learner?.type === 'Learner' ? learner.id : NO_ID } : {}),
    ...createdWithin(f.since, f.until, ['filter.since', 'filter.until']),
  };
}

/** The Prisma filter of auditEvents: an id that does not parse (or is not a key's) matches nothing. */
function auditEventWhere(f: AuditEventFilterArgs): Prisma.AuditEventWhereInput {
  const target = f.targetId != null ? fromGlobalId(f.targetId) : null;
  const actor = f.actorApiKeyId != null ? fromGlobalId(f.actorApiKeyId) : null;
  return {
    ...(f.action != null ? { action: f.action } : {}),
    ...(f.targetId != null ? (target ? { targetType: target.type, targetId: target.id } : { targetId: NO_ID }) : {}),
    ...(f.actorApiKeyId != null ? { actorApiKeyId: actor?.type === 'ApiKey' ? actor.id : NO_ID } : {}),
    ...(f.requestId != null ? { requestId: f.requestId } : {}),
    ...createdWithin(f.since, f.until, ['since', 'until']),
  };
}

/**
 * Dispatch a batch once the I/O callbacks of this turn of the event loop have run, not on the next
 * tick: resolvers resumed by different query results of the same wave (PostgreSQL answers on
 * several connections) then still share one batch, so a page's statement count is independent of
 * its size and of timing.
 */
function batched<K, V>(load: DataLoader.BatchLoadFn<K, V>): DataLoader<K, V> {
  return new DataLoader<K, V>(load, { batchScheduleFn: (dispatch) => setImmediate(dispatch) });
}

/** What resolvers see of a loader: `load`/`loadMany`, each checking the key's scope first. */
export interface ScopedLoader<K, V> {
  load(key: K): Promise<V>;
  loadMany(keys: readonly K[]): Promise<Array<V | Error>>;
  /** After a write in this request: later loads of `key` see `value`, not what was cached before. */
  replace(key: K, value: V): void;
}

/**
 * The scope check runs on every call, before the batch (and its cache) is consulted: a row another
 * field of the same request loaded is refused just the same.
 */
function scoped<K, V>(loader: DataLoader<K, V>, check: () => void): ScopedLoader<K, V> {
  return {
    load: (key) => {
      try {
        check();
      } catch (e) {
        return Promise.reject(e);
      }
      return loader.load(key);
    },
    loadMany: (keys) => {
      try {
        check();
      } catch (e) {
        return Promise.reject(e);
      }
      return loader.loadMany(keys);
    },
    replace: (key, value) => {
      loader.clear(key).prime(key, value);
    },
  };
}

/** The Assessment column of each sentence aspect (a fixed set: safe to splice into SQL). */
const SCORE_COLUMN = { ACCURACY: 'accuracy', FLUENCY: 'fluency', PROSODY: 'prosody', COMPLETENESS: 'completeness', TOTAL: 'total' } as const satisfies Record<SentenceAspect, string>;

/** Learner.activity: how much and how recently a learner has practised. */
export interface LearnerActivity {
  recordings: number;
  firstPracticeAt: Date | null;
  lastPracticeAt: Date | null;
}

/**
 * Per-request loaders, created for one principal (see the access policy in access.ts). Every one
 * is bound to the caller's organisation, so an id from another tenant simply loads as null, and
 * every one that returns learner data or scores checks the key's scope itself when loading: no
 * field path, mutation payload or `node(id)` reaches data the key may not read, whichever entry
 * point it started from. Resolvers read the database only through these.
 */
export function createLoaders(prisma: PrismaClient, principal: Principal) {
  const { organizationId } = principal;
  const needs = (scope: Scope) => () => requireScope(principal, scope);
  const reads = needs('SCORES_READ');
  const admin = needs('ADMIN');
  let queueView: Promise<{ versions: string[]; now: Date }> | undefined;
  const analytics = scopedAnalytics(prisma, organizationId, reads, admin);
  /** Every loader made for this request, so forgetCached can empty them all. */
  const made: DataLoader<never, unknown>[] = [];
  const batch = <K, V>(load: DataLoader.BatchLoadFn<K, V>): DataLoader<K, V> => {
    const loader = batched(load);
    made.push(loader as unknown as DataLoader<never, unknown>);
    return loader;
  };

  /** One row (or null) per key, the key being a unique column: `id`, or a one-to-one foreign key. */
  const oneBy = <T, K extends keyof T>(key: K, fetch: (keys: string[]) => Promise<T[]>) =>
    batch<string, T | null>(async (keys) => {
      const rows = new Map((await fetch([...keys])).map((r) => [r[key] as string, r]));
      return keys.map((k) => rows.get(k) ?? null);
    });
  const byId = <T extends { id: string }>(fetch: (ids: string[]) => Promise<T[]>) => oneBy<T, 'id'>('id', fetch);
  const groupedBy = <T, K extends keyof T>(key: K, fetch: (ids: string[]) => Promise<T[]>) =>
    batch<string, T[]>(async (ids) => {
      const groups = new Map<string, T[]>(ids.map((id) => [id, []]));
      for (const row of await fetch([...ids])) groups.get(row[key] as string)?.push(row);
      return ids.map((id) => groups.get(id) ?? []);
    });
  const scope = (ids: string[]) => ({ organizationId, id: { in: ids } });
  let ownKey: Promise<ApiKey | null> | null = null;
  const ownApiKey = (): Promise<ApiKey | null> =>
    (ownKey ??= prisma.apiKey.findFirst({ where: { id: principal.apiKeyId, organizationId } }).catch((e: unknown) => {
      ownKey = null; // a failed read is not kept for the rest of the request
      throw e;
    }));
  // Each utterance's newest MODEL and newest HUMAN assessment in one statement, shared by the two
  // loaders below so both arrive in the same wave and what they lead to batches together. DISTINCT ON
  // runs in the database, along the (organizationId, utteranceId, createdAt, id) index: Prisma's
  // `distinct` would read every assessment of each utterance and drop the older ones in memory.
  const latestBySource = batch<string, Partial<Record<'MODEL' | 'HUMAN', Assessment>>>(async (ids) => {
    const rows = await prisma.$queryRaw<Assessment[]>`
      SELECT DISTINCT ON ("utteranceId", "source") * FROM "Assessment"
      WHERE "organizationId" = ${organizationId}::uuid AND "utteranceId" = ANY(${[...ids]}::uuid[])
      ORDER BY "utteranceId", "source", "createdAt" DESC, "id" DESC`;
    const byUtterance = new Map<string, Partial<Record<'MODEL' | 'HUMAN', Assessment>>>(ids.map((id) => [id, {}]));
    for (const r of rows) byUtterance.get(r.utteranceId)![r.source] = r;
    return ids.map((id) => byUtterance.get(id)!);
  });

  // Learners by id as one plain statement: the same rows as `findMany({ where: scope(ids) })`
  // (every column, the same types), without Prisma's query building and row mapping around it,
  // which cost more than the statement itself on a small read (the history page's first statement).
  const learner = byId<Learner>((ids) =>
    prisma.$queryRaw<Learner[]>`SELECT * FROM "Learner" WHERE "organizationId" = ${organizationId}::uuid AND "id" = ANY(${ids}::uuid[])`,
  );
  const jobsByUtterance = groupedBy<Job, 'utteranceId'>('utteranceId', (ids) =>
    prisma.job.findMany({ where: { organizationId, utteranceId: { in: ids } }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] }),
  );

  const assessmentsByUtterance = groupedBy<Assessment, 'utteranceId'>('utteranceId', (ids) =>
    prisma.assessment.findMany({ where: { organizationId, utteranceId: { in: ids } }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] }),
  );

  /**
   * The review queues' learner and group filters, as conditions on the assessment's utterance: a
   * learner id that is not a learner's matches nothing (like another organisation's).
   */
  const ofLearners = (args: ReviewScope) => {
    const on: Prisma.UtteranceWhereInput = {};
    if (args.learnerId != null) {
      const parsed = fromGlobalId(args.learnerId);
      on.learnerId = parsed?.type === 'Learner' ? parsed.id : '00000000-0000-0000-0000-000000000000';
    }
    if (args.group != null) on.learner = { is: { organizationId, groups: { has: args.group } } };
    return Object.keys(on).length ? { utterance: { is: { organizationId, ...on } } } : {};
  };

  /** The review queues' `superseded` filter: true, replaced by a re-assessment; false, the utterance's latest model assessment. */
  const supersededWhere = (superseded: boolean | null | undefined) =>
    superseded == null ? {} : { supersededAt: superseded ? { not: null } : null };

  /** A page query over `where` (the tenant and the field's filters) and the keyset range. */
  const pageOf = <W extends object>(where: W, q: PageQuery) => ({
    where: { AND: [where, q.where] },
    orderBy: q.orderBy,
    take: q.take,
  });

  /** Learners by group (the GIN index: groups @> ARRAY[group]) and a literal substring search. */
  const learnerWhere = (filter: LearnerFilter | null | undefined) => {
    const and: object[] = [];
    if (filter?.group != null) and.push({ groups: { has: filter.group } });
    if (filter?.search != null && filter.search !== '') {
      const contains = likeContains(filter.search, 'filter.search');
      and.push({ OR: [{ externalId: { contains, mode: 'insensitive' as const } }, { displayName: { contains, mode: 'insensitive' as const } }] });
    }
    return and.length ? { AND: and } : {};
  };

  /** The time, text, job-status, flag, score, human-labels and metadata filters on `u`. The job status is the utterance's newest job's,
   * looked up per candidate row on the (organizationId, utteranceId, createdAt DESC) index. */
  const utteranceFilter = (f: LearnerUtteranceFilter | null | undefined): Prisma.Sql[] => [
    ...(f?.createdAfter != null ? [Prisma.sql`u."createdAt" >= ${f.createdAfter}::timestamptz`] : []),
    ...(f?.createdBefore != null ? [Prisma.sql`u."createdAt" < ${f.createdBefore}::timestamptz`] : []),
    ...(f?.referenceText != null ? [Prisma.sql`lower(u."referenceText") = lower(${f.referenceText.trim()})`] : []),
    ...(f?.status != null
      ? [Prisma.sql`(SELECT j.status::text FROM "Job" j WHERE j."organizationId" = ${organizationId}::uuid AND j."utteranceId" = u.id
          ORDER BY j."createdAt" DESC, j.id DESC LIMIT 1) = ${f.status}`]
      : []),
    // The newest MODEL assessment's flags, per candidate row on the (organizationId, utteranceId, createdAt, id) index.
    ...(f?.flag != null
      ? [Prisma.sql`(SELECT a.flags FROM "Assessment" a WHERE a."organizationId" = ${organizationId}::uuid AND a."utteranceId" = u.id
          AND a."source" = 'MODEL' ORDER BY a."createdAt" DESC, a.id DESC LIMIT 1) @> ARRAY[${f.flag}]::text[]`]
      : []),
    // One sentence score of the newest MODEL assessment in [min, max], on the same index; checked by the resolver.
    ...(f?.score != null
      ? [Prisma.sql`(SELECT a.${Prisma.raw(`"${SCORE_COLUMN[f.score.aspect]}"`)} FROM "Assessment" a WHERE a."organizationId" = ${organizationId}::uuid AND a."utteranceId" = u.id
          AND a."source" = 'MODEL' ORDER BY a."createdAt" DESC, a.id DESC LIMIT 1) BETWEEN ${f.score.min ?? 0}::float8 AND ${f.score.max ?? 10}::float8`]
      : []),
    // Any HUMAN assessment of the utterance (or none), on the same index.
    ...(f?.humanLabels != null
      ? [Prisma.sql`${Prisma.raw(f.humanLabels ? 'EXISTS' : 'NOT EXISTS')} (SELECT 1 FROM "Assessment" a WHERE a."organizationId" = ${organizationId}::uuid
          AND a."utteranceId" = u.id AND a."source" = 'HUMAN')`]
      : []),
    // Containment, on the GIN index over metadata (jsonb_path_ops); checked by the resolver (checkMetadata).
    ...(f?.metadata != null && Object.keys(f.metadata as object).length > 0
      ? [Prisma.sql`u."metadata" @> ${JSON.stringify(f.metadata)}::jsonb`]
      : []),
  ];
  /** A page query's keyset on `u` as row comparisons on the (…, createdAt DESC, id DESC) indexes, and its order. */
  const keysetOf = (q: PageQuery): Prisma.Sql[] =>
    q.keyset.map((b) => Prisma.sql`(u."createdAt", u."id") ${Prisma.raw(b.op)} (${b.at.createdAt}::timestamptz, ${b.at.id}::uuid)`);
  const orderOf = (q: PageQuery): Prisma.Sql => (q.oldestFirst ? Prisma.sql`u."createdAt" ASC, u."id" ASC` : Prisma.sql`u."createdAt" DESC, u."id" DESC`);
  const where = (conditions: Prisma.Sql[]) => Prisma.join([Prisma.sql`TRUE`, ...conditions], ' AND ');

  /**
   * Utterances of `scope` (a group's learners, or the whole organisation, perhaps one learner)
   * matching the filters: one statement for the page and one for `totalCount`, every condition in
   * SQL, nothing collected into JavaScript. Rows come back as Prisma's findMany would give them
   * (the same columns, JSON parsed).
   */
  const utterancePage = (args: PageArgs, scope: { learnerId?: string; group?: string }, f: LearnerUtteranceFilter | null | undefined) => {
    const conditions = [
      Prisma.sql`u."organizationId" = ${organizationId}::uuid`,
      ...(scope.learnerId ? [Prisma.sql`u."learnerId" = ${scope.learnerId}::uuid`] : []),
      ...(scope.group != null
        ? [Prisma.sql`u."learnerId" IN (SELECT l.id FROM "Learner" l WHERE l."organizationId" = ${organizationId}::uuid AND l.groups @> ARRAY[${scope.group}]::text[])`]
        : []),
      ...utteranceFilter(f),
    ];
    return findPage(args, {
      findMany: (q) => prisma.$queryRaw<Utterance[]>`SELECT u.* FROM "Utterance" u WHERE ${where([...conditions, ...keysetOf(q)])} ORDER BY ${orderOf(q)} LIMIT ${q.take}`,
      count: async () => {
        const [row] = await prisma.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM "Utterance" u WHERE ${where(conditions)}`;
        return row!.n;
      },
    });
  };

  /**
   * Learner.utterances of every learner a request resolves with the same arguments, batched: one
   * LATERAL statement for all their pages (each its own keyset, order and limit along the
   * (organizationId, learnerId, createdAt, id) index) and one grouped count. A page of 100 learners
   * with their recent utterances is then two statements, not one per learner.
   */
  const learnerPageLoaders = new Map<string, DataLoader<string, Utterance[]>>();
  const learnerCountLoaders = new Map<string, DataLoader<string, number>>();
  const learnerPage = (learnerId: string, q: PageQuery, f: LearnerUtteranceFilter | null | undefined): Promise<Utterance[]> => {
    const key = JSON.stringify([q.keyset.map((b) => [b.op, b.at.createdAt.toISOString(), b.at.id]), q.oldestFirst, q.take, f ?? null]);
    let loader = learnerPageLoaders.get(key);
    if (!loader) {
      loader = batch<string, Utterance[]>(async (ids) => {
        const rows = await prisma.$queryRaw<Utterance[]>`SELECT p.* FROM unnest(${[...ids]}::uuid[]) AS l(id)
          CROSS JOIN LATERAL (
            SELECT u.* FROM "Utterance" u
            WHERE u."organizationId" = ${organizationId}::uuid AND u."learnerId" = l.id AND ${where([...utteranceFilter(f), ...keysetOf(q)])}
            ORDER BY ${orderOf(q)} LIMIT ${q.take}) p`;
        const pages = new Map<string, Utterance[]>(ids.map((id) => [id, []]));
        for (const r of rows) pages.get(r.learnerId)?.push(r);
        // Each page in its order (a LATERAL's rows keep it in practice; SQL does not promise it).
        for (const page of pages.values()) page.sort((a, b) => (q.oldestFirst ? -newestFirst(a, b) : newestFirst(a, b)));
        return ids.map((id) => pages.get(id)!);
      });
      learnerPageLoaders.set(key, loader);
    }
    return loader.load(learnerId);
  };
  const learnerCount = (learnerId: string, f: LearnerUtteranceFilter | null | undefined): Promise<number> => {
    const key = JSON.stringify(f ?? null);
    let loader = learnerCountLoaders.get(key);
    if (!loader) {
      loader = batch<string, number>(async (ids) => {
        const rows = await prisma.$queryRaw<{ learner: string; n: number }[]>`
          SELECT u."learnerId"::text AS learner, count(*)::int AS n FROM "Utterance" u
          WHERE u."organizationId" = ${organizationId}::uuid AND u."learnerId" = ANY(${[...ids]}::uuid[]) AND ${where(utteranceFilter(f))}
          GROUP BY u."learnerId"`;
        const counts = new Map(rows.map((r) => [r.learner, Number(r.n)]));
        return ids.map((id) => counts.get(id) ?? 0);
      });
      learnerCountLoaders.set(key, loader);
    }
    return loader.load(learnerId);
  };
  const utterance = byId<Utterance>((ids) => prisma.utterance.findMany({ where: scope(ids) }));
  const ltiLineItem = byId<LtiLineItem>((ids) => prisma.ltiLineItem.findMany({ where: scope(ids) }));
  const gradeDelivery = byId<GradeDeliveryModel>(async (ids) =>
    (await prisma.delivery.findMany({ where: { ...scope(ids), channel: 'LTI_SCORE' }, include: { ltiScore: true } })).map((d) => ({ ...d, ltiScore: d.ltiScore! })),
  );

  return {
    learner: scoped(learner, reads),
    utterance: scoped(utterance, reads),
    job: scoped(byId<Job>((ids) => prisma.job.findMany({ where: scope(ids) })), reads),
    assessment: scoped(byId<Assessment>((ids) => prisma.assessment.findMany({ where: scope(ids) })), reads),
    /** Read like jobs (SCORES_READ); the ASSESS_WRITE key that starts or cancels one gets it back as its own write. */
    bulkOperation: scoped(byId<BulkOperation>((ids) => prisma.bulkOperation.findMany({ where: scope(ids) })), reads),
    /**
     * Each bulk operation's jobs counted by status, one grouped read on the (bulkOperationId, status)
     * index. No scope of its own: it is reached only from a BulkOperation, which its entry point
     * (bulkOperation/node: SCORES_READ; the mutations: ASSESS_WRITE) has already checked.
     */
    bulkJobCounts: scoped(
      batch<string, BulkJobCounts>(async (ids) => {
        const rows = await prisma.$queryRawUnsafe<{ id: string; status: string; n: number }[]>(
          `SELECT "bulkOperationId"::text AS id, "status"::text AS status, count(*)::int AS n FROM "Job"
            WHERE "bulkOperationId" = ANY($1::uuid[]) AND "organizationId" = $2::uuid GROUP BY 1, 2`,
          [...ids],
          organizationId,
        );
        const counts = new Map<string, BulkJobCounts>(ids.map((id) => [id, {}]));
        for (const r of rows) counts.get(r.id)![r.status as keyof BulkJobCounts] = Number(r.n);
        return ids.map((id) => counts.get(id)!);
      }),
      () => undefined,
    ),
    learnerByExternalId: scoped(
      batch<string, Learner | null>(async (externalIds) => {
        const rows = await prisma.learner.findMany({ where: { organizationId, externalId: { in: [...externalIds] } } });
        const byExternalId = new Map(rows.map((r) => [r.externalId, r]));
        return externalIds.map((id) => byExternalId.get(id) ?? null);
      }),
      reads,
    ),
    latestAssessmentByUtterance: scoped(
      batch<string, Assessment | null>(async (ids) =>
        (await latestBySource.loadMany(ids)).map((r) => (r instanceof Error ? r : r.MODEL ?? null)),
      ),
      reads,
    ),
    latestHumanByUtterance: scoped(
      batch<string, Assessment | null>(async (ids) =>
        (await latestBySource.loadMany(ids)).map((r) => (r instanceof Error ? r : r.HUMAN ?? null)),
      ),
      reads,
    ),
    assessmentByJob: scoped(
      oneBy<Assessment, 'jobId'>('jobId', (ids) => prisma.assessment.findMany({ where: { organizationId, jobId: { in: ids } } })),
      reads,
    ),
    wordsByAssessment: scoped(
      groupedBy<WordAssessment, 'assessmentId'>('assessmentId', (ids) =>
        prisma.wordAssessment.findMany({
          where: { organizationId, assessmentId: { in: ids } },
          orderBy: { index: 'asc' },
        }),
      ),
      reads,
    ),
    phonemesByWord: scoped(
      groupedBy<PhonemeAssessment, 'wordAssessmentId'>('wordAssessmentId', (ids) =>
        prisma.phonemeAssessment.findMany({
          where: { organizationId, wordAssessmentId: { in: ids } },
          orderBy: { index: 'asc' },
        }),
      ),
      reads,
    ),
    rationaleByAssessment: scoped(
      oneBy<Rationale, 'assessmentId'>('assessmentId', (ids) =>
        prisma.rationale.findMany({ where: { organizationId, assessmentId: { in: ids } } }),
      ),
      reads,
    ),
    /** A rationale's latest review (ADMIN: reviews are the operators' notes, not learner feedback). */
    reviewByRationale: scoped(
      oneBy<RationaleReview, 'rationaleId'>('rationaleId', (ids) =>
        prisma.rationaleReview.findMany({ where: { organizationId, rationaleId: { in: ids } } }),
      ),
      admin,
    ),

    /**
     * Rows a mutation's input names, checked for the tenant only: a write (ASSESS_WRITE) must find
     * the learner or utterance it refers to without the key being able to read it. The mutation
     * uses the row to write; it never returns it to the client.
     */
    writeTarget: { learner, utterance, ltiLineItem },

    /** The calling key's own row, read once per request: any key may see itself (Viewer.apiKey). */
    ownApiKey,
    /**
     * The key an audio URL names (src/http/audio-url.ts): the caller's. SCORES_READ, as the URL
     * serves a learner's recording.
     */
    audioUrlKeyId: (): string => {
      reads();
      return principal.apiKeyId;
    },

    /** The caller's own organisation: any key may see it (Viewer). */
    organization: () => prisma.organization.findUniqueOrThrow({ where: { id: organizationId } }),

    // Connections (pagination.ts): one page, newest first, keyset-paginated either way; the scope is
    // checked before the read; the COUNT runs only when `totalCount` is selected.
    learnersPage: (args: PageArgs & { filter?: LearnerFilter | null }) => {
      reads();
      const where = { organizationId, ...learnerWhere(args.filter) };
      return findPage(args, {
        findMany: (q) => prisma.learner.findMany(pageOf(where, q)),
        count: () => prisma.learner.count({ where }),
      });
    },
    /** A learner's utterances, on the (organizationId, learnerId, createdAt, id) index. */
    utterancesPage: (learnerId: string, args: PageArgs & { filter?: LearnerUtteranceFilter | null }) => {
      reads();
      return findPage(args, { findMany: (q) => learnerPage(learnerId, q, args.filter), count: () => learnerCount(learnerId, args.filter) });
    },
    /**
     * Each learner's recordings counted, first and latest (a learner without any: 0 and nulls), for
     * every learner resolved together in one statement along the (organizationId, learnerId,
     * createdAt) index.
     */
    learnerActivity: scoped(
      batch<string, LearnerActivity>(async (ids) => {
        const rows = await prisma.$queryRaw<(LearnerActivity & { learnerId: string })[]>`
          SELECT "learnerId"::text AS "learnerId", count(*)::int AS "recordings", min("createdAt") AS "firstPracticeAt", max("createdAt") AS "lastPracticeAt"
          FROM "Utterance"
          WHERE "organizationId" = ${organizationId}::uuid AND "learnerId" = ANY(${[...ids]}::uuid[])
          GROUP BY "learnerId"`;
        const byLearner = new Map(rows.map(({ learnerId, ...activity }) => [learnerId, activity]));
        return ids.map((id) => byLearner.get(id) ?? { recordings: 0, firstPracticeAt: null, lastPracticeAt: null });
      }),
      reads,
    ),
    /** The organisation's utterances, on the (organizationId, createdAt, id) index. */
    allUtterancesPage: (args: PageArgs & { filter?: UtteranceFilterArgs | null }) => {
      reads();
      const f = args.filter ?? {};
      let learnerId: string | undefined;
      if (f.learnerId != null) {
        const parsed = fromGlobalId(f.learnerId);
        // an id that is not a learner's matches nothing (like another organisation's)
        learnerId = parsed?.type === 'Learner' ? parsed.id : '00000000-0000-0000-0000-000000000000';
      }
      return utterancePage(args, { ...(learnerId ? { learnerId } : {}), ...(f.group != null ? { group: f.group } : {}) }, f);
    },
    /**
     * An utterance's assessments: like its jobs, every assessment of the utterances resolved
     * together is read in one batched statement (an utterance has a handful: the model's, its
     * re-assessments, human labels), then paged in memory; `utterances { assessments }` under a page
     * of 100 utterances is one statement, not 100.
     */
    assessmentsPage: (utteranceId: string, args: PageArgs) => {
      reads();
      return findPage(args, rowsSource(() => assessmentsByUtterance.load(utteranceId)));
    },
    /**
     * An utterance's jobs: every job of the utterances resolved together is read in one batched
     * statement (an utterance has a handful), then paged in memory with the same semantics.
     */
    jobsPage: (utteranceId: string, args: PageArgs) => {
      reads();
      return findPage(args, rowsSource(() => jobsByUtterance.load(utteranceId)));
    },
    /** The review queue (ADMIN): model assessments whose rationale raised `flag` (any flag). */
    flaggedAssessmentsPage: (args: PageArgs & ReviewScope & { flag?: RationaleFlag | null; modelVersion?: string | null; reviewed?: boolean | null; superseded?: boolean | null }) => {
      admin();
      const flags = args.flag ? { has: args.flag } : { isEmpty: false };
      const review = args.reviewed == null ? {} : { review: args.reviewed ? { isNot: null } : { is: null } };
      const where = {
        organizationId,
        source: 'MODEL' as const,
        ...(args.modelVersion != null ? { modelVersion: args.modelVersion } : {}),
        ...supersededWhere(args.superseded),
        // The tenant on the rationale side too: the join then reads only this organisation's
        // rationales (by index) instead of every tenant's; a named flag goes through the GIN index.
        rationale: { is: { organizationId, flags, ...review } },
        ...ofLearners(args),
      };
      return findPage(args, {
        findMany: (q) => prisma.assessment.findMany(pageOf(where, q)),
        count: () => prisma.assessment.count({ where }),
      });
    },
    /** Model assessments whose rationale a person reviewed (ADMIN), by verdict and whether it is flagged. */
    reviewedAssessmentsPage: (args: PageArgs & ReviewScope & { verdict?: RationaleVerdict | null; flagged?: boolean | null; modelVersion?: string | null; superseded?: boolean | null }) => {
      admin();
      const flags = args.flagged == null ? {} : { flags: args.flagged ? { isEmpty: false } : { isEmpty: true } };
      const where = {
        organizationId,
        source: 'MODEL' as const,
        ...(args.modelVersion != null ? { modelVersion: args.modelVersion } : {}),
        ...supersededWhere(args.superseded),
        rationale: { is: { organizationId, ...flags, review: { is: { organizationId, ...(args.verdict ? { verdict: args.verdict } : {}) } } } },
        ...ofLearners(args),
      };
      return findPage(args, {
        findMany: (q) => prisma.assessment.findMany(pageOf(where, q)),
        count: () => prisma.assessment.count({ where }),
      });
    },
    /** The organisation's API keys by database id (ADMIN), revoked ones included; null when none (node/nodes). */
    apiKey: scoped(byId<ApiKey>((ids) => prisma.apiKey.findMany({ where: scope(ids) })), admin),
    /** The organisation's API keys (ADMIN); revoked ones only when asked. */
    apiKeysPage: (args: PageArgs & { includeRevoked?: boolean | null }) => {
      admin();
      const where = { organizationId, ...(args.includeRevoked ? {} : { revokedAt: null }) };
      return findPage(args, {
        findMany: (q) => prisma.apiKey.findMany(pageOf(where, q)),
        count: () => prisma.apiKey.count({ where }),
      });
    },
    /** One audit event by database id (ADMIN), for `node(id)`. */
    auditEvent: scoped(byId<AuditEvent>((ids) => prisma.auditEvent.findMany({ where: scope(ids) })), admin),
    /** The organisation's audit log (ADMIN), optionally one action. */
    auditEventsPage: (args: PageArgs & AuditEventFilterArgs) => {
      admin();
      const where = { organizationId, ...auditEventWhere(args) };
      return findPage(args, {
        findMany: (q) => prisma.auditEvent.findMany(pageOf(where, q)),
        count: () => prisma.auditEvent.count({ where }),
      });
    },
    // LTI grade passback (src/lti): platforms and their keys are admin configuration; line items
    // and the deliveries of an assessment's scores are read with the scores (SCORES_READ).
    /** The organisation's own LRS (ADMIN); its password is in the row, and no field reads it. */
    xapiLrs: () => {
      admin();
      return prisma.xapiLrs.findUnique({ where: { organizationId } });
    },
    ltiPlatformsList: () => {
      admin();
      return prisma.ltiPlatform.findMany({ where: { organizationId }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
    },
    ltiPlatform: scoped(byId<LtiPlatform>((ids) => prisma.ltiPlatform.findMany({ where: scope(ids) })), admin),
    ltiKeysByPlatform: scoped(
      groupedBy<LtiKey, 'platformId'>('platformId', (ids) =>
        prisma.ltiKey.findMany({ where: { organizationId, platformId: { in: ids } }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] }),
      ),
      admin,
    ),
    ltiLineItemsByPlatform: scoped(
      groupedBy<LtiLineItem, 'platformId'>('platformId', (ids) =>
        prisma.ltiLineItem.findMany({ where: { organizationId, platformId: { in: ids } }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] }),
      ),
      admin,
    ),
    ltiLineItem: scoped(ltiLineItem, reads),
    /** The outbox's LTI_SCORE deliveries of each assessment, with the scores they post. */
    gradeDeliveriesByAssessment: scoped(
      groupedBy<GradeDeliveryModel & { assessmentId: string }, 'assessmentId'>('assessmentId', async (ids) => {
        const rows = await prisma.delivery.findMany({
          where: { organizationId, channel: 'LTI_SCORE', ltiScore: { is: { organizationId, assessmentId: { in: ids } } } },
          include: { ltiScore: true },
          orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
        });
        // Selected by assessment, so each score has one (only a FAILED score has none).
        return rows.map((d) => ({ ...d, ltiScore: d.ltiScore!, assessmentId: d.ltiScore!.assessmentId! }));
      }),
      reads,
    ),
    // Webhooks (ADMIN): endpoints, their valid secrets (never the secret itself reaches a client),
    // deliveries, the events they send and their attempts.
    webhookEndpoint: scoped(byId<WebhookEndpoint>((ids) => prisma.webhookEndpoint.findMany({ where: scope(ids) })), admin),
    webhookDelivery: scoped(
      byId<Delivery>((ids) => prisma.delivery.findMany({ where: { ...scope(ids), channel: 'WEBHOOK' } })),
      admin,
    ),
    outboxEvent: scoped(byId<OutboxEvent>((ids) => prisma.outboxEvent.findMany({ where: scope(ids) })), admin),
    /** The statements an erasure's or deletion's event voids in the LRS (src/xapi/voiding.ts), by event. */
    voidingsByEvent: scoped(
      groupedBy<XapiVoiding, 'eventId'>('eventId', (ids) =>
        prisma.xapiVoiding.findMany({ where: { organizationId, eventId: { in: ids } }, orderBy: { statementId: 'asc' } }),
      ),
      admin,
    ),
    attemptsByDelivery: scoped(
      groupedBy<DeliveryAttempt, 'deliveryId'>('deliveryId', (ids) =>
        prisma.deliveryAttempt.findMany({ where: { organizationId, deliveryId: { in: ids } }, orderBy: { number: 'asc' } }),
      ),
      admin,
    ),
    signingSecretsByEndpoint: scoped(
      groupedBy<WebhookSecret, 'endpointId'>('endpointId', (ids) =>
        prisma.webhookSecret.findMany({
          where: { organizationId, endpointId: { in: ids }, OR: [{ expiresAt: null }, { expiresAt: { gt: new Date() } }] },
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        }),
      ),
      admin,
    ),
    webhookEndpointsPage: (args: PageArgs) => {
      admin();
      const where = { organizationId };
      return findPage(args, {
        findMany: (q) => prisma.webhookEndpoint.findMany(pageOf(where, q)),
        count: () => prisma.webhookEndpoint.count({ where }),
      });
    },
    /** The organisation's bulk re-assessments newest first (SCORES_READ), by status, learner and group. */
    bulkOperationsPage: (args: PageArgs & { filter?: BulkOperationFilter | null }) => {
      reads();
      const where = { organizationId, ...bulkOperationWhere(args.filter ?? {}) };
      return findPage(args, {
        findMany: (q) => prisma.bulkOperation.findMany(pageOf(where, q)),
        count: () => prisma.bulkOperation.count({ where }),
      });
    },
    /** The organisation's groups by id (SCORES_READ), each with its learner count; two statements at most. */
    groupsPage: async (args: PageArgs & { search?: string | null }): Promise<Connection<LearnerGroupModel>> => {
      reads();
      const { size, backward } = pageSize(args);
      const after = args.after != null ? decodeNameCursor(args.after, 'after') : null;
      const before = args.before != null ? decodeNameCursor(args.before, 'before') : null;
      const contains = args.search != null && args.search !== '' ? likeContains(args.search, 'search') : null;
      const [{ rows, more }, totalCount] = await Promise.all([
        listGroups(prisma, organizationId, { size, backward, after, before, contains }),
        args.withTotalCount ? countGroups(prisma, organizationId, contains) : Promise.resolve(undefined),
      ]);
      const edges = rows.map((node) => ({ cursor: encodeNameCursor(node.externalId), node }));
      return {
        edges,
        pageInfo: {
          startCursor: edges[0]?.cursor ?? null,
          endCursor: edges.at(-1)?.cursor ?? null,
          // Beyond the cursor we started from: the cursor's own group, at least (the spec lets this be loose).
          hasNextPage: backward ? before != null : more,
          hasPreviousPage: backward ? more : after != null,
        },
        ...(totalCount === undefined ? {} : { totalCount }),
      };
    },
    /** The organisation's outbox events newest first (SCORES_READ: they carry learner data and scores). */
    eventsPage: (args: PageArgs & { filter?: EventFilter | null }) => {
      reads();
      const where = { organizationId, ...eventWhere(args.filter ?? {}) };
      return findPage(args, {
        findMany: (q) => prisma.outboxEvent.findMany(pageOf(where, q)),
        count: () => prisma.outboxEvent.count({ where }),
      });
    },
    /**
     * The event feed after a position, oldest first (SCORES_READ): places newly committed events
     * first (src/outbox/feed.ts), then reads the page up to the last position placed.
     */
    eventFeed: async (args: { first?: number | null; after?: string | null; filter?: EventFilter | null }): Promise<EventFeedPageModel> => {
      reads();
      const where = { organizationId, ...eventWhere(args.filter ?? {}) };
      const { size: first } = pageSize({ first: args.first ?? MAX_PAGE_SIZE });
      const after = args.after != null ? decodeFeedCursor(args.after) : 0n;
      const horizon = await sequenceFeed(prisma, organizationId);
      if (after > horizon.last) {
        // Only a cursor from before a database restore gets here: resuming from it would skip events.
        throw badInput('The cursor is beyond the end of the event feed (was the database restored from a backup?): read again from an earlier cursor, or without one.', 'after');
      }
      if (first === 0) return { events: [], cursor: encodeFeedCursor(horizon.last), hasMore: horizon.more };
      const rows = await prisma.outboxEvent.findMany({
        where: { ...where, feedPosition: { gt: after, lte: horizon.last } },
        orderBy: { feedPosition: 'asc' },
        take: first + 1,
      });
      const full = rows.length > first;
      const events = rows.slice(0, first);
      // Caught up: the cursor moves to the end of the feed, past events the filter left out.
      const position = full ? events[first - 1].feedPosition! : horizon.last;
      return { events, cursor: encodeFeedCursor(position), hasMore: full || horizon.more };
    },
    /** Deliveries newest first; by endpoint on its index, else on the organisation's. */
    webhookDeliveriesPage: (args: PageArgs & { filter?: (WebhookDeliveryFilter & { endpointDbId?: string }) | null }) => {
      admin();
      const f = args.filter ?? {};
      const none = '00000000-0000-0000-0000-000000000000';
      let endpointId = f.endpointDbId;
      if (f.endpointId != null) {
        const parsed = fromGlobalId(f.endpointId);
        endpointId = parsed?.type === 'WebhookEndpoint' ? parsed.id : none; // another type's id matches nothing
      }
      const eventId = f.webhookId != null ? eventIdOf(f.webhookId) ?? none : undefined;
      // A typo would list nothing, silently: the types are known.
      if (f.eventType != null && !isEventType(f.eventType) && f.eventType !== TEST_EVENT_TYPE) {
        throw badInput(`Unknown event type ${JSON.stringify(f.eventType)} (event types: ${[...EVENT_TYPES, TEST_EVENT_TYPE].join(', ')}).`, 'filter.eventType', {
          eventTypes: [...EVENT_TYPES, TEST_EVENT_TYPE],
        });
      }
      const where: Prisma.DeliveryWhereInput = {
        organizationId,
        channel: 'WEBHOOK' as const,
        ...(endpointId ? { webhookEndpointId: endpointId } : {}),
        ...(f.status != null ? { status: f.status as WebhookDeliveryStatus } : {}),
        ...(eventId ? { eventId } : {}),
        // Both may filter on the event: ANDed rather than merged.
        AND: [deliveryWindow(f), ...(f.eventType != null ? [{ event: { is: { type: f.eventType } } }] : [])],
      };
      return findPage(args, {
        findMany: (q) => prisma.delivery.findMany(pageOf(where, q)),
        count: () => prisma.delivery.count({ where }),
      });
    },
    /** Grade deliveries (ADMIN) newest first, with their scores; by line item, status and LMS user. */
    gradeDeliveriesPage: (args: PageArgs & { filter?: GradeDeliveryFilter | null }) => {
      admin();
      const f = args.filter ?? {};
      const none = '00000000-0000-0000-0000-000000000000';
      const lineItem = f.lineItemId != null ? fromGlobalId(f.lineItemId) : null;
      const where = {
        organizationId,
        channel: 'LTI_SCORE' as const,
        ...deliveryWindow({ since: f.since, until: f.until }),
        ...(f.learnerId != null ? gradeLearnerWhere(f.learnerId) : {}),
        ...(f.status != null ? { status: f.status } : {}),
        ...(f.lineItemId != null || f.userId != null
          ? { ltiScore: { is: {
            ...(f.lineItemId != null ? { lineItemId: lineItem?.type === 'LtiLineItem' ? lineItem.id : none } : {}), // another type's id matches nothing
            ...(f.userId != null ? { userId: f.userId } : {}),
          } } }
          : {}),
      };
      return findPage(args, {
        findMany: async (q) => (await prisma.delivery.findMany({ ...pageOf(where, q), include: { ltiScore: true } })).map((d) => ({ ...d, ltiScore: d.ltiScore! })),
        count: () => prisma.delivery.count({ where }),
      });
    },
    /** By id for `gradeDelivery(id)`, LMS administration (ADMIN). */
    gradeDelivery: scoped(gradeDelivery, admin),
    /** By id for `node(id)`: read with the scores it posts, as `Assessment.gradeDeliveries` is (SCORES_READ). */
    gradeDeliveryNode: scoped(gradeDelivery, reads),
    /** An xAPI statement delivery by id (ADMIN), for `node(id)`. */
    xapiDelivery: scoped(byId<Delivery>((ids) => prisma.delivery.findMany({ where: { ...scope(ids), channel: 'XAPI' } })), admin),
    /** xAPI statement deliveries (ADMIN) newest first. */
    xapiDeliveriesPage: (args: PageArgs & DeliveryWindow & { status?: XapiDeliveryStatus | null }) => {
      admin();
      const where = { organizationId, channel: 'XAPI' as const, ...deliveryWindow(args, ['since', 'until']), ...(args.status != null ? { status: args.status } : {}) };
      return findPage(args, {
        findMany: (q) => prisma.delivery.findMany(pageOf(where, q)),
        count: () => prisma.delivery.count({ where }),
      });
    },
    /** History analytics (src/analytics): learner and cohort ones need SCORES_READ, the model audit ADMIN. */
    analytics,
    /**
     * The deployment's inference workers from their heartbeats (ADMIN). Not tenant data: workers
     * serve every organisation. `liveWithinSeconds`: the readiness window.
     */
    workers: async (includeStopped: boolean, liveWithinSeconds: number) => {
      admin();
      const rows = await allWorkers(prisma);
      const list = rows.map((w) => ({
        workerId: w.id,
        host: w.host,
        pid: w.pid,
        model: { name: w.modelName, version: w.modelVersion },
        // rows from before the list existed serve their one version
        modelVersions: w.modelVersions?.length ? w.modelVersions : [w.modelVersion],
        modelSha256: w.modelSha256,
        executionProvider: w.executionProvider,
        concurrency: w.concurrency,
        jobsInHand: w.jobsInHand,
        startedAt: w.startedAt,
        lastSeenAt: w.lastSeenAt,
        stoppedAt: w.stoppedAt,
        live: w.stoppedAt === null && Number(w.ageSeconds) <= liveWithinSeconds,
      }));
      return includeStopped ? list : list.filter((w) => w.live);
    },
    /**
     * What a job's `queuedReason` is judged by, read once per request however many jobs ask: the
     * model versions live workers serve (`withinSeconds`: the readiness window) and the database's
     * clock (the one `runAfter` was set by and the claim compares with). Whoever may see the job (a
     * write-only key its own submission's) may see why it waits: no worker detail or tenant data.
     */
    queueView: (withinSeconds: number) => {
      queueView ??= Promise.all([
        servedModelVersions(prisma, withinSeconds),
        prisma.$queryRaw<{ now: Date }[]>`SELECT now() AS "now"`,
      ]).then(([versions, [row]]) => ({ versions, now: new Date(row!.now) }));
      return queueView;
    },
    /**
     * Forget every row read so far in this request. Each root mutation field starts so (src/resolvers/index.ts):
     * an operation's fields run one after another, and one's payload must not show what an earlier
     * field read before this one wrote (keys before activateLtiPlatformKey, secrets before a second
     * rotateWebhookSecret, labels before attachHumanLabels).
     */
    forgetCached: () => {
      for (const loader of made) loader.clearAll();
      analytics.forget();
      learnerPageLoaders.clear();
      learnerCountLoaders.clear();
      queueView = undefined;
      ownKey = null;
    },
    /** Trust analytics per model version (ADMIN). */
    trustStats: (modelVersion: string | null | undefined) => {
      admin();
      return rationaleAnalytics(prisma, organizationId, modelVersion);
    },
  };
}

export type Loaders = ReturnType<typeof createLoaders>;

/** The review queues' filters of whose assessments: a learner (global id) and a group. */
interface ReviewScope {
  learnerId?: string | null;
  group?: string | null;
}

/** `Query.utterances`' filter: a learner's filters plus learner and group. */
export interface UtteranceFilterArgs extends LearnerUtteranceFilter {
  learnerId?: string | null;
  group?: string | null;
}
