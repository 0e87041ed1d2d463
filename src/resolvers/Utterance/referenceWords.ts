import type { UtteranceResolvers } from '../../generated/graphql.js';
import { ipaOf } from '../../analytics/common.js';
import { storedNormalizedText } from '../../text/reference.js';
import type { ReferenceWord } from '../../types.js';

const storedWords = (utterance: { referenceWords: unknown }): ReferenceWord[] => utterance.referenceWords as ReferenceWord[];

export const referenceWords: UtteranceResolvers['referenceWords'] = (utterance) =>
  storedWords(utterance).map((w) => ({
    text: w.text,
    phonemes: w.phones,
    // ipaOf, not arpabetToIpa: a stored symbol it does not know is shown as itself, not an error.
    ipa: w.phones.map(ipaOf),
    source: w.source.toUpperCase() as 'DATASET' | 'CMUDICT' | 'G2P',
  }));

export const normalizedText: UtteranceResolvers['normalizedText'] = (utterance) =>
  storedNormalizedText(utterance.referenceWords, utterance.referenceText);
