/**
 * The statement builder against the xAPI 1.0.3 statement schema (tests/support/xapi-schema.ts),
 * the schema against broken statements (so it can fail), and the ids against Python's uuid5.
 */
import { loadConfig } from '../../src/config.js';
import { buildStatement, isoDuration, type StatementSource } from '../../src/xapi/statement.js';
import { statementIdFor, STATEMENT_NAMESPACE, URL_NAMESPACE, uuidV5 } from '../../src/xapi/uuid.js';
import { xapiErrors } from '../support/xapi-schema.js';

const config = loadConfig({ SPEECHMARK_XAPI_ACCOUNT_HOME_PAGE: 'https://lms.example.edu/' });

function source(overrides: Partial<StatementSource> = {}): StatementSource {
  return {
    accountHomePage: null,
    assessmentId: '0b4f2d0e-1a6c-4d0e-9f57-3c1f1e8f2a10',
    assessedAt: new Date('2026-07-01T10:00:02.500Z'),
    learnerExternalId: 'lms-42',
    learnerGroups: [],
    metadata: {},
    utterance: { id: '5a0c3e8e-7f1b-4c55-a3a4-3b2f9d7f4e11', createdAt: new Date('2026-07-01T10:00:00.000Z'), referenceText: 'We call it bear.', normalisedText: 'WE CALL IT BEAR', durationMs: 2354 },
    model: { name: 'speechmark-so762-gop', version: 'so762-gop-2.0.0', executionProvider: 'cpu' },
    sentence: { accuracy: 8, fluency: 9, prosody: 8, completeness: 10, total: 8 },
    contentMatch: 0.9731,
    flags: [],
    words: [
      { index: 0, text: 'WE', accuracy: 10, stress: 10, total: 10, startMs: 120, endMs: 380, errorType: 'NONE', phonemes: [{ index: 0, symbol: 'W', accuracy: 2 }, { index: 1, symbol: 'IY0', accuracy: 1.8 }] },
      { index: 1, text: 'BEAR', accuracy: 6, stress: 10, total: 7, startMs: 400, endMs: 900, errorType: 'MISPRONOUNCED', phonemes: [{ index: 0, symbol: 'B', accuracy: 2 }, { index: 1, symbol: 'EH0', accuracy: 0.8 }, { index: 2, symbol: 'R', accuracy: 1.2 }] },
    ],
    ...overrides,
  };
}

