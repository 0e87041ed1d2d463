/**
 * `npm run eval -- --diagnostics`: the timing-and-miscue sections (omission: ./diagnostics-omission.ts,
 * timing: ./diagnostics-timing.ts) in the shape of ./diagnostics.ts, so they report beside the
 * wrong-text section as flat JSON keys (`diagnostics.omission.recall`,
 * `diagnostics.timing.word_median_ms`, ...) and text lines.
 */
import fs from 'node:fs';
import { decodeAudio } from '../../src/audio/decode.js';
import type { Scorer } from '../../src/inference/scorer.js';
import type { ReferenceWord } from '../../src/types.js';
import type { EvalUtterance } from './dataset.js';
import type { DiagnosticResult, DiagnosticSection } from './diagnostics.js';
import { measureOmission } from './diagnostics-omission.js';
import { measureTiming } from './diagnostics-timing.js';

/** Whether the model gives word timing and miscues at all (the so762 scorer and generative models do not). */
async function givesTiming(scorer: Scorer, utts: readonly EvalUtterance[]): Promise<boolean> {
  const u = utts[0];
  if (!u) return false;
  const words: ReferenceWord[] = u.labels.words.map((w) => ({ text: w.text, phones: w.phones, source: 'dataset' }));
  const audio = await decodeAudio(new Uint8Array(fs.readFileSync(u.audioPath)), { minSeconds: 0, maxSeconds: 60 });
  return (await scorer.scoreDetailed(audio.samples, words)).labels.diagnostics !== undefined;
}

/** The section's keys as null, and a line that says why: nothing to measure is not a crash. */
function notMeasured(name: string, keys: readonly string[], scorer: Scorer): DiagnosticResult {
  return {
    name,
    lines: [`Diagnostics (${name}): model ${scorer.modelVersion} gives no word timing or miscues, nothing to measure`],
    json: Object.fromEntries(keys.map((k) => [k, null])),
  };
}

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

/** Omission on every utterance of the split: each recording whole, then with one word cut out. */
export const omissionSection: DiagnosticSection = {
  name: 'omission',
  async measure(scorer, utts, log) {
    if (!(await givesTiming(scorer, utts))) return notMeasured('omission', ['recordings', 'recall', 'false_rate', 'false_rate_uncut'], scorer);
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
      if (!(await givesTiming(scorer, utts))) {
        return notMeasured('timing', ['sentences', 'sentencesSkipped', 'words', 'phonemes', 'word_median_ms', 'word_p90_ms', 'phoneme_median_ms', 'phoneme_p90_ms'], scorer);
      }
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
