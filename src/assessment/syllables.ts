/**
 * Syllable-level scores of a word, computed from its stored phone rows when read (no column of their
 * own: a syllable is a grouping of phones already scored, src/text/syllables.ts says which).
 */
import type { PhonemeAssessment } from '../generated/prisma/client.js';
import { ipaOf } from '../analytics/common.js';
import { syllabify, syllableStress } from '../text/syllables.js';
import { syllableGraphemes } from '../text/graphemes.js';
import { proficiencyLabel, type ProficiencyLabel } from './proficiency.js';

export interface SyllableScore {
  index: number;
  symbols: string[];
  ipa: string;
  /** The letters of the word that spell it; null for every syllable of a word that cannot be split so. */
  grapheme: string | null;
  stress: ReturnType<typeof syllableStress>;
  accuracy: number;
  label: ProficiencyLabel;
  startMs: number | null;
  endMs: number | null;
  phonemes: PhonemeAssessment[];
}

/**
 * The syllables of one word (`text` as written in the assessment), from its phones in order (as the
 * phonemesByWord loader gives them).
 */
export function syllablesOf(text: string, phonemes: readonly PhonemeAssessment[]): SyllableScore[] {
  const ordered = [...phonemes].sort((a, b) => a.index - b.index);
  const symbolsInOrder = ordered.map((p) => p.symbol);
  const runs = syllabify(symbolsInOrder);
  const graphemes = syllableGraphemes(text, symbolsInOrder, runs);
  return runs.map((positions, index) => {
    const phones = positions.map((i) => ordered[i]!);
    const symbols = phones.map((p) => p.symbol);
    // Two decimals: the phone scale is rated in tenths, and a mean of three phones is not.
    const accuracy = Math.round((phones.reduce((sum, p) => sum + p.accuracy, 0) / phones.length) * 100) / 100;
    const first = phones[0]!;
    const last = phones.at(-1)!;
    return {
      index,
      symbols,
      ipa: symbols.map(ipaOf).join(''),
      grapheme: graphemes?.[index] ?? null,
      stress: syllableStress(symbols),
      accuracy,
      label: proficiencyLabel('PHONEME', accuracy),
      startMs: first.startMs ?? null,
      endMs: last.endMs ?? null,
      phonemes: phones,
    };
  });
}
