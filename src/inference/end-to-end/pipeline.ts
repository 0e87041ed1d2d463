/**
 * The end-to-end scorer pipeline: one graph takes 16 kHz samples and the canonical phones of the
 * reference text and returns scores at every level (the log-mel front-end is inside the graph;
 * models/README or the manifest's inputs/outputs give the tensor contract).
 */
import { timeStage, type StageTimes } from '../../ops/stage-times.js';
import * as ort from 'onnxruntime-node';
import type { ReferenceWord } from '../../types.js';
import type { ModelBundle } from '../bundle.js';
import { checkScoreRanges, decodeLabels, type RawScores, type ScoredUtterance } from '../labels.js';
import { checkTensor } from '../outputs.js';
import { encodeReference } from '../phone-encoding.js';
import { openPrimarySession, padSamples, ScorerBase, type ScorerFeeds, type ScorerLoadOptions } from '../scorer-base.js';
import type { ExecutionProvider } from '../session.js';

export const END_TO_END_INPUTS = ['samples', 'phone_ids', 'phone_stress', 'phone_word_position', 'word_membership'] as const;
export const END_TO_END_OUTPUTS = ['utterance_scores', 'word_scores', 'phone_scores'] as const;

export class EndToEndScorer extends ScorerBase {
  private constructor(bundle: ModelBundle, session: ort.InferenceSession, provider: ExecutionProvider) {
    super(bundle, session, provider);
  }

  static async open(bundle: ModelBundle, options: ScorerLoadOptions): Promise<EndToEndScorer> {
    const { session, provider } = await openPrimarySession(bundle, options, { inputs: END_TO_END_INPUTS, outputs: END_TO_END_OUTPUTS, what: 'scorer' });
    return new EndToEndScorer(bundle, session, provider);
  }

  async scoreDetailed(samples: Float32Array, words: readonly ReferenceWord[], times?: StageTimes): Promise<ScoredUtterance> {
    const { feeds, nPhones: P, nWords: W } = await timeStage(times, 'features', () => this.buildFeeds(samples, words));
    // one graph from samples to scores: its run is the acoustic stage (it has no separate heads)
    const outputs = await timeStage(times, 'acoustic', () => this.run(feeds));
    // Checked as tensors first: a wrong shape is named before any value is read.
    const utt = checkTensor(outputs, 'utterance_scores', [1, 5]);
    const wrd = checkTensor(outputs, 'word_scores', [1, W, 3]);
    const ph = checkTensor(outputs, 'phone_scores', [1, P]);
    const raw: RawScores = {
      utterance: Array.from(utt),
      words: Array.from({ length: W }, (_, i) => Array.from(wrd.subarray(i * 3, i * 3 + 3))),
      phones: Array.from(ph),
    };
    checkScoreRanges(raw);
    return { labels: decodeLabels(raw, words, this.stressThreshold), raw, content: null };
  }

  buildFeeds(samples: Float32Array, words: readonly ReferenceWord[]): ScorerFeeds {
    const enc = encodeReference(words);
    const audio = padSamples(samples);
    const { nPhones: P, nWords: W } = enc;
    const feeds: Record<string, ort.Tensor> = {
      samples: new ort.Tensor('float32', audio, [1, audio.length]),
      phone_ids: new ort.Tensor('int64', enc.phoneIds, [1, P]),
      phone_stress: new ort.Tensor('int64', enc.phoneStress, [1, P]),
      phone_word_position: new ort.Tensor('int64', enc.phoneWordPosition, [1, P]),
      word_membership: new ort.Tensor('float32', enc.wordMembership, [1, W, P]),
    };
    return { feeds, nPhones: P, nWords: W };
  }
}
