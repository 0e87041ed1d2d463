/**
 * One stream of bare replays for `npm run bench -- batching` (./batching.ts), in a worker thread of
 * its own: the bundle's graphs opened here with `intraOpNumThreads`, then the runs it was given
 * replayed one after another when the main thread says go. Several such streams at once are the
 * raw baseline with the same parallelism as several model threads, so the platform's model threads
 * are also compared with bare runs spread over the cores the same way.
 *
 * workerData: { paths: Record<graph, file>, intraOpNumThreads, runs: { graph, feeds }[] }; out:
 * 'ready' (sessions open, each warmed on its first run), then { seconds } after 'go'.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

export interface WireTensor { type: ort.Tensor.Type; dims: readonly number[]; data: ort.Tensor.DataType }
export interface WireRun { graph: string; feeds: Record<string, WireTensor> }
export interface StreamData { paths: Record<string, string>; intraOpNumThreads: number; runs: WireRun[] }

const { paths, intraOpNumThreads, runs } = workerData as StreamData;
const port = parentPort!;

const sessions = new Map<string, ort.InferenceSession>();
for (const [graph, file] of Object.entries(paths)) {
  sessions.set(graph, await ort.InferenceSession.create(file, { graphOptimizationLevel: 'all', intraOpNumThreads }));
}
const feeds = runs.map((r) => ({
  session: sessions.get(r.graph)!,
  feeds: Object.fromEntries(Object.entries(r.feeds).map(([name, t]) => [name, new ort.Tensor(t.type, t.data as never, t.dims)])),
}));
// warm-up: one run of each graph
for (const session of sessions.values()) {
  const first = feeds.find((f) => f.session === session);
  if (first) await session.run(first.feeds);
}
port.postMessage('ready');
port.once('message', async () => {
  const started = performance.now();
  for (const f of feeds) await f.session.run(f.feeds);
  port.postMessage({ seconds: (performance.now() - started) / 1000 });
  for (const s of sessions.values()) await s.release();
});
