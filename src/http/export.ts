/**
 * `GET /export/results?learner=<externalId or global id>|group=<group id>|all=true&format=csv|jsonl&level=utterance|word|phoneme&since=&until=`
 *
 * Streams a learner's, a group's or (`all=true`) the whole organisation's results: for every utterance, its latest MODEL assessment (one
 * row per utterance, one per word with `level=word`, one per phoneme with `level=phoneme`); utterances not yet assessed are left
 * out. `since` (inclusive) and `until` (exclusive), RFC 3339 instants, keep the utterances recorded
 * in that window (consecutive windows partition the recordings; a recording assessed after an
 * export is in its window's next export only, which the README tells syncs to allow for). Its `flags` (e.g. READ_WRONG_TEXT: another sentence was read, which the analytics leave out)
 * and `contentMatch` come with it, so a consumer can tell such rows from readings of the text. Needs `Authorization: Bearer <key>` with SCORES_READ (or ADMIN); only the key's organisation
 * is read. A group or the organisation is exported learner by learner (externalId order), each
 * learner's utterances oldest first.
 *
 * Nothing is buffered whole: rows are read in keyset pages of PAGE_SIZE utterances and each page is
 * written as soon as it arrives, waiting for 'drain' when the client reads slower than we write; a
 * client that goes away stops the export. A failure after the first byte cuts the connection (no
 * complete-looking file); before it, the error is JSON like every other refusal.
 *
 * CSV follows RFC 4180 (CRLF, quotes doubled, fields with , " CR LF quoted) and neutralises
 * spreadsheet formulas: a text cell starting with = + - @ (or tab/CR) gets a leading '.
 */
import { once } from 'node:events';
import type { Request, RequestHandler, Response } from 'express';
import type { Services } from '../graphql/context.js';
import type { Principal } from '../graphql/auth.js';
import { fromGlobalId, toGlobalId } from '../graphql/ids.js';
import type { Learner } from '../generated/prisma/client.js';
import { sendError, type RateLimiter } from './guards.js';
import { log } from '../ops/log.js';
import { EARLIEST_INSTANT, LATEST_INSTANT } from '../instants.js';
import { parseDateTime } from '../resolvers/scalars.js';
import { authoriseRead, failBeforeBody } from './route-auth.js';
import { decodeMetadata, type Metadata } from '../assessment/metadata.js';
import { ipaOf } from '../analytics/common.js';
import { decodeTimeline } from '../assessment/timeline-codec.js';
import { intonationOf } from '../assessment/intonation.js';
import { assessmentBreaks, type WordBreak } from '../assessment/breaks.js';
import { assessmentFluency, type FluencyMetrics, type TimedWord } from '../assessment/fluency.js';
import type { PitchTrack } from '../types.js';

export const EXPORT_PAGE_SIZE = 500;

type Format = 'csv' | 'jsonl';
type Level = 'utterance' | 'word' | 'phoneme';

interface UtteranceRow {
  utteranceId: string;
  createdAt: Date;
  referenceText: string;
  assessmentId: string;
  assessedAt: Date;
  modelVersion: string | null;
  accuracy: number;
  fluency: number;
  prosody: number;
  completeness: number;
  total: number;
  /** 0-1; null for models without a content match. */
  contentMatch: number | null;
  /** Outcome flags such as READ_WRONG_TEXT (another sentence was read): the scores are not a reading of the text. */
  flags: string[];
  /** The learner's groups when the recording was submitted (Utterance.learnerGroups). */
  learnerGroups: string[];
  /** Utterance.metadata as stored (decoded by src/assessment/metadata.ts). */
  metadata: unknown;
  /** Assessment.timeline as stored (src/assessment/timeline-codec.ts): the pitch contour and inserted speech. */
  timeline: unknown;
  /** Utterance.referenceWords as stored: the break feedback checks the text still normalises to them. */
  referenceWords: unknown;
}

