import type { RequestContext } from './context.js';
import { requireScope } from './auth.js';
import { fromGlobalId, type NodeType } from './ids.js';

type Loadable = 'Learner' | 'Utterance' | 'Job' | 'Assessment';
const LOADER = { Learner: 'learner', Utterance: 'utterance', Job: 'job', Assessment: 'assessment' } as const;

/** Load a tenant-scoped row by database id; reading scores needs SCORES_READ. */
export function loadVisible(ctx: RequestContext, type: NodeType, id: string) {
  requireScope(ctx.principal, 'SCORES_READ');
  if (!(type in LOADER)) return Promise.resolve(null);
  return ctx.loaders[LOADER[type as Loadable]].load(id);
}

/** Lookup by global id for the top-level fields: a malformed or foreign id reads as null. */
export async function findByGlobalId<T extends Loadable>(ctx: RequestContext, type: T, globalId: string) {
  const parsed = fromGlobalId(globalId);
  if (!parsed || parsed.type !== type) {
    requireScope(ctx.principal, 'SCORES_READ');
    return null;
  }
  return ctx.loaders[LOADER[type]].load(parsed.id) as ReturnType<RequestContext['loaders'][(typeof LOADER)[T]]['load']>;
}
