/**
 * Generative test bundles built in TypeScript: a byte-level BPE tokenizer.json, an encoder graph
 * (mean of the samples, broadcast to [1, 2, D]) and a decoder graph whose greedy output is fixed in
 * advance. The decoder reads its position from the KV cache (Shape of past.0.key on axis 2, plus
 * the tokens fed), gathers that row of a constant [maxLen, V] logits table, and appends the fed
 * token ids (key) and the encoder mean (value) to every layer's cache, so the cache really grows
 * and its contents can be checked.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sha256File } from '../../../src/inference/bundle.js';
import { byteLevelAlphabet, Tokenizer } from '../../../src/inference/generative/tokenizer.js';
import { renderPrompt, type ResponseFormat } from '../../../src/inference/generative/config.js';
import { PHONES } from '../../../src/text/phones.js';
import type { ReferenceWord } from '../../../src/types.js';
import { GraphBuilder } from '../../support/onnx-builder.js';

// ---------------------------------------------------------------- tokenizer

const ALPHABET = byteLevelAlphabet();
/** Merges exercised by the prompt and responses ("Ġ" is the byte-level space). */
const MERGES: [string, string][] = [
  ['c', 'c'],
  ['a', 'cc'],
  ['Ġ', 't'],
  ['Ġt', 'o'],
  ['"', ':'],
];
export const SPECIAL = { pad: '<pad>', bos: '<s>', eos: '</s>', user: '<|user|>', assistant: '<|assistant|>', audio: '<|AUDIO|>' } as const;

export function tokenizerJson(): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  ALPHABET.forEach((c, b) => (vocab[c] = b));
  let next = 256;
  for (const [a, b] of MERGES) vocab[a + b] = next++;
  const added = Object.values(SPECIAL).map((content) => ({ id: next++, content, special: true, single_word: false, lstrip: false, rstrip: false, normalized: false }));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: { type: 'NFC' },
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, vocab, merges: MERGES.map((m) => m.join(' ')) },
  };
}

export const TOKENIZER = new Tokenizer(tokenizerJson());
/** Logits width: the tokenizer's ids plus one id it does not know (for the unknown-token test). */
export const VOCAB = TOKENIZER.vocabSize + 1;
export const UNKNOWN_ID = TOKENIZER.vocabSize;
export const EOS = TOKENIZER.tokenId(SPECIAL.eos)!;
export const PAD = TOKENIZER.tokenId(SPECIAL.pad)!;
export const BOS = TOKENIZER.tokenId(SPECIAL.bos)!;
export const AUDIO_ID = TOKENIZER.tokenId(SPECIAL.audio)!;

export const TEMPLATE = `${SPECIAL.user}Rate the pronunciation of: {{text}}\nCanonical phones:\n{{phones}}\nAnswer in {{format}}.${SPECIAL.assistant}`;
/** A decoder-only prompt in the paper's shape: the audio first, then the transcript and the IPA target phonemes. */
export const AUDIO_TEMPLATE = `${SPECIAL.user}Audio 1: {{audio}}\nTranscript: "{{text}}"\nTarget Phonemes: {{phonemes_ipa}}\n${SPECIAL.assistant}`;
/** Samples per frame of the decoder-only test encoder (0.1 s). */
export const FRAME_SAMPLES = 1600;

// ---------------------------------------------------------------- graphs

export function encoderModel(dim = 4): Uint8Array {
  const g = new GraphBuilder('encoder');
  g.input('samples', 'float32', [1, 'N']);
  const mean = g.op('ReduceMean', ['samples'], { axes: [1], keepdims: 1 }); // [1,1]
  const m3 = g.op('Unsqueeze', [mean, g.ints([2])]); // [1,1,1]
  g.op('Expand', [m3, g.ints([1, 2, dim])], {}, 'audio_embeddings'); // [1,2,D]
  g.output('audio_embeddings', 'float32', [1, 'T', dim]);
  return g.toModel();
}

/**
 * A decoder-only test encoder: one frame per FRAME_SAMPLES samples (the tail is dropped), each frame
 * the chunk's mean times (1, 2, …, D), so every frame is different and T follows the audio length.
 */
