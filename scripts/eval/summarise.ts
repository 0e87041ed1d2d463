/**
 * Turn collected series into the figures the report prints: PCC and MSE of the continuous outputs
 * ("raw", comparable with published figures) and of the API labels, bootstrap 95% intervals over
 * speakers, and the same PCCs per fairness slice.
 */
import { ASPECTS, type Aspect, type Collected, type Series } from './collect.js';
import { bootstrapCI, mse, pearson, speakerDraws } from './stats.js';

/** Published results, SpeechOcean762 test split, released labels (Pearson correlation). */
export const BASELINES: Record<string, { label: string; pcc: Record<Aspect, number>; phoneMse?: number }> = {
  gopt: {
    label: 'GOPT (Gong et al., 2022)',
    pcc: {
      'phone.accuracy': 0.612,
      'word.accuracy': 0.533,
      'word.stress': 0.291,
      'word.total': 0.549,
      'utterance.accuracy': 0.714,
      'utterance.completeness': 0.155,
      'utterance.fluency': 0.753,
      'utterance.prosody': 0.76,
      'utterance.total': 0.742,
    },
    phoneMse: 0.085,
  },
  hiercbConpco: {
    label: 'HierCB+ConPCO (2025)',
    pcc: {
      'phone.accuracy': 0.701,
      'word.accuracy': 0.669,
      'word.stress': 0.437,
      'word.total': 0.682,
      'utterance.accuracy': 0.78,
      'utterance.completeness': 0.749,
      'utterance.fluency': 0.83,
      'utterance.prosody': 0.823,
      'utterance.total': 0.803,
    },
  },
};

/** Aspects averaged into the model-selection score (scripts/train/README.md). */
export const SELECTION: Aspect[] = [
  'phone.accuracy',
  'word.accuracy',
  'utterance.accuracy',
  'utterance.fluency',
  'utterance.prosody',
  'utterance.total',
];

export interface AspectFigures {
  n: number;
  pcc: number;
  pcc_ci95: [number, number];
  mse: number;
  mse_ci95: [number, number];
  pcc_api: number;
  mse_api: number;
}

export interface Summary {
  aspects: Record<Aspect, AspectFigures>;
  /** mean raw PCC over SELECTION */
  score: number;
  slices: Record<string, { speakers: number; utterances: number; pcc: Partial<Record<Aspect, number>>; pcc_ci95: Partial<Record<Aspect, [number, number]>> }>;
}

function figures(s: Series, draws: Uint16Array[]): AspectFigures {
  const ci = bootstrapCI(s.raw, s.gold, s.speaker, draws);
  return {
    n: s.gold.length,
    pcc: pearson(s.raw, s.gold),
    pcc_ci95: ci.pcc,
    mse: mse(s.raw, s.gold),
    mse_ci95: ci.mse,
    pcc_api: pearson(s.api, s.gold),
    mse_api: mse(s.api, s.gold),
  };
}

/** Items of `s` whose speaker is in `keep`, with speakers renumbered 0..keep.size-1. */
function subset(s: Series, keep: Map<number, number>): Series {
  const out: Series = { api: [], raw: [], gold: [], speaker: [] };
  s.speaker.forEach((spk, i) => {
    const j = keep.get(spk);
    if (j === undefined) return;
    out.api.push(s.api[i]!);
    out.raw.push(s.raw[i]!);
    out.gold.push(s.gold[i]!);
    out.speaker.push(j);
  });
  return out;
}

function sliceFigures(c: Collected, speakers: string[], draws: number, seed: number) {
  const keep = new Map<number, number>();
  speakers.forEach((sp, j) => keep.set(c.speakers.indexOf(sp), j));
  const d = speakerDraws(speakers.length, draws, seed);
  const pcc: Partial<Record<Aspect, number>> = {};
  const pcc_ci95: Partial<Record<Aspect, [number, number]>> = {};
  for (const a of ASPECTS) {
    const s = subset(c.series[a], keep);
    pcc[a] = pearson(s.raw, s.gold);
    pcc_ci95[a] = bootstrapCI(s.raw, s.gold, s.speaker, d).pcc;
  }
  const utterances = subset(c.series['utterance.total'], keep).gold.length;
  return { speakers: speakers.length, utterances, pcc, pcc_ci95 };
}

/**
 * @param sliceOf speaker → the slices it belongs to (e.g. ['child', 'female'])
 */
export function summarise(c: Collected, sliceOf: Map<string, string[]>, draws = 1000, seed = 762): Summary {
  const d = speakerDraws(c.speakers.length, draws, seed);
  const aspects = Object.fromEntries(ASPECTS.map((a) => [a, figures(c.series[a], d)])) as Record<Aspect, AspectFigures>;
  const score = SELECTION.reduce((acc, a) => acc + aspects[a].pcc, 0) / SELECTION.length;
  const groups = new Map<string, string[]>();
  for (const sp of c.speakers) for (const g of sliceOf.get(sp) ?? []) groups.set(g, [...(groups.get(g) ?? []), sp]);
  const slices: Summary['slices'] = {};
  for (const g of ['child', 'adult', 'female', 'male']) {
    const sp = groups.get(g);
    if (sp && sp.length) slices[g] = sliceFigures(c, sp, draws, seed);
  }
  return { aspects, score, slices };
}
