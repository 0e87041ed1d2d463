/**
 * A small subset of the Hugging Face `tokenizers` JSON format (tokenizer.json), enough for the
 * generative bundle's decoder: see README.md in this folder for exactly what is supported.
 *
 * - model: `BPE` (merges optional; without merges every symbol must be in the vocab) or `WordLevel`.
 * - byte-level: a `ByteLevel` pre-tokenizer or decoder (GPT-2 / Qwen style) maps UTF-8 bytes to the
 *   printable characters of the GPT-2 byte table; decoding maps them back.
 * - pre_tokenizer: null, ByteLevel, Whitespace, WhitespaceSplit, Split (a regex, "Isolated"), or a
 *   Sequence of them: Qwen2's is Split with its own regex, then ByteLevel without the GPT-2 regex.
 * - normalizer: null, NFC, NFD, NFKC, NFKD, Lowercase (or a Sequence of them).
 * - added_tokens: matched verbatim in the text before the model runs (so a prompt template can
 *   contain `<|im_start|>`); `special: true` ones are dropped when decoding a response.
 * Anything else is refused at load (TokenizerError), never silently approximated.
 */

export class TokenizerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenizerError';
  }
}

interface AddedToken {
  id: number;
  content: string;
  special: boolean;
}

/** 'bytes': a ByteLevel pre-tokenizer with use_regex false (it splits nothing; bytes are mapped in bpe()). */
type PreTokenizer = 'bytelevel' | 'bytes' | 'whitespace' | 'whitespacesplit' | { split: RegExp };
type Normalizer = 'NFC' | 'NFD' | 'NFKC' | 'NFKD' | 'lowercase';

/** GPT-2's reversible byte → printable-character table. */
function byteTable(): { toChar: string[]; toByte: Map<string, number> } {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  const toChar: string[] = new Array(256);
  const toByte = new Map<string, number>();
  bs.forEach((b, i) => {
    const c = String.fromCodePoint(cs[i]!);
    toChar[b] = c;
    toByte.set(c, b);
  });
  return { toChar, toByte };
}
const BYTES = byteTable();

/**
 * A tokenizers (Oniguruma) regex as a JavaScript one. The only construct the two read differently
 * in the patterns BPE tokenizers use is the scoped case-insensitive group `(?i:…)` (Qwen2's
 * `(?i:'s|'t|'re|'ve|'m|'ll|'d)`), which Node's RegExp lacks: its letters become `[sS]` classes.
 * A group holding a character class or an escape, or any other inline flag, is refused.
 */
function splitRegex(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === '\\') {
      out += pattern.slice(i, i + 2);
      i++;
    } else if (pattern.startsWith('(?i:', i)) {
      const end = pattern.indexOf(')', i);
      const inner = pattern.slice(i + 4, end);
      if (end < 0 || /[\\[(]/.test(inner)) throw new TokenizerError(`tokenizer.json: Split regex group ${JSON.stringify(pattern.slice(i, end + 1))} is not supported`);
      out += `(?:${inner.replace(/[a-z]/gi, (c) => `[${c.toLowerCase()}${c.toUpperCase()}]`)})`;
      i = end;
    } else if (/^\(\?[a-z-]+[:)]/i.test(pattern.slice(i))) {
      throw new TokenizerError(`tokenizer.json: Split regex flag group at ${JSON.stringify(pattern.slice(i, i + 8))} is not supported`);
    } else out += pattern[i];
  }
  try {
    return new RegExp(out, 'gu');
  } catch (e) {
    throw new TokenizerError(`tokenizer.json: Split regex ${JSON.stringify(pattern)} is not supported (${e instanceof Error ? e.message : String(e)})`);
  }
}

/** Split's "Isolated" behaviour: every match is a piece, and so is the text between matches. */
function isolate(text: string, regex: RegExp): string[] {
  const pieces: string[] = [];
  let last = 0;
  for (const m of text.matchAll(regex)) {
    if (m[0] === '') continue;
    if (m.index! > last) pieces.push(text.slice(last, m.index));
    pieces.push(m[0]);
    last = m.index! + m[0].length;
  }
  if (last < text.length) pieces.push(text.slice(last));
  return pieces;
}

/** The GPT-2 pre-tokenisation pattern used by the ByteLevel pre-tokenizer (use_regex: true). */
const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

