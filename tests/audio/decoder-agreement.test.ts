/**
 * Our header checks must read a file as the decoder that decodes it does: files that passed our
 * checks while the decoder read something else (a second stsz, a trun nested where we did not look, a
 * short second `fmt `) made it allocate or compute without bound (a review's findings, each built
 * here byte by byte and sent through the real decode path).
 */
import { decodeAudio, type DurationLimits } from '../../src/audio/decode.js';
import { AppError } from '../../src/errors.js';
import { encodeWav, hasFfmpeg, syntheticSpeech, transcodeWithFfmpeg } from '../support/audio-fixtures.js';

const LIMITS: DurationLimits = { maxSeconds: 60, minSeconds: 0.5 };

// ---- ISO BMFF (big-endian boxes) ----
const u32be = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
};
const box = (type: string, ...parts: Buffer[]) => {
  const body = Buffer.concat(parts);
  return Buffer.concat([u32be(body.length + 8), Buffer.from(type, 'latin1'), body]);
};
/** esds for AAC-LC: ES, DecoderConfig (AAC, 13 bytes), DecoderSpecificInfo 0x14 0x08 (16 kHz mono). */
const esds = () =>
  box('esds', u32be(0), Buffer.from([0x03, 25, 0, 1, 0, 0x04, 17, 0x40, 0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x05, 2, 0x14, 0x08, 0x06, 1, 2]));
/** An mp4a sample entry (version 0): 1 channel, 16 bits, the rate as 16.16, then its esds unless told. */
function mp4aEntry(rate = 16000, withEsds = true): Buffer {
  const config = withEsds ? esds() : Buffer.alloc(0);
  const entry = Buffer.concat([Buffer.alloc(36), config]);
  entry.writeUInt32BE(entry.length, 0);
  entry.write('mp4a', 4, 'latin1');
  entry.writeUInt16BE(1, 14);
  entry.writeUInt16BE(1, 24);
  entry.writeUInt16BE(16, 26);
  entry.writeUInt32BE(rate * 65536, 32);
  return entry;
}
const fullBox = (type: string, ...fields: number[]) => box(type, ...fields.map(u32be));
const stsd = (withEsds = true) => box('stsd', u32be(0), u32be(1), mp4aEntry(16000, withEsds));
const soundHandler = () => box('hdlr', u32be(0), u32be(0), Buffer.from('soun'), Buffer.alloc(12));
const ftyp = () => box('ftyp', Buffer.from('M4A '), u32be(0), Buffer.from('isomM4A '));
const trakWith = (entry: Buffer, id: number, ...stbl: Buffer[]) =>
  box('trak', fullBox('tkhd', 0, 0, 0, id, 0), box('mdia', soundHandler(), box('minf', box('stbl', entry, ...stbl))));
const trak = (id: number, ...stbl: Buffer[]) => trakWith(stsd(), id, ...stbl);

async function refusal(bytes: Uint8Array, limits = LIMITS): Promise<AppError> {
  const err = await decodeAudio(bytes, limits).then(
    () => new Error('accepted'),
    (e: unknown) => e,
  );
  if (!(err instanceof AppError)) throw err;
  return err;
}

