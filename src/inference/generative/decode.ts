/**
 * Greedy decoding with a KV cache over a decoder graph with the interface in README.md:
 *   input_ids [1,S] int64, encoder_hidden [1,T,D] float32, past.{i}.key/value [1,H,L,Dh] float32
 *   → logits [1,S,V] float32, present.{i}.key/value [1,H,L+S,Dh] float32.
 * Step 0 feeds the whole prompt with an empty past (L = 0); every later step feeds the one token
 * chosen last, with the previous step's presents as the pasts. The presents are fed back as the
 * tensors the session returned: on CUDA the assessor asks for them to stay on the device
 * (preferredOutputLocation 'gpu-buffer'), so onnxruntime binds them as inputs without a copy.
 */
import * as ort from 'onnxruntime-node';
import { AppError } from '../../errors.js';
import { DECODER_ENCODER_HIDDEN, DECODER_INPUT_IDS, DECODER_LOGITS, pastName, presentName } from './config.js';

export interface DecoderShape {
  numLayers: number;
  numHeads: number;
  headDim: number;
  /** The KV cache's element type (default float32); half-precision graphs keep float16 caches. */
  cacheType?: 'float32' | 'float16';
}

export type RunFn = (feeds: Record<string, ort.Tensor>) => Promise<ort.InferenceSession.OnnxValueMapType>;

export interface StepInfo {
  /** 0 for the prompt step. */
  step: number;
  /** Past length fed (L): 0, then P, P+1, … */
  pastLength: number;
  /** Tokens fed this step (S): the prompt length, then 1. */
  inputLength: number;
  /** The token chosen (argmax of the last position's logits). */
  token: number;
}

export interface GreedyOptions {
  promptIds: readonly number[];
  encoderHidden: ort.Tensor;
  stopIds: ReadonlySet<number>;
  maxNewTokens: number;
  /** Called after each step (tests, tracing). */
  onStep?: (info: StepInfo) => void;
}

export interface GreedyResult {
  /** Generated tokens, without the stop token. */
  tokens: number[];
  /** The stop token that ended generation, or null when maxNewTokens was reached first. */
  stopToken: number | null;
  truncated: boolean;
  steps: StepInfo[];
}

function modelError(message: string, details: Record<string, unknown> = {}): AppError {
  return new AppError('MODEL_OUTPUT_INVALID', `The model produced invalid output: ${message}`, { reason: 'decoder_contract', ...details });
}

/** Index of the largest value in data[offset, offset+n); NaN is never chosen. Ties go to the lowest index. */
export function argmax(data: Float32Array, offset: number, n: number): number {
  let best = -1;
  let bestV = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = data[offset + i]!;
    if (v > bestV || (best < 0 && v === -Infinity)) {
      bestV = v;
      best = i;
    }
  }
  return best;
}

function emptyPast(shape: DecoderShape): ort.Tensor {
  const dims = [1, shape.numHeads, 0, shape.headDim];
  return shape.cacheType === 'float16' ? new ort.Tensor('float16', new Uint16Array(0), dims) : new ort.Tensor('float32', new Float32Array(0), dims);
}

/**
 * Free cache tensors that live on the device (outputs the session was told to leave there, see
 * GenerativeAssessor.load): onnxruntime-node does not free GPU memory until dispose. CPU tensors
 * are left to the garbage collector.
 */
function releaseDeviceTensors(tensors: readonly ort.Tensor[]): void {
  for (const t of tensors) if (t.location === 'gpu-buffer') t.dispose();
}

function checkPresent(outputs: ort.InferenceSession.OnnxValueMapType, name: string, shape: DecoderShape, length: number): ort.Tensor {
  const t = outputs[name] as ort.Tensor | undefined;
  if (!t) throw modelError(`decoder output "${name}" is missing`, { output: name });
  const want = shape.cacheType ?? 'float32';
  if (t.type !== want) throw modelError(`decoder output "${name}" has type ${t.type}, expected ${want}`, { output: name });
  const wantDims = [1, shape.numHeads, length, shape.headDim];
  const got = [...t.dims];
  if (got.length !== 4 || got.some((d, i) => d !== wantDims[i])) {
    throw modelError(`decoder output "${name}" has shape [${got.join(', ')}], expected [${wantDims.join(', ')}] (the KV cache must grow by the tokens fed)`, {
      output: name,
      shape: got,
      expectedShape: wantDims,
    });
  }
  return t;
}

