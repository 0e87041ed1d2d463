import type { QueryResolvers } from '../../generated/graphql.js';
import { analyzeReferenceText } from '../../text/reference.js';
import { referenceWordView } from '../../graphql/reference-words.js';

/** What submitUtterance would make of the text (the same function), nothing stored; errors name `text`. */
export const previewReferenceText: QueryResolvers['previewReferenceText'] = (_parent, { text }) => {
  const words = analyzeReferenceText(text, undefined, 'text');
  return {
    normalizedText: words.map((w) => w.text).join(' '),
    words: words.map(referenceWordView),
    approximateWords: [...new Set(words.filter((w) => w.source === 'g2p').map((w) => w.text))],
  };
};
