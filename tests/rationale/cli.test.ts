/** scripts/check-rationales.ts end to end, through a child process. */
import { spawnSync } from 'node:child_process';

const record = {
  accuracy: 8, completeness: 10, fluency: 9, prosodic: 9, total: 8,
  words: [
    { text: 'WE', accuracy: 10, stress: 10, total: 10, phones: ['W', 'IY0'], 'phones-accuracy': [2, 2] },
    { text: 'BEAR', accuracy: 6, stress: 10, total: 7, phones: ['B', 'EH0', 'R'], 'phones-accuracy': [2, 1.3, 1.7] },
  ],
};

function runCli(input: string): { status: number | null; lines: Array<Record<string, unknown>>; stderr: string } {
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // jest's --experimental-vm-modules is not for the child
  const res = spawnSync('npx', ['tsx', 'scripts/check-rationales.ts'], { input, env, encoding: 'utf8', timeout: 60000 });
  const lines = res.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  return { status: res.status, lines, stderr: res.stderr };
}

test('one JSON line per input line; malformed lines report an error and the run goes on', () => {
  const input = [
    JSON.stringify({ referenceText: 'WE BEAR', labels: record, rationale: "Fluency was smooth, but 'BEAR' was mispronounced." }),
    '{not json',
    JSON.stringify({ referenceText: 'WE BEAR', labels: { accuracy: 8 }, rationale: 'x' }),
    JSON.stringify({ referenceText: 'WE BEAR', labels: record }),
    '',
    JSON.stringify({ referenceText: 'WE BEAR', labels: record, rationale: "Excellent fluency. 'WE' was clear." }),
  ].join('\n');
  const { status, lines } = runCli(input);
  expect(status).toBe(0);
  expect(lines).toHaveLength(5); // the blank line is skipped
  expect(lines[0]).toMatchObject({
    flags: [],
    plausibility: { accuracy: 'not_mentioned', fluency: 'consistent', prosody: 'not_mentioned', overall: 'not_mentioned' },
    words: { criticised: ['BEAR'], praised: [], precision: 1, recall: 1 },
    phonemes: { criticised: [], praised: [], precision: null },
  });
  expect(lines[1]!.error).toMatch(/invalid JSON/);
  expect(lines[2]!.error).toMatch(/labels/);
  expect(lines[3]!.error).toMatch(/rationale/);
  expect(lines[4]).toMatchObject({ flags: ['MISSED_ERRORS'], words: { praised: ['WE'] } });
});
