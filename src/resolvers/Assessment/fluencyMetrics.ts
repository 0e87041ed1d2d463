import type { AssessmentResolvers } from '../../generated/graphql.js';
import { assessmentFluency } from '../../assessment/fluency.js';
import { decodeTimeline } from '../../assessment/timeline-codec.js';

/** From the assessment's words (batched with Assessment.words), its timeline and its utterance's reference words; null for READ_WRONG_TEXT. */
export const fluencyMetrics: AssessmentResolvers['fluencyMetrics'] = async (assessment, _args, ctx) => {
  const timing = decodeTimeline(assessment.timeline);
  // Nothing to load for an assessment without an alignment (human labels) or of another sentence.
  if (!timing || assessment.flags.includes('READ_WRONG_TEXT')) return null;
  const [words, utterance] = await Promise.all([ctx.loaders.wordsByAssessment.load(assessment.id), ctx.loaders.utterance.load(assessment.utteranceId)]);
  return utterance ? assessmentFluency({ words, referenceWords: utterance.referenceWords, timing, flags: assessment.flags }) : null;
};
