/**
 * Voice-activity detection per recording, before and after batching, in the same run:
 *
 * - before: Silero in this thread, one recording after another (one session call per 32 ms window);
 * - after: the same recordings handed over at once, as concurrent uploads are, to BatchedSpeechDetector
 *   (one row per recording: one session call per window of the longest), in this thread and through a
 *   one-thread VadPool (what the API runs: it adds the copy to and from the thread);
 *
 * and what the worker pays to get a job's samples: decoding the stored original again, against
 * reading the samples the intake kept (AudioStore.readDecoded).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { decodeAudio } from '../../src/audio/decode.js';
import { AudioStore } from '../../src/audio/store.js';
import { BatchedSpeechDetector, SpeechDetector, type VoiceActivityDetector } from '../../src/audio/vad.js';
import { VadPool } from '../../src/audio/vad-pool.js';
import { speechOceanUtterances } from '../../tests/support/speech.js';

const WINDOW = 512;
const ROUNDS = 3;

export interface VadBench {
  recordings: number;
  audioSeconds: number;
  beforeMsPerRecording: number;
  afterMsPerRecording: number;
  poolMsPerRecording: number;
  sessionCallsBefore: number;
  sessionCallsAfter: number;
  decodeMsPerRecording: number;
  keptMsPerRecording: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Median over ROUNDS of the ms per recording of `round`, after one untimed warm-up round. */
async function msPerRecording(count: number, round: () => Promise<unknown>): Promise<number> {
  await round();
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const started = performance.now();
    await round();
    times.push((performance.now() - started) / count);
  }
  return median(times);
}

async function timeDetector(detector: VoiceActivityDetector, samples: Float32Array[], together: boolean): Promise<number> {
  try {
    return await msPerRecording(samples.length, async () => {
      if (together) return Promise.all(samples.map((s) => detector.detect(s)));
      for (const s of samples) await detector.detect(s);
    });
  } finally {
    await detector.close();
  }
}

export async function benchVad(utterances: { bytes: Uint8Array }[]): Promise<VadBench> {
  const decoded = await Promise.all(utterances.map((u) => decodeAudio(u.bytes, { maxSeconds: 600, minSeconds: 0 })));
  const samples = decoded.map((d) => d.samples);
  const windows = samples.map((s) => Math.ceil(s.length / WINDOW));

  const beforeMs = await timeDetector(new SpeechDetector(), samples, false);
  const afterMs = await timeDetector(new BatchedSpeechDetector(samples.length), samples, true);
  const poolMs = await timeDetector(new VadPool(1, samples.length), samples, true);

  const dir = await mkdtemp(path.join(os.tmpdir(), 'speechmark-bench-vad-'));
  try {
    const store = new AudioStore(dir);
    const shas = await Promise.all(
      utterances.map(async (u, i) => {
        const { sha256 } = await store.put(u.bytes, decoded[i]!.format);
        await store.putDecoded(sha256, samples[i]!);
        return sha256;
      }),
    );
    const decodeMs = await msPerRecording(shas.length, async () => {
      for (const sha of shas) await decodeAudio(await store.read(sha), { maxSeconds: 600, minSeconds: 0 });
    });
    const keptMs = await msPerRecording(shas.length, async () => {
      for (const sha of shas) await store.readDecoded(sha);
    });
    return {
      recordings: samples.length,
      audioSeconds: decoded.reduce((sum, d) => sum + d.durationSeconds, 0),
      beforeMsPerRecording: beforeMs,
      afterMsPerRecording: afterMs,
      poolMsPerRecording: poolMs,
      sessionCallsBefore: windows.reduce((a, b) => a + b, 0),
      sessionCallsAfter: Math.max(...windows),
      decodeMsPerRecording: decodeMs,
      keptMsPerRecording: keptMs,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The lines `npm run bench` prints, and the figures of --json. */
export function reportVad(r: VadBench): { lines: string[]; figures: Record<string, number> } {
  const speedup = r.beforeMsPerRecording / r.afterMsPerRecording;
  const loadSpeedup = r.decodeMsPerRecording / r.keptMsPerRecording;
  return {
    lines: [
      `voice activity, ${r.recordings} recordings (${r.audioSeconds.toFixed(1)} s): one at a time in this thread ${r.beforeMsPerRecording.toFixed(2)} ms/recording ` +
        `(${r.sessionCallsBefore} session calls); all at once, batched ${r.afterMsPerRecording.toFixed(2)} ms/recording (${r.sessionCallsAfter} calls), ` +
        `speedup ${speedup.toFixed(2)}x; through the thread pool ${r.poolMsPerRecording.toFixed(2)} ms/recording (ratio to before ${(r.beforeMsPerRecording / r.poolMsPerRecording).toFixed(2)})`,
      `worker's samples per job: decoding the stored original ${r.decodeMsPerRecording.toFixed(2)} ms, reading the kept decoded samples ` +
        `${r.keptMsPerRecording.toFixed(2)} ms (ratio ${loadSpeedup.toFixed(1)}x)`,
    ],
    figures: {
      'vad.ms_per_recording': r.afterMsPerRecording,
      'vad.before_ms_per_recording': r.beforeMsPerRecording,
      'vad.pool_ms_per_recording': r.poolMsPerRecording,
      'vad.speedup': speedup,
      'vad.session_calls_before': r.sessionCallsBefore,
      'vad.session_calls_after': r.sessionCallsAfter,
      'worker_load.decode_ms_per_recording': r.decodeMsPerRecording,
      'worker_load.kept_ms_per_recording': r.keptMsPerRecording,
      'worker_load.speedup': loadSpeedup,
    },
  };
}

/** `npm run bench -- vad [--count N] [--json]`: this bench alone, on the first N dev recordings. */
export async function runVadBench(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { count: { type: 'string', default: '20' }, json: { type: 'boolean', default: false } },
  });
  const { lines, figures } = reportVad(await benchVad(speechOceanUtterances('dev', Number(values.count))));
  if (values.json) console.log(JSON.stringify(figures));
  else for (const line of lines) console.log(line);
}