interface WordRow {
  assessmentId: string;
  index: number;
  text: string;
  accuracy: number;
  /** Null when the model did not produce word stress. */
  stress: number | null;
  total: number;
  /** From the model's alignment and miscue detection; null for older rows and models without them. */
  errorType: string | null;
  startMs: number | null;
  endMs: number | null;
  /** In index order; read only for level=phoneme. */
  phonemes?: PhonemeRow[];
}

interface PhonemeRow {
  index: number;
  symbol: string;
  accuracy: number;
  producedSymbol: string | null;
  producedConfidence: number | null;
  deleted: boolean | null;
  substituted: boolean | null;
  startMs: number | null;
  endMs: number | null;
}

const UTTERANCE_COLUMNS = [
  'learnerExternalId', 'groups', 'utteranceId', 'referenceText', 'createdAt', 'assessmentId', 'assessedAt',
  'modelVersion', 'accuracy', 'fluency', 'prosody', 'completeness', 'total',
] as const;
const WORD_COLUMNS = ['wordIndex', 'word', 'wordAccuracy', 'wordStress', 'wordTotal'] as const;
/**
 * Added after the utterance and word columns, so readers of the earlier columns by position
 * still work. `groupsAtSubmission` is the learner's groups when the recording was submitted, beside
 * `groups` (today's): a learner who changed class is reported in the class each recording was made in.
 */
const OUTCOME_COLUMNS = ['contentMatch', 'flags', 'groupsAtSubmission', 'metadata'] as const;
/** The word's miscue and timing, at word and phoneme level: after the outcome columns, for the same reason. */
const WORD_DETAIL_COLUMNS = ['wordErrorType', 'wordStartMs', 'wordEndMs'] as const;
/** One phoneme of the word (level=phoneme): the canonical sound, its score, what was heard instead, its timing. */
const PHONEME_COLUMNS = [
  'phonemeIndex', 'phoneme', 'phonemeIpa', 'phonemeAccuracy', 'producedPhoneme', 'producedConfidence', 'phonemeDeleted', 'phonemeSubstituted',
  'phonemeStartMs', 'phonemeEndMs',
] as const;

/**
 * Prosody and fluency feedback, last at every level for the same reason: the reading's intonation
 * (Assessment.intonation without its contour) and fluency measures (Assessment.fluencyMetrics)
 * and, at word and phoneme level, the break before the word (WordAssessment.breakBefore). Empty
 * where the API gives null.
 */
const INTONATION_COLUMNS = ['medianPitchHz', 'pitchSpanSemitones', 'intonationErrorTypes'] as const;
/** Assessment.fluencyMetrics, by its field names. */
const FLUENCY_COLUMNS = [
  'wordCount', 'syllableCount', 'speakingMs', 'articulationMs', 'wordsPerMinute', 'speechRate', 'articulationRate', 'pauseCount',
  'totalPauseMs', 'longestPauseMs', 'meanLengthOfRun', 'phonationTimeRatio',
] as const satisfies readonly (keyof FluencyMetrics)[];
const BREAK_COLUMNS = ['breakSilenceMs', 'breakExpected', 'breakErrorTypes'] as const;

/** The columns of a level, in order. */
function columnsOf(level: Level): string[] {
  if (level === 'utterance') return [...UTTERANCE_COLUMNS, ...OUTCOME_COLUMNS, ...INTONATION_COLUMNS, ...FLUENCY_COLUMNS];
  return [
    ...UTTERANCE_COLUMNS, ...WORD_COLUMNS, ...OUTCOME_COLUMNS, ...WORD_DETAIL_COLUMNS, ...(level === 'phoneme' ? PHONEME_COLUMNS : []),
    ...INTONATION_COLUMNS, ...FLUENCY_COLUMNS, ...BREAK_COLUMNS,
  ];
}

type Cell = string | number | boolean | string[] | Metadata | null;
type Record_ = Record<string, Cell>;

/** Text a spreadsheet would read as a formula gets a leading apostrophe (OWASP's CSV injection guard). */
function formulaGuarded(s: string): string {
  return /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
}

