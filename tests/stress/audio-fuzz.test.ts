/**
 * Audio fuzz through the real upload endpoint on PGlite (`npm run test:stress`): thousands of
 * generated and mutated files (truncations, bit flips, spliced bytes, WAV header lies, huge declared
 * lengths, zero samples, NaN floats, decompression bombs, oversized files) of every accepted format.
 * Passes when the server never crashes or answers INTERNAL_SERVER_ERROR, every answer is success or
 * a documented intake code, and refused uploads leave no row, stored file or temp file behind.
 * FUZZ_COUNT (default 2,400) and FUZZ_SEED (default 762) reproduce a run.
 *
 * graphql-upload buffers each upload in os.tmpdir() (fs-capacitor); this file gets a temp
 * directory of its own (tests/support/node-environment.cjs), so its leftovers are countable.
 * @jest-environment-options {"privateTmpdir": true}
 */
import { readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sha256Hex } from '../../src/audio/store.js';
import { ERROR_CODES } from '../../src/errors.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { errorCode } from '../support/client.js';
import { encodeWav, hasFfmpeg, sine, transcodeWithFfmpeg, whiteNoise, type FfmpegTarget } from '../support/audio-fixtures.js';
import { craftWav, BOMB_KINDS, decompressionBomb, flacWithFfmpeg, floatWav, pcm16, type BombKind } from '../support/hostile-audio.js';
import { SECRET_FILE } from '../../src/http/audio-url.js';

