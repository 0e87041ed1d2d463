import { describe, expect, test } from '@jest/globals';
import { byteLevelAlphabet, loadTokenizer, Tokenizer, TokenizerError } from '../../../src/inference/generative/tokenizer.js';
import { BOS, EOS, SPECIAL, TOKENIZER, tokenizerJson } from './fixtures.js';

describe('byte-level BPE tokenizer (tokenizer.json subset)', () => {
  test('round-trips ASCII, JSON and multi-byte UTF-8 text', () => {
    for (const text of ['Rate the pronunciation of: WE CALL IT BEAR', '{"accuracy":8,"words":[]}', 'the /θ/ and /ɔ/ sounds — ok\n  next line']) {
      expect(TOKENIZER.decode(TOKENIZER.encode(text))).toBe(text);
    }
  });

  test('applies merges by rank (a + cc → acc) and byte-level spaces (Ġt, Ġto)', () => {
    const ids = TOKENIZER.encode('acc to');
    const tokens = ids.map((id) => TOKENIZER.decode([id]));
    expect(tokens).toEqual(['acc', ' to']);
    expect(TOKENIZER.tokenId('acc')).toBeDefined();
    expect(ids).toEqual([TOKENIZER.tokenId('acc'), TOKENIZER.tokenId('Ġto')]);
  });

  test('added tokens in the text become their ids; special ones are dropped when decoding unless asked', () => {
    const ids = TOKENIZER.encode(`${SPECIAL.bos}hi${SPECIAL.eos}`);
    expect(ids[0]).toBe(BOS);
    expect(ids.at(-1)).toBe(EOS);
    expect(TOKENIZER.decode(ids)).toBe('hi');
    expect(TOKENIZER.decode(ids, { keepSpecial: true })).toBe('<s>hi</s>');
    expect(TOKENIZER.isSpecial(EOS)).toBe(true);
  });

  test('an unknown id decodes as a visible marker', () => {
    expect(TOKENIZER.hasId(99999)).toBe(false);
    expect(TOKENIZER.decode([...TOKENIZER.encode('ab'), 99999])).toBe('ab<unk:99999>');
  });

  test('WordLevel model with a Whitespace pre-tokenizer and unk_token', () => {
    const t = new Tokenizer({
      model: { type: 'WordLevel', vocab: { '[UNK]': 0, accuracy: 1, ':': 2, '8': 3 }, unk_token: '[UNK]' },
      pre_tokenizer: { type: 'Whitespace' },
      added_tokens: [{ id: 4, content: '</s>', special: true }],
    });
    expect(t.encode('accuracy: 8 zebra</s>')).toEqual([1, 2, 3, 0, 4]);
    expect(t.decode([1, 2, 3, 4])).toBe('accuracy : 8');
  });

  test('a symbol outside the vocab without unk_token is refused', () => {
    const t = new Tokenizer({ model: { type: 'BPE', vocab: { a: 0, b: 1 }, merges: [] } });
    expect(t.encode('ab')).toEqual([0, 1]);
    expect(() => t.encode('abc')).toThrow(/cannot encode "c"/);
  });

  test.each([
    [{ model: { type: 'Unigram', vocab: [] } }, /model type "Unigram" is not supported/],
    [{ ...tokenizerJson(), pre_tokenizer: { type: 'Metaspace' } }, /pre_tokenizer of type "Metaspace" is not supported/],
    [{ ...tokenizerJson(), normalizer: { type: 'BertNormalizer' } }, /normalizer of type "BertNormalizer"/],
    [{ model: { type: 'BPE', vocab: { a: 0 }, byte_fallback: true } }, /byte_fallback/],
    [{ ...tokenizerJson(), decoder: { type: 'Sequence', decoders: [{ type: 'Replace' }, { type: 'ByteFallback' }] } }, /decoder of type "Replace" is not supported/],
    [{ model: { type: 'BPE', vocab: { a: 0 }, merges: [['a']] } }, /merges\[0\] is not a pair/],
  ])('unsupported tokenizer.json features are refused at load (%#)', (json, message) => {
    expect(() => new Tokenizer(json)).toThrow(TokenizerError);
    expect(() => new Tokenizer(json)).toThrow(message);
  });

  describe("Qwen2's pre-tokenizer: Split with its own regex (Isolated), then ByteLevel without the GPT-2 regex", () => {
    /** As in Qwen2 / Qwen2-Audio's tokenizer.json. */
    const QWEN2_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    // merges that join symbols only when Qwen2's split keeps them in one piece (GPT-2's would not)
    const merges: [string, string][] = [['"', 'W'], ["'", 'S'], ['1', '2']];
    function qwen2(preTokenizer: unknown = {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: QWEN2_PATTERN }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
      ],
    }): Tokenizer {
      const vocab: Record<string, number> = {};
      byteLevelAlphabet().forEach((c, i) => (vocab[c] = i));
      merges.forEach(([a, b], i) => (vocab[a + b] = 256 + i));
      return new Tokenizer({ model: { type: 'BPE', vocab, merges: merges.map((m) => m.join(' ')) }, normalizer: { type: 'NFC' }, pre_tokenizer: preTokenizer, decoder: { type: 'ByteLevel' } });
    }
    const pieces = (t: Tokenizer, text: string) => t.encode(text).map((id) => t.decode([id]));

    test('a punctuation mark joins the word after it, digits stand alone, contractions match in any case', () => {
      const t = qwen2();
      expect(pieces(t, '"WE')).toEqual(['"W', 'E']);
      expect(pieces(t, '12')).toEqual(['1', '2']);
      expect(pieces(t, "IT'S")).toEqual(['I', 'T', "'S"]);
      for (const text of ['Transcript: "WE CALL IT BEAR"\nTarget Phonemes: w i k ɔ l', "it's 12 o'clock\r\n\n  x"]) expect(t.decode(t.encode(text))).toBe(text);
    });

    test("GPT-2's pattern would split them the other way (the pre-tokenizer is not approximated)", () => {
      const gpt2 = qwen2({ type: 'ByteLevel', add_prefix_space: false, use_regex: true });
      expect(pieces(gpt2, '"WE')).toEqual(['"', 'W', 'E']);
      expect(pieces(gpt2, '12')).toEqual(['12']);
      expect(pieces(gpt2, "IT'S")).toEqual(['I', 'T', "'", 'S']);
    });

    test.each([
      [{ type: 'Split', pattern: { Regex: '\\s+' }, behavior: 'Removed', invert: false }, /behavior "Removed" is not supported/],
      [{ type: 'Split', pattern: { Regex: '\\s+' }, behavior: 'Isolated', invert: true }, /inverted/],
      [{ type: 'Split', pattern: { Regex: '(?i)abc' }, behavior: 'Isolated' }, /flag group/],
      [{ type: 'Split', pattern: { Regex: '(?i:[a-z])' }, behavior: 'Isolated' }, /group .* is not supported/],
      [{ type: 'Split', pattern: { Regex: '\\p{Nope}' }, behavior: 'Isolated' }, /Split regex .* is not supported/],
      [{ type: 'Split', behavior: 'Isolated' }, /needs a "pattern"/],
    ])('a Split it cannot read as tokenizers does is refused (%#)', (node, message) => {
      expect(() => qwen2(node)).toThrow(TokenizerError);
      expect(() => qwen2(node)).toThrow(message);
    });
  });

  test('loadTokenizer reports invalid JSON', () => {
    expect(() => loadTokenizer('{nope')).toThrow(/tokenizer.json is not valid JSON/);
  });
});
