/**
 * Domain lexicons for rationale checks. Built once at module load: checkRationale runs thousands of
 * times per second, so nothing here is allocated per call.
 */

export type Aspect = 'accuracy' | 'fluency' | 'prosody' | 'overall';
export const ASPECTS: readonly Aspect[] = ['accuracy', 'fluency', 'prosody', 'overall'];

/** Sentiment cue values. 2 = strong, 1 = plain, <1 = mild; 0 = evaluative but neutral ("okay"). */
const CUES: Record<number, string> = {
  2: 'excellent perfect perfectly flawless flawlessly outstanding superb impeccable impeccably exceptional brilliant ' +
    'fantastic wonderful superbly nativelike masterful nailed',
  1.5: 'great impressive beautifully beautiful best',
  1: 'good well clear clearly accurate accurately correct correctly natural naturally smooth smoothly fluent fluently ' +
    'confident confidently crisp crisply precise precisely strong nice nicely expressive lively intelligible ' +
    'understandable consistent consistently effortless effortlessly easy appropriate appropriately clean cleanly ' +
    'distinct distinctly authentic pleasant engaging dynamic clarity right spot mastered strength strengths ' +
    'successfully success controlled varied lovely articulate expressively strongest fluid',
  0.8: 'solid solidly steady steadily high',
  0.6: 'fine decent improved comfortable',
  0.3: 'satisfactory',
  0: 'fair reasonable okay ok acceptable adequate adequately average moderate passable mixed mid medium intermediate so-so',
  [-0.5]: 'accented mediocre uneven unevenly',
  [-0.6]: 'slow slowly tricky inconsistent irregular pause pauses paused pausing accent hard practice practise ' +
    'practicing practising focus try watch careful attention improve improvement improving improvements should ' +
    'needs need must avoid remember revisit rolled trilled',
  [-0.8]: 'low rushed hurried difficult heavy became become becomes clearer smoother crisper stronger better weakest weaker off devoiced lost slip slips lapse lapses',
  [-1]: 'poor poorly unclear inaccurate inaccurately incorrect incorrectly wrong wrongly mispronounced ' +
    'mispronunciation mispronunciations mispronouncing mispronounce mispronounces error errors mistake mistakes ' +
    'problem problems problematic issue issues difficulty difficulties struggled struggle struggles struggling ' +
    'hesitant hesitantly hesitation hesitations hesitated hesitating hesitate choppy halting disfluent disfluency ' +
    'broken unnatural unnaturally robotic flat flatly monotone monotonous flattened weak weakly distorted muddy ' +
    'mumbled garbled blurred slurred missing missed dropped omitted skipped swallowed deleted inserted substituted ' +
    'replaced confused confusing awkward awkwardly stilted jerky laboured labored fragmented stumbled stumble ' +
    'stumbles stumbling repetition repetitions restarts trouble instead bad badly imprecise lacked vague sloppy ' +
    'mangled misplaced incomplete unclearly inaudible hardest unrecognisable unrecognizable staccato disjointed ' +
    'faltering faltered stuttering stuttered stutter stammering stammered stammer',
  [-2]: 'terrible awful unintelligible incomprehensible dreadful worst',
};

/** Two-word cues overriding their parts ("strong accent" is not praise). */
const BIGRAMS: Record<string, number> = {
  'strong accent': -1, 'heavy accent': -1, 'error free': 1, 'mistake free': 1, 'well done': 1.5, 'good job': 1.5,
  'great job': 1.5, 'nice job': 1.5, 'nice work': 1.5, 'good work': 1.5, 'spot on': 1.5, 'on point': 1, 'needs work': -0.8,
  'need work': -0.8, 'work on': -0.6, 'more work': -0.6, 'some work': -0.6, 'came out': -0.8, 'turned into': -0.8,
  'off target': -1, 'a bit off': -0.5, 'was off': -1, 'were off': -1, 'sounds off': -1, 'sounded off': -1,
  'slightly off': -0.5, 'too fast': -1, 'too slow': -1, 'native like': 2, 'hard to': -1, 'easy to': 1,
  'room for': -0.6, 'pronounced as': -0.8, 'said as': -0.8, 'sounded like': -0.8, 'sounds like': -0.8, 'sound like': -0.8, 'fell flat': -1, 'false starts': -1, 'false start': -1,
};

export const CUE_VALUE: ReadonlyMap<string, number> = buildCueMap();
export const BIGRAM_VALUE: ReadonlyMap<string, number> = new Map(Object.entries(BIGRAMS));

function buildCueMap(): Map<string, number> {
  const map = new Map<string, number>();
  for (const [value, words] of Object.entries(CUES)) {
    for (const w of words.split(' ')) map.set(w, Number(value));
  }
  return map;
}

