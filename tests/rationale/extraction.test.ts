/** Unit tests for tokenizing, phoneme spellings, mention extraction, polarity, sentiment and fuzzy matching. */
import { checkRationale, checkRationaleDetailed, classifySentiment, verdictFor } from '../../src/rationale/check.js';
import { toArpabet, stripStress } from '../../src/rationale/phonemes.js';
import { editDistance, fuzzyWord, indexReference } from '../../src/rationale/reference.js';
import { tokenize } from '../../src/rationale/tokenize.js';
import { speechOceanToLabels, SpeechOceanFormatError } from '../../src/rationale/speechocean.js';
import type { AssessmentLabels } from '../../src/types.js';

/** THE THIN THIEF THREE: THIEF and THREE are errors, TH is wrong in THIEF only. */
function labels(sentence: Partial<AssessmentLabels['sentence']> = {}): AssessmentLabels {
  return {
    sentence: { accuracy: 6, fluency: 9, prosody: 6, completeness: 10, total: 3, ...sentence },
    words: [
      { text: 'THE', accuracy: 9, stress: 10, total: 9, phonemes: [{ symbol: 'DH', accuracy: 2 }, { symbol: 'AH0', accuracy: 2 }] },
      { text: 'THIN', accuracy: 9, stress: 10, total: 9, phonemes: [{ symbol: 'TH', accuracy: 2 }, { symbol: 'IH1', accuracy: 2 }, { symbol: 'N', accuracy: 2 }] },
      { text: 'THIEF', accuracy: 5, stress: 10, total: 5, phonemes: [{ symbol: 'TH', accuracy: 0.4 }, { symbol: 'IY1', accuracy: 2 }, { symbol: 'F', accuracy: 2 }] },
      { text: 'THREE', accuracy: 7, stress: 10, total: 7, phonemes: [{ symbol: 'TH', accuracy: 1.6 }, { symbol: 'R', accuracy: 1.0 }, { symbol: 'IY1', accuracy: 2 }] },
    ],
  };
}
const L = labels();
const words = (t: string) => checkRationale(t, L).words;
const phonemes = (t: string) => checkRationale(t, L).phonemes;

describe('tokenize', () => {
  test('splits words, quotes, slash phonemes, scores and boundaries', () => {
    const kinds = tokenize("Overall 7/10: 'THIN' and \"THIEF\", /θ/ [r] — e.g. done. Next").map((t) => t.kind);
    // "e.g." is a word (it introduces examples of a sound, never a sentence end); "i.e." is dropped
    expect(kinds).toEqual(['word', 'score', 'sep', 'quote', 'word', 'quote', 'sep', 'phon', 'phon', 'sep', 'word', 'word', 'eos', 'word']);
    expect(tokenize('i.e. done').map((t) => t.text)).toEqual(['done']);
  });
  test('apostrophes inside words are not quotes; curly quotes are', () => {
    expect(tokenize("the learner's don't").map((t) => t.kind)).toEqual(['word', 'word', 'word']);
    expect(tokenize('‘THIN’ “THE”').map((t) => [t.kind, t.text])).toEqual([['quote', 'THIN'], ['quote', 'THE']]);
  });
  test('marks sentence-initial words', () => {
    expect(tokenize('Thin was fine. Thief too').filter((t) => t.initial).map((t) => t.text)).toEqual(['Thin', 'Thief']);
  });
});

describe('phoneme spellings map to ARPAbet without stress', () => {
  test.each([
    ['θ', 'TH'], ['ð', 'DH'], ['iː', 'IY'], ['ɪ', 'IH'], ['ʃ', 'SH'], ['tʃ', 'CH'], ['dʒ', 'JH'], ['ŋ', 'NG'],
    ['ɚ', 'ER'], ['eɪ', 'EY'], ['TH', 'TH'], ['th', 'TH'], ['IY1', 'IY'], ['ah0', 'AH'], ['r', 'R'], ['ɹ', 'R'],
  ])('%s -> %s', (raw, sym) => expect(toArpabet(raw)).toBe(sym));
  test('non-phonemes are rejected', () => {
    expect(toArpabet('XQ')).toBeUndefined();
    expect(toArpabet('hello')).toBeUndefined();
  });
  test('stripStress', () => expect([stripStress('IY0'), stripStress('TH')]).toEqual(['IY', 'TH']));
});