export function frameEncoderModel(dim = 4): Uint8Array {
  const g = new GraphBuilder('encoder');
  g.input('samples', 'float32', [1, 'N']);
  const n = g.op('Shape', ['samples'], { start: 1, end: 2 });
  const frames = g.op('Div', [n, g.ints([FRAME_SAMPLES])]);
  const cut = g.op('Slice', ['samples', g.ints([0]), g.op('Mul', [frames, g.ints([FRAME_SAMPLES])]), g.ints([1])]);
  const chunks = g.op('Reshape', [cut, g.ints([1, -1, FRAME_SAMPLES])]);
  const means = g.op('ReduceMean', [chunks], { axes: [2], keepdims: 1 }); // [1,T,1]
  g.init('channel_scale', { type: 'float32', dims: [1, 1, dim], data: Float32Array.from({ length: dim }, (_, i) => i + 1) });
  g.op('Mul', [means, 'channel_scale'], {}, 'audio_embeddings'); // [1,T,D]
  g.output('audio_embeddings', 'float32', [1, 'T', dim]);
  return g.toModel();
}

/** What the decoder-only test encoder makes of `samples`: each frame's value averaged over its D channels. */
export function frameMeans(samples: Float32Array, dim = 4): number[] {
  const out: number[] = [];
  for (let f = 0; (f + 1) * FRAME_SAMPLES <= samples.length; f++) {
    let sum = 0;
    for (let i = f * FRAME_SAMPLES; i < (f + 1) * FRAME_SAMPLES; i++) sum += samples[i]!;
    out.push(((sum / FRAME_SAMPLES) * (dim + 1)) / 2); // mean of chunk × mean of 1..D
  }
  return out;
}

export interface DecoderSpec {
  numLayers: number;
  numHeads: number;
  headDim: number;
  encoderDim: number;
  /** [maxLen * VOCAB] logits rows, by absolute position. */
  table: Float32Array;
  /** Used instead of `table` when the encoder mean is <= 0 (so the audio decides the response). */
  tableIfQuiet?: Float32Array;
  /** Give present.0.key a wrong length (decoder contract test). */
  brokenCache?: boolean;
  /**
   * Decoder-only: the frames of encoder_hidden replace the AUDIO_ID tokens of input_ids, the k-th
   * such token taking frame k (inside the graph, as an exported Qwen2-Audio does). The value cache
   * holds each position's merged embedding (its frame's channel mean, 0 for text tokens), and the
   * loud table is chosen when the cache's sum is positive, so the response depends on the frames
   * having been placed.
   */
  decoderOnly?: boolean;
  /** float16 KV cache (past/present), as a half-precision export has. */
  cacheFloat16?: boolean;
}

