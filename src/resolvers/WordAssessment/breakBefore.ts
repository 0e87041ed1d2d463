import type { WordAssessmentResolvers } from '../../generated/graphql.js';
import { storedPhraseBreaks, wordBreaks, type WordBreak } from '../../assessment/breaks.js';
import { decodeTimeline } from '../../assessment/timeline-codec.js';

/**
 * An assessment's breaks, computed once per request: keyed on its words as the request's loader
 * returned them (one array per assessment per request), so every word of it reads the same map and
 * the map goes with the request.
 */
const computed = new WeakMap<object, Map<number, WordBreak | null> | null>();

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
  if (!computed.has(words)) {
    const expected = utterance ? storedPhraseBreaks(utterance) : null;
    computed.set(words, expected ? wordBreaks(words, expected, timeline.insertions) : null);
  }
  return computed.get(words)?.get(word.index) ?? null;
};
