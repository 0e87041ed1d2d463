import type { RationaleResolvers } from '../../generated/graphql.js';
import type { RationaleCheck } from '../../types.js';

type Verdict = 'CONSISTENT' | 'INCONSISTENT' | 'NOT_MENTIONED';
const toEnum = (v: string) => v.toUpperCase() as Verdict;

export const plausibility: RationaleResolvers['plausibility'] = (rationale) => {
  const p = rationale.plausibility as unknown as RationaleCheck['plausibility'];
  return { accuracy: toEnum(p.accuracy), fluency: toEnum(p.fluency), prosody: toEnum(p.prosody), overall: toEnum(p.overall) };
};
