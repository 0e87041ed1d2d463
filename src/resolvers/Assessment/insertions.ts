import type { AssessmentResolvers } from '../../generated/graphql.js';
import { decodeTimeline } from '../../assessment/timeline-codec.js';
import { arpabetToIpa } from '../../text/phones.js';

/** From the row's own timeline column: no extra statement. */
export const insertions: AssessmentResolvers['insertions'] = (a) =>
  decodeTimeline(a.timeline)?.insertions.map((i) => ({
    ...i,
    errorType: 'INSERTED' as const,
    durationMs: i.endMs - i.startMs,
    ipa: i.phones.map(arpabetToIpa).join(''),
  })) ?? null;
