import type { WordAssessmentResolvers } from '../../generated/graphql.js';
import { proficiencyLabel } from '../../assessment/proficiency.js';

export const accuracyLabel: WordAssessmentResolvers['accuracyLabel'] = (word) =>
  proficiencyLabel('WORD_ACCURACY', word.accuracyScore ?? word.accuracy);