export function decoderModel(spec: DecoderSpec): Uint8Array {
  const { numLayers: L, numHeads: H, headDim: Dh, encoderDim: D } = spec;
  const maxLen = spec.table.length / VOCAB;
  const g = new GraphBuilder('decoder');
  const cacheType = spec.cacheFloat16 ? 'float16' : 'float32';
  const toCache = (t: string): string => (spec.cacheFloat16 ? g.op('Cast', [t], { to: 10 }) : t);
  g.input('input_ids', 'int64', [1, 'S']);
  g.input('encoder_hidden', 'float32', [1, 'T', D]);
  for (let i = 0; i < L; i++) {
    g.input(`past.${i}.key`, cacheType, [1, H, 'L', Dh]);
    g.input(`past.${i}.value`, cacheType, [1, H, 'L', Dh]);
  }
  // position of each fed token: past length … past length + S - 1
  const pastLen = g.op('Shape', ['past.0.key'], { start: 2, end: 3 });
  const seqLen = g.op('Shape', ['input_ids'], { start: 1, end: 2 });
  const end = g.op('Add', [pastLen, seqLen]);
  const axis0 = g.ints([0]);
  let positions = g.op('Range', [g.op('Squeeze', [pastLen, axis0]), g.op('Squeeze', [end, axis0]), g.scalarInt(1)]);
  // decoder-only: the table is laid out for the prompt's text tokens; the T audio tokens shift every position by T
  // (shifted after Range: a Range starting at pastLen - T came out empty on onnxruntime-node 1.30)
  if (spec.decoderOnly) positions = g.op('Max', [g.op('Sub', [positions, g.op('Shape', ['encoder_hidden'], { start: 1, end: 2 })]), g.ints([0])]);
  const rows = (name: string, table: Float32Array): string => {
    g.init(name, { type: 'float32', dims: [maxLen, VOCAB], data: table });
    return g.op('Unsqueeze', [g.op('Gather', [name, positions], { axis: 0 }), axis0]); // [1,S,V]
  };
  const loud = rows('table', spec.table);
  const encMean = g.op('ReduceMean', ['encoder_hidden'], { axes: [1, 2], keepdims: 1 }); // [1,1,1]
  const merged = spec.decoderOnly ? mergeAudio(g, H, Dh) : undefined; // [1,H,S,Dh]
  const mergedValue0 = merged ? g.op('Concat', [g.op('Cast', ['past.0.value'], { to: 1 }), merged], { axis: 2 }) : undefined;
  if (spec.tableIfQuiet) {
    const quiet = rows('table_quiet', spec.tableIfQuiet);
    const loudness = mergedValue0 ? g.op('ReduceSum', [mergedValue0], { keepdims: 0 }) : encMean;
    const isLoud = g.op('Greater', [loudness, g.scalarFloat(0)]);
    g.op('Where', [isLoud, loud, quiet], {}, 'logits');
  } else g.op('Identity', [loud], {}, 'logits');
  g.output('logits', 'float32', [1, 'S', VOCAB]);

  // new cache entries: key = the fed token ids (+ layer index), value = the encoder mean
  const ids = g.op('Cast', ['input_ids'], { to: 1 }); // [1,S] float
  const newKey = g.op('Expand', [g.op('Unsqueeze', [ids, g.ints([1, 3])]), g.ints([1, H, 1, Dh])]); // [1,H,S,Dh]
  const mean4 = g.op('Unsqueeze', [encMean, g.ints([3])]); // [1,1,1,1]
  const newValue = merged ?? g.op('Add', [g.op('Mul', [newKey, g.scalarFloat(0)]), mean4]);
  for (let i = 0; i < L; i++) {
    const k = g.op('Add', [newKey, g.scalarFloat(i)]);
    const keyParts = [`past.${i}.key`, toCache(k)];
    if (spec.brokenCache && i === 0) keyParts.push(keyParts[1]!); // grows by 2S instead of S
    g.op('Concat', keyParts, { axis: 2 }, `present.${i}.key`);
    g.op('Concat', [`past.${i}.value`, toCache(newValue)], { axis: 2 }, `present.${i}.value`);
    g.output(`present.${i}.key`, cacheType, [1, H, 'L1', Dh]);
    g.output(`present.${i}.value`, cacheType, [1, H, 'L1', Dh]);
  }
  return g.toModel();
}

/** input_ids' AUDIO_ID positions take encoder frames in order (k-th placeholder → frame k); text tokens 0. */
function mergeAudio(g: GraphBuilder, H: number, Dh: number): string {
  const isAudio = g.op('Equal', ['input_ids', g.scalarInt(AUDIO_ID)]); // [1,S]
  const count = g.op('CumSum', [g.op('Cast', [isAudio], { to: 7 }), g.scalarInt(1)]); // [1,S] int64
  const frameIndex = g.op('Max', [g.op('Sub', [count, g.ints([1])]), g.ints([0])]);
  const frameMeans = g.op('Squeeze', [g.op('ReduceMean', ['encoder_hidden'], { axes: [2], keepdims: 0 }), g.ints([0])]); // [T]
  const frames = g.op('Gather', [frameMeans, frameIndex], { axis: 0 }); // [1,S]
  const embedded = g.op('Where', [isAudio, frames, g.scalarFloat(0)]);
  return g.op('Expand', [g.op('Unsqueeze', [embedded, g.ints([1, 3])]), g.ints([1, H, 1, Dh])]);
}

