/**
 * The hand-written rationale corpus: each entry's expectations were written from what the text
 * means (see tests/fixtures/rationales/README.md), one test per entry.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkRationale } from '../../src/rationale/check.js';
import { speechOceanToLabels } from '../../src/rationale/speechocean.js';

interface Expected {
  flags: string[];
  plausibility: Record<'accuracy' | 'fluency' | 'prosody' | 'overall', string>;
  words: { criticised: string[]; praised: string[] };
  phonemes: { criticised: string[]; praised: string[] };
}
interface Entry {
  id: string;
  referenceText: string;
  labels: unknown;
  rationale: string;
  expected: Expected;
}

const entries: Entry[] = readFileSync(join(process.cwd(), 'tests/fixtures/rationales/corpus.jsonl'), 'utf8')
  .split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Entry);

const sorted = (a: string[]): string[] => [...a].sort();

test('corpus has at least 150 entries with unique ids', () => {
  expect(entries.length).toBeGreaterThanOrEqual(150);
  expect(new Set(entries.map((e) => e.id)).size).toBe(entries.length);
});

test.each(entries.map((e) => [e.id, e] as const))('%s', (_id, entry) => {
  const labels = speechOceanToLabels(entry.labels);
  // The reference text and the record's words must agree, or the entry itself is wrong.
  expect(labels.words.map((w) => w.text).join(' ')).toBe(entry.referenceText);
  const got = checkRationale(entry.rationale, labels);
  const x = entry.expected;
  expect({
    flags: sorted(got.flags),
    plausibility: got.plausibility,
    words: { criticised: sorted(got.words.criticised), praised: sorted(got.words.praised) },
    phonemes: { criticised: sorted(got.phonemes.criticised), praised: sorted(got.phonemes.praised) },
  }).toEqual({
    flags: sorted(x.flags),
    plausibility: x.plausibility,
    words: { criticised: sorted(x.words.criticised), praised: sorted(x.words.praised) },
    phonemes: { criticised: sorted(x.phonemes.criticised), praised: sorted(x.phonemes.praised) },
  });
});