describe('MP4: the sample tables the demuxer uses are the ones checked', () => {
  // The demuxer keeps the LAST stsz and fills an array of its count; a fixed-size stsz lists no
  // sizes, so 2^32-1 entries fit in 20 bytes. Before: accepted as 0.064 s, then a heap OOM abort.
  test('a second, fixed-size stsz claiming 2^32-1 samples after a one-sample one → CORRUPT_AUDIO at once', async () => {
    const small = fullBox('stsz', 0, 0, 1, 10);
    const huge = fullBox('stsz', 0, 1, 0xffffffff);
    const moov = box('moov', trak(1, small, huge, fullBox('stsc', 0, 1, 1, 1, 1), fullBox('stco', 0, 1, 0)));
    const file = new Uint8Array(Buffer.concat([ftyp(), moov, box('mdat', Buffer.alloc(16))]));
    const err = await refusal(file);
    expect(err).toMatchObject({ code: 'CORRUPT_AUDIO', message: expect.stringMatching(/stsz/) });
  });

  test('one fixed-size stsz whose count the file cannot hold → CORRUPT_AUDIO; whose count is over the duration limit → AUDIO_TOO_LONG', async () => {
    const tables = (stsz: Buffer) => [stsz, fullBox('stsc', 0, 1, 1, 1, 1), fullBox('stco', 0, 1, 0)];
    const holds = (count: number, mdat: number) =>
      new Uint8Array(Buffer.concat([ftyp(), box('moov', trak(1, ...tables(fullBox('stsz', 0, 1, count)))), box('mdat', Buffer.alloc(mdat))]));
    expect(await refusal(holds(0xffffffff, 16))).toMatchObject({ code: 'CORRUPT_AUDIO', message: expect.stringMatching(/stsz/) });
    // 2,000 one-byte AAC frames at 16 kHz: 128 s
    expect(await refusal(holds(2000, 2000))).toMatchObject({ code: 'AUDIO_TOO_LONG' });
  });

  test('two sound tracks: the first, which the demuxer decodes, is the one bounded', async () => {
    const tables = (frames: number) => [fullBox('stsz', 0, 1, frames), fullBox('stsc', 0, 1, 1, frames, 1), fullBox('stco', 0, 1, 0)];
    const file = (first: number, second: number) =>
      new Uint8Array(Buffer.concat([ftyp(), box('moov', trak(1, ...tables(first)), trak(2, ...tables(second))), box('mdat', Buffer.alloc(2000))]));
    // 2,000 AAC frames at 16 kHz: 128 s, in the first track: too long.
    expect(await refusal(file(2000, 1))).toMatchObject({ code: 'AUDIO_TOO_LONG' });
    // In the second, which is not decoded, it is no reason to refuse (the first's one-byte frames are
    // then not AAC the decoder can read).
    expect((await refusal(file(1, 2000))).code).not.toBe('AUDIO_TOO_LONG');
  });

  // Fragmented: the demuxer walks every box under a moof (udta included) and queues one sample per
  // trun entry; a trun with no per-sample fields holds any count in 12 bytes.
  test('a trun with no per-sample fields nested in moof/traf/udta claiming 2^32-1 samples → refused at once', async () => {
    const empty = [fullBox('stsz', 0, 0, 0), fullBox('stsc', 0, 0), fullBox('stco', 0, 0)];
    const mvex = box('mvex', fullBox('trex', 0, 1, 1, 0, 1, 0));
    const moov = box('moov', mvex, trak(1, ...empty));
    const tfhd = fullBox('tfhd', 0x10, 1, 0); // default sample size 0
    const file = (count: number) => {
      const moof = box('moof', box('traf', tfhd, box('udta', fullBox('trun', 0, count))));
      return new Uint8Array(Buffer.concat([ftyp(), moov, moof, box('mdat', Buffer.alloc(64))]));
    };
    expect(await refusal(file(0xffffffff))).toMatchObject({ code: 'CORRUPT_AUDIO', message: expect.stringMatching(/\btrun\b/) });
    // 2,000 AAC frames at 16 kHz: 128 s, from the fragment the demuxer reads
    expect(await refusal(file(2000))).toMatchObject({ code: 'AUDIO_TOO_LONG' });
  });

  // M4A means AAC: the length bound counts 1,024 samples a frame, and a FLAC, ALAC, Opus or AMR
  // track's frames hold other counts, so such a track could decode far past the limit before it
  // was counted.
  test('a sound track that is not AAC (FLAC, ALAC, Opus, AMR in MP4) → UNSUPPORTED_MEDIA_TYPE before decoding', async () => {
    const tables = [fullBox('stsz', 0, 0, 1, 10), fullBox('stsc', 0, 1, 1, 1, 1), fullBox('stco', 0, 1, 0)];
    for (const type of ['fLaC', 'alac', 'Opus', 'samr']) {
      const entry = mp4aEntry(16000, false);
      entry.write(type, 4, 'latin1');
      const file = new Uint8Array(Buffer.concat([ftyp(), box('moov', trakWith(box('stsd', u32be(0), u32be(1), entry), 1, ...tables)), box('mdat', Buffer.alloc(16))]));
      expect([type, await refusal(file)]).toEqual([type, expect.objectContaining({ code: 'UNSUPPORTED_MEDIA_TYPE', message: expect.stringContaining(type) })]);
    }
  });

  // An ALAC frame flagged partial declares its own sample count, whatever the cookie says: a file of
  // 10 frames could decode to minutes in the one call M4A is decoded in, before anything counted it.
  (hasFfmpeg ? test : test.skip)('a real ALAC recording (Voice Memos\' lossless setting) → UNSUPPORTED_MEDIA_TYPE: M4A must carry AAC', async () => {
    const err = await refusal(transcodeWithFfmpeg(encodeWav(syntheticSpeech(3, 16000, 7), 16000), 'm4a-alac'));
    expect(err).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', message: expect.stringContaining('alac') });
  });

  test("a decoder failure answers a short stable reason, not the library's message", async () => {
    // no esds: decode-mp4 throws 'MP4 AAC track has no AudioSpecificConfig'
    const tables = [fullBox('stsz', 0, 0, 1, 10), fullBox('stsc', 0, 1, 1, 1, 1), fullBox('stco', 0, 1, 0)];
    const file = new Uint8Array(Buffer.concat([ftyp(), box('moov', trakWith(stsd(false), 1, ...tables)), box('mdat', Buffer.alloc(16))]));
    const err = await refusal(file);
    expect(err.code).toBe('CORRUPT_AUDIO');
    expect(err.extensions).toMatchObject({ format: 'm4a', reason: 'decoder-error' });
    expect(JSON.stringify(err.extensions)).not.toMatch(/AudioSpecificConfig/);
  });
});

