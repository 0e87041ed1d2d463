import type { WordAssessmentResolvers } from '../../generated/graphql.js';
import { ipaOf } from '../../analytics/common.js';

/** From the word's stored canonical phones (the same loader as `phonemes`: no extra statement). */
export const ipa: WordAssessmentResolvers['ipa'] = async (word, _args, ctx) =>
  (await ctx.loaders.phonemesByWord.load(word.id)).map((p) => ipaOf(p.symbol)).join('');
