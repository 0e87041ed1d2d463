/**
 * The timing and miscue thresholds of a gop bundle: `diagnostics.json` beside its graphs, written by
 * scripts/train/diagnostics.ts with the speaker-fold figures they were chosen on. A bundle without
 * one gets DEFAULT_THRESHOLDS; a file that is there but broken refuses the bundle.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../../errors.js';
import { DEFAULT_THRESHOLDS, type DiagnosticThresholds } from './diagnostics.js';

export const DIAGNOSTICS_FILE = 'diagnostics.json';

export function loadDiagnosticThresholds(dir: string): DiagnosticThresholds {
  const file = path.join(dir, DIAGNOSTICS_FILE);
  if (!fs.existsSync(file)) return DEFAULT_THRESHOLDS;
  const fail = (why: string) => new AppError('MODEL_UNAVAILABLE', `Model bundle ${dir}: ${DIAGNOSTICS_FILE} ${why}`, { modelDir: dir });
  let parsed: { thresholds?: Record<string, unknown> };
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof parsed;
  } catch {
    throw fail('is not JSON');
  }
  const out = { ...DEFAULT_THRESHOLDS };
  for (const key of Object.keys(DEFAULT_THRESHOLDS) as (keyof DiagnosticThresholds)[]) {
    const v = parsed.thresholds?.[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw fail(`has no valid thresholds.${key}`);
    out[key] = v;
  }
  return out;
}
