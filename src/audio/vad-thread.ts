/**
 * The thread of a VadPool (./vad-pool.ts): one Silero session batching every recording it is sent
 * (BatchedSpeechDetector). Requests are `{ id, samples }`; each answer is `{ id, detection }` or
 * `{ id, error }`, in the order recordings finish.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { BatchedSpeechDetector } from './vad.js';

const port = parentPort!;
const { maxBatch, modelPath } = workerData as { maxBatch: number; modelPath?: string };
const detector = new BatchedSpeechDetector(maxBatch, undefined, modelPath);

port.on('message', ({ id, samples }: { id: number; samples: Float32Array }) => {
  detector.detect(samples).then(
    (detection) => port.postMessage({ id, detection }),
    (e: unknown) => port.postMessage({ id, error: e instanceof Error ? e.message : String(e) }),
  );
});
