/**
 * Parse a generative model's response text into labels + rationale, validating it strictly against
 * the reference words (see README.md in this folder for both formats). Nothing is clamped, rounded
 * into range or defaulted: any problem is AppError('MODEL_OUTPUT_INVALID') with a precise message,
 * `reason`, and the raw text in `rawOutput`, so the job is stored as failed with the text kept.
 */
import type { ReferenceWord, SentenceScores, WordScore } from '../../types.js';
import { DEFAULT_RUBRIC, type ResponseFormat, type RubricConfig } from './config.js';
import { Invalid, invalidResponse, type ParsedResponse } from './invalid.js';
import { parseRubric } from './rubric.js';

export { invalidResponse, type InvalidReason, type ParsedResponse } from './invalid.js';

export const SENTENCE_FIELDS = ['accuracy', 'fluency', 'prosody', 'completeness', 'total'] as const;

// ---------------------------------------------------------------- value checks

function integerIn(value: unknown, where: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new Invalid('wrong_type', `${where} must be a number, got ${JSON.stringify(value)}`, where);
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Invalid('out_of_range', `${where} is ${value}, expected an integer from ${min} to ${max}`, where);
  }
  return value;
}

function stressValue(value: unknown, where: string): 5 | 10 {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new Invalid('wrong_type', `${where} must be a number, got ${JSON.stringify(value)}`, where);
  }
  if (value !== 5 && value !== 10) throw new Invalid('out_of_range', `${where} is ${value}, expected 5 or 10`, where);
  return value;
}

function phoneValue(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new Invalid('wrong_type', `${where} must be a number, got ${JSON.stringify(value)}`, where);
  }
  if (value < 0 || value > 2) throw new Invalid('out_of_range', `${where} is ${value}, expected a number from 0 to 2`, where);
  return Math.round(value * 10) / 10;
}

function wordLabel(w: ReferenceWord): string {
  return `"${w.text}"`;
}

function checkWordText(got: unknown, ref: ReferenceWord, i: number, where: string): void {
  if (typeof got !== 'string') throw new Invalid('wrong_type', `${where}.text must be a string, got ${JSON.stringify(got)}`, `${where}.text`);
  if (got.trim().toUpperCase() !== ref.text) {
    throw new Invalid('word_mismatch', `word ${i + 1} is ${JSON.stringify(got)}, expected ${wordLabel(ref)} (words must follow the reference text in order)`, `${where}.text`);
  }
}

function checkPhones(values: unknown[], ref: ReferenceWord, where: string): WordScore['phonemes'] {
  if (values.length !== ref.phones.length) {
    throw new Invalid(
      'phone_count',
      `${where} has ${values.length} phone score(s) for ${wordLabel(ref)}, expected ${ref.phones.length} (${ref.phones.join(' ')})`,
      where,
    );
  }
  return values.map((v, j) => ({ symbol: ref.phones[j]!, accuracy: phoneValue(v, `${where}[${j}] (${ref.phones[j]} of ${wordLabel(ref)})`) }));
}

function checkWordCount(n: number, words: readonly ReferenceWord[]): void {
  if (n !== words.length) {
    throw new Invalid(
      'word_mismatch',
      `the response scores ${n} word(s), the reference text has ${words.length} (${words.map((w) => w.text).join(' ')})`,
      'words',
    );
  }
}

function checkRationale(value: unknown, where: string): string {
  if (value === undefined || value === null) throw new Invalid('missing_field', `${where} is missing`, where);
  if (typeof value !== 'string') throw new Invalid('wrong_type', `${where} must be a string, got ${JSON.stringify(value)}`, where);
  const r = value.trim();
  if (!r) throw new Invalid('missing_field', `${where} is empty`, where);
  return r;
}

// ---------------------------------------------------------------- JSON

/** Strip surrounding whitespace and one optional Markdown code fence (```json … ```). */
function unfence(text: string): string {
  const t = text.trim();
  const m = /^```[a-zA-Z]*[ \t]*\r?\n([\s\S]*?)\r?\n?```$/.exec(t);
  return m ? m[1]!.trim() : t;
}

function has(o: Record<string, unknown>, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, k) && o[k] !== undefined;
}