describe('xAPI statement builder', () => {
  test('a finished assessment is a valid xAPI 1.0.3 statement with the scores, words and phonemes', () => {
    const s = buildStatement(config.xapi, source());
    expect(xapiErrors(s)).toEqual([]);
    expect(s.actor).toEqual({ objectType: 'Agent', account: { homePage: 'https://lms.example.edu', name: 'lms-42' } });
    expect(s.verb).toEqual({ id: 'http://adlnet.gov/expapi/verbs/scored', display: { 'en-US': 'scored' } });
    expect(s.object.id).toMatch(/^https:\/\/speechmark\.dev\/xapi\/activities\/read-aloud\/[0-9a-f]{64}$/);
    expect(s.object.definition.name).toEqual({ 'en-US': 'WE CALL IT BEAR' });
    expect(s.result.score).toEqual({ scaled: 0.8, raw: 8, min: 0, max: 10 });
    expect(s.result.completion).toBe(true);
    expect(s.result.duration).toBe('PT2.35S');
    const ext = s.result.extensions;
    expect(ext['https://speechmark.dev/xapi/extensions/aspects']).toEqual({ min: 0, max: 10, accuracy: 8, fluency: 9, prosody: 8, completeness: 10, total: 8 });
    expect((ext['https://speechmark.dev/xapi/extensions/words'] as { items: unknown[] }).items).toEqual([
      { index: 0, text: 'WE', accuracy: 10, stress: 10, total: 10, startMs: 120, endMs: 380, errorType: 'NONE' },
      { index: 1, text: 'BEAR', accuracy: 6, stress: 10, total: 7, startMs: 400, endMs: 900, errorType: 'MISPRONOUNCED' },
    ]);
    expect(ext['https://speechmark.dev/xapi/extensions/content-match']).toBe(0.9731);
    expect(ext['https://speechmark.dev/xapi/extensions/flags']).toEqual([]);
    expect(ext['https://speechmark.dev/xapi/extensions/phonemes']).toEqual({
      min: 0, max: 2,
      items: [
        { wordIndex: 0, index: 0, symbol: 'W', accuracy: 2 }, { wordIndex: 0, index: 1, symbol: 'IY0', accuracy: 1.8 },
        { wordIndex: 1, index: 0, symbol: 'B', accuracy: 2 }, { wordIndex: 1, index: 1, symbol: 'EH0', accuracy: 0.8 }, { wordIndex: 1, index: 2, symbol: 'R', accuracy: 1.2 },
      ],
    });
    expect(s.context.platform).toBe('speechmark');
    expect(s.context.extensions['https://speechmark.dev/xapi/extensions/model-version']).toBe('so762-gop-2.0.0');
    expect(s.timestamp).toBe('2026-07-01T10:00:00.000Z');
  });

  test("the learner's groups when they read are the context's grouping: one activity per group of that LMS", () => {
    const plain = buildStatement(config.xapi, source());
    expect(plain.context).not.toHaveProperty('contextActivities');
    const s = buildStatement(config.xapi, source({ learnerGroups: ['course-7', 'section B/2'] }));
    expect(xapiErrors(s)).toEqual([]);
    const grouping = s.context.contextActivities!.grouping;
    expect(grouping.map((g) => g.definition.name)).toEqual([{ und: 'course-7' }, { und: 'section B/2' }]);
    for (const g of grouping) expect(g.id).toMatch(/^https:\/\/speechmark\.dev\/xapi\/activities\/group\/[0-9a-f]{64}$/);
    expect(new Set(grouping.map((g) => g.id)).size).toBe(2);
    // The same group of the same LMS is the same activity in every statement and organisation;
    // the same id in another LMS (another account home page) is another group.
    const again = buildStatement(config.xapi, source({ learnerGroups: ['course-7'], assessmentId: '7f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b' }));
    expect(again.context.contextActivities!.grouping[0]!.id).toBe(grouping[0]!.id);
    const otherLms = buildStatement(config.xapi, source({ learnerGroups: ['course-7'], accountHomePage: 'https://moodle.other.example' }));
    expect(otherLms.context.contextActivities!.grouping[0]!.id).not.toBe(grouping[0]!.id);
    // Rebuilt from the same snapshot, the statement is the same JSON (a re-send is a duplicate).
    expect(JSON.stringify(buildStatement(config.xapi, source({ learnerGroups: ['course-7', 'section B/2'] })))).toBe(JSON.stringify(s));
  });

  test("the integrator's metadata is in the context's extensions when the recording has some, and changes nothing otherwise", () => {
    const key = 'https://speechmark.dev/xapi/extensions/metadata';
    const plain = buildStatement(config.xapi, source());
    expect(plain.context.extensions).not.toHaveProperty([key]);
    const s = buildStatement(config.xapi, source({ metadata: { assignment: 'hw-3', attempt: '2' } }));
    expect(xapiErrors(s)).toEqual([]);
    expect(s.context.extensions[key]).toEqual({ assignment: 'hw-3', attempt: '2' });
    // Everything else is the statement it was without metadata (the same id: one reading, one statement).
    const { [key]: _dropped, ...rest } = s.context.extensions;
    expect(rest).toEqual(plain.context.extensions);
    expect({ ...s, context: { ...s.context, extensions: rest } }).toEqual(plain);
  });

  test('a reading of another sentence (READ_WRONG_TEXT) is a valid statement that did not complete the activity and says why', () => {
    const s = buildStatement(config.xapi, source({ contentMatch: 0.02, flags: ['READ_WRONG_TEXT'], sentence: { accuracy: 3, fluency: 5, prosody: 5, completeness: 0, total: 2 } }));
    expect(xapiErrors(s)).toEqual([]);
    expect(s.result.completion).toBe(false);
    expect(s.result.extensions['https://speechmark.dev/xapi/extensions/flags']).toEqual(['READ_WRONG_TEXT']);
    expect(s.result.extensions['https://speechmark.dev/xapi/extensions/content-match']).toBe(0.02);
    expect(buildStatement(config.xapi, source()).result.completion).toBe(true);
  });

  test('the id is a UUID v5 of the assessment id: the same on every build, another for another assessment', () => {
    // Reference values from Python's uuid.uuid5.
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
    expect(STATEMENT_NAMESPACE).toBe(uuidV5('https://speechmark.dev/xapi/statements', URL_NAMESPACE));
    expect(STATEMENT_NAMESPACE).toBe('f08665a9-4edb-5cfa-adc5-a6e9badf530a');
    expect(statementIdFor('0b4f2d0e-1a6c-4d0e-9f57-3c1f1e8f2a10')).toBe('c9a66a89-546f-5033-be11-e67f16978739');
    const a = buildStatement(config.xapi, source());
    expect(buildStatement(config.xapi, source())).toEqual(a);
    expect(a.id).toBe('c9a66a89-546f-5033-be11-e67f16978739');
    expect(buildStatement(config.xapi, source({ assessmentId: '0b4f2d0e-1a6c-4d0e-9f57-3c1f1e8f2a11' })).id).not.toBe(a.id);
  });

  test('one activity per normalised sentence; the IRI base is configurable and changes no statement id', () => {
    const a = buildStatement(config.xapi, source());
    const respelt = buildStatement(config.xapi, source({ utterance: { ...source().utterance, referenceText: 'we  call it BEAR!' } }));
    expect(respelt.object).toEqual(a.object);
    const other = buildStatement(config.xapi, source({ utterance: { ...source().utterance, normalisedText: 'WE CALL IT BEER' } }));
    expect(other.object.id).not.toBe(a.object.id);
    const own = loadConfig({ SPEECHMARK_XAPI_IRI_BASE: 'https://lrs-vocab.example.org/speech/', SPEECHMARK_XAPI_ACCOUNT_HOME_PAGE: 'https://lms.example.edu' });
    const b = buildStatement(own.xapi, source());
    expect(xapiErrors(b)).toEqual([]);
    expect(b.id).toBe(a.id);
    expect(b.object.id.startsWith('https://lrs-vocab.example.org/speech/activities/read-aloud/')).toBe(true);
    expect(Object.keys(b.result.extensions).every((k) => k.startsWith('https://lrs-vocab.example.org/speech/extensions/'))).toBe(true);
  });

  test('extreme scores stay inside the score constraints, and a batch validates as an array', () => {
    const zero = buildStatement(config.xapi, source({ sentence: { accuracy: 0, fluency: 0, prosody: 0, completeness: 0, total: 0 }, words: [] }));
    const ten = buildStatement(config.xapi, source({ sentence: { accuracy: 10, fluency: 10, prosody: 10, completeness: 10, total: 10 } }));
    expect(zero.result.score).toEqual({ scaled: 0, raw: 0, min: 0, max: 10 });
    expect(ten.result.score.scaled).toBe(1);
    expect(xapiErrors([zero, ten], true)).toEqual([]);
    expect(isoDuration(0)).toBe('PT0S');
    expect(isoDuration(61_005)).toBe('PT61.01S');
  });

  test('settings: bad URLs and an LRS without a user are configuration errors; the LRS is off by default', () => {
    expect(loadConfig({}).xapi.lrs).toBeNull();
    expect(() => loadConfig({ SPEECHMARK_XAPI_IRI_BASE: 'speechmark.dev/xapi' })).toThrow(/SPEECHMARK_XAPI_IRI_BASE/);
    expect(() => loadConfig({ SPEECHMARK_XAPI_ACCOUNT_HOME_PAGE: 'ftp://lms' })).toThrow(/SPEECHMARK_XAPI_ACCOUNT_HOME_PAGE/);
    expect(() => loadConfig({ SPEECHMARK_XAPI_LRS_ENDPOINT: 'https://lrs.example/xapi/' })).toThrow(/USERNAME/);
    expect(loadConfig({ SPEECHMARK_XAPI_LRS_ENDPOINT: 'https://lrs.example/xapi/', SPEECHMARK_XAPI_LRS_USERNAME: 'u', SPEECHMARK_XAPI_LRS_PASSWORD: 'p' }).xapi.lrs)
      .toEqual({ endpoint: 'https://lrs.example/xapi', username: 'u', password: 'p' });
  });
});

