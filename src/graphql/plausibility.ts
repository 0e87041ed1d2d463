import type { RationaleCheck } from '../types.js';

type Verdict = 'CONSISTENT' | 'INCONSISTENT' | 'NOT_MENTIONED';
const toEnum = (v: string) => v.toUpperCase() as Verdict;

/** Stored verdicts (lower-case) as the GraphQL enum. */
export function plausibilityToGraphQL(p: RationaleCheck['plausibility']) {
  return { accuracy: toEnum(p.accuracy), fluency: toEnum(p.fluency), prosody: toEnum(p.prosody), overall: toEnum(p.overall) };
}
