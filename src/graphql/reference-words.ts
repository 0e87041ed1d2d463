/** A stored reference word as the API shows it (Utterance.referenceWords, Query.previewReferenceText). */
import { ipaOf } from '../analytics/common.js';
import type { ReferenceWord } from '../types.js';

export function referenceWordView(w: ReferenceWord) {
  return {
    text: w.text,
    phonemes: w.phones,
    // ipaOf, not arpabetToIpa: a stored symbol it does not know is shown as itself, not an error.
    ipa: w.phones.map(ipaOf),
    source: w.source.toUpperCase() as 'DATASET' | 'CMUDICT' | 'G2P',
  };
}
