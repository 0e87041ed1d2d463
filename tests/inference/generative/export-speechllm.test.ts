/**
 * scripts/export-speechllm on a tiny randomly initialised Qwen2-Audio (Hugging Face parameter
 * names, bfloat16 shards, a PEFT LoRA adapter; make_tiny.py): the exported bundle is loaded by the
 * platform, its graphs give the torch implementation's outputs (reference.py computes them the
 * plain way: the audio as Hugging Face's processor and model do, padded to 30 s with a torch.stft
 * log-mel and the padding masked in attention; every step over the whole sequence without a
 * cache), and it runs
 * through the server on real audio, the job ending as the platform says for the model's argmax text.
 *
 * Needs Debian's /usr/bin/python3 with torch and onnx; without them the suite is one skipped test
 * saying so.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { GenerativeAssessor } from '../../../src/inference/generative/assessor.js';
import { parseResponse } from '../../../src/inference/generative/parse.js';
import type { ReferenceWord } from '../../../src/types.js';
import { startTestApp, waitForJob } from '../../support/app.js';
import { hasSharedData, speechOceanUtterances } from '../../support/speech.js';
import { WORDS } from './fixtures.js';

const PYTHON = '/usr/bin/python3';
const SCRIPTS = path.resolve('scripts/export-speechllm');
const probe = spawnSync(PYTHON, ['-c', 'import torch, onnx'], { encoding: 'utf8' });
const hasTorch = probe.status === 0;
const whyNot = hasTorch ? '' : `${PYTHON} -c "import torch, onnx" failed: ${(probe.stderr || String(probe.error ?? '')).trim().split('\n').pop()}`;
const describeWithTorch = (name: string, fn: () => void) =>
  hasTorch ? describe(name, fn) : test.skip(`${name} (skipped: ${whyNot})`, () => undefined);

/** Tokens generated per utterance: enough to show the loop ran, few enough to keep the suite quick. */
const MAX_NEW = 6;

