import type { WordAssessmentResolvers } from '../../generated/graphql.js';
import { proficiencyLabel } from '../../assessment/proficiency.js';

export const totalLabel: WordAssessmentResolvers['totalLabel'] = (word) =>
  proficiencyLabel('WORD_TOTAL', word.totalScore ?? word.total);
