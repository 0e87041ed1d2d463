import type { PhonemeAssessmentResolvers } from '../../generated/graphql.js';
import { arpabetToIpa } from '../../text/phones.js';

export const producedIpa: PhonemeAssessmentResolvers['producedIpa'] = (p) => (p.producedSymbol ? arpabetToIpa(p.producedSymbol) : null);
