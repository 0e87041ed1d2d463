/**
 * Sentence analysis: splits each sentence into clauses (at contrast markers) and segments (at
 * commas and "and"), scores sentiment cues with negation, hedges and intensifiers, extracts word and
 * phoneme mentions, and resolves what each mention and each sentence-level aspect is said to be.
 */
import {
  ADVICE_MODALS, ASPECT_OF, BIGRAM_VALUE, BUT_MARKERS, CONCESSION_MARKERS, CONCESSION_WEIGHT, CUE_VALUE,
  EXCEPT_MARKERS, FUNCTION_WORDS, MODIFIERS, NEGATION_WINDOW, NEGATORS, OVERALL_PHRASES, SOUND_NOUNS,
  WEAK_ACCURACY_WORDS, WORD_INTRODUCERS, type Aspect,
} from './lexicon.js';
import { BARE_ARPABET, graphemeToArpabet, toArpabet } from './phonemes.js';
import { fuzzyWord, type ReferenceIndex } from './reference.js';
import { tokenize, type Token } from './tokenize.js';

export type MentionPolarity = 'criticised' | 'praised' | 'neutral';

export interface Mention {
  /** 'location': a word named only as where a phoneme is ("the /θ/ in 'THREE'"): scopes, not judged. */
  type: 'word' | 'phoneme' | 'location';
  /** Upper-case reference word, or ARPAbet without stress. */
  key: string;
  polarity: MentionPolarity;
  /** Phonemes only: reference words named in the same clause (narrows which occurrences count). */
  scopeWords: string[];
  /**
   * A word named before the phoneme it may locate ("In 'WATER', the /w/ was right", "WATER's /w/"):
   * a location when that phoneme is praised, a word mention otherwise (so "In 'THREE', the /θ/
   * became /t/" still criticises THREE).
   */
  locatesLater?: boolean;
}

/** Sentiment said about one sentence-level aspect, summed over the whole rationale. */
export interface AspectSentiment {
  positive: number;
  negative: number;
  /** Largest single cue on each side: tells "excellent" from "good". */
  maxPositive: number;
  maxNegative: number;
  hasCue: boolean;
}

export interface Analysis {
  mentions: Mention[];
  unknownWords: string[];
  aspects: Record<Aspect, AspectSentiment>;
}

const ASPECT_BIT: Record<Aspect, number> = { accuracy: 1, fluency: 2, prosody: 4, overall: 8 };
const ASPECT_LIST: readonly Aspect[] = ['accuracy', 'fluency', 'prosody', 'overall'];
const SOUND_WORDS: ReadonlySet<string> = new Set(['sound', 'sounds', 'phoneme', 'phonemes', 'vowel', 'consonant']);
const SHORT_GRAPHEMES: ReadonlySet<string> = new Set(['th', 'sh', 'ch', 'ng', 'zh', 'dh']);
const LOCATION_PREPS: ReadonlySet<string> = new Set(['in', 'of', 'on', 'at']);
const RELATIVES: ReadonlySet<string> = new Set(['which', 'where', 'who']);
const SUBSTITUTION_VERBS: ReadonlySet<string> = new Set(['replaced', 'replacing', 'substituted', 'swapped', 'confused']);
/** Value of an elided negation: "'THIN' was clear, but 'THIEF' was not". */
const ELLIPSIS_CUE = 0.8;
/** Negated strong praise is mild: "not great", "not perfect". */
const NEGATED_STRONG = 0.4;

type ClauseRole = 'main' | 'concession' | 'except';

interface Segment {
  clause: number;
  cues: number[];
  aspects: number;
  /** "words", "sounds": accuracy unless the segment names fluency ("stumbling over several words") */
  weakAccuracy: boolean;
  mentions: Mention[];
}

/** Mutable state while scanning one sentence. */
interface SentenceState {
  segs: Segment[];
  roles: ClauseRole[];
  /** A sentence-initial "Although X," makes X a concession only up to the next comma. */
  concessionUntilSep: boolean;
  pendingMod: number;
  modTtl: number;
  negTtl: number;
  negHadMod: boolean;
  adviceTtl: number;
  pendingToo: boolean;
  skipCue: number;
  /** Index of the last plain-word mention, for lists: "the words think, three and bath". */
  listEnd: number;
  /** Index of the last location word, for lists: "in 'THIN' and 'THINGS'". */
  locationEnd: number;
  /** "pronounced"/"said" seen in this sentence: later plain reference words are mentions too. */
  introduced: boolean;
  /** Index of the last example word ("/ɔ/ as in 'law' or 'saw'"), for lists of examples. */
  exampleEnd: number;
}

export function analyse(text: string, ref: ReferenceIndex): Analysis {
  const tokens = tokenize(text);
  const result: Analysis = { mentions: [], unknownWords: [], aspects: emptyAspects() };
  let start = 0;
  for (let i = 0; i <= tokens.length; i++) {
    if (i === tokens.length || tokens[i]!.kind === 'eos') {
      if (i > start) analyseSentence(tokens, start, i, ref, result);
      start = i + 1;
    }
  }
  return result;
}