describe('word mentions', () => {
  test('quoted, double-quoted and curly-quoted words', () => {
    expect(words("'THIEF' was unclear").criticised).toEqual(['THIEF']);
    expect(words('"THIEF" was unclear').criticised).toEqual(['THIEF']);
    expect(words('“thief” was unclear').criticised).toEqual(['THIEF']);
  });
  test('UPPER-CASE and mid-sentence Title-case reference words', () => {
    expect(words('Your THIEF was unclear').criticised).toEqual(['THIEF']);
    expect(words('Your Thief was unclear').criticised).toEqual(['THIEF']);
  });
  test('sentence-initial capitals are not mentions', () => {
    expect(checkRationale('Thief was unclear.', L).flags).toContain('NO_TOKEN_REFERENCES');
  });
  test('plain words count only in a critique context', () => {
    expect(words('You mispronounced thief').criticised).toEqual(['THIEF']);
    expect(words('The words thief and three were unclear').criticised).toEqual(['THIEF', 'THREE']);
    expect(words('The vowel in three was weak').criticised).toEqual(['THREE']);
    expect(words('A thin thief was unclear').mentions).toBe(0);
  });
  test('function words count only when quoted or upper-case', () => {
    expect(words('the was weak').mentions).toBe(0);
    expect(words("'THE' was weak").criticised).toEqual(['THE']);
    expect(words('THE was weak').criticised).toEqual(['THE']);
  });
  test('what the learner said instead is not a mention', () => {
    const r = checkRationale("You said 'TEEF' instead of 'THIEF'.", L);
    expect(r.words.criticised).toEqual(['THIEF']);
    expect(r.unknownWords).toEqual([]);
  });
  test('misspellings map to the reference word; distant words are unknown', () => {
    expect(words("'THEIF' was unclear").criticised).toEqual(['THIEF']);
    const r = checkRationale("'BANANA' was unclear", L);
    expect(r.unknownWords).toEqual(['BANANA']);
    expect(r.flags).toEqual(expect.arrayContaining(['UNKNOWN_WORD_MENTION', 'NO_TOKEN_REFERENCES']));
  });
});

describe('phoneme mentions', () => {
  test.each([
    ['The /θ/ was weak.'], ['The /TH/ was weak.'], ['TH was weak.'], ['The th sound was weak.'],
    ["The 'th' sound was weak."], ['The TH sound was weak.'], ['The [θ] was weak.'], ['The th-sound was weak.'],
  ])('%s', (text) => expect(phonemes(text).criticised).toEqual(['TH']));
  test('a phoneme in a named word is scoped to that word', () => {
    // TH is fine in THIN, wrong in THIEF.
    expect(checkRationale("The /θ/ in 'THIN' was weak.", L).flags).toContain('UNSUPPORTED_PHONEME_CRITIQUE');
    expect(checkRationale("The /θ/ in 'THIEF' was weak.", L).flags).not.toContain('UNSUPPORTED_PHONEME_CRITIQUE');
    // Unscoped: agrees when any occurrence is an error.
    expect(checkRationale('The /θ/ was weak.', L).phonemes.precision).toBe(1);
  });
  test('the word hosting a phoneme is its location, not a word critique', () => {
    const r = checkRationale("The /θ/ in 'THIN' was weak.", L);
    expect(r.words.mentions).toBe(0);
    expect(r.flags).not.toContain('NO_TOKEN_REFERENCES');
  });
  test('a substituted sound is not criticised', () => {
    expect(phonemes("You replaced /θ/ with /t/ in 'THIEF'.").criticised).toEqual(['TH']);
    expect(phonemes("In 'THIEF' the /θ/ sounded like /f/.").criticised).toEqual(['TH']);
  });
  test('a missing sound is criticised', () => expect(phonemes("There was no /r/ in 'THREE'.").criticised).toEqual(['R']));
});

describe('polarity', () => {
  test('negation, contrast, lists, except and ellipsis', () => {
    expect(words("'THIEF' was not clear").criticised).toEqual(['THIEF']);
    expect(words("There were no problems with 'THIN'").praised).toEqual(['THIN']);
    expect(words("'THIN' was clear, but 'THIEF' was not").criticised).toEqual(['THIEF']);
    expect(words("'THIN' was clear, but 'THIEF' was not").praised).toEqual(['THIN']);
    expect(words("'THE', 'THIEF' and 'THREE' were mispronounced").criticised).toEqual(['THE', 'THIEF', 'THREE']);
    expect(words("Everything was clear except 'THIEF'").criticised).toEqual(['THIEF']);
  });
});

