/**
 * MP4/M4A (ISO BMFF) and ADTS AAC headers, read without decoding.
 *
 * The checks must read an M4A exactly as its demuxer (@audio/decode-mp4) does: a file our reading
 * passed while the demuxer read other boxes (a second stsz, a trun nested in a udta) made it fill an
 * array of 2^32 entries and abort the process. So `readMp4` walks the boxes that demuxer's
 * `walk`/`parseTrack`/`moofSamples` walk, with their quirks (a 64-bit box size read as its low 32
 * bits, sample entries' children, `meta`'s version word, a table kept per track whoever wrote it last),
 * and reports every table the demuxer will size an array or a loop by. decode.ts hands the demuxer
 * the whole file in one call, so it sees exactly these boxes.
 *
 * The sound track's frames × samples-per-frame bound its decoded length whatever the other headers
 * claim; that bound is what the duration limit is checked against before anything is decoded.
 */
import type { HeaderInfo } from './header-duration.js';

// Byte reads as the demuxer does them: past the end a byte reads as 0, never a throw.
const byte = (b: Uint8Array, at: number): number => b[at] ?? 0;
const r16 = (b: Uint8Array, at: number): number => (byte(b, at) << 8) | byte(b, at + 1);
const r32 = (b: Uint8Array, at: number): number =>
  ((byte(b, at) << 24) | (byte(b, at + 1) << 16) | (byte(b, at + 2) << 8) | byte(b, at + 3)) >>> 0;
const str4 = (b: Uint8Array, at: number): string => String.fromCharCode(byte(b, at), byte(b, at + 1), byte(b, at + 2), byte(b, at + 3));

/** Boxes decode-mp4 descends into (its CONTAINERS; `meta` and `stsd` have their own rules). */
const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl', 'udta', 'edts', 'sinf', 'wave', 'mvex', 'traf']);

/** A leaf box as the demuxer's callback gets it: its type and body [body, end). */
interface Leaf {
  type: string;
  body: number;
  end: number;
}
/** A leaf's body as the demuxer reads it: a view ending at the box, so reads past it give 0. */
const body = (b: Uint8Array, leaf: Leaf): Uint8Array => b.subarray(leaf.body, leaf.end);
interface SampleEntry {
  type: string;
  sampleRate: number;
  channels: number;
  /** where a version 2 entry's fields would be read past the file (the demuxer throws or reads other memory) */
  truncated: boolean;
}
type Visit = { open: string } | { close: string } | { leaf: Leaf } | { entry: SampleEntry };

/** decode-mp4's `walk`: leaves, container open/close, and the sample entries of every stsd. */
function walk(b: Uint8Array, start: number, end: number, visit: (v: Visit) => void): void {
  let off = start;
  while (off < end - 8) {
    let size = r32(b, off);
    const type = str4(b, off + 4);
    if (size === 0) size = end - off;
    else if (size === 1 && off + 16 <= end) {
      size = r32(b, off + 12); // the demuxer keeps the low 32 bits, and the body still starts at +8
      if (size < 16) break;
    } else if (size < 8) break;
    if (type === 'mdat') {
      off += size;
      continue;
    }
    if (off + size > end) return;
    const body = off + 8;
    if (type === 'stsd') walkStsd(b, body, off + size, visit);
    else if (type === 'meta') walk(b, body + 4, off + size, visit);
    else if (CONTAINERS.has(type)) {
      visit({ open: type });
      walk(b, body, off + size, visit);
      visit({ close: type });
    } else visit({ leaf: { type, body, end: off + size } });
    off += size;
  }
}

