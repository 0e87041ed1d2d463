/**
 * The CMU ARPAbet phone set (39 phones, stress stripped) and its mapping to and from IPA.
 *
 * `PHONES` order is part of the model contract: model inputs and outputs use the index of a phone in
 * this list. Never reorder or extend it; it is the alphabetical CMU order.
 */

export const PHONES = [
  'AA', 'AE', 'AH', 'AO', 'AW', 'AY', 'B', 'CH', 'D', 'DH', 'EH', 'ER', 'EY', 'F', 'G', 'HH',
  'IH', 'IY', 'JH', 'K', 'L', 'M', 'N', 'NG', 'OW', 'OY', 'P', 'R', 'S', 'SH', 'T', 'TH',
  'UH', 'UW', 'V', 'W', 'Y', 'Z', 'ZH',
] as const;
export type Phone = (typeof PHONES)[number];

/** The 15 vowels (the phones that carry a stress digit). */
export const VOWELS: ReadonlySet<Phone> = new Set<Phone>([
  'AA', 'AE', 'AH', 'AO', 'AW', 'AY', 'EH', 'ER', 'EY', 'IH', 'IY', 'OW', 'OY', 'UH', 'UW',
]);

const PHONE_INDEX: ReadonlyMap<string, number> = new Map(PHONES.map((p, i) => [p, i]));

/** "IY0" → "IY"; "TH" → "TH". Only a trailing 0/1/2 is removed; the case is kept. */
export function stripStress(p: string): string {
  return p.replace(/[012]$/, '');
}

/** True for a phone of the 39-phone set, with or without a stress digit ("IY0", "IY", "TH"). */
export function isPhone(p: string): boolean {
  return PHONE_INDEX.has(stripStress(p));
}

export function isVowel(p: string): boolean {
  return VOWELS.has(stripStress(p) as Phone);
}

/** Index of the phone in PHONES (stress ignored: "IY0" and "IY" give the same id). Throws on unknown. */
export function phoneId(p: string): number {
  const id = PHONE_INDEX.get(stripStress(p));
  if (id === undefined) throw new RangeError(`Unknown ARPAbet phone: ${JSON.stringify(p)}`);
  return id;
}

/** Broad (General American) IPA for each ARPAbet phone. AH is /ʌ/ (/ə/ when unstressed, see arpabetToIpa). */
export const ARPABET_TO_IPA: Readonly<Record<Phone, string>> = {
  AA: 'ɑ', AE: 'æ', AH: 'ʌ', AO: 'ɔ', AW: 'aʊ', AY: 'aɪ', B: 'b', CH: 'tʃ', D: 'd', DH: 'ð',
  EH: 'ɛ', ER: 'ɝ', EY: 'eɪ', F: 'f', G: 'ɡ', HH: 'h', IH: 'ɪ', IY: 'i', JH: 'dʒ', K: 'k',
  L: 'l', M: 'm', N: 'n', NG: 'ŋ', OW: 'oʊ', OY: 'ɔɪ', P: 'p', R: 'ɹ', S: 's', SH: 'ʃ',
  T: 't', TH: 'θ', UH: 'ʊ', UW: 'u', V: 'v', W: 'w', Y: 'j', Z: 'z', ZH: 'ʒ',
};

/**
 * IPA for one ARPAbet phone. With a stress digit, unstressed AH0 is /ə/ and ER0 /ɚ/; otherwise
 * ARPABET_TO_IPA. Throws on an unknown phone.
 */
export function arpabetToIpa(p: string): string {
  if (p === 'AH0') return 'ə';
  if (p === 'ER0') return 'ɚ';
  const base = stripStress(p);
  if (!PHONE_INDEX.has(base)) throw new RangeError(`Unknown ARPAbet phone: ${JSON.stringify(p)}`);
  return ARPABET_TO_IPA[base as Phone];
}

/**
 * IPA symbols (and common variants: British, narrow, ASCII-ish, tie bars) → ARPAbet (no stress).
 * Multi-character keys are matched before their prefixes (longest match first).
 */
