import { readFileSync } from 'node:fs';
import { DEFAULT_LEXICON_PATH, loadLexicon, parseLexicon, preferredPathFor } from '../../src/text/lexicon.js';
import { PHONES, stripStress } from '../../src/text/phones.js';

// lexicon/ is in the repository: these tests never skip.
describe('dataset lexicon (lexicon/speechocean762.txt)', () => {
  const lex = loadLexicon();

  test('loads the verbatim SpeechOcean762 lexicon', () => {
    expect(DEFAULT_LEXICON_PATH).toMatch(/lexicon[\\/]speechocean762\.txt$/);
    const lines = readFileSync(DEFAULT_LEXICON_PATH, 'utf8').split('\n').filter((l) => l.trim() !== '');
    expect(lines).toHaveLength(2861);
    expect(lex.size).toBe(2604);
    const multi = [...new Set(lines.map((l) => l.split('\t')[0]!))].filter((w) => lex.pronunciations(w).length > 1);
    expect(multi).toHaveLength(242);
  });

  test('is cached', () => {
    expect(loadLexicon()).toBe(lex);
    expect(loadLexicon(DEFAULT_LEXICON_PATH)).toBe(lex);
  });

  test('every phone is in the 39-phone set', () => {
    const set = new Set<string>(PHONES);
    for (const line of readFileSync(DEFAULT_LEXICON_PATH, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const [word, phones] = line.split('\t');
      for (const p of phones!.split(' ')) expect([word, set.has(stripStress(p))]).toEqual([word, true]);
    }
  });

  test('every preferred entry is one of the word\'s listed pronunciations', () => {
    const pref = readFileSync(preferredPathFor(DEFAULT_LEXICON_PATH), 'utf8');
    let n = 0;
    for (const line of pref.split('\n')) {
      const body = line.replace(/#.*$/, '').trim();
      if (!body) continue;
      const [word, ...phones] = body.split(/\s+/);
      expect(lex.pronunciations(word!).map((p) => p.join(' '))).toContain(phones.join(' '));
      expect(lex.lookup(word!)).toEqual(phones);
      n++;
    }
    expect(n).toBe(242);
  });

  test('canonical pronunciations', () => {
    expect(lex.lookup('THEME')).toEqual(['TH', 'IY0', 'M']);
    expect(lex.lookup('theme')).toEqual(['TH', 'IY0', 'M']); // case-insensitive
    expect(lex.lookup('TO')).toEqual(['T', 'UW0']); // preferred over the first-listed T AH0
    expect(lex.pronunciations('TO')).toEqual([['T', 'AH0'], ['T', 'UW0']]);
    expect(lex.lookup("DON'T")).toBeDefined();
    expect(lex.lookup('ZORBLAX')).toBeUndefined();
    expect(lex.has('ZORBLAX')).toBe(false);
    expect(lex.pronunciations('ZORBLAX')).toEqual([]);
  });
});

describe('parseLexicon', () => {
  test('first entry is canonical unless a preferred one is given', () => {
    const text = 'READ\tR IY1 D\nREAD\tR EH1 D\n# comment\n\nCAT K AE1 T\n';
    expect(parseLexicon(text).lookup('READ')).toEqual(['R', 'IY1', 'D']);
    expect(parseLexicon(text, 'READ\tR EH1 D  # note\n').lookup('READ')).toEqual(['R', 'EH1', 'D']);
    // a preferred pronunciation not listed for the word is ignored
    expect(parseLexicon(text, 'READ\tR AA1 D\n').lookup('READ')).toEqual(['R', 'IY1', 'D']);
    expect(parseLexicon(text).lookup('cat')).toEqual(['K', 'AE1', 'T']);
  });

  test('rejects malformed lines and unknown phones', () => {
    expect(() => parseLexicon('WORD\n')).toThrow(/malformed/);
    expect(() => parseLexicon('WORD\tQQ1\n')).toThrow(/malformed/);
  });

  test('lookups return frozen arrays', () => {
    const lex = parseLexicon('CAT\tK AE1 T\n');
    expect(Object.isFrozen(lex.lookup('CAT'))).toBe(true);
  });
});
