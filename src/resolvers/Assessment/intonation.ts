import type { AssessmentResolvers } from '../../generated/graphql.js';
import { intonationOf } from '../../assessment/intonation.js';
import { decodeTimeline } from '../../assessment/timeline-codec.js';

/** From the row's own timeline column (its pitch contour): no extra statement. */
export const intonation: AssessmentResolvers['intonation'] = (a) => {
  const pitch = decodeTimeline(a.timeline)?.pitch;
  return pitch ? intonationOf(pitch) : null;
};
