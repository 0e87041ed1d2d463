/**
 * Grounded rationale for a scorer model: a teacher-style text built only from the predicted labels,
 * so it is faithful by construction. checkRationale(generateRationale(l), l) raises no flag for
 * any labels with at least one word (property-tested). Rules that keep it so:
 * - aspect sentences carry the band's sentiment and name no token; token sentences name no aspect;
 * - every error word criticised is labelled < 8, every praised word >= 8 at every occurrence;
 * - a weak phoneme is named with the word of its worst occurrence as its location;
 * - when any token is an error, at least one error token is criticised (no MISSED_ERRORS);
 * - miscues from the model's alignment (labels.diagnostics) are told only where the labels agree:
 *   a skipped word only if labelled < 8, a substituted sound only if labelled < 1.5.
 * Wording varies with a hash of the labels (deterministic: same labels, same text).
 */
import type { AssessmentLabels, WordScore } from '../types.js';
import { arpabetToIpa } from '../text/phones.js';
import { bandOf, type Band } from './check.js';
import { FUNCTION_WORDS } from './lexicon.js';
import { ARPABET, PRACTICE_TIPS, stripStress, toArpabet } from './phonemes.js';
import { PHONEME_ERROR_BELOW, WORD_ERROR_BELOW } from './reference.js';

type Variants = Record<Band, readonly string[]>;

// Each variant is checked to carry its band's sentiment (see tests/rationale/generate.test.ts).
const ACCURACY: Variants = {
  high: [
    'Pronunciation is accurate: nearly every sound comes out clear and correct.',
    'Your pronunciation is clear and precise throughout.',
    'Articulation is strong, with clear, accurate consonants and vowels.',
  ],
  mid: [
    'Pronunciation accuracy is fair, with some clear sounds and some errors.',
    'Your pronunciation is acceptable, though a few sounds are still inaccurate.',
    'Articulation is moderate: mostly understandable, with several mistakes.',
  ],
  low: [
    'Pronunciation accuracy is low: many sounds are unclear or incorrect.',
    'Your pronunciation has many errors, which makes several words hard to follow.',
    'Articulation is weak, with frequent mistakes in consonants and vowels.',
  ],
};
const FLUENCY: Variants = {
  high: [
    'Fluency is good: the delivery is smooth and steady.',
    'You speak fluently, with no unnecessary hesitation.',
    'The pace is natural and the speech flows smoothly.',
  ],
  mid: [
    'Fluency is moderate, with some hesitation between words.',
    'The pace is acceptable, though there are a few pauses.',
    'Your fluency is fair: mostly steady, but with some choppy moments.',
  ],
  low: [
    'Fluency needs work: the speech is choppy, with frequent pauses.',
    'The delivery is hesitant and halting, with many long pauses.',
    'Your fluency is weak, with frequent stops and restarts.',
  ],
};
const PROSODY: Variants = {
  high: [
    'Intonation and rhythm are natural and expressive.',
    'Your rhythm is natural and the intonation rises and falls appropriately.',
    'Prosody is good, with natural stress and a lively melody.',
  ],
  mid: [
    'Intonation is somewhat flat in places, though the rhythm is acceptable.',
    'Your rhythm is fair, with some unnatural stress placement.',
    'Prosody is moderate: the intonation is a little monotone at times.',
  ],
  low: [
    'Intonation is flat and the rhythm is unnatural.',
    'Your prosody is weak: the melody is monotone and the stress is often misplaced.',
    'The rhythm is uneven and the intonation is very flat.',
  ],
};
const OVERALL: Variants = {
  high: ['Overall, this is a strong attempt.', 'Overall, a very good reading.', 'Overall score: {total}/10, a solid result.'],
  mid: [
    'Overall, this is a fair attempt with room for improvement.',
    'Overall score: {total}/10, an acceptable result.',
    'Overall, a reasonable attempt that still needs some practice.',
  ],
  low: [
    'Overall, this attempt is weak and needs more practice.',
    'Overall score: {total}/10, so more practice is needed.',
    'Overall, the reading is difficult to follow and needs work.',
  ],
};

