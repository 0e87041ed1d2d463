/**
 * An Assessor whose model lives in a worker thread (./assessor-thread.ts): the session runs, the
 * alignment and the GOP features of every assessment run there, off the thread that serves HTTP
 * and runs the queue and the database writes (which then overlap with the next model run). A
 * call costs this thread a copy of the samples out and of the labels back.
 *
 * A thread that dies (a native crash, out of memory) fails the assessments it held, which the
 * queue retries, and is started again on the next call; `close()` ends it for good.
 */
import type { Worker } from 'node:worker_threads';
import { errorFromWire, type WireError } from '../errors.js';
import { metrics, type MetricUpdate } from '../ops/metrics.js';
import { addStage, type StageTimes } from '../ops/stage-times.js';
import { startModuleThread } from '../ops/threads.js';
import type { ReferenceWord } from '../types.js';
import type { Assessor } from './assessor.js';
import type { BatchSettings } from './batcher.js';
import type { ModelBundle } from './bundle.js';

/** What the thread is started with (functions do not cross threads, so no batch `observe`). */
export interface AssessorThreadData {
  dir: string;
  providers: readonly string[];
  batch?: Omit<BatchSettings, 'observe'>;
  /** The CPU provider's intra-op threads for each session (absent: onnxruntime's choice). */
  intraOpNumThreads?: number;
}

export type AssessorThreadRequest =
  | { id: number; warmUp: true }
  | { id: number; samples: Float32Array; words: readonly ReferenceWord[] }
  | { close: true };

type Assessed = Awaited<ReturnType<Assessor['assess']>>;

interface AssessorIdentity {
  modelName: string;
  modelVersion: string;
  executionProvider: string;
  bundle: ModelBundle;
}

type ThreadMessage =
  | { ready: AssessorIdentity }
  | { failed: WireError }
  | { metric: MetricUpdate }
  | { id: number; done: true }
  | { id: number; assessed: Assessed; times: StageTimes }
  | { id: number; error: WireError };

interface Pending {
  resolve: (message: ThreadMessage) => void;
  reject: (error: Error) => void;
}

const CONTEXT = 'model thread';
/** How long `close()` lets the thread finish the model runs it has started before terminating it. */
const CLOSE_WAIT_MS = 10_000;

/** A started thread, once its bundle has loaded. */
interface Thread {
  worker: Worker;
  identity: AssessorIdentity;
  pending: Map<number, Pending>;
  /** It exited or failed: nothing more may be sent to it. */
  dead: boolean;
}

function startThread(data: AssessorThreadData, onExit: (thread: Thread, error: Error) => void): Promise<Thread> {
  const worker = startModuleThread('./assessor-thread', import.meta.url, data);
  return new Promise((resolve, reject) => {
    let thread: Thread | null = null;
    const fail = (error: Error) => {
      if (!thread) return reject(error);
      thread.dead = true;
      onExit(thread, error);
    };
    worker.on('message', (message: ThreadMessage) => {
      if ('metric' in message) metrics.apply(message.metric);
      else if ('ready' in message) {
        thread = { worker, identity: message.ready, pending: new Map(), dead: false };
        worker.unref(); // an idle model thread does not keep the process alive
        resolve(thread);
      } else if ('failed' in message) {
        void worker.terminate();
        reject(errorFromWire(message.failed, CONTEXT));
      } else if (thread) settle(thread, message);
    });
    worker.on('error', (e) => fail(new Error(`${CONTEXT} failed: ${e.message}`)));
    worker.on('exit', (code) => fail(new Error(`${CONTEXT} exited (${code})`)));
  });
}

function settle(thread: Thread, message: ThreadMessage): void {
  if (!('id' in message)) return;
  const pending = thread.pending.get(message.id);
  if (!pending) return;
  thread.pending.delete(message.id);
  if (thread.pending.size === 0) thread.worker.unref();
  if ('error' in message) pending.reject(errorFromWire(message.error, CONTEXT));
  else pending.resolve(message);
}

export class ThreadedAssessor implements Assessor {
  private nextId = 1;
  private closed = false;
  /** Null after the thread died, until the next call starts another. */
  private thread: Promise<Thread> | null;
  /** The thread `thread` resolved to, once it has. */
  private live: Thread | null = null;

  private constructor(
    private readonly data: AssessorThreadData,
    first: Thread,
  ) {
    this.thread = Promise.resolve(first);
    this.live = first;
    this.identity = first.identity;
  }

