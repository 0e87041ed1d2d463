/**
 * Checks rationales in bulk. stdin: JSON lines {"referenceText", "labels": <SpeechOcean762 record>,
 * "rationale"}; stdout: one JSON line per input line with the check, or {"error": "..."} for a line
 * that cannot be checked (the run goes on). Exit code 0 unless stdin cannot be read.
 *
 *   npx tsx scripts/check-rationales.ts < rationales.jsonl
 */
import { createInterface } from 'node:readline';
import { checkRationale } from '../src/rationale/check.js';
import { speechOceanToLabels } from '../src/rationale/speechocean.js';

export function checkLine(line: string): Record<string, unknown> {
  let input: unknown;
  try {
    input = JSON.parse(line);
  } catch (e) {
    return { error: `invalid JSON: ${(e as Error).message}` };
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return { error: 'line must be a JSON object' };
  const { labels, rationale } = input as { labels?: unknown; rationale?: unknown };
  if (typeof rationale !== 'string') return { error: 'rationale must be a string' };
  try {
    const check = checkRationale(rationale, speechOceanToLabels(labels));
    return { flags: check.flags, plausibility: check.plausibility, words: check.words, phonemes: check.phonemes, unknownWords: check.unknownWords };
  } catch (e) {
    return { error: `labels: ${(e as Error).message}` };
  }
}

async function main(): Promise<void> {
  process.stdin.on('error', (e) => {
    process.stderr.write(`cannot read stdin: ${e.message}\n`);
    process.exit(1);
  });
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of rl) {
    if (line.trim() === '') continue;
    process.stdout.write(`${JSON.stringify(checkLine(line))}\n`);
  }
}

void main();
