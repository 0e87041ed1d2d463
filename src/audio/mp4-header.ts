/**
 * MP4/M4A (ISO BMFF) and ADTS AAC headers, read without decoding.
 *
 * An M4A's sample table (moov/trak/mdia/minf/stbl, and moof/traf/trun in fragmented files) lists
 * every AAC frame the demuxer will hand the decoder, so frames × samples-per-frame bounds the decoded length whatever the other headers claim;
 * that bound is what the duration limit is checked against before anything is decoded. Phone
 * recorders write the moov box after the audio (mdat), so the whole file is walked, box by box, by
 * their sizes (never by scanning bytes).
 */
import type { HeaderInfo } from './header-duration.js';

const text = (b: Uint8Array, at: number, n: number): string => String.fromCharCode(...b.subarray(at, at + n));
const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

interface Box {
  type: string;
  /** Offset of the body (after the size/type header). */
  body: number;
  end: number;
}

/** Boxes laid end to end in [from, to); stops at the first malformed size. */
function boxes(bytes: Uint8Array, from: number, to: number): Box[] {
  const dv = view(bytes);
  const out: Box[] = [];
  for (let at = from; at + 8 <= to; ) {
    let size = dv.getUint32(at);
    let header = 8;
    if (size === 1) {
      if (at + 16 > to) break;
      const big = dv.getBigUint64(at + 8);
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) break;
      size = Number(big);
      header = 16;
    } else if (size === 0) {
      size = to - at; // "to the end of the file"
    }
    if (size < header || at + size > to) break;
    out.push({ type: text(bytes, at + 4, 4), body: at + header, end: at + size });
    at += size;
  }
  return out;
}

const child = (bytes: Uint8Array, box: Box | undefined, type: string): Box | undefined =>
  box && boxes(bytes, box.body, box.end).find((b) => b.type === type);

/**
 * Frames listed in movie fragments (moof/traf/trun), which fragmented MP4 (streaming recorders,
 * `empty_moov` muxers) uses instead of the moov sample table. Counted for every track: an upper
 * bound for the sound track's.
 */
function fragmentFrames(bytes: Uint8Array): number {
  const dv = view(bytes);
  let frames = 0;
  for (const moof of boxes(bytes, 0, bytes.length).filter((b) => b.type === 'moof')) {
    for (const traf of boxes(bytes, moof.body, moof.end).filter((b) => b.type === 'traf')) {
      for (const trun of boxes(bytes, traf.body, traf.end).filter((b) => b.type === 'trun')) {
        if (trun.body + 8 <= trun.end) frames += dv.getUint32(trun.body + 4);
      }
    }
  }
  return frames;
}

/** Boxes that only hold other boxes, walked when checking tables. */
const CONTAINERS = new Set(['moov', 'trak', 'edts', 'mdia', 'minf', 'stbl', 'moof', 'traf', 'mvex', 'dinf']);

/** Bytes per entry of the tables whose entry count the demuxer allocates by (version/flags aware). */
function entryBytes(bytes: Uint8Array, box: Box): number | null {
  const dv = view(bytes);
  const version = bytes[box.body]!;
  const flags = dv.getUint32(box.body) & 0xffffff;
  switch (box.type) {
    case 'elst': return version === 1 ? 20 : 12;
    case 'stts': case 'ctts': case 'co64': return 8;
    case 'stsc': return 12;
    case 'stco': case 'stss': return 4;
    case 'stsz': return dv.getUint32(box.body + 4) === 0 ? 4 : 0; // a fixed sample size lists no sizes
    case 'trun': // optional fields per sample, by flag
      return [0x100, 0x200, 0x400, 0x800].filter((f) => flags & f).length * 4;
    default: return null;
  }
}

/** Where the entry count sits in each table's body (after version/flags, and stsz's sample size). */
const COUNT_AT: Record<string, number> = { stsz: 8 };

/**
 * The first table whose entry count does not fit in its box, or null. The demuxer sizes its arrays
 * by these counts: one flipped byte in an edit list's count made it allocate until the process ran
 * out of memory (found by fuzzing), so a table that claims more entries than its bytes hold is
 * refused before decoding.
 */
