import type { WordAssessmentResolvers } from '../../generated/graphql.js';
import { syllablesOf } from '../../assessment/syllables.js';

/** From the word's stored phones (the same loader as `phonemes`: no extra statement). */
export const syllables: WordAssessmentResolvers['syllables'] = async (word, _args, ctx) =>
  syllablesOf(word.text, await ctx.loaders.phonemesByWord.load(word.id));
