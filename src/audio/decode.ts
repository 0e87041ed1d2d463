/**
 * Upload bytes → 16 kHz mono float PCM, with the client-facing errors the API promises
 * (UNSUPPORTED_MEDIA_TYPE, CORRUPT_AUDIO, AUDIO_TOO_LONG, AUDIO_TOO_SHORT).
 *
 * Decoding is bounded, because compressed audio can expand a thousandfold: a 5 MB FLAC of silence
 * with its length field zeroed decoded to 2.4 GB when the whole file went to the decoder at once.
 * So the header is checked first (rate, channels, codec, declared length), then the file is fed to
 * the codec's streaming decoder a few KiB at a time and decoding stops the moment the frames decoded
 * so far exceed the duration limit. Each chunk is downmixed as it arrives, so at most the limit's
 * worth of mono PCM (plus one chunk's output) is ever held.
 *
 * The header checks must read the file as the decoder does, or a file passes them and the decoder
 * does unbounded work on what it read instead. So WAV is decoded here from the header we checked
 * (./wav.ts), and M4A's checks walk the boxes its demuxer walks (./mp4-header.ts), which is then
 * given the whole file at once: its output is bounded by the frames checked, not by chunking.
 */
import decode from 'audio-decode';
import { AppError } from '../errors.js';
import { assertStreamBounds } from './bounds.js';
import { log } from '../ops/log.js';
import { headerInfo, type HeaderInfo } from './header-duration.js';
import { readMp4 } from './mp4-header.js';
import { resample } from './resample.js';
import { id3v2Size, sniffAudioFormat, type AudioFormat } from './sniff.js';
import { readWavHeader, wavChunks, type WavHeader } from './wav.js';

export const TARGET_SAMPLE_RATE = 16000;

export interface DecodedAudio {
  /** 16 kHz mono, nominally in [-1, 1] */
  samples: Float32Array;
  sampleRate: typeof TARGET_SAMPLE_RATE;
  durationSeconds: number;
  format: AudioFormat;
  sourceSampleRate: number;
  sourceChannels: number;
}

export interface DurationLimits {
  maxSeconds: number;
  minSeconds: number;
}

/** One step of audio-decode's streaming decoder: a chunk in, the PCM it completed out. */
interface ChunkResult {
  channelData: Float32Array[];
  sampleRate: number;
}
interface StreamDecoder {
  (chunk?: Uint8Array): Promise<ChunkResult>;
  free(): void;
}

/**
 * Bytes handed to the decoder per step. The worst case between two length checks is one chunk's
 * output: FLAC constant subframes reach ~4,600 samples per 12 bytes, so 4 KiB can yield ~6 MB of
 * float PCM; Opus and MP3 expand far less. WebM gets 1 KiB: its decoder's cost grows with the square
 * of the frames in one chunk (64 KiB of silent Opus frames took 116 s, 1 KiB chunks 0.25 s). WAV
 * (decoded here) expands at most 4x and its length is bounded by its header. M4A is not chunked.
 */
const CHUNK_BYTES: Partial<Record<AudioFormat, number>> = { wav: 1 << 20, webm: 1024 };
const DEFAULT_CHUNK_BYTES = 4096;
/**
 * Input after which a decoder that has produced nothing is given up on. Some decoders keep rescanning
 * what they could not parse (1 MiB of junk after a WebM header took 0.3 s, 4 MiB took 4.5 s), so junk
 * is refused at 1 MiB rather than at the 20 MiB upload limit. Real streams yield audio every few KiB;
 * cover art and other metadata before the audio are not counted.
 */
const MAX_BYTES_WITHOUT_AUDIO = 1 << 20;

const round2 = (x: number): number => Math.round(x * 100) / 100;

function tooLong(seconds: number, limits: DurationLimits): AppError {
  return new AppError(
    'AUDIO_TOO_LONG',
    `Recording is ${round2(seconds)} s long; the limit is ${limits.maxSeconds} s.`,
    { durationSeconds: round2(seconds), maxSeconds: limits.maxSeconds },
  );
}