/**
 * Logits table that makes greedy decoding emit `emitted` right after a prompt of `promptLength`
 * tokens, then `filler` forever. The chosen id scores 5; every other id a deterministic value in
 * [-1, 1), so argmax has to pick it out of noise.
 */
export function logitsTable(promptLength: number, emitted: readonly number[], maxNewTokens: number, filler = PAD): Float32Array {
  const maxLen = promptLength + maxNewTokens + 2;
  const t = new Float32Array(maxLen * VOCAB);
  let seed = 12345;
  for (let i = 0; i < t.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    t[i] = (seed / 0x7fffffff) * 2 - 1;
  }
  for (let pos = 0; pos < maxLen; pos++) {
    // the token chosen after position `pos` is response token pos - (promptLength - 1)
    const k = pos - (promptLength - 1);
    const id = k < 0 ? PAD : k < emitted.length ? emitted[k]! : filler;
    t[pos * VOCAB + id] = 5;
  }
  return t;
}

// ---------------------------------------------------------------- bundles

export const WORDS: ReferenceWord[] = [
  { text: 'WE', phones: ['W', 'IY1'], source: 'dataset' },
  { text: 'CALL', phones: ['K', 'AO1', 'L'], source: 'dataset' },
  { text: 'IT', phones: ['IH1', 'T'], source: 'dataset' },
  { text: 'BEAR', phones: ['B', 'EH1', 'R'], source: 'dataset' },
];

export function promptIds(words: readonly ReferenceWord[], format: ResponseFormat, template = TEMPLATE, audioFrames = 0): number[] {
  const [before, after] = renderPrompt(template, words, format).split('{{audio}}');
  if (after === undefined) return [BOS, ...TOKENIZER.encode(before!)];
  return [BOS, ...TOKENIZER.encode(before!), ...Array<number>(audioFrames).fill(AUDIO_ID), ...TOKENIZER.encode(after)];
}

export interface BundleOptions {
  /** Response text the decoder emits (followed by eos unless `noEos`). */
  response: string;
  /** Response when the audio is quiet (mean <= 0); default: same as `response`. */
  quietResponse?: string;
  /** Ids to emit instead of encoding `response` (e.g. with an unknown id). */
  emitIds?: number[];
  noEos?: boolean;
  words?: readonly ReferenceWord[];
  format?: ResponseFormat;
  maxNewTokens?: number;
  numLayers?: number;
  numHeads?: number;
  headDim?: number;
  brokenCache?: boolean;
  /** Edit the manifest before it is written. */
  edit?: (manifest: Record<string, unknown>) => void;
  /** Skip writing tokenizer.json (load error test). */
  noTokenizer?: boolean;
  /** A decoder-only bundle (AUDIO_TEMPLATE, frame encoder, frames merged at the audio tokens in the decoder graph). */
  decoderOnly?: boolean;
  /** float16 KV cache, declared in the manifest as decoder.cacheType. */
  cacheFloat16?: boolean;
}