/** decode-mp4's `parseStsd`: QuickTime sound entries, v0 36-byte head, v1 52, v2 its own. */
function walkStsd(b: Uint8Array, off: number, end: number, visit: (v: Visit) => void): void {
  const n = r32(b, off + 4);
  let pos = off + 8;
  for (let i = 0; i < n && pos + 16 <= end; i++) {
    const size = r32(b, pos);
    if (size < 16) break;
    const version = r16(b, pos + 16);
    let head: number;
    if (version === 2) {
      const truncated = pos + 52 > b.length;
      const rate = truncated ? 0 : new DataView(b.buffer, b.byteOffset, b.byteLength).getFloat64(pos + 40);
      visit({ entry: { type: str4(b, pos + 4), sampleRate: rate, channels: r32(b, pos + 48), truncated } });
      head = r32(b, pos + 36) || 72;
    } else {
      visit({ entry: { type: str4(b, pos + 4), sampleRate: r16(b, pos + 32), channels: r16(b, pos + 24), truncated: false } });
      head = version === 1 ? 52 : 36;
    }
    if (size > head) walk(b, pos + head, pos + size, visit);
    pos += size;
  }
}

/** A track as the demuxer assembles it: the last stsz/stco/stsc it met wins, the first entry does. */
interface Track {
  id?: number;
  handler?: string;
  timescale?: number;
  entry?: SampleEntry;
  /** the sample count and byte total of the last stsz */
  samples?: { count: number; bytes: number };
  chunks?: number;
  runs?: number;
  /** how many of each table the track holds: the demuxer parses every one, then keeps the last */
  seen: Map<string, number>;
}

/** A reason to refuse the file before the demuxer sees it, naming the box at fault. */
export interface Mp4Problem {
  box: string;
  message: string;
}

export interface Mp4Layout {
  /** the track the demuxer decodes: rate, channels and the length its frames allow; null when none */
  info: HeaderInfo | null;
  problem: Mp4Problem | null;
  /** the sound track's sample entry type ('mp4a' for AAC); null when there is none */
  codec?: string | null;
}

/**
 * Entries any one table may list. The demuxer builds an array (or queues a sample) per entry, and an
 * honest recording has a few thousand (an hour of 48 kHz AAC: 169,000).
 */
export const MAX_TABLE_ENTRIES = 1 << 20;

/** Tables sized by an entry count: bytes per entry and where the count sits (after version/flags). */
const TABLES: Record<string, { entryBytes: number; countAt: number }> = {
  stco: { entryBytes: 4, countAt: 4 },
  co64: { entryBytes: 8, countAt: 4 },
  stsc: { entryBytes: 12, countAt: 4 },
  stts: { entryBytes: 8, countAt: 4 },
  ctts: { entryBytes: 8, countAt: 4 },
  stss: { entryBytes: 4, countAt: 4 },
};
/** Tables the demuxer keeps one of per track (stco and co64 fill the same slot). */
const ONE_PER_TRACK: Record<string, string> = { stsz: 'stsz', stco: 'stco/co64', co64: 'stco/co64', stsc: 'stsc', stts: 'stts' };

class Problem extends Error {
  constructor(readonly box: string, message: string) {
    super(message);
  }
}
const claimsTooMany = (box: string) => new Problem(box, `The MP4/M4A file's ${box} table claims more entries than it holds.`);

/** Entry count of a counted table, refused when its box cannot hold them or there are too many. */
function tableCount(b: Uint8Array, leaf: Leaf): number {
  const version = byte(b, leaf.body);
  const spec = leaf.type === 'elst' ? { entryBytes: version === 1 ? 20 : 12, countAt: 4 } : TABLES[leaf.type]!;
  const count = r32(b, leaf.body + spec.countAt);
  if (leaf.body + spec.countAt + 4 > leaf.end || leaf.body + spec.countAt + 4 + count * spec.entryBytes > leaf.end) throw claimsTooMany(leaf.type);
  if (count > MAX_TABLE_ENTRIES) throw claimsTooMany(leaf.type);
  return count;
}

/**
 * stsz: a fixed sample size lists no sizes, so any count fits its 20 bytes; the samples themselves
 * must fit the file, whichever way the sizes are given (overlapping samples would have the codec
 * decode the same bytes without end).
 */
function stszSamples(b: Uint8Array, leaf: Leaf): { count: number; bytes: number } {
  if (leaf.body + 12 > leaf.end) throw claimsTooMany('stsz');
  const fixed = r32(b, leaf.body + 4);
  const count = r32(b, leaf.body + 8);
  if (count > MAX_TABLE_ENTRIES || (!fixed && leaf.body + 12 + count * 4 > leaf.end)) throw claimsTooMany('stsz');
  let bytes = fixed * count;
  if (!fixed) for (let i = 0; i < count; i++) bytes += r32(b, leaf.body + 12 + i * 4);
  if (bytes > b.length) throw new Problem('stsz', `The MP4/M4A file's stsz table lists ${bytes} bytes of samples in a ${b.length}-byte file.`);
  return { count, bytes };
}

