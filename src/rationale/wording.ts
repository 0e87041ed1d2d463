/**
 * The writer's phrases. Each aspect phrase declares the bands it is true of (`fits`), and
 * tests/rationale/wording.test.ts checks it against checkRationale for each of them: a phrase
 * fitting [mid, high] is mildly positive (true of a 7 and of a 9), one fitting [low, mid] mildly
 * negative. generate.ts picks, among the phrases that fit the model's band, the one most likely to
 * fit the band a rater would give (calibration.ts), then the variant that matches the content.
 * Phrases avoid "little" and "few": the checker reads them as negators.
 */
import type { Band } from './check.js';
import type { SentenceAspect } from './calibration.js';

export type Audience = 'adult' | 'child';

/** What the content of a reading says about it, for choosing among phrases of one band. */
export interface Content {
  /** Words criticised (asserted or hedged). */
  errorWords: number;
  /** Words of the reference. */
  words: number;
  /**
   * Pauses where the text has no phrase boundary (UNEXPECTED_BREAK) when the text's phrasing is
   * known, else every pause the alignment found (0 without diagnostics).
   */
  pauses: number;
  /** Phrase boundaries (punctuation, a dash, a bracket, a line break) read straight through (MISSING_BREAK; 0 when the phrasing is not known). */
  missingBreaks: number;
  /** Words whose stress the model marked as wrong. */
  stressErrors: number;
  /** The pitch tracker heard the reading on one note (Assessment.intonation MONOTONE). */
  monotone: boolean;
}

export interface AspectPhrase {
  fits: readonly Band[];
  text: string;
  /** Used only when this holds; the first matching phrase of the chosen band wins. */
  when?: (c: Content) => boolean;
}

const HIGH = ['high'] as const;
const MID_HIGH = ['mid', 'high'] as const;
const MID = ['mid'] as const;
const LOW_MID = ['low', 'mid'] as const;
const LOW = ['low'] as const;

const noErrors = (c: Content): boolean => c.errorWords === 0;
const manyErrors = (c: Content): boolean => c.errorWords >= 3 && c.errorWords * 3 >= c.words;
const paused = (c: Content): boolean => c.pauses > 0;
const stressSlips = (c: Content): boolean => c.stressErrors > 0;
const monotone = (c: Content): boolean => c.monotone;
const runOn = (c: Content): boolean => c.missingBreaks > 0;

