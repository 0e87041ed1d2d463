/**
 * Grounded rationale for a scorer model, written from the predicted labels and the calibration of
 * how far a rater would agree with them (calibration.ts). checkRationale(generateRationale(l), l)
 * raises no flag for any labels with at least one word (property-tested). Rules that keep it so:
 * - aspect sentences name no token, and use a phrase that fits the model's band (wording.ts); among
 *   those, the one most likely to fit the band a rater would give: mildly positive around the
 *   mid/high border, mildly negative around the low/mid border, strong only when sure;
 * - token sentences name no aspect. A word or sound is criticised plainly when the model labels it
 *   an error and a rater would probably agree (calibration `assertFrom`), with a hedge ("probably")
 *   when the calibrated probability is at least `hedgeFrom` (hedges.ts makes the checker accept
 *   that, and nothing weaker), and left out below; the worst come first, words in one list, sounds
 *   with their locations (those in the same words and equally sure share a line), many grouped;
 * - when any token is labelled an error, at least one labelled error is criticised (no MISSED_ERRORS);
 * - praise only when nothing is criticised, of the words a rater would most surely call right:
 *   plainly only where P(right) reaches `assertFrom`, else the best one with a hedge;
 * - miscues from the model's alignment (labels.diagnostics) are told only where the labels agree:
 *   a skipped word only if labelled < 8, a substituted sound only if labelled < 1.5.
 * No random or hashed choice: the same labels give the same text, and the wording follows the
 * content (which aspects are strong, how many errors, hesitation pauses, punctuation run through, stress
 * slips, a monotone reading, the audience).
 */
import type { AssessmentLabels, WordScore } from '../types.js';
import { intonationOf } from '../assessment/intonation.js';
import { decodeTimeline, encodeTimeline } from '../assessment/timeline-codec.js';
import type { BreakErrorType, WordBreak } from '../assessment/breaks.js';
import { labelTimedWords, PAUSE_MS, spokenGaps, type SpokenGap } from '../assessment/fluency.js';
import { arpabetToIpa } from '../text/phones.js';
import { bandOf, type Band } from './check.js';
import {
  bandProbabilities, defaultCalibration, isPrediction, phonemeErrorProbability, THRESHOLD_ONLY, predictedWordAccuracy, wordErrorProbability,
  type RationaleCalibration, type SentenceAspect,
} from './calibration.js';
import { FUNCTION_WORDS } from './lexicon.js';
import { ARPABET, PRACTICE_TIPS, stripStress, toArpabet } from './phonemes.js';
import { PHONEME_ERROR_BELOW, WORD_ERROR_BELOW } from './reference.js';
import { ASPECT_PHRASES, SCHWA_EXAMPLES, SOUND_EXAMPLES, type AspectPhrase, type Audience, type Content } from './wording.js';

export type { Audience } from './wording.js';

export interface RationaleOptions {
  /** CHILD learners get simpler, warmer wording (same bands, same tokens). */
  audience?: Audience;
  /** The model's calibration table; the default bundle's when absent. */
  calibration?: RationaleCalibration;
  /**
   * The reading's break feedback (src/assessment/breaks.ts assessmentBreaks), when the reference text's
   * phrasing is known (the completing transaction passes it whenever the text still normalises to
   * its stored words): a pause at a phrase boundary without inserted speech in it (hesitationPauses)
   * is then phrasing, not hesitation, and running on where the text asks for a break is named.
   * Without it every pause between two spoken words counts as hesitation and nothing is said of the
   * phrasing. A text without boundaries (SpeechOcean762's) has no MISSING_BREAK
   * and no phrasing pause, so it reads as without.
   */
  breaks?: ReadonlyMap<number, WordBreak | null> | null;
}

