/**
 * Checks on what a model graph returned, shared by every scorer pipeline: anything missing, of the
 * wrong type or shape, non-finite or off its scale is AppError('MODEL_OUTPUT_INVALID') naming the
 * output and the place, never a silent clamp or zero.
 */
import type * as ort from 'onnxruntime-node';
import { AppError } from '../errors.js';

export function invalidOutput(message: string, details: Record<string, unknown>): AppError {
  return new AppError('MODEL_OUTPUT_INVALID', `The model produced invalid output: ${message}`, details);
}

/** A float32 output of the given rank, every value finite; returns its data and actual dims. */
export function readTensor(outputs: ort.InferenceSession.OnnxValueMapType, name: string, rank: number): { data: Float32Array; dims: number[] } {
  const t = outputs[name] as ort.Tensor | undefined;
  if (!t) throw invalidOutput(`output "${name}" is missing`, { output: name });
  if (t.type !== 'float32') throw invalidOutput(`output "${name}" has type ${t.type}, expected float32`, { output: name, type: t.type });
  const dims = [...t.dims];
  if (dims.length !== rank) {
    throw invalidOutput(`output "${name}" has shape [${dims.join(', ')}], expected rank ${rank}`, { output: name, shape: dims });
  }
  const data = t.data as Float32Array;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw invalidOutput(`output "${name}" contains ${Number.isNaN(data[i]) ? 'NaN' : 'an infinite value'} at index ${i}`, { output: name, index: i });
    }
  }
  return { data, dims };
}

/** readTensor with an exact expected shape. */
export function checkTensor(outputs: ort.InferenceSession.OnnxValueMapType, name: string, dims: number[]): Float32Array {
  const t = outputs[name] as ort.Tensor | undefined;
  const got = t ? [...t.dims] : [];
  if (t && t.type === 'float32' && (got.length !== dims.length || got.some((d, i) => d !== dims[i]))) {
    throw invalidOutput(`output "${name}" has shape [${got.join(', ')}], expected [${dims.join(', ')}]`, { output: name, shape: got, expectedShape: dims });
  }
  return readTensor(outputs, name, dims.length).data;
}

export function checkRange(name: string, values: ArrayLike<number>, min: number, max: number, tol: number): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < min - tol || v > max + tol) {
      throw invalidOutput(`output "${name}" value ${v} at index ${i} is outside ${min}-${max}`, { output: name, index: i, value: v, min, max });
    }
  }
}