describe('plausibility', () => {
  const p = (text: string, s: Partial<AssessmentLabels['sentence']> = {}) => checkRationale(text, labels(s)).plausibility;
  test('aspect lexicon and bands', () => {
    expect(p('Your fluency was smooth.').fluency).toBe('consistent');
    expect(p('Your fluency was choppy.').fluency).toBe('inconsistent');
    expect(p('Your intonation was okay.').prosody).toBe('consistent');
    expect(p('Overall, a very poor attempt.').overall).toBe('consistent');
    expect(p('Overall, an excellent attempt.').overall).toBe('inconsistent');
  });
  test('a 5-7 label accepts mild but not strong claims', () => {
    expect(p('Your pronunciation was mostly clear.').accuracy).toBe('consistent');
    expect(p('Your pronunciation was excellent.').accuracy).toBe('inconsistent');
    expect(p('Your pronunciation was very poor.').accuracy).toBe('inconsistent');
  });
  test('contrast: the part after "but" dominates', () => {
    expect(p('Your pronunciation was clear at first but mostly inaccurate.', { accuracy: 3 }).accuracy).toBe('consistent');
    expect(p('Although a bit flat, your intonation was natural.', { prosody: 9 }).prosody).toBe('consistent');
  });
  test('negation and hedges', () => {
    expect(p('Your fluency was not smooth.').fluency).toBe('inconsistent');
    expect(p('There was no hesitation at all.').fluency).toBe('consistent');
  });
  test('word-level remarks do not count as sentence-level accuracy', () => {
    expect(p("Your pronunciation of 'THIEF' was poor.", { accuracy: 9 }).accuracy).toBe('not_mentioned');
  });
  test('classifySentiment and verdictFor', () => {
    const a = { positive: 1, negative: 1, maxPositive: 1, maxNegative: 1, hasCue: true };
    expect(classifySentiment(a)).toBe('mixed');
    expect(verdictFor(6, a)).toBe('consistent');
    expect(verdictFor(9, a)).toBe('inconsistent');
    expect(verdictFor(9, { ...a, hasCue: false })).toBe('not_mentioned');
  });
});

describe('faithfulness numbers', () => {
  test('precision, recall and counts', () => {
    const r = checkRationale("'THIEF' and 'THIN' were mispronounced; the /r/ was weak.", L);
    expect(r.words).toMatchObject({ criticised: ['THIEF', 'THIN'], mentions: 2, agreeing: 1, precision: 0.5, errorTokens: 2, errorTokensCriticised: 1, recall: 0.5 });
    expect(r.phonemes).toMatchObject({ criticised: ['R'], precision: 1, errorTokens: 2, errorTokensCriticised: 1, recall: 0.5 });
    expect(r.flags).toEqual(['UNSUPPORTED_WORD_CRITIQUE']);
  });
  test('null precision without mentions, null recall without errors', () => {
    const perfect: AssessmentLabels = { sentence: L.sentence, words: [{ ...L.words[1]! }] };
    const r = checkRationale('Fine.', perfect);
    expect(r.words.precision).toBeNull();
    expect(r.words.recall).toBeNull();
    expect(r.flags).toEqual(['NO_TOKEN_REFERENCES']);
  });
});

describe('fuzzy matching and the SpeechOcean converter', () => {
  test('edit distance counts a transposition as one', () => {
    expect(editDistance('THEIF', 'THIEF', 2)).toBe(1);
    expect(editDistance('ABC', 'XYZ', 1)).toBe(2); // stops early past the budget
  });
  test('short words are not fuzzy-matched; ties are ambiguous', () => {
    const idx = indexReference(L);
    expect(fuzzyWord(idx, 'THY')).toBeUndefined();
    expect(fuzzyWord(idx, 'THREW')).toBe('THREE');
  });
  test('converts a record and rejects malformed ones', () => {
    const l = speechOceanToLabels({
      accuracy: 8, fluency: 9, prosodic: 7, completeness: 10, total: 8,
      words: [{ text: 'we', accuracy: 9, stress: 10, total: 9, phones: ['W', 'IY0'], 'phones-accuracy': [2, 1.2] }],
    });
    expect(l.sentence.prosody).toBe(7);
    expect(l.words[0]).toEqual({ text: 'WE', accuracy: 9, stress: 10, total: 9, phonemes: [{ symbol: 'W', accuracy: 2 }, { symbol: 'IY0', accuracy: 1.2 }] });
    expect(() => speechOceanToLabels({ accuracy: 8, words: [] })).toThrow(SpeechOceanFormatError);
    expect(() => speechOceanToLabels({ accuracy: 8, fluency: 9, prosodic: 7, total: 8, words: [{ text: 'A', accuracy: 9, phones: ['AH0'], 'phones-accuracy': [] }] })).toThrow(/equal length/);
  });
});

describe('checkRationaleDetailed: the criticised tokens the labels bear out', () => {
  test('words with an error occurrence; phonemes with an error occurrence in their scope', () => {
    const text = "'THIN' and 'THIEF' were unclear. The /θ/ in THREE was weak, and the /ɹ/ in THREE was off.";
    const d = checkRationaleDetailed(text, L);
    expect([...d.words.criticised].sort()).toEqual(['THIEF', 'THIN']);
    expect(d.criticisedAgreeing.words).toEqual(['THIEF']); // THIN scores 9
    expect([...d.phonemes.criticised].sort()).toEqual(['R', 'TH']);
    expect(d.criticisedAgreeing.phonemes).toEqual(['R']); // TH in THREE is 1.6; the bad one is in THIEF
  });
  test('is checkRationale plus criticisedAgreeing, nothing else', () => {
    const text = "Fluency was good, but 'THIEF' was unclear.";
    const { criticisedAgreeing, ...check } = checkRationaleDetailed(text, L);
    expect(check).toEqual(checkRationale(text, L));
    expect(criticisedAgreeing).toEqual({ words: ['THIEF'], phonemes: [] });
  });
});
