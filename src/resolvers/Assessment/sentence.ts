import type { AssessmentResolvers } from '../../generated/graphql.js';
import { proficiencyLabel } from '../../assessment/proficiency.js';

/** The integer scores, the continuous ones where the model produced them, a label of each, and the rules behind derived ones. */
export const sentence: AssessmentResolvers['sentence'] = (a) => ({
  accuracy: a.accuracy,
  fluency: a.fluency,
  prosody: a.prosody,
  completeness: a.completeness,
  total: a.total,
  accuracyScore: a.accuracyScore,
  fluencyScore: a.fluencyScore,
  prosodyScore: a.prosodyScore,
  completenessScore: a.completenessScore,
  totalScore: a.totalScore,
  accuracyLabel: proficiencyLabel('SENTENCE_ACCURACY', a.accuracyScore ?? a.accuracy),
  fluencyLabel: proficiencyLabel('FLUENCY', a.fluencyScore ?? a.fluency),
  prosodyLabel: proficiencyLabel('PROSODY', a.prosodyScore ?? a.prosody),
  completenessLabel: proficiencyLabel('COMPLETENESS', a.completenessScore ?? a.completeness),
  totalLabel: proficiencyLabel('SENTENCE_TOTAL', a.totalScore ?? a.total),
  completenessDerivedBy: a.completenessRule,
  totalDerivedBy: a.totalRule,
  wordTotalsDerivedBy: a.wordTotalRule,
});
