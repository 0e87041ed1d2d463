/**
 * One model bundle served by several model threads (SPEECHMARK_MODEL_THREADS), each a
 * ThreadedAssessor with sessions of its own. onnxruntime-node runs a session synchronously on its
 * thread, so a single model thread does its feature code (tracks, alignment, GOP features) and its
 * model runs one after the other; with two or more, one thread's feature code runs while another's
 * model runs, and the cores stay busy (`npm run bench -- batching --threads N` measures it).
 *
 * Each assessment goes to the thread with the fewest in hand (the first of those on a tie), so a
 * thread's dynamic batching groups about 1/N of the worker's jobs. The CPU provider's intra-op
 * threads are shared out: each model thread gets the cores divided by the threads (at least one),
 * not onnxruntime's default of every core each, which would put N sessions' thread pools on the
 * same cores.
 */
import os from 'node:os';
import type { StageTimes } from '../ops/stage-times.js';
import type { ReferenceWord } from '../types.js';
import type { Assessor } from './assessor.js';
import type { BatchSettings } from './batcher.js';
import { ThreadedAssessor } from './threaded-assessor.js';

type Assessed = Awaited<ReturnType<Assessor['assess']>>;

/** Intra-op threads for each of `modelThreads` sessions sharing `cores`. */
export function intraOpThreadsPerModelThread(modelThreads: number, cores = os.availableParallelism()): number {
  return Math.max(1, Math.floor(cores / modelThreads));
}

export class AssessorPool implements Assessor {
  /** Assessments each thread holds now. */
  private readonly inHand: number[];

  private constructor(private readonly threads: readonly ThreadedAssessor[]) {
    this.inHand = threads.map(() => 0);
  }

  /**
   * `threads` model threads on `dir`, started one after another (each start-up is CPU-bound); a
   * failed start ends the ones already started.
   */
  static async start(dir: string, options: { providers: readonly string[]; batch?: BatchSettings; threads: number }): Promise<AssessorPool> {
    const intraOpNumThreads = intraOpThreadsPerModelThread(options.threads);
    const started: ThreadedAssessor[] = [];
    try {
      for (let i = 0; i < options.threads; i++) started.push(await ThreadedAssessor.start(dir, { ...options, intraOpNumThreads }));
    } catch (e) {
      await Promise.all(started.map((t) => t.close().catch(() => undefined)));
      throw e;
    }
    return new AssessorPool(started);
  }

  // Every thread loaded the same bundle: the first speaks for all.
  get modelName() {
    return this.threads[0]!.modelName;
  }
  get modelVersion() {
    return this.threads[0]!.modelVersion;
  }
  get executionProvider() {
    return this.threads[0]!.executionProvider;
  }
  get bundle() {
    return this.threads[0]!.bundle;
  }

  /** Model threads in the pool. */
  get size(): number {
    return this.threads.length;
  }

  /** Assessments each thread holds now, in thread order. */
  get load(): readonly number[] {
    return [...this.inHand];
  }

  async warmUp(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.warmUp()));
  }

  async assess(samples: Float32Array, words: ReferenceWord[], options: { times?: StageTimes } = {}): Promise<Assessed> {
    const i = this.inHand.indexOf(Math.min(...this.inHand));
    this.inHand[i]!++;
    try {
      return await this.threads[i]!.assess(samples, words, options);
    } finally {
      this.inHand[i]!--;
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.close()));
  }
}