export const IPA_TO_ARPABET: Readonly<Record<string, Phone>> = (() => {
  const m: Record<string, Phone> = {};
  for (const p of PHONES) m[ARPABET_TO_IPA[p]] = p;
  const variants: Record<string, Phone> = {
    // vowels
    'ɑ': 'AA', 'ɒ': 'AA', 'a': 'AA', 'ä': 'AA',
    'æ': 'AE',
    'ʌ': 'AH', 'ə': 'AH', 'ɐ': 'AH',
    'ɔ': 'AO',
    'aʊ': 'AW', 'aʊ̯': 'AW', 'ɑʊ': 'AW', 'au': 'AW',
    'aɪ': 'AY', 'aɪ̯': 'AY', 'ɑɪ': 'AY', 'ai': 'AY', 'ʌɪ': 'AY',
    'ɛ': 'EH', 'e': 'EY',
    'ɝ': 'ER', 'ɚ': 'ER', 'ɜ': 'ER', 'ɜɹ': 'ER', 'ɜr': 'ER', 'ɜ˞': 'ER', 'ə˞': 'ER',
    'eɪ': 'EY', 'eɪ̯': 'EY', 'ei': 'EY',
    'ɪ': 'IH', 'ᵻ': 'IH',
    'i': 'IY',
    'oʊ': 'OW', 'oʊ̯': 'OW', 'əʊ': 'OW', 'ou': 'OW', 'o': 'OW',
    'ɔɪ': 'OY', 'ɔɪ̯': 'OY', 'ɔi': 'OY', 'oɪ': 'OY',
    'ʊ': 'UH',
    'u': 'UW', 'ʉ': 'UW',
    // consonants
    'b': 'B',
    'tʃ': 'CH', 't͡ʃ': 'CH', 't͜ʃ': 'CH', 'ʧ': 'CH',
    'd': 'D', 'ð': 'DH', 'f': 'F', 'ɡ': 'G', 'g': 'G', 'h': 'HH',
    'dʒ': 'JH', 'd͡ʒ': 'JH', 'd͜ʒ': 'JH', 'ʤ': 'JH',
    'k': 'K', 'l': 'L', 'ɫ': 'L', 'm': 'M', 'n': 'N', 'ŋ': 'NG', 'p': 'P',
    'ɹ': 'R', 'r': 'R', 'ɾ': 'T', 's': 'S', 'ʃ': 'SH', 't': 'T', 'θ': 'TH', 'v': 'V',
    'w': 'W', 'j': 'Y', 'z': 'Z', 'ʒ': 'ZH',
  };
  return { ...m, ...variants };
})();

const IPA_KEYS_LONGEST_FIRST = Object.keys(IPA_TO_ARPABET).sort((a, b) => b.length - a.length);
/** Marks that carry no segment: stress, length, syllable breaks, syllabicity, aspiration, slashes/brackets, spaces. */
const IPA_IGNORED = /[ˈˌ'ːˑ.\u0329\u030D\u032F\u0361\u035C\u02B0\u02B7\u02DE\u0306\u0303/[\]\s]/u;

/**
 * IPA string → ARPAbet phones without stress, greedy longest match ("θ" → ["TH"],
 * "/ˈθɪŋk/" → ["TH","IH","NG","K"]). Stress, length and syllable marks, slashes and spaces are
 * ignored. Returns null if any segment is not recognised, or nothing is left.
 */
export function ipaToArpabet(ipa: string): Phone[] | null {
  const s = ipa.normalize('NFC');
  const out: Phone[] = [];
  let i = 0;
  outer: while (i < s.length) {
    for (const key of IPA_KEYS_LONGEST_FIRST) {
      if (s.startsWith(key, i)) {
        out.push(IPA_TO_ARPABET[key]!);
        i += key.length;
        continue outer;
      }
    }
    if (IPA_IGNORED.test(s[i]!)) {
      i += 1;
      continue;
    }
    return null;
  }
  return out.length > 0 ? out : null;
}