const dirs: string[] = [];
export function cleanupBundles(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Write a generative bundle into a fresh temp dir and return the dir. */
export function buildBundle(o: BundleOptions): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'speechmark-generative-'));
  dirs.push(dir);
  const words = o.words ?? WORDS;
  const format = o.format ?? 'json';
  const maxNewTokens = o.maxNewTokens ?? 512;
  const numLayers = o.numLayers ?? 2;
  const numHeads = o.numHeads ?? 2;
  const headDim = o.headDim ?? 3;
  const encoderDim = 4;
  const decoderOnly = o.decoderOnly ?? false;
  const template = decoderOnly ? AUDIO_TEMPLATE : TEMPLATE;
  const P = promptIds(words, format, template).length; // decoder-only: text tokens only (the graph discounts the audio ones)
  const emit = (text: string) => [...(o.emitIds ?? TOKENIZER.encode(text)), ...(o.noEos ? [] : [EOS])];
  const table = logitsTable(P, emit(o.response), maxNewTokens);
  const tableIfQuiet = o.quietResponse !== undefined ? logitsTable(P, emit(o.quietResponse), maxNewTokens) : undefined;

  writeFileSync(path.join(dir, 'encoder.onnx'), decoderOnly ? frameEncoderModel(encoderDim) : encoderModel(encoderDim));
  writeFileSync(
    path.join(dir, 'decoder.onnx'),
    decoderModel({ numLayers, numHeads, headDim, encoderDim, table, ...(tableIfQuiet ? { tableIfQuiet } : {}), ...(o.brokenCache ? { brokenCache: true } : {}), decoderOnly, cacheFloat16: o.cacheFloat16 ?? false }),
  );
  if (!o.noTokenizer) writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson()));
  const sha = (f: string) => (o.noTokenizer && f === 'tokenizer.json' ? '0'.repeat(64) : sha256File(path.join(dir, f)));
  const kv = (prefix: string) =>
    Array.from({ length: numLayers }, (_, i) => ['key', 'value'].map((k) => ({ name: `${prefix}.${i}.${k}`, dtype: o.cacheFloat16 ? 'float16' : 'float32', shape: [1, numHeads, 'L', headDim] }))).flat();
  const manifest: Record<string, unknown> = {
    name: 'test-speechllm',
    version: 'test-speechllm-0.0.1',
    kind: 'generative',
    file: 'decoder.onnx',
    sha256: sha('decoder.onnx'),
    sampleRate: 16000,
    phoneSet: [...PHONES],
    inputs: [
      { name: 'input_ids', dtype: 'int64', shape: [1, 'S'] },
      { name: 'encoder_hidden', dtype: 'float32', shape: [1, 'T', encoderDim] },
      ...kv('past'),
    ],
    outputs: [{ name: 'logits', dtype: 'float32', shape: [1, 'S', VOCAB] }, ...kv('present')],
    scales: {
      sentence: { aspects: ['accuracy', 'fluency', 'prosody', 'completeness', 'total'], min: 0, max: 10, integer: true },
      word: { aspects: ['accuracy', 'stress', 'total'], min: 0, max: 10, integer: true, stress: { values: [5, 10], threshold: 7.5 } },
      phoneme: { min: 0, max: 2 },
    },
    generative: {
      encoder: { file: 'encoder.onnx', sha256: sha('encoder.onnx') },
      decoder: { numLayers, numHeads, headDim, ...(o.cacheFloat16 ? { cacheType: 'float16' } : {}), ...(decoderOnly ? { architecture: 'decoder-only', audioToken: SPECIAL.audio } : {}) },
      tokenizer: { file: 'tokenizer.json', sha256: sha('tokenizer.json'), bos: SPECIAL.bos, eos: SPECIAL.eos, pad: SPECIAL.pad, addBos: true },
      prompt: { template },
      stopTokens: [SPECIAL.eos],
      maxNewTokens,
      responseFormat: format,
    },
  };
  o.edit?.(manifest);
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return dir;
}

/** Audio whose mean is positive ("loud") or negative ("quiet"), which picks the decoder's table. */
export function audio(kind: 'loud' | 'quiet' = 'loud', n = 16000): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sin(i / 7) * 0.1 + (kind === 'loud' ? 0.05 : -0.05);
  return a;
}

// ---------------------------------------------------------------- responses

export const GOOD_JSON = {
  accuracy: 8,
  fluency: 7,
  prosody: 7,
  completeness: 10,
  total: 7,
  words: [
    { text: 'WE', accuracy: 9, stress: 10, total: 9, phones: [2, 2] },
    { text: 'CALL', accuracy: 6, stress: 10, total: 6, phones: [2, 1, 0] },
    { text: 'IT', accuracy: 10, stress: 10, total: 10, phones: [2, 2] },
    { text: 'BEAR', accuracy: 8, stress: 5, total: 8, phones: [2, 1.5, 2] },
  ],
  rationale: 'Mostly clear. "CALL" is mispronounced: the /ɔ/ (AO) vowel is accented and the final L is missing.',
};