export function inconsistentMp4Table(bytes: Uint8Array, from = 0, to = bytes.length): string | null {
  const dv = view(bytes);
  for (const box of boxes(bytes, from, to)) {
    if (CONTAINERS.has(box.type)) {
      const bad = inconsistentMp4Table(bytes, box.body, box.end);
      if (bad) return bad;
      continue;
    }
    const size = box.body + 4 <= box.end ? entryBytes(bytes, box) : null;
    if (size === null) continue;
    const countAt = box.body + (COUNT_AT[box.type] ?? 4);
    if (countAt + 4 > box.end) return box.type;
    const count = dv.getUint32(countAt);
    // trun: optional data offset and first-sample flags come before its entries.
    const flags = dv.getUint32(box.body) & 0xffffff;
    const optional = box.type === 'trun' ? ((flags & 0x1 ? 4 : 0) + (flags & 0x4 ? 4 : 0)) : 0;
    if (countAt + 4 + optional + count * size > box.end) return box.type;
  }
  return null;
}

/** MP4: an `ftyp` box first. */
export function isMp4(bytes: Uint8Array): boolean {
  return bytes.length >= 12 && text(bytes, 4, 4) === 'ftyp';
}

/** Samples per AAC frame at the core rate (SBR doubles both the rate and the count: same duration). */
const AAC_FRAME_SAMPLES = 1024;

/** The first sound track's rate, channels and the length its sample table allows; null when there is none. */
export function mp4HeaderInfo(bytes: Uint8Array): HeaderInfo | null {
  const dv = view(bytes);
  const moov = boxes(bytes, 0, bytes.length).find((b) => b.type === 'moov');
  if (!moov) return null;
  for (const trak of boxes(bytes, moov.body, moov.end).filter((b) => b.type === 'trak')) {
    const mdia = child(bytes, trak, 'mdia');
    const hdlr = child(bytes, mdia, 'hdlr');
    if (!hdlr || hdlr.body + 12 > hdlr.end || text(bytes, hdlr.body + 8, 4) !== 'soun') continue;
    const stbl = child(bytes, child(bytes, mdia, 'minf'), 'stbl');
    const stsd = child(bytes, stbl, 'stsd');
    const stsz = child(bytes, stbl, 'stsz');
    // stsd: version/flags, entry count, then the first sample entry (size, format, 6 reserved, data ref,
    // 8 reserved, channel count, sample size, 4 reserved, rate as 16.16).
    const entry = stsd ? stsd.body + 8 : 0;
    if (!stsd || !stsz || entry + 36 > stsd.end || stsz.body + 12 > stsz.end) return null;
    const channels = dv.getUint16(entry + 24);
    const sampleRate = dv.getUint32(entry + 32) >>> 16;
    const frames = dv.getUint32(stsz.body + 8) + fragmentFrames(bytes);
    return { seconds: sampleRate ? (frames * AAC_FRAME_SAMPLES) / sampleRate : null, sampleRate, channels };
  }
  return null;
}

/** ADTS frame header: 12 sync bits, layer 00 (what tells it from MP3), a valid rate index. */
export function isAdtsHeader(bytes: Uint8Array, at = 0): boolean {
  if (bytes.length < at + 7) return false;
  return bytes[at] === 0xff && (bytes[at + 1]! & 0xf6) === 0xf0 && ((bytes[at + 2]! >> 2) & 0x0f) < 13;
}

const ADTS_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/** ADTS: rate and channels of the first frame; no length (frames are counted while decoding). */
export function adtsHeaderInfo(bytes: Uint8Array): HeaderInfo | null {
  if (!isAdtsHeader(bytes)) return null;
  const sampleRate = ADTS_RATES[(bytes[2]! >> 2) & 0x0f]!;
  const channels = ((bytes[2]! & 0x01) << 2) | (bytes[3]! >> 6);
  // Channel configuration 0 means "given in the stream" (a PCE); decoding tells.
  return channels === 0 ? null : { seconds: null, sampleRate, channels };
}