describe('the xAPI statement schema rejects broken statements', () => {
  const good = () => JSON.parse(JSON.stringify(buildStatement(config.xapi, source())));
  const broken: [string, (s: any) => void][] = [
    ['no actor', (s) => delete s.actor],
    ['no verb', (s) => delete s.verb],
    ['no object', (s) => delete s.object],
    ['an actor with two identifiers', (s) => (s.actor.mbox = 'mailto:a@example.org')],
    ['an actor with none', (s) => delete s.actor.account],
    ['an account without homePage', (s) => delete s.actor.account.homePage],
    ['a homePage that is no IRL', (s) => (s.actor.account.homePage = 'lms.example.edu')],
    ['a verb id that is no IRI', (s) => (s.verb.id = 'scored')],
    ['a display that is no language map', (s) => (s.verb.display = 'scored')],
    ['a language map with a bad tag', (s) => (s.object.definition.name = { 'english!': 'x' })],
    ['an activity id that is no IRI', (s) => (s.object.id = 'read aloud')],
    ['an unknown interaction type', (s) => (s.object.definition.interactionType = 'speech')],
    ['scaled above 1', (s) => (s.result.score.scaled = 1.5)],
    ['scaled below -1', (s) => (s.result.score.scaled = -1.01)],
    ['raw above max', (s) => (s.result.score.raw = 11)],
    ['raw below min', (s) => (s.result.score.raw = -1)],
    ['min not below max', (s) => (s.result.score.min = 10)],
    ['completion as a string', (s) => (s.result.completion = 'true')],
    ['a duration that is no ISO 8601 duration', (s) => (s.result.duration = '2.35 s')],
    ['a result extension keyed by a plain word', (s) => (s.result.extensions.words = [])],
    ['a context extension keyed by a plain word', (s) => (s.context.extensions.model = 'x')],
    ['a context language that is no tag', (s) => (s.context.language = 'en_US!')],
    ['an id that is no UUID', (s) => (s.id = 'assessment-1')],
    ['an id with the wrong variant', (s) => (s.id = 'c9a66a89-546f-5033-7e11-e67f16978739')],
    ['a timestamp without a time zone', (s) => (s.timestamp = '2026-07-01T10:00:00')],
    ['a timestamp that is no date', (s) => (s.timestamp = 'yesterday')],
    ['a property the spec does not define', (s) => (s.score = 8)],
    ['a version that is not 1.0.x', (s) => (s.version = '2.0.0')],
  ];
  test.each(broken)('%s', (_name, breakIt) => {
    const s = good();
    expect(xapiErrors(s)).toEqual([]);
    breakIt(s);
    expect(xapiErrors(s).length).toBeGreaterThan(0);
    expect(xapiErrors([good(), s], true).length).toBeGreaterThan(0);
  });
});