/** Run the greedy loop. Decoder contract violations throw AppError('MODEL_OUTPUT_INVALID', reason 'decoder_contract'). */
export async function greedyDecode(run: RunFn, shape: DecoderShape, options: GreedyOptions): Promise<GreedyResult> {
  const { promptIds, maxNewTokens } = options;
  if (promptIds.length === 0) throw new Error('greedyDecode: empty prompt');
  if (!(maxNewTokens >= 1)) throw new Error('greedyDecode: maxNewTokens must be at least 1');
  const past: ort.Tensor[] = [];
  for (let i = 0; i < shape.numLayers; i++) past.push(emptyPast(shape), emptyPast(shape));
  try {
    return await decodeLoop(run, shape, options, past);
  } finally {
    releaseDeviceTensors(past);
  }
}

/** The loop itself; `past` holds the current cache (updated in place, so the caller can free it). */
async function decodeLoop(run: RunFn, shape: DecoderShape, options: GreedyOptions, past: ort.Tensor[]): Promise<GreedyResult> {
  const { promptIds, encoderHidden, stopIds, maxNewTokens } = options;
  let input: readonly number[] = promptIds;
  let pastLength = 0;
  const tokens: number[] = [];
  const steps: StepInfo[] = [];
  for (let step = 0; step < maxNewTokens; step++) {
    const S = input.length;
    const feeds: Record<string, ort.Tensor> = {
      [DECODER_INPUT_IDS]: new ort.Tensor('int64', BigInt64Array.from(input, (id) => BigInt(id)), [1, S]),
      [DECODER_ENCODER_HIDDEN]: encoderHidden,
    };
    for (let i = 0; i < shape.numLayers; i++) {
      feeds[pastName(i, 'key')] = past[2 * i]!;
      feeds[pastName(i, 'value')] = past[2 * i + 1]!;
    }
    const outputs = await run(feeds);
    // the presents replace the pasts; device-resident ones (CUDA) are freed once nothing refers to them
    const fed = past.splice(0, past.length);
    for (let i = 0; i < shape.numLayers; i++) {
      for (const kv of ['key', 'value'] as const) {
        const t = outputs[presentName(i, kv)] as ort.Tensor | undefined;
        if (t) past.push(t);
      }
    }
    releaseDeviceTensors(fed);
    const logits = outputs[DECODER_LOGITS] as ort.Tensor | undefined;
    if (!logits) throw modelError(`decoder output "${DECODER_LOGITS}" is missing`, { output: DECODER_LOGITS });
    if (logits.type !== 'float32') throw modelError(`decoder output "logits" has type ${logits.type}, expected float32`, { output: DECODER_LOGITS });
    const dims = [...logits.dims];
    if (dims.length !== 3 || dims[0] !== 1 || dims[1] !== S || !(dims[2]! >= 1)) {
      throw modelError(`decoder output "logits" has shape [${dims.join(', ')}], expected [1, ${S}, V]`, { output: DECODER_LOGITS, shape: dims });
    }
    const V = dims[2]!;
    const token = argmax(logits.data as Float32Array, (S - 1) * V, V);
    if (token < 0) throw modelError(`decoder logits at step ${step} are all NaN`, { step });
    for (let i = 0; i < shape.numLayers; i++) {
      checkPresent(outputs, presentName(i, 'key'), shape, pastLength + S);
      checkPresent(outputs, presentName(i, 'value'), shape, pastLength + S);
    }
    const info: StepInfo = { step, pastLength, inputLength: S, token };
    steps.push(info);
    options.onStep?.(info);
    pastLength += S;
    if (stopIds.has(token)) return { tokens, stopToken: token, truncated: false, steps };
    tokens.push(token);
    input = [token];
  }
  return { tokens, stopToken: null, truncated: true, steps };
}
