import { describe, expect, test } from '@jest/globals';
import { AppError } from '../../../src/errors.js';
import { parseResponse } from '../../../src/inference/generative/parse.js';
import { validateRubric } from '../../../src/inference/generative/config.js';
import { proficiencyLabel } from '../../../src/assessment/proficiency.js';
import { EXPECTED_LABELS, EXPECTED_RUBRIC_LABELS, GOOD_JSON, GOOD_LINES, GOOD_RUBRIC, WORDS } from './fixtures.js';

const RATIONALE_JSON = GOOD_JSON.rationale;
const RATIONALE_LINES = 'Mostly clear. "CALL" is mispronounced: the /ɔ/ (AO) vowel is accented\nand the final L is missing.';

function json(edit: (o: any) => void): string {
  const o = structuredClone(GOOD_JSON) as any;
  edit(o);
  return JSON.stringify(o);
}

function failure(text: string, format: 'json' | 'lines'): AppError {
  try {
    parseResponse(text, WORDS, format);
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    const err = e as AppError;
    expect(err.code).toBe('MODEL_OUTPUT_INVALID');
    expect(err.extensions.rawOutput).toBe(text);
    return err;
  }
  throw new Error(`expected ${JSON.stringify(text.slice(0, 60))} to be refused`);
}

describe('JSON responses', () => {
  test('a well-formed response parses to labels and rationale', () => {
    expect(parseResponse(JSON.stringify(GOOD_JSON), WORDS, 'json')).toEqual({ labels: EXPECTED_LABELS, rationale: RATIONALE_JSON });
  });

  test('a Markdown code fence and surrounding whitespace are accepted; word text is compared case-insensitively', () => {
    const text = '\n```json\n' + json((o) => (o.words[0].text = 'we')) + '\n```\n';
    expect(parseResponse(text, WORDS, 'json').labels).toEqual(EXPECTED_LABELS);
  });

  test.each<[string, string, string, RegExp]>([
    ['truncated JSON', JSON.stringify(GOOD_JSON).slice(0, 80), 'malformed', /not valid JSON/],
    ['prose instead of JSON', 'The speaker did well overall.', 'malformed', /expected a JSON object, the response starts with "The speaker/],
    ['a JSON array', '[1,2]', 'malformed', /expected a JSON object/],
    ['missing sentence field', json((o) => delete o.prosody), 'missing_field', /missing field\(s\): prosody/],
    ['missing rationale', json((o) => delete o.rationale), 'missing_field', /missing field\(s\): rationale/],
    ['empty rationale', json((o) => (o.rationale = '  ')), 'missing_field', /rationale is empty/],
    ['sentence score 11', json((o) => (o.accuracy = 11)), 'out_of_range', /accuracy is 11, expected an integer from 0 to 10/],
    ['negative total', json((o) => (o.total = -1)), 'out_of_range', /total is -1/],
    ['fractional fluency', json((o) => (o.fluency = 7.5)), 'out_of_range', /fluency is 7.5, expected an integer/],
    ['score as a string', json((o) => (o.fluency = '7')), 'wrong_type', /fluency must be a number, got "7"/],
    ['stress 7', json((o) => (o.words[1].stress = 7)), 'out_of_range', /words\[1\]\.stress is 7, expected 5 or 10/],
    ['phone score 3', json((o) => (o.words[1].phones[2] = 3)), 'out_of_range', /words\[1\]\.phones\[2\] \(L of "CALL"\) is 3, expected a number from 0 to 2/],
    ['word accuracy 12', json((o) => (o.words[3].accuracy = 12)), 'out_of_range', /words\[3\]\.accuracy is 12/],
    ['one word too few', json((o) => o.words.pop()), 'word_mismatch', /scores 3 word\(s\), the reference text has 4 \(WE CALL IT BEAR\)/],
    ['one word too many', json((o) => o.words.push(o.words[0])), 'word_mismatch', /scores 5 word\(s\)/],
    ['words out of order', json((o) => o.words.reverse()), 'word_mismatch', /word 1 is "BEAR", expected "WE"/],
    ['phone count', json((o) => o.words[1].phones.pop()), 'phone_count', /words\[1\]\.phones has 2 phone score\(s\) for "CALL", expected 3 \(K AO1 L\)/],
    ['word field missing', json((o) => delete o.words[2].total), 'missing_field', /words\[2\] \("IT"\) is missing field\(s\): total/],
    ['words not an array', json((o) => (o.words = 'WE CALL')), 'wrong_type', /words must be an array/],
    ['empty response', '   \n', 'empty', /the response is empty/],
  ])('%s → MODEL_OUTPUT_INVALID (%s)', (_name, text, reason, message) => {
    const err = failure(text, 'json');
    expect(err.extensions.reason).toBe(reason);
    expect(err.message).toMatch(message);
    expect(err.message).toMatch(/^The model produced an invalid response: /);
  });
});

describe('labelled-lines responses', () => {
  test('a well-formed response parses to labels and a multi-line rationale', () => {
    expect(parseResponse(GOOD_LINES, WORDS, 'lines')).toEqual({ labels: EXPECTED_LABELS, rationale: RATIONALE_LINES });
  });

  test('labels are case-insensitive, blank lines and comma-separated phones are accepted', () => {
    const text = GOOD_LINES.replace('Accuracy: 8', 'ACCURACY: 8\n').replace('phones 2 1 0', 'phones: 2, 1, 0');
    expect(parseResponse(text, WORDS, 'lines').labels).toEqual(EXPECTED_LABELS);
  });

  const edit = (from: string, to: string) => GOOD_LINES.replace(from, to);
  test.each<[string, string, string, RegExp]>([
    ['missing Prosody line', edit('Prosody: 7\n', ''), 'missing_field', /missing line\(s\): Prosody/],
    ['missing rationale', GOOD_LINES.split('\nRationale:')[0]!, 'missing_field', /Rationale is missing/],
    ['duplicate label', edit('Fluency: 7', 'Fluency: 7\nFluency: 6'), 'malformed', /"Fluency" is given twice/],
    ['unlabelled line', edit('Total: 7', 'Total: 7\nOverall the speaker did fine'), 'malformed', /line 6 is not a labelled line/],
    ['score 11', edit('Completeness: 10', 'Completeness: 11'), 'out_of_range', /completeness is 11/],
    ['score in words', edit('Total: 7', 'Total: seven'), 'wrong_type', /total must be a number, got "seven"/],
    ['phone score 2.5', edit('phones 2 1 0', 'phones 2 2.5 0'), 'out_of_range', /word 2 phones\[1\] \(AO1 of "CALL"\) is 2.5/],
    ['stress 8', edit('stress 5', 'stress 8'), 'out_of_range', /word 4 \("BEAR"\) stress is 8, expected 5 or 10/],
    ['word missing', edit('Word IT: accuracy 10, stress 10, total 10; phones 2 2\n', ''), 'word_mismatch', /word 3 is "BEAR", expected "IT"/],
    ['extra word', edit('Rationale:', 'Word EXTRA: accuracy 1, stress 5, total 1; phones 1\nRationale:'), 'word_mismatch', /scores 5 word\(s\), the reference text has 4/],
    ['last word missing', edit('Word BEAR: accuracy 8, stress 5, total 8; phones 2 1.5 2\n', ''), 'word_mismatch', /scores 3 word\(s\)/],
    ['phone count', edit('phones 2 1 0', 'phones 2 1'), 'phone_count', /word 2 phones has 2 phone score\(s\) for "CALL", expected 3/],
    ['unreadable word line', edit('accuracy 6, stress 10', 'accuracy six, stress 10'), 'malformed', /cannot read the scores of "CALL"/],
  ])('%s → MODEL_OUTPUT_INVALID (%s)', (_name, text, reason, message) => {
    const err = failure(text, 'lines');
    expect(err.extensions.reason).toBe(reason);
    expect(err.message).toMatch(message);
  });

  test('a JSON response is refused when the bundle says lines (no guessing)', () => {
    expect(failure(JSON.stringify(GOOD_JSON), 'lines').extensions.reason).toBe('malformed');
  });

  // No wall-clock bound (timed assertions measure the machine): a regex that backtracks
  // catastrophically on 5,000 characters would not finish within the test's timeout.
  test('a pathological phone list is rejected (no regex blow-up)', () => {
    expect(failure(edit('phones 2 1 0', `phones ${'2'.repeat(5000)}x`), 'lines').extensions.reason).toBe('malformed');
  });
});

describe('rubric responses (the paper\'s format)', () => {
  const RATIONALE = 'Mostly clear. "CALL" is mispronounced: the /ɔ/ vowel is accented\nand the final L is missing.';
  const edit = (from: string, to: string) => {
    expect(GOOD_RUBRIC).toContain(from);
    return GOOD_RUBRIC.replace(from, to);
  };
  const rubricFailure = (text: string): AppError => {
    try {
      parseResponse(text, WORDS, 'rubric');
    } catch (e) {
      expect(e).toBeInstanceOf(AppError);
      expect((e as AppError).code).toBe('MODEL_OUTPUT_INVALID');
      expect((e as AppError).extensions.rawOutput).toBe(text);
      return e as AppError;
    }
    throw new Error(`expected ${JSON.stringify(text.slice(0, 60))} to be refused`);
  };

  test('a well-formed response maps labels to the platform scales, derives what the format lacks, and names the rules', () => {
    expect(parseResponse(GOOD_RUBRIC, WORDS, 'rubric')).toEqual({ labels: EXPECTED_RUBRIC_LABELS, rationale: RATIONALE });
  });

  test('without a Word Stress line, stress is null (not produced), never invented', () => {
    const { labels } = parseResponse(edit('Word Stress: WE/Correct CALL/Correct IT/Correct BEAR/Incorrect\n', ''), WORDS, 'rubric');
    expect(labels.words.map((w) => w.stress)).toEqual([null, null, null, null]);
    expect(labels.words.map((w) => w.accuracy)).toEqual([10, 3, 10, 8]);
  });

  test('Poor and Fair are Bad and Average; the rationale may follow without the Verdict cue (the paper\'s README form)', () => {
    const text = edit('CALL/Bad', 'CALL/Poor').replace('Prosody: Average', 'Prosody: Fair').replace('Verdict: ', '');
    const parsed = parseResponse(text, WORDS, 'rubric');
    expect(parsed.labels).toEqual(EXPECTED_RUBRIC_LABELS);
    expect(parsed.rationale).toBe(RATIONALE);
  });

  test('completeness: a Worst word lowers the derived completeness; a manifest may require it produced instead', () => {
    const worst = edit('BEAR/Good', 'BEAR/Worst');
    expect(parseResponse(worst, WORDS, 'rubric').labels.sentence.completeness).toBe(8); // round(10 * 3/4)
    const rubric = validateRubric({ completeness: 'produced', total: 'produced', scales: { total: { Worst: 0, Bad: 3, Average: 5, Good: 7, Excellent: 9 } } });
    const produced = edit('Prosody: Average', 'Prosody: Average\nCompleteness: Good\nTotal: Good');
    const { labels } = parseResponse(produced, WORDS, 'rubric', rubric);
    expect(labels.sentence).toMatchObject({ completeness: 9, total: 7 });
    expect(labels.derived).toEqual({ wordTotal: 'word_accuracy' });
    const err = (() => {
      try {
        parseResponse(GOOD_RUBRIC, WORDS, 'rubric', rubric);
      } catch (e) {
        return e as AppError;
      }
      throw new Error('expected a refusal');
    })();
    expect(err.extensions.reason).toBe('missing_field');
    expect(err.message).toMatch(/missing line\(s\): Completeness, Total/);
  });

  test('every default label value is labelled back as the label it came from', () => {
    const scales = validateRubric(undefined).scales;
    const platform = { accuracy: 'SENTENCE_ACCURACY', fluency: 'FLUENCY', prosody: 'PROSODY', completeness: 'COMPLETENESS', total: 'SENTENCE_TOTAL', word: 'WORD_ACCURACY', phoneme: 'PHONEME' } as const;
    for (const [scale, values] of Object.entries(scales)) {
      for (const [label, value] of Object.entries(values)) {
        expect([scale, proficiencyLabel(platform[scale as keyof typeof platform], value as number)]).toEqual([scale, label.toUpperCase()]);
      }
    }
  });

  test.each<[string, string, string, RegExp]>([
    ['missing Fluency line', edit('Fluency: Excellent\n', ''), 'missing_field', /missing line\(s\): Fluency/],
    ['missing Phonemes line', edit(/Phonemes: .*\n/.exec(GOOD_RUBRIC)![0], ''), 'missing_field', /missing line\(s\): Phonemes/],
    ['missing Verdict', GOOD_RUBRIC.split('\nVerdict:')[0]!, 'missing_field', /Verdict is missing/],
    ['empty Verdict', GOOD_RUBRIC.split('\nVerdict:')[0]! + '\nVerdict:  ', 'missing_field', /Verdict is empty/],
    ['unknown sentence label', edit('Fluency: Excellent', 'Fluency: Superb'), 'unknown_label', /Fluency has the unknown label "Superb"/],
    ['a number instead of a label', edit('Accuracy: Good', 'Accuracy: 8'), 'unknown_label', /Accuracy has the unknown label "8"/],
    ['unknown word label', edit('IT/Excellent', 'IT/Great'), 'unknown_label', /Words item IT has the unknown label "Great"/],
    ['unknown stress label', edit('BEAR/Incorrect', 'BEAR/Wrong'), 'unknown_label', /Word Stress item BEAR has the unknown label "Wrong"/],
    ['one phoneme too few', edit(' ɹ/Excellent', ''), 'phone_count', /Phonemes has 9 label\(s\), the target phonemes are 10/],
    ['one phoneme too many', edit('ɹ/Excellent', 'ɹ/Excellent ɹ/Good'), 'phone_count', /Phonemes has 11 label\(s\)/],
    ['a phoneme that is not the target', edit('ɔ/Average', 'æ/Average'), 'phone_mismatch', /Phonemes item 4 is \/æ\/, expected the target phoneme AO/],
    ['one word too few', edit(' BEAR/Good', ''), 'word_mismatch', /Words has 3 word\(s\), the reference text has 4/],
    ['words out of order', edit('WE/Excellent CALL/Bad', 'CALL/Bad WE/Excellent'), 'word_mismatch', /Words word 1 is "CALL", expected "WE"/],
    ['stress for too few words', edit(' BEAR/Incorrect', ''), 'word_mismatch', /Word Stress has 3 word\(s\)/],
    ['an item without a label', edit('IT/Excellent', 'IT'), 'malformed', /Words item 3 "IT" is not TOKEN\/Label/],
    ['a line given twice', edit('Prosody: Average', 'Prosody: Average\nProsody: Good'), 'malformed', /"Prosody" is given twice/],
    ['prose before the labels', 'The speaker did well.\n' + GOOD_RUBRIC, 'malformed', /line 1 is not a labelled line/],
    ['a Completeness line the manifest derives', edit('Prosody: Average', 'Prosody: Average\nCompleteness: Good'), 'malformed', /Completeness given, but the manifest derives them/],
    ['JSON instead', JSON.stringify(GOOD_JSON), 'malformed', /line 1 is not a labelled line/],
  ])('%s → MODEL_OUTPUT_INVALID', (_name, text, reason, message) => {
    const err = rubricFailure(text);
    expect(err.extensions.reason).toBe(reason);
    expect(err.message).toMatch(message);
  });
});
