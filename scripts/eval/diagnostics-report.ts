/**
 * `npm run eval -- --diagnostics`: the timing-and-miscue figures (omission: ./diagnostics-omission.ts,
 * timing: ./diagnostics-timing.ts) on the evaluated split, as flat JSON keys
 * (`diagnostics.omission.recall`, `diagnostics.timing.word_median_ms`, ...) and a text section.
 */
import type { Scorer } from '../../src/inference/scorer.js';
import type { EvalUtterance } from './dataset.js';
import { measureOmission, type OmissionFigures } from './diagnostics-omission.js';
import { measureTiming, type TimingFigures } from './diagnostics-timing.js';

export interface DiagnosticsFigures {
  omission: OmissionFigures;
  timing: TimingFigures;
}

/** Omission on every utterance of the split; timing on up to `timingSentences` of its distinct texts. */
export async function measureDiagnostics(scorer: Scorer, utts: readonly EvalUtterance[], timingSentences: number, log: (l: string) => void): Promise<DiagnosticsFigures> {
  log('diagnostics: omission (each recording whole, then with one word cut out)');
  const omission = await measureOmission(scorer, utts, log);
  const texts = [...new Set(utts.map((u) => u.labels.text ?? u.labels.words.map((w) => w.text).join(' ')))].slice(0, timingSentences);
  log(`diagnostics: timing (${texts.length} sentences synthesised by espeak-ng)`);
  const timing = await measureTiming(scorer, texts, log);
  return { omission, timing };
}

export function diagnosticsJson(d: DiagnosticsFigures): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(d.omission)) out[`diagnostics.omission.${k}`] = v;
  for (const [k, v] of Object.entries(d.timing)) out[`diagnostics.timing.${k}`] = v;
  return out;
}

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

export function diagnosticsText(d: DiagnosticsFigures): string {
  const o = d.omission;
  const t = d.timing;
  return [
    '',
    '## Diagnostics',
    '',
    '| figure | value |',
    '| --- | --- |',
    `| omission: recall of OMITTED on the cut word (${o.recordings} recordings) | ${pct(o.recall)} |`,
    `| omission: false OMITTED on the other words of the cut recordings | ${pct(o.false_rate)} |`,
    `| omission: false OMITTED on the whole recordings | ${pct(o.false_rate_uncut)} |`,
    `| timing: word boundary error, median / p90 (${t.words} words, ${t.sentences} sentences) | ${t.word_median_ms} / ${t.word_p90_ms} ms |`,
    `| timing: phoneme boundary error, median / p90 (${t.phonemes} phonemes) | ${t.phoneme_median_ms} / ${t.phoneme_p90_ms} ms |`,
  ].join('\n');
}