/** Decoding stopped at the limit: the true length is unknown, only that it is over. */
function overLimit(limits: DurationLimits): AppError {
  return new AppError('AUDIO_TOO_LONG', `Recording is longer than the ${limits.maxSeconds} s limit.`, {
    maxSeconds: limits.maxSeconds,
  });
}

function corrupt(format: AudioFormat, message: string, details: Record<string, unknown> = {}): AppError {
  return new AppError('CORRUPT_AUDIO', message, { format, ...details });
}

function sniffOrThrow(bytes: Uint8Array): AudioFormat {
  if (bytes.length === 0) throw new AppError('CORRUPT_AUDIO', 'The uploaded audio is an empty file.');
  const format = sniffAudioFormat(bytes);
  if (!format) {
    throw new AppError(
      'UNSUPPORTED_MEDIA_TYPE',
      'Unrecognized audio format; send WAV, FLAC, OGG (Vorbis/Opus), MP3, WebM (Opus), M4A/MP4 (AAC) or ADTS AAC.',
    );
  }
  return format;
}

/**
 * Refuse from the header alone what it proves unacceptable: odd rates or channel counts, codecs we do
 * not decode, or a declared length over the limit (no decode needed). Headers that do not state a
 * length (MP3, WebM, a zeroed FLAC count) are bounded while decoding instead.
 */
function checkHeader(format: AudioFormat, bytes: Uint8Array, limits: DurationLimits): HeaderInfo | null {
  const info = format === 'wav' ? readWavHeader(bytes) : format === 'm4a' ? checkMp4(bytes) : headerInfo(format, bytes);
  if (!info) return null;
  assertStreamBounds(format, info.sampleRate, info.channels);
  if (info.seconds !== null && info.seconds > limits.maxSeconds) throw tooLong(info.seconds, limits);
  return info;
}

/** Sample entries an M4A's sound track may have: AAC ('mp4a'). */
const M4A_CODECS = new Set(['mp4a']);

