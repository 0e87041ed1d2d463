/**
 * End to end: bundles built in TypeScript (tokenizer.json + encoder/decoder ONNX graphs whose greedy
 * output is known in advance) → GenerativeAssessor.load → assess.
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { AppError } from '../../../src/errors.js';
import { sha256File } from '../../../src/inference/bundle.js';
import { GenerativeAssessor } from '../../../src/inference/generative/assessor.js';
import { greedyDecode, type StepInfo } from '../../../src/inference/generative/decode.js';
import { renderPrompt } from '../../../src/inference/generative/config.js';
import type { ReferenceWord } from '../../../src/types.js';
import {
  audio,
  buildBundle,
  cleanupBundles,
  EOS,
  AUDIO_ID,
  AUDIO_TEMPLATE,
  EXPECTED_LABELS,
  EXPECTED_RUBRIC_LABELS,
  FRAME_SAMPLES,
  frameMeans,
  GOOD_JSON,
  GOOD_RUBRIC,
  GOOD_LINES,
  promptIds,
  TOKENIZER,
  UNKNOWN_ID,
  WORDS,
  type BundleOptions,
} from './fixtures.js';

const loaded: GenerativeAssessor[] = [];
afterAll(async () => {
  await Promise.all(loaded.map((a) => a.release()));
  cleanupBundles();
});

async function load(o: BundleOptions): Promise<GenerativeAssessor> {
  const a = await GenerativeAssessor.load(buildBundle(o), { providers: ['cpu'] });
  loaded.push(a);
  return a;
}

async function invalid(o: BundleOptions, words: readonly ReferenceWord[] = WORDS): Promise<AppError> {
  const a = await load(o);
  const err = await a.assess(audio(), words).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe('MODEL_OUTPUT_INVALID');
  return err as AppError;
}

describe('well-formed responses', () => {
  test('JSON: labels, rationale and raw text; model version and provider recorded', async () => {
    const a = await load({ response: JSON.stringify(GOOD_JSON) });
    expect(a.modelName).toBe('test-speechllm');
    expect(a.modelVersion).toBe('test-speechllm-0.0.1');
    expect(a.executionProvider).toBe('cpu');
    const r = await a.assess(audio(), WORDS);
    expect(r.labels).toEqual(EXPECTED_LABELS);
    expect(r.rationale).toBe(GOOD_JSON.rationale);
    expect(r.rawOutput).toBe(JSON.stringify(GOOD_JSON));
    expect(r.generatedTokens).toBe(TOKENIZER.encode(JSON.stringify(GOOD_JSON)).length);
  });

  test('labelled lines', async () => {
    const a = await load({ response: GOOD_LINES, format: 'lines' });
    const r = await a.assess(audio(), WORDS);
    expect(r.labels).toEqual(EXPECTED_LABELS);
    expect(r.rationale).toBe('Mostly clear. "CALL" is mispronounced: the /ɔ/ (AO) vowel is accented\nand the final L is missing.');
    expect(r.rawOutput).toBe(GOOD_LINES);
  });

  test('the encoder output reaches the decoder: the audio decides which response is emitted', async () => {
    const quiet = structuredClone(GOOD_JSON);
    quiet.fluency = 3;
    quiet.rationale = 'Very hesitant and choppy.';
    const a = await load({ response: JSON.stringify(GOOD_JSON), quietResponse: JSON.stringify(quiet) });
    expect((await a.assess(audio('loud'), WORDS)).labels.sentence.fluency).toBe(7);
    const r = await a.assess(audio('quiet'), WORDS);
    expect(r.labels.sentence.fluency).toBe(3);
    expect(r.rationale).toBe('Very hesitant and choppy.');
  });

  test('concurrent assessments on one assessor are serialised and each gets its own response', async () => {
    const quiet = { ...GOOD_JSON, total: 2 };
    const a = await load({ response: JSON.stringify(GOOD_JSON), quietResponse: JSON.stringify(quiet) });
    const results = await Promise.all([audio('loud'), audio('quiet'), audio('loud')].map((s) => a.assess(s, WORDS)));
    expect(results.map((r) => r.labels.sentence.total)).toEqual([7, 2, 7]);
  });

  test('warmUp runs the encoder and a couple of decoder steps without parsing', async () => {
    const a = await load({ response: 'not even JSON' });
    await expect(a.warmUp()).resolves.toBeUndefined();
  });
});

describe('KV cache', () => {
  test('step 0 feeds the prompt with an empty past, then one token per step with past length P, P+1, …', async () => {
    const text = JSON.stringify(GOOD_JSON);
    const a = await load({ response: text, numLayers: 3 });
    const steps: StepInfo[] = [];
    const r = await a.assess(audio(), WORDS, { onStep: (s) => steps.push(s) });
    const P = promptIds(WORDS, 'json').length;
    expect(a.promptIds(WORDS)).toEqual(promptIds(WORDS, 'json'));
    const n = r.generatedTokens + 1; // + the stop token
    expect(steps).toHaveLength(n);
    expect(steps.map((s) => s.pastLength)).toEqual([0, ...Array.from({ length: n - 1 }, (_, k) => P + k)]);
    expect(steps.map((s) => s.inputLength)).toEqual([P, ...Array(n - 1).fill(1)]);
    expect(steps.map((s) => s.token)).toEqual([...TOKENIZER.encode(text), EOS]);
  });

  test('each step feeds the previous presents back as pasts, and the cache holds every token fed', async () => {
    // drive greedyDecode directly on the built decoder, watching every feed and output
    const dir = buildBundle({ response: '{"ok":1}' });
    const session = await ort.InferenceSession.create(path.join(dir, 'decoder.onnx'));
    const prompt = [5, 6, 7, 8];
    const hidden = new ort.Tensor('float32', new Float32Array(8).fill(0.25), [1, 2, 4]);
    let previous: ort.InferenceSession.OnnxValueMapType | undefined;
    const fed: number[] = [];
    const run = async (feeds: Record<string, ort.Tensor>) => {
      const ids = Array.from(feeds.input_ids!.data as BigInt64Array, Number);
      fed.push(...ids);
      for (const layer of [0, 1]) {
        for (const kv of ['key', 'value'] as const) {
          const past = feeds[`past.${layer}.${kv}`]!;
          if (previous) expect(Array.from(past.data as Float32Array)).toEqual(Array.from((previous[`present.${layer}.${kv}`] as ort.Tensor).data as Float32Array));
          else expect(past.dims).toEqual([1, 2, 0, 3]);
        }
      }
      const out = await session.run(feeds);
      // key cache: token ids (+ layer) for every position so far, in order; value cache: encoder mean
      const key1 = out['present.1.key'] as ort.Tensor;
      expect(key1.dims).toEqual([1, 2, fed.length, 3]);
      const perPosition = Array.from({ length: fed.length }, (_, p) => (key1.data as Float32Array)[p * 3]);
      expect(perPosition).toEqual(fed.map((id) => id + 1));
      expect(new Set((out['present.0.value'] as ort.Tensor).data as Float32Array)).toEqual(new Set([0.25]));
      previous = out;
      return out;
    };
    // the table is laid out for the real prompt length; this prompt is shorter, so just check the cache mechanics
    const result = await greedyDecode(run, { numLayers: 2, numHeads: 2, headDim: 3 }, { promptIds: prompt, encoderHidden: hidden, stopIds: new Set([EOS]), maxNewTokens: 6 });
    expect(result.steps.map((s) => s.pastLength)).toEqual([0, 4, 5, 6, 7, 8]);
    expect(fed).toHaveLength(4 + 5);
    await session.release();
  });

  test('a half-precision KV cache (decoder.cacheType float16) is fed back as float16; a cache type the graph does not have is refused at load', async () => {
    const steps: StepInfo[] = [];
    const a = await load({ response: JSON.stringify(GOOD_JSON), cacheFloat16: true, decoderOnly: true });
    expect((await a.assess(audio(), WORDS, { onStep: (s) => steps.push(s) })).labels).toEqual(EXPECTED_LABELS);
    expect(steps.length).toBe(TOKENIZER.encode(JSON.stringify(GOOD_JSON)).length + 1);
    const bundle = buildBundle({ response: JSON.stringify(GOOD_JSON), cacheFloat16: true, edit: (m) => delete (m.generative as any).decoder.cacheType });
    await expect(GenerativeAssessor.load(bundle, { providers: ['cpu'] })).rejects.toMatchObject({
      code: 'MODEL_UNAVAILABLE',
      message: expect.stringMatching(/decoder input "past\.0\.key" is float16, but generative\.decoder\.cacheType is float32/),
    });
  });

  test('a decoder whose present does not grow by the tokens fed is refused', async () => {
    const err = await invalid({ response: JSON.stringify(GOOD_JSON), brokenCache: true });
    expect(err.extensions.reason).toBe('decoder_contract');
    expect(err.message).toMatch(/present\.0\.key" has shape \[1, 2, \d+, 3\], expected \[1, 2, \d+, 3\]/);
  });
});

describe('malformed responses are stored failures with the raw text', () => {
  test('truncated: no stop token before maxNewTokens', async () => {
    const text = JSON.stringify(GOOD_JSON);
    const err = await invalid({ response: text, maxNewTokens: 40 });
    expect(err.extensions.reason).toBe('truncated');
    expect(err.message).toMatch(/cut off: no stop token \(<\/s>\) within maxNewTokens = 40/);
    expect(err.extensions.rawOutput).toBe(TOKENIZER.decode(TOKENIZER.encode(text).slice(0, 40)));
    expect(err.extensions.generatedTokens).toBe(40);
  });

  test('truncated even when the text so far would parse (the model never stopped)', async () => {
    const text = JSON.stringify(GOOD_JSON);
    const err = await invalid({ response: text, noEos: true });
    expect(err.extensions.reason).toBe('truncated');
    expect(String(err.extensions.rawOutput).startsWith(text)).toBe(true);
  });

  test('malformed JSON', async () => {
    const text = JSON.stringify(GOOD_JSON).replace('"fluency":7,', '"fluency":7,,');
    const err = await invalid({ response: text });
    expect(err.extensions).toMatchObject({ reason: 'malformed', rawOutput: text });
    expect(err.message).toMatch(/not valid JSON/);
  });

  test('out-of-range score (not clamped)', async () => {
    const text = JSON.stringify({ ...GOOD_JSON, prosody: 14 });
    const err = await invalid({ response: text });
    expect(err.extensions).toMatchObject({ reason: 'out_of_range', rawOutput: text, path: 'prosody' });
    expect(err.message).toMatch(/prosody is 14, expected an integer from 0 to 10/);
  });

  test('wrong word count', async () => {
    const text = JSON.stringify({ ...GOOD_JSON, words: GOOD_JSON.words.slice(0, 3) });
    const err = await invalid({ response: text });
    expect(err.extensions).toMatchObject({ reason: 'word_mismatch', rawOutput: text });
    expect(err.message).toMatch(/scores 3 word\(s\), the reference text has 4/);
  });

  test('wrong phone count in the lines format', async () => {
    const text = GOOD_LINES.replace('phones 2 1.5 2', 'phones 2 2');
    const err = await invalid({ response: text, format: 'lines' });
    expect(err.extensions).toMatchObject({ reason: 'phone_count', rawOutput: text });
  });

  test('a token id the tokenizer does not know', async () => {
    const ids = [...TOKENIZER.encode('{"accuracy":'), UNKNOWN_ID, ...TOKENIZER.encode('}')];
    const err = await invalid({ response: '', emitIds: ids });
    expect(err.extensions).toMatchObject({ reason: 'unknown_token', rawOutput: `{"accuracy":<unk:${UNKNOWN_ID}>}` });
  });

  test('an immediately stopping model gives an empty response', async () => {
    const err = await invalid({ response: '' });
    expect(err.extensions).toMatchObject({ reason: 'empty', rawOutput: '' });
  });
});

describe('loading', () => {
  async function refused(o: BundleOptions, message: RegExp, mutate?: (dir: string) => void): Promise<void> {
    const dir = buildBundle(o);
    mutate?.(dir);
    await expect(GenerativeAssessor.load(dir, { providers: ['cpu'] })).rejects.toMatchObject({ code: 'MODEL_UNAVAILABLE', message: expect.stringMatching(message) });
  }
  const base = { response: '{}' };

  test('a scorer bundle is not generative', async () => {
    await refused({ ...base, edit: (m) => (m.kind = 'scorer') }, /kind "scorer", expected "generative"/);
  });
  test('missing generative section', async () => {
    await refused({ ...base, edit: (m) => delete m.generative }, /needs a "generative" object/);
  });
  test('missing tokenizer.json', async () => {
    await refused({ ...base }, /generative.tokenizer.file "tokenizer.json" named in manifest.json does not exist/, (dir) => rmSync(path.join(dir, 'tokenizer.json')));
  });
  test('encoder sha256 mismatch', async () => {
    await refused({ ...base }, /sha256 mismatch for "encoder.onnx"/, (dir) => writeFileSync(path.join(dir, 'encoder.onnx'), Buffer.concat([readFileSync(path.join(dir, 'encoder.onnx')), Buffer.from([0])])));
  });
  test('stop token not in the tokenizer', async () => {
    await refused({ ...base, edit: (m) => ((m.generative as any).stopTokens = ['<|end|>']) }, /generative.stopTokens\[0\] "<\|end\|>" is not a token of tokenizer.json/);
  });
  test('numLayers that does not match the decoder graph', async () => {
    await refused({ ...base, edit: (m) => ((m.generative as any).decoder.numLayers = 3) }, /decoder input lacks "past.2.key", "past.2.value"/);
    await refused({ ...base, edit: (m) => ((m.generative as any).decoder.numLayers = 1) }, /past inputs beyond generative.decoder.numLayers = 1: past.1.key/);
  });
  test('bad response format, maxNewTokens and prompt placeholders', async () => {
    await refused({ ...base, edit: (m) => ((m.generative as any).responseFormat = 'yaml') }, /responseFormat" must be one of "json", "lines", "rubric", got "yaml"/);
    await refused({ ...base, edit: (m) => ((m.generative as any).maxNewTokens = 0) }, /maxNewTokens" must be an integer from 1 to 8192/);
    await refused({ ...base, edit: (m) => ((m.generative as any).prompt.template = 'Rate {{text}} using {{rubric}}') }, /unknown placeholder\(s\) \{\{rubric\}\}/);
  });
  test('decoder-only contract: an audio token that is a token, and {{audio}} exactly once, only in decoder-only prompts', async () => {
    const dOnly = { ...base, decoderOnly: true };
    await refused({ ...dOnly, edit: (m) => delete (m.generative as any).decoder.audioToken }, /decoder-only model needs "generative.decoder.audioToken"/);
    await refused({ ...dOnly, edit: (m) => ((m.generative as any).decoder.audioToken = '<|audio|>') }, /generative.decoder.audioToken "<\|audio\|>" is not a token of tokenizer.json/);
    await refused({ ...dOnly, edit: (m) => ((m.generative as any).prompt.template = 'Rate {{text}}') }, /must contain \{\{audio\}\} exactly once \(it has 0\)/);
    await refused({ ...dOnly, edit: (m) => ((m.generative as any).prompt.template = '{{audio}}{{audio}} {{text}}') }, /exactly once \(it has 2\)/);
    await refused({ ...base, edit: (m) => ((m.generative as any).prompt.template = '{{audio}} {{text}}') }, /\{\{audio\}\} is only for architecture "decoder-only"/);
    await refused({ ...base, edit: (m) => ((m.generative as any).decoder.architecture = 'seq2seq') }, /architecture" must be one of "encoder-decoder", "decoder-only", got "seq2seq"/);
    await refused({ ...base, edit: (m) => ((m.generative as any).rubric = { scales: { phoneme: { Worst: 0, Bad: 0.5, Average: 1, Good: 1.5, Excellent: 2.5 } } }) }, /rubric.scales.phoneme.Excellent" must be a number from 0 to 2, got 2.5/);
    await refused({ ...base, edit: (m) => ((m.generative as any).rubric = { total: 'max' }) }, /rubric.total" must be one of "produced", "mean_accuracy_fluency_prosody", got "max"/);
  });
  test('unsupported tokenizer.json', async () => {
    await refused({ ...base }, /tokenizer.json: model type "Unigram" is not supported/, (dir) => {
      writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify({ model: { type: 'Unigram', vocab: [] } }));
      const m = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
      m.generative.tokenizer.sha256 = sha256File(path.join(dir, 'tokenizer.json'));
      writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m));
    });
  });
});

describe('decoder-only bundles (the paper\'s architecture) in the rubric format', () => {
  const frames = audio().length / FRAME_SAMPLES; // 10 frames of the test encoder

  test('{{phonemes_ipa}} is the target phonemes in IPA, space-separated, as the paper\'s prompt has them', () => {
    expect(renderPrompt('{{text}} | {{phonemes_ipa}}', WORDS, 'rubric')).toBe('WE CALL IT BEAR | w i k ɔ l ɪ t b ɛ ɹ');
  });

  test('{{audio}} becomes one audio token per encoder frame; the response is parsed as the paper writes it', async () => {
    const a = await load({ response: GOOD_RUBRIC, format: 'rubric', decoderOnly: true });
    const steps: StepInfo[] = [];
    const r = await a.assess(audio(), WORDS, { onStep: (s) => steps.push(s) });
    expect(r.labels).toEqual(EXPECTED_RUBRIC_LABELS);
    expect(r.rationale).toMatch(/^Mostly clear\. "CALL" is mispronounced/);
    const prompt = promptIds(WORDS, 'rubric', AUDIO_TEMPLATE, frames);
    expect(a.promptIds(WORDS, frames)).toEqual(prompt);
    expect(prompt.filter((id) => id === AUDIO_ID)).toHaveLength(frames);
    expect(steps[0]).toMatchObject({ pastLength: 0, inputLength: prompt.length });
    expect(steps[1]).toMatchObject({ pastLength: prompt.length, inputLength: 1 });
    // longer audio, more frames, a longer prompt: the same response (positions come from the cache)
    const one = audio();
    const longer = new Float32Array(3 * one.length).map((_, i) => one[i % one.length]!);
    const steps2: StepInfo[] = [];
    expect((await a.assess(longer, WORDS, { onStep: (s) => steps2.push(s) })).labels).toEqual(EXPECTED_RUBRIC_LABELS);
    expect(steps2[0]!.inputLength).toBe(prompt.length + 2 * frames);
  });

  test('the frames are what the decoder sees at the audio tokens: the audio decides the response', async () => {
    const quiet = GOOD_RUBRIC.replace('Fluency: Excellent', 'Fluency: Bad');
    const a = await load({ response: GOOD_RUBRIC, quietResponse: quiet, format: 'rubric', decoderOnly: true });
    expect((await a.assess(audio('loud'), WORDS)).labels.sentence.fluency).toBe(9);
    expect((await a.assess(audio('quiet'), WORDS)).labels.sentence.fluency).toBe(3);
  });

  test('inside the graph, the k-th audio token takes frame k and text tokens keep their own embedding', async () => {
    const dir = buildBundle({ response: GOOD_RUBRIC, format: 'rubric', decoderOnly: true });
    const encoder = await ort.InferenceSession.create(path.join(dir, 'encoder.onnx'));
    const decoder = await ort.InferenceSession.create(path.join(dir, 'decoder.onnx'));
    const samples = audio();
    const hidden = (await encoder.run({ samples: new ort.Tensor('float32', samples, [1, samples.length]) })).audio_embeddings as ort.Tensor;
    expect(hidden.dims).toEqual([1, frames, 4]);
    const prompt = promptIds(WORDS, 'rubric', AUDIO_TEMPLATE, frames);
    const out = await decoder.run({
      input_ids: new ort.Tensor('int64', BigInt64Array.from(prompt, BigInt), [1, prompt.length]),
      encoder_hidden: hidden,
      ...Object.fromEntries([0, 1].flatMap((i) => ['key', 'value'].map((kv) => [`past.${i}.${kv}`, new ort.Tensor('float32', new Float32Array(0), [1, 2, 0, 3])]))),
    });
    const value = (out['present.0.value'] as ort.Tensor).data as Float32Array;
    const perPosition = prompt.map((_, p) => value[p * 3]!);
    const expected = frameMeans(samples);
    let k = 0;
    prompt.forEach((id, p) => {
      if (id === AUDIO_ID) expect(perPosition[p]).toBeCloseTo(expected[k++]!, 5);
      else expect(perPosition[p]).toBe(0);
    });
    expect(k).toBe(frames);
    expect(new Set(expected).size).toBe(frames); // every frame differs, so a misplaced frame would show
    await Promise.all([encoder.release(), decoder.release()]);
  });

  test('a response with one phoneme too few fails with the raw text kept', async () => {
    const short = GOOD_RUBRIC.replace(' ɹ/Excellent', '');
    const err = await invalid({ response: short, format: 'rubric', decoderOnly: true });
    expect(err.extensions.reason).toBe('phone_count');
    expect(err.extensions.rawOutput).toBe(short);
  });
});

describe('inputs', () => {
  test('an empty reference text and an unknown phone are refused before running the model', async () => {
    const a = await load({ response: JSON.stringify(GOOD_JSON) });
    await expect(a.assess(audio(), [])).rejects.toMatchObject({ code: 'EMPTY_REFERENCE_TEXT' });
    await expect(a.assess(audio(), [{ text: 'XX', phones: ['QQ1'], source: 'g2p' }])).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(/unknown phone "QQ1"/) });
  });

  test('very short audio is zero-padded for the encoder', async () => {
    const a = await load({ response: JSON.stringify(GOOD_JSON) });
    await expect(a.assess(Float32Array.from([0.5, 0.5]), WORDS)).resolves.toMatchObject({ labels: EXPECTED_LABELS });
  });
});
