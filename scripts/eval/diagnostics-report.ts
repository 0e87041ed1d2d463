/**
 * `npm run eval -- --diagnostics`: the timing-and-miscue sections (omission: ./diagnostics-omission.ts,
 * timing: ./diagnostics-timing.ts) in the shape of ./diagnostics.ts, so they report beside the
 * wrong-text section as flat JSON keys (`diagnostics.omission.recall`,
 * `diagnostics.timing.word_median_ms`, ...) and text lines.
 */
import type { DiagnosticSection } from './diagnostics.js';
import { measureOmission } from './diagnostics-omission.js';
import { measureTiming } from './diagnostics-timing.js';

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

/** Omission on every utterance of the split: each recording whole, then with one word cut out. */
export const omissionSection: DiagnosticSection = {
  name: 'omission',
  async measure(scorer, utts, log) {
    const o = await measureOmission(scorer, utts, log);
    return {
      name: 'omission',
      json: { ...o },
      lines: [
        '## Diagnostics: omissions',
        '',
        '| figure | value |',
        '| --- | --- |',
        `| recall of OMITTED on the cut word (${o.recordings} recordings) | ${pct(o.recall)} |`,
        `| false OMITTED on the other words of the cut recordings | ${pct(o.false_rate)} |`,
        `| false OMITTED on the whole recordings | ${pct(o.false_rate_uncut)} |`,
      ],
    };
  },
};

/** Word and phoneme boundaries on up to `sentences` of the split's distinct texts, synthesised by espeak-ng. */
export function timingSection(sentences: number): DiagnosticSection {
  return {
    name: 'timing',
    async measure(scorer, utts, log) {
      const texts = [...new Set(utts.map((u) => u.labels.text ?? u.labels.words.map((w) => w.text).join(' ')))].slice(0, sentences);
      log(`diagnostics: timing (${texts.length} sentences synthesised by espeak-ng)`);
      const t = await measureTiming(scorer, texts, log);
      return {
        name: 'timing',
        json: { ...t },
        lines: [
          '## Diagnostics: timing',
          '',
          '| figure | value |',
          '| --- | --- |',
          `| word boundary error, median / p90 (${t.words} words, ${t.sentences} sentences) | ${t.word_median_ms} / ${t.word_p90_ms} ms |`,
          `| phoneme boundary error, median / p90 (${t.phonemes} phonemes) | ${t.phoneme_median_ms} / ${t.phoneme_p90_ms} ms |`,
        ],
      };
    },
  };
}