function parseJson(text: string, words: readonly ReferenceWord[]): ParsedResponse {
  const body = unfence(text);
  if (!body.startsWith('{')) throw new Invalid('malformed', `expected a JSON object, the response starts with ${JSON.stringify(body.slice(0, 40))}`);
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch (e) {
    throw new Invalid('malformed', `the response is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw new Invalid('malformed', 'the response is not a JSON object');
  const o = data as Record<string, unknown>;
  const missing = [...SENTENCE_FIELDS, 'words', 'rationale'].filter((k) => !has(o, k));
  if (missing.length) throw new Invalid('missing_field', `missing field(s): ${missing.join(', ')}`, missing[0]);
  const sentence = Object.fromEntries(SENTENCE_FIELDS.map((k) => [k, integerIn(o[k], k, 0, 10)])) as unknown as SentenceScores;
  if (!Array.isArray(o.words)) throw new Invalid('wrong_type', `words must be an array, got ${JSON.stringify(o.words)?.slice(0, 40)}`, 'words');
  checkWordCount(o.words.length, words);
  const out: WordScore[] = o.words.map((raw, i) => {
    const where = `words[${i}]`;
    const ref = words[i]!;
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Invalid('wrong_type', `${where} must be an object`, where);
    const w = raw as Record<string, unknown>;
    const absent = ['text', 'accuracy', 'stress', 'total', 'phones'].filter((k) => !has(w, k));
    if (absent.length) throw new Invalid('missing_field', `${where} (${wordLabel(ref)}) is missing field(s): ${absent.join(', ')}`, `${where}.${absent[0]}`);
    checkWordText(w.text, ref, i, where);
    if (!Array.isArray(w.phones)) throw new Invalid('wrong_type', `${where}.phones must be an array of numbers`, `${where}.phones`);
    return {
      text: ref.text,
      accuracy: integerIn(w.accuracy, `${where}.accuracy`, 0, 10),
      stress: stressValue(w.stress, `${where}.stress`),
      total: integerIn(w.total, `${where}.total`, 0, 10),
      phonemes: checkPhones(w.phones, ref, `${where}.phones`),
    };
  });
  return { labels: { sentence, words: out }, rationale: checkRationale(o.rationale, 'rationale') };
}

// ---------------------------------------------------------------- labelled lines

const NUM = String.raw`[-+]?\d+(?:\.\d+)?`;
const SENTENCE_LINE = /^(accuracy|fluency|prosody|completeness|total)\s*:\s*(.*)$/i;
const WORD_LINE = /^word\s+(.+?)\s*:\s*(.*)$/i;
const WORD_BODY = new RegExp(
  String.raw`^accuracy\s*:?\s*(${NUM})\s*,\s*stress\s*:?\s*(${NUM})\s*,\s*total\s*:?\s*(${NUM})\s*[;,]\s*phones\s*:?\s*((?:${NUM}(?:[\s,]+${NUM})*)?)$`,
  'i',
);
const RATIONALE_LINE = /^rationale\s*:\s*([\s\S]*)$/i;

function lineNumber(value: string, where: string): number {
  if (!new RegExp(`^${NUM}$`).test(value)) throw new Invalid('wrong_type', `${where} must be a number, got ${JSON.stringify(value)}`, where);
  return Number(value);
}

function parseLines(text: string, words: readonly ReferenceWord[]): ParsedResponse {
  const lines = unfence(text).split(/\r?\n/);
  const sentence: Partial<Record<(typeof SENTENCE_FIELDS)[number], number>> = {};
  const out: WordScore[] = [];
  let rationale: string | undefined;
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (!line) continue;
    const where = `line ${n + 1}`;
    const r = RATIONALE_LINE.exec(line);
    if (r) {
      // the rationale is the rest of the response, which may span several lines
      rationale = [r[1]!, ...lines.slice(n + 1)].join('\n');
      break;
    }
    const s = SENTENCE_LINE.exec(line);
    if (s) {
      const key = s[1]!.toLowerCase() as (typeof SENTENCE_FIELDS)[number];
      if (sentence[key] !== undefined) throw new Invalid('malformed', `${where}: "${s[1]}" is given twice`, key);
      sentence[key] = integerIn(lineNumber(s[2]!.trim(), key), key, 0, 10);
      continue;
    }
    const w = WORD_LINE.exec(line);
    if (w) {
      const i = out.length;
      const wherew = `word ${i + 1}`;
      const ref = words[i];
      if (!ref) checkWordCount(i + 1 + lines.slice(n + 1).filter((l) => WORD_LINE.test(l.trim())).length, words);
      checkWordText(w[1]!, ref!, i, wherew);
      const body = WORD_BODY.exec(w[2]!.trim());
      if (!body) {
        throw new Invalid(
          'malformed',
          `${where}: cannot read the scores of ${wordLabel(ref!)} from ${JSON.stringify(w[2])} (expected "accuracy N, stress N, total N; phones N N …")`,
          wherew,
        );
      }
      const phones = body[4]!.split(/[\s,]+/).filter(Boolean).map(Number);
      out.push({
        text: ref!.text,
        accuracy: integerIn(Number(body[1]), `${wherew} (${wordLabel(ref!)}) accuracy`, 0, 10),
        stress: stressValue(Number(body[2]), `${wherew} (${wordLabel(ref!)}) stress`),
        total: integerIn(Number(body[3]), `${wherew} (${wordLabel(ref!)}) total`, 0, 10),
        phonemes: checkPhones(phones, ref!, `${wherew} phones`),
      });
      continue;
    }
    throw new Invalid('malformed', `${where} is not a labelled line: ${JSON.stringify(line.slice(0, 80))}`);
  }
  const missing = SENTENCE_FIELDS.filter((k) => sentence[k] === undefined);
  if (missing.length) throw new Invalid('missing_field', `missing line(s): ${missing.map((k) => k[0]!.toUpperCase() + k.slice(1)).join(', ')}`, missing[0]);
  checkWordCount(out.length, words);
  return { labels: { sentence: sentence as SentenceScores, words: out }, rationale: checkRationale(rationale, 'Rationale') };
}

// ---------------------------------------------------------------- entry point

/**
 * Parse and validate a response. Throws AppError('MODEL_OUTPUT_INVALID') with extensions
 * { reason, rawOutput: text, path? } on any problem.
 */
export function parseResponse(text: string, words: readonly ReferenceWord[], format: ResponseFormat, rubric: RubricConfig = DEFAULT_RUBRIC): ParsedResponse {
  if (!text.trim()) throw invalidResponse('empty', 'the response is empty', text);
  try {
    if (format === 'rubric') return parseRubric(unfence(text), words, rubric);
    return format === 'json' ? parseJson(text, words) : parseLines(text, words);
  } catch (e) {
    if (e instanceof Invalid) throw invalidResponse(e.reason, e.message, text, e.path ? { path: e.path } : {});
    throw e;
  }
}
