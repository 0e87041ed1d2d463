/**
 * The native-English model's graph (models/default/native.onnx) against a baseline graph of the
 * same model, in the same run: ms per recording through the server's runNative on real dev/
 * recordings, one onnxruntime thread each, the two graphs alternating round by round; and how far
 * their CI outputs and the server's native phone columns differ. A graph exported
 * --context-dependent also scores each recording's reference triphones (the bundle's table), as the
 * server does, so its time is what a recording costs in service.
 *
 *   git show f23d8b3:models/default/native.onnx > /tmp/native-2.2.0.onnx   # so762-gop-2.2.0 as released
 *   npm run bench -- native --baseline /tmp/native-2.2.0.onnx [--recordings 40] [--rounds 5]
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { decodeAudio } from '../../src/audio/decode.js';
import { nativePhoneFeatures, type NativeLoglik } from '../../src/inference/gop/native.js';
import { runNativeFor, TriphoneTable } from '../../src/inference/gop/native-cd.js';
import { createSession } from '../../src/inference/session.js';
import { analyzeReferenceText } from '../../src/text/reference.js';
import { hasSharedData } from '../../tests/support/audio-fixtures.js';
import { speechOceanUtterances } from '../../tests/support/speech.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function runNativeBench(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { baseline: { type: 'string' }, recordings: { type: 'string', default: '40' }, rounds: { type: 'string', default: '5' } } });
  if (!values.baseline) throw new Error('--baseline FILE: the graph to compare models/default/native.onnx with (see the comment at the top of scripts/bench/native.ts)');
  if (!hasSharedData) {
    console.log('native: skipped, ../shared/speechocean762 is absent (the bench reads dev/ recordings)');
    return;
  }
  const utterances = speechOceanUtterances('dev', Number(values.recordings));
  const samples = await Promise.all(utterances.map(async (u) => (await decodeAudio(u.bytes, { maxSeconds: 600, minSeconds: 0 })).samples));
  const seconds = samples.reduce((s, x) => s + x.length / 16000, 0);
  const open = async (file: string) => (await createSession(path.resolve(file), ['cpu'], { intraOpNumThreads: 1, log: () => undefined })).session;
  const graphs = { baseline: await open(values.baseline), bundle: await open('models/default/native.onnx') };
  const words = utterances.map((u) => analyzeReferenceText(u.text).map((w) => w.phones));
  const tableFile = 'models/default/native-triphones.u16';
  const table = fs.existsSync(tableFile) ? TriphoneTable.fromBytes(fs.readFileSync(tableFile)) : null;
  const runAll = async (session: ort.InferenceSession) => {
    const takesSenones = session.inputNames.includes('cd_senones');
    const model = { table: takesSenones ? table : null, takesSenones };
    const out: NativeLoglik[] = [];
    for (const [i, s] of samples.entries()) out.push((await runNativeFor((f) => session.run(f), s, words[i]!, model)).loglik);
    return out;
  };
  const times: Record<keyof typeof graphs, number[]> = { baseline: [], bundle: [] };
  const outputs: Partial<Record<keyof typeof graphs, NativeLoglik[]>> = {};
  for (const name of ['baseline', 'bundle'] as const) outputs[name] = await runAll(graphs[name]); // warm-up, and the outputs compared
  for (let r = 0; r < Number(values.rounds); r++) {
    const order: (keyof typeof graphs)[] = r % 2 ? ['bundle', 'baseline'] : ['baseline', 'bundle'];
    for (const name of order) {
      const started = performance.now();
      await runAll(graphs[name]);
      times[name].push((performance.now() - started) / samples.length);
    }
  }
  let worstLl = 0;
  let worstColumn = 0;
  outputs.baseline!.forEach((a, i) => {
    const b = outputs.bundle![i]!;
    for (let k = 0; k < a.ll.length; k++) worstLl = Math.max(worstLl, Math.abs(a.ll[k]! - b.ll[k]!) / (1 + Math.abs(a.ll[k]!)));
    const fa = nativePhoneFeatures(a, words[i]!);
    const fb = nativePhoneFeatures(b, words[i]!);
    for (let k = 0; k < fa.length; k++) if (!Number.isNaN(fa[k]!)) worstColumn = Math.max(worstColumn, Math.abs(fa[k]! - fb[k]!) / (1 + Math.abs(fa[k]!)));
  });
  const base = median(times.baseline);
  const ours = median(times.bundle);
  console.log(`native graph, ${samples.length} dev recordings (${seconds.toFixed(1)} s), one thread, median of ${values.rounds} rounds: ` +
    `baseline ${base.toFixed(1)} ms/recording, models/default ${ours.toFixed(1)} ms/recording, speedup ${(base / ours).toFixed(2)}x ` +
    `(real-time factor ${(base * samples.length / 1000 / seconds).toFixed(4)} -> ${(ours * samples.length / 1000 / seconds).toFixed(4)})`);
  console.log(`outputs: senone log-likelihoods differ by at most ${worstLl.toExponential(1)} (relative), native phone columns by ${worstColumn.toExponential(1)}`);
  await Promise.all([graphs.baseline.release(), graphs.bundle.release()]);
}
