/**
 * Content-addressed storage of original uploads on local disk: `<dir>/<ab>/<sha256>.<ext>`.
 * Keyed by hash so a re-upload of the same bytes is free and rows can reference audio by digest;
 * the two-character fan-out keeps any one directory small.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

const SHA256_RE = /^[0-9a-f]{64}$/;
const EXT_RE = /^[a-z0-9]{1,10}$/;
/** `put`'s temp file name: `.<sha256>.<12 hex>.tmp`. */
const TEMP_RE = /^\.[0-9a-f]{64}\.[0-9a-f]{12}\.tmp$/;

/**
 * Beside an original, its decoded 16 kHz mono PCM as raw little-endian float32: the intake decodes
 * every upload anyway, and the worker then reads these samples instead of decoding the original a
 * second time. Derived data, never the record: absent or unreadable, the worker decodes the original.
 * Named `<sha256>.decoded-16k.f32`, so `remove` (every `<sha256>.*`) deletes it with the original.
 */
const DECODED_SUFFIX = '.decoded-16k.f32';

export interface StoredAudio {
  sha256: string;
  path: string;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Digests come from clients and URLs too; validate before they touch a path (no traversal). */
function assertSha256(sha256: string): void {
  if (!SHA256_RE.test(sha256)) throw new Error(`invalid sha256 digest: ${JSON.stringify(sha256)}`);
}

function normalizeExt(ext: string): string {
  const e = ext.replace(/^\./, '').toLowerCase();
  if (!EXT_RE.test(e)) throw new Error(`invalid file extension: ${JSON.stringify(ext)}`);
  return e;
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * Write `bytes` to `target` unless it exists: to a unique temp file in the same directory, then
 * renamed, so a reader never sees a half-written file and two concurrent writes of the same bytes
 * both succeed.
 */
async function writeOnce(target: string, sha256: string, bytes: Uint8Array): Promise<void> {
  if (await exists(target)) return;
  await fs.mkdir(path.dirname(target), { recursive: true });
  const tmp = path.join(path.dirname(target), `.${sha256}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await fs.writeFile(tmp, bytes, { flag: 'wx' });
    await fs.rename(tmp, target);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

export class AudioStore {
  constructor(readonly dir: string) {}

  /**
   * Delete `put`'s temp files (`<ab>/.<sha256>.<random>.tmp`) older than `maxAgeMs`: a process killed
   * between write and rename leaves them behind, and nothing else ever would remove them. A live put
   * finishes in seconds, so an hour-old temp file is an orphan. Returns the number deleted.
   */
  async sweepStaleTempFiles(maxAgeMs = 60 * 60 * 1000, now = Date.now()): Promise<number> {
    let shards: string[];
    try {
      shards = (await fs.readdir(this.dir)).filter((n) => /^[0-9a-f]{2}$/.test(n));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0; // a fresh store
      throw e;
    }
    let removed = 0;
    for (const shard of shards) {
      const names = await fs.readdir(path.join(this.dir, shard)).catch(() => [] as string[]);
      for (const name of names.filter((n) => TEMP_RE.test(n))) {
        const file = path.join(this.dir, shard, name);
        const stat = await fs.stat(file).catch(() => null);
        if (stat && now - stat.mtimeMs > maxAgeMs) {
          await fs.rm(file, { force: true });
          removed++;
        }
      }
    }
    return removed;
  }

  private shardDir(sha256: string): string {
    return path.join(this.dir, sha256.slice(0, 2));
  }

  /** Path the bytes would have; callers use it to stream the file without reading it whole. */
  pathFor(sha256: string, ext: string): string {
    assertSha256(sha256);
    return path.join(this.shardDir(sha256), `${sha256}.${normalizeExt(ext)}`);
  }

  /**
   * Store bytes; idempotent. Written to a unique temp file in the same directory, then renamed, so a
   * reader never sees a half-written file and two concurrent puts of the same bytes both succeed.
   */
  async put(bytes: Uint8Array, ext: string): Promise<StoredAudio> {
    const sha256 = sha256Hex(bytes);
    const target = this.pathFor(sha256, ext);
    await writeOnce(target, sha256, bytes);
    return { sha256, path: target };
  }

  private decodedPath(sha256: string): string {
    assertSha256(sha256);
    return path.join(this.shardDir(sha256), `${sha256}${DECODED_SUFFIX}`);
  }

  /** Keep the decoded samples of the original `sha256` (idempotent, atomic like `put`). */
  async putDecoded(sha256: string, samples16k: Float32Array): Promise<void> {
    const bytes = new Uint8Array(samples16k.buffer, samples16k.byteOffset, samples16k.byteLength);
    await writeOnce(this.decodedPath(sha256), sha256, bytes);
  }

  /** The decoded samples `putDecoded` kept, or null when there are none (older uploads) or the file is not whole. */
  async readDecoded(sha256: string): Promise<Float32Array | null> {
    let buf: Buffer;
    try {
      buf = await fs.readFile(this.decodedPath(sha256));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    if (buf.byteLength % 4 !== 0) return null;
    // A copy into a fresh buffer: a Float32Array needs a 4-byte-aligned offset, which Buffer does not promise.
    return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  }

  /** Drop the decoded samples of `sha256` (the original stays); nothing to do when there are none. */
  async removeDecoded(sha256: string): Promise<void> {
    await fs.rm(this.decodedPath(sha256), { force: true });
  }

  /**
   * Every digest in the store, a shard at a time, with the newest modification time of its files
   * (the original and any decoded samples; temp files are not digests).
   */
  async *digests(): AsyncGenerator<{ sha256: string; mtimeMs: number }[]> {
    let shards: string[];
    try {
      shards = (await fs.readdir(this.dir)).filter((n) => /^[0-9a-f]{2}$/.test(n));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // a fresh store
      throw e;
    }
    for (const shard of shards.sort()) {
      const newest = new Map<string, number>();
      for (const name of await fs.readdir(path.join(this.dir, shard)).catch(() => [] as string[])) {
        const sha256 = /^([0-9a-f]{64})\./.exec(name)?.[1];
        if (!sha256) continue;
        const stat = await fs.stat(path.join(this.dir, shard, name)).catch(() => null);
        if (stat) newest.set(sha256, Math.max(newest.get(sha256) ?? 0, stat.mtimeMs));
      }
      if (newest.size) yield [...newest].map(([sha256, mtimeMs]) => ({ sha256, mtimeMs }));
    }
  }

  /** Locate a stored file by digest whatever its extension; null when absent. */
  async locate(sha256: string): Promise<string | null> {
    assertSha256(sha256);
    let names: string[];
    try {
      names = await fs.readdir(this.shardDir(sha256));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    const name = names.find((n) => n.startsWith(`${sha256}.`) && !n.endsWith(DECODED_SUFFIX));
    return name ? path.join(this.shardDir(sha256), name) : null;
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.locate(sha256)) !== null;
  }

  /**
   * Delete a stored file (every extension) by digest; true when something was removed. Callers
   * decide that no row references the digest (see src/assessment/audio-files.ts: content-addressed
   * files are shared, so only removeAudioIfUnreferenced should call this for uploads).
   */
  async remove(sha256: string): Promise<boolean> {
    assertSha256(sha256);
    let names: string[];
    try {
      names = await fs.readdir(this.shardDir(sha256));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
    const mine = names.filter((n) => n.startsWith(`${sha256}.`));
    await Promise.all(mine.map((n) => fs.rm(path.join(this.shardDir(sha256), n), { force: true })));
    return mine.length > 0;
  }

  /** The original bytes; throws when absent (a row pointing at missing audio is a server fault). */
  async read(sha256: string): Promise<Uint8Array> {
    const p = await this.locate(sha256);
    if (!p) throw new Error(`audio ${sha256} is not in the store at ${this.dir}`);
    return new Uint8Array(await fs.readFile(p));
  }
}