// ---- RIFF/WAVE (little-endian chunks) ----
const u16le = (v: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
};
const u32le = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};
const riff = (...chunks: Buffer[]) => {
  const body = Buffer.concat(chunks);
  return new Uint8Array(Buffer.concat([Buffer.from('RIFF'), u32le(body.length + 4), Buffer.from('WAVE'), body]));
};
const pcmFmt = (rate = 16000, channels = 1) =>
  Buffer.concat([Buffer.from('fmt '), u32le(16), u16le(1), u16le(channels), u32le(rate), u32le(rate * 2 * channels), u16le(2 * channels), u16le(16)]);
function tone16(seconds: number, rate = 16000): Buffer {
  const n = Math.round(seconds * rate);
  const out = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) out.writeInt16LE(Math.round(8000 * Math.sin(i / 5)), i * 2);
  return out;
}
const dataChunk = (pcm: Buffer) => Buffer.concat([Buffer.from('data'), u32le(pcm.length), pcm]);

describe('WAV: one reading of the header, ours, decodes the file', () => {
  // decode-wav read a second, zero-sized `fmt ` (which we skipped) and took the bytes after it as its
  // fields: IMA ADPCM with 65,535 samples per 4-byte block. 32 KB cost 5 s and 1 GB.
  test('a PCM fmt, then a 0-byte fmt whose next bytes say IMA ADPCM → CORRUPT_AUDIO at once', async () => {
    const imaBody = Buffer.alloc(16000);
    imaBody.writeUInt16LE(4, 4);
    imaBody.writeUInt16LE(4, 6);
    imaBody.writeUInt16LE(2, 8);
    imaBody.writeUInt16LE(65535, 10);
    const file = riff(
      pcmFmt(),
      Buffer.concat([Buffer.from('fmt '), u32le(0)]),
      Buffer.concat([Buffer.from([0x11, 0, 1, 0]), u32le(16000), imaBody]),
      dataChunk(Buffer.alloc(6400)),
    );
    expect(await refusal(file)).toMatchObject({ code: 'CORRUPT_AUDIO', message: expect.stringMatching(/fmt/) });
  });

  test('two full fmt chunks → CORRUPT_AUDIO; a fmt chunk under 16 bytes → CORRUPT_AUDIO', async () => {
    expect(await refusal(riff(pcmFmt(), pcmFmt(8000), dataChunk(tone16(1))))).toMatchObject({ code: 'CORRUPT_AUDIO', message: expect.stringMatching(/fmt/) });
    const short = Buffer.concat([Buffer.from('fmt '), u32le(14), u16le(1), u16le(1), u32le(16000), u32le(32000), u16le(2)]);
    expect(await refusal(riff(short, dataChunk(tone16(1))))).toMatchObject({ code: 'CORRUPT_AUDIO', message: expect.stringMatching(/fmt/) });
  });

  // RIFF pads a chunk of odd size with one byte; decode-wav did not skip it and lost the data chunk.
  test('an odd-sized LIST chunk (padded, as RIFF says) before fmt and data decodes: 2 s', async () => {
    const list = Buffer.concat([Buffer.from('LIST'), u32le(5), Buffer.from('INFOx'), Buffer.from([0])]);
    const audio = await decodeAudio(riff(list, pcmFmt(), dataChunk(tone16(2))), LIMITS);
    expect(audio.durationSeconds).toBeCloseTo(2, 3);
  });

  test('an odd-sized chunk between fmt and data, 8-bit audio of odd length, stereo 48 kHz: all decode', async () => {
    const odd = Buffer.concat([Buffer.from('junk'), u32le(3), Buffer.from('abc'), Buffer.from([0])]);
    expect((await decodeAudio(riff(pcmFmt(), odd, dataChunk(tone16(1))), LIMITS)).durationSeconds).toBeCloseTo(1, 3);
    const fmt8 = Buffer.concat([Buffer.from('fmt '), u32le(16), u16le(1), u16le(1), u32le(8000), u32le(8000), u16le(1), u16le(8)]);
    const eight = Buffer.alloc(8001, 0x90);
    const data8 = Buffer.concat([Buffer.from('data'), u32le(eight.length), eight, Buffer.from([0])]);
    expect((await decodeAudio(riff(fmt8, data8), LIMITS)).durationSeconds).toBeCloseTo(8001 / 8000, 3);
    const stereo = await decodeAudio(riff(pcmFmt(48000, 2), dataChunk(tone16(1, 96000))), LIMITS);
    expect(stereo).toMatchObject({ sourceChannels: 2, sourceSampleRate: 48000 });
    expect(stereo.durationSeconds).toBeCloseTo(1, 3);
  });
});
