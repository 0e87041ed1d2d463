/**
 * The "rubric" response format: the one the paper's SpeechLLM (Aditya3107/speechllm-l2-assessment,
 * multi_granularity/utils.py) is trained to write, read as its parser reads it but strictly:
 *
 *   Accuracy: Good
 *   Fluency: Excellent
 *   Prosody: Excellent
 *   Words: WE/Excellent CALL/Good IT/Excellent BEAR/Average
 *   Word Stress: WE/Correct CALL/Correct IT/Correct BEAR/Incorrect      (optional)
 *   Phonemes: w/Excellent i/Excellent k/Good ɔ/Average …                (IPA, one per target phoneme)
 *   Verdict: free-text rationale …
 *
 * Labels are mapped to the platform's scales by the manifest's `rubric.scales`; completeness, total
 * and word totals, which the format lacks, are produced (optional `Completeness:`/`Total:` lines,
 * when the manifest says "produced") or derived by the rule the manifest names, and reported as
 * derived. Word stress is null when the `Word Stress` line is absent.
 */
import { ipaToArpabet, stripStress } from '../../text/phones.js';
import type { AssessmentLabels, DerivedRules, ReferenceWord, WordScore } from '../../types.js';
import { RUBRIC_LABELS, type LabelValues, type RubricConfig, type RubricLabel } from './config.js';
import { Invalid, type ParsedResponse } from './invalid.js';

/** Label spellings the paper's LABEL2ID accepts, lower-cased. */
const LABEL_SYNONYMS: Readonly<Record<string, RubricLabel>> = {
  worst: 'Worst',
  bad: 'Bad',
  poor: 'Bad',
  average: 'Average',
  fair: 'Average',
  good: 'Good',
  excellent: 'Excellent',
};
const STRESS_LABELS: Readonly<Record<string, 5 | 10>> = { correct: 10, incorrect: 5 };

const SENTENCE_KEYS = ['accuracy', 'fluency', 'prosody', 'completeness', 'total'] as const;
type SentenceKey = (typeof SENTENCE_KEYS)[number];
type SequenceKey = 'words' | 'word stress' | 'phonemes';
const LABELLED_LINE = /^(accuracy|fluency|prosody|completeness|total|words|word\s+stress|phonemes|verdict)\s*:\s*(.*)$/i;

function readLabel(raw: string, where: string): RubricLabel {
  const label = LABEL_SYNONYMS[raw.trim().replace(/[.,;]$/, '').toLowerCase()];
  if (!label) throw new Invalid('unknown_label', `${where} has the unknown label ${JSON.stringify(raw.trim())} (labels: ${RUBRIC_LABELS.join(', ')}; Poor = Bad, Fair = Average)`, where);
  return label;
}

/** "WE/Excellent CALL/Good" → [["WE", "Excellent"], …]; the label is after the last slash, as the paper's parser reads it. */
function readPairs(body: string, where: string): [string, string][] {
  const items = body.trim().split(/\s+/).filter(Boolean);
  return items.map((item, i) => {
    const cut = item.lastIndexOf('/');
    if (cut <= 0 || cut === item.length - 1) throw new Invalid('malformed', `${where} item ${i + 1} ${JSON.stringify(item)} is not TOKEN/Label`, where);
    return [item.slice(0, cut), item.slice(cut + 1)];
  });
}

function checkWords(pairs: [string, string][], words: readonly ReferenceWord[], where: string): void {
  if (pairs.length !== words.length) {
    throw new Invalid('word_mismatch', `${where} has ${pairs.length} word(s), the reference text has ${words.length} (${words.map((w) => w.text).join(' ')})`, where);
  }
  pairs.forEach(([text], i) => {
    if (text.toUpperCase() !== words[i]!.text) {
      throw new Invalid('word_mismatch', `${where} word ${i + 1} is ${JSON.stringify(text)}, expected "${words[i]!.text}" (words must follow the reference text in order)`, where);
    }
  });
}

/** Phoneme labels, one per target phoneme in order, each IPA symbol the same sound as its target. */
function readPhonemes(body: string, words: readonly ReferenceWord[], scale: LabelValues): number[] {
  const pairs = readPairs(body, 'Phonemes');
  const targets = words.flatMap((w) => w.phones);
  if (pairs.length !== targets.length) {
    throw new Invalid('phone_count', `Phonemes has ${pairs.length} label(s), the target phonemes are ${targets.length}`, 'Phonemes');
  }
  return pairs.map(([symbol, label], i) => {
    const sound = ipaToArpabet(symbol);
    const want = stripStress(targets[i]!);
    if (!sound || sound.length !== 1 || sound[0] !== want) {
      throw new Invalid('phone_mismatch', `Phonemes item ${i + 1} is /${symbol}/, expected the target phoneme ${want}`, 'Phonemes');
    }
    return scale[readLabel(label, `Phonemes item ${i + 1} (/${symbol}/)`)];
  });
}

interface RubricLines {
  sentence: Partial<Record<SentenceKey, string>>;
  sequences: Partial<Record<SequenceKey, string>>;
  rationale?: string;
}