/** decode-mp4's `parseTrack` over the whole file, collecting the tracks and the movie's trex boxes. */
function readTracks(b: Uint8Array): { moov: boolean; tracks: Track[]; trex: Map<number, number> } {
  const tracks: Track[] = [];
  const trex = new Map<number, number>();
  let moov = false;
  let t: Track | null = null;
  walk(b, 0, b.length, (v) => {
    if ('open' in v) {
      if (v.open === 'moov') moov = true;
      else if (v.open === 'trak') tracks.push((t = { seen: new Map() }));
      return;
    }
    if ('close' in v) {
      if (v.close === 'trak') t = null;
      return;
    }
    if ('leaf' in v && v.leaf.type === 'trex') trex.set(r32(body(b, v.leaf), 4), r32(body(b, v.leaf), 16));
    if (!t) return;
    if ('entry' in v) {
      t.entry ??= v.entry;
      return;
    }
    readLeaf(b, t, v.leaf);
  });
  return { moov, tracks, trex };
}

function readLeaf(b: Uint8Array, t: Track, leaf: Leaf): void {
  const { type } = leaf;
  const slot = ONE_PER_TRACK[type];
  if (slot) {
    t.seen.set(slot, (t.seen.get(slot) ?? 0) + 1);
    if (t.seen.get(slot)! > 1) throw new Problem(type, `The MP4/M4A file has more than one ${slot} table in a track; which one counts is ambiguous.`);
  }
  const d = body(b, leaf);
  if (type === 'tkhd') t.id = r32(d, d[0] === 1 ? 20 : 12);
  else if (type === 'hdlr') t.handler = str4(d, 8);
  else if (type === 'mdhd') t.timescale = r32(d, d[0] === 1 ? 20 : 12);
  else if (type === 'stsz') t.samples = stszSamples(b, leaf);
  else if (type === 'stco' || type === 'co64') t.chunks = tableCount(b, leaf);
  else if (type === 'stsc') t.runs = tableCount(b, leaf);
  else if (type in TABLES || type === 'elst') tableCount(b, leaf);
}

const AUDIO_TYPES = new Set(['mp4a', 'alac', '.mp3', 'fLaC', 'Opus', 'sowt', 'twos', 'in24', 'in32', 'fl32', 'fl64', 'lpcm', 'ipcm', 'fpcm', 'raw ', 'NONE', 'ulaw', 'alaw', 'samr', 'sawb', 'ac-3', 'ec-3']);

/**
 * The demuxer's choice: the first `soun` track with an entry, else the first with an audio entry.
 * A file with two sound tracks (a second language, a commentary) is valid: the one decoded is the
 * one checked, and every track's tables were checked as they were read.
 */
function soundTrack(tracks: Track[]): Track | null {
  return tracks.find((t) => t.entry && t.handler === 'soun') ?? tracks.find((t) => t.entry && AUDIO_TYPES.has(t.entry.type)) ?? null;
}

/**
 * Frames the demuxer's `fragments`/`moofSamples` queue for track `id`: every top-level moof, every
 * trun under it (at any depth it walks) of a traf whose tfhd names the track. A trun with no
 * per-sample fields holds any count in 12 bytes, so counts are bounded here, and sizes by the file.
 */
