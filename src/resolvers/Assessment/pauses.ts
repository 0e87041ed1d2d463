import type { AssessmentResolvers } from '../../generated/graphql.js';
import { decodeTimeline } from '../../assessment/timeline-codec.js';

/** From the row's own timeline column: no extra statement. */
export const pauses: AssessmentResolvers['pauses'] = (a) =>
  decodeTimeline(a.timeline)?.pauses.map((p) => ({ ...p, durationMs: p.endMs - p.startMs })) ?? null;
