/**
 * Speech synthesised by espeak-ng (a binary on development and CI machines, not an npm package):
 * real speech for suites that must run without ../shared. Suites check `hasEspeak` at collection.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const hasEspeak = spawnSync('espeak-ng', ['--version']).status === 0;

/** A WAV file of `text` read by espeak-ng's US-English voice; `ssml` reads SSML markup (`<break time="1s"/>`). */
export function espeakWav(text: string, options: { ssml?: boolean } = {}): Uint8Array {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'speechmark-espeak-'));
  try {
    const out = path.join(dir, 'speech.wav');
    execFileSync('espeak-ng', ['-v', 'en-us', ...(options.ssml ? ['-m'] : []), '-w', out, text]);
    return new Uint8Array(readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