/**
 * One CSV cell: formula guard on text, then RFC 4180 quoting. A list is joined by ';', each item
 * guarded (a later item is where a split on ';' starts a cell); metadata is its JSON object (empty
 * when there is none). A cell holding ';' is quoted too: a spreadsheet whose list separator is ';'
 * would otherwise split it there.
 */
export function csvCell(value: Cell): string {
  if (value === null) return '';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (!Array.isArray(value) && typeof value === 'object') {
    if (Object.keys(value).length === 0) return '';
    value = JSON.stringify(value);
  }
  const s = Array.isArray(value) ? value.map(formulaGuarded).join(';') : formulaGuarded(value);
  return /[",;\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvLine(cells: Cell[]): string {
  return cells.map(csvCell).join(',') + '\r\n';
}

/**
 * A 400 naming the query parameter at fault in `extensions.parameter` (and every one, for a
 * conflict, in `parameters`): the HTTP endpoints' form of GraphQL's `extensions.argument`.
 */
export class BadRequest extends Error {
  readonly status = 400;
  readonly code = 'BAD_USER_INPUT';
  constructor(message: string, readonly parameters: readonly [string, ...string[]]) {
    super(message);
  }

  get extensions(): Record<string, unknown> {
    const [parameter] = this.parameters;
    return { code: this.code, parameter, ...(this.parameters.length > 1 ? { parameters: [...this.parameters] } : {}) };
  }
}

function param(req: Request, name: string): string | undefined {
  const v = req.query[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new BadRequest(`Give "${name}" once.`, [name]);
  return v;
}

/**
 * Whose data an export covers: exactly one of `learner` (externalId or global id), `group` (a group
 * id) and `all=true` (every learner of the key's organisation, asked for by name so that a
 * forgotten parameter is a 400, not the whole organisation). A conflict names the parameters given;
 * none names all three.
 */
export function wantedParam(req: Request): ExportWanted {
  const learner = param(req, 'learner');
  const group = param(req, 'group');
  const all = param(req, 'all');
  const given = (['learner', 'group', 'all'] as const).filter((n) => req.query[n] !== undefined);
  if (given.length !== 1) {
    const named = (given.length === 0 ? ['learner', 'group', 'all'] : given) as [string, ...string[]];
    throw new BadRequest('Give exactly one of "learner" (externalId or global id), "group" and "all=true" (the whole organisation).', named);
  }
  if (all !== undefined) {
    if (all !== 'true') throw new BadRequest('"all" can only be true.', ['all']);
    return { all: true };
  }
  const [name, value] = learner !== undefined ? (['learner', learner] as const) : (['group', group!] as const);
  if (!isIdText(value)) throw new BadRequest(`The ${name} id must be 1-256 characters, none of them NUL.`, [name]);
  return name === 'learner' ? { learner: value } : { group: value };
}

/** `since` (inclusive) and `until` (exclusive), RFC 3339 instants, `since` before `until`. */
export function windowParams(req: Request): Window {
  const window: Window = { since: instantParam(req, 'since'), until: instantParam(req, 'until') };
  if (window.since && window.until && window.since >= window.until) {
    throw new BadRequest('"since" must be before "until".', ['since', 'until']);
  }
  return window;
}

function instantParam(req: Request, name: 'since' | 'until'): Date | null {
  const v = param(req, name);
  if (v === undefined) return null;
  try {
    return parseDateTime(v);
  } catch {
    throw new BadRequest(`"${name}" must be an RFC 3339 instant with its offset (e.g. 2026-03-01T00:00:00Z; write a + offset as %2B), from year 1 to 9999.`, [name]);
  }
}

/** A 400 naming the first query parameter the endpoint does not know (a typo'd `since` must not export everything). */
export function rejectUnknownParams(req: Request, known: ReadonlySet<string>): void {
  const unknown = Object.keys(req.query).find((k) => !known.has(k));
  if (unknown !== undefined) throw new BadRequest(`Unknown parameter "${unknown}"; this endpoint takes ${[...known].map((k) => `"${k}"`).join(', ')}.`, [unknown]);
}

const RESULTS_PARAMETERS: ReadonlySet<string> = new Set(['learner', 'group', 'all', 'format', 'level', 'since', 'until']);

function parseRequest(req: Request) {
  rejectUnknownParams(req, RESULTS_PARAMETERS);
  const wanted = wantedParam(req);
  const format = param(req, 'format') ?? 'csv';
  const level = param(req, 'level') ?? 'utterance';
  if (format !== 'csv' && format !== 'jsonl') throw new BadRequest('"format" must be csv or jsonl.', ['format']);
  if (level !== 'utterance' && level !== 'word' && level !== 'phoneme') throw new BadRequest('"level" must be utterance, word or phoneme.', ['level']);
  return { wanted, format: format as Format, level: level as Level, window: windowParams(req) };
}

/**
 * A learner's externalId or global id, or a group id, as a query parameter: 1-256 characters and
 * no NUL, which text columns cannot hold (the database would refuse it as an internal error).
 */
export function isIdText(value: string): boolean {
  return value.length >= 1 && value.length <= 256 && !value.includes('\u0000');
}

export async function findLearner(services: Services, principal: Principal, idOrExternal: string): Promise<Learner | null> {
  const { prisma } = services;
  const parsed = fromGlobalId(idOrExternal);
  if (parsed?.type === 'Learner') {
    const byId = await prisma.learner.findFirst({ where: { organizationId: principal.organizationId, id: parsed.id } });
    if (byId) return byId;
  }
  return prisma.learner.findUnique({ where: { organizationId_externalId: { organizationId: principal.organizationId, externalId: idOrExternal } } });
}

/** Which rows an export covers, by an instant (results: when recorded; statements: when assessed): `since` inclusive, `until` exclusive. */
export interface Window {
  since: Date | null;
  until: Date | null;
}

/** Keyset pages of a learner's assessed utterances in `window`, oldest first, with each one's latest MODEL assessment. */
async function* utterancePages(services: Services, organizationId: string, learnerId: string, window: Window): AsyncGenerator<UtteranceRow[]> {
  let after: { createdAt: Date; id: string } | null = null;
  const since = window.since ?? EARLIEST_INSTANT;
  // Exclusive, so the default is just past the latest instant an utterance can carry.
  const until = window.until ?? new Date(LATEST_INSTANT.getTime() + 1);
  for (;;) {
    const afterAt: Date = after?.createdAt ?? EARLIEST_INSTANT;
    const afterId: string = after?.id ?? '00000000-0000-0000-0000-000000000000';
    const rows: UtteranceRow[] = await services.prisma.$queryRaw<UtteranceRow[]>`
      SELECT u."id" AS "utteranceId", u."createdAt", u."referenceText", a."id" AS "assessmentId", a."createdAt" AS "assessedAt",
             a."modelVersion", a."accuracy", a."fluency", a."prosody", a."completeness", a."total",
             a."contentMatch", a."flags", u."learnerGroups", u."metadata", a."timeline", u."referenceWords"
      FROM "Utterance" u
      JOIN LATERAL (
        SELECT * FROM "Assessment" x
        WHERE x."organizationId" = ${organizationId}::uuid AND x."utteranceId" = u."id" AND x."source" = 'MODEL'
        ORDER BY x."createdAt" DESC, x."id" DESC LIMIT 1
      ) a ON true
      WHERE u."organizationId" = ${organizationId}::uuid AND u."learnerId" = ${learnerId}::uuid
        AND (u."createdAt", u."id") > (${afterAt}::timestamptz, ${afterId}::uuid)
        AND u."createdAt" >= ${since}::timestamptz AND u."createdAt" < ${until}::timestamptz
      ORDER BY u."createdAt" ASC, u."id" ASC
      LIMIT ${EXPORT_PAGE_SIZE}`;
    if (rows.length === 0) return;
    yield rows;
    if (rows.length < EXPORT_PAGE_SIZE) return;
    const last: UtteranceRow = rows.at(-1)!;
    after = { createdAt: last.createdAt, id: last.utteranceId };
  }
}

async function wordsOf(services: Services, organizationId: string, assessmentIds: string[], withPhonemes: boolean): Promise<Map<string, WordRow[]>> {
  const rows: WordRow[] = await services.prisma.wordAssessment.findMany({
    where: { organizationId, assessmentId: { in: assessmentIds } },
    orderBy: [{ assessmentId: 'asc' }, { index: 'asc' }],
    select: {
      assessmentId: true, index: true, text: true, accuracy: true, stress: true, total: true, errorType: true, startMs: true, endMs: true,
      ...(withPhonemes ? {
        phonemes: {
          orderBy: { index: 'asc' as const },
          select: { index: true, symbol: true, accuracy: true, producedSymbol: true, producedConfidence: true, deleted: true, substituted: true, startMs: true, endMs: true },
        },
      } : {}),
    },
  });
  const by = new Map<string, WordRow[]>();
  for (const r of rows) {
    const list = by.get(r.assessmentId) ?? [];
    list.push(r);
    by.set(r.assessmentId, list);
  }
  return by;
}

/**
 * The words' timing only, for the fluency measures of level=utterance (which shows no word): four
 * columns of the words of `assessmentIds`, which the caller limits to assessments with measures.
 */
async function timingOf(services: Services, organizationId: string, assessmentIds: string[]): Promise<Map<string, TimedWord[]>> {
  if (assessmentIds.length === 0) return new Map();
  const rows = await services.prisma.wordAssessment.findMany({
    where: { organizationId, assessmentId: { in: assessmentIds } },
    orderBy: [{ assessmentId: 'asc' }, { index: 'asc' }],
    select: { assessmentId: true, index: true, startMs: true, endMs: true, errorType: true },
  });
  const by = new Map<string, TimedWord[]>();
  for (const { assessmentId, ...timing } of rows) by.set(assessmentId, [...(by.get(assessmentId) ?? []), timing]);
  return by;
}

/** Whether a row can have fluency measures (assessmentFluency is null otherwise): aligned, and a reading of its text. */
const hasFluency = (r: UtteranceRow) => decodeTimeline(r.timeline) !== null && !r.flags.includes('READ_WRONG_TEXT');

/** Whose results or statements an export covers: one learner (externalId or global id), a group's learners, or the organisation's. */
export type ExportWanted = { learner: string } | { group: string } | { all: true };

/** The learners of an export, one after another, and the name its file gets. */
export interface ExportTarget {
  learners: AsyncIterable<Learner>;
  name: string;
}

/**
 * The learners an export covers, in the key's organisation only, or the 404's message when there
 * is no such learner or nobody is in the group (an organisation without learners is an empty
 * export, not a 404: it exists). Shared by /export/results and /export/xapi.
 */
export async function exportTarget(services: Services, principal: Principal, wanted: ExportWanted): Promise<ExportTarget | { missing: string }> {
  const { organizationId } = principal;
  if ('all' in wanted) return { learners: learnersInOrder(services, organizationId, null), name: 'organization' };
  if ('learner' in wanted) {
    const learner = await findLearner(services, principal, wanted.learner);
    if (!learner) return { missing: `No learner "${wanted.learner}".` };
    return {
      learners: (async function* () {
        yield learner;
      })(),
      name: `learner-${learner.externalId}`,
    };
  }
  const any = await services.prisma.learner.findFirst({ where: { organizationId, groups: { has: wanted.group } }, select: { id: true } });
  if (!any) return { missing: `No learner is in group "${wanted.group}".` };
  return { learners: learnersInOrder(services, organizationId, wanted.group), name: `group-${wanted.group}` };
}

/** Learners of a group (null: of the organisation), in externalId order, a page at a time. */
async function* learnersInOrder(services: Services, organizationId: string, group: string | null): AsyncGenerator<Learner> {
  let after: string | null = null;
  for (;;) {
    const page: Learner[] = await services.prisma.learner.findMany({
      where: { organizationId, ...(group !== null ? { groups: { has: group } } : {}), ...(after !== null ? { externalId: { gt: after } } : {}) },
      orderBy: { externalId: 'asc' },
      take: EXPORT_PAGE_SIZE,
    });
    yield* page;
    if (page.length < EXPORT_PAGE_SIZE) return;
    after = page.at(-1)!.externalId;
  }
}

/** A phoneme's cells (level=phoneme): ARPAbet with its IPA, as the API names sounds. */
function phonemeCells(p: PhonemeRow): Record_ {
  return {
    phonemeIndex: p.index, phoneme: p.symbol, phonemeIpa: ipaOf(p.symbol), phonemeAccuracy: p.accuracy,
    producedPhoneme: p.producedSymbol, producedConfidence: p.producedConfidence, phonemeDeleted: p.deleted, phonemeSubstituted: p.substituted,
    phonemeStartMs: p.startMs, phonemeEndMs: p.endMs,
  };
}

/** The reading's intonation cells (Assessment.intonation's summary); empty without a contour. */
function intonationCells(pitch: PitchTrack | null): Record_ {
  if (!pitch) return { medianPitchHz: null, pitchSpanSemitones: null, intonationErrorTypes: null };
  const i = intonationOf(pitch);
  return { medianPitchHz: i.medianPitchHz, pitchSpanSemitones: i.pitchSpanSemitones, intonationErrorTypes: i.errorTypes };
}

/** A word's break cells (WordAssessment.breakBefore); empty where it is null. */
function breakCells(b: WordBreak | null): Record_ {
  return { breakSilenceMs: b?.silenceMs ?? null, breakExpected: b?.expected ?? null, breakErrorTypes: b?.errorTypes ?? null };
}

/** The reading's fluency cells (Assessment.fluencyMetrics); empty where it is null. */
function fluencyCells(m: FluencyMetrics | null): Record_ {
  return Object.fromEntries(FLUENCY_COLUMNS.map((c) => [c, m?.[c] ?? null]));
}

/**
 * Rows of each utterance (`words` null), or of each word of `words` (with phonemes: of each
 * phoneme). `timing`: each assessment's words, timed, for the fluency measures.
 */
function records(learner: Learner, rows: UtteranceRow[], timing: Map<string, TimedWord[]>, words: Map<string, WordRow[]> | null): Record_[] {
  const out: Record_[] = [];
  for (const r of rows) {
    const base: Record_ = {
      learnerExternalId: learner.externalId,
      groups: learner.groups,
      utteranceId: toGlobalId('Utterance', r.utteranceId),
      referenceText: r.referenceText,
      createdAt: r.createdAt.toISOString(),
      assessmentId: toGlobalId('Assessment', r.assessmentId),
      assessedAt: r.assessedAt.toISOString(),
      modelVersion: r.modelVersion,
      accuracy: r.accuracy,
      fluency: r.fluency,
      prosody: r.prosody,
      completeness: r.completeness,
      total: r.total,
    };
    const outcome: Record_ = { contentMatch: r.contentMatch, flags: r.flags, groupsAtSubmission: r.learnerGroups, metadata: decodeMetadata(r.metadata) };
    const timeline = decodeTimeline(r.timeline);
    const fluency = assessmentFluency({ words: timing.get(r.assessmentId) ?? [], referenceWords: r.referenceWords, timing: timeline, flags: r.flags });
    const reading = { ...intonationCells(timeline?.pitch ?? null), ...fluencyCells(fluency) };
    if (!words) {
      out.push({ ...base, ...outcome, ...reading });
      continue;
    }
    const ws = words.get(r.assessmentId) ?? [];
    const breaks = assessmentBreaks({ words: ws, utterance: r, insertions: timeline?.insertions ?? null, flags: r.flags });
    for (const w of ws) {
      const word: Record_ = {
        ...base, wordIndex: w.index, word: w.text, wordAccuracy: w.accuracy, wordStress: w.stress, wordTotal: w.total, ...outcome,
        wordErrorType: w.errorType, wordStartMs: w.startMs, wordEndMs: w.endMs,
      };
      const prosody = { ...reading, ...breakCells(breaks?.get(w.index) ?? null) };
      if (!w.phonemes) out.push({ ...word, ...prosody });
      else for (const p of w.phonemes) out.push({ ...word, ...phonemeCells(p), ...prosody });
    }
  }
  return out;
}

export function safeFilePart(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80) || 'export';
}

/** Writes and waits when the socket's buffer is full; false when the client has gone away. */
export async function write(res: Response, chunk: string): Promise<boolean> {
  if (res.destroyed || res.writableEnded) return false;
  if (!res.write(chunk)) {
    // Abort the wait that lost, or each full buffer of a long export to a slow client would leave
    // its 'close' and 'error' listeners behind (MaxListenersExceededWarning after ten pages).
    const done = new AbortController();
    try {
      await Promise.race([once(res, 'drain', { signal: done.signal }), once(res, 'close', { signal: done.signal })]);
    } finally {
      done.abort();
    }
  }
  return !res.destroyed;
}

/**
 * What both export endpoints do before their first byte: GET or HEAD on the root only, a key allowed
 * to read scores, the query parsed by `parse` (a BadRequest is the 400 naming the parameter), the
 * learners resolved in the key's organisation (404 when none). Null when it has answered.
 */
export async function openExport<T extends { wanted: ExportWanted }>(
  services: Services, limiter: RateLimiter, req: Request, res: Response, parse: (req: Request) => T,
): Promise<{ principal: Principal; request: T; target: ExportTarget } | null> {
  if (req.path !== '/') {
    sendError(res, 404, 'Not found.', { code: 'NOT_FOUND' });
    return null;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    sendError(res, 405, 'Use GET.', { code: 'BAD_REQUEST' });
    return null;
  }
  const principal = await authoriseRead(services, limiter, req, res);
  if (!principal) return null; // refused, answered
  let request: T;
  try {
    request = parse(req);
  } catch (e) {
    if (!(e instanceof BadRequest)) throw e;
    sendError(res, e.status, e.message, e.extensions);
    return null;
  }
  try {
    const found = await exportTarget(services, principal, request.wanted);
    if (!('missing' in found)) return { principal, request, target: found };
    sendError(res, 404, found.missing, { code: 'NOT_FOUND' });
  } catch (e) {
    failBeforeBody(res, e);
  }
  return null;
}

export function exportResults(services: Services, limiter: RateLimiter): RequestHandler {
  return async (req, res) => {
    const opened = await openExport(services, limiter, req, res, parseRequest);
    if (!opened) return;
    const { principal: { organizationId }, request, target } = opened;
    const { learners, name } = target;

    const { format, level } = request;
    const columns = columnsOf(level);
    res.status(200);
    res.setHeader('Content-Type', format === 'csv' ? 'text/csv; charset=utf-8; header=present' : 'application/x-ndjson; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="results-${safeFilePart(name)}${level === 'utterance' ? '' : `-${level}s`}.${format}"`);
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (req.method === 'HEAD') return void res.end();
    try {
      if (format === 'csv' && !(await write(res, csvLine(columns)))) return;
      for await (const learner of learners) {
        for await (const rows of utterancePages(services, organizationId, learner.id, request.window)) {
          const words = level === 'utterance' ? null : await wordsOf(services, organizationId, rows.map((r) => r.assessmentId), level === 'phoneme');
          const timing = words ?? await timingOf(services, organizationId, rows.filter(hasFluency).map((r) => r.assessmentId));
          const recs = records(learner, rows, timing, words);
          const chunk = format === 'csv' ? recs.map((r) => csvLine(columns.map((c) => r[c] ?? null))).join('') : recs.map((r) => JSON.stringify(r) + '\n').join('');
          if (!(await write(res, chunk))) return; // the client went away
        }
      }
      res.end();
    } catch (e) {
      const requestId = res.locals.requestId as string | undefined;
      log.error('export failed after the first byte', { requestId, organizationId, err: e });
      // The status line is sent: cut the connection so the client cannot take a partial file for a whole one.
      res.destroy(e instanceof Error ? e : new Error(String(e)));
    }
  };
}