function emptyAspects(): Record<Aspect, AspectSentiment> {
  const make = (): AspectSentiment => ({ positive: 0, negative: 0, maxPositive: 0, maxNegative: 0, hasCue: false });
  return { accuracy: make(), fluency: make(), prosody: make(), overall: make() };
}

function newState(): SentenceState {
  return {
    segs: [{ clause: 0, cues: [], aspects: 0, weakAccuracy: false, mentions: [] }],
    roles: ['main'],
    concessionUntilSep: false,
    pendingMod: 1, modTtl: 0, negTtl: 0, negHadMod: false, adviceTtl: 0, pendingToo: false, skipCue: -1,
    listEnd: -2, locationEnd: -2, introduced: false, exampleEnd: -2,
  };
}

function analyseSentence(tokens: Token[], from: number, to: number, ref: ReferenceIndex, out: Analysis): void {
  const st = newState();
  for (let i = from; i < to; i++) {
    const t = tokens[i]!;
    if (t.kind === 'sep') onSeparator(tokens, i, to, st);
    else if (t.kind === 'word') onWord(tokens, i, from, to, st, ref);
    else if (t.kind === 'quote') onQuote(tokens, i, from, to, st, ref, out);
    else if (t.kind === 'phon' || t.kind === 'ipa') addPhoneme(tokens, i, to, st, phonemeSymbol(t));
    else if (t.kind === 'score') addCue(st, scoreCue(Number(t.text)));
  }
  closeElidedNegation(st);
  resolveMentions(st, out);
  collectAspects(st, out);
}

/**
 * Between slashes or brackets a letter is IPA: /j/ is the y of "yes" (ARPAbet Y), not the j of
 * "jam" (/dʒ/, JH) as in the prose spelling "the j sound"; /i/, /u/ and /e/ are the vowels of
 * "see", "too" and "bed" (/e/ as British dictionaries write DRESS; /eɪ/ is EY).
 */
const IPA_LETTERS: ReadonlyMap<string, string> = new Map([['j', 'Y'], ['i', 'IY'], ['u', 'UW'], ['e', 'EH']]);

function phonemeSymbol(t: Token): string | undefined {
  return (t.kind === 'phon' ? IPA_LETTERS.get(t.text) : undefined) ?? toArpabet(t.text);
}

/** "N/10" in the text states a band directly. */
function scoreCue(n: number): number {
  const r = Math.round(n);
  return r >= 8 ? 1.5 : r >= 5 ? 0 : -1.5;
}

function cur(st: SentenceState): Segment {
  return st.segs[st.segs.length - 1]!;
}

function newSegment(st: SentenceState): void {
  const last = cur(st);
  if (last.cues.length === 0 && last.aspects === 0 && !last.weakAccuracy && last.mentions.length === 0) return;
  st.segs.push({ clause: last.clause, cues: [], aspects: 0, weakAccuracy: false, mentions: [] });
}

function newClause(st: SentenceState, role: ClauseRole): void {
  closeElidedNegation(st);
  st.roles.push(role);
  st.segs.push({ clause: st.roles.length - 1, cues: [], aspects: 0, weakAccuracy: false, mentions: [] });
}

function onSeparator(tokens: Token[], i: number, to: number, st: SentenceState): void {
  if (st.concessionUntilSep) {
    st.concessionUntilSep = false;
    newClause(st, 'main');
    return;
  }
  // A relative clause belongs to what it describes: "'LAYLA', which came out too flat".
  const next = i + 1 < to ? tokens[i + 1] : undefined;
  if (next?.kind === 'word' && RELATIVES.has(next.lower)) return;
  newSegment(st);
}

function isSentenceStart(tokens: Token[], i: number, from: number): boolean {
  for (let j = from; j < i; j++) if (tokens[j]!.kind !== 'sep') return false;
  return true;
}

/** Contrast markers start clauses; returns true when the word was consumed as one. */
function onMarker(tokens: Token[], i: number, from: number, st: SentenceState): boolean {
  const w = tokens[i]!.lower;
  if (BUT_MARKERS.has(w)) {
    // "X but Y": Y dominates, so everything before it in the sentence becomes the concession.
    for (let c = 0; c < st.roles.length; c++) if (st.roles[c] === 'main') st.roles[c] = 'concession';
    newClause(st, 'main');
    return true;
  }
  const startsSentence = isSentenceStart(tokens, i, from);
  const loose = w === 'while' || w === 'whereas'; // "while speaking" is not a contrast
  if (CONCESSION_MARKERS.has(w) && (!loose || startsSentence || tokens[i - 1]?.kind === 'sep')) {
    newClause(st, 'concession');
    st.concessionUntilSep = startsSentence;
    return true;
  }
  if (EXCEPT_MARKERS.has(w) && (w !== 'apart' || tokens[i + 1]?.lower === 'from')) {
    newClause(st, 'except');
    return true;
  }
  return false;
}

