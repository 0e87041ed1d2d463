import { AppError, badInput } from '../../errors.js';
import { findByGlobalId } from '../../graphql/access.js';
import { requireScope } from '../../graphql/auth.js';
import type { RequestContext } from '../../graphql/context.js';
import type { ChangeEvent } from '../../events/notify.js';

const TYPE_OF_ARG = { jobId: 'Job', utteranceId: 'Utterance', learnerId: 'Learner' } as const;
type TargetArg = keyof typeof TYPE_OF_ARG;

/** What a subscription follows: one job, utterance or learner of the caller's organisation. */
export interface Target {
  arg: TargetArg;
  id: string;
  /** The learner it belongs to (the learner itself): what the replay after a reconnect reads for it (hub.ts). */
  learnerId: string;
}

/**
 * The one id argument given of those the subscription `accepts`, checked like a query would check
 * it: SCORES_READ, the caller's organisation (another's id is NOT_FOUND, as an unknown one), and
 * the id's type. None or several: BAD_USER_INPUT naming those given, or all it accepts when none.
 */
export async function resolveTarget(
  ctx: RequestContext, args: Partial<Record<TargetArg, string | null>>, accepts: readonly [TargetArg, TargetArg, ...TargetArg[]],
): Promise<Target> {
  requireScope(ctx.principal, 'SCORES_READ');
  const given = accepts.filter((k) => args[k] != null);
  if (given.length !== 1) {
    const named = given.length > 1 ? given : accepts;
    throw badInput(`Give exactly one of ${accepts.join(', ')} (got ${given.length}).`, [named[0]!, named[1]!, ...named.slice(2)]);
  }
  const arg = given[0]!;
  const type = TYPE_OF_ARG[arg];
  const row = await findByGlobalId(ctx, type, args[arg]!);
  if (!row) throw new AppError('NOT_FOUND', `No ${type} with id ${JSON.stringify(args[arg])}.`);
  return { arg, id: row.id, learnerId: await learnerOf(ctx, arg, row) };
}

/** Whose job, utterance or learner it is; an utterance never changes learner, so once per subscription. */
async function learnerOf(ctx: RequestContext, arg: TargetArg, row: { id: string; learnerId?: string; utteranceId?: string }): Promise<string> {
  if (arg === 'learnerId') return row.id;
  if (arg === 'utteranceId') return row.learnerId!;
  const utterance = await ctx.loaders.writeTarget.utterance.load(row.utteranceId!);
  if (!utterance) throw new AppError('NOT_FOUND', `No Job with id ${JSON.stringify(row.id)}.`);
  return utterance.learnerId;
}

/**
 * Whether `event` can be about `target`, from what the event itself says: the organisation, and the
 * job or utterance id. Whose utterance it is the event does not say (see notify.ts): for a learner
 * target, `concernsLearner` settles it.
 */
export function mayConcern(event: ChangeEvent, organizationId: string, target: Target): boolean {
  if (event.organizationId !== organizationId) return false;
  if (target.arg === 'jobId') return event.type === 'job' && event.jobId === target.id;
  if (target.arg === 'utteranceId') return event.utteranceId === target.id;
  return true;
}

/** Utterances remembered per subscription (an utterance never changes learner). */
const MAX_CACHED_UTTERANCES = 10_000;

/**
 * For a learner target: whether the event's utterance is that learner's, looked up once per
 * utterance (per subscription) within the caller's organisation. Other targets: always (mayConcern decided).
 */
export function concernsLearner(ctx: RequestContext, target: Target): (event: ChangeEvent) => Promise<boolean> {
  if (target.arg !== 'learnerId') return async () => true;
  const known = new Map<string, boolean>();
  return async (event) => {
    // A replayed change says whose it is (read once for every subscription: hub.ts).
    if (event.learnerId !== undefined) return event.learnerId === target.id;
    let mine = known.get(event.utteranceId);
    if (mine === undefined) {
      // The tenant-bound loader without a scope check: this only filters; what is sent is read
      // with the scoped loaders after ctx.renew.
      const utterance = await ctx.loaders.writeTarget.utterance.load(event.utteranceId);
      mine = utterance?.learnerId === target.id;
      if (known.size >= MAX_CACHED_UTTERANCES) known.clear();
      known.set(event.utteranceId, mine);
    }
    return mine;
  };
}

/**
 * Each event that `load` still finds, read with fresh loaders (ctx.renew) so access is checked
 * again and nothing comes from an earlier event's cache. An iterator object, not an async
 * generator: a generator waiting for the next event would only see `return()` (client `complete`,
 * socket closed) when that event came, keeping the hub's subscription until then.
 */
export function deliver<T>(
  ctx: RequestContext,
  events: AsyncIterableIterator<ChangeEvent>,
  relevant: (event: ChangeEvent) => Promise<boolean>,
  load: (event: ChangeEvent) => Promise<T | null>,
): AsyncIterableIterator<T> {
  const end = async (): Promise<IteratorResult<T>> => {
    await events.return?.();
    return { value: undefined, done: true };
  };
  const iterator: AsyncIterableIterator<T> = {
    async next() {
      for (;;) {
        const event = await events.next();
        if (event.done) return { value: undefined, done: true };
        try {
          if (!(await relevant(event.value))) continue;
          await ctx.renew?.();
          const row = await load(event.value);
          if (row) return { value: row, done: false };
        } catch (e) {
          await end();
          throw e;
        }
      }
    },
    return: end,
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

export function hubOf(ctx: RequestContext) {
  const hub = ctx.services.events;
  if (!hub) throw new AppError('SERVICE_UNAVAILABLE', 'Subscriptions are not available on this server.');
  return hub;
}