/** M4A: the sound track the demuxer will decode, refused when a table it sizes arrays by lies. */
function checkMp4(bytes: Uint8Array): HeaderInfo {
  const { info, problem, codec } = readMp4(bytes);
  if (problem) throw corrupt('m4a', problem.message, { box: problem.box });
  // M4A means AAC, whose frames decode to 1,024 samples, as the length bound counts: the demuxer
  // would also decode ALAC, FLAC, Opus or AMR, whose frames declare their own counts (an ALAC frame
  // flagged partial names any count, whatever its cookie says), and M4A is decoded in one call, so
  // such a track's declared length says nothing of what it decodes to.
  if (codec != null && !M4A_CODECS.has(codec)) {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', `The MP4/M4A file's sound track is ${JSON.stringify(codec)}, not AAC; send AAC in M4A, or the audio as WAV, FLAC or Ogg.`, { format: 'm4a', codec });
  }
  // Without a sample table there is nothing to decode, and nothing bounds what the decoder would buffer.
  if (!info) throw corrupt('m4a', 'The MP4/M4A file has no sound track with a sample table (moov box missing or damaged).');
  return info;
}

/** audio-decode's codec name: Ogg carries Opus, Vorbis or FLAC, told apart by its first packet. */
function codecName(format: AudioFormat, bytes: Uint8Array): string {
  if (format !== 'ogg') return format;
  const payload = bytes.subarray(27 + (bytes[26] ?? 0));
  const starts = (sig: string) => [...sig].every((c, i) => payload[i] === c.charCodeAt(0));
  if (starts('OpusHead')) return 'opus';
  if (starts('\x7fFLAC')) return 'flac';
  return 'oga';
}

/** Mono PCM collected chunk by chunk, refusing as soon as it passes the limit. */
class BoundedPcm {
  private readonly parts: Float32Array[] = [];
  private frames = 0;
  sampleRate = 0;
  channels = 0;

  constructor(
    private readonly format: AudioFormat,
    private readonly limits: DurationLimits,
  ) {}

  /** Returns whether the chunk held any audio. */
  get decodedFrames(): number {
    return this.frames;
  }

  add(result: ChunkResult): boolean {
    const channels = result?.channelData ?? [];
    const length = channels[0]?.length ?? 0;
    if (length === 0) return false;
    this.checkStream(result.sampleRate, channels.length);
    assertFinite(channels, this.format);
    this.frames += length;
    if (this.frames > this.limits.maxSeconds * this.sampleRate) throw overLimit(this.limits);
    this.parts.push(downmixCopy(channels, length));
    return true;
  }

  /** Every chunk must agree with the first: a stream that changes rate mid-way is damaged. */
  private checkStream(sampleRate: number, channels: number): void {
    if (!this.sampleRate) {
      assertStreamBounds(this.format, sampleRate, channels);
      this.sampleRate = sampleRate;
    } else if (sampleRate !== this.sampleRate) {
      throw corrupt(this.format, `The ${this.format} stream changes sample rate mid-way (${this.sampleRate} → ${sampleRate} Hz).`);
    }
    if (channels > this.channels) assertStreamBounds(this.format, sampleRate, channels);
    this.channels = Math.max(this.channels, channels);
  }

  finish(): Float32Array {
    if (this.frames === 0) throw corrupt(this.format, `The ${this.format} file decoded to no audio samples.`);
    const out = new Float32Array(this.frames);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

function assertFinite(channels: Float32Array[], format: AudioFormat): void {
  for (const ch of channels) {
    for (let i = 0; i < ch.length; i++) {
      if (!Number.isFinite(ch[i])) {
        throw corrupt(format, `The ${format} file decoded to invalid (NaN/infinite) samples.`);
      }
    }
  }
}

/**
 * Average the channels into a new array. Always a copy: some decoders hand out views of their WASM
 * heap that the next chunk overwrites. Averaging (not summing) keeps a centred source at its level.
 */
function downmixCopy(channels: Float32Array[], length: number): Float32Array {
  const out = new Float32Array(length);
  for (const ch of channels) for (let i = 0; i < length; i++) out[i] += ch[i];
  if (channels.length > 1) for (let i = 0; i < length; i++) out[i] /= channels.length;
  return out;
}

async function openDecoder(format: AudioFormat, codec: string): Promise<StreamDecoder> {
  const open = (decode as unknown as Record<string, () => Promise<StreamDecoder>>)[codec];
  if (!open) throw new AppError('UNSUPPORTED_MEDIA_TYPE', `No decoder for ${format} (${codec}).`, { format });
  return open();
}

/** Where the audio starts: past an ID3v2 tag, and for FLAC past its metadata blocks (pictures, tags). */
function audioStart(format: AudioFormat, bytes: Uint8Array): number {
  let at = id3v2Size(bytes);
  if (format !== 'flac') return at;
  for (at += 4; at + 4 <= bytes.length; ) {
    const last = bytes[at]! & 0x80;
    at += 4 + ((bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!);
    if (last) break;
  }
  return Math.min(at, bytes.length);
}

/** Feed the file chunk by chunk; decoder failures are the client's bad bytes: CORRUPT_AUDIO. */
async function decodeBounded(format: AudioFormat, bytes: Uint8Array, limits: DurationLimits, header: HeaderInfo | null): Promise<BoundedPcm> {
  const pcm = new BoundedPcm(format, limits);
  if (format === 'wav') {
    for (const chunk of wavChunks(bytes, header as WavHeader, CHUNK_BYTES.wav!)) pcm.add(chunk);
    return pcm;
  }
  if (format === 'm4a') return decodeMp4Whole(bytes, pcm);
  const step = CHUNK_BYTES[format] ?? DEFAULT_CHUNK_BYTES;
  let lastAudioAt = audioStart(format, bytes);
  await withDecoder(format, bytes, async (dec) => {
    for (let at = 0; at < bytes.length; at += step) {
      if (pcm.add(await dec(bytes.subarray(at, at + step)))) lastAudioAt = at + step;
      else if (at + step - lastAudioAt > MAX_BYTES_WITHOUT_AUDIO) throw noAudioIn(format);
    }
    pcm.add(await dec()); // end of stream: flush what the decoder still holds
  });
  return pcm;
}

/**
 * M4A goes to its demuxer in one call. Fed in pieces, decode-mp4 copies everything received so far
 * on every call until the moov arrives (phones write it after the audio: an 8 MB file fed 4 KiB at a
 * time took 14 s), and again while a sample it waits for is incomplete. Whole, it walks the file
 * once, sees exactly the boxes readMp4 checked, and can yield no more than the frames checkHeader
 * bounded by the duration limit; the file itself is bounded by the upload limit.
 */
async function decodeMp4Whole(bytes: Uint8Array, pcm: BoundedPcm): Promise<BoundedPcm> {
  await withDecoder('m4a', bytes, async (dec) => {
    pcm.add(await dec(bytes));
    pcm.add(await dec());
  });
  return pcm;
}

/**
 * FLAC fed in chunks loses its last frame when that frame is shorter than the others (seen with
 * @audio/decode-flac 1.3.5: 3 of 200 SpeechOcean762 files came out up to 2,656 samples short). So
 * unless STREAMINFO's count says everything arrived, decode once more in one piece. That is safe:
 * the chunked pass has shown the stream is within the limit but for that one frame (the same frame
 * parser feeds both), and BoundedPcm checks the limit again.
 */
async function decodeFlacTail(bytes: Uint8Array, limits: DurationLimits, pcm: BoundedPcm, declared: HeaderInfo | null): Promise<BoundedPcm> {
  const declaredFrames = declared?.seconds ? Math.round(declared.seconds * declared.sampleRate) : 0;
  if (declaredFrames > 0 && pcm.decodedFrames >= declaredFrames) return pcm;
  const whole = new BoundedPcm('flac', limits);
  await withDecoder('flac', bytes, async (dec) => {
    whole.add(await dec(bytes));
    whole.add(await dec());
  });
  return whole.decodedFrames > pcm.decodedFrames ? whole : pcm;
}

/** Run a streaming decoder, map its failures to CORRUPT_AUDIO, and always release it. */
async function withDecoder(format: AudioFormat, bytes: Uint8Array, use: (dec: StreamDecoder) => Promise<void>): Promise<void> {
  const dec = await openDecoder(format, codecName(format, bytes));
  try {
    await use(dec);
  } catch (e) {
    if (e instanceof AppError) throw e;
    // The library's own words stay in our log: they name its internals, and change with its versions.
    log.warn('audio decoder failed', { format, error: e });
    throw corrupt(format, `Could not decode the ${format} audio: it is damaged or truncated.`, { reason: DECODER_ERROR });
  } finally {
    dec.free(); // a no-op once flushed; releases the WASM decoder when we stopped early
  }
}

/** `extensions.reason` of a refusal the decoder library raised: stable, whatever the library said. */
export const DECODER_ERROR = 'decoder-error';

function noAudioIn(format: AudioFormat): AppError {
  return corrupt(format, `The ${format} file holds more than ${MAX_BYTES_WITHOUT_AUDIO} bytes that decode to no audio.`, {
    maxBytesWithoutAudio: MAX_BYTES_WITHOUT_AUDIO,
  });
}

/**
 * Decode any accepted container to 16 kHz mono. Format is sniffed from the bytes; the header is
 * checked first (cheap refusal), then the decoded frames are counted as they come (authoritative).
 */
export async function decodeAudio(bytes: Uint8Array, limits: DurationLimits): Promise<DecodedAudio> {
  const format = sniffOrThrow(bytes);
  const declared = checkHeader(format, bytes, limits);
  let pcm = await decodeBounded(format, bytes, limits, declared);
  if (format === 'flac') pcm = await decodeFlacTail(bytes, limits, pcm, declared);
  const mono = pcm.finish();
  const samples = resample(mono, pcm.sampleRate, TARGET_SAMPLE_RATE);
  const durationSeconds = samples.length / TARGET_SAMPLE_RATE;
  if (durationSeconds < limits.minSeconds) {
    throw new AppError(
      'AUDIO_TOO_SHORT',
      `Recording is ${round2(durationSeconds)} s long; at least ${limits.minSeconds} s is needed.`,
      { durationSeconds: round2(durationSeconds), minSeconds: limits.minSeconds },
    );
  }
  return {
    samples,
    sampleRate: TARGET_SAMPLE_RATE,
    durationSeconds,
    format,
    sourceSampleRate: pcm.sampleRate,
    sourceChannels: pcm.channels,
  };
}