function fragmentFrames(b: Uint8Array, id: number | undefined, trexSize: number): number {
  let frames = 0;
  let bytes = 0;
  for (let pos = 0; pos + 8 <= b.length; ) {
    let size = r32(b, pos);
    const type = str4(b, pos + 4);
    if (size === 1) {
      if (pos + 16 > b.length) break;
      size = r32(b, pos + 8) * 0x100000000 + r32(b, pos + 12);
    } else if (size === 0) break;
    // The demuxer advances by this size: under 8 it loops on (0 forever) through the box headers.
    if (size < 8) throw new Problem(type, `The MP4/M4A file has a ${size}-byte top-level box.`);
    if (type === 'moof') {
      if (pos + size > b.length) break;
      let mine = false;
      let defaultSize = trexSize;
      walk(b, pos + 8, pos + size, (v) => {
        if ('open' in v && v.open === 'traf') [mine, defaultSize] = [false, trexSize];
        if (!('leaf' in v)) return;
        const d = body(b, v.leaf);
        const flags = (byte(d, 1) << 16) | (byte(d, 2) << 8) | byte(d, 3);
        if (v.leaf.type === 'tfhd') {
          mine = r32(d, 4) === id;
          if (flags & 0x10) defaultSize = r32(d, 8 + (flags & 1 ? 8 : 0) + (flags & 2 ? 4 : 0) + (flags & 8 ? 4 : 0));
        } else if (v.leaf.type === 'trun' && mine) {
          const run = trunSamples(d, flags, defaultSize);
          frames += run.count;
          bytes += run.bytes;
        }
      });
      if (frames > MAX_TABLE_ENTRIES) throw claimsTooMany('trun');
      if (bytes > b.length) throw new Problem('trun', `The MP4/M4A file's trun tables list ${bytes} bytes of samples in a ${b.length}-byte file.`);
    }
    pos += size;
  }
  return frames;
}

/** One trun's samples and their bytes (`d` is its body). */
function trunSamples(d: Uint8Array, flags: number, defaultSize: number): { count: number; bytes: number } {
  const count = r32(d, 4);
  const perSample = [0x100, 0x200, 0x400, 0x800].filter((f) => flags & f).length * 4;
  const first = 8 + (flags & 1 ? 4 : 0) + (flags & 4 ? 4 : 0);
  if (count > MAX_TABLE_ENTRIES || first + count * perSample > d.length) throw claimsTooMany('trun');
  if (!(flags & 0x200)) return { count, bytes: count * defaultSize };
  let bytes = 0;
  const sizeAt = first + (flags & 0x100 ? 4 : 0);
  for (let i = 0; i < count; i++) bytes += r32(d, sizeAt + i * perSample);
  return { count, bytes };
}

/** Samples per AAC frame at the core rate (SBR doubles both the rate and the count: same duration). */
const AAC_FRAME_SAMPLES = 1024;

/**
 * The file as decode-mp4 will read it: the sound track it decodes (rate, channels, the length its
 * frames allow) and the first reason to refuse the file before it does.
 */
export function readMp4(bytes: Uint8Array): Mp4Layout {
  try {
    const { moov, tracks, trex } = readTracks(bytes);
    const track = moov ? soundTrack(tracks) : null;
    if (!track?.entry) return { info: null, problem: null };
    const entry = track.entry;
    if (entry.truncated) throw new Problem('stsd', 'The MP4/M4A file\'s sample description is cut short.');
    const fragmented = trex.size > 0 && !track.samples?.count;
    if (!fragmented && (track.chunks ?? 0) > (track.samples?.count ?? 0)) throw claimsTooMany('stco');
    if (!fragmented && (track.runs ?? 0) > (track.chunks ?? 0)) throw claimsTooMany('stsc');
    const frames = fragmented ? fragmentFrames(bytes, track.id, trex.get(track.id ?? -1) ?? 0) : (track.samples?.count ?? 0);
    const sampleRate = entry.sampleRate || track.timescale || 0;
    const seconds = sampleRate ? (frames * AAC_FRAME_SAMPLES) / sampleRate : null;
    return { info: { seconds, sampleRate, channels: entry.channels }, problem: null, codec: entry.type };
  } catch (e) {
    if (e instanceof Problem) return { info: null, problem: { box: e.box, message: e.message } };
    throw e;
  }
}

/** The sound track's rate, channels and the length its sample table allows; null when there is none. */
export function mp4HeaderInfo(bytes: Uint8Array): HeaderInfo | null {
  return readMp4(bytes).info;
}

/** MP4: an `ftyp` box first. */
export function isMp4(bytes: Uint8Array): boolean {
  return bytes.length >= 12 && str4(bytes, 4) === 'ftyp';
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
