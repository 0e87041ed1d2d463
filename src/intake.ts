import { decodeAudio, type DecodedAudio, type DurationLimits } from './audio/decode.js';
import { FORMAT_EXTENSION } from './audio/sniff.js';
import { AudioStore, sha256Hex } from './audio/store.js';
import { assertHasSpeech, type SpeechDetection, type VoiceActivityDetector } from './audio/vad.js';
import { analyzeReferenceText } from './text/reference.js';
import type { ReferenceWord } from './types.js';
import { addStage, timeStage, type StageTimes } from './ops/stage-times.js';

/** What a submit stores about a recording, ready for `utterance.create`. */
export interface PreparedUtterance {
  words: ReferenceWord[];
  audio: DecodedAudio;
  /** The store's file extension for this format. */
  extension: string;
  utterance: {
    referenceText: string;
    referenceWords: ReferenceWord[];
    audioSha256: string;
    audioFormat: string;
    audioBytes: number;
    durationMs: number;
    sourceSampleRate: number;
    sourceChannels: number;
    speechMs: number;
  };
}

/**
 * Everything that can refuse a submit, cheapest check first: the text, then the audio header and
 * decode, then voice activity. `inspect` writes nothing: the one write path
 * (src/assessment/submit.ts) stores the file and the rows together.
 */
export class Intake {
  constructor(
    readonly store: AudioStore,
    readonly detector: VoiceActivityDetector,
    private readonly limits: DurationLimits,
  ) {}

  /**
   * `words` overrides the lexicon when the canonical phones are known (a dataset's own); `times`
   * gets the milliseconds of the decode and vad stages.
   */
  async inspect(
    bytes: Uint8Array,
    referenceText: string,
    words: ReferenceWord[] = analyzeReferenceText(referenceText),
    times?: StageTimes,
  ): Promise<PreparedUtterance> {
    const { audio, speech } = await this.decodeAndDetect(bytes, times);
    assertHasSpeech(speech);
    const sha256 = sha256Hex(bytes);
    return {
      words,
      audio,
      extension: FORMAT_EXTENSION[audio.format],
      utterance: {
        referenceText: referenceText.trim(),
        referenceWords: words,
        audioSha256: sha256,
        audioFormat: audio.format,
        audioBytes: bytes.length,
        durationMs: Math.round(audio.durationSeconds * 1000),
        sourceSampleRate: audio.sourceSampleRate,
        sourceChannels: audio.sourceChannels,
        speechMs: Math.round(speech.speechSeconds * 1000),
      },
    };
  }

  /** Decoded and detected in the pool's threads where the detector has them, else here. */
  private async decodeAndDetect(bytes: Uint8Array, times?: StageTimes): Promise<{ audio: DecodedAudio; speech: SpeechDetection }> {
    if (this.detector.decodeAndDetect) {
      const { audio, detection, decodeMs, vadMs } = await this.detector.decodeAndDetect(bytes, this.limits);
      addStage(times, 'decode', decodeMs);
      addStage(times, 'vad', vadMs);
      return { audio, speech: detection };
    }
    const audio = await timeStage(times, 'decode', () => decodeAudio(bytes, this.limits));
    const speech = await timeStage(times, 'vad', () => this.detector.detect(audio.samples));
    return { audio, speech };
  }

  /**
   * Store what a submit keeps of a recording `inspect` accepted: the original bytes (the record) and
   * the samples decoded from them, so that the worker need not decode the original again. The one
   * write of both, called again under the digest's lock when a removal got in between.
   */
  async save(bytes: Uint8Array, prepared: PreparedUtterance): Promise<void> {
    const { sha256 } = await this.store.put(bytes, prepared.extension);
    await this.store.putDecoded(sha256, prepared.audio.samples);
  }

  /**
   * The 16 kHz samples of a stored recording for the worker: those `save` kept, else (audio stored
   * before they were kept, or already assessed) the stored original decoded again.
   *
   * The kept samples serve the first assessment only, and are dropped once read: as raw float32 they
   * take 64 KB per second of audio, several times the original, and a re-assessment or a retry that
   * finds them gone simply decodes the original (the record) again.
   */
  async load(sha256: string): Promise<Pick<DecodedAudio, 'samples'>> {
    const kept = await this.store.readDecoded(sha256);
    if (kept) {
      await this.store.removeDecoded(sha256);
      return { samples: kept };
    }
    const bytes = await this.store.read(sha256);
    // Stored audio was accepted under possibly different limits; don't refuse it now. Decoded in the
    // detector's threads where it has them: this runs on the in-process worker's (the HTTP) thread.
    const accepted = { minSeconds: 0, maxSeconds: Number.MAX_SAFE_INTEGER };
    return this.detector.decode ? this.detector.decode(bytes, accepted) : decodeAudio(bytes, accepted);
  }

  close(): Promise<void> {
    return this.detector.close();
  }
}