  private readonly identity: AssessorIdentity;

  /** Starts the thread and waits for its bundle to load (a refusal keeps its code: MODEL_UNAVAILABLE). */
  static async start(dir: string, options: { providers: readonly string[]; batch?: BatchSettings; intraOpNumThreads?: number }): Promise<ThreadedAssessor> {
    const batch = options.batch && { size: options.batch.size, waitMs: options.batch.waitMs, maxLengthRatio: options.batch.maxLengthRatio };
    const data: AssessorThreadData = { dir, providers: [...options.providers], batch, ...(options.intraOpNumThreads ? { intraOpNumThreads: options.intraOpNumThreads } : {}) };
    let self: ThreadedAssessor | null = null;
    const first = await startThread(data, (thread, error) => self?.lost(thread, error));
    self = new ThreadedAssessor(data, first);
    return self;
  }

  get modelName() {
    return this.identity.modelName;
  }
  get modelVersion() {
    return this.identity.modelVersion;
  }
  get executionProvider() {
    return this.identity.executionProvider;
  }
  get bundle() {
    return this.identity.bundle;
  }

  async warmUp(): Promise<void> {
    await this.send((id) => ({ id, warmUp: true }));
  }

  async assess(samples: Float32Array, words: ReferenceWord[], options: { times?: StageTimes } = {}): Promise<Assessed> {
    // A copy of its own, moved (not cloned) to the thread: `samples` may view a larger buffer.
    const own = samples.slice();
    const answer = await this.send((id) => ({ id, samples: own, words }), [own.buffer]);
    if (!('assessed' in answer)) throw new Error(`${CONTEXT} answered out of turn`);
    for (const [stage, ms] of Object.entries(answer.times)) addStage(options.times, stage, ms);
    return answer.assessed;
  }

  /** Assessments sent to the thread and not yet answered. */
  async inFlight(): Promise<number> {
    return this.thread ? (await this.thread).pending.size : 0;
  }

  /**
   * Ends the thread now, as a crash would: what it held fails, and the next call starts another
   * (tests of that recovery; only while no native run is in flight, which terminating can abort).
   */
  async killThread(): Promise<void> {
    const thread = await this.thread?.catch(() => null);
    await thread?.worker.terminate();
  }

  /**
   * Ends the thread; assessments still waiting for it fail (a worker hands their jobs back before
   * this). The thread exits once the model runs it has started return: terminating it inside a
   * native run can abort the process. After CLOSE_WAIT_MS it is terminated anyway.
   */
  async close(): Promise<void> {
    this.closed = true;
    const thread = await this.thread?.catch(() => null);
    this.thread = null;
    this.live = null;
    if (!thread || thread.dead) return;
    this.rejectAll(thread, new Error(`${CONTEXT} has shut down`));
    const exited = new Promise<void>((resolve) => thread.worker.once('exit', () => resolve()));
    thread.worker.postMessage({ close: true } satisfies AssessorThreadRequest);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), CLOSE_WAIT_MS)));
    if ((await Promise.race([exited, late])) === 'late') await thread.worker.terminate();
    clearTimeout(timer);
  }

  private async send(request: (id: number) => Exclude<AssessorThreadRequest, { close: true }>, transfer: ArrayBuffer[] = []): Promise<ThreadMessage> {
    if (this.closed) throw new Error(`${CONTEXT} has shut down`);
    this.thread ??= startThread(this.data, (thread, error) => this.lost(thread, error)).then((t) => (this.live = t));
    const starting = this.thread;
    const thread = await starting.catch((e: unknown) => {
      if (this.thread === starting) this.thread = null; // the next call tries again
      throw e;
    });
    if (thread.dead) throw new Error(`${CONTEXT} exited`);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      thread.pending.set(id, { resolve, reject });
      thread.worker.ref();
      thread.worker.postMessage(request(id), transfer);
    });
  }

  /** The thread died under its assessments: they fail (transient: the queue retries them). */
  private lost(thread: Thread, error: Error): void {
    if (this.live === thread) {
      this.live = null;
      this.thread = null;
    }
    this.rejectAll(thread, error);
  }

  private rejectAll(thread: Thread, error: Error): void {
    for (const p of thread.pending.values()) p.reject(error);
    thread.pending.clear();
  }
}