/** Split the response into its labelled lines and the rationale (after `Verdict:`, or the free text after the last labelled line). */
function splitLines(text: string): RubricLines {
  const lines = text.trim().split(/\r?\n/);
  const out: RubricLines = { sentence: {}, sequences: {} };
  const seen = new Set<string>();
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (!line) continue;
    const m = LABELLED_LINE.exec(line);
    if (!m) {
      // the README form: the rationale follows the labels without the `Verdict:` cue
      if (out.sequences.phonemes !== undefined) {
        out.rationale = lines.slice(n).join('\n');
        break;
      }
      throw new Invalid('malformed', `line ${n + 1} is not a labelled line: ${JSON.stringify(line.slice(0, 80))}`);
    }
    const key = m[1]!.toLowerCase().replace(/\s+/, ' ');
    if (key === 'verdict') {
      out.rationale = [m[2]!, ...lines.slice(n + 1)].join('\n');
      break;
    }
    if (seen.has(key)) throw new Invalid('malformed', `line ${n + 1}: "${m[1]}" is given twice`, key);
    seen.add(key);
    if ((SENTENCE_KEYS as readonly string[]).includes(key)) out.sentence[key as SentenceKey] = m[2]!;
    else out.sequences[key as SequenceKey] = m[2]!;
  }
  return out;
}

const title = (k: string): string => k.replace(/(^|\s)[a-z]/g, (c) => c.toUpperCase());

/** Parse a rubric response against the reference words (throws Invalid). */
export function parseRubric(text: string, words: readonly ReferenceWord[], rubric: RubricConfig): ParsedResponse {
  const { sentence: s, sequences, rationale } = splitLines(text);
  const required = ['accuracy', 'fluency', 'prosody', ...(rubric.completeness === 'produced' ? ['completeness'] : []), ...(rubric.total === 'produced' ? ['total'] : [])];
  const missing = [...required.filter((k) => s[k as SentenceKey] === undefined), ...(['words', 'phonemes'] as const).filter((k) => sequences[k] === undefined)];
  if (missing.length) throw new Invalid('missing_field', `missing line(s): ${missing.map(title).join(', ')}`, missing[0]);
  const extra = (['completeness', 'total'] as const).filter((k) => s[k] !== undefined && rubric[k] !== 'produced');
  if (extra.length) throw new Invalid('malformed', `line(s) ${extra.map(title).join(', ')} given, but the manifest derives them (rubric.${extra[0]} = "${rubric[extra[0]!]}")`, extra[0]);

  const value = (k: SentenceKey): number => rubric.scales[k][readLabel(s[k]!, title(k))];
  const wordPairs = readPairs(sequences.words!, 'Words');
  checkWords(wordPairs, words, 'Words');
  const wordLabels = wordPairs.map(([w, l]) => readLabel(l, `Words item ${w}`));
  let stress: (5 | 10 | null)[] = words.map(() => null);
  if (sequences['word stress'] !== undefined) {
    const pairs = readPairs(sequences['word stress'], 'Word Stress');
    checkWords(pairs, words, 'Word Stress');
    stress = pairs.map(([w, l]) => {
      const v = STRESS_LABELS[l.trim().toLowerCase()];
      if (v === undefined) throw new Invalid('unknown_label', `Word Stress item ${w} has the unknown label ${JSON.stringify(l)} (Correct or Incorrect)`, 'Word Stress');
      return v;
    });
  }
  const phones = readPhonemes(sequences.phonemes!, words, rubric.scales.phoneme);
  if (rationale === undefined || !rationale.trim()) throw new Invalid('missing_field', rationale === undefined ? 'Verdict is missing' : 'Verdict is empty', 'Verdict');

  const accuracy = value('accuracy');
  const fluency = value('fluency');
  const prosody = value('prosody');
  const derived: DerivedRules = { wordTotal: rubric.wordTotal };
  let completeness: number;
  if (rubric.completeness === 'produced') completeness = value('completeness');
  else {
    // words_not_worst: the share of words not labelled Worst ("hard to distinguish or mostly missed"), 0-10
    completeness = Math.round((10 * wordLabels.filter((l) => l !== 'Worst').length) / words.length);
    derived.completeness = rubric.completeness;
  }
  let total: number;
  if (rubric.total === 'produced') total = value('total');
  else {
    total = Math.round((accuracy + fluency + prosody) / 3);
    derived.total = rubric.total;
  }
  let next = 0;
  const out: WordScore[] = words.map((w, i) => {
    const acc = rubric.scales.word[wordLabels[i]!];
    return {
      text: w.text,
      accuracy: acc,
      stress: stress[i]!,
      total: acc, // word_accuracy: the only per-word score the format has
      phonemes: w.phones.map((symbol) => ({ symbol, accuracy: phones[next++]! })),
    };
  });
  const labels: AssessmentLabels = { sentence: { accuracy, fluency, prosody, completeness, total }, words: out, derived };
  return { labels, rationale: rationale.trim() };
}
