import type { WordAssessmentResolvers } from '../../generated/graphql.js';
import { assessmentBreaks, type WordBreak } from '../../assessment/breaks.js';
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
  // Nothing to load for an assessment without an alignment (human labels) or of another sentence.
  if (!assessment?.timeline || assessment.flags.includes('READ_WRONG_TEXT')) return null;
  const [words, utterance] = await Promise.all([ctx.loaders.wordsByAssessment.load(assessment.id), ctx.loaders.utterance.load(assessment.utteranceId)]);
  if (!computed.has(words)) {
    const insertions = decodeTimeline(assessment.timeline)?.insertions ?? null;
    computed.set(words, utterance ? assessmentBreaks({ words, utterance, insertions, flags: assessment.flags }) : null);
  }
  return computed.get(words)?.get(word.index) ?? null;
};