/** Multipliers for the next cue: intensifiers > 1, hedges (downtoners) < 1. */
export const MODIFIERS: ReadonlyMap<string, number> = new Map(
  [
    ...'very really extremely highly truly remarkably exceptionally completely totally entirely fully major serious severe significant significantly frequent frequently many constant constantly particularly so especially'
      .split(' ').map((w) => [w, 1.5] as const),
    ...'quite several long noticeable noticeably consistently clearly obvious obviously'.split(' ').map((w) => [w, 1.2] as const),
    ...'few slightly somewhat bit fairly relatively reasonably partly partially occasionally occasional sometimes some minor small mild mildly kind sort little couple'
      .split(' ').map((w) => [w, 0.5] as const),
    // Quantity hedges name the majority: "mostly inaccurate" is still mainly inaccurate.
    ...'mostly mainly largely generally'.split(' ').map((w) => [w, 0.75] as const),
    ...'pretty almost nearly seems seemed maybe perhaps possibly'.split(' ').map((w) => [w, 0.7] as const),
  ],
);

/** Words that flip the polarity of the next cue within NEGATION_WINDOW tokens. */
export const NEGATORS: ReadonlySet<string> = new Set(
  'not no never without hardly barely scarcely lacks lacked lacking lack nor none zero minimal few little absence cannot'.split(' '),
);
export const NEGATION_WINDOW = 3;

/** Modal words that turn a following praise word into advice ("could be clearer", "should sound natural"). */
export const ADVICE_MODALS: ReadonlySet<string> = new Set('could should would needs need more try'.split(' '));

/** Clause boundaries: "but"-type markers introduce the dominant part; "although"-type a concession. */
export const BUT_MARKERS: ReadonlySet<string> = new Set('but however yet nevertheless nonetheless'.split(' '));
export const CONCESSION_MARKERS: ReadonlySet<string> = new Set('although though whereas while despite'.split(' '));
/** "except 'THINK'": the exception takes the opposite polarity of the rest of its sentence. */
export const EXCEPT_MARKERS: ReadonlySet<string> = new Set(['except', 'apart', 'besides']);
/** Weight of the conceded (non-dominant) side of a contrast. */
export const CONCESSION_WEIGHT = 0.5;

const ASPECT_WORDS: Record<Exclude<Aspect, 'overall'>, string> = {
  accuracy:
    'word pronunciation pronounced pronouncing articulation articulated articulate enunciation enunciated sounds accuracy ' +
    'accurate accurately inaccurate consonants vowels phonemes phones words mispronounced mispronunciation ' +
    'mispronunciations clarity intelligibility intelligible',
  fluency:
    'fluency fluent fluently disfluent disfluency smooth smoothly smoothness hesitant hesitantly hesitation hesitations ' +
    'hesitated hesitating hesitate pause pauses paused pausing choppy pace paced pacing rate speed tempo flow flowed ' +
    'flowing halting stumbled stumbling stumble stumbles rushed hurried delivery repetition repetitions restarts ' +
    // what a listener says of broken-up speech: a judgement of fluency, not of any word
    'broken jerky laboured labored stilted fragmented staccato disjointed faltering faltered stuttering stuttered ' +
    'stutter stammering stammered stammer fluid',
  prosody:
    'intonation rhythm rhythmic stress stressed prosody prosodic melody melodic monotone monotonous flat flatly pitch ' +
    'expressive expressively expression emphasis tone lilt',
};

export const ASPECT_OF: ReadonlyMap<string, Aspect> = buildAspectMap();

/**
 * Generic nouns that name accuracy only when nothing else names an aspect: "stumbling over several
 * words" judges fluency, not the words' pronunciation.
 */
export const WEAK_ACCURACY_WORDS: ReadonlySet<string> = new Set(['word', 'words', 'sounds']);

function buildAspectMap(): Map<string, Aspect> {
  const map = new Map<string, Aspect>();
  for (const [aspect, words] of Object.entries(ASPECT_WORDS)) {
    for (const w of words.split(' ')) map.set(w, aspect as Aspect);
  }
  for (const w of ['overall', 'total', 'altogether', 'performance', 'attempt', 'summary']) map.set(w, 'overall');
  return map;
}

/** Phrases meaning "overall", checked on the word and the two before it. */
export const OVERALL_PHRASES: ReadonlySet<string> = new Set(['in general', 'on the whole', 'as a whole', 'all in all']);

/** Function words: count as word mentions only when quoted or written UPPER-CASE. */
export const FUNCTION_WORDS: ReadonlySet<string> = new Set(
  ('the a an and or of to in on at is it its i you we he she they them us me my your our his her their was were are ' +
    'be been am for with as by that this these those but so not no do does did has have had from up if than then ' +
    'there here what which who when where how all any can will would could should just very too also').split(' '),
);

/** Plain lower-case words naming a word right after them: "the word think", "mispronounced three". */
export const WORD_INTRODUCERS: ReadonlySet<string> = new Set(
  ['word', 'words', 'mispronounced', 'pronounced', 'pronouncing', 'mispronouncing', 'saying', 'said'],
);
/** "sound/vowel/... in|of|on WORD" also introduces a plain word. */
export const SOUND_NOUNS: ReadonlySet<string> = new Set(
  ['sound', 'sounds', 'vowel', 'vowels', 'consonant', 'consonants', 'phoneme', 'phonemes', 'stress', 'syllable', 'ending', 'onset', 'cluster'],
);

