/**
 * The "scorer" model kind: 16 kHz samples + canonical phones of the reference text in, scores at
 * every level out. One pipeline per model family over the shared session wrapper
 * (./scorer-base.ts), chosen by the manifest's `pipeline`:
 * - `"gop"` (the default bundle): ./gop/pipeline.ts, an acoustic graph and a heads graph with the
 *   alignment and GOP features between them;
 * - absent: ./end-to-end/pipeline.ts, one graph from samples and phones to scores.
 * Label decoding (./labels.ts) and the phone encoding (./phone-encoding.ts) are shared.
 */
import { EndToEndScorer } from './end-to-end/pipeline.js';
import { GopScorer } from './gop/pipeline.js';
import { loadScorerBundle, type ScorerBase, type ScorerLoadOptions } from './scorer-base.js';

export type { ScorerLoadOptions } from './scorer-base.js';

/** A loaded scorer, whichever pipeline its bundle names. */
export type Scorer = ScorerBase;

export const Scorer = {
  /** Load and validate a scorer bundle; failures are AppError('MODEL_UNAVAILABLE') with the reason. */
  async load(dir: string, options: ScorerLoadOptions = {}): Promise<Scorer> {
    const bundle = loadScorerBundle(dir);
    return bundle.manifest.pipeline === 'gop' ? GopScorer.open(bundle, options) : EndToEndScorer.open(bundle, options);
  },
};