export function generateRationale(labels: AssessmentLabels, options: RationaleOptions = {}): string {
  const calibration = calibrationFor(labels, options);
  const audience = options.audience ?? 'adult';
  const plan = planTokens(labels, calibration);
  const content: Content = {
    errorWords: plan.words.length,
    words: labels.words.length,
    pauses: hesitationPauses(labels, options.breaks ?? null),
    missingBreaks: options.breaks ? countBreaks(options.breaks, 'MISSING_BREAK') : 0,
    stressErrors: labels.words.filter((w) => w.stress === 5).length,
    monotone: isMonotone(labels),
  };
  const aspects = (['accuracy', 'fluency', 'prosody', 'total'] as const).map((a) => aspectLine(labels, a, calibration, audience, content));
  return [...aspects, ...tokenLines(labels, plan, audience)].join('\n');
}

/** A pause at a phrase boundary longer than this is hesitation all the same (a convention, as the break thresholds). */
export const PHRASING_PAUSE_MAX_MS = 1500;

/**
 * The pauses that read as hesitation, between two spoken words (spokenGaps: the whole gap, a skipped
 * word's place included): a silent pause, PAUSE_MS or more of silence as Assessment.fluencyMetrics
 * counts its pauses, or a filled one, a gap with inserted speech in it ("um") where the alignment
 * heard the reader stop (one of Assessment.pauses overlaps it), however little silence the filler
 * leaves. An extra word read on without a stop is no pause. When the text's phrasing is known, a
 * silent pause at a phrase boundary (as WordAssessment.breakBefore reads it) up to
 * PHRASING_PAUSE_MAX_MS is phrasing instead; a filled one still counts there.
 */
function hesitationPauses(labels: AssessmentLabels, breaks: ReadonlyMap<number, WordBreak | null> | null): number {
  const diagnostics = labels.diagnostics;
  if (!diagnostics) return 0;
  const stopped = (g: SpokenGap) => diagnostics.pauses.some((p) => p.startMs < g.endMs && p.endMs > g.startMs);
  const hesitant = (g: SpokenGap) => g.silenceMs >= PAUSE_MS || (g.filled && stopped(g));
  const pauses = spokenGaps(labelTimedWords(labels), diagnostics.insertions).filter(hesitant);
  if (!breaks) return pauses.length;
  const phrasing = (g: SpokenGap) => breaks.get(g.beforeIndex)?.expected === true && g.silenceMs <= PHRASING_PAUSE_MAX_MS && !g.filled;
  return pauses.filter((g) => !phrasing(g)).length;
}

/** How many words WordAssessment.breakBefore will give this error type. */
function countBreaks(breaks: ReadonlyMap<number, WordBreak | null>, type: BreakErrorType): number {
  return [...breaks.values()].filter((b) => b?.errorTypes.includes(type)).length;
}

/** What Assessment.intonation will say of the reading: the same summary of the contour as stored (through its codec). */
function isMonotone(labels: AssessmentLabels): boolean {
  const pitch = labels.diagnostics?.pitch;
  const stored = pitch ? decodeTimeline(encodeTimeline({ pauses: [], insertions: [], pitch }))?.pitch : null;
  return stored ? intonationOf(stored).errorTypes.includes('MONOTONE') : false;
}

/**
 * The rationale of an assessment flagged READ_WRONG_TEXT (src/assessment/wrong-text.ts): it tells
 * the learner the recording is not the sentence and to read it again, instead of grading a reading
 * that did not happen. Still faithful to the labels: it names the first word neutrally, criticises
 * only tokens the token lines below would, and the capped total is in the low band.
 */
