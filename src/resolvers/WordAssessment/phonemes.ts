import type { WordAssessmentResolvers } from '../../generated/graphql.js';

export const phonemes: WordAssessmentResolvers['phonemes'] = (word, _args, ctx) => ctx.loaders.phonemesByWord.load(word.id);
