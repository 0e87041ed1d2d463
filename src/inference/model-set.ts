/**
 * The model bundles one worker serves: the default (SPEECHMARK_MODEL_DIR), which runs every job
 * that asks for no version, and the extra ones (SPEECHMARK_EXTRA_MODEL_DIRS), each run only for
 * jobs that ask for its version by name (`Job.requestedModelVersion`). The claim
 * (src/jobs/queue.ts) takes only jobs this set can run, so `forJob` failing means a job changed
 * under the worker, not a routine refusal.
 */
import { AppError } from '../errors.js';
import { loadAssessor, type Assessor } from './assessor.js';
import type { BatchSettings } from './batcher.js';
import { AssessorPool } from './assessor-pool.js';
import { ThreadedAssessor } from './threaded-assessor.js';

export class ModelSet {
  private readonly byVersion: Map<string, Assessor>;

  constructor(
    /** Runs the jobs that name no version. */
    readonly primary: Assessor,
    readonly extra: readonly Assessor[] = [],
  ) {
    this.byVersion = new Map();
    for (const a of [primary, ...extra]) {
      if (this.byVersion.has(a.modelVersion)) {
        throw new AppError('MODEL_UNAVAILABLE', `Two model bundles have version "${a.modelVersion}" (${this.byVersion.get(a.modelVersion)!.bundle.dir} and ${a.bundle.dir}); each version must name one bundle.`);
      }
      this.byVersion.set(a.modelVersion, a);
    }
  }

  /** Every version served, the default's first (the heartbeat's list, the claim's filter). */
  get versions(): string[] {
    return [...this.byVersion.keys()];
  }

  /** The bundle for a job asking for `version` (null: the default). */
  forVersion(version: string | null): Assessor {
    if (version === null) return this.primary;
    const assessor = this.byVersion.get(version);
    // Transient: another worker that serves it may take the job over on a retry.
    if (!assessor) throw new AppError('MODEL_UNAVAILABLE', `This worker does not serve model version "${version}".`, { modelVersion: version });
    return assessor;
  }

  async warmUp(): Promise<void> {
    for (const a of [this.primary, ...this.extra]) await a.warmUp();
  }

  /** Ends the bundles' model threads (after the worker has stopped). */
  async close(): Promise<void> {
    await Promise.all([this.primary, ...this.extra].map((a) => a.close?.()));
  }
}

/**
 * Loads the default bundle and the extra ones (one after another: each start-up is CPU-bound).
 * Dynamic batching (`batch`) applies to the default bundle, which serves the traffic; an extra
 * bundle, asked for by name, runs one recording at a time whatever graphs it has. `thread`: each
 * bundle in a worker thread of its own (./threaded-assessor.ts), else on the calling thread;
 * `threads` above 1 (with `thread`): the default bundle in that many (./assessor-pool.ts).
 */
export async function loadModelSet(
  defaultDir: string,
  extraDirs: readonly string[],
  options: { providers: readonly string[]; batch?: BatchSettings; thread?: boolean; threads?: number },
): Promise<ModelSet> {
  const load = options.thread ? ThreadedAssessor.start : loadAssessor;
  const threads = options.threads ?? 1;
  if (threads > 1 && !options.thread) throw new Error('loadModelSet: several model threads need `thread`');
  const loaded: Assessor[] = [];
  try {
    const defaultOptions = { providers: options.providers, batch: options.batch };
    loaded.push(await (threads > 1 ? AssessorPool.start(defaultDir, { ...defaultOptions, threads }) : load(defaultDir, defaultOptions)));
    for (const dir of extraDirs) loaded.push(await load(dir, { providers: options.providers }));
    const [primary, ...extra] = loaded;
    return new ModelSet(primary!, extra);
  } catch (e) {
    // a failed start leaves no thread behind
    await Promise.all(loaded.map((a) => a.close?.().catch(() => undefined)));
    throw e;
  }
}
