import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AppError } from '../errors.js';
import type { ContentMatch } from '../assessment/wrong-text.js';
import type { AssessmentLabels, ReferenceWord } from '../types.js';
import type { BatchSettings } from './batcher.js';
import type { ModelBundle } from './bundle.js';
import { GenerativeAssessor } from './generative/assessor.js';
import { Scorer } from './scorer.js';
import type { StageTimes } from '../ops/stage-times.js';

/** What the worker needs from a model, whichever kind the bundle is. */
export interface Assessor {
  readonly modelName: string;
  readonly modelVersion: string;
  readonly executionProvider: string;
  readonly bundle: ModelBundle;
  warmUp(): Promise<void>;
  /**
   * Labels at every level; a generative model also returns its own rationale (checked like any
   * other), a scorer leaves it to the platform's grounded writer. `content`: how well the speech
   * matches the reference text, where the model can tell (src/assessment/wrong-text.ts).
   * `times` gets the milliseconds of its stages (acoustic, features, heads) where the model has them.
   */
  assess(samples: Float32Array, words: ReferenceWord[], options?: { times?: StageTimes }): Promise<{ labels: AssessmentLabels; rationale?: string; content?: ContentMatch | null }>;
  /** Releases what it holds beyond memory (a model thread); absent where there is nothing to end. */
  close?(): Promise<void>;
}

class ScorerAssessor implements Assessor {
  constructor(private readonly scorer: Scorer) {}
  get modelName() {
    return this.scorer.modelName;
  }
  get modelVersion() {
    return this.scorer.modelVersion;
  }
  get executionProvider() {
    return this.scorer.executionProvider;
  }
  get bundle() {
    return this.scorer.bundle;
  }
  warmUp() {
    return this.scorer.warmUp();
  }
  async assess(samples: Float32Array, words: ReferenceWord[], options: { times?: StageTimes } = {}) {
    const { labels, content } = await this.scorer.scoreDetailed(samples, words, options.times);
    return { labels, content };
  }
}

function bundleKind(dir: string): unknown {
  try {
    return (JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { kind?: unknown }).kind;
  } catch {
    return undefined; // the loader below reports a missing or broken manifest precisely
  }
}

/** Load the bundle in `dir` as the kind its manifest declares. */
export async function loadAssessor(dir: string, options: { providers: readonly string[]; batch?: BatchSettings; intraOpNumThreads?: number }): Promise<Assessor> {
  const kind = bundleKind(dir);
  if (kind === 'generative') return GenerativeAssessor.load(dir, options);
  if (kind === 'scorer' || kind === undefined) return new ScorerAssessor(await Scorer.load(dir, options));
  throw new AppError('MODEL_UNAVAILABLE', `Model bundle ${dir} has unknown kind ${JSON.stringify(kind)}.`);
}
