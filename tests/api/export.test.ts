/**
 * GET /export/results over real HTTP on the real server (PGlite, and PostgreSQL when reachable):
 * what it streams equals what the database holds (latest MODEL assessment per utterance, words of
 * it), CSV is RFC 4180 with formula cells neutralised, keys need SCORES_READ and see only their own
 * organisation, and a few thousand rows arrive as a stream in several chunks.
 */
import type { PrismaClient } from '../../src/generated/prisma/client.js';
import { writeAssessment } from '../../src/assessment/persist.js';
import { toGlobalId } from '../../src/graphql/ids.js';
import { csvCell, EXPORT_PAGE_SIZE } from '../../src/http/export.js';
import { writeSeed } from '../../src/seed/write.js';
import { analyzeReferenceText } from '../../src/text/reference.js';
import { arpabetToIpa } from '../../src/text/phones.js';
import { decodeTimeline } from '../../src/assessment/timeline-codec.js';
import { intonationOf } from '../../src/assessment/intonation.js';
import { assessmentBreaks } from '../../src/assessment/breaks.js';
import { assessmentFluency } from '../../src/assessment/fluency.js';
import type { AssessmentLabels } from '../../src/types.js';
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { keyWithScopes, otherOrganization, seedModelAssessment, seedUtterance } from '../support/seed.js';

const kinds = await testDatabases();

/** RFC 4180 parser (CRLF records, quoted fields with doubled quotes). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (cell += '"'), (i += 2);
      else if (ch === '"') (quoted = false), i++;
      else (cell += ch), i++;
    } else if (ch === '"' && cell === '') (quoted = true), i++;
    else if (ch === ',') row.push(cell), (cell = ''), i++;
    else if (ch === '\r' && text[i + 1] === '\n') row.push(cell), rows.push(row), (row = []), (cell = ''), (i += 2);
    else if (ch === '\r' || ch === '\n') throw new Error(`bare line break at ${i}`);
    else (cell += ch), i++;
  }
  if (cell !== '' || row.length) throw new Error('last record not terminated by CRLF');
  return rows;
}

function labels(total: number, words: string[]): AssessmentLabels {
  return {
    sentence: { accuracy: total, fluency: total, prosody: total, completeness: 10, total },
    words: words.map((text, i) => ({ text, accuracy: (total + i) % 11, stress: 10, total: total, phonemes: [{ symbol: 'AH0', accuracy: 1.5 }] })),
  };
}

const FLUENCY = ['wordCount', 'syllableCount', 'speakingMs', 'articulationMs', 'wordsPerMinute', 'speechRate', 'articulationRate', 'pauseCount', 'totalPauseMs', 'longestPauseMs', 'meanLengthOfRun', 'phonationTimeRatio'] as const;

type Rec = Record<string, string | number | boolean | string[] | Record<string, string> | null>;

/** The export's rows computed independently from the database through Prisma. */
async function expected(prisma: PrismaClient, learnerId: string, level: 'utterance' | 'word' | 'phoneme'): Promise<Rec[]> {
  const learner = await prisma.learner.findUniqueOrThrow({ where: { id: learnerId } });
  const utterances = await prisma.utterance.findMany({
    where: { learnerId },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    include: { assessments: { where: { source: 'MODEL' }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: 1, include: { words: { orderBy: { index: 'asc' }, include: { phonemes: { orderBy: { index: 'asc' } } } } } } },
  });
  const out: Rec[] = [];
  for (const u of utterances) {
    const a = u.assessments[0];
    if (!a) continue;
    const base: Rec = {
      learnerExternalId: learner.externalId, groups: learner.groups, utteranceId: toGlobalId('Utterance', u.id), referenceText: u.referenceText,
      createdAt: u.createdAt.toISOString(), assessmentId: toGlobalId('Assessment', a.id), assessedAt: a.createdAt.toISOString(), modelVersion: a.modelVersion,
      accuracy: a.accuracy, fluency: a.fluency, prosody: a.prosody, completeness: a.completeness, total: a.total,
    };
    // The outcome columns come last, after the word columns too.
    const outcome: Rec = { contentMatch: a.contentMatch, flags: a.flags, groupsAtSubmission: u.learnerGroups, metadata: Object.fromEntries(Object.entries(u.metadata as Record<string, string>).sort(([a], [b]) => (a < b ? -1 : 1))) };
    // The prosody columns come last of all, at every level.
    const timeline = decodeTimeline(a.timeline);
    const tune = timeline?.pitch ? intonationOf(timeline.pitch) : null;
    const intonation: Rec = { medianPitchHz: tune?.medianPitchHz ?? null, pitchSpanSemitones: tune?.pitchSpanSemitones ?? null, intonationErrorTypes: tune?.errorTypes ?? null };
    const m = assessmentFluency({ words: a.words, referenceWords: u.referenceWords, timing: timeline, flags: a.flags });
    const fluency: Rec = Object.fromEntries(FLUENCY.map((k) => [k, m?.[k] ?? null]));
    const breaks = assessmentBreaks({ words: a.words, utterance: u, insertions: timeline?.insertions ?? null, flags: a.flags });
    if (level === 'utterance') out.push({ ...base, ...outcome, ...intonation, ...fluency });
    else {
      for (const w of a.words) {
        const word: Rec = {
          ...base, wordIndex: w.index, word: w.text, wordAccuracy: w.accuracy, wordStress: w.stress, wordTotal: w.total, ...outcome,
          wordErrorType: w.errorType, wordStartMs: w.startMs, wordEndMs: w.endMs,
        };
        const b = breaks?.get(w.index) ?? null;
        const prosody: Rec = { ...intonation, ...fluency, breakSilenceMs: b?.silenceMs ?? null, breakExpected: b?.expected ?? null, breakErrorTypes: b?.errorTypes ?? null };
        if (level === 'word') out.push({ ...word, ...prosody });
        else {
          for (const p of w.phonemes) {
            out.push({
              ...word, phonemeIndex: p.index, phoneme: p.symbol, phonemeIpa: arpabetToIpa(p.symbol), phonemeAccuracy: p.accuracy,
              producedPhoneme: p.producedSymbol, producedConfidence: p.producedConfidence, phonemeDeleted: p.deleted, phonemeSubstituted: p.substituted,
              phonemeStartMs: p.startMs, phonemeEndMs: p.endMs, ...prosody,
            });
          }
        }
      }
    }
  }
  return out;
}

