/**
 * Score a SpeechOcean762 split through the server's code path (decodeAudio + Scorer) and report
 * Pearson correlation (and MSE) with the human labels per level and aspect, with 95% confidence
 * intervals by bootstrap over speakers, beside GOPT's and HierCB+ConPCO's published rows; the same
 * PCCs for children vs adults and by gender; and the inference cost (real-time factor on one CPU
 * thread, model size, peak memory).
 *
 *   npm run eval -- [--split dev] [--data DIR] [--model models/default] [--providers cpu]
 *                   [--limit N] [--draws 1000] [--seed 762] [--json]
 *                   [--diagnostics [--timing-sentences 150]]
 *   npm run eval -- --rationales [--data DIR] [--limit N] [--keep-db DIR] [--json]
 *
 * --data DIR is one split in the dataset's own layout (scripts/eval/dataset.ts): DIR/scores.json,
 * audio in DIR/wav.scp, DIR/audio/ or DIR/../audio/, speakers from DIR/utt2spk, DIR/spk2age,
 * DIR/spk2gender. Without --data, the split is ../shared/speechocean762/<split>.
 * Canonical phones come from scores.json, so predictions align one-to-one with the labelled phones.
 * --json prints one flat object keyed like `phone.accuracy.pcc`, `utterance.fluency.pcc_ci95`.
 * --rationales [--keep-db DIR] measures the platform's rationales against the human labels instead
 * (scripts/eval/rationales.ts): the split is imported into a throwaway PGlite database (in memory,
 * or kept in DIR and reused by a later run), assessed by the worker, and each rationale checked
 * against its human labels; keys `rationale.vs_human.<figure>`, defined in src/rationale/README.md.
 * --diagnostics adds the sections of scripts/eval/diagnostics.ts (keys `diagnostics.<section>.<figure>`):
 * wrong text (own vs another utterance's text, scripts/eval/diagnostics-wrong-text.ts), omission
 * recall and false rate on the split's recordings with one word cut out, and word / phoneme
 * boundary errors on the split's texts synthesised by espeak-ng (scripts/eval/diagnostics-report.ts).
 */
import path from 'node:path';
import { Scorer } from '../src/inference/scorer.js';
import { collectOne, emptyCollected, type Collected } from './eval/collect.js';
import { diagnosticsJson, diagnosticsText, runDiagnostics, type DiagnosticResult, type DiagnosticSection } from './eval/diagnostics.js';
import { wrongTextSection } from './eval/diagnostics-wrong-text.js';
import { fileBytes, measureCpuOneThread, peakRssBytes, type RtfMeasure } from './eval/cost.js';
import { loadSplit, slicesOf, type EvalUtterance } from './eval/dataset.js';
import { toJson, toText, type Cost, type Report } from './eval/report.js';
import { summarise } from './eval/summarise.js';
import { omissionSection, timingSection } from './eval/diagnostics-report.js';
import { rationaleJson, rationaleText, runRationaleEval } from './eval/rationales.js';

interface Options {
  split: string;
  dataDir: string;
  modelDir: string;
  providers: string[];
  limit: number;
  draws: number;
  seed: number;
  json: boolean;
  diagnostics: boolean;
  timingSentences: number;
  rationales: boolean;
  keepDb: string | null;
}

/** What `--diagnostics` measures, in report order. */

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] && !process.argv[i + 1]!.startsWith('--') ? process.argv[i + 1]! : fallback;
}

function options(): Options {
  const split = arg('split', 'dev');
  return {
    split,
    dataDir: path.resolve(arg('data', path.join('../shared/speechocean762', split))),
    modelDir: path.resolve(arg('model', 'models/default')),
    providers: arg('providers', 'cpu').split(','),
    limit: Number(arg('limit', '0')),
    draws: Number(arg('draws', '1000')),
    seed: Number(arg('seed', '762')),
    json: process.argv.includes('--json'),
    diagnostics: process.argv.includes('--diagnostics'),
    timingSentences: Number(arg('timing-sentences', '150')),
    rationales: process.argv.includes('--rationales'),
    keepDb: arg('keep-db', '') || null,
  };
}