const COUNT = Number(process.env.FUZZ_COUNT ?? 2400);
const SEED = Number(process.env.FUZZ_SEED ?? 762);
const MAX_UPLOAD = 4 * 1024 * 1024; // small enough that oversized files are cheap to make
const IN_FLIGHT = 3;
/** What an upload may be answered with: success, or a code the README documents for a refused recording. */
const INTAKE_CODES = new Set(['UNSUPPORTED_MEDIA_TYPE', 'CORRUPT_AUDIO', 'FILE_TOO_LARGE', 'AUDIO_TOO_LONG', 'AUDIO_TOO_SHORT', 'NO_SPEECH_DETECTED']);
const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { utterance { id } } }`;

/** Deterministic PRNG (mulberry32), so a failing case can be made again from FUZZ_SEED. */
function prng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const int = (n: number) => Math.floor(next() * n);
  return { next, int, pick: <T>(xs: readonly T[]): T => xs[int(xs.length)]! };
}
type Rng = ReturnType<typeof prng>;

/** A loud, voiced-ish signal (two tones and noise), so unmutated seeds are accepted. */
function signal(seconds: number, rate: number): Float32Array {
  const a = sine(180, seconds, rate, 0.3);
  const b = sine(720, seconds, rate, 0.15);
  const n = whiteNoise(seconds, rate, 0.05);
  return a.map((x, i) => x + b[i]! + n[i]!);
}

/** Every accepted format (lossy ones need ffmpeg), about a second each. */
function seeds(): { name: string; bytes: Uint8Array }[] {
  const mono = signal(1.2, 16000);
  const stereo44 = [signal(1.1, 44100), signal(1.1, 44100)];
  const out = [
    { name: 'wav-16k-mono', bytes: encodeWav(mono, 16000) },
    { name: 'wav-44k-stereo', bytes: encodeWav(stereo44, 44100) },
    { name: 'wav-float32', bytes: floatWav(mono) },
    { name: 'wav-8bit', bytes: craftWav({ bitsPerSample: 8, body: Uint8Array.from(mono, (x) => 128 + Math.round(x * 120)) }) },
    { name: 'wav-extensible', bytes: craftWav({ subFormat: 1, body: pcm16(mono) }) },
  ];
  if (hasFfmpeg) {
    const wav48 = encodeWav([signal(1.2, 48000), signal(1.2, 48000)], 48000);
    out.push({ name: 'flac', bytes: flacWithFfmpeg(wav48) });
    for (const target of ['ogg-vorbis', 'ogg-opus', 'mp3', 'webm-opus', 'm4a-aac', 'm4a-aac-fragmented', 'adts-aac'] as FfmpegTarget[]) {
      out.push({ name: target, bytes: transcodeWithFfmpeg(wav48, target) });
    }
  }
  return out;
}

// ---- mutations: each takes a seed's bytes and returns a hostile variant ----

const truncate = (b: Uint8Array, r: Rng) => b.subarray(0, r.int(b.length));

function flipBits(b: Uint8Array, r: Rng): Uint8Array {
  const out = b.slice();
  const flips = 1 + r.int(r.next() < 0.5 ? 4 : 64);
  // half the time aim at the first 256 bytes, where the headers are
  for (let i = 0; i < flips; i++) out[r.int(r.next() < 0.5 ? Math.min(256, out.length) : out.length)] ^= 1 << r.int(8);
  return out;
}

function overwrite(b: Uint8Array, r: Rng): Uint8Array {
  const out = b.slice();
  const at = r.int(out.length);
  const len = 1 + r.int(512);
  for (let i = at; i < Math.min(out.length, at + len); i++) out[i] = r.pick([0, 0xff, r.int(256)]);
  return out;
}

function splice(b: Uint8Array, r: Rng): Uint8Array {
  const cut = r.int(b.length);
  const drop = r.int(Math.min(4096, b.length - cut));
  const insert = Uint8Array.from({ length: r.int(2048) }, () => r.int(256));
  const out = new Uint8Array(b.length - drop + insert.length);
  out.set(b.subarray(0, cut));
  out.set(insert, cut);
  out.set(b.subarray(cut + drop), cut + insert.length);
  return out;
}

const LIE_RATES = [0, 1, 4000, 7999, 8000, 11025, 192000, 192001, 1e6, 0x7fffffff, 0xffffffff];
const LIE_TAGS = [0, 1, 2, 3, 6, 7, 0x11, 0x50, 0x55, 0x2000, 0xfffe, 0xffff];
function wavHeaderLie(_b: Uint8Array, r: Rng): Uint8Array {
  const body = pcm16(signal(0.2 + r.next(), 16000));
  return craftWav({
    sampleRate: r.pick(LIE_RATES),
    channels: r.pick([0, 1, 2, 8, 9, 255, 65535]),
    formatTag: r.pick(LIE_TAGS),
    bitsPerSample: r.pick([0, 4, 8, 12, 16, 24, 32, 64, 65535]),
    blockAlign: r.next() < 0.5 ? undefined : r.int(65536),
    dataBytes: r.next() < 0.5 ? undefined : r.pick([0, 1, 0x7fffffff, 0xffffffff, r.int(2 ** 32)]),
    body,
  });
}

/** Large declared lengths in whatever header carries one (WAV data size, FLAC total samples, Ogg granule). */
function hugeLength(b: Uint8Array, r: Rng): Uint8Array {
  const out = b.slice();
  const dv = new DataView(out.buffer);
  const head = String.fromCharCode(...out.subarray(0, 4));
  if (head === 'RIFF') {
    for (let at = 12; at + 8 <= out.length; at += 8 + dv.getUint32(at + 4, true)) {
      if (String.fromCharCode(...out.subarray(at, at + 4)) === 'data') {
        dv.setUint32(at + 4, r.pick([0xfffffff0, 0x7fffffff, r.int(2 ** 32)]), true);
        break;
      }
    }
  } else if (head === 'fLaC' && out.length > 26) {
    out[21] = (out[21]! & 0xf0) | r.int(16);
    dv.setUint32(22, r.int(2 ** 32));
  } else if (head === 'OggS') {
    const at = out.lastIndexOf(0x4f, out.length - 27);
    if (at > 0) dv.setUint32(at + 6, r.int(2 ** 32), true);
  } else {
    return overwrite(out, r);
  }
  return out;
}

function zeroSamples(_b: Uint8Array, r: Rng): Uint8Array {
  return r.pick([
    () => craftWav({ body: new Uint8Array(0) }),
    () => craftWav({ body: new Uint8Array(1) }),
    () => craftWav({ channels: 8, body: new Uint8Array(15) }),
    () => floatWav(new Float32Array(0)),
  ])();
}

function nanFloats(_b: Uint8Array, r: Rng): Uint8Array {
  const x = signal(0.5 + r.next(), 16000);
  const bad = [NaN, Infinity, -Infinity, 1e38, -1e38];
  for (let i = 0, n = 1 + r.int(20); i < n; i++) x[r.int(x.length)] = r.pick(bad);
  return r.next() < 0.5 ? floatWav(x) : craftWav({ formatTag: 3, bitsPerSample: 64, body: new Uint8Array(Float64Array.from(x).buffer) });
}

function oversized(b: Uint8Array, r: Rng): Uint8Array {
  const out = new Uint8Array(MAX_UPLOAD + 1 + r.int(65536));
  out.set(b.subarray(0, Math.min(b.length, out.length)));
  return out;
}

const MUTATIONS = { truncate, flipBits, overwrite, splice, wavHeaderLie, hugeLength, zeroSamples, nanFloats, oversized } as const;
type Mutation = keyof typeof MUTATIONS | 'none' | 'bomb';

/** Mutation mix: mostly damage to real files, some of each hostile construction. */
const PLAN: [keyof typeof MUTATIONS | 'none', number][] = [
  ['truncate', 20],
  ['flipBits', 25],
  ['overwrite', 12],
  ['splice', 10],
  ['wavHeaderLie', 12],
  ['hugeLength', 8],
  ['zeroSamples', 3],
  ['nanFloats', 4],
  ['oversized', 1],
  ['none', 5],
];

function pickMutation(r: Rng): keyof typeof MUTATIONS | 'none' {
  let x = r.int(PLAN.reduce((n, [, w]) => n + w, 0));
  for (const [m, w] of PLAN) if ((x -= w) < 0) return m;
  return 'none';
}

/** Every file under `dir`, recursively, but the audio URL signing secret the server keeps at its root. */
function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name).filter((n) => n !== SECRET_FILE);
  } catch {
    return [];
  }
}

describe('audio fuzz through the upload endpoint (PGlite)', () => {
  let t: TestApp;
  let learnerId: string;
  beforeAll(async () => {
    t = await startTestApp('pglite', { inProcessWorker: false, maxUploadBytes: MAX_UPLOAD });
    learnerId = (await t.admin.request(`mutation { createLearner(input: {externalId: "fuzz"}) { id } }`)).data.createLearner.id;
  }, 120_000);
  afterAll(() => t?.dispose());

  test(`${COUNT} generated and mutated files: no crash, documented codes only, nothing left by refusals`, async () => {
    const started = performance.now();
    const rssAtStart = process.memoryUsage().rss;
    const r = prng(SEED);
    const base = seeds();
    const bombs = hasFfmpeg
      ? BOMB_KINDS.map((k) => ({ name: `bomb-${k}`, bytes: decompressionBomb(k, 3600) }))
      : [];
    const counts = new Map<string, number>();
    const byMutation = new Map<string, Map<string, number>>();
    const failures: string[] = [];
    const accepted = new Set<string>();
    let acceptedRows = 0;
    const slowest: { ms: number; what: string; bytes: Uint8Array }[] = [];
    const latencies: number[] = [];

    const cases = Array.from({ length: COUNT }, (_, i) => {
      // every 60th case is a decompression bomb (lightly mutated half the time)
      if (bombs.length && i % 60 === 0) {
        const bomb = bombs[(i / 60) % bombs.length]!;
        const bytes = r.next() < 0.5 ? bomb.bytes : flipBits(bomb.bytes.subarray(0), r);
        return { what: `${bomb.name}/${bytes === bomb.bytes ? 'none' : 'flipBits'}`, mutation: 'bomb' as Mutation, bytes };
      }
      const seed = r.pick(base);
      const mutation = pickMutation(r);
      const bytes = mutation === 'none' ? seed.bytes : MUTATIONS[mutation](seed.bytes, r);
      return { what: `${seed.name}/${mutation}#${i}`, mutation: mutation as Mutation, bytes };
    });

    async function run(c: (typeof cases)[number]) {
      const t0 = performance.now();
      const res = await t.admin.upload(SUBMIT, { input: { learnerId, referenceText: 'WE CALL IT BEAR', audio: null } }, 'variables.input.audio', {
        bytes: c.bytes,
        name: 'fuzz.bin',
      });
      const ms = performance.now() - t0;
      latencies.push(ms);
      slowest.push({ ms, what: `${c.what} (${c.bytes.length} B)`, bytes: c.bytes });
      slowest.sort((a, b) => b.ms - a.ms).splice(5);
      const code = res.errors ? (errorCode(res) ?? `NO_CODE(${res.status}: ${res.errors[0]?.message.slice(0, 80)})`) : 'OK';
      counts.set(code, (counts.get(code) ?? 0) + 1);
      const per = byMutation.get(c.mutation) ?? new Map<string, number>();
      per.set(code, (per.get(code) ?? 0) + 1);
      byMutation.set(c.mutation, per);
      if (code === 'OK') {
        acceptedRows++;
        accepted.add(sha256Hex(c.bytes));
      } else if (!INTAKE_CODES.has(code) || !(ERROR_CODES as readonly string[]).includes(code)) {
        failures.push(`${c.what}: ${code} ${res.errors?.[0]?.message ?? ''}`);
      }
    }

    // A few uploads in flight at once, as clients send them.
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < cases.length) await run(cases[next++]!);
      }),
    );

    // Nothing left behind by refusals: rows only for accepted uploads, files only for their bytes.
    const rows = await t.app.services.prisma.utterance.count();
    const stored = filesUnder(t.config.audioDir);
    await new Promise((res) => setTimeout(res, 1000)); // upload temp files are released asynchronously
    const temp = readdirSync(os.tmpdir()).filter((n) => n.startsWith('capacitor-'));
    const healthy = (await fetch(t.app.url.replace(/\/graphql$/, '/healthz'))).ok;

    latencies.sort((a, b) => a - b);
    const wall = (performance.now() - started) / 1000;
    console.log(
      [
        `audio fuzz: ${COUNT} uploads (seed ${SEED}, ${base.length} seed files${hasFfmpeg ? ', ffmpeg formats and bombs' : ', WAV only: ffmpeg absent'}) in ${wall.toFixed(1)} s`,
        `answers: ${[...counts].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(', ')}`,
        ...[...byMutation].map(([m, per]) => `  ${m}: ${[...per].map(([c, n]) => `${c} ${n}`).join(', ')}`),
        `latency: median ${latencies[latencies.length >> 1]!.toFixed(0)} ms, p99 ${latencies[Math.floor(latencies.length * 0.99)]!.toFixed(0)} ms, max ${slowest[0]!.ms.toFixed(0)} ms`,
        `slowest: ${slowest.map((x) => `${x.ms.toFixed(0)} ms ${x.what}`).join('; ')}`,
        `RSS: ${(rssAtStart / 2 ** 20).toFixed(0)} MiB with the server started, peak ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB, ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB at the end (the test process is the server process)`,
        `rows ${rows} (accepted ${acceptedRows}), stored files ${stored.length} (distinct accepted ${accepted.size}), upload temp files ${temp.length}`,
      ].join('\n'),
    );

    // FUZZ_DUMP_DIR=dir keeps the slowest inputs for a closer look (never commit audio files).
    if (process.env.FUZZ_DUMP_DIR) slowest.forEach((x, i) => writeFileSync(path.join(process.env.FUZZ_DUMP_DIR!, `slow-${i}.bin`), x.bytes));
    expect(failures).toEqual([]);
    expect(healthy).toBe(true);
    expect(rows).toBe(acceptedRows);
    expect(stored.filter((n) => n.endsWith('.tmp'))).toEqual([]);
    // each accepted recording: its original and the samples decoded at intake (for the worker)
    expect(stored.filter((n) => !n.endsWith('.decoded-16k.f32')).length).toBe(accepted.size);
    expect(stored.filter((n) => n.endsWith('.decoded-16k.f32')).length).toBe(accepted.size);
    expect(temp).toEqual([]);
  }, 1_500_000);
});
