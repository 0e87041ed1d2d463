import type { UtteranceResolvers } from '../../generated/graphql.js';
import { referenceWordView } from '../../graphql/reference-words.js';
import { storedNormalizedText } from '../../text/reference.js';
import type { ReferenceWord } from '../../types.js';

const storedWords = (utterance: { referenceWords: unknown }): ReferenceWord[] => utterance.referenceWords as ReferenceWord[];

export const referenceWords: UtteranceResolvers['referenceWords'] = (utterance) => storedWords(utterance).map(referenceWordView);

export const normalizedText: UtteranceResolvers['normalizedText'] = (utterance) =>
  storedNormalizedText(utterance.referenceWords, utterance.referenceText);