export class Tokenizer {
  readonly modelType: 'BPE' | 'WordLevel';
  readonly byteLevel: boolean;
  private readonly vocab = new Map<string, number>();
  private readonly idToToken = new Map<number, string>();
  private readonly added: AddedToken[] = [];
  private readonly addedById = new Map<number, AddedToken>();
  private readonly mergeRanks = new Map<string, number>();
  private readonly preTokenizers: PreTokenizer[] = [];
  private readonly normalizers: Normalizer[] = [];
  private readonly addPrefixSpace: boolean;
  private readonly unkToken: string | null;
  private readonly cache = new Map<string, number[]>();

  /** Parse a tokenizer.json document (already JSON-parsed). Throws TokenizerError. */
  constructor(json: unknown) {
    if (!isObject(json)) throw new TokenizerError('tokenizer.json is not a JSON object');
    const model = json.model;
    if (!isObject(model)) throw new TokenizerError('tokenizer.json: "model" must be an object');
    const type = model.type ?? (model.merges !== undefined ? 'BPE' : undefined);
    if (type !== 'BPE' && type !== 'WordLevel') {
      throw new TokenizerError(`tokenizer.json: model type ${JSON.stringify(model.type)} is not supported (supported: "BPE", "WordLevel")`);
    }
    this.modelType = type;
    if (!isObject(model.vocab)) throw new TokenizerError('tokenizer.json: "model.vocab" must be an object of token → id');
    for (const [tok, id] of Object.entries(model.vocab)) {
      if (!Number.isInteger(id) || (id as number) < 0) throw new TokenizerError(`tokenizer.json: vocab id of ${JSON.stringify(tok)} is not a non-negative integer`);
      this.vocab.set(tok, id as number);
      this.idToToken.set(id as number, tok);
    }
    if (this.vocab.size === 0) throw new TokenizerError('tokenizer.json: "model.vocab" is empty');
    this.unkToken = typeof model.unk_token === 'string' ? model.unk_token : null;
    if (this.unkToken !== null && !this.vocab.has(this.unkToken)) {
      throw new TokenizerError(`tokenizer.json: unk_token ${JSON.stringify(this.unkToken)} is not in the vocab`);
    }
    if (type === 'BPE') {
      for (const key of ['continuing_subword_prefix', 'end_of_word_suffix'] as const) {
        if (model[key]) throw new TokenizerError(`tokenizer.json: BPE "${key}" is not supported`);
      }
      if (model.byte_fallback) throw new TokenizerError('tokenizer.json: BPE "byte_fallback" is not supported');
      const merges = model.merges ?? [];
      if (!Array.isArray(merges)) throw new TokenizerError('tokenizer.json: "model.merges" must be an array');
      merges.forEach((m, rank) => {
        const pair = typeof m === 'string' ? m.split(' ') : m;
        if (!Array.isArray(pair) || pair.length !== 2 || pair.some((p) => typeof p !== 'string')) {
          throw new TokenizerError(`tokenizer.json: merges[${rank}] is not a pair of tokens`);
        }
        this.mergeRanks.set(`${pair[0]} ${pair[1]}`, rank);
      });
    }

    const added = json.added_tokens ?? [];
    if (!Array.isArray(added)) throw new TokenizerError('tokenizer.json: "added_tokens" must be an array');
    for (const [i, a] of added.entries()) {
      if (!isObject(a) || !Number.isInteger(a.id) || typeof a.content !== 'string' || a.content === '') {
        throw new TokenizerError(`tokenizer.json: added_tokens[${i}] needs an integer id and a non-empty content`);
      }
      const tok: AddedToken = { id: a.id as number, content: a.content, special: a.special === true };
      this.added.push(tok);
      this.addedById.set(tok.id, tok);
      this.idToToken.set(tok.id, tok.content);
      this.vocab.set(tok.content, tok.id);
    }
    // longest first, so "<|im_end|>" wins over a shorter added token that is its prefix
    this.added.sort((a, b) => b.content.length - a.content.length);

    let prefixSpace = false;
    const collect = (node: unknown, where: string): void => {
      if (node === null || node === undefined) return;
      if (!isObject(node)) throw new TokenizerError(`tokenizer.json: "${where}" must be an object or null`);
      switch (node.type) {
        case 'Sequence': {
          const list = (node.pretokenizers ?? node.decoders) as unknown;
          if (!Array.isArray(list)) throw new TokenizerError(`tokenizer.json: ${where} Sequence needs a list`);
          list.forEach((n, i) => collect(n, `${where}[${i}]`));
          return;
        }
        case 'ByteLevel':
          if (where.startsWith('pre_tokenizer')) {
            this.preTokenizers.push(node.use_regex === false ? 'bytes' : 'bytelevel');
            prefixSpace ||= node.add_prefix_space === true;
          }
          return;
        case 'Split': {
          if (!where.startsWith('pre_tokenizer')) break;
          const pattern = isObject(node.pattern) ? node.pattern : {};
          if (node.behavior !== 'Isolated' || node.invert === true) {
            throw new TokenizerError(`tokenizer.json: ${where} Split with behavior ${JSON.stringify(node.behavior)}${node.invert ? ' (inverted)' : ''} is not supported (only "Isolated")`);
          }
          if (typeof pattern.Regex === 'string') return void this.preTokenizers.push({ split: splitRegex(pattern.Regex) });
          if (typeof pattern.String === 'string' && pattern.String) {
            return void this.preTokenizers.push({ split: new RegExp(pattern.String.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gu') });
          }
          throw new TokenizerError(`tokenizer.json: ${where} Split needs a "pattern" with a Regex or String`);
        }
        case 'Whitespace':
          if (where.startsWith('pre_tokenizer')) return void this.preTokenizers.push('whitespace');
          break;
        case 'WhitespaceSplit':
          if (where.startsWith('pre_tokenizer')) return void this.preTokenizers.push('whitespacesplit');
          break;
      }
      throw new TokenizerError(`tokenizer.json: ${where} of type ${JSON.stringify(node.type)} is not supported`);
    };
    collect(json.pre_tokenizer, 'pre_tokenizer');
    const decoderTypes: string[] = [];
    const collectDecoder = (node: unknown): void => {
      if (!isObject(node)) return;
      if (node.type === 'Sequence' && Array.isArray(node.decoders)) node.decoders.forEach(collectDecoder);
      else decoderTypes.push(String(node.type));
    };
    collectDecoder(json.decoder);
    const unsupportedDecoder = decoderTypes.find((t) => t !== 'ByteLevel' && t !== 'Fuse');
    if (unsupportedDecoder) throw new TokenizerError(`tokenizer.json: decoder of type ${JSON.stringify(unsupportedDecoder)} is not supported`);
    this.byteLevel = this.preTokenizers.some((p) => p === 'bytelevel' || p === 'bytes') || decoderTypes.includes('ByteLevel');
    if (this.byteLevel && this.modelType !== 'BPE') throw new TokenizerError('tokenizer.json: byte-level needs a BPE model');
    this.addPrefixSpace = prefixSpace;

    const normalize = (node: unknown): void => {
      if (node === null || node === undefined) return;
      if (!isObject(node)) throw new TokenizerError('tokenizer.json: "normalizer" must be an object or null');
      if (node.type === 'Sequence' && Array.isArray(node.normalizers)) return node.normalizers.forEach(normalize);
      if (node.type === 'NFC' || node.type === 'NFD' || node.type === 'NFKC' || node.type === 'NFKD') return void this.normalizers.push(node.type);
      if (node.type === 'Lowercase') return void this.normalizers.push('lowercase');
      throw new TokenizerError(`tokenizer.json: normalizer of type ${JSON.stringify(node.type)} is not supported`);
    };
    normalize(json.normalizer);
  }

  get vocabSize(): number {
    return this.idToToken.size;
  }

  /** Id of a token (vocab entry or added token), or undefined. */
  tokenId(token: string): number | undefined {
    return this.vocab.get(token);
  }

  hasId(id: number): boolean {
    return this.idToToken.has(id);
  }

  isSpecial(id: number): boolean {
    return this.addedById.get(id)?.special === true;
  }

  /** Encode text into ids; added tokens in the text become their ids. Throws TokenizerError on a symbol outside the vocab (no unk_token). */
  encode(text: string): number[] {
    const ids: number[] = [];
    let rest = text;
    while (rest.length > 0) {
      // the earliest added token in the rest (longest at the same position)
      let at = -1;
      let hit: AddedToken | undefined;
      for (const a of this.added) {
        const i = rest.indexOf(a.content);
        if (i >= 0 && (at < 0 || i < at)) {
          at = i;
          hit = a;
        }
      }
      const plain = hit ? rest.slice(0, at) : rest;
      if (plain) ids.push(...this.encodePlain(plain));
      if (!hit) break;
      ids.push(hit.id);
      rest = rest.slice(at + hit.content.length);
    }
    return ids;
  }

  private encodePlain(text: string): number[] {
    let t = text;
    for (const n of this.normalizers) t = n === 'lowercase' ? t.toLowerCase() : t.normalize(n);
    let pieces = [t];
    for (const p of this.preTokenizers) {
      pieces = pieces.flatMap((s) => {
        if (typeof p === 'object') return isolate(s, p.split);
        if (p === 'whitespacesplit') return s.split(/\s+/).filter(Boolean);
        if (p === 'whitespace') return s.match(/\w+|[^\w\s]+/gu) ?? [];
        const withPrefix = this.addPrefixSpace && !s.startsWith(' ') ? ` ${s}` : s;
        return p === 'bytes' ? [withPrefix] : (withPrefix.match(GPT2_SPLIT) ?? []);
      });
    }
    if (this.preTokenizers.length === 0 && this.modelType === 'WordLevel') pieces = t.split(/\s+/).filter(Boolean);
    const ids: number[] = [];
    for (const piece of pieces) {
      if (this.modelType === 'WordLevel') ids.push(this.lookup(piece));
      else ids.push(...this.bpe(piece));
    }
    return ids;
  }

  private lookup(symbol: string): number {
    const id = this.vocab.get(symbol);
    if (id !== undefined) return id;
    if (this.unkToken !== null) return this.vocab.get(this.unkToken)!;
    throw new TokenizerError(`cannot encode ${JSON.stringify(symbol)}: not in the vocab and the tokenizer has no unk_token`);
  }

  private bpe(piece: string): number[] {
    const cached = this.cache.get(piece);
    if (cached) return cached;
    let symbols = this.byteLevel
      ? Array.from(new TextEncoder().encode(piece), (b) => BYTES.toChar[b]!)
      : Array.from(piece);
    if (this.mergeRanks.size > 0) {
      while (symbols.length > 1) {
        let best = -1;
        let bestRank = Infinity;
        for (let i = 0; i < symbols.length - 1; i++) {
          const r = this.mergeRanks.get(`${symbols[i]} ${symbols[i + 1]}`);
          if (r !== undefined && r < bestRank) {
            bestRank = r;
            best = i;
          }
        }
        if (best < 0) break;
        const a = symbols[best]!;
        const b = symbols[best + 1]!;
        // merge every occurrence of the best pair, left to right
        const next: string[] = [];
        for (let i = 0; i < symbols.length; i++) {
          if (i < symbols.length - 1 && symbols[i] === a && symbols[i + 1] === b) {
            next.push(a + b);
            i++;
          } else next.push(symbols[i]!);
        }
        symbols = next;
      }
    }
    const ids = symbols.map((s) => this.lookup(s));
    if (this.cache.size < 10000) this.cache.set(piece, ids);
    return ids;
  }

  /**
   * Ids → text. Special added tokens are skipped unless `keepSpecial`; an id the tokenizer does not
   * know is written as `<unk:ID>` (callers that must refuse such output check `hasId` first).
   */
  decode(ids: readonly number[], options: { keepSpecial?: boolean } = {}): string {
    const parts: string[] = [];
    let bytes: number[] = [];
    const flush = (): void => {
      if (bytes.length) parts.push(new TextDecoder('utf-8').decode(Uint8Array.from(bytes)));
      bytes = [];
    };
    let first = true;
    for (const id of ids) {
      const added = this.addedById.get(id);
      if (added) {
        if (added.special && !options.keepSpecial) continue;
        flush();
        parts.push(added.content);
        continue;
      }
      const tok = this.idToToken.get(id);
      if (tok === undefined) {
        flush();
        parts.push(`<unk:${id}>`);
        continue;
      }
      if (this.byteLevel) {
        for (const ch of tok) {
          const b = BYTES.toByte.get(ch);
          if (b === undefined) {
            flush();
            parts.push(ch);
          } else bytes.push(b);
        }
      } else if (this.modelType === 'WordLevel') {
        parts.push(first ? tok : ` ${tok}`);
      } else parts.push(tok);
      first = false;
    }
    flush();
    return parts.join('');
  }
}

/** Parse tokenizer.json text. Throws TokenizerError. */
export function loadTokenizer(jsonText: string): Tokenizer {
  let json: unknown;
  try {
    json = JSON.parse(jsonText);
  } catch (e) {
    throw new TokenizerError(`tokenizer.json is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  return new Tokenizer(json);
}

/** The GPT-2 byte → character table, for building byte-level vocabularies (tests, tooling). */
export function byteLevelAlphabet(): string[] {
  return [...BYTES.toChar];
}
