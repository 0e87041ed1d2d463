/**
 * Wrong-text diagnostics (issue 11): every recording of the split is scored through the server's
 * code path twice, once with its own text and once with another utterance's text of similar length
 * (scripts/eval/wrong-text-pairs.ts, the rule the model was trained with on train/). Reports the ROC
 * AUC of the content-match score and, at the bundle's shipped threshold, the share of own-text pairs
 * flagged READ_WRONG_TEXT (goal < 1%) and of wrong-text pairs caught (goal > 95%).
 */
import fs from 'node:fs';
import { applyContentMatch } from '../../src/assessment/wrong-text.js';
import { decodeAudio } from '../../src/audio/decode.js';
import type { Scorer } from '../../src/inference/scorer.js';
import type { ReferenceWord } from '../../src/types.js';
import type { EvalUtterance } from './dataset.js';
import type { DiagnosticResult, DiagnosticSection } from './diagnostics.js';
import { rocAuc } from './roc.js';
import { wrongTexts } from './wrong-text-pairs.js';

const wordsOf = (u: EvalUtterance): ReferenceWord[] => u.labels.words.map((w) => ({ text: w.text, phones: w.phones, source: 'dataset' }));

interface Pair {
  score: number;
  flagged: boolean;
}

/**
 * Raters give completeness 0-4 to a recording that reads little or none of its sentence: such an
 * own-text pair being flagged is the model agreeing with them, so it is reported apart.
 */
const READ_COMPLETENESS = 5;

async function scorePair(scorer: Scorer, samples: Float32Array, words: ReferenceWord[]): Promise<Pair | null> {
  const { labels, content } = await scorer.scoreDetailed(samples, words);
  if (!content) return null;
  return { score: content.score, flagged: applyContentMatch(labels, content).flags.includes('READ_WRONG_TEXT') };
}

export async function measureWrongText(scorer: Scorer, utts: readonly EvalUtterance[], log: (line: string) => void): Promise<DiagnosticResult> {
  const candidates = utts.map((u) => ({ words: u.labels.words.map((w) => w.text), phones: u.labels.words.reduce((n, w) => n + w.phones.length, 0) }));
  const own: Pair[] = [];
  const wrong: Pair[] = [];
  const read: boolean[] = []; // per own pair: human completeness >= READ_COMPLETENESS
  for (const [i, u] of utts.entries()) {
    const audio = await decodeAudio(new Uint8Array(fs.readFileSync(u.audioPath)), { maxSeconds: 60, minSeconds: 0.3 });
    const [j] = wrongTexts(candidates, i, 1, u.id);
    const mine = await scorePair(scorer, audio.samples, wordsOf(u));
    if (!mine) return notMeasured(scorer);
    own.push(mine);
    read.push(u.labels.completeness >= READ_COMPLETENESS);
    if (j !== undefined) wrong.push((await scorePair(scorer, audio.samples, wordsOf(utts[j]!)))!);
    if ((i + 1) % 100 === 0) log(`  wrong text: ${i + 1}/${utts.length}`);
  }
  const share = (ps: Pair[]) => (ps.length ? ps.filter((p) => p.flagged).length / ps.length : null);
  const auc = own.length && wrong.length ? rocAuc(own.map((p) => p.score), wrong.map((p) => p.score)) : null;
  const trueFlagged = share(own);
  const wrongCaught = share(wrong);
  const readOwn = own.filter((_, i) => read[i]);
  const unreadOwn = own.filter((_, i) => !read[i]);
  const pct = (v: number | null) => (v === null ? 'n/a' : `${(100 * v).toFixed(2)}%`);
  const threshold = scorer.bundle.manifest.contentMatch!.threshold;
  return {
    name: 'wrong_text',
    lines: [
      `Wrong text: each of ${own.length} recordings with its own text and with another utterance's text of similar length (${wrong.length} pairs)`,
      `| content-match ROC AUC | own text flagged READ_WRONG_TEXT (goal < 1%) | wrong text caught (goal > 95%) | threshold |`,
      '| --- | --- | --- | --- |',
      `| ${auc === null ? 'n/a' : auc.toFixed(4)} | ${pct(trueFlagged)} (${own.filter((p) => p.flagged).length}) | ${pct(wrongCaught)} (${wrong.filter((p) => p.flagged).length}) | ${threshold} |`,
      `Own text flagged, by the raters' completeness: >= ${READ_COMPLETENESS} (read) ${pct(share(readOwn))} of ${readOwn.length}; ` +
        `< ${READ_COMPLETENESS} (little or none of the sentence read) ${pct(share(unreadOwn))} of ${unreadOwn.length}`,
    ],
    json: {
      auc, true_pairs_flagged: trueFlagged, wrong_pairs_caught: wrongCaught, pairs: own.length, threshold,
      read_true_pairs_flagged: share(readOwn), unread_true_pairs_flagged: share(unreadOwn), unread_true_pairs: unreadOwn.length,
    },
  };
}

function notMeasured(scorer: Scorer): DiagnosticResult {
  return {
    name: 'wrong_text',
    lines: [`Wrong text: model ${scorer.modelVersion} has no content-match model (manifest "contentMatch"), nothing to measure`],
    json: { auc: null, true_pairs_flagged: null, wrong_pairs_caught: null },
  };
}

export const wrongTextSection: DiagnosticSection = { name: 'wrong_text', measure: measureWrongText };