/** CPU sessions get one intra-op thread so the real-time factor is per core. */
async function loadScorer(o: Options, log: (l: string) => void): Promise<Scorer> {
  const cpuOnly = o.providers.every((p) => p.trim().toLowerCase() === 'cpu');
  const scorer = await Scorer.load(o.modelDir, { providers: o.providers, log, ...(cpuOnly ? { intraOpNumThreads: 1 } : {}) });
  await scorer.warmUp();
  return scorer;
}

async function scoreAll(scorer: Scorer, utts: readonly EvalUtterance[], log: (l: string) => void): Promise<Collected> {
  const c = emptyCollected();
  for (const [n, u] of utts.entries()) {
    await collectOne(c, scorer, u);
    if ((n + 1) % 100 === 0) log(`  ${n + 1}/${utts.length}`);
  }
  return c;
}

async function measureCost(o: Options, scorer: Scorer, c: Collected, utts: readonly EvalUtterance[]): Promise<Cost> {
  // on CPU the main pass already ran on one thread; otherwise time a CPU session on a subset
  const cpu: RtfMeasure =
    scorer.executionProvider === 'cpu' && o.providers.every((p) => p.trim().toLowerCase() === 'cpu')
      ? c
      : await measureCpuOneThread(o.modelDir, utts.slice(0, 100));
  return {
    provider: scorer.executionProvider,
    rtfCpu1: cpu.scoreSeconds / cpu.audioSeconds,
    rtfCpu1WithDecode: (cpu.scoreSeconds + cpu.decodeSeconds) / cpu.audioSeconds,
    rtfAudioSeconds: cpu.audioSeconds,
    rtfProvider: c.scoreSeconds / c.audioSeconds,
    modelBytes: [scorer.bundle.modelPath, scorer.bundle.headsPath, scorer.bundle.nativePath, scorer.bundle.nativeTriphonesPath].reduce((n, p) => n + (p ? fileBytes(p) : 0), 0),
    peakRssBytes: peakRssBytes(),
  };
}

async function rationalesMain(o: Options, log: (l: string) => void): Promise<void> {
  const r = await runRationaleEval({
    dataDir: o.dataDir, modelDir: o.modelDir, providers: o.providers, limit: o.limit,
    keepDb: o.keepDb, draws: o.draws, seed: o.seed, log,
  });
  console.log(o.json ? JSON.stringify(rationaleJson(r), null, 2) : rationaleText(r));
  if (r.rationales === 0) process.exitCode = 1;
}

async function main(): Promise<void> {
  const o = options();
  const log = (l: string) => (o.json ? console.error(l) : console.log(l));
  if (o.rationales) return rationalesMain(o, log);
  const utts = loadSplit(o.dataDir, o.limit);
  const scorer = await loadScorer(o, log);
  log(`model ${scorer.modelName} ${scorer.modelVersion} on ${scorer.executionProvider}; ${utts.length} utterances from ${o.dataDir}`);
  const c = await scoreAll(scorer, utts, log);
  const sliceOf = new Map(utts.map((u) => [u.speaker, slicesOf(u)]));
  const report: Report = {
    split: o.split,
    data: o.dataDir,
    model: { name: scorer.modelName, version: scorer.modelVersion, provider: scorer.executionProvider },
    utterances: c.utterances,
    speakers: c.speakers.length,
    summary: summarise(c, sliceOf, o.draws, o.seed),
    cost: await measureCost(o, scorer, c, utts),
    scaleViolations: c.scaleViolations,
  };
  const sections: DiagnosticSection[] = [wrongTextSection, omissionSection, timingSection(o.timingSentences)];
  const diagnostics: DiagnosticResult[] = o.diagnostics ? await runDiagnostics(sections, scorer, utts, log) : [];
  await scorer.release();
  console.log(o.json ? JSON.stringify({ ...toJson(report), ...diagnosticsJson(diagnostics) }, null, 2) : toText(report) + diagnosticsText(diagnostics));
  if (c.scaleViolations.length) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
