/**
 * Pronunciation lexicons: the dataset's own (lexicon/speechocean762.txt, verbatim), with the
 * canonical pronunciation of multi-entry words taken from lexicon/speechocean762.preferred.txt
 * (see lexicon/README.md for why the first entry is not used).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { isPhone } from './phones.js';

export interface Lexicon {
  /** Where it was loaded from ("<inline>" for parseLexicon). */
  readonly path: string;
  /** Number of distinct words. */
  readonly size: number;
  /** Canonical phones (ARPAbet, stress digits as in the file) of an upper-case word, or undefined. */
  lookup(word: string): readonly string[] | undefined;
  /** All listed pronunciations, in file order ([] when absent). */
  pronunciations(word: string): readonly (readonly string[])[];
  has(word: string): boolean;
}

function parseEntries(text: string, where: string): Map<string, string[][]> {
  const entries = new Map<string, string[][]>();
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, n) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    const [word, ...phones] = line.split(/\s+/);
    if (!word || phones.length === 0 || !phones.every(isPhone)) {
      throw new Error(`${where}:${n + 1}: malformed lexicon line ${JSON.stringify(raw)}`);
    }
    const key = word.toUpperCase();
    const list = entries.get(key) ?? [];
    if (!list.some((p) => p.join(' ') === phones.join(' '))) list.push(phones);
    entries.set(key, list);
  });
  return entries;
}

/**
 * Build a lexicon from "WORD<TAB>PH ON ES" lines (blank lines and "#" comments, whole-line or
 * trailing, skipped). The canonical
 * pronunciation of a word is its `preferred` entry (same line format) when that is one of its
 * pronunciations, else its first. Throws on a malformed line or an unknown phone.
 */
export function parseLexicon(text: string, preferredText?: string, where = '<inline>'): Lexicon {
  const entries = parseEntries(text, where);
  const canonical = new Map<string, readonly string[]>();
  for (const [w, prons] of entries) canonical.set(w, Object.freeze([...prons[0]!]));
  if (preferredText !== undefined) {
    for (const [w, prons] of parseEntries(preferredText, `${where} (preferred)`)) {
      const want = prons[0]!.join(' ');
      const match = entries.get(w)?.find((p) => p.join(' ') === want);
      if (match) canonical.set(w, Object.freeze([...match]));
    }
  }
  const frozen = new Map<string, readonly (readonly string[])[]>(
    [...entries].map(([w, prons]) => [w, Object.freeze(prons.map((p) => Object.freeze([...p])))]),
  );
  return {
    path: where,
    size: entries.size,
    lookup: (word) => canonical.get(word.toUpperCase()),
    pronunciations: (word) => frozen.get(word.toUpperCase()) ?? [],
    has: (word) => canonical.has(word.toUpperCase()),
  };
}

/** lexicon/speechocean762.txt, found from this module whether run from src/ or a build in dist/. */
export const DEFAULT_LEXICON_PATH: string = (() => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [
    path.resolve(here, '../../lexicon/speechocean762.txt'),
    path.resolve(here, '../../../lexicon/speechocean762.txt'),
    path.resolve(process.cwd(), 'lexicon/speechocean762.txt'),
  ];
  return candidates.find((p) => existsSync(p)) ?? candidates[0]!;
})();

/** "x/speechocean762.txt" → "x/speechocean762.preferred.txt". */
export function preferredPathFor(lexiconPath: string): string {
  return lexiconPath.replace(/(\.txt)?$/, '.preferred.txt');
}

const cache = new Map<string, Lexicon>();

/**
 * Load (once per resolved path, then cached) a lexicon file, with its sibling `.preferred.txt`
 * applied when present. Throws if the file is missing or malformed.
 */
export function loadLexicon(lexiconPath: string = DEFAULT_LEXICON_PATH): Lexicon {
  const resolved = path.resolve(lexiconPath);
  const hit = cache.get(resolved);
  if (hit) return hit;
  const text = readFileSync(resolved, 'utf8');
  const prefPath = preferredPathFor(resolved);
  const pref = existsSync(prefPath) ? readFileSync(prefPath, 'utf8') : undefined;
  const lex = parseLexicon(text, pref, resolved);
  cache.set(resolved, lex);
  return lex;
}