export function generateWrongTextRationale(labels: AssessmentLabels, options: RationaleOptions = {}): string {
  const first = labels.words[0]?.text.toUpperCase();
  const hasErrors = labels.words.some((w) => w.accuracy < WORD_ERROR_BELOW || w.phonemes.some((p) => p.accuracy < PHONEME_ERROR_BELOW));
  const plan = planTokens(labels, calibrationFor(labels, options));
  return [
    'This recording does not match the sentence you were asked to read, so it was not scored as a reading of it.',
    first ? `Read the sentence exactly as written, starting with the word "${first}", and record it again.` : 'Read the sentence exactly as written and record it again.',
    `Overall score: ${Math.round(labels.sentence.total)}/10 for this sentence.`,
    ...(hasErrors ? tokenLines(labels, plan, options.audience ?? 'adult') : []),
  ].join('\n');
}

/**
 * Labels without the model's continuous predictions (a rater's, or an older model's) are taken at
 * face value: the checker accepts no hedge against them (hedges.ts), so nothing is hedged.
 */
function calibrationFor(labels: AssessmentLabels, options: RationaleOptions): RationaleCalibration {
  return isPrediction(labels) ? (options.calibration ?? defaultCalibration()) : THRESHOLD_ONLY;
}

// ---------------------------------------------------------------------------------------------
// Sentence level

const SENTENCE_LABEL: Record<SentenceAspect, (l: AssessmentLabels) => number> = {
  accuracy: (l) => l.sentence.accuracy, fluency: (l) => l.sentence.fluency, prosody: (l) => l.sentence.prosody, total: (l) => l.sentence.total,
};
const SENTENCE_PREDICTION: Record<SentenceAspect, (l: AssessmentLabels) => number | undefined> = {
  accuracy: (l) => l.continuous?.sentence.accuracy, fluency: (l) => l.continuous?.sentence.fluency,
  prosody: (l) => l.continuous?.sentence.prosody, total: (l) => l.continuous?.sentence.total,
};
/** A narrower (stronger) phrase is preferred while it is nearly as likely to fit the rater's band. */
const NARROWER_WITHIN = 0.05;

function aspectLine(labels: AssessmentLabels, aspect: SentenceAspect, c: RationaleCalibration, audience: Audience, content: Content): string {
  const label = SENTENCE_LABEL[aspect](labels);
  const p = bandProbabilities(c, aspect, SENTENCE_PREDICTION[aspect](labels) ?? label);
  const phrases = ASPECT_PHRASES[audience][aspect].filter((ph) => ph.fits.includes(bandOf(label)));
  const fitOf = (ph: AspectPhrase): number => ph.fits.reduce((s, b: Band) => s + p[b], 0);
  const best = Math.max(...phrases.map(fitOf));
  const likely = phrases.filter((ph) => fitOf(ph) >= best - NARROWER_WITHIN);
  const narrowest = Math.min(...likely.map((ph) => ph.fits.length));
  const choice = likely.filter((ph) => ph.fits.length === narrowest);
  return (choice.find((ph) => ph.when?.(content)) ?? choice.find((ph) => !ph.when) ?? choice[0]!).text;
}

// ---------------------------------------------------------------------------------------------
// Token level: what to criticise, how firmly

interface WordCall {
  word: WordScore;
  pError: number;
  hedged: boolean;
}

interface SoundCall {
  /** ARPAbet without stress. */
  symbol: string;
  /** The stressed symbol of its worst occurrence, for the IPA (AH0 is /ə/). */
  spelling: string;
  pError: number;
  hedged: boolean;
  /** Words hosting the occurrences named, worst first, distinct, at most WHERE_AT_MOST. */
  where: WordScore[];
}

/** Locations named per sound: enough to show the pattern, short enough to read. */
const WHERE_AT_MOST = 6;

interface Substitution {
  symbol: string;
  word: WordScore;
  produced: string;
}

interface TokenPlan {
  words: WordCall[];
  sounds: SoundCall[];
  skipped: WordScore[];
  substitutions: Substitution[];
  /** Written only when nothing else is said about the words and sounds; hedged unless sure. */
  praise: { words: WordScore[]; sure: boolean };
}

