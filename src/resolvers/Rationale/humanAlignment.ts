import type { RationaleResolvers } from '../../generated/graphql.js';
import type { HumanCheck } from '../../assessment/human.js';

/** Stored with the rationale (recomputed when labels are attached), so reading it costs no query. */
export const humanAlignment: RationaleResolvers['humanAlignment'] = (rationale) =>
  (rationale.humanCheck as unknown as HumanCheck | null) ?? null;
