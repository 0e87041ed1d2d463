import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SHARED_DATA_DIR, hasSharedData } from './audio-fixtures.js';

export { hasSharedData };

/** Real learner recordings from ../shared (never copied into the repo) with their reference texts. */
export function speechOceanUtterances(split: 'train' | 'dev', count: number): { id: string; text: string; bytes: Uint8Array }[] {
  const lines = readFileSync(path.join(SHARED_DATA_DIR, split, 'text'), 'utf8').trim().split('\n');
  return lines.slice(0, count).map((line) => {
    const [id, ...words] = line.trim().split(/\s+/);
    return { id: id!, text: words.join(' '), bytes: new Uint8Array(readFileSync(path.join(SHARED_DATA_DIR, 'audio', `${id}.flac`))) };
  });
}

/**
 * Jest's `describe`, or, when ../shared is absent, one skipped test whose name says why. The body is
 * not run at all then: `describe.skip` still runs it while tests are collected, and a body that reads
 * the dataset would fail the suite with ENOENT.
 */
export const describeWithSpeech = (name: string, fn: () => void) =>
  hasSharedData ? describe(name, fn) : test.skip(`${name} (skipped: ../shared/speechocean762 absent)`, () => undefined);
