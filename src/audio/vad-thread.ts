/**
 * The thread of a VadPool (./vad-pool.ts): one Silero session batching every recording it is sent
 * (BatchedSpeechDetector), and the decoding of uploads sent as bytes. A request is `{ id, samples }`
 * (detect), `{ id, bytes, limits }` (decode, then detect) or `{ id, bytes, limits, detect: false }`
 * (decode only: a stored recording the worker assesses again); each answer is `{ id, detection }`,
 * `{ id, decoded }`, `{ id, audio }` or `{ id, error }`, in the order recordings finish. A refusal of the upload
 * (an AppError: CORRUPT_AUDIO, AUDIO_TOO_LONG, ...) travels as its code, message and details, so
 * the pool raises the same error the HTTP thread would have.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { errorToWire } from '../errors.js';
import { decodeAudio, type DurationLimits } from './decode.js';
import { BatchedSpeechDetector } from './vad.js';

export type ThreadRequest =
  | { id: number; samples: Float32Array }
  | { id: number; bytes: Uint8Array; limits: DurationLimits; detect?: boolean };

const port = parentPort!;
const { maxBatch, modelPath } = workerData as { maxBatch: number; modelPath?: string };
const detector = new BatchedSpeechDetector(maxBatch, undefined, modelPath);

async function answer(request: ThreadRequest): Promise<void> {
  try {
    if ('samples' in request) {
      port.postMessage({ id: request.id, detection: await detector.detect(request.samples) });
      return;
    }
    const started = performance.now();
    const audio = await decodeAudio(request.bytes, request.limits);
    const decoded = performance.now();
    if (request.detect === false) {
      port.postMessage({ id: request.id, audio });
      return;
    }
    const detection = await detector.detect(audio.samples);
    port.postMessage({ id: request.id, decoded: { audio, detection, decodeMs: decoded - started, vadMs: performance.now() - decoded } });
  } catch (e) {
    port.postMessage({ id: request.id, error: errorToWire(e) });
  }
}

port.on('message', (request: ThreadRequest) => void answer(request));
