import { readFileSync } from 'node:fs';
import { checkRationale } from '../../src/rationale/check.js';
import { generateRationale } from '../../src/rationale/generate.js';
import { speechOceanToLabels } from '../../src/rationale/speechocean.js';
import { SHARED_DATA_DIR } from '../../tests/support/audio-fixtures.js';
import type { AssessmentLabels } from '../../src/types.js';

/**
 * Checks per second over `count` (rationale, labels) pairs: the platform's own rationales for the
 * dev labels, as the server stores them. One thread, so the figure is per core.
 */
export async function benchRationaleChecks(count: number) {
  const scores = JSON.parse(readFileSync(`${SHARED_DATA_DIR}/dev/scores.json`, 'utf8')) as Record<string, unknown>;
  const pairs: { text: string; labels: AssessmentLabels }[] = Object.values(scores).map((record) => {
    const labels = speechOceanToLabels(record);
    return { text: generateRationale(labels), labels };
  });
  for (let i = 0; i < 500; i++) checkRationale(pairs[i % pairs.length]!.text, pairs[i % pairs.length]!.labels); // warm-up
  const started = performance.now();
  let flagged = 0;
  for (let i = 0; i < count; i++) {
    const { text, labels } = pairs[i % pairs.length]!;
    flagged += checkRationale(text, labels).flags.length;
  }
  const seconds = (performance.now() - started) / 1000;
  return { count, perSecond: count / seconds, flagged };
}