function onWord(tokens: Token[], i: number, from: number, to: number, st: SentenceState, ref: ReferenceIndex): void {
  const t = tokens[i]!;
  if (detectWordMention(tokens, i, from, to, st, ref)) return;
  if (onMarker(tokens, i, from, st)) return;
  if (t.lower === 'and') {
    newSegment(st);
    return;
  }
  if (WORD_INTRODUCERS.has(t.lower) && t.lower !== 'word' && t.lower !== 'words') st.introduced = true;
  markAspect(tokens, i, st);
  scoreWord(tokens, i, to, st);
}

function markAspect(tokens: Token[], i: number, st: SentenceState): void {
  const w = tokens[i]!.lower;
  if (WEAK_ACCURACY_WORDS.has(w)) cur(st).weakAccuracy = true;
  else {
    const aspect = ASPECT_OF.get(w);
    if (aspect) cur(st).aspects |= ASPECT_BIT[aspect];
  }
  if (w !== 'general' && w !== 'whole' && w !== 'all') return; // cheap pre-check: phrase-final words
  const p1 = tokens[i - 1];
  const p2 = tokens[i - 2];
  if (p1?.kind !== 'word') return;
  if (OVERALL_PHRASES.has(`${p1.lower} ${w}`) || (p2?.kind === 'word' && OVERALL_PHRASES.has(`${p2.lower} ${p1.lower} ${w}`))) {
    cur(st).aspects |= ASPECT_BIT.overall;
  }
}

// ---------------------------------------------------------------------------------------------
// Sentiment cues

function resetPending(st: SentenceState): void {
  st.pendingMod = 1;
  st.modTtl = 0;
  st.negTtl = 0;
  st.negHadMod = false;
  st.pendingToo = false;
  st.adviceTtl = 0;
}

function addCue(st: SentenceState, raw: number): void {
  let v = raw;
  if (st.pendingToo) v = v > 0 ? -0.8 : v * 1.2; // "too smooth" is still a complaint
  if (v > 0 && st.adviceTtl > 0) v = -0.6; // "could be clearer", "try to sound natural": advice, not praise
  if (st.negTtl > 0) v = negate(v, st.negHadMod);
  else v *= st.pendingMod;
  v = Math.max(-2.5, Math.min(2.5, v));
  cur(st).cues.push(v);
  resetPending(st);
}

/** "not clear" -0.8; "not very clear" -0.5 (milder); "not perfect" -0.4; "no major errors" +0.5. */
function negate(v: number, hadModifier: boolean): number {
  if (v >= 1.5) return -NEGATED_STRONG;
  return -v * (hadModifier ? 0.5 : 0.8);
}

function tick(st: SentenceState): void {
  if (st.modTtl > 0 && --st.modTtl === 0) st.pendingMod = 1;
  if (st.negTtl > 0) st.negTtl--;
  if (st.adviceTtl > 0) st.adviceTtl--;
}

/** A negation with nothing after it negates what the previous clause said: "..., but THEME was not". */
function closeElidedNegation(st: SentenceState): void {
  if (st.negTtl <= 0) return;
  st.negTtl = 0;
  const clause = cur(st).clause;
  let prev = 0;
  for (const seg of st.segs) if (seg.clause === clause - 1) for (const c of seg.cues) prev += c;
  if (prev !== 0) cur(st).cues.push(prev > 0 ? -ELLIPSIS_CUE : ELLIPSIS_CUE);
}

function scoreWord(tokens: Token[], i: number, to: number, st: SentenceState): void {
  if (i === st.skipCue) return;
  const w = tokens[i]!.lower;
  const next = i + 1 < to ? tokens[i + 1] : undefined;
  const bigram = next?.kind === 'word' ? BIGRAM_VALUE.get(`${w} ${next.lower}`) : undefined;
  if (bigram !== undefined) {
    st.skipCue = i + 1;
    addCue(st, bigram);
    return;
  }
  const value = cueValue(tokens, i, next, st);
  if (value !== undefined) addCue(st, value);
  else if (!applyModifier(tokens, i, st)) tick(st);
  if (ADVICE_MODALS.has(w)) st.adviceTtl = 3;
}

function cueValue(tokens: Token[], i: number, next: Token | undefined, st: SentenceState): number | undefined {
  const w = tokens[i]!.lower;
  if (w === 'too') {
    if (next?.kind !== 'word') return undefined; // "clear too": also, not excess
    if (CUE_VALUE.has(next.lower)) {
      st.pendingToo = true;
      return undefined;
    }
    return -0.8; // "too short", "too long"
  }
  if (w === 'well' && tokens[i - 1]?.lower === 'as') return undefined;
  if ((w === 'few' || w === 'little') && tokens[i - 1]?.lower !== 'a') return undefined; // handled as negator
  // "clearly wrong": an adverb that is also praise intensifies the cue after it.
  if (MODIFIERS.has(w) && next?.kind === 'word' && CUE_VALUE.has(next.lower)) return undefined;
  return CUE_VALUE.get(w);
}