/** How sure a criticism is: asserted, hedged, or left out (null). */
function firmness(isLabelledError: boolean, pError: number, policy: { assertFrom: number; hedgeFrom: number }): 'assert' | 'hedge' | null {
  if (isLabelledError && pError >= policy.assertFrom) return 'assert';
  if (pError >= policy.hedgeFrom) return 'hedge';
  return null;
}

function planTokens(labels: AssessmentLabels, c: RationaleCalibration): TokenPlan {
  const plan: TokenPlan = { words: planWords(labels, c), sounds: planSounds(labels, c), ...miscues(labels), praise: praiseFor(labels, c) };
  ensureALabelledErrorIsCriticised(labels, c, plan);
  return plan;
}

/** Each distinct word once: its worst occurrence decides. */
function planWords(labels: AssessmentLabels, c: RationaleCalibration): WordCall[] {
  const byText = new Map<string, WordCall>();
  labels.words.forEach((word, i) => {
    const pError = wordErrorProbability(c, predictedWordAccuracy(labels, i));
    const how = firmness(word.accuracy < WORD_ERROR_BELOW, pError, c.word);
    const key = word.text.toUpperCase();
    const prev = byText.get(key);
    if (how === null || (prev && (prev.pError > pError || (prev.pError === pError && !prev.hedged)))) return;
    byText.set(key, { word, pError, hedged: how === 'hedge' });
  });
  return [...byText.values()].sort((a, b) => Number(a.hedged) - Number(b.hedged) || b.pError - a.pError);
}

function planSounds(labels: AssessmentLabels, c: RationaleCalibration): SoundCall[] {
  const bySymbol = new Map<string, SoundCall & { hosts: { word: WordScore; rank: number }[] }>();
  for (const word of labels.words) {
    for (const ph of word.phonemes) {
      const symbol = stripStress(ph.symbol.toUpperCase());
      if (!ARPABET.has(symbol)) continue;
      const pError = phonemeErrorProbability(c, ph.accuracy);
      const how = firmness(ph.accuracy < PHONEME_ERROR_BELOW, pError, c.phoneme);
      if (how === null) continue;
      const call = bySymbol.get(symbol) ?? { symbol, spelling: ph.symbol.toUpperCase(), pError, hedged: true, where: [], hosts: [] };
      // asserted anywhere: the line is plain (the checker needs one labelled error in scope, kept first below)
      if (how === 'assert') call.hedged = false;
      if (pError > call.pError) Object.assign(call, { pError, spelling: ph.symbol.toUpperCase() });
      call.hosts.push({ word, rank: (how === 'assert' ? 2 : 1) + pError });
      bySymbol.set(symbol, call);
    }
  }
  return [...bySymbol.values()].map(({ hosts, ...call }) => ({ ...call, where: worstHostsFirst(hosts) }))
    .sort((a, b) => Number(a.hedged) - Number(b.hedged) || b.pError - a.pError);
}

/** Distinct words, asserted occurrences first, then by error probability; at most WHERE_AT_MOST. */
function worstHostsFirst(hosts: { word: WordScore; rank: number }[]): WordScore[] {
  return distinctByText([...hosts].sort((a, b) => b.rank - a.rank).map((h) => h.word)).slice(0, WHERE_AT_MOST);
}

/**
 * Without calibration doubts the worst labelled error would always be named; where the table
 * leaves every labelled error out (a rater would probably not call it one), the worst is still
 * named, hedged, so a reading the model marks down always says where.
 */
