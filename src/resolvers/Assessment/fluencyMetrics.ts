import type { AssessmentResolvers } from '../../generated/graphql.js';
import { fluencyMetrics as measure } from '../../assessment/fluency.js';
import { decodeTimeline } from '../../assessment/timeline-codec.js';
import type { ReferenceWord } from '../../types.js';

/** From the assessment's words (batched with Assessment.words), its timeline and its utterance's reference words; null for READ_WRONG_TEXT. */
export const fluencyMetrics: AssessmentResolvers['fluencyMetrics'] = async (assessment, _args, ctx) => {
  const timeline = decodeTimeline(assessment.timeline);
  // Another sentence was read: an alignment of this text to it measures nothing about the reading.
  if (!timeline || assessment.flags.includes('READ_WRONG_TEXT')) return null;
  const [words, utterance] = await Promise.all([ctx.loaders.wordsByAssessment.load(assessment.id), ctx.loaders.utterance.load(assessment.utteranceId)]);
  if (!utterance) return null;
  return measure(words, utterance.referenceWords as unknown as ReferenceWord[], timeline.pauses, timeline.insertions);
};
