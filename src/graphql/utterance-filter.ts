/**
 * The utterance filters' input checks, shared by `Query.utterances` and `Learner.utterances`: what
 * the loader's SQL cannot judge (an inverted window, metadata that breaks its codec's rules, an
 * empty or inverted score range) is BAD_USER_INPUT naming the part at fault, before any statement.
 */
import type { LearnerUtteranceFilter, SentenceScoreRange } from '../generated/graphql.js';
import { checkRange } from '../analytics/common.js';
import { checkMetadata } from '../assessment/metadata.js';
import { badInput } from '../errors.js';

/** Sentence scores are on 0-10. */
const SCORE_MAX = 10;

function checkScoreRange(range: SentenceScoreRange): SentenceScoreRange {
  const { min, max } = range;
  if (min == null && max == null) throw badInput('score needs min, max or both.', ['filter.score.min', 'filter.score.max']);
  for (const [name, v] of [['min', min], ['max', max]] as const) {
    if (v != null && !(v >= 0 && v <= SCORE_MAX)) throw badInput(`score.${name} must be between 0 and ${SCORE_MAX} (got ${v}).`, `filter.score.${name}`, { min: 0, max: SCORE_MAX });
  }
  if (min != null && max != null && min > max) throw badInput(`score.min (${min}) must not be above score.max (${max}).`, ['filter.score.min', 'filter.score.max']);
  return range;
}

/** The filter as the loaders take it (metadata in its codec's form), or BAD_USER_INPUT. */
export function checkUtteranceFilter<F extends LearnerUtteranceFilter>(filter: F | null | undefined): F | null | undefined {
  if (filter == null) return filter;
  checkRange(filter.createdAfter, filter.createdBefore, ['filter.createdAfter', 'filter.createdBefore']);
  if (filter.score != null) checkScoreRange(filter.score);
  return filter.metadata != null ? { ...filter, metadata: checkMetadata(filter.metadata, 'filter.metadata') } : filter;
}