function ensureALabelledErrorIsCriticised(labels: AssessmentLabels, c: RationaleCalibration, plan: TokenPlan): void {
  const wordCaught = plan.words.some((w) => w.word.accuracy < WORD_ERROR_BELOW) || plan.skipped.length > 0;
  const soundCaught = plan.sounds.some((s) => s.where.some((w) => w.phonemes.some((p) => stripStress(p.symbol.toUpperCase()) === s.symbol && p.accuracy < PHONEME_ERROR_BELOW)))
    || plan.substitutions.length > 0;
  if (wordCaught || soundCaught) return;
  const worstWord = labels.words.map((word, i) => ({ word, i })).filter(({ word }) => word.accuracy < WORD_ERROR_BELOW)
    .sort((a, b) => a.word.accuracy - b.word.accuracy)[0];
  if (worstWord) {
    plan.words.push({ word: worstWord.word, pError: wordErrorProbability(c, predictedWordAccuracy(labels, worstWord.i)), hedged: true });
    return;
  }
  let worst: { word: WordScore; symbol: string; spelling: string; accuracy: number } | undefined;
  for (const word of labels.words) {
    for (const ph of word.phonemes) {
      const symbol = stripStress(ph.symbol.toUpperCase());
      if (ARPABET.has(symbol) && ph.accuracy < PHONEME_ERROR_BELOW && (!worst || ph.accuracy < worst.accuracy)) {
        worst = { word, symbol, spelling: ph.symbol.toUpperCase(), accuracy: ph.accuracy };
      }
    }
  }
  if (!worst) return;
  const existing = plan.sounds.find((s) => s.symbol === worst!.symbol);
  if (existing) {
    existing.where.unshift(worst.word);
    existing.hedged = false;
  } else {
    plan.sounds.push({ symbol: worst.symbol, spelling: worst.spelling, pError: phonemeErrorProbability(c, worst.accuracy), hedged: true, where: [worst.word] });
  }
}

/** How sure the recogniser must be of a substitute sound before the text names it. */
const NAME_SUBSTITUTE_FROM = 0.5;

/**
 * What the alignment found, in the learner's terms: skipped words and sounds heard as another,
 * each only where the labels also call it an error, so the checker agrees by construction.
 */
function miscues(labels: AssessmentLabels): Pick<TokenPlan, 'skipped' | 'substitutions'> {
  const d = labels.diagnostics;
  if (!d) return { skipped: [], substitutions: [] };
  const skipped = distinctByText(labels.words.filter((w, i) => d.words[i]?.errorType === 'OMITTED' && w.accuracy < WORD_ERROR_BELOW));
  const substitutions: Substitution[] = [];
  const named = new Set<string>();
  labels.words.forEach((word, wi) => {
    word.phonemes.forEach((p, j) => {
      const m = d.words[wi]?.phonemes[j];
      const symbol = stripStress(p.symbol.toUpperCase());
      if (!m?.substituted || !m.produced || (m.producedConfidence ?? 0) < NAME_SUBSTITUTE_FROM) return;
      if (p.accuracy >= PHONEME_ERROR_BELOW || !ARPABET.has(symbol) || named.has(symbol)) return;
      named.add(symbol);
      substitutions.push({ symbol: p.symbol.toUpperCase(), word, produced: m.produced });
    });
  });
  return { skipped, substitutions };
}

// ---------------------------------------------------------------------------------------------
// Token level: the sentences

/** Above this many criticised sounds, the rest are grouped into one line. */
const SOUND_LINES = 3;

