/**
 * `npm run eval -- --diagnostics`: sections that measure what the API says beyond the scores
 * (issue 11). Each section runs on the same split and scorer, and gives lines for the text report
 * and flat JSON keys under `diagnostics.<section>.`.
 */
import type { Scorer } from '../../src/inference/scorer.js';
import type { EvalUtterance } from './dataset.js';

export interface DiagnosticResult {
  /** JSON key part: diagnostics.<name>.<key> */
  name: string;
  lines: string[];
  json: Record<string, number | null>;
}

export interface DiagnosticSection {
  name: string;
  measure(scorer: Scorer, utts: readonly EvalUtterance[], log: (line: string) => void): Promise<DiagnosticResult>;
}

/** Run every section, in order. */
export async function runDiagnostics(
  sections: readonly DiagnosticSection[], scorer: Scorer, utts: readonly EvalUtterance[], log: (line: string) => void,
): Promise<DiagnosticResult[]> {
  const out: DiagnosticResult[] = [];
  for (const s of sections) {
    log(`diagnostics: ${s.name}`);
    out.push(await s.measure(scorer, utts, log));
  }
  return out;
}

export function diagnosticsJson(results: readonly DiagnosticResult[]): Record<string, number | null> {
  return Object.fromEntries(results.flatMap((r) => Object.entries(r.json).map(([k, v]) => [`diagnostics.${r.name}.${k}`, v])));
}

export function diagnosticsText(results: readonly DiagnosticResult[]): string {
  return results.flatMap((r) => ['', ...r.lines]).join('\n');
}
