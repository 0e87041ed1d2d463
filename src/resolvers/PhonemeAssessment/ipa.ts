import type { PhonemeAssessmentResolvers } from '../../generated/graphql.js';
import { ipaOf } from '../../analytics/common.js';

export const ipa: PhonemeAssessmentResolvers['ipa'] = (p) => ipaOf(p.symbol);
