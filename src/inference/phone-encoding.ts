/**
 * The canonical phones of a reference text as model inputs. Mirrors scripts/train/model.py
 * `phone_inputs` (keep the two in step).
 */
import { AppError, badInput } from '../errors.js';
import { phoneId, stripStress, VOWELS, type Phone } from '../text/phones.js';
import type { ReferenceWord } from '../types.js';

export interface EncodedPhones {
  phoneIds: BigInt64Array;
  phoneStress: BigInt64Array;
  phoneWordPosition: BigInt64Array;
  /** [W, P] row-major */
  wordMembership: Float32Array;
  nPhones: number;
  nWords: number;
}

/**
 * Stress class of a canonical phone: 0 consonant; 1, 2, 3 vowel with stress digit 0, 1, 2;
 * 4 vowel without a digit. Word position: 0 one-phone word, 1 initial, 2 internal, 3 final.
 */
export function encodePhones(words: readonly ReferenceWord[]): EncodedPhones {
  const P = words.reduce((n, w) => n + w.phones.length, 0);
  const W = words.length;
  const phoneIds = new BigInt64Array(P);
  const phoneStress = new BigInt64Array(P);
  const phoneWordPosition = new BigInt64Array(P);
  const wordMembership = new Float32Array(W * P);
  let k = 0;
  words.forEach((w, wi) => {
    const n = w.phones.length;
    w.phones.forEach((p, j) => {
      let id: number;
      try {
        id = phoneId(p);
      } catch {
        throw badInput(`Reference word "${w.text}" has an unknown phone ${JSON.stringify(p)}.`, 'input.referenceText', { word: w.text, phone: p });
      }
      const base = stripStress(p) as Phone;
      const digit = p.at(-1);
      const stress = !VOWELS.has(base) ? 0 : digit === '0' || digit === '1' || digit === '2' ? 1 + Number(digit) : 4;
      phoneIds[k] = BigInt(id);
      phoneStress[k] = BigInt(stress);
      phoneWordPosition[k] = BigInt(n === 1 ? 0 : j === 0 ? 1 : j === n - 1 ? 3 : 2);
      wordMembership[wi * P + k] = 1;
      k++;
    });
  });
  return { phoneIds, phoneStress, phoneWordPosition, wordMembership, nPhones: P, nWords: W };
}

/** The encoded phones, refusing a reference with nothing to score. */
export function encodeReference(words: readonly ReferenceWord[]): EncodedPhones {
  const enc = encodePhones(words);
  if (enc.nWords === 0 || enc.nPhones === 0) {
    throw new AppError('EMPTY_REFERENCE_TEXT', 'The reference text has no words with known pronunciations to score.');
  }
  return enc;
}