function tokenLines(labels: AssessmentLabels, plan: TokenPlan, audience: Audience): string[] {
  const out: string[] = [];
  const child = audience === 'child';
  if (plan.skipped.length) out.push(child ? `You missed out ${quoteList(plan.skipped)}.` : `You skipped ${quoteList(plan.skipped)}.`);
  const skipped = new Set(plan.skipped.map((w) => w.text.toUpperCase()));
  const words = plan.words.filter((w) => !skipped.has(w.word.text.toUpperCase()));
  const sure = words.filter((w) => !w.hedged).map((w) => w.word);
  const unsure = words.filter((w) => w.hedged).map((w) => w.word);
  if (sure.length) out.push(sureWordLine(sure, child));
  if (unsure.length) out.push(unsureWordLine(words.filter((w) => w.hedged), child, sure.length > 0));
  for (const s of plan.substitutions) {
    out.push(`The /${writtenSound(s.symbol)}/ sound in "${s.word.text.toUpperCase()}" sounded like /${writtenSound(s.produced)}/.`);
  }
  const told = new Set(plan.substitutions.map((s) => stripStress(s.symbol)));
  const sounds = plan.sounds.filter((s) => !told.has(s.symbol));
  const reference = new Set(labels.words.map((w) => w.text.toLowerCase()));
  for (const group of sameWordsAndFirmness(sounds.slice(0, SOUND_LINES))) out.push(soundLine(group, reference, child));
  // the rest grouped, the sure ones and the hedged ones apart (a plain claim needs a labelled error)
  const rest = sounds.slice(SOUND_LINES);
  for (const group of [rest.filter((s) => !s.hedged), rest.filter((s) => s.hedged)]) if (group.length) out.push(groupedSoundsLine(group, child));
  const tip = sounds[0] && !sounds[0].hedged ? PRACTICE_TIPS[sounds[0].symbol] : undefined;
  if (tip) out.push(`Tip: ${tip}.`);
  if (out.length === 0) {
    const line = praiseLine(plan.praise, child);
    if (line) out.push(line);
  }
  return out;
}

function sureWordLine(words: WordScore[], child: boolean): string {
  if (child) return `Let us practise ${quoteList(words)} again.`;
  if (words.length === 1) return `${quoteList(words)} came out unclear, so listen to it again.`;
  return `Listen again to ${quoteList(words)}, which came out unclear.`;
}

/** "probably" where a rater would more likely than not agree, "may" below (still at least hedgeFrom). */
function unsureWordLine(calls: WordCall[], child: boolean, afterSure: boolean): string {
  const words = calls.map((c) => c.word);
  if (child) return `Maybe practise ${quoteList(words)} once more${afterSure ? ' too' : ''}.`;
  const either = afterSure ? ' either' : '';
  if (calls.every((c) => c.pError >= LIKELY)) return `${quoteList(words)} ${words.length === 1 ? 'was' : 'were'} probably not quite clear${either}.`;
  return `${quoteList(words)} may not have been quite clear${either}.`;
}

/** From here a hedge says "probably"; below, "may". */
const LIKELY = 0.5;

/** "The /θ/ sound (as in bath) was unclear in "THINK" and "THREE"." The words are its locations. */
function soundLine(group: SoundCall[], reference: Set<string>, child: boolean): string {
  const s = group[0]!;
  const named = listOf(group.map((g) => `/${writtenSound(g.spelling)}/${exampleFor(g, reference)}`));
  const sound = group.length === 1 ? `/${writtenSound(s.spelling)}/ sound${exampleFor(s, reference)}` : `${named} sounds`;
  const was = group.length === 1 ? 'was' : 'were';
  const where = quoteList(s.where);
  if (child) return s.hedged ? `The ${sound} in ${where} may need a bit more practice.` : `Practise the ${sound} in ${where}.`;
  if (!s.hedged) return `The ${sound} ${was} unclear in ${where}.`;
  return s.pError >= LIKELY ? `The ${sound} ${was} probably not quite right in ${where}.` : `The ${sound} may not have been quite right in ${where}.`;
}

/**
 * Sounds named in the same words with the same firmness share one line ("The /l/ (as in leg) and
 * /ʌ/ (as in cup) sounds were probably not quite right in "REALLY"."), in the order of the first.
 */
function sameWordsAndFirmness(sounds: SoundCall[]): SoundCall[][] {
  const wording = (s: SoundCall): string => `${s.where.map((w) => w.text.toUpperCase()).join(',')}|${s.hedged ? (s.pError >= LIKELY ? 'probably' : 'may') : 'plain'}`;
  const groups = new Map<string, SoundCall[]>();
  for (const s of sounds) groups.set(wording(s), [...(groups.get(wording(s)) ?? []), s]);
  return [...groups.values()];
}