/** Token sentences: no aspect word ("words", "sounds", "pronounced"...) so they stay token-level. */
const WORD_CRITIQUE = [
  'Listen again to {list}, which came out unclear.',
  '{list} {need} the most attention.',
  'Practise {list} slowly and carefully.',
  'The weakest {item} {was} {list}.',
];
const WORD_PRAISE = ['{list} {was} especially clear.', 'Well done on {list}, which {was} excellent.', 'Good job on {list}.'];
const PHONEME_CRITIQUE = [
  'The {ph} sound {ex} was not quite right.',
  'Watch the {ph} sound {ex}, which was unclear.',
  'The {ph} sound {ex} needs practice.',
];

export function generateRationale(labels: AssessmentLabels): string {
  const h = hashLabels(labels);
  const s = labels.sentence;
  const fill = (t: string): string => t.replace('{total}', String(Math.round(s.total)));
  const lines = [
    pick(ACCURACY[bandOf(s.accuracy)], h, 0),
    pick(FLUENCY[bandOf(s.fluency)], h, 1),
    pick(PROSODY[bandOf(s.prosody)], h, 2),
    fill(pick(OVERALL[bandOf(s.total)], h, 3)),
    ...tokenLines(labels, h),
  ];
  return lines.join('\n');
}

/**
 * The rationale of an assessment flagged READ_WRONG_TEXT (src/assessment/wrong-text.ts): it tells
 * the learner the recording is not the sentence and to read it again, instead of grading a reading
 * that did not happen. Still faithful to the labels: it names the first word neutrally, criticises
 * only tokens labelled as errors (the token lines below), and the capped total is in the low band.
 */
export function generateWrongTextRationale(labels: AssessmentLabels): string {
  const first = labels.words[0]?.text.toUpperCase();
  const hasErrors = labels.words.some((w) => w.accuracy < WORD_ERROR_BELOW || w.phonemes.some((p) => p.accuracy < PHONEME_ERROR_BELOW));
  return [
    'This recording does not match the sentence you were asked to read, so it was not scored as a reading of it.',
    first ? `Read the sentence exactly as written, starting with the word "${first}", and record it again.` : 'Read the sentence exactly as written and record it again.',
    `Overall score: ${Math.round(labels.sentence.total)}/10 for this sentence.`,
    ...(hasErrors ? tokenLines(labels, hashLabels(labels)) : []),
  ].join('\n');
}

function tokenLines(labels: AssessmentLabels, h: number): string[] {
  const out: string[] = miscueLines(labels);
  const errorWords = weakestWords(labels.words);
  if (errorWords.length > 0) out.push(cap(fillList(pick(WORD_CRITIQUE, h, 4), errorWords)));
  else {
    const best = strongestWords(labels.words);
    if (best.length > 0) out.push(cap(fillList(pick(WORD_PRAISE, h, 5), best)));
  }
  for (const [k, ph] of weakestPhonemes(labels).entries()) out.push(...phonemeLines(ph, h, k));
  return out;
}

/** How sure the recogniser must be of a substitute sound before the text names it. */
const NAME_SUBSTITUTE_FROM = 0.5;

/**
 * What the alignment found, in the learner's terms: skipped words ("You skipped "TO".") and sounds
 * heard as another ("The /θ/ sound in "THINK" sounded like /s/.", IPA), each only where the labels
 * also call it an error, so the checker agrees by construction.
 */
function miscueLines(labels: AssessmentLabels): string[] {
  const d = labels.diagnostics;
  if (!d) return [];
  const skipped = distinctByText(labels.words.filter((w, i) => d.words[i]?.errorType === 'OMITTED' && w.accuracy < WORD_ERROR_BELOW)).slice(0, 3);
  const out = skipped.length ? [`You skipped ${quoteList(skipped)}.`] : [];
  const named = new Set<string>();
  labels.words.forEach((w, wi) => {
    w.phonemes.forEach((p, j) => {
      const m = d.words[wi]?.phonemes[j];
      const symbol = stripStress(p.symbol.toUpperCase());
      if (!m?.substituted || !m.produced || (m.producedConfidence ?? 0) < NAME_SUBSTITUTE_FROM) return;
      if (p.accuracy >= PHONEME_ERROR_BELOW || !ARPABET.has(symbol) || named.has(symbol) || named.size >= 2) return;
      named.add(symbol);
      out.push(`The /${writtenSound(p.symbol.toUpperCase())}/ sound in "${w.text.toUpperCase()}" sounded like /${writtenSound(m.produced)}/.`);
    });
  });
  return out;
}

/**
 * IPA where the checker reads it back as the same sound; ARPAbet where it would not (a bare /i/ or
 * /u/ is not read as a sound in prose, see phonemes.ts `toArpabet`).
 */
