/**
 * One-pass tokenizer for rationale text. A single precompiled regex splits the text into words,
 * quoted spans, slash/bracket phonemes, IPA letters, "N/10" scores and boundaries, so later stages
 * never re-scan the string.
 */

export type TokenKind = 'word' | 'quote' | 'phon' | 'ipa' | 'score' | 'sep' | 'eos';

export interface Token {
  kind: TokenKind;
  /** Original text (quote: its content; phon: between the slashes; score: the number). */
  text: string;
  /** Lower-case text for lexicon look-ups (words only; '' otherwise). */
  lower: string;
  /** True for a word that starts its sentence (capitalisation there is not a signal). */
  initial: boolean;
}

// Order matters: abbreviations before sentence ends, slash phonemes before "N/10" scores.
const TOKEN_RE = new RegExp(
  [
    String.raw`(\b(?:e\.g|i\.e|etc|vs)\.)`,
    String.raw`\/([^\s\/\d][^\s\/]{0,4})\/`,
    String.raw`\[([^\]\s\d][^\]\s]{0,3})\]`,
    String.raw`"([^"\s](?:[^"\n]{0,78}[^"\s])?)"`,
    String.raw`(?<![A-Za-z0-9])'([^'\s](?:[^'\n]{0,78}?[^'\s])?)'(?![A-Za-z0-9])`,
    String.raw`(\d+(?:\.\d+)?)\s*(?:\/|out of)\s*10\b`,
    String.raw`([A-Za-z]+[0-2]?(?:'[A-Za-z]+)*)`,
    String.raw`((?:tʃ|dʒ|eɪ|aɪ|ɔɪ|aʊ|oʊ|əʊ|[θðʃʒŋɹæɑɒɔʊʌəɜɝɚɪɛʧʤ])ː?)`,
    String.raw`([.!?;\n]+)`,
    String.raw`([,()—–:]|\s-\s|^\s*[-*•]\s)`,
  ].join('|'),
  'gmu',
);

/** Curly quotes to straight ones, so one regex handles both. */
const CURLY_RE = /[‘’“”]/g;
const CURLY: Record<string, string> = { '‘': "'", '’': "'", '“': '"', '”': '"' };

export function tokenize(text: string): Token[] {
  const src = text.replace(CURLY_RE, (c) => CURLY[c] ?? c);
  const out: Token[] = [];
  let atStart = true;
  TOKEN_RE.lastIndex = 0;
  for (let m = TOKEN_RE.exec(src); m !== null; m = TOKEN_RE.exec(src)) {
    const tok = toToken(m, atStart);
    if (!tok) continue;
    out.push(tok);
    if (tok.kind === 'eos') atStart = true;
    else if (tok.kind !== 'sep') atStart = false;
  }
  return out;
}

/** Capture groups of TOKEN_RE, in order. */
const G = { abbr: 1, slash: 2, bracket: 3, dq: 4, sq: 5, score: 6, word: 7, ipa: 8, eos: 9 } as const;

function toToken(m: RegExpExecArray, atStart: boolean): Token | undefined {
  if (m[G.word] !== undefined) return { kind: 'word', text: m[G.word]!, lower: m[G.word]!.toLowerCase(), initial: atStart };
  // "e.g." introduces examples of a sound (analyse.ts); "i.e.", "etc." are neither words nor sentence ends
  if (m[G.abbr] !== undefined) return m[G.abbr] === 'e.g.' ? { kind: 'word', text: 'e.g.', lower: 'e.g.', initial: atStart } : undefined;
  if (m[G.sq] !== undefined) return { kind: 'quote', text: m[G.sq]!, lower: '', initial: atStart };
  if (m[G.dq] !== undefined) return { kind: 'quote', text: m[G.dq]!, lower: '', initial: atStart };
  if (m[G.slash] !== undefined) return { kind: 'phon', text: m[G.slash]!, lower: '', initial: false };
  if (m[G.bracket] !== undefined) return { kind: 'phon', text: m[G.bracket]!, lower: '', initial: false };
  if (m[G.ipa] !== undefined) return { kind: 'ipa', text: m[G.ipa]!, lower: '', initial: false };
  if (m[G.score] !== undefined) return { kind: 'score', text: m[G.score]!, lower: '', initial: false };
  if (m[G.eos] !== undefined) return { kind: 'eos', text: '', lower: '', initial: false };
  return { kind: 'sep', text: '', lower: '', initial: false };
}
