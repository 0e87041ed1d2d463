import type DataLoader from 'dataloader';
import type { RequestContext } from './context.js';
import type { Loaders } from './loaders.js';
import { requireScope } from './auth.js';
import { fromGlobalId, type NodeType } from './ids.js';

const LOADER = { Learner: 'learner', Utterance: 'utterance', Job: 'job', Assessment: 'assessment' } as const;
type Loadable = keyof typeof LOADER;
type Row<T extends Loadable> = NonNullable<Awaited<ReturnType<Loaders[(typeof LOADER)[T]]['load']>>>;

function isLoadable(type: NodeType): type is Loadable {
  return type in LOADER;
}

/** Load a tenant-scoped row by database id; reading needs SCORES_READ. */
export async function loadVisible<T extends Loadable>(ctx: RequestContext, type: T, id: string): Promise<Row<T> | null> {
  requireScope(ctx.principal, 'SCORES_READ');
  const loader = ctx.loaders[LOADER[type]] as unknown as DataLoader<string, Row<T> | null>;
  return loader.load(id);
}

/** Any loadable node by global id: a malformed, foreign or unknown id reads as null. */
export async function loadNode(ctx: RequestContext, globalId: string) {
  const parsed = fromGlobalId(globalId);
  if (!parsed || !isLoadable(parsed.type)) {
    requireScope(ctx.principal, 'SCORES_READ');
    return null;
  }
  const row = await loadVisible(ctx, parsed.type, parsed.id);
  return row ? { ...row, __typename: parsed.type } : null;
}

/** Lookup by global id for the top-level fields; an id of another type reads as null. */
export async function findByGlobalId<T extends Loadable>(ctx: RequestContext, type: T, globalId: string): Promise<Row<T> | null> {
  const parsed = fromGlobalId(globalId);
  if (!parsed || parsed.type !== type) {
    requireScope(ctx.principal, 'SCORES_READ');
    return null;
  }
  return loadVisible(ctx, type, parsed.id);
}
