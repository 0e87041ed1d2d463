/** The failure every response parser throws, turned into AppError('MODEL_OUTPUT_INVALID') by parseResponse. */
import { AppError } from '../../errors.js';
import type { AssessmentLabels } from '../../types.js';

export type InvalidReason =
  | 'truncated' // no stop token before maxNewTokens
  | 'unknown_token' // the decoder emitted an id the tokenizer does not know
  | 'empty' // nothing but whitespace
  | 'malformed' // not parseable in the expected format
  | 'missing_field' // a required field or line is absent
  | 'wrong_type' // a field of the wrong type (e.g. a string where a number is needed)
  | 'out_of_range' // a number outside its scale (or not an integer where one is needed)
  | 'word_mismatch' // word list differs from the reference words (count, order or text)
  | 'phone_count' // a word's phone scores differ in number from its canonical phones
  | 'phone_mismatch' // rubric: a phoneme symbol is not the target phoneme at its position
  | 'unknown_label'; // rubric: a label that is not one of the rubric's

export interface ParsedResponse {
  labels: AssessmentLabels;
  rationale: string;
}

export function invalidResponse(reason: InvalidReason, message: string, rawOutput: string, extra: Record<string, unknown> = {}): AppError {
  return new AppError('MODEL_OUTPUT_INVALID', `The model produced an invalid response: ${message}`, { reason, rawOutput, ...extra });
}

export class Invalid extends Error {
  constructor(
    readonly reason: InvalidReason,
    message: string,
    readonly path?: string,
  ) {
    super(message);
  }
}

