import type { WordAssessmentResolvers } from '../../generated/graphql.js';
import { storedPhraseBreaks, wordBreaks } from '../../assessment/breaks.js';
import { decodeTimeline } from '../../assessment/timeline-codec.js';

/**
 * From the assessment's words (the loader Assessment.words batches), its timeline and the utterance's
 * reference text: no statement beyond those loaders'. Null without an alignment or for READ_WRONG_TEXT.
 */
export const breakBefore: WordAssessmentResolvers['breakBefore'] = async (word, _args, ctx) => {
  const assessment = await ctx.loaders.assessment.load(word.assessmentId);
  const timeline = assessment ? decodeTimeline(assessment.timeline) : null;
  // Another sentence was read: an alignment of this text to it says nothing about its phrasing.
  if (!assessment || !timeline || assessment.flags.includes('READ_WRONG_TEXT')) return null;
  const [words, utterance] = await Promise.all([ctx.loaders.wordsByAssessment.load(assessment.id), ctx.loaders.utterance.load(assessment.utteranceId)]);
  const expected = utterance ? storedPhraseBreaks(utterance) : null;
  return expected ? wordBreaks(words, expected, timeline.pauses, timeline.insertions).get(word.index) ?? null : null;
};