/** How the CSV writes a value (formula guard on text and on each group, groups joined by ';', metadata as its JSON object or nothing). */
function asCsv(v: string | number | boolean | string[] | Record<string, string> | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (!Array.isArray(v) && typeof v === 'object') return Object.keys(v).length ? JSON.stringify(v) : '';
  const guard = (s: string) => (/^[=+\-@\t\r]/.test(s) ? `'${s}` : s);
  return Array.isArray(v) ? v.map(guard).join(';') : guard(v);
}

test('a CSV cell: every list item guarded, quoted where a spreadsheet would split it', () => {
  // A group that is a formula after another: Excel with ';' as its list separator splits there.
  expect(csvCell(['7B', '=HYPERLINK("http://x","y")'])).toBe('"7B;\'=HYPERLINK(""http://x"",""y"")"');
  expect(csvCell(['7B', '-1+2'])).toBe(`"7B;'-1+2"`);
  expect(csvCell('a;=1+1')).toBe('"a;=1+1"');
  expect(csvCell(['plain', 'list'])).toBe('"plain;list"');
  expect(csvCell('plain')).toBe('plain');
  expect(csvCell('@sum')).toBe("'@sum");
});

describe.each(kinds)('GET /export/results [%s]', (kind) => {
  let t: TestApp;
  let prisma: PrismaClient;
  let base: string;
  let reader: string;
  let nasty: { id: string; externalId: string };
  let seeded: { id: string; externalId: string; n: number };

  const get = (query: string, key: string | null = reader) =>
    fetch(`${base}?${query}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });

  beforeAll(async () => {
    t = await startTestApp(kind);
    prisma = t.app.services.prisma;
    base = t.app.url.replace(/\/graphql$/, '/export/results');
    reader = (await keyWithScopes(t, ['SCORES_READ'])).apiKey!;
    const org = await prisma.organization.findFirstOrThrow({ orderBy: { createdAt: 'asc' } });
    // A few thousand utterances, all in group-001, several pages per learner.
    await writeSeed(prisma, { learners: 5, utterances: 2600, groups: 1, seed: 11, months: 6, end: new Date('2026-06-01T00:00:00Z'), organizationId: org.id });
    const top = await prisma.utterance.groupBy({ by: ['learnerId'], _count: true, orderBy: { _count: { learnerId: 'desc' } }, take: 1 });
    const l = await prisma.learner.findUniqueOrThrow({ where: { id: top[0]!.learnerId } });
    seeded = { id: l.id, externalId: l.externalId, n: top[0]!._count };

    // A learner whose strings need quoting and formula guarding.
    const learner = await prisma.learner.create({ data: { organizationId: org.id, externalId: '=HYPERLINK("http://x","y")', groups: ['@class', 'set,2', 'group-001'] } });
    nasty = learner;
    // learnerGroups: the groups at submission, which the export reports beside today's.
    const utterance = async (text: string, at: string, learnerGroups: string[] = [], metadata: Record<string, string> = {}) =>
      prisma.utterance.create({
        data: {
          organizationId: org.id, learnerId: learner.id, referenceText: text, referenceWords: analyzeReferenceText(text) as never, learnerGroups, metadata,
          audioSha256: 'f'.repeat(64), audioFormat: 'wav', audioBytes: 1, durationMs: 1000, sourceSampleRate: 16000, sourceChannels: 1, speechMs: 900,
          createdAt: new Date(at),
        },
      });
    const assess = async (
      utteranceId: string, source: 'MODEL' | 'HUMAN', version: string | null, total: number, words: string[], at: string,
      outcome: { contentMatch: number; flags: 'READ_WRONG_TEXT'[] } | null = null,
    ) => {
      const id = await prisma.$transaction((tx) =>
        writeAssessment(tx, {
          organizationId: org.id, utteranceId, jobId: null, source, inferenceMs: null, rationale: null, rater: source === 'HUMAN' ? 'r1' : null,
          model: version ? { name: 'm', version, executionProvider: 'cpu' } : null, labels: labels(total, words), ...outcome,
        }),
      );
      await prisma.assessment.update({ where: { id }, data: { createdAt: new Date(at) } });
    };
    const u1 = await utterance('He said "hi", then left.\nAgain', '2026-07-01T10:00:00.000Z', ['=old class', 'group-001'], { attempt: 'a-1', note: 'said "hi", twice' });
    await assess(u1.id, 'MODEL', '1.0', 3, ['HE', 'SAID', 'HI', 'THEN', 'LEFT', 'AGAIN'], '2026-07-01T10:00:01.000Z');
    await assess(u1.id, 'MODEL', '2.0', 7, ['HE', 'SAID', 'HI', 'THEN', 'LEFT', 'AGAIN'], '2026-07-02T10:00:00.000Z');
    await assess(u1.id, 'HUMAN', null, 9, ['HE', 'SAID', 'HI', 'THEN', 'LEFT', 'AGAIN'], '2026-07-03T10:00:00.000Z');
    await utterance('Not assessed yet', '2026-07-04T10:00:00.000Z');
    const u3 = await utterance('-5 degrees + wind', '2026-07-05T10:00:00.000Z');
    await assess(u3.id, 'MODEL', '=2.0', 4, ['MINUS', 'FIVE'], '2026-07-05T10:00:02.000Z', { contentMatch: 0.12, flags: ['READ_WRONG_TEXT'] });
  });
  afterAll(async () => {
    await t?.dispose();
  });

  test('CSV of a learner by externalId: RFC 4180, formulas neutralised, latest MODEL assessment per utterance', async () => {
    const res = await get(`learner=${encodeURIComponent(nasty.externalId)}&format=csv`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8; header=present');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="results-learner-_HYPERLINK_http_x_y_.csv"');
    const text = await res.text();
    const lines = text.split('\r\n');
    expect(lines[0]).toBe('learnerExternalId,groups,utteranceId,referenceText,createdAt,assessmentId,assessedAt,modelVersion,accuracy,fluency,prosody,completeness,total,contentMatch,flags,groupsAtSubmission,metadata,medianPitchHz,pitchSpanSemitones,intonationErrorTypes,' + FLUENCY.join(','));
    // The unassessed utterance is left out; the HUMAN labels are not the result; v2 replaced v1.
    expect(text.startsWith(lines[0] + '\r\n"\'=HYPERLINK(""http://x"",""y"")","@class;set,2;group-001"'.replace('"@class', '"\'@class'))).toBe(true);
    const rows = parseCsv(text);
    expect(rows.length).toBe(3);
    expect(rows[1]!.slice(3, 4).concat(rows[1]!.slice(7))).toEqual(['He said "hi", then left.\nAgain', '2.0', '7', '7', '7', '10', '7', '', '', "'=old class;group-001", '{"attempt":"a-1","note":"said \\"hi\\", twice"}', ...Array(15).fill('')]);
    // Groups now and at submission differ for a learner who changed class.
    expect(rows[1]![1]).toBe("'@class;set,2;group-001");
    // Another sentence was read: the row says so (the analytics leave it out).
    expect(rows[2]!.slice(3, 4).concat(rows[2]!.slice(7))).toEqual(["'-5 degrees + wind", "'=2.0", '4', '4', '4', '10', '4', '0.12', 'READ_WRONG_TEXT', '', '', ...Array(15).fill('')]);
    const want = await expected(prisma, nasty.id, 'utterance');
    expect(rows.slice(1)).toEqual(want.map((r) => Object.values(r).map(asCsv)));
  });

  test('JSON lines of a learner by global id, several pages, equal the database', async () => {
    expect(seeded.n).toBeGreaterThan(EXPORT_PAGE_SIZE); // more than one page
    const res = await get(`learner=${toGlobalId('Learner', seeded.id)}&format=jsonl`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="results-learner-${seeded.externalId}.jsonl"`);
    const text = await res.text();
    expect(text.endsWith('\n')).toBe(true);
    const got = text.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(got).toEqual(await expected(prisma, seeded.id, 'utterance'));
    expect(got.length).toBe(seeded.n);
  });

  test('level=word: one row per word of the latest MODEL assessment, in CSV and JSON lines', async () => {
    const want = await expected(prisma, nasty.id, 'word');
    expect(want.length).toBe(8);
    const csv = parseCsv(await (await get(`learner=${encodeURIComponent(nasty.externalId)}&level=word`)).text());
    // The word columns, then the outcome columns, then the word's miscue and timing (added last, so earlier positions hold).
    expect(csv[0]!.slice(-30, -18)).toEqual(['wordIndex', 'word', 'wordAccuracy', 'wordStress', 'wordTotal', 'contentMatch', 'flags', 'groupsAtSubmission', 'metadata', 'wordErrorType', 'wordStartMs', 'wordEndMs']);
    // then the prosody feedback, last of all
    expect(csv[0]!.slice(-18)).toEqual(['medianPitchHz', 'pitchSpanSemitones', 'intonationErrorTypes', ...FLUENCY, 'breakSilenceMs', 'breakExpected', 'breakErrorTypes']);
    expect(csv.slice(1)).toEqual(want.map((r) => Object.values(r).map(asCsv)));
    const res = await get(`learner=${seeded.externalId}&level=word&format=jsonl`);
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="results-learner-${seeded.externalId}-words.jsonl"`);
    const got = (await res.text()).trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(got).toEqual(await expected(prisma, seeded.id, 'word'));
  });

  test('level=phoneme: one row per phoneme of each word, with what was heard instead and its timing, in CSV and JSON lines', async () => {
    // The model's diagnostics on one word of the nasty learner's latest assessment: timing, a miscue and the sound heard.
    const u1 = await prisma.utterance.findFirstOrThrow({ where: { learnerId: nasty.id, createdAt: new Date('2026-07-01T10:00:00.000Z') } });
    const latest = await prisma.assessment.findFirstOrThrow({ where: { utteranceId: u1.id, source: 'MODEL' }, orderBy: { createdAt: 'desc' }, include: { words: { orderBy: { index: 'asc' } } } });
    const said = latest.words[1]!;
    await prisma.wordAssessment.update({ where: { id: said.id }, data: { errorType: 'MISPRONOUNCED', startMs: 420, endMs: 760 } });
    await prisma.phonemeAssessment.updateMany({
      where: { wordAssessmentId: said.id, index: 0 },
      data: { producedSymbol: 'EH', producedConfidence: 0.81, substituted: true, deleted: false, startMs: 420, endMs: 510 },
    });
    const want = await expected(prisma, nasty.id, 'phoneme');
    expect(want.length).toBe(8); // one phoneme per word here
    const heard = want.find((r) => r.producedPhoneme === 'EH')!;
    expect(heard).toMatchObject({ word: said.text, wordErrorType: 'MISPRONOUNCED', wordStartMs: 420, phoneme: 'AH0', phonemeIpa: 'ə', phonemeSubstituted: true, phonemeStartMs: 420, phonemeEndMs: 510 });
    const res = await get(`learner=${encodeURIComponent(nasty.externalId)}&level=phoneme&format=jsonl`);
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="results-learner-${nasty.externalId.replace(/[^A-Za-z0-9._-]+/g, '_')}-phonemes.jsonl"`);
    expect((await res.text()).trimEnd().split('\n').map((l) => JSON.parse(l))).toEqual(want);
    const csv = parseCsv(await (await get(`learner=${encodeURIComponent(nasty.externalId)}&level=phoneme`)).text());
    expect(csv[0]!.slice(-31)).toEqual([
      'wordErrorType', 'wordStartMs', 'wordEndMs', 'phonemeIndex', 'phoneme', 'phonemeIpa', 'phonemeAccuracy', 'producedPhoneme', 'producedConfidence',
      'phonemeDeleted', 'phonemeSubstituted', 'phonemeStartMs', 'phonemeEndMs',
      'medianPitchHz', 'pitchSpanSemitones', 'intonationErrorTypes', ...FLUENCY, 'breakSilenceMs', 'breakExpected', 'breakErrorTypes',
    ]);
    expect(csv.slice(1)).toEqual(want.map((r) => Object.values(r).map(asCsv)));
    // A long history at phoneme level equals the database too (several keyset pages).
    const many = await get(`learner=${seeded.externalId}&level=phoneme&format=jsonl`);
    expect((await many.text()).trimEnd().split('\n').map((l) => JSON.parse(l))).toEqual(await expected(prisma, seeded.id, 'phoneme'));
  });

  test('since (inclusive) and until (exclusive) keep the utterances recorded in the window; consecutive windows partition the export', async () => {
    const rowsOf = async (query: string) => {
      const res = await get(query);
      expect([query, res.status]).toEqual([query, 200]);
      return (await res.text()).trimEnd().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Rec);
    };
    const learner = `learner=${encodeURIComponent(nasty.externalId)}&format=jsonl`;
    const all = await rowsOf(learner);
    expect(all.map((r) => r.createdAt)).toEqual(['2026-07-01T10:00:00.000Z', '2026-07-05T10:00:00.000Z']);
    // The same instant written with another offset is still inclusive; a millisecond later is not.
    expect(await rowsOf(`${learner}&since=${encodeURIComponent('2026-07-01T12:00:00+02:00')}`)).toEqual(all);
    expect(await rowsOf(`${learner}&since=2026-07-01T10:00:00.001Z`)).toEqual(all.slice(1));
    expect(await rowsOf(`${learner}&until=2026-07-05T10:00:00Z`)).toEqual(all.slice(0, 1));
    expect(await rowsOf(`${learner}&until=2026-07-05T10:00:00.001Z`)).toEqual(all);
    expect(await rowsOf(`${learner}&since=2026-07-02T00:00:00Z&until=2026-07-05T00:00:00Z`)).toEqual([]);

    // Over several keyset pages: months cut at arbitrary instants add up to the whole, in order.
    const whole = await expected(prisma, seeded.id, 'utterance');
    const times = whole.map((r) => Date.parse(r.createdAt as string));
    // The last window holds more than a keyset page, so the window and the paging meet.
    const cuts = [times[0]!, times[1]! + 1, times[Math.floor(times.length / 4)]! + 1, times.at(-1)! + 1].map((t) => new Date(t).toISOString());
    const parts: Rec[] = [];
    const sizes: number[] = [];
    for (let i = 0; i + 1 < cuts.length; i++) {
      const part = await rowsOf(`learner=${seeded.externalId}&format=jsonl&since=${cuts[i]}&until=${cuts[i + 1]}`);
      for (const r of part) {
        expect(r.createdAt! >= cuts[i]! && r.createdAt! < cuts[i + 1]!).toBe(true);
      }
      sizes.push(part.length);
      parts.push(...part);
    }
    expect(Math.max(...sizes)).toBeGreaterThan(EXPORT_PAGE_SIZE);
    expect(parts).toEqual(whole);
    // The CSV of a window has the header and nothing else when no utterance falls in it.
    const empty = await get(`group=group-001&since=2001-01-01T00:00:00Z&until=2001-01-02T00:00:00Z`);
    expect(empty.status).toBe(200);
    expect(parseCsv(await empty.text()).length).toBe(1);
  });

  test('a group of a few thousand rows streams in several chunks, learner by learner', async () => {
    const res = await get('group=group-001&format=csv');
    expect(res.status).toBe(200);
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    expect(res.headers.get('content-length')).toBeNull();
    const body = res.body!.getReader();
    const decoder = new TextDecoder();
    let chunks = 0;
    let text = '';
    for (;;) {
      const { done, value } = await body.read();
      if (done) break;
      chunks++;
      text += decoder.decode(value, { stream: true });
    }
    expect(chunks).toBeGreaterThan(1);
    const rows = parseCsv(text).slice(1);
    const learners = await prisma.learner.findMany({ where: { groups: { has: 'group-001' } }, orderBy: { externalId: 'asc' } });
    expect(learners.length).toBe(6);
    const want: Rec[] = [];
    for (const l of learners) want.push(...(await expected(prisma, l.id, 'utterance')));
    expect(want.length).toBeGreaterThan(2500);
    expect(rows).toEqual(want.map((r) => Object.values(r).map(asCsv)));
  });

  test("all=true: the whole organisation, learner by learner in externalId order, in a window; another organisation's key gets its own", async () => {
    // Another organisation with an assessed recording of its own.
    const other = await otherOrganization(t);
    const theirs = await seedUtterance(prisma, other.org.id, 'Their sentence');
    await seedModelAssessment(prisma, theirs, labels(6, ['THEIR', 'SENTENCE']), null, { version: 'x' });
    const learners = await prisma.learner.findMany({ where: { organizationId: (await prisma.learner.findUniqueOrThrow({ where: { id: seeded.id } })).organizationId }, orderBy: { externalId: 'asc' } });
    const want: Rec[] = [];
    for (const l of learners) want.push(...(await expected(prisma, l.id, 'utterance')));
    const res = await get('all=true&format=jsonl');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="results-organization.jsonl"');
    const got = (await res.text()).trimEnd().split('\n').map((l) => JSON.parse(l) as Rec);
    expect(got.length).toBeGreaterThan(2500);
    expect(got).toEqual(want);
    // Every learner, not only the group's: this one is in no group.
    const loner = await prisma.learner.create({ data: { organizationId: learners[0]!.organizationId, externalId: 'zz-no-group' } });
    const u = await prisma.utterance.findFirstOrThrow({ where: { learnerId: nasty.id, referenceText: '-5 degrees + wind' } });
    await prisma.utterance.update({ where: { id: u.id }, data: { learnerId: loner.id } });
    try {
      // The window applies to every learner, as it does to one.
      const windowed = (await (await get('all=true&format=jsonl&since=2026-07-05T00:00:00Z')).text()).trimEnd().split('\n').map((l) => JSON.parse(l) as Rec);
      expect(windowed.map((r) => [r.learnerExternalId, r.referenceText])).toEqual([['zz-no-group', '-5 degrees + wind']]);
    } finally {
      await prisma.utterance.update({ where: { id: u.id }, data: { learnerId: nasty.id } });
      await prisma.learner.delete({ where: { id: loner.id } });
    }
    // Another organisation's key exports its own learner's reading and nothing of ours.
    const res2 = await get('all=true&format=jsonl', other.client.apiKey!);
    expect(res2.status).toBe(200);
    const rows = (await res2.text()).trimEnd().split('\n').map((l) => JSON.parse(l) as Rec);
    expect(rows).toEqual(await expected(prisma, theirs.learnerId, 'utterance'));
    expect(rows.map((r) => r.referenceText)).toEqual(['Their sentence']);
  });

  test('authentication, scope and tenancy', async () => {
    const q = `learner=${seeded.externalId}`;
    const none = await get(q, null);
    expect(none.status).toBe(401);
    expect((await none.json()).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect((await get(q, 'sm_not-a-key')).status).toBe(401);
    const writer = (await keyWithScopes(t, ['ASSESS_WRITE'])).apiKey!;
    const refused = await get(q, writer);
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await refused.json()).toEqual({ errors: [{ message: 'This API key lacks the SCORES_READ scope.', extensions: { code: 'FORBIDDEN' } }] });
    expect((await get(q, t.app.adminKey)).status).toBe(200); // ADMIN implies SCORES_READ
    // Another organisation's ADMIN key finds neither the learner (by externalId or global id) nor the group.
    const other = (await otherOrganization(t)).client.apiKey!;
    for (const query of [q, `learner=${toGlobalId('Learner', seeded.id)}`, 'group=group-001']) {
      const res = await get(query, other);
      expect(res.status).toBe(404);
      expect((await res.json()).errors[0].extensions.code).toBe('NOT_FOUND');
    }
  });

  test('bad requests are refused with JSON errors', async () => {
    // NUL: text columns cannot hold it; a client's mistake, not a server fault.
    const l = `learner=${seeded.externalId}`;
    const badWindows = [
      `${l}&since=2026-07-01`, `${l}&since=2026-07-01T10:00:00`, `${l}&since=yesterday`, `${l}&until=2026-02-30T00:00:00Z`,
      `${l}&since=10000-01-01T00:00:00Z`, `${l}&since=2026-07-02T00:00:00Z&until=2026-07-02T00:00:00Z`,
      `${l}&since=2026-07-01T00:00:00Z&since=2026-07-02T00:00:00Z`,
    ];
    for (const query of ['', 'all=false', 'all=', 'all=true&all=true', 'all=true&group=group-001', `learner=${seeded.externalId}&group=group-001`, `learner=${seeded.externalId}&format=xml`, `learner=${seeded.externalId}&level=syllable`, 'learner=a&learner=b', 'learner=a%00b', 'group=a%00b', ...badWindows]) {
      const res = await get(query);
      expect([query, res.status]).toEqual([query, 400]);
      expect((await res.json()).errors[0].extensions.code).toBe('BAD_USER_INPUT');
    }
    expect((await get('learner=nobody')).status).toBe(404);
    expect((await fetch(base, { method: 'POST', headers: { authorization: `Bearer ${reader}` } })).status).toBe(405);
  });
});

describe('GET /export/results behind the rate limiter [pglite]', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp('pglite', { rateLimitPerMinute: 2, authFailuresPerMinute: 2 });
  });
  afterAll(async () => {
    await t?.dispose();
  });

  test('a key gets its per-minute requests, then 429 with Retry-After; failed authentications are throttled per address', async () => {
    const url = t.app.url.replace(/\/graphql$/, '/export/results?group=none');
    const asAdmin = () => fetch(url, { headers: { authorization: `Bearer ${t.app.adminKey}` } });
    expect((await asAdmin()).status).toBe(404); // no learner in group "none": authenticated, allowed
    expect((await asAdmin()).status).toBe(404);
    const limited = await asAdmin();
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await limited.json()).errors[0].extensions.code).toBe('RATE_LIMITED');
    const wrong = () => fetch(url, { headers: { authorization: 'Bearer sm_wrong' } });
    expect((await wrong()).status).toBe(401);
    expect((await wrong()).status).toBe(401);
    expect((await wrong()).status).toBe(429);
  });
});
