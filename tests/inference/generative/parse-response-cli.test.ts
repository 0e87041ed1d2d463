/**
 * `npm run parse-response` run as a child process: the README's command as written, and the
 * options (ARPAbet or grouped IPA target phonemes, other formats, a bundle's rubric, usage errors).
 */
import { describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GOOD_JSON, GOOD_RUBRIC } from './fixtures.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile('bash', ['-euo', 'pipefail', '-c', command], { env: { ...process.env, NODE_OPTIONS: '' }, encoding: 'utf8', timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

const cli = (args: string) => `npm run -s parse-response -- ${args}`;
const lastLine = (out: string) => JSON.parse(out.trim().split('\n').pop()!);

describe('npm run parse-response', () => {
  test("the README's command prints what the README shows", async () => {
    const readme = readFileSync('README.md', 'utf8');
    const block = /```sh\n(printf [\s\S]*?parse-response[\s\S]*?)```/.exec(readme)![1]!;
    const [command, example] = block.split('\n# → ');
    const r = await run(command!);
    expect(r.code).toBe(0);
    expect(lastLine(r.stdout)).toEqual(JSON.parse(example!));
  });

  test('ARPAbet target phonemes, the lexicon by default, and a response one phoneme short (exit 1, the reason)', async () => {
    const arpabet = await run(cli('--format rubric --reference "WE CALL IT BEAR" --phonemes "W IY1 K AO1 L IH1 T B EH1 R"'), GOOD_RUBRIC);
    expect(arpabet.code).toBe(0);
    const out = lastLine(arpabet.stdout);
    expect(out.labels.words[1].phonemes).toEqual([{ symbol: 'K', accuracy: 2 }, { symbol: 'AO1', accuracy: 1.2 }, { symbol: 'L', accuracy: 0.2 }]);
    expect(out.labels.words.map((w: any) => w.stress)).toEqual([10, 10, 10, 5]);
    expect(out.rationale).toMatch(/^Mostly clear/);
    const short = await run(cli('--format rubric --reference "WE CALL IT BEAR"'), GOOD_RUBRIC.replace(' ɹ/Excellent', ''));
    expect(short.code).toBe(1);
    expect(lastLine(short.stdout)).toEqual({ error: 'MODEL_OUTPUT_INVALID', reason: 'phone_count', message: expect.stringMatching(/Phonemes has 9 label\(s\), the target phonemes are 10/) });
  });

  test('words grouped with "|", the json format, and a manifest that requires a produced total', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'speechmark-parse-cli-'));
    try {
      const manifest = path.join(dir, 'manifest.json');
      writeFileSync(manifest, JSON.stringify({ generative: { rubric: { total: 'produced' } } }));
      const grouped = await run(cli(`--format rubric --reference "WE CALL IT BEAR" --phonemes "w i | k ɔ l | ɪ t | b ɛ ɹ" --manifest ${manifest}`), GOOD_RUBRIC.replace('Prosody: Average', 'Prosody: Average\nTotal: Fair'));
      expect(grouped.code).toBe(0);
      expect(lastLine(grouped.stdout).labels.sentence.total).toBe(6);
      expect(lastLine(grouped.stdout).labels.derived).toEqual({ wordTotal: 'word_accuracy', completeness: 'words_not_worst' });
      const json = await run(cli('--format json --reference "WE CALL IT BEAR"'), JSON.stringify(GOOD_JSON));
      expect(json.code).toBe(0);
      expect(lastLine(json.stdout).labels.sentence).toEqual({ accuracy: 8, fluency: 7, prosody: 7, completeness: 10, total: 7 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('usage errors exit 2 with a message on stderr', async () => {
    const r = await run(cli('--format rubric --reference "WE CALL IT BEAR" --phonemes "w i k"'), GOOD_RUBRIC);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--phonemes has 3 phoneme\(s\), the lexicon gives 10/);
    const format = await run(cli('--format yaml --reference "WE"'), '');
    expect(format.code).toBe(2);
    expect(format.stderr).toMatch(/--format must be one of json, lines, rubric/);
  });
});
