import type { PhonemeAssessmentResolvers } from '../../generated/graphql.js';

export const produced: PhonemeAssessmentResolvers['produced'] = (p) => p.producedSymbol;
