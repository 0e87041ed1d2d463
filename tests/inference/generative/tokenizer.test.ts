import { describe, expect, test } from '@jest/globals';
import { loadTokenizer, Tokenizer, TokenizerError } from '../../../src/inference/generative/tokenizer.js';
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

  test('loadTokenizer reports invalid JSON', () => {
    expect(() => loadTokenizer('{nope')).toThrow(/tokenizer.json is not valid JSON/);
  });
});
