/**
 * A model file that does not match its manifest's sha256 is refused at start, by the real entry
 * points in their own processes: exit code 1 and one line on stderr naming the file, no stack.
 */
import { cp, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runEntry } from '../support/processes.js';

let tmp: string;
let bundle: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'speechmark-checksum-'));
  bundle = path.join(tmp, 'model');
  await cp('models/default', bundle, { recursive: true });
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

/** Flips one byte in the middle of a bundle file (a truncated download or a bit flip on disk). */
async function corrupt(file: string): Promise<() => Promise<void>> {
  const full = path.join(bundle, file);
  const original = await readFile(full);
  const at = Math.floor(original.length / 2);
  const fh = await open(full, 'r+');
  await fh.write(Buffer.from([original[at]! ^ 0xff]), 0, 1, at);
  await fh.close();
  return async () => {
    const restore = await open(full, 'r+');
    await restore.write(original.subarray(at, at + 1), 0, 1, at);
    await restore.close();
  };
}

async function expectRefused(entry: 'src/main.ts' | 'src/worker-main.ts', file: string, env: Record<string, string>) {
  const run = runEntry(entry, { SPEECHMARK_MODEL_DIR: bundle, SPEECHMARK_DATA_DIR: path.join(tmp, 'data'), PORT: '0', ...env });
  const { code } = await run.exited;
  const lines = run.stderr().trim().split('\n');
  expect({ code, lines }).toEqual({ code: 1, lines: [expect.stringContaining(`sha256 mismatch for "${file}"`)] });
  expect(lines[0]).toContain(bundle); // which bundle
  expect(run.stderr()).not.toMatch(/\n\s+at /); // no stack trace
  expect(run.stdout()).not.toContain('GraphQL API'); // never served
}

describe('a model file failing its checksum', () => {
  test.each(['acoustic.onnx', 'heads.onnx', 'native.onnx', 'native-triphones.u16'])('%s: `npm start` refuses to start, naming the file', async (file) => {
    const restore = await corrupt(file);
    try {
      await expectRefused('src/main.ts', file, {});
    } finally {
      await restore();
    }
  });

  test('`npm run worker` refuses to start, naming the file, before it connects to any database', async () => {
    const restore = await corrupt('acoustic.onnx');
    try {
      // Nothing listens on port 1: the refusal is the model's, not a connection error.
      await expectRefused('src/worker-main.ts', 'acoustic.onnx', { DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/none' });
    } finally {
      await restore();
    }
  });
});
