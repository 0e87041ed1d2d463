/**
 * The five-level proficiency labels of "A Finetuned SpeechLLM for Joint Multi-Granular L2
 * Assessment" (Worst / Bad / Average / Good / Excellent), beside the numeric scores, so a UI can
 * say "Good" without inventing its own cut-offs.
 *
 * Bands follow SpeechOcean762's rating rubric for each scale (its annotators' own wording lines up
 * with the paper's label descriptions): sentence accuracy, prosody and total 9-10 / 7-8 / 5-6 / 3-4 /
 * 0-2; fluency, which that rubric gives four bands (8-10, 6-7, 4-5, 0-3), splits its lowest band at
 * 2 (our choice); word accuracy and total 10 / 7-9 / 4-6 / 2-3 / 0-1; completeness (the share of
 * words read, 0-10) 10 / 8-9 / 5-7 / 3-4 / 0-2 (ours); phoneme accuracy (0-2) the paper's
 * 1.9-2.0 / 1.5-1.8 / 1.0-1.4 / 0.5-0.9 / 0.0-0.4. A continuous score is labelled by the band its
 * value falls in (each band's lower bound is inclusive).
 */
export const PROFICIENCY_LABELS = ['WORST', 'BAD', 'AVERAGE', 'GOOD', 'EXCELLENT'] as const;
export type ProficiencyLabel = (typeof PROFICIENCY_LABELS)[number];

export type ScoredScale =
  | 'SENTENCE_ACCURACY' | 'FLUENCY' | 'PROSODY' | 'COMPLETENESS' | 'SENTENCE_TOTAL' | 'WORD_ACCURACY' | 'WORD_TOTAL' | 'PHONEME';

/** Lower bounds of BAD, AVERAGE, GOOD and EXCELLENT on each scale (WORST is everything below). */
export const PROFICIENCY_BANDS: Record<ScoredScale, readonly [number, number, number, number]> = {
  SENTENCE_ACCURACY: [3, 5, 7, 9],
  PROSODY: [3, 5, 7, 9],
  SENTENCE_TOTAL: [3, 5, 7, 9],
  FLUENCY: [2, 4, 6, 8],
  COMPLETENESS: [3, 5, 8, 10],
  WORD_ACCURACY: [2, 4, 7, 10],
  WORD_TOTAL: [2, 4, 7, 10],
  PHONEME: [0.5, 1.0, 1.5, 1.9],
};

/** Integer scales are rated in whole points: 8.6 is an 8.6, labelled as the 9 it rounds to. */
const INTEGER_SCALES = new Set<ScoredScale>(['SENTENCE_ACCURACY', 'PROSODY', 'SENTENCE_TOTAL', 'FLUENCY', 'COMPLETENESS', 'WORD_ACCURACY', 'WORD_TOTAL']);

export function proficiencyLabel(scale: ScoredScale, value: number): ProficiencyLabel {
  const v = INTEGER_SCALES.has(scale) ? Math.round(value) : Math.round(value * 10) / 10;
  const bands = PROFICIENCY_BANDS[scale];
  let level = 0;
  while (level < bands.length && v >= bands[level]!) level++;
  return PROFICIENCY_LABELS[level]!;
}
