/**
 * `npm run parse-response -- --format rubric|json|lines --reference "WE CALL IT BEAR"
 *   [--phonemes "w i k ɔ l ɪ t b ɛ ɹ"] [--manifest path/to/manifest.json]`
 *
 * Reads one model response on standard input and prints one JSON line: the labels on the
 * platform's scales and the rationale (`{"labels":…,"rationale":…}`), or
 * `{"error":"MODEL_OUTPUT_INVALID","reason":…,"message":…}` (exit status 1). It is the parser the
 * worker runs (src/inference/generative/parse.ts), for people exporting their own models.
 *
 * Target phonemes come from the platform's lexicon unless --phonemes gives them: space-separated
 * IPA (the paper's form) or ARPAbet, one per phoneme, grouped into words by the lexicon's count per
 * word, or by "|" between words. --manifest reads a bundle's `generative.rubric` (label values,
 * derivation rules); without it the defaults apply. Usage errors exit with status 2.
 */
import { readFileSync } from 'node:fs';
import { AppError } from '../src/errors.js';
import { RESPONSE_FORMATS, validateRubric, type ResponseFormat, type RubricConfig } from '../src/inference/generative/config.js';
import { parseResponse } from '../src/inference/generative/parse.js';
import { ipaToArpabet, isPhone, stripStress } from '../src/text/phones.js';
import { analyzeReferenceText } from '../src/text/reference.js';
import type { ReferenceWord } from '../src/types.js';

class UsageError extends Error {}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = process.argv[i + 1];
  if (v === undefined || v.startsWith('--')) throw new UsageError(`--${name} needs a value`);
  return v;
}

/** One phoneme, IPA or ARPAbet, as the ARPAbet symbol to score (the lexicon's, with its stress digit, when it is the same sound). */
function toPhone(token: string, lexiconPhone: string | undefined): string {
  const upper = token.toUpperCase();
  const base = isPhone(upper) ? stripStress(upper) : ipaToArpabet(token)?.length === 1 ? ipaToArpabet(token)![0]! : undefined;
  if (!base) throw new UsageError(`--phonemes: ${JSON.stringify(token)} is not one IPA or ARPAbet phoneme`);
  if (isPhone(upper) && upper !== base) return upper; // ARPAbet with its own stress digit
  return lexiconPhone && stripStress(lexiconPhone) === base ? lexiconPhone : base;
}

/** The reference words with the given target phonemes (or the lexicon's). */
function targetWords(reference: string, phonemes: string | undefined): ReferenceWord[] {
  const words = analyzeReferenceText(reference);
  if (words.length === 0) throw new UsageError('--reference has no words');
  if (phonemes === undefined) return words;
  const groups = phonemes.includes('|') ? phonemes.split('|').map((g) => g.trim().split(/\s+/).filter(Boolean)) : undefined;
  const flat = phonemes.replace(/\|/g, ' ').trim().split(/\s+/).filter(Boolean);
  if (groups && groups.length !== words.length) throw new UsageError(`--phonemes has ${groups.length} word group(s), the reference has ${words.length} word(s)`);
  const lexiconCount = words.reduce((n, w) => n + w.phones.length, 0);
  if (!groups && flat.length !== lexiconCount) {
    throw new UsageError(`--phonemes has ${flat.length} phoneme(s), the lexicon gives ${lexiconCount} for these words; separate words with "|" to group them yourself`);
  }
  let next = 0;
  return words.map((w, i) => {
    const tokens = groups ? groups[i]! : flat.slice(next, (next += w.phones.length));
    return { ...w, phones: tokens.map((t, j) => toPhone(t, w.phones[j])) };
  });
}

function readStdin(): string {
  return readFileSync(0, 'utf8');
}

function main(): number {
  let format: ResponseFormat;
  let words: ReferenceWord[];
  let rubric: RubricConfig;
  try {
    const f = arg('format') ?? 'rubric';
    if (!RESPONSE_FORMATS.includes(f as ResponseFormat)) throw new UsageError(`--format must be one of ${RESPONSE_FORMATS.join(', ')}`);
    format = f as ResponseFormat;
    const reference = arg('reference');
    if (!reference) throw new UsageError('--reference "THE REFERENCE TEXT" is required');
    words = targetWords(reference, arg('phonemes'));
    const manifest = arg('manifest');
    rubric = validateRubric(manifest ? (JSON.parse(readFileSync(manifest, 'utf8')) as { generative?: { rubric?: unknown } }).generative?.rubric : undefined);
  } catch (e) {
    console.error(`parse-response: ${e instanceof Error ? e.message : String(e)}`);
    return 2;
  }
  try {
    const { labels, rationale } = parseResponse(readStdin(), words, format, rubric);
    console.log(JSON.stringify({ labels, rationale }));
    return 0;
  } catch (e) {
    if (!(e instanceof AppError) || e.code !== 'MODEL_OUTPUT_INVALID') throw e;
    console.log(JSON.stringify({ error: e.code, reason: e.extensions.reason, message: e.message }));
    return 1;
  }
}

process.exitCode = main();
