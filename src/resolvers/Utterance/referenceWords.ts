import type { UtteranceResolvers } from '../../generated/graphql.js';
import type { ReferenceWord } from '../../types.js';

export const referenceWords: UtteranceResolvers['referenceWords'] = (utterance) =>
  (utterance.referenceWords as unknown as ReferenceWord[]).map((w) => ({
    text: w.text,
    phonemes: w.phones,
    source: w.source.toUpperCase() as 'DATASET' | 'CMUDICT' | 'G2P',
  }));
