/** Phoneme spellings a rationale may use, all mapped to ARPAbet without stress. */
import { ipaToArpabet, PHONES, stripStress } from '../text/phones.js';

export { stripStress };

export const ARPABET: ReadonlySet<string> = new Set(PHONES);

/** Two-letter ARPAbet vowels/consonants that are safe to read as phonemes when written bare in UPPER-CASE. */
export const BARE_ARPABET: ReadonlySet<string> = new Set([...ARPABET].filter((p) => p.length === 2));

/** One IPA segment ("θ", "iː", "/ʃ/") as ARPAbet, through the shared IPA table in src/text/phones.ts. */
function ipaSegment(s: string): string | undefined {
  const phones = ipaToArpabet(s);
  return phones?.length === 1 ? phones[0] : undefined;
}

/** Letter spellings used in prose: "the th sound", "/ch/", "the 'r' sound". */
const GRAPHEMES: Record<string, string> = {
  th: 'TH', sh: 'SH', ch: 'CH', ng: 'NG', zh: 'ZH', dh: 'DH', j: 'JH', h: 'HH', ee: 'IY',
  b: 'B', d: 'D', f: 'F', g: 'G', k: 'K', l: 'L', m: 'M', n: 'N', p: 'P', r: 'R', s: 'S', t: 'T', v: 'V', w: 'W',
  y: 'Y', z: 'Z',
};
const GRAPHEME_MAP: ReadonlyMap<string, string> = new Map(Object.entries(GRAPHEMES));

const STRESS_RE = /^([A-Za-z]{1,2})([012])$/;

/** ARPAbet symbol without stress for a phoneme spelling, or undefined when it is not one. */
export function toArpabet(raw: string): string | undefined {
  const s = raw.trim();
  if (s.length === 0 || s.length > 4) return undefined;
  const stressed = STRESS_RE.exec(s);
  if (stressed) {
    // A stress digit only makes sense on ARPAbet ("IY1", "ah0").
    const base = stressed[1]!.toUpperCase();
    return ARPABET.has(base) ? base : undefined;
  }
  const upper = s.toUpperCase();
  if (s === upper && ARPABET.has(upper)) return upper;
  const ipa = /[a-z]/.test(s) && s === s.toLowerCase() && s.length === 1 ? undefined : ipaSegment(s);
  if (ipa) return ipa;
  const g = GRAPHEME_MAP.get(s.toLowerCase());
  if (g) return g;
  return ARPABET.has(upper) ? upper : undefined;
}

/** Only prose-letter spellings ("th", "sh", "r"), for "the th sound" patterns. */
export function graphemeToArpabet(raw: string): string | undefined {
  return GRAPHEME_MAP.get(raw.toLowerCase());
}


/** Short articulation tips for the generator, keyed by ARPAbet without stress. */
export const PRACTICE_TIPS: Readonly<Record<string, string>> = {
  TH: 'place the tongue tip lightly between the teeth and let air pass out without voicing',
  DH: 'put the tongue tip between the teeth and add voice, so it buzzes gently',
  R: 'curl the tongue tip back a little without touching the roof of the mouth',
  L: 'touch the tongue tip to the ridge behind the upper teeth',
  V: 'rest the upper teeth on the lower lip and keep the voice on',
  W: 'round the lips tightly, then open them into the vowel',
  Z: 'keep the tongue as for an s and add voice',
  S: 'keep the tongue close to the ridge behind the teeth and push a thin stream of air',
  SH: 'round the lips slightly and pull the tongue back from the teeth',
  ZH: 'shape the mouth as for a sh and add voice',
  CH: 'start with the tongue pressed as for a t, then release into a sh',
  JH: 'start as for a d, then release into a voiced sh',
  NG: 'raise the back of the tongue to the soft palate and let the sound go through the nose',
  HH: 'breathe out gently before the vowel, with the mouth already in its shape',
  IY: 'spread the lips and hold the long, tense vowel a little longer',
  IH: 'relax the tongue and keep the vowel short',
  AE: 'open the jaw wide and spread the lips',
  EH: 'open the mouth halfway and keep the vowel short',
  AH: 'relax the mouth completely and keep the vowel short',
  AA: 'drop the jaw and keep the tongue low and back',
  AO: 'round the lips and keep the tongue back',
  UW: 'round the lips firmly and hold the long vowel',
  UH: 'round the lips loosely and keep the vowel short',
  ER: 'pull the tongue back and keep the r colour through the vowel',
  EY: 'glide from an open e towards a long ee',
  AY: 'glide from an open ah towards a long ee',
  OW: 'start with rounded lips and glide towards oo',
  AW: 'start with an open jaw and close towards oo',
  OY: 'start with rounded lips and glide to a long ee',
  T: 'tap the tongue tip on the ridge behind the upper teeth and release a short puff of air',
  D: 'tap the tongue tip on the ridge behind the teeth with voice',
  P: 'close the lips and release a puff of air',
  B: 'close the lips and release with voice',
  K: 'lift the back of the tongue and release a puff of air',
  G: 'lift the back of the tongue and release with voice',
  F: 'rest the upper teeth on the lower lip and blow air without voice',
  M: 'close the lips and hum',
  N: 'touch the ridge behind the teeth and let the air go through the nose',
  Y: 'start with the tongue high, as for ee, and glide into the vowel',
};
