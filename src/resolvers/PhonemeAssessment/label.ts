import type { PhonemeAssessmentResolvers } from '../../generated/graphql.js';
import { proficiencyLabel } from '../../assessment/proficiency.js';

export const label: PhonemeAssessmentResolvers['label'] = (p) => proficiencyLabel('PHONEME', p.accuracy);
