/** The evaluation report: a markdown table for people, one flat JSON object for machines. */
import { ASPECTS, type Aspect } from './collect.js';
import { BASELINES, type Summary } from './summarise.js';

export interface Cost {
  provider: string;
  /** model time / audio time, CPU provider with intraOpNumThreads 1 (null when not measured) */
  rtfCpu1: number | null;
  rtfCpu1WithDecode: number | null;
  /** seconds of audio the CPU one-thread measurement covered */
  rtfAudioSeconds: number;
  /** model time / audio time on the evaluated provider (with its default threads) */
  rtfProvider: number;
  modelBytes: number;
  /** process RSS high-water mark (process.resourceUsage().maxRSS) */
  peakRssBytes: number;
}

export interface Report {
  split: string;
  data: string;
  model: { name: string; version: string; provider: string };
  utterances: number;
  speakers: number;
  summary: Summary;
  cost: Cost;
  scaleViolations: string[];
}

const f = (v: number | null | undefined, d = 3) => (v !== null && v !== undefined && Number.isFinite(v) ? v.toFixed(d) : 'n/a');
const ci = (c: [number, number] | undefined) => (c && Number.isFinite(c[0]) ? `[${f(c[0])}, ${f(c[1])}]` : 'n/a');
const label = (a: Aspect) => a.replace('.', ' ').replace('utterance', 'utt');

/** Flat JSON keyed like `phone.accuracy.pcc`, `utterance.fluency.pcc_ci95`, `slice.child.phone.accuracy.pcc`. */
export function toJson(r: Report): Record<string, unknown> {
  const out: Record<string, unknown> = {
    split: r.split,
    data: r.data,
    'model.name': r.model.name,
    'model.version': r.model.version,
    'model.provider': r.model.provider,
    utterances: r.utterances,
    speakers: r.speakers,
    score: r.summary.score,
  };
  for (const a of ASPECTS) {
    const x = r.summary.aspects[a];
    Object.assign(out, {
      [`${a}.n`]: x.n,
      [`${a}.pcc`]: x.pcc,
      [`${a}.pcc_ci95`]: x.pcc_ci95,
      [`${a}.mse`]: x.mse,
      [`${a}.mse_ci95`]: x.mse_ci95,
      [`${a}.pcc_api`]: x.pcc_api,
      [`${a}.mse_api`]: x.mse_api,
    });
  }
  for (const [name, s] of Object.entries(r.summary.slices)) {
    out[`slice.${name}.speakers`] = s.speakers;
    out[`slice.${name}.utterances`] = s.utterances;
    for (const a of ASPECTS) {
      out[`slice.${name}.${a}.pcc`] = s.pcc[a];
      out[`slice.${name}.${a}.pcc_ci95`] = s.pcc_ci95[a];
    }
  }
  for (const [key, b] of Object.entries(BASELINES)) for (const a of ASPECTS) out[`baseline.${key}.${a}.pcc`] = b.pcc[a];
  Object.assign(out, {
    'cost.rtf_cpu_1thread': r.cost.rtfCpu1,
    'cost.rtf_cpu_1thread_with_decode': r.cost.rtfCpu1WithDecode,
    'cost.rtf_provider': r.cost.rtfProvider,
    'cost.model_bytes': r.cost.modelBytes,
    'cost.peak_rss_bytes': r.cost.peakRssBytes,
    scale_violations: r.scaleViolations.length,
  });
  // JSON has no NaN: undefined correlations become null
  return JSON.parse(JSON.stringify(out, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)));
}

function mainTable(r: Report): string[] {
  const [g, h] = [BASELINES.gopt!, BASELINES.hiercbConpco!];
  const lines = [
    `| level aspect | PCC (raw) | 95% CI (speaker bootstrap) | PCC (API labels) | MSE (raw) | ${g.label} | ${h.label} |`,
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const a of ASPECTS) {
    const x = r.summary.aspects[a];
    lines.push(`| ${label(a)} | ${f(x.pcc)} | ${ci(x.pcc_ci95)} | ${f(x.pcc_api)} | ${f(x.mse)} | ${f(g.pcc[a])} | ${f(h.pcc[a])} |`);
  }
  const p = r.summary.aspects['phone.accuracy'];
  lines.push(`| phone MSE | ${f(p.mse)} | ${ci(p.mse_ci95)} | ${f(p.mse_api)} | | ${f(g.phoneMse)} | |`);
  return lines;
}

function sliceTable(r: Report): string[] {
  const names = Object.keys(r.summary.slices);
  if (!names.length) return ['(no spk2age / spk2gender: no fairness slices)'];
  const head = names.map((n) => `${n} (${r.summary.slices[n]!.speakers} spk)`);
  const lines = [`| level aspect | ${head.join(' | ')} |`, `| --- |${names.map(() => ' --- |').join('')}`];
  for (const a of ASPECTS) {
    lines.push(`| ${label(a)} | ${names.map((n) => `${f(r.summary.slices[n]!.pcc[a])} ${ci(r.summary.slices[n]!.pcc_ci95[a])}`).join(' | ')} |`);
  }
  return lines;
}

export function toText(r: Report): string {
  const c = r.cost;
  return [
    '',
    `SpeechOcean762 ${r.split} (${r.data}): ${r.utterances} utterances, ${r.speakers} speakers, ` +
      `${r.summary.aspects['word.accuracy'].n} words, ${r.summary.aspects['phone.accuracy'].n} phones; ` +
      `model ${r.model.name} ${r.model.version} on ${r.model.provider}`,
    'Pearson correlation with the human labels. "raw": the continuous outputs (what published figures use); ' +
      '"API labels": the integers / one-decimal phones the API returns. Baselines: published, whole test split, released labels.',
    ...mainTable(r),
    `mean PCC (phone, word acc, utt acc, fluency, prosody, total): ${f(r.summary.score)}`,
    'n/a: undefined because one side is constant (e.g. every word\'s stress decoded as 10).',
    '',
    'Fairness slices (PCC of raw outputs, 95% CI by speaker bootstrap within the slice; child: age < 18):',
    ...sliceTable(r),
    '',
    `Inference cost: real-time factor on CPU, one thread (intraOpNumThreads 1): model ${f(c.rtfCpu1, 4)}, ` +
      `with decoding ${f(c.rtfCpu1WithDecode, 4)} (over ${c.rtfAudioSeconds.toFixed(0)} s of audio); ` +
      `on ${r.model.provider} as evaluated: ${f(c.rtfProvider, 4)}`,
    `model size ${(c.modelBytes / 1e6).toFixed(2)} MB; peak memory (process RSS high-water mark) ${(c.peakRssBytes / 2 ** 20).toFixed(0)} MiB`,
    `scale violations in API labels: ${r.scaleViolations.length}${r.scaleViolations.length ? ` (e.g. ${r.scaleViolations.slice(0, 3).join('; ')})` : ''}`,
  ].join('\n');
}