function python(script: string, args: string[]): string {
  const r = spawnSync(PYTHON, [path.join(SCRIPTS, script), ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${script} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

interface Reference {
  loraMerged: string[];
  audioEmbeddings: { dims: number[]; data: number[] };
  inputIds: number[];
  logits: { positions: number[]; rows: Record<string, number[]> };
  step1Logits: number[];
  baseLastLogits: number[];
  tokens: number[];
}

/** Largest absolute difference, and the scale it is judged against. */
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
/** float32 graphs against float32 torch: agreement to 1e-4 of the values' size. */
const expectClose = (actual: ArrayLike<number>, expected: ArrayLike<number>) => expect(maxDiff(actual, expected)).toBeLessThan(1e-4 * Math.max(1, maxAbs(expected)));

describeWithTorch('scripts/export-speechllm: a Qwen2-Audio checkpoint + LoRA exported as a generative bundle', () => {
  let tmp: string;
  let checkpoint: string;
  let adapter: string;
  let bundle: string;
  let model: GenerativeAssessor;
  let stopIds: number[];

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'speechllm-export-'));
    checkpoint = path.join(tmp, 'checkpoint');
    adapter = path.join(checkpoint, 'adapter');
    bundle = path.join(tmp, 'bundle');
    python('make_tiny.py', ['--out', checkpoint, '--shards', '2']);
    python('export.py', ['--checkpoint', checkpoint, '--adapter', adapter, '--out', bundle, '--max-new-tokens', String(MAX_NEW)]);
    model = await GenerativeAssessor.load(bundle);
    stopIds = model.config.stopTokens.map((t) => model.tokenizer.tokenId(t)!);
  }, 300_000);

  afterAll(async () => {
    await model?.release();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /** The torch implementation's outputs for these samples and prompt (the prompt with {{audio}} as one placeholder). */
  function reference(samples: Float32Array, words: readonly ReferenceWord[], name: string): Reference {
    const samplesFile = path.join(tmp, `${name}.f32`);
    const idsFile = path.join(tmp, `${name}.ids.json`);
    const out = path.join(tmp, `${name}.ref.json`);
    writeFileSync(samplesFile, Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength));
    writeFileSync(idsFile, JSON.stringify(model.promptIds(words, 1)));
    python('reference.py', ['--checkpoint', checkpoint, '--adapter', adapter, '--samples', samplesFile, '--prompt-ids', idsFile,
      '--max-new-tokens', String(MAX_NEW), '--stop-ids', stopIds.join(','), '--out', out]);
    return JSON.parse(readFileSync(out, 'utf8')) as Reference;
  }

  test("the manifest is the paper's decoder-only rubric bundle, shaped by the checkpoint's config", () => {
    const manifest = JSON.parse(readFileSync(path.join(bundle, 'manifest.json'), 'utf8'));
    const config = JSON.parse(readFileSync(path.join(checkpoint, 'config.json'), 'utf8'));
    const readme = readFileSync('src/inference/generative/README.md', 'utf8');
    const paperTemplate = JSON.parse(/^"template": ("(?:[^"\\]|\\.)*")$/m.exec(readme)![1]!) as string;
    const text = config.text_config;
    expect(model.config.decoder).toEqual({
      numLayers: text.num_hidden_layers, numHeads: text.num_key_value_heads, headDim: text.hidden_size / text.num_attention_heads,
      architecture: 'decoder-only', audioToken: '<|AUDIO|>', cacheType: 'float32',
    });
    expect(model.tokenizer.tokenId('<|AUDIO|>')).toBe(config.audio_token_index);
    expect(model.config.prompt.template).toBe(paperTemplate);
    expect(model.config.responseFormat).toBe('rubric');
    expect(model.config.stopTokens).toEqual(['<|im_end|>', '<|endoftext|>']);
    expect(readFileSync(path.join(bundle, 'tokenizer.json'))).toEqual(readFileSync(path.join(checkpoint, 'tokenizer.json')));
    // Qwen2's own pre-tokenizer (Split with Qwen's regex, then ByteLevel without GPT-2's), which the platform loaded
    expect(JSON.parse(readFileSync(path.join(bundle, 'tokenizer.json'), 'utf8')).pre_tokenizer.pretokenizers.map((p: { type: string }) => p.type)).toEqual(['Split', 'ByteLevel']);
    expect(manifest.outputs[0]).toEqual({ name: 'logits', dtype: 'float32', shape: [1, 'S', text.vocab_size] });
  });

  test("a config.json that names only what differs from transformers' defaults (as Qwen2-Audio-7B-Instruct's does) is read with those defaults", () => {
    const dir = path.join(tmp, 'sparse-config');
    mkdirSync(dir);
    // the fields the published checkpoint's config.json has (no hidden size, layer or head counts)
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({
      architectures: ['Qwen2AudioForConditionalGeneration'], model_type: 'qwen2_audio', audio_token_index: 151646,
      audio_config: { model_type: 'qwen2_audio_encoder' },
      text_config: { model_type: 'qwen2', intermediate_size: 11008, max_position_embeddings: 8192, rms_norm_eps: 1e-5, rope_theta: 10000, vocab_size: 156032 },
    }));
    const read = JSON.parse(python('export.py', ['--checkpoint', dir, '--print-config']));
    // README "The paper's model": 32 layers, 32 key/value heads of 128, hidden 4096; Whisper-large's audio tower
    expect(read.text).toEqual({ vocab: 156032, layers: 32, heads: 32, kvHeads: 32, headDim: 128, dim: 4096, ffn: 11008 });
    expect(read.audio).toEqual({ numMelBins: 128, layers: 32, heads: 20, dim: 1280, ffn: 5120 });
  });

  test('the weights read the same from model.safetensors, shards + index and pytorch_model.bin, in bfloat16 and float16', () => {
    // the same random model (same seed) in each layout; pytorch_model.bin is read by torch itself, so
    // it checks this reader's bfloat16 and float16 decoding
    const layouts: Record<string, string[]> = {
      bf16Single: ['--shards', '1'], bf16Bin: ['--bin'], f16Single: ['--dtype', 'f16'], f16Bin: ['--dtype', 'f16', '--bin'],
    };
    const dirs = Object.keys(layouts).map((name) => path.join(tmp, `layout-${name}`));
    Object.values(layouts).forEach((args, i) => python('make_tiny.py', ['--out', dirs[i]!, ...args]));
    const [sharded, bf16Single, bf16Bin, f16Single, f16Bin] = python('digest.py', [checkpoint, ...dirs]).trim().split('\n');
    expect(bf16Single).toBe(sharded);
    expect(bf16Bin).toBe(sharded);
    expect(f16Bin).toBe(f16Single);
    expect(f16Single).not.toBe(sharded); // float16 rounds differently from bfloat16: the dtype was really read
  }, 180_000);

  /** About a second (not a whole number of 10 ms frames): a tone and a little deterministic noise. */
  function tone(): Float32Array {
    const samples = new Float32Array(16_123);
    let seed = 7;
    for (let i = 0; i < samples.length; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      samples[i] = 0.1 * Math.sin((2 * Math.PI * 220 * i) / 16000) + 0.02 * (seed / 0x7fffffff - 0.5);
    }
    return samples;
  }

  /**
   * The bundle's graphs run directly in onnxruntime: the encoder, the prompt step on empty caches,
   * and one cached step feeding the prompt's argmax token with the prompt step's presents.
   */
  async function runGraphs(dir: string, samples: Float32Array, cacheType: 'float32' | 'float16') {
    const encoder = await ort.InferenceSession.create(path.join(dir, 'encoder.onnx'));
    const decoder = await ort.InferenceSession.create(path.join(dir, 'decoder.onnx'));
    try {
      const hidden = (await encoder.run({ samples: new ort.Tensor('float32', samples, [1, samples.length]) })).audio_embeddings as ort.Tensor;
      // the platform expands {{audio}} to one placeholder per frame
      const ids = model.promptIds(WORDS, hidden.dims[1]!);
      const { numLayers, numHeads, headDim } = model.config.decoder;
      const empty = () => (cacheType === 'float16' ? new ort.Tensor('float16', new Uint16Array(0), [1, numHeads, 0, headDim]) : new ort.Tensor('float32', new Float32Array(0), [1, numHeads, 0, headDim]));
      const feeds: Record<string, ort.Tensor> = { input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]), encoder_hidden: hidden };
      for (let i = 0; i < numLayers; i++) for (const kv of ['key', 'value']) feeds[`past.${i}.${kv}`] = empty();
      const step0 = await decoder.run(feeds);
      const logits = step0.logits as ort.Tensor;
      const V = logits.dims[2]!;
      const row = (t: ort.Tensor, p: number) => (t.data as Float32Array).subarray(p * V, (p + 1) * V);
      const last = row(logits, ids.length - 1);
      const next = last.indexOf(Math.max(...last));
      const feeds1: Record<string, ort.Tensor> = { input_ids: new ort.Tensor('int64', BigInt64Array.of(BigInt(next)), [1, 1]), encoder_hidden: hidden };
      for (let i = 0; i < numLayers; i++) for (const kv of ['key', 'value']) feeds1[`past.${i}.${kv}`] = step0[`present.${i}.${kv}`] as ort.Tensor;
      const step1 = await decoder.run(feeds1);
      return { hidden, ids, logits, row, last, step0, step1, numHeads, headDim };
    } finally {
      await Promise.all([encoder.release(), decoder.release()]);
    }
  }

  let toneRef: Reference | undefined;
  const toneReference = () => (toneRef ??= reference(tone(), WORDS, 'tone'));

  test('the ONNX encoder and decoder (with one cached step) give the torch reference outputs, with the LoRA merged', async () => {
    const samples = tone();
    const ref = toneReference();
    const g = await runGraphs(bundle, samples, 'float32');
    // the front-end (graph: a few frames of padding, a DFT by conv1d, the tower on the valid frames;
    // reference: 30 s of padding, torch.stft, the padding masked), tower, projector
    expect(g.hidden.dims).toEqual(ref.audioEmbeddings.dims);
    expectClose(g.hidden.data as Float32Array, ref.audioEmbeddings.data);
    expect(g.ids).toEqual(ref.inputIds);
    expect(g.logits.dims).toEqual([1, g.ids.length, ref.step1Logits.length]);
    // the first token, the first and last audio frames, the last prompt token
    for (const p of ref.logits.positions) expectClose(g.row(g.logits, p), ref.logits.rows[String(p)]!);
    expect((g.step0['present.0.key'] as ort.Tensor).dims).toEqual([1, g.numHeads, g.ids.length, g.headDim]);
    // the cached step: positions from the cache length, the cache grown by one
    expect((g.step1['present.1.value'] as ort.Tensor).dims).toEqual([1, g.numHeads, g.ids.length + 1, g.headDim]);
    expectClose(g.row(g.step1.logits as ort.Tensor, 0), ref.step1Logits);

    // the adapter was merged (into the language model and the audio tower's q/v), and it matters
    expect(ref.loraMerged.some((m) => m.startsWith('language_model.'))).toBe(true);
    expect(ref.loraMerged.some((m) => m.startsWith('audio_tower.'))).toBe(true);
    expect(maxDiff(g.last, ref.baseLastLogits)).toBeGreaterThan(100 * 1e-4 * Math.max(1, maxAbs(ref.baseLastLogits)));

    // past 30 s the processor (and so the graph) keeps the first 30 s: 3000 mel frames, 750 audio frames
    const encoder = await ort.InferenceSession.create(path.join(bundle, 'encoder.onnx'));
    try {
      const long = new Float32Array(31 * 16000).map((_, i) => 0.1 * Math.sin(i / 9));
      const frames = (await encoder.run({ samples: new ort.Tensor('float32', long, [1, long.length]) })).audio_embeddings as ort.Tensor;
      expect(frames.dims).toEqual([1, 750, g.hidden.dims[2]]);
    } finally {
      await encoder.release();
    }

    // the platform's greedy loop emits the reference's argmax tokens
    const generated = await model.generate(samples, WORDS, { maxNewTokens: MAX_NEW });
    expect(generated.tokens).toEqual(ref.tokens);
  }, 180_000);

  test('--float16-cache: the platform loads it as a float16-cache bundle and its logits stay within half precision of the reference', async () => {
    const bundle16 = path.join(tmp, 'bundle-f16');
    python('export.py', ['--checkpoint', checkpoint, '--adapter', adapter, '--out', bundle16, '--float16-cache', '--max-new-tokens', String(MAX_NEW)]);
    const model16 = await GenerativeAssessor.load(bundle16);
    try {
      expect(model16.config.decoder.cacheType).toBe('float16');
    } finally {
      await model16.release();
    }
    const samples = tone();
    const ref = toneReference();
    const g = await runGraphs(bundle16, samples, 'float16');
    expect((g.step0['present.0.key'] as ort.Tensor).type).toBe('float16');
    expect(g.logits.type).toBe('float32');
    // the prompt step's own keys/values are used at full precision; the cached step reads them rounded
    const tolerance = 1e-2 * Math.max(1, maxAbs(ref.step1Logits));
    expect(maxDiff(g.row(g.logits, g.ids.length - 1), ref.logits.rows[String(g.ids.length - 1)]!)).toBeLessThan(tolerance);
    expect(maxDiff(g.row(g.step1.logits as ort.Tensor, 0), ref.step1Logits)).toBeLessThan(tolerance);
  }, 180_000);

  (hasSharedData ? test : test.skip)(
    `the bundle serves a real recording through the API: the job ends as the platform says for the model's argmax text${hasSharedData ? '' : ' (skipped: ../shared/speechocean762 absent)'}`,
    async () => {
      const [utterance] = speechOceanUtterances('train', 1);
      const t = await startTestApp('pglite', { modelDir: bundle });
      try {
        const learnerId = (await t.admin.request(`mutation { createLearner(input: {externalId: "export-1"}) { id } }`)).data.createLearner.id;
        const res = await t.admin.upload(
          `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { job { id } } }`,
          { input: { learnerId, referenceText: utterance!.text, audio: null } },
          'variables.input.audio',
          { bytes: utterance!.bytes, name: 'take.flac' },
        );
        const jobId = res.data.submitUtterance.job.id;
        await waitForJob(t.admin, jobId);
        const job = (await t.admin.request(`query($id: ID!) { job(id: $id) { status error { code rawOutput } assessment { model { name } } } }`, { id: jobId })).data.job;

        // what the worker decoded and the words it scored, recomputed in torch
        const stored = await t.app.services.prisma.utterance.findFirstOrThrow();
        const samples = (await t.app.services.intake.load(stored.audioSha256)).samples;
        const words = stored.referenceWords as unknown as ReferenceWord[];
        const ref = reference(samples, words, 'served');
        expect(ref.tokens.length).toBeGreaterThan(0);
        const text = model.tokenizer.decode(ref.tokens);
        let parses = false;
        if (ref.tokens.length < MAX_NEW) {
          try {
            parseResponse(text, words, 'rubric', model.config.rubric);
            parses = true;
          } catch {
            parses = false;
          }
        }
        if (parses) {
          expect(job.status).toBe('SUCCEEDED');
          expect(job.assessment.model.name).toBe(model.modelName);
        } else {
          // a random model's text is not the rubric (or is cut off at maxNewTokens): kept, not scored
          expect(job.status).toBe('FAILED');
          expect(job.error.code).toBe('MODEL_OUTPUT_INVALID');
          expect(job.error.rawOutput).toBe(text);
          expect(await t.app.services.prisma.assessment.count()).toBe(0);
        }
      } finally {
        await t.dispose();
      }
    },
    180_000,
  );
});