export const GOOD_LINES = [
  'Accuracy: 8',
  'Fluency: 7',
  'Prosody: 7',
  'Completeness: 10',
  'Total: 7',
  'Word WE: accuracy 9, stress 10, total 9; phones 2 2',
  'Word CALL: accuracy 6, stress 10, total 6; phones 2 1 0',
  'Word IT: accuracy 10, stress 10, total 10; phones 2 2',
  'Word BEAR: accuracy 8, stress 5, total 8; phones 2 1.5 2',
  'Rationale: Mostly clear. "CALL" is mispronounced: the /ɔ/ (AO) vowel is accented',
  'and the final L is missing.',
].join('\n');

export const EXPECTED_LABELS = {
  sentence: { accuracy: 8, fluency: 7, prosody: 7, completeness: 10, total: 7 },
  words: [
    { text: 'WE', accuracy: 9, stress: 10, total: 9, phonemes: [{ symbol: 'W', accuracy: 2 }, { symbol: 'IY1', accuracy: 2 }] },
    { text: 'CALL', accuracy: 6, stress: 10, total: 6, phonemes: [{ symbol: 'K', accuracy: 2 }, { symbol: 'AO1', accuracy: 1 }, { symbol: 'L', accuracy: 0 }] },
    { text: 'IT', accuracy: 10, stress: 10, total: 10, phonemes: [{ symbol: 'IH1', accuracy: 2 }, { symbol: 'T', accuracy: 2 }] },
    { text: 'BEAR', accuracy: 8, stress: 5, total: 8, phonemes: [{ symbol: 'B', accuracy: 2 }, { symbol: 'EH1', accuracy: 1.5 }, { symbol: 'R', accuracy: 2 }] },
  ],
};

/** A response in the paper's rubric format (multi_granularity/utils.py) for WE CALL IT BEAR, with word stress. */
export const GOOD_RUBRIC = [
  'Accuracy: Good',
  'Fluency: Excellent',
  'Prosody: Average',
  'Words: WE/Excellent CALL/Bad IT/Excellent BEAR/Good',
  'Word Stress: WE/Correct CALL/Correct IT/Correct BEAR/Incorrect',
  'Phonemes: w/Excellent i/Excellent k/Excellent ɔ/Average l/Worst ɪ/Excellent t/Excellent b/Excellent ɛ/Good ɹ/Excellent',
  'Verdict: Mostly clear. "CALL" is mispronounced: the /ɔ/ vowel is accented',
  'and the final L is missing.',
].join('\n');

/** GOOD_RUBRIC on the platform's scales with the default label values and derivation rules. */
export const EXPECTED_RUBRIC_LABELS = {
  // completeness: no word labelled Worst → 10; total: round((8 + 9 + 6) / 3) = 8
  sentence: { accuracy: 8, fluency: 9, prosody: 6, completeness: 10, total: 8 },
  words: [
    { text: 'WE', accuracy: 10, stress: 10, total: 10, phonemes: [{ symbol: 'W', accuracy: 2 }, { symbol: 'IY1', accuracy: 2 }] },
    { text: 'CALL', accuracy: 3, stress: 10, total: 3, phonemes: [{ symbol: 'K', accuracy: 2 }, { symbol: 'AO1', accuracy: 1.2 }, { symbol: 'L', accuracy: 0.2 }] },
    { text: 'IT', accuracy: 10, stress: 10, total: 10, phonemes: [{ symbol: 'IH1', accuracy: 2 }, { symbol: 'T', accuracy: 2 }] },
    { text: 'BEAR', accuracy: 8, stress: 5, total: 8, phonemes: [{ symbol: 'B', accuracy: 2 }, { symbol: 'EH1', accuracy: 1.7 }, { symbol: 'R', accuracy: 2 }] },
  ],
  derived: { completeness: 'words_not_worst', total: 'mean_accuracy_fluency_prosody', wordTotal: 'word_accuracy' },
};