export const ASPECT_PHRASES: Record<Audience, Record<SentenceAspect, readonly AspectPhrase[]>> = {
  adult: {
    accuracy: [
      { fits: HIGH, when: noErrors, text: 'Your pronunciation is excellent: every sound came through clearly.' },
      { fits: HIGH, text: 'Your pronunciation is very clear, with only small slips.' },
      { fits: MID_HIGH, when: manyErrors, text: 'Your pronunciation is fairly clear, around the border between fair and good.' },
      { fits: MID_HIGH, text: 'Your pronunciation is good for the most part.' },
      { fits: MID, text: 'Your pronunciation is fair.' },
      { fits: LOW_MID, when: manyErrors, text: 'Your pronunciation is somewhat unclear, around the border between weak and fair.' },
      { fits: LOW_MID, text: 'Your pronunciation is somewhat inaccurate in places.' },
      { fits: LOW, when: manyErrors, text: 'Your pronunciation has very many errors, and several words are hard to follow.' },
      { fits: LOW, text: 'Your pronunciation is very unclear in several words.' },
    ],
    fluency: [
      { fits: HIGH, when: (c) => !paused(c), text: 'Your delivery is very smooth, without hesitation.' },
      { fits: HIGH, text: 'Your delivery is very fluent and well paced.' },
      { fits: MID_HIGH, when: paused, text: 'The pace is steady for the most part.' },
      { fits: MID_HIGH, text: 'Your delivery is fairly smooth.' },
      { fits: MID, text: 'Your fluency is moderate.' },
      { fits: LOW_MID, when: paused, text: 'Your delivery is a bit hesitant, with some pauses between words.' },
      { fits: LOW_MID, text: 'Your delivery is a bit hesitant, around the border between weak and fair.' },
      { fits: LOW, when: paused, text: 'Your delivery is very choppy, with frequent pauses.' },
      { fits: LOW, text: 'Your delivery is very hesitant.' },
    ],
    prosody: [
      { fits: HIGH, when: monotone, text: 'Your rhythm is very natural, though your pitch stays close to one note.' },
      { fits: HIGH, when: runOn, text: 'Your intonation is very natural, though the rhythm runs on where the text asks for a break.' },
      { fits: HIGH, text: 'Your intonation and rhythm sound very natural.' },
      { fits: MID_HIGH, when: monotone, text: 'Your rhythm is fairly natural, though your pitch stays close to one note.' },
      { fits: MID_HIGH, when: runOn, text: 'Your intonation is fairly natural, though the rhythm runs on where the text asks for a break.' },
      { fits: MID_HIGH, when: stressSlips, text: 'Your rhythm is fairly natural.' },
      { fits: MID_HIGH, text: 'Your intonation is fairly natural and lively.' },
      { fits: MID, when: monotone, text: 'Your intonation is average, staying close to one note.' },
      { fits: MID, when: runOn, text: 'Your rhythm is average, running on where the text asks for a break.' },
      { fits: MID, text: 'Your intonation is average.' },
      { fits: LOW_MID, when: monotone, text: 'Your intonation is somewhat flat, staying close to one note.' },
      { fits: LOW_MID, when: runOn, text: 'Your rhythm is somewhat uneven, running on where the text asks for a break.' },
      { fits: LOW_MID, when: stressSlips, text: 'Your rhythm is somewhat uneven.' },
      { fits: LOW_MID, text: 'Your intonation is somewhat flat.' },
      { fits: LOW, when: runOn, text: 'Your intonation is very flat and the rhythm runs on where the text asks for a break.' },
      { fits: LOW, text: 'Your intonation is very flat and the rhythm is unnatural.' },
    ],
    total: [
      { fits: HIGH, text: 'Overall, a very good reading.' },
      { fits: MID_HIGH, text: 'Overall, a good attempt.' },
      { fits: MID, text: 'Overall, a fair attempt.' },
      { fits: LOW_MID, text: 'Overall, a somewhat weak attempt that needs practice.' },
      { fits: LOW, text: 'Overall, this reading is very hard to follow and needs more practice.' },
    ],
  },
  child: {
    accuracy: [
      { fits: HIGH, text: 'Your sounds were really clear and correct!' },
      { fits: MID_HIGH, text: 'Most of your sounds were good.' },
      { fits: MID, text: 'Your sounds were okay.' },
      { fits: LOW_MID, text: 'Some of your sounds were tricky.' },
      { fits: LOW, text: 'Lots of your sounds were very hard to say.' },
    ],
    fluency: [
      { fits: HIGH, text: 'You read really smoothly, like a storyteller!' },
      { fits: MID_HIGH, text: 'You read fairly smoothly.' },
      { fits: MID, text: 'Your reading speed was okay.' },
      { fits: LOW_MID, text: 'Your reading was a bit choppy.' },
      { fits: LOW, text: 'Your reading was very choppy, with lots of stops.' },
    ],
    prosody: [
      { fits: HIGH, when: monotone, text: 'Your reading had a really lovely rhythm, though it stayed close to one note.' },
      { fits: HIGH, text: 'Your reading had a really lovely melody.' },
      { fits: MID_HIGH, when: monotone, text: 'Your reading had a nice rhythm, though it stayed close to one note.' },
      { fits: MID_HIGH, when: runOn, text: 'Your reading had a nice melody, though it ran on where the sentence has a stop.' },
      { fits: MID_HIGH, text: 'Your reading had a nice melody.' },
      { fits: MID, when: monotone, text: 'Your melody was okay, but it stayed close to one note.' },
      { fits: MID, when: runOn, text: 'Your melody was okay, but it ran on where the sentence has a stop.' },
      { fits: MID, text: 'Your melody was okay.' },
      { fits: LOW_MID, when: monotone, text: 'Your melody was a bit flat, like one long note.' },
      { fits: LOW_MID, when: runOn, text: 'Your melody was a bit flat, and it ran on where the sentence has a stop.' },
      { fits: LOW_MID, text: 'Your melody was a bit flat.' },
      { fits: LOW, text: 'Your melody was very flat, like a robot.' },
    ],
    total: [
      { fits: HIGH, text: 'Overall, great reading!' },
      { fits: MID_HIGH, text: 'Overall, a good try!' },
      { fits: MID, text: 'Overall, an okay reading.' },
      { fits: LOW_MID, text: 'Overall, keep practising and it will get easier.' },
      { fits: LOW, text: 'Overall, this one was very hard to read, so let us practise it again.' },
    ],
  },
};

/**
 * Example words for each sound (ARPAbet without stress), the first one not in the reference is
 * used. None is a sentiment or aspect word of the checker's lexicon, so "as in sun" reads as
 * an example, never as a judgement.
 */
export const SOUND_EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  AA: ['father', 'hot', 'palm'], AE: ['cat', 'apple', 'hat'], AH: ['cup', 'sun', 'mud'], AO: ['law', 'saw', 'thought'],
  AW: ['now', 'house', 'cow'], AY: ['my', 'time', 'five'], B: ['boy', 'bed', 'baby'], CH: ['chair', 'cheese', 'much'],
  D: ['dog', 'day', 'red'], DH: ['this', 'mother', 'they'], EH: ['bed', 'ten', 'egg'], ER: ['bird', 'first', 'nurse'],
  EY: ['day', 'say', 'make'], F: ['fish', 'fun', 'leaf'], G: ['go', 'dog', 'bag'], HH: ['hat', 'home', 'hello'],
  IH: ['sit', 'fish', 'milk'], IY: ['see', 'tree', 'sea'], JH: ['jam', 'juice', 'judge'], K: ['cat', 'key', 'book'],
  L: ['leg', 'ball', 'lamp'], M: ['man', 'moon', 'home'], N: ['nine', 'sun', 'pen'], NG: ['sing', 'ring', 'song'],
  OW: ['go', 'boat', 'home'], OY: ['boy', 'toy', 'coin'], P: ['pen', 'pig', 'cup'], R: ['red', 'run', 'car'],
  S: ['sun', 'see', 'bus'], SH: ['she', 'shoe', 'fish'], T: ['top', 'ten', 'cat'], TH: ['think', 'three', 'bath'],
  UH: ['book', 'put', 'foot'], UW: ['food', 'moon', 'blue'], V: ['van', 'vase', 'five'], W: ['we', 'water', 'win'],
  Y: ['yes', 'you', 'yellow'], Z: ['zoo', 'nose', 'buzz'], ZH: ['measure', 'vision', 'beige'],
};
/** The unstressed schwa has its own examples. */
export const SCHWA_EXAMPLES = ['about', 'sofa', 'banana'] as const;