/** The rest, all sure or all hedged, without locations (every occurrence is in scope). */
function groupedSoundsLine(sounds: SoundCall[], child: boolean): string {
  const list = listOf(sounds.map((s) => `/${writtenSound(s.spelling)}/`));
  const hedged = sounds[0]!.hedged;
  // one sound left over is "the /s/ sound", not "the sounds /s/"
  const one = sounds.length === 1;
  const subject = one ? `The ${list} sound` : `The sounds ${list}`;
  if (child) return `${subject} ${hedged ? 'may need' : one ? 'needs' : 'need'} practice too.`;
  if (hedged) return `${subject} may not have been quite right either.`;
  return `${subject} also ${one ? 'needs' : 'need'} attention.`;
}

/**
 * IPA where the checker reads it back as the same sound (/iː/, /uː/ written long; /j/ would read
 * as /dʒ/, so Y stays ARPAbet).
 */
function writtenSound(symbol: string): string {
  const base = stripStress(symbol);
  if (base === 'IY') return 'iː';
  if (base === 'UW') return 'uː';
  if (!ARPABET.has(base)) return base;
  const ipa = arpabetToIpa(symbol);
  return toArpabet(ipa) === base ? ipa : base;
}

/** " (as in sun)": a familiar word with the sound, never one of the reference's own words. */
function exampleFor(s: SoundCall, reference: Set<string>): string {
  const examples = s.spelling === 'AH0' ? SCHWA_EXAMPLES : (SOUND_EXAMPLES[s.symbol] ?? []);
  const ex = examples.find((e) => !reference.has(e));
  return ex ? ` (as in ${ex})` : '';
}

/**
 * Praise, when nothing is criticised: at most two words, never one with a labelled error. Plainly
 * only where a rater would call every occurrence right as surely as a plain criticism needs to be
 * wrong (P(right) at least the calibration's assertFrom): praise is held to the same standard as
 * criticism. Where no word is that sure, the best one is praised with a hedge. Sure words before
 * unsure ones, then content words before function words, then the higher prediction.
 */
function praiseFor(labels: AssessmentLabels, c: RationaleCalibration): TokenPlan['praise'] {
  const sureRight = (i: number): boolean => 1 - wordErrorProbability(c, predictedWordAccuracy(labels, i)) >= c.word.assertFrom;
  const textsWhere = (bad: (w: WordScore, i: number) => boolean) => new Set(labels.words.filter(bad).map((w) => w.text.toUpperCase()));
  const labelledBad = textsWhere((w) => w.accuracy < WORD_ERROR_BELOW);
  const unsure = textsWhere((_, i) => !sureRight(i));
  const score = (w: WordScore, i: number): number => predictedWordAccuracy(labels, i) + (FUNCTION_WORDS.has(w.text.toLowerCase()) ? 0 : 0.5);
  const ranked = distinctByText(labels.words.map((w, i) => ({ w, s: score(w, i) })).filter(({ w }) => !labelledBad.has(w.text.toUpperCase()))
    .sort((a, b) => b.s - a.s).map(({ w }) => w));
  const sure = ranked.filter((w) => !unsure.has(w.text.toUpperCase()));
  return sure.length ? { words: sure.slice(0, 2), sure: true } : { words: ranked.slice(0, 1), sure: false };
}

function praiseLine(praise: TokenPlan['praise'], child: boolean): string | null {
  const { words, sure } = praise;
  if (!words.length) return null;
  if (child) return `You said ${quoteList(words)} ${sure ? 'really' : 'quite'} well!`;
  const were = words.length === 1 ? 'was' : 'were';
  return `${quoteList(words)} ${were} ${sure ? 'especially' : 'probably'} clear.`;
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

function quoteList(words: WordScore[]): string {
  return listOf(words.map((w) => `"${w.text.toUpperCase()}"`));
}

function listOf(items: string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}
