/**
 * How far the batched acoustic graph is from the unbatched one on real recordings: SpeechOcean762
 * train/ utterances sorted by length and run in batches of consecutive lengths, each row compared
 * with the unbatched run of the same recording on its own frames (log-posteriors, frame energy),
 * then the heads' continuous scores from both.
 *
 *   npx tsx scripts/export-batched/verify.ts [--count 40] [--batch 8]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { decodeAudio } from '../../src/audio/decode.js';
import { runAcousticBatch } from '../../src/inference/gop/batched-acoustic.js';
import { runAcoustic, runHeads, type AcousticResult } from '../../src/inference/gop/engine.js';
import { padSamples } from '../../src/inference/scorer-base.js';
import type { ReferenceWord } from '../../src/types.js';

const DATA = path.resolve(process.env.SPEECHOCEAN762_DIR ?? '../shared/speechocean762');
const BUNDLE = path.resolve('models/default');

interface Recording { id: string; samples: Float32Array; words: ReferenceWord[] }

async function recordings(count: number): Promise<Recording[]> {
  const scores = JSON.parse(readFileSync(path.join(DATA, 'train', 'scores.json'), 'utf8')) as Record<string, { words: { text: string; phones: string[] }[] }>;
  const ids = Object.keys(scores).sort().filter((_, i) => i % 50 === 0).slice(0, count);
  const out: Recording[] = [];
  for (const id of ids) {
    const audio = await decodeAudio(new Uint8Array(readFileSync(path.join(DATA, 'audio', `${id}.flac`))), { maxSeconds: 60, minSeconds: 0.3 });
    const words = scores[id]!.words.map((w) => ({ text: w.text, phones: w.phones, source: 'dataset' as const }));
    out.push({ id, samples: padSamples(audio.samples), words });
  }
  return out.sort((a, b) => a.samples.length - b.samples.length);
}

/** Largest |a - b| and how many elements differ at all. */
function compare(a: Float32Array, b: Float32Array): { max: number; differing: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let max = 0;
  let differing = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (d > 0) differing++;
    if (d > max) max = d;
  }
  return { max, differing };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { count: { type: 'string', default: '40' }, batch: { type: 'string', default: '8' } } });
  const [count, batch] = [Number(values.count), Number(values.batch)];
  const opts = { graphOptimizationLevel: 'all' as const, logSeverityLevel: 3 as const };
  const plain = await ort.InferenceSession.create(path.join(BUNDLE, 'acoustic.onnx'), opts);
  const batched = await ort.InferenceSession.create(path.join(BUNDLE, 'acoustic-batched.onnx'), opts);
  const heads = await ort.InferenceSession.create(path.join(BUNDLE, 'heads.onnx'), opts);
  const recs = await recordings(count);
  const worst = { logp: 0, energy: 0, scores: 0, padding: 0 };
  let rowsBitwise = 0;
  for (let i = 0; i < recs.length; i += batch) {
    const group = recs.slice(i, i + batch);
    const together = await runAcousticBatch((f) => batched.run(f), group.map((r) => r.samples), 3);
    for (const [b, rec] of group.entries()) {
      const alone: AcousticResult = await runAcoustic((f) => plain.run(f), rec.samples, 3);
      const row = together[b]!;
      const lp = alone.logp.map((m, k) => compare(m, row.logp[k]!));
      const logpMax = Math.max(...lp.map((c) => c.max));
      const energy = compare(alone.track.energy, row.track.energy);
      const s1 = await runHeads((f) => heads.run(f), alone, rec.words);
      const s2 = await runHeads((f) => heads.run(f), row, rec.words);
      const flat = (s: typeof s1) => Float32Array.from([...s.utterance, ...s.words.flat(), ...s.phones]);
      const scores = compare(flat(s1), flat(s2));
      if (logpMax === 0 && energy.max === 0) rowsBitwise++;
      const padding = group[group.length - 1]!.samples.length / rec.samples.length - 1;
      worst.logp = Math.max(worst.logp, logpMax);
      worst.energy = Math.max(worst.energy, energy.max);
      worst.scores = Math.max(worst.scores, scores.max);
      worst.padding = Math.max(worst.padding, padding);
      console.log(`${rec.id} ${(rec.samples.length / 16000).toFixed(2)} s, padded +${(padding * 100).toFixed(0)}%: log-posteriors max |diff| ${logpMax.toExponential(2)}, energy ${energy.max.toExponential(2)}, scores ${scores.max.toExponential(2)}`);
    }
  }
  console.log(JSON.stringify({ recordings: recs.length, batch, rowsBitwise, maxAbsDiff: worst }));
}

await main();