function writtenSound(symbol: string): string {
  const ipa = arpabetToIpa(symbol);
  return toArpabet(ipa) === stripStress(symbol) ? ipa : stripStress(symbol);
}

function phonemeLines(ph: WeakPhoneme, h: number, k: number): string[] {
  const line = pick(PHONEME_CRITIQUE, h, 6 + k).replace('{ph}', `/${ph.symbol}/`).replace(' {ex}', exampleFor(ph));
  const tip = PRACTICE_TIPS[ph.symbol];
  return tip ? [line, `Tip: ${tip}.`] : [line];
}

/**
 * The example word is quoted right after "sound in": the checker reads it as the phoneme's
 * location (scope), not as a judgement of the word, so a good word can host a weak sound.
 */
function exampleFor(ph: WeakPhoneme): string {
  return ` in "${ph.word.text.toUpperCase()}"`;
}

/** Up to three error words, weakest first, distinct texts. */
function weakestWords(words: WordScore[]): WordScore[] {
  const errors = words.filter((w) => w.accuracy < WORD_ERROR_BELOW).sort((a, b) => a.accuracy - b.accuracy);
  return distinctByText(errors).slice(0, 3);
}

/** Up to two words labelled good at every occurrence, best first, content words preferred. */
function strongestWords(words: WordScore[]): WordScore[] {
  const bad = new Set(words.filter((w) => w.accuracy < WORD_ERROR_BELOW).map((w) => w.text.toUpperCase()));
  const good = words.filter((w) => !bad.has(w.text.toUpperCase()));
  const score = (w: WordScore): number => w.accuracy + (FUNCTION_WORDS.has(w.text.toLowerCase()) ? 0 : 0.5);
  return distinctByText([...good].sort((a, b) => score(b) - score(a))).slice(0, 2);
}

function distinctByText(words: WordScore[]): WordScore[] {
  const seen = new Set<string>();
  return words.filter((w) => {
    const k = w.text.toUpperCase();
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

interface WeakPhoneme {
  symbol: string;
  accuracy: number;
  word: WordScore;
}

/** Up to two distinct error phonemes (ARPAbet, below 1.5), each with the word of its worst occurrence. */
function weakestPhonemes(labels: AssessmentLabels): WeakPhoneme[] {
  const worst = new Map<string, WeakPhoneme>();
  for (const word of labels.words) {
    for (const p of word.phonemes) {
      const symbol = stripStress(p.symbol.toUpperCase());
      if (p.accuracy >= PHONEME_ERROR_BELOW || !ARPABET.has(symbol)) continue;
      const prev = worst.get(symbol);
      if (!prev || p.accuracy < prev.accuracy) worst.set(symbol, { symbol, accuracy: p.accuracy, word });
    }
  }
  return [...worst.values()].sort((a, b) => a.accuracy - b.accuracy).slice(0, 2);
}

/** Fills {list} and makes {was}/{need}/{item} agree with it. */
function fillList(template: string, words: WordScore[]): string {
  const one = words.length === 1;
  return template
    .replace('{list}', quoteList(words))
    .replace('{was}', one ? 'was' : 'were')
    .replace('{need}', one ? 'needs' : 'need')
    .replace('{item}', one ? 'item' : 'items');
}

function quoteList(words: WordScore[]): string {
  const q = words.map((w) => `"${w.text.toUpperCase()}"`);
  return q.length <= 1 ? q.join('') : `${q.slice(0, -1).join(', ')} and ${q[q.length - 1]}`;
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function pick(variants: readonly string[], h: number, slot: number): string {
  // Different slots read different bits of the hash, so lines vary independently.
  const mixed = Math.imul(h ^ (slot * 0x9e3779b9), 0x85ebca6b) >>> 0;
  return variants[(mixed >>> 7) % variants.length]!;
}

/** FNV-1a over the labels' numbers and texts. */
export function hashLabels(labels: AssessmentLabels): number {
  let h = 0x811c9dc5;
  const add = (s: string): void => {
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  };
  const s = labels.sentence;
  add(`${s.accuracy}|${s.fluency}|${s.prosody}|${s.completeness}|${s.total}`);
  for (const w of labels.words) {
    add(`${w.text}:${w.accuracy}:`);
    for (const p of w.phonemes) add(`${p.symbol}${p.accuracy}`);
  }
  return h >>> 0;
}
