import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AudioStore } from '../../src/audio/store.js';

describe('AudioStore', () => {
  let dir: string;
  let store: AudioStore;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'speechmark-store-'));
    store = new AudioStore(dir);
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  const bytes = new TextEncoder().encode('RIFF pretend audio bytes');
  const sha = createHash('sha256').update(bytes).digest('hex');

  test('put stores under <dir>/<ab>/<sha256>.<ext> and read returns the bytes', async () => {
    const stored = await store.put(bytes, 'wav');
    expect(stored).toEqual({ sha256: sha, path: path.join(dir, sha.slice(0, 2), `${sha}.wav`) });
    expect(await store.has(sha)).toBe(true);
    expect(Buffer.from(await store.read(sha))).toEqual(Buffer.from(bytes));
  });

  test('idempotent, also under concurrent puts; no temp files left behind', async () => {
    const results = await Promise.all([1, 2, 3, 4].map(() => store.put(bytes, '.WAV')));
    expect(new Set(results.map((r) => r.path)).size).toBe(1);
    expect(await fs.readdir(path.join(dir, sha.slice(0, 2)))).toEqual([`${sha}.wav`]);
  });

  test('absent digests: has() false, read() throws', async () => {
    const other = 'f'.repeat(64);
    expect(await store.has(other)).toBe(false);
    await expect(store.read(other)).rejects.toThrow(/not in the store/);
  });

  test('sweepStaleTempFiles deletes only temp files older than the age, never stored audio', async () => {
    await store.put(bytes, 'wav');
    const shard = path.join(dir, sha.slice(0, 2));
    const stale = path.join(shard, `.${sha}.0123456789ab.tmp`); // a put killed before its rename
    const fresh = path.join(shard, `.${sha}.ba9876543210.tmp`); // a put in progress
    const lookalike = path.join(shard, 'notes.tmp');
    for (const f of [stale, fresh, lookalike]) await fs.writeFile(f, 'x');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    for (const f of [stale, lookalike]) await fs.utimes(f, twoHoursAgo, twoHoursAgo);
    expect(await store.sweepStaleTempFiles(3600_000)).toBe(1);
    expect((await fs.readdir(shard)).sort()).toEqual([`.${sha}.ba9876543210.tmp`, `${sha}.wav`, 'notes.tmp'].sort());
    expect(await new AudioStore(path.join(dir, 'absent')).sweepStaleTempFiles()).toBe(0);
  });

  test('decoded samples: kept beside the original, read back bit for bit, never taken for the original, removed with it', async () => {
    const samples = Float32Array.from({ length: 1001 }, (_, i) => Math.sin(i / 7) * 0.5 + 1e-7 * i);
    await store.put(bytes, 'wav');
    expect(await store.readDecoded(sha)).toBeNull(); // audio stored before decoded samples were kept
    await Promise.all([1, 2, 3].map(() => store.putDecoded(sha, samples)));
    expect(await store.readDecoded(sha)).toEqual(samples);
    // locate/read still find the original whatever order the directory lists them in
    expect(await store.locate(sha)).toBe(path.join(dir, sha.slice(0, 2), `${sha}.wav`));
    expect(Buffer.from(await store.read(sha))).toEqual(Buffer.from(bytes));
    expect((await fs.readdir(path.join(dir, sha.slice(0, 2)))).sort()).toEqual([`${sha}.decoded-16k.f32`, `${sha}.wav`]);
    expect(await store.remove(sha)).toBe(true);
    expect(await fs.readdir(path.join(dir, sha.slice(0, 2)))).toEqual([]);
    expect(await store.readDecoded(sha)).toBeNull();
  });

  test('decoded samples cut short (not a whole number of floats) are not used', async () => {
    await fs.mkdir(path.join(dir, sha.slice(0, 2)), { recursive: true });
    await fs.writeFile(path.join(dir, sha.slice(0, 2), `${sha}.decoded-16k.f32`), new Uint8Array(4 * 10 + 3));
    expect(await store.readDecoded(sha)).toBeNull();
  });

  test('digests and extensions that could escape the directory are rejected', async () => {
    await expect(store.has('../../etc/passwd')).rejects.toThrow(/invalid sha256/);
    await expect(store.put(bytes, '../x')).rejects.toThrow(/invalid file extension/);
  });
});
