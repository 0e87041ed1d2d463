/**
 * Prosody and fluency feedback reach an LMS without a query back: espeak-ng reads a sentence on one note
 * (SSML `range="x-low"`), straight through its comma and with a long pause where the text has none,
 * so the reading has all three kinds of prosody feedback (MONOTONE, MISSING_BREAK, UNEXPECTED_BREAK).
 * It goes up as a multipart upload, the real scorer assesses it, a webhook receiver on 127.0.0.1
 * gets assessment.completed, and the results export is read at every level: the event's intonation,
 * fluency measures and each word's breakBefore, and the export's prosody and fluency columns (JSON
 * lines and CSV), equal what the API serves for the same assessment. A reading of another sentence
 * (READ_WRONG_TEXT) keeps its intonation but has no break feedback or fluency measures anywhere.
 */
import { fromGlobalId } from '../../src/graphql/ids.js';
import { startTestApp, testDatabases, waitForJob, type TestApp } from '../support/app.js';
import { espeakWav, hasEspeak } from '../support/espeak.js';
import { Receiver } from '../support/receiver.js';

const DATABASES = await testDatabases();

const TEXT = 'We will see you, tomorrow at the stream.';
const SAID = '<speak><prosody range="x-low">We will see <break time="700ms"/> you tomorrow at the stream</prosody></speak>';
const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { utterance { id } job { id } } }`;
const FLUENCY = 'wordCount syllableCount speakingMs articulationMs wordsPerMinute speechRate articulationRate pauseCount totalPauseMs longestPauseMs meanLengthOfRun phonationTimeRatio';
const READ = `query($id: ID!) { assessment(id: $id) {
  intonation { medianPitchHz pitchSpanSemitones voicedMs errorTypes } fluencyMetrics { ${FLUENCY} }
  words { text breakBefore { silenceMs expected errorTypes } phonemes { symbol } } } }`;

/** RFC 4180 rows of a CSV body (quoted fields may hold commas; none here holds a line break). */
function csvRows(body: string): string[][] {
  return body.trimEnd().split('\r\n').map((line) => {
    const cells: string[] = [];
    for (const m of line.matchAll(/("(?:[^"]|"")*"|[^,]*)(,|$)/g)) {
      cells.push(m[1]!.startsWith('"') ? m[1]!.slice(1, -1).replace(/""/g, '"') : m[1]!);
      if (m[2] === '') break;
    }
    return cells;
  });
}

(hasEspeak ? describe.each(DATABASES) : describe.skip.each(DATABASES))('prosody feedback in the webhook and the export on %s', (kind) => {
  let t: TestApp;
  const receiver = new Receiver();
  let externalId: string;
  let assessment: { id: string; intonation: any; fluencyMetrics: any; words: any[] };
  let event: any;
  let learnerId: string;

  const exportOf = async (query: string) => {
    const res = await fetch(`${t.app.url.replace(/\/graphql$/, '/export/results')}?learner=${externalId}&${query}`, {
      headers: { authorization: `Bearer ${t.app.adminKey}` },
    });
    expect(res.status).toBe(200);
    return res.text();
  };
  const jsonl = async (query: string) => (await exportOf(`${query}&format=jsonl`)).trimEnd().split('\n').map((l) => JSON.parse(l));

  beforeAll(async () => {
    await receiver.start();
    t = await startTestApp(kind, { webhookAllowedPrivateNetworks: ['127.0.0.1'], webhookAllowHttp: true });
    externalId = `prosody-${kind}`;
    learnerId = (await t.admin.request(`mutation($e: String!) { createLearner(input: {externalId: $e}) { id } }`, { e: externalId })).data.createLearner.id;
    const hook = await t.admin.request(`mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id } } }`, {
      input: { url: receiver.url, eventTypes: ['assessment.completed'] },
    });
    expect(hook.errors).toBeUndefined();
    const res = await t.admin.upload(SUBMIT, { input: { learnerId, referenceText: TEXT, audio: null } }, 'variables.input.audio', {
      bytes: espeakWav(SAID, { ssml: true }), name: 'take.wav',
    });
    expect(res.errors).toBeUndefined();
    const job = await waitForJob(t.admin, res.data.submitUtterance.job.id);
    expect(job.status).toBe('SUCCEEDED');
    const read = await t.admin.request(READ, { id: job.assessment.id });
    expect(read.errors).toBeUndefined();
    assessment = { id: job.assessment.id, ...read.data.assessment };
    await receiver.waitForCount(1);
    event = receiver.delivered().find((e) => e.data.assessment.id === assessment.id)!.data;
  }, 180_000);
  afterAll(async () => {
    await t?.dispose();
    await receiver.stop();
  });

  test('the reading has every kind of prosody feedback (so the comparisons below are not of nulls)', () => {
    expect(assessment.intonation.errorTypes).toEqual(['MONOTONE']);
    const breaks = Object.fromEntries(assessment.words.map((w) => [w.text, w.breakBefore]));
    expect(breaks.WE).toBeNull();
    expect(breaks.YOU).toMatchObject({ expected: false, errorTypes: ['UNEXPECTED_BREAK'] });
    expect(breaks.TOMORROW).toMatchObject({ expected: true, errorTypes: ['MISSING_BREAK'] });
    expect(assessment.fluencyMetrics.pauseCount).toBe(1); // the pause between SEE and YOU
    expect(assessment.fluencyMetrics.wordsPerMinute).toBeGreaterThan(0);
  });

  test('assessment.completed carries the intonation summary, the fluency measures and every word\'s break, as the API serves them', () => {
    expect(event.assessment.id).toBe(assessment.id);
    expect(event.assessment.intonation).toEqual(assessment.intonation);
    expect(event.assessment.fluencyMetrics).toEqual(assessment.fluencyMetrics);
    expect(event.assessment.intonation).not.toHaveProperty('contour'); // the contour stays in the API
    expect(event.assessment.words.map((w: any) => [w.text, w.breakBefore])).toEqual(assessment.words.map((w) => [w.text, w.breakBefore]));
  });

  test('the results export has the same prosody and fluency columns, last, at every level, in JSON lines and CSV', async () => {
    const tune = {
      medianPitchHz: assessment.intonation.medianPitchHz,
      pitchSpanSemitones: assessment.intonation.pitchSpanSemitones,
      intonationErrorTypes: assessment.intonation.errorTypes,
      ...assessment.fluencyMetrics,
    };
    const breakOf = (b: any) => ({ breakSilenceMs: b?.silenceMs ?? null, breakExpected: b?.expected ?? null, breakErrorTypes: b?.errorTypes ?? null });

    const [utterance] = await jsonl('level=utterance');
    expect(utterance).toMatchObject(tune);
    expect(Object.keys(utterance).slice(-15)).toEqual(['medianPitchHz', 'pitchSpanSemitones', 'intonationErrorTypes', ...FLUENCY.split(' ')]);

    const words = await jsonl('level=word');
    expect(words.map((w) => [w.word, w.breakSilenceMs, w.breakExpected, w.breakErrorTypes]))
      .toEqual(assessment.words.map((w) => [w.text, ...Object.values(breakOf(w.breakBefore))]));
    for (const w of words) expect(w).toMatchObject(tune);

    const phonemes = await jsonl('level=phoneme');
    expect(phonemes.length).toBe(assessment.words.reduce((n, w) => n + w.phonemes.length, 0));
    for (const p of phonemes) {
      const word = assessment.words[p.wordIndex];
      expect(p).toMatchObject({ ...tune, ...breakOf(word.breakBefore) });
      expect(Object.keys(p).slice(-18)).toEqual(['medianPitchHz', 'pitchSpanSemitones', 'intonationErrorTypes', ...FLUENCY.split(' '), 'breakSilenceMs', 'breakExpected', 'breakErrorTypes']);
    }

    // CSV: lists joined by ';', an absent value an empty cell
    const [header, ...rows] = csvRows(await exportOf('level=word'));
    const col = (name: string) => header!.indexOf(name);
    expect(rows.map((r) => [r[col('word')], r[col('breakSilenceMs')], r[col('breakExpected')], r[col('breakErrorTypes')], r[col('intonationErrorTypes')]]))
      .toEqual(assessment.words.map((w) => [
        w.text, w.breakBefore ? String(w.breakBefore.silenceMs) : '', w.breakBefore ? String(w.breakBefore.expected) : '',
        w.breakBefore ? w.breakBefore.errorTypes.join(';') : '', 'MONOTONE',
      ]));
  });

  test('a reading of another sentence keeps its intonation and has no break feedback or fluency measures, in the API, the event and the export', async () => {
    const res = await t.admin.upload(SUBMIT, { input: { learnerId, referenceText: TEXT, audio: null } }, 'variables.input.audio', {
      bytes: espeakWav('The cat sat on the mat by the old red door.'), name: 'other.wav',
    });
    expect(res.errors).toBeUndefined();
    const job = await waitForJob(t.admin, res.data.submitUtterance.job.id);
    const api = (await t.admin.request(`query($id: ID!) { assessment(id: $id) { flags intonation { medianPitchHz pitchSpanSemitones voicedMs errorTypes } fluencyMetrics { wordCount }
      words { text startMs breakBefore { silenceMs } } } }`, { id: job.assessment.id })).data.assessment;
    expect(api.flags).toContain('READ_WRONG_TEXT');
    expect(api.intonation.voicedMs).toBeGreaterThan(500); // the tune does not depend on the text
    expect(api.words.some((w: any) => w.startMs !== null)).toBe(true); // aligned all the same
    expect(api.words.every((w: any) => w.breakBefore === null)).toBe(true);
    expect(api.fluencyMetrics).toBeNull();

    await receiver.waitForCount(2);
    const other = receiver.delivered().find((e) => e.data.assessment.id === job.assessment.id)!.data;
    expect(other.assessment.intonation).toEqual(api.intonation);
    expect(other.assessment.fluencyMetrics).toBeNull();
    expect(other.assessment.words.map((w: any) => w.breakBefore)).toEqual(api.words.map(() => null));

    const rows = (await jsonl('level=word')).filter((r) => r.assessmentId === job.assessment.id);
    expect(rows.map((r) => r.word)).toEqual(api.words.map((w: any) => w.text));
    for (const r of rows) {
      expect(r).toMatchObject({ flags: ['READ_WRONG_TEXT'], medianPitchHz: api.intonation.medianPitchHz, intonationErrorTypes: api.intonation.errorTypes });
      expect([r.breakSilenceMs, r.breakExpected, r.breakErrorTypes, r.wordsPerMinute, r.pauseCount]).toEqual([null, null, null, null, null]);
    }
  });

  test('reference words edited by hand cost that row its fluency and breaks, not the export', async () => {
    const prisma = t.app.services.prisma;
    const { utteranceId } = await prisma.assessment.findUniqueOrThrow({ where: { id: fromGlobalId(assessment.id)!.id }, select: { utteranceId: true } });
    // A word without its phones; a null among words.
    for (const referenceWords of [[{ text: 'WE' }], [null, { text: 'WE', phones: ['W', 'IY1'] }]]) {
      await prisma.utterance.update({ where: { id: utteranceId }, data: { referenceWords } });
      for (const level of ['utterance', 'word']) {
        const rows = (await jsonl(`level=${level}`)).filter((r) => r.assessmentId === assessment.id);
        expect(rows.length).toBeGreaterThan(0);
        for (const r of rows) {
          expect([r.wordsPerMinute, r.breakSilenceMs ?? null]).toEqual([null, null]);
          expect(r.medianPitchHz).toBe(assessment.intonation.medianPitchHz); // the tune does not read the words
        }
      }
      const res = await t.admin.request(`query($id: ID!) { assessment(id: $id) { fluencyMetrics { wordCount } words { breakBefore { silenceMs } } } }`, { id: assessment.id });
      expect(res.errors).toBeUndefined();
      expect(res.data.assessment.fluencyMetrics).toBeNull();
      expect(res.data.assessment.words.every((w: any) => w.breakBefore === null)).toBe(true);
    }
  });
});