function isNegator(tokens: Token[], i: number): boolean {
  const w = tokens[i]!.lower;
  if ((w === 'few' || w === 'little') && tokens[i - 1]?.lower === 'a') return false; // "a few errors"
  return NEGATORS.has(w) || w.endsWith("n't");
}

function applyModifier(tokens: Token[], i: number, st: SentenceState): boolean {
  if (isNegator(tokens, i)) {
    st.negTtl = NEGATION_WINDOW + 1;
    st.negHadMod = false;
    st.pendingMod = 1;
    return true;
  }
  const mod = MODIFIERS.get(tokens[i]!.lower);
  if (mod === undefined) return false;
  st.pendingMod *= mod;
  st.modTtl = 3;
  if (st.negTtl > 0) st.negHadMod = true;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Mentions

/**
 * Records a mention in the current segment. A negator right before it ("no /r/", "without the
 * /h/") says the sound was missing: a criticism.
 */
function pushMention(tokens: Token[], i: number, st: SentenceState, type: Mention['type'], key: string): void {
  cur(st).mentions.push({ type, key, polarity: 'neutral', scopeWords: [] });
  if (type === 'location') return;
  const p1 = tokens[i - 1];
  const p2 = tokens[i - 2];
  const det = p1?.kind === 'word' && (p1.lower === 'the' || p1.lower === 'a' || p1.lower === 'its' || p1.lower === 'any');
  const negIdx = det ? i - 2 : i - 1;
  if ((det ? p2 : p1)?.kind === 'word' && isNegator(tokens, negIdx)) {
    cur(st).cues.push(-1);
    resetPending(st);
  }
}

/** Mentions right after "sounded like", "became", or before "instead of" are what the learner said. */
function isRealization(tokens: Token[], i: number, to: number): boolean {
  return realizedBefore(tokens, i) || realizedAfter(tokens, i, to);
}

function realizedBefore(tokens: Token[], i: number): boolean {
  const p1 = tokens[i - 1]?.lower ?? '';
  const p2 = tokens[i - 2]?.lower ?? '';
  if (p1 === 'a' || p1 === 'an') return realizedBefore(tokens, i - 1); // "sounded like a /w/"
  if (p1 === 'became' || p1 === 'become' || p1 === 'becomes' || p1 === 'into') return true;
  if (p1 === 'like' && (p2 === 'sounded' || p2 === 'sounds' || p2 === 'sound' || p2 === 'more' || p2 === 'sounding')) return true;
  if (p1 === 'as' && (p2 === 'out' || p2 === 'pronounced' || p2 === 'said' || p2 === 'heard')) return true;
  if (p1 === 'to' && p2 === 'closer') return true;
  return (p1 === 'with' || p1 === 'by') && substitutionBefore(tokens, i - 1);
}

function realizedAfter(tokens: Token[], i: number, to: number): boolean {
  const n1 = i + 1 < to ? tokens[i + 1] : undefined;
  if (n1?.lower === 'instead' || n1?.lower === 'rather') return true;
  // "substituted /b/ for /v/": the first is the substitute.
  const n2 = i + 2 < to ? tokens[i + 2] : undefined;
  return n1?.lower === 'for' && (n2?.kind === 'phon' || n2?.kind === 'ipa' || n2?.kind === 'quote') && tokens[i]!.kind !== 'word';
}

/** "replaced /θ/ with /s/": a substitution verb up to four tokens before "with"/"by". */
function substitutionBefore(tokens: Token[], i: number): boolean {
  for (let j = i - 1; j >= 0 && j >= i - 4; j--) {
    const t = tokens[j]!;
    if (t.kind === 'eos') return false;
    if (t.kind === 'word' && SUBSTITUTION_VERBS.has(t.lower)) return true;
  }
  return false;
}

function followedBySoundWord(tokens: Token[], i: number, to: number): boolean {
  const n = i + 1 < to ? tokens[i + 1] : undefined;
  return n?.kind === 'word' && SOUND_WORDS.has(n.lower);
}

function addPhoneme(tokens: Token[], i: number, to: number, st: SentenceState, sym: string | undefined): boolean {
  if (!sym) return false;
  if (!isRealization(tokens, i, to)) pushMention(tokens, i, st, 'phoneme', sym);
  return true;
}

/** Classifies a word token as a word or phoneme mention; returns true when it was one. */
function detectWordMention(tokens: Token[], i: number, from: number, to: number, st: SentenceState, ref: ReferenceIndex): boolean {
  const t = tokens[i]!;
  const possessive = possessiveOf(t.text, ref);
  const text = possessive ?? t.text;
  const upper = text.toUpperCase();
  if (ref.wordIndices.has(upper) && isExample(tokens, i, from, st)) return true;
  if (possessive && isPhonemeToken(tokens[i + 1])) {
    // "WATER's /w/": where the phoneme is, like "the /w/ in WATER"
    cur(st).mentions.push({ type: 'word', key: upper, polarity: 'neutral', scopeWords: [], locatesLater: true });
    return true;
  }
  const isUpper = text === upper && /[A-Z]/.test(text);
  if (isUpper) return upperMention(tokens, i, from, to, st, ref, upper);
  if (phonemeSpelling(tokens, i, to, t.lower)) return addPhoneme(tokens, i, to, st, graphemeToArpabet(t.lower));
  if (!ref.wordIndices.has(upper)) return false;
  const lower = text.toLowerCase();
  if (FUNCTION_WORDS.has(lower)) {
    // Not a mention, but keeps a list going: "the words has and tell".
    if (introducedPlain(tokens, i, from, st)) st.listEnd = i;
    return false;
  }
  const titled = text.charCodeAt(0) < 97;
  // Sentence-initial capitals carry no signal: only mid-sentence Title-case counts.
  if (titled && !t.initial) return addWord(tokens, i, from, to, st, upper);
  if (!titled && judgedSubject(tokens, i, from, to, lower)) return addWord(tokens, i, from, to, st, upper);
  if (!titled && (introducedPlain(tokens, i, from, st) || st.introduced || judgedNext(tokens, i, to))) {
    st.listEnd = i;
    return addWord(tokens, i, from, to, st, upper);
  }
  return false;
}

/** "water was mispronounced": a plain word that is the subject of a pronunciation verdict. */
function judgedNext(tokens: Token[], i: number, to: number): boolean {
  const n1 = i + 1 < to ? tokens[i + 1]!.lower : '';
  const n2 = i + 2 < to ? tokens[i + 2]!.lower : '';
  return (n1 === 'was' || n1 === 'were') && (n2 === 'mispronounced' || n2 === 'pronounced');
}

/** What may come before a plain word that starts a statement: nothing, a comma, a conjunction. */
const SUBJECT_OPENERS: ReadonlySet<string> = new Set(['and', 'but', 'while', 'whereas', 'although', 'though', 'yet', 'even', 'only', 'also']);
/** Words between such a subject and its verb: "elephant in particular was spot on". */
const SUBJECT_FILLERS: ReadonlySet<string> = new Set(['in', 'particular', 'especially', 'too', 'also', 'itself', 'alone', 'though', 'however']);
/** Verbs of a verdict on the subject before them. */
const VERDICT_VERBS: ReadonlySet<string> = new Set(['was', 'were', 'is', 'are', 'sounded', 'sounds', 'came', 'comes', 'felt', 'needs', 'need']);
/** How many tokens after the verb a cue may be: "was spot on", "sounded a bit off". */
const VERDICT_REACH = 3;

/**
 * "and elephant in particular was spot on", "smile sounded flat": a lower-case reference word that starts a statement and is the subject of a judging verb with a sentiment cue
 * soon after it. Cue and aspect words ("clear", "rhythm") are left out: they judge, they are not named.
 */
function judgedSubject(tokens: Token[], i: number, from: number, to: number, lower: string): boolean {
  if (CUE_VALUE.has(lower) || ASPECT_OF.has(lower) || MODIFIERS.has(lower) || NEGATORS.has(lower)) return false;
  const p1 = i - 1 >= from ? tokens[i - 1] : undefined;
  if (p1 && p1.kind !== 'sep' && !(p1.kind === 'word' && SUBJECT_OPENERS.has(p1.lower))) return false;
  let j = i + 1;
  while (j < to && tokens[j]!.kind === 'word' && SUBJECT_FILLERS.has(tokens[j]!.lower)) j++;
  if (!(j < to && tokens[j]!.kind === 'word' && VERDICT_VERBS.has(tokens[j]!.lower))) return false;
  for (let k = j; k <= j + VERDICT_REACH && k < to; k++) {
    const t = tokens[k]!;
    if (t.kind !== 'word') return false;
    const next = tokens[k + 1];
    if (next?.kind === 'word' && BIGRAM_VALUE.has(`${t.lower} ${next.lower}`)) return true; // "needs work", "spot on"
    if (k > j && CUE_VALUE.has(t.lower)) return true;
  }
  return false;
}

/** "WATER's" for the reference word WATER (when the reference itself has no "WATER'S"). */
function possessiveOf(text: string, ref: ReferenceIndex): string | undefined {
  if (!/'s$/i.test(text)) return undefined;
  const stem = text.slice(0, -2);
  return !ref.wordIndices.has(text.toUpperCase()) && ref.wordIndices.has(stem.toUpperCase()) ? stem : undefined;
}

function isPhonemeToken(t: Token | undefined): boolean {
  return t?.kind === 'phon' || t?.kind === 'ipa';
}

/** Phrases that introduce an example of a sound: "/ɔ/ as in 'law'", "(e.g. 'law')", "such as 'law'". */
const EXAMPLE_MARKERS: readonly (readonly string[])[] = [['as', 'in'], ['like', 'in'], ['e.g.'], ['for', 'example'], ['such', 'as']];
const EXAMPLE_SKIP: ReadonlySet<string> = new Set(['the', 'word', 'words']);

/**
 * A word given as an example of a sound ("the /ɔ/ sound, as in 'law'", "as in 'law' or 'saw'") is
 * an illustration: neither judged, nor where the sound is, nor an unknown word.
 */
function isExample(tokens: Token[], i: number, from: number, st: SentenceState): boolean {
  if (st.exampleEnd >= from && onlyConjunctions(tokens, st.exampleEnd + 1, i)) {
    st.exampleEnd = i;
    return true;
  }
  let j = i - 1;
  while (j >= from && ((tokens[j]!.kind === 'sep' && j === i - 1) || EXAMPLE_SKIP.has(tokens[j]!.lower))) j--;
  const found = EXAMPLE_MARKERS.some((m) => m.every((w, k) => {
    const t = tokens[j - (m.length - 1) + k];
    return j - (m.length - 1) + k >= from && t?.kind === 'word' && t.lower === w;
  }));
  if (found) st.exampleEnd = i;
  return found;
}

/**
 * A word right after "in/of/on/at" in a clause that already named a phoneme is where that phoneme
 * is ("the /θ/ in 'THREE'", "the /s/ at the start of 'SEA'"), not a judgement of the word.
 */
function isLocation(tokens: Token[], i: number, from: number, st: SentenceState): boolean {
  const p1 = tokens[i - 1];
  const listed = st.locationEnd >= from && onlyConjunctions(tokens, st.locationEnd + 1, i);
  if (!listed && !(p1?.kind === 'word' && LOCATION_PREPS.has(p1.lower) && i - 1 >= from)) return false;
  const clause = cur(st).clause;
  return st.segs.some((s) => s.clause === clause && s.mentions.some((m) => m.type === 'phoneme'));
}

function onlyConjunctions(tokens: Token[], a: number, b: number): boolean {
  for (let j = a; j < b; j++) {
    const t = tokens[j]!;
    if (!(t.kind === 'sep' || (t.kind === 'word' && (t.lower === 'and' || t.lower === 'or')))) return false;
  }
  return true;
}

function addWord(tokens: Token[], i: number, from: number, to: number, st: SentenceState, upper: string): boolean {
  if (isRealization(tokens, i, to)) return true;
  if (isLocation(tokens, i, from, st)) {
    st.locationEnd = i;
    pushMention(tokens, i, st, 'location', upper);
  } else {
    pushMention(tokens, i, st, 'word', upper);
    if (leadingLocation(tokens, i, from)) cur(st).mentions[cur(st).mentions.length - 1]!.locatesLater = true;
  }
  return true;
}

/** "In 'WATER', the /w/ was right": "in/on" opening the sentence or clause, before the word. */
function leadingLocation(tokens: Token[], i: number, from: number): boolean {
  const p1 = tokens[i - 1];
  if (!(p1?.kind === 'word' && (p1.lower === 'in' || p1.lower === 'on') && i - 1 >= from)) return false;
  const p2 = i - 2 >= from ? tokens[i - 2] : undefined;
  return !p2 || p2.kind === 'sep' || (p2.kind === 'word' && (BUT_MARKERS.has(p2.lower) || p2.lower === 'and'));
}

function upperMention(tokens: Token[], i: number, from: number, to: number, st: SentenceState, ref: ReferenceIndex, upper: string): boolean {
  const stressed = /[0-2]$/.test(upper);
  const soundNext = followedBySoundWord(tokens, i, to);
  const listed = upper.length <= 2 && listBeforeSoundWord(tokens, i, to);
  if (stressed || ((soundNext || listed) && upper.length <= 2)) return addPhoneme(tokens, i, to, st, toArpabet(upper));
  const single = upper.length === 1;
  // "I" and "A" are pronoun and article unless introduced: "the word I".
  const introducedSingle = single && WORD_INTRODUCERS.has(tokens[i - 1]?.lower ?? '');
  if (ref.wordIndices.has(upper) && (!single || (upper !== 'A' && upper !== 'I') || introducedSingle)) {
    return addWord(tokens, i, from, to, st, upper);
  }
  if (BARE_ARPABET.has(upper)) return addPhoneme(tokens, i, to, st, upper);
  if (single && tokens[i - 1]?.lower === 'the' && isInOf(tokens[i + 1])) return addPhoneme(tokens, i, to, st, toArpabet(upper));
  return false;
}

const DETERMINERS: ReadonlySet<string> = new Set(['the', 'your', 'its', 'their']);
const POSITION_ADJ: ReadonlySet<string> = new Set(['initial', 'final', 'first', 'last', 'middle', 'medial', 'voiced', 'voiceless', 'dark']);

/** "the th", "your th", "the final th". */
function determinerBefore(tokens: Token[], i: number): boolean {
  const p1 = tokens[i - 1]?.lower ?? '';
  if (DETERMINERS.has(p1)) return true;
  return POSITION_ADJ.has(p1) && DETERMINERS.has(tokens[i - 2]?.lower ?? '');
}

/** "the G, R and EY sounds": a list of spellings that ends in a sound word. */
function listBeforeSoundWord(tokens: Token[], i: number, to: number): boolean {
  let j = i + 1;
  while (j + 1 < to) {
    const sep = tokens[j]!;
    if (!(sep.kind === 'sep' || sep.lower === 'and' || sep.lower === 'or')) return false;
    while (j < to && (tokens[j]!.kind === 'sep' || tokens[j]!.lower === 'and' || tokens[j]!.lower === 'or')) j++;
    const t = tokens[j];
    if (!t || t.kind !== 'word' || t.text.length > 3 || !(toArpabet(t.text) ?? graphemeToArpabet(t.text))) return false;
    if (followedBySoundWord(tokens, j, to)) return true;
    j++;
  }
  return false;
}

function isInOf(t: Token | undefined): boolean {
  return t?.kind === 'word' && (t.lower === 'in' || t.lower === 'of' || t.lower === 'at');
}

/** "the th sound", "th-sound", "the th in 'THINK'", "the final th in", "the r sound", "the v in 'VERY'". */
function phonemeSpelling(tokens: Token[], i: number, to: number, lower: string): boolean {
  if (lower.length > 2 || graphemeToArpabet(lower) === undefined) return false;
  const afterThe = determinerBefore(tokens, i);
  if (followedBySoundWord(tokens, i, to) || listBeforeSoundWord(tokens, i, to)) return afterThe || SHORT_GRAPHEMES.has(lower);
  return afterThe && isInOf(tokens[i + 1]) && (SHORT_GRAPHEMES.has(lower) || tokens[i + 2]?.kind !== 'word' || lower.length === 1);
}

/** A plain lower-case reference word counts only in a critique context: "the word think", "the vowel in sheep". */
function introducedPlain(tokens: Token[], i: number, from: number, st: SentenceState): boolean {
  const p1 = tokens[i - 1];
  if (i - 1 < from || !p1) return false;
  if (p1.kind === 'word' && WORD_INTRODUCERS.has(p1.lower)) return true;
  const p2 = tokens[i - 2];
  if (p1.kind === 'word' && (p1.lower === 'in' || p1.lower === 'of' || p1.lower === 'on') && i - 2 >= from && p2) {
    if (p2.kind === 'word' && SOUND_NOUNS.has(p2.lower)) return true;
    if (p2.kind === 'phon' || p2.kind === 'ipa') return true;
  }
  // List continuation: "the words think, three and bath".
  return st.listEnd >= from && onlyConjunctions(tokens, st.listEnd + 1, i);
}

const QUOTE_TRIM_RE = /^[^A-Za-z']+|[^A-Za-z']+$/g;
const SPACE_RE = /\s+/;

function onQuote(tokens: Token[], i: number, from: number, to: number, st: SentenceState, ref: ReferenceIndex, out: Analysis): void {
  const content = tokens[i]!.text.replace(QUOTE_TRIM_RE, '');
  if (content.length === 0) return;
  if (isExample(tokens, i, from, st)) return;
  if (!content.includes(' ') && quotedPhoneme(tokens, i, to, content, ref)) {
    addPhoneme(tokens, i, to, st, toArpabet(content) ?? graphemeToArpabet(content));
    return;
  }
  const realization = isRealization(tokens, i, to);
  const pieces = content.split(SPACE_RE);
  const unknown: string[] = [];
  for (const piece of pieces) {
    const upper = piece.replace(QUOTE_TRIM_RE, '').toUpperCase();
    if (upper.length === 0) continue;
    const word = ref.wordIndices.has(upper) ? upper : fuzzyWord(ref, upper);
    if (word && !realization) addWord(tokens, i, from, to, st, word);
    else if (!word) unknown.push(upper);
  }
  if (realization || unknown.length === 0) return;
  if (unknown.length === pieces.length && pieces.length > 1) out.unknownWords.push(content.toUpperCase());
  else out.unknownWords.push(...unknown);
}

function quotedPhoneme(tokens: Token[], i: number, to: number, content: string, ref: ReferenceIndex): boolean {
  const sym = toArpabet(content) ?? graphemeToArpabet(content);
  if (!sym) return false;
  if (followedBySoundWord(tokens, i, to)) return true;
  return !ref.wordIndices.has(content.toUpperCase()) && content.length <= 2;
}

// ---------------------------------------------------------------------------------------------
// Resolution

function segmentSum(seg: Segment): number {
  let s = 0;
  for (const c of seg.cues) s += c;
  return s;
}

/**
 * A mention's polarity is its segment's; a segment without a polar cue borrows from the next
 * segment of its clause ("'THINK', 'THREE' and 'BATH' were mispronounced"), then the previous one
 * ("good job on 'THINK' and 'THREE'"); an "except" clause takes the opposite of the clause before.
 */
function resolveMentions(st: SentenceState, out: Analysis): void {
  const sums = st.segs.map(segmentSum);
  const clauseWords = wordsByClause(st);
  const withPhoneme = clausesWithPhoneme(st);
  st.segs.forEach((seg, k) => {
    if (seg.mentions.length === 0) return;
    const s = polarSum(st, sums, k);
    const polarity: MentionPolarity = s > 0 ? 'praised' : s < 0 ? 'criticised' : 'neutral';
    for (const m of seg.mentions) {
      m.polarity = polarity;
      // Praise of one sound is not praise of its whole word; critique of it is critique of the word.
      if (m.locatesLater && polarity === 'praised' && withPhoneme.has(seg.clause)) m.type = 'location';
      delete m.locatesLater;
      if (m.type === 'phoneme') m.scopeWords = clauseWords[seg.clause] ?? [];
      out.mentions.push(m);
    }
  });
}

function clausesWithPhoneme(st: SentenceState): Set<number> {
  const out = new Set<number>();
  for (const seg of st.segs) if (seg.mentions.some((m) => m.type === 'phoneme')) out.add(seg.clause);
  return out;
}

function polarSum(st: SentenceState, sums: number[], k: number): number {
  const clause = st.segs[k]!.clause;
  if (sums[k] !== 0) return sums[k]!;
  for (let j = k + 1; j < st.segs.length && st.segs[j]!.clause === clause; j++) if (sums[j] !== 0) return sums[j]!;
  for (let j = k - 1; j >= 0 && st.segs[j]!.clause === clause; j--) if (sums[j] !== 0) return sums[j]!;
  if (st.roles[clause] !== 'except') return 0;
  for (let j = k - 1; j >= 0; j--) if (st.segs[j]!.clause !== clause && sums[j] !== 0) return -sums[j]!;
  return 0;
}

function wordsByClause(st: SentenceState): string[][] {
  const res: string[][] = st.roles.map(() => []);
  for (const seg of st.segs) for (const m of seg.mentions) if (m.type !== 'phoneme') res[seg.clause]!.push(m.key);
  return res;
}

interface AspectUnit {
  aspects: number;
  cues: Array<[number, number]>; // [value, weight]
}

/**
 * Sentence-level aspects. Segments naming a word or phoneme are token-level statements, judged by
 * faithfulness instead. A segment without an aspect word continues the previous aspect ("fluency
 * was good, with no long pauses"); one naming a new aspect after a complete statement starts a new
 * unit ("accuracy was good and the rhythm flat"); an aspect left without any cue shares the one
 * before it ("very good fluency and rhythm").
 */
function collectAspects(st: SentenceState, out: Analysis): void {
  const units: AspectUnit[] = [];
  let unit: AspectUnit | undefined;
  let orphan: Array<[number, number]> = [];
  let orphanClause = -1;
  for (const seg of st.segs) {
    if (seg.mentions.length > 0) continue;
    const w = st.roles[seg.clause] === 'main' ? 1 : CONCESSION_WEIGHT;
    const cues = seg.cues.map((c): [number, number] => [c, w]);
    const aspects = aspectsOf(seg);
    if (aspects !== 0 && (!unit || unit.cues.length > 0)) {
      // Cues before the first aspect word belong to it only within the same clause ("very clear pronunciation").
      unit = { aspects, cues: orphanClause === seg.clause ? [...orphan, ...cues] : cues };
      units.push(unit);
      orphan = [];
    } else if (unit) {
      unit.aspects |= aspects;
      unit.cues.push(...cues);
    } else if (cues.length > 0) {
      if (orphanClause !== seg.clause) orphan = [];
      orphan.push(...cues);
      orphanClause = seg.clause;
    }
  }
  for (let k = 1; k < units.length; k++) {
    if (units[k]!.cues.length === 0) units[k - 1]!.aspects |= units[k]!.aspects;
  }
  for (const u of units) if (u.cues.length > 0) addToAspects(out, normaliseAspects(u.aspects), u.cues);
}

/** A segment's aspects; "words"/"sounds" name accuracy only beside no fluency word. */
function aspectsOf(seg: Segment): number {
  if (!seg.weakAccuracy || seg.aspects & ASPECT_BIT.fluency) return seg.aspects;
  return seg.aspects | ASPECT_BIT.accuracy;
}

/** "overall" next to another aspect is an adverb ("overall, fluency was good"); "overall pronunciation" is overall. */
function normaliseAspects(bits: number): number {
  if (!(bits & ASPECT_BIT.overall)) return bits;
  if (bits & (ASPECT_BIT.fluency | ASPECT_BIT.prosody)) return bits & ~ASPECT_BIT.overall;
  return ASPECT_BIT.overall;
}

function addToAspects(out: Analysis, bits: number, cues: Array<[number, number]>): void {
  for (const aspect of ASPECT_LIST) {
    if (!(bits & ASPECT_BIT[aspect])) continue;
    const a = out.aspects[aspect];
    for (const [v, w] of cues) {
      a.hasCue = true;
      if (v > 0) {
        a.positive += v * w;
        a.maxPositive = Math.max(a.maxPositive, v);
      } else if (v < 0) {
        a.negative -= v * w;
        a.maxNegative = Math.max(a.maxNegative, -v);
      }
    }
  }
}
