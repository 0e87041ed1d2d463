/**
 * GET /export/xapi over real HTTP on the real server (PGlite, and PostgreSQL when reachable): a
 * learner's statements as one streamed JSON array, every statement valid against the xAPI 1.0.3
 * schema and equal to what the database holds (one per MODEL assessment, re-assessments included,
 * oldest first), including one scored by the real pipeline; the same keys, scopes, tenancy and
 * parameter rules as /export/results; the README's snippet run as written, into a local LRS.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { PrismaClient } from '../../src/generated/prisma/client.js';
import { writeAssessment } from '../../src/assessment/persist.js';
import { toGlobalId } from '../../src/graphql/ids.js';
import { writeSeed } from '../../src/seed/write.js';
import { STATEMENT_PAGE_SIZE } from '../../src/xapi/load.js';
import { statementIdFor } from '../../src/xapi/uuid.js';
import { sendAssessmentStatement } from '../../src/xapi/send.js';
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { seedScoredUtterance } from '../support/scored.js';
import { keyWithScopes, otherOrganization, seedModelAssessment, seedUtterance } from '../support/seed.js';
import { sentence } from '../support/history.js';
import { xapiErrors } from '../support/xapi-schema.js';
import { TestLrs } from '../support/xapi-lrs.js';

const kinds = await testDatabases();
const HOME = 'https://lms.example.edu';
const BASE = 'https://speechmark.dev/xapi';

/** The statements the export must hold, from the database through Prisma, in order. */
async function expectedRows(prisma: PrismaClient, learnerId: string) {
  return prisma.assessment.findMany({
    where: { source: 'MODEL', utterance: { learnerId } },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    include: { utterance: true, words: { orderBy: { index: 'asc' }, include: { phonemes: { orderBy: { index: 'asc' } } } } },
  });
}

describe.each(kinds)('GET /export/xapi [%s]', (kind) => {
  let t: TestApp;
  let prisma: PrismaClient;
  let base: string;
  let reader: string;
  let seeded: { id: string; externalId: string };
  let small: { id: string; externalId: string };
  let organizationId: string;

  const get = (query: string, key: string | null = reader) => fetch(`${base}?${query}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });

  beforeAll(async () => {
    t = await startTestApp(kind, { xapi: { iriBase: BASE, accountHomePage: HOME, lrs: null } });
    prisma = t.app.services.prisma;
    base = t.app.url.replace(/\/graphql$/, '/export/xapi');
    reader = (await keyWithScopes(t, ['SCORES_READ'])).apiKey!;
    const org = await prisma.organization.findFirstOrThrow({ orderBy: { createdAt: 'asc' } });
    organizationId = org.id;
    await writeSeed(prisma, { learners: 2, utterances: 700, groups: 1, seed: 5, months: 3, end: new Date('2026-06-01T00:00:00Z'), organizationId: org.id });
    const top = await prisma.utterance.groupBy({ by: ['learnerId'], _count: true, orderBy: { _count: { learnerId: 'desc' } }, take: 1 });
    seeded = await prisma.learner.findUniqueOrThrow({ where: { id: top[0]!.learnerId } });
    // A learner with a re-assessment, HUMAN labels (not a statement) and an unassessed utterance.
    const u1 = await seedUtterance(prisma, org.id, 'We call it bear.');
    small = await prisma.learner.findUniqueOrThrow({ where: { id: u1.learnerId } });
    const words = [{ text: 'WE', accuracy: 9, stress: 10 as const, total: 9, phonemes: [{ symbol: 'W', accuracy: 2 }, { symbol: 'IY0', accuracy: 1.5 }] }];
    await seedModelAssessment(prisma, u1, { sentence: sentence(4), words }, null, { version: '1', createdAt: new Date('2026-07-01T10:00:00Z') });
    await seedModelAssessment(prisma, u1, { sentence: sentence(7), words }, null, { version: '2', createdAt: new Date('2026-07-02T10:00:00Z') });
    await prisma.$transaction(async (tx) => {
      await writeAssessment(tx, { organizationId: org.id, utteranceId: u1.id, jobId: null, source: 'HUMAN', model: null, inferenceMs: null, rationale: null, rater: 'r1', labels: { sentence: sentence(9), words } });
    });
    const { id: _id, createdAt: _at, idempotencyKey: _key, requestFingerprint: _fp, ...sameRecording } = u1;
    await prisma.utterance.create({ data: { ...sameRecording, referenceWords: u1.referenceWords as never, metadata: u1.metadata as never, referenceText: 'Not assessed yet' } });
  });
  afterAll(async () => {
    await t?.dispose();
  });

  test('a learner with a re-assessment: one valid statement per MODEL assessment, oldest first', async () => {
    const res = await get(`learner=${encodeURIComponent(small.externalId)}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('x-experience-api-version')).toBe('1.0.3');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="statements-learner-${small.externalId}.json"`);
    const statements = await res.json();
    expect(xapiErrors(statements, true)).toEqual([]);
    const rows = await expectedRows(prisma, small.id);
    expect(rows.length).toBe(2);
    expect(statements.map((s: any) => s.id)).toEqual(rows.map((r) => statementIdFor(r.id)));
    expect(statements.map((s: any) => s.result.score.raw)).toEqual([4, 7]);
    expect(statements.map((s: any) => s.context.extensions[`${BASE}/extensions/model-version`])).toEqual(['1', '2']);
    for (const s of statements) {
      expect(s.actor).toEqual({ objectType: 'Agent', account: { homePage: HOME, name: small.externalId } });
      expect(s.object.definition.name).toEqual({ 'en-US': 'WE CALL IT BEAR' });
      expect(s.context.extensions[`${BASE}/extensions/reference-text`]).toBe('We call it bear.');
      expect(s.result.extensions[`${BASE}/extensions/phonemes`].items).toEqual([
        { wordIndex: 0, index: 0, symbol: 'W', accuracy: 2 }, { wordIndex: 0, index: 1, symbol: 'IY0', accuracy: 1.5 },
      ]);
    }
  });

  test('several pages stream in chunks as one array equal to the database, and a second export is identical', async () => {
    const res = await get(`learner=${toGlobalId('Learner', seeded.id)}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let chunks = 0;
    let text = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks++;
      text += decoder.decode(value, { stream: true });
    }
    expect(chunks).toBeGreaterThan(1);
    const statements = JSON.parse(text);
    const rows = await expectedRows(prisma, seeded.id);
    expect(rows.length).toBeGreaterThan(STATEMENT_PAGE_SIZE);
    expect(statements.length).toBe(rows.length);
    expect(xapiErrors(statements, true)).toEqual([]);
    statements.forEach((s: any, i: number) => {
      const r = rows[i]!;
      expect(s.id).toBe(statementIdFor(r.id));
      expect(s.timestamp).toBe(r.utterance.createdAt.toISOString());
      expect(s.result.score).toEqual({ scaled: r.total / 10, raw: r.total, min: 0, max: 10 });
      expect(s.result.extensions[`${BASE}/extensions/aspects`]).toEqual({ min: 0, max: 10, accuracy: r.accuracy, fluency: r.fluency, prosody: r.prosody, completeness: r.completeness, total: r.total });
      expect(s.result.extensions[`${BASE}/extensions/words`].items.map((w: any) => [w.text, w.total])).toEqual(r.words.map((w) => [w.text, w.total]));
      expect(s.result.extensions[`${BASE}/extensions/phonemes`].items.length).toBe(r.words.reduce((n, w) => n + w.phonemes.length, 0));
    });
    expect(await (await get(`learner=${seeded.externalId}`)).text()).toBe(text);
  });

  test('a learner without assessments is an empty array; HEAD sends headers only', async () => {
    const learner = await prisma.learner.create({ data: { organizationId, externalId: 'nobody-assessed' } });
    const res = await get(`learner=${learner.externalId}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([]);
    const head = await fetch(`${base}?learner=${learner.externalId}`, { method: 'HEAD', headers: { authorization: `Bearer ${reader}` } });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('application/json; charset=utf-8');
  });

  test('authentication, scope, tenancy and bad requests', async () => {
    const q = `learner=${small.externalId}`;
    expect((await get(q, null)).status).toBe(401);
    expect((await get(q, 'sm_not-a-key')).status).toBe(401);
    const writer = (await keyWithScopes(t, ['ASSESS_WRITE'])).apiKey!;
    const refused = await get(q, writer);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({ errors: [{ message: 'This API key lacks the SCORES_READ scope.', extensions: { code: 'FORBIDDEN' } }] });
    expect((await get(q, t.app.adminKey)).status).toBe(200);
    const other = (await otherOrganization(t)).client.apiKey!;
    for (const query of [q, `learner=${toGlobalId('Learner', small.id)}`]) {
      const res = await get(query, other);
      expect(res.status).toBe(404);
      expect((await res.json()).errors[0].extensions.code).toBe('NOT_FOUND');
    }
    for (const query of ['', 'learner=', 'learner=a&learner=b', `learner=${'x'.repeat(257)}`, `${q}&format=csv`, 'learner=a%00b']) {
      const res = await get(query);
      expect([query, res.status]).toEqual([query, 400]);
      expect((await res.json()).errors[0].extensions.code).toBe('BAD_USER_INPUT');
    }
    expect((await get('learner=nobody')).status).toBe(404);
    expect((await fetch(base, { method: 'POST', headers: { authorization: `Bearer ${reader}` } })).status).toBe(405);
  });

  test("a group: its learners' statements in one array, learner by learner in externalId order, each as the learner's own export", async () => {
    const members = await prisma.learner.findMany({ where: { organizationId, groups: { has: 'group-001' } }, orderBy: { externalId: 'asc' } });
    expect(members.length).toBeGreaterThan(1);
    const want: unknown[] = [];
    for (const m of members) want.push(...(await (await get(`learner=${encodeURIComponent(m.externalId)}`)).json()));
    const res = await get('group=group-001');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="statements-group-group-001.json"');
    const got = await res.json();
    expect(got.length).toBeGreaterThan(500);
    expect(got).toEqual(want);
    expect(xapiErrors(got.slice(0, 20), true)).toEqual([]);
    const none = await get('group=no-such-group');
    expect(none.status).toBe(404);
    expect((await none.json()).errors[0].extensions.code).toBe('NOT_FOUND');
    // Another organisation's key sees no such group.
    expect((await get('group=group-001', (await otherOrganization(t)).client.apiKey!)).status).toBe(404);
    for (const query of ['group=', 'group=a&group=b', 'learner=a&group=g']) {
      const bad = await get(query);
      expect([query, bad.status]).toEqual([query, 400]);
    }
  });

  test("all=true: every learner's statements in externalId order, each as the learner's own export; since/until keep the assessments made in the window", async () => {
    const learners = await prisma.learner.findMany({ where: { organizationId }, orderBy: { externalId: 'asc' } });
    expect(learners.length).toBeGreaterThan(2);
    const want: unknown[] = [];
    for (const l of learners) want.push(...(await (await get(`learner=${encodeURIComponent(l.externalId)}`)).json()));
    const res = await get('all=true');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="statements-organization.json"');
    expect(await res.json()).toEqual(want);
    // Another organisation's key: only its own learners' statements, none of ours.
    const theirs = await (await get('all=true', (await otherOrganization(t)).client.apiKey!)).json();
    const ours = new Set((want as { id: string }[]).map((s) => s.id));
    expect((theirs as { id: string }[]).some((s) => ours.has(s.id))).toBe(false);

    // By when assessed (the statement is the assessment): version 1 on 1 July, version 2 on 2 July.
    const versions = async (query: string) => {
      const r = await get(`learner=${encodeURIComponent(small.externalId)}&${query}`);
      expect([query, r.status]).toEqual([query, 200]);
      return ((await r.json()) as any[]).map((x) => x.context.extensions[`${BASE}/extensions/model-version`]);
    };
    expect(await versions('since=2026-07-02T10:00:00Z')).toEqual(['2']);
    expect(await versions('since=2026-07-02T10:00:00.001Z')).toEqual([]);
    expect(await versions('until=2026-07-02T10:00:00Z')).toEqual(['1']);
    expect(await versions(`since=${encodeURIComponent('2026-07-01T12:00:00+02:00')}&until=2026-07-03T00:00:00Z`)).toEqual(['1', '2']);
    // Consecutive windows partition a long history over several keyset pages, in order.
    const rows = await expectedRows(prisma, seeded.id);
    const cut = new Date(rows[Math.floor(rows.length / 2)]!.createdAt.getTime() + 1).toISOString();
    const before = await (await get(`learner=${seeded.externalId}&until=${cut}`)).json();
    const after = await (await get(`learner=${seeded.externalId}&since=${cut}`)).json();
    expect(before.length).toBeGreaterThan(STATEMENT_PAGE_SIZE);
    expect(after.length).toBeGreaterThan(0);
    expect([...before, ...after]).toEqual(await (await get(`learner=${seeded.externalId}`)).json());
    for (const query of ['all=false', 'all=true&learner=a', 'learner=a&since=yesterday', 'learner=a&since=2026-07-02T00:00:00Z&until=2026-07-01T00:00:00Z']) {
      const bad = await get(query);
      expect([query, bad.status]).toEqual([query, 400]);
    }
  });

  test("liveOnly=true: what live sending sends, so a bulk re-assessment's statements stay out unless it was started with sendStatements", async () => {
    const u = await seedUtterance(prisma, organizationId, 'We call it bear.');
    const learner = await prisma.learner.findUniqueOrThrow({ where: { id: u.learnerId } });
    const words = [{ text: 'WE', accuracy: 9, stress: 10 as const, total: 9, phonemes: [{ symbol: 'W', accuracy: 2 }] }];
    const bulk = (sendStatements: boolean) => prisma.bulkOperation.create({ data: { organizationId, learnerId: learner.id, total: 1, sendStatements, completedAt: new Date() } });
    /** A MODEL assessment of version `v`, by a job of `bulkOperationId` (undefined: no job at all, as imports and seeds write). */
    const assess = async (v: string, bulkOperationId?: string | null) => {
      const job = bulkOperationId === undefined ? null
        : await prisma.job.create({ data: { organizationId, utteranceId: u.id, status: 'SUCCEEDED', bulkOperationId } });
      await prisma.$transaction((tx) => writeAssessment(tx, {
        organizationId, utteranceId: u.id, jobId: job?.id ?? null, source: 'MODEL', model: { name: 'm', version: v, executionProvider: 'cpu' },
        inferenceMs: 1, rationale: null, labels: { sentence: sentence(6), words }, createdAt: new Date(`2026-08-0${v}T10:00:00Z`),
      }));
    };
    await assess('1');
    await assess('2', null); // a submission's or a single re-assessment's job
    await assess('3', (await bulk(false)).id); // a model upgrade over past work: not sent live
    await assess('4', (await bulk(true)).id); // started with sendStatements
    const versions = async (query: string) => {
      const r = await get(`learner=${encodeURIComponent(learner.externalId)}${query}`);
      expect([query, r.status]).toEqual([query, 200]);
      return ((await r.json()) as any[]).map((x) => x.context.extensions[`${BASE}/extensions/model-version`]);
    };
    expect(await versions('')).toEqual(['1', '2', '3', '4']);
    expect(await versions('&liveOnly=false')).toEqual(['1', '2', '3', '4']);
    expect(await versions('&liveOnly=true')).toEqual(['1', '2', '4']);
    expect(await versions('&liveOnly=true&since=2026-08-02T00:00:00Z')).toEqual(['2', '4']);
    for (const query of ['&liveOnly=yes', '&liveOnly=true&liveOnly=true']) {
      const bad = await get(`learner=${encodeURIComponent(learner.externalId)}${query}`);
      expect([query, bad.status]).toEqual([query, 400]);
      expect((await bad.json()).errors[0].extensions).toEqual({ code: 'BAD_USER_INPUT', parameter: 'liveOnly' });
    }
  });

  if (kind === 'pglite') {
    test('an assessment made by the real pipeline exports as a valid statement', async () => {
      const scored = await seedScoredUtterance(t);
      const statements = await (await get(`learner=${scored.externalId}`)).json();
      expect(xapiErrors(statements, true)).toEqual([]);
      expect(statements.length).toBe(1);
      const assessment = await prisma.assessment.findFirstOrThrow({ where: { utterance: { learnerId: (await prisma.learner.findFirstOrThrow({ where: { externalId: scored.externalId } })).id } } });
      expect(statements[0].id).toBe(statementIdFor(assessment.id));
      expect(statements[0].result.score.raw).toBe(assessment.total);
      expect(statements[0].context.extensions[`${BASE}/extensions/model-version`]).toBe(t.app.services.model().version);
    });

    test("sendAssessmentStatement: one assessment to a local LRS, the same statement on a re-send, nothing for another organisation's or HUMAN labels", async () => {
      const lrs = await new TestLrs().start();
      try {
        const xapi = { ...t.config.xapi, lrs: { endpoint: lrs.url, username: lrs.username, password: lrs.password } };
        const [first, second] = await expectedRows(prisma, small.id);
        const exported = await (await get(`learner=${small.externalId}`)).json();
        expect(await sendAssessmentStatement(prisma, xapi, organizationId, first!.id)).toEqual({ kind: 'delivered', status: 200, alreadyStored: false });
        expect(await sendAssessmentStatement(prisma, xapi, organizationId, first!.id)).toEqual({ kind: 'delivered', status: 409, alreadyStored: true, matches: true });
        expect([...lrs.stored.values()]).toEqual([exported[0]]); // what the LRS holds is what the export gives
        // Another organisation's id, or HUMAN labels, are no statement of this organisation.
        const other = await otherOrganization(t);
        expect((await sendAssessmentStatement(prisma, xapi, other.org.id, second!.id)).kind).toBe('gone');
        const human = await prisma.assessment.findFirstOrThrow({ where: { source: 'HUMAN', utterance: { learnerId: small.id } } });
        expect((await sendAssessmentStatement(prisma, xapi, organizationId, human.id)).kind).toBe('gone');
        expect(lrs.stored.size).toBe(1);
      } finally {
        await lrs.stop();
      }
    });

    test("the README's snippet: export with curl, then POST the array to an LRS by hand", async () => {
      const readme = readFileSync('README.md', 'utf8');
      const section = readme.slice(readme.indexOf('### xAPI statements'));
      const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
      const lrs = await new TestLrs('lrs-user', 'lrs-secret').start();
      const cwd = await mkdtemp(path.join(os.tmpdir(), 'speechmark-xapi-readme-'));
      try {
        const env = { ...process.env, KEY: reader, API: t.app.url, LRS: lrs.url.replace(/\/$/, ''), LRS_USER: 'lrs-user', LRS_PASSWORD: 'lrs-secret' };
        const { stdout } = await promisify(execFile)('bash', ['-euo', 'pipefail', '-c', block.replace('lms-42', small.externalId)], { cwd, env, encoding: 'utf8', timeout: 60_000 });
        expect(lrs.requests.map((r) => [r.status, r.reason])).toEqual([[200, 'stored']]);
        expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual((await expectedRows(prisma, small.id)).map((r) => statementIdFor(r.id)));
        expect([...lrs.stored.keys()].length).toBe(2);
      } finally {
        await lrs.stop();
        await rm(cwd, { recursive: true, force: true });
      }
    });
  }
});

describe('GET /export/xapi behind the rate limiter [pglite]', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp('pglite', { rateLimitPerMinute: 2, authFailuresPerMinute: 2 });
  });
  afterAll(async () => {
    await t?.dispose();
  });

  test('a key gets its per-minute requests, then 429 with Retry-After; failed authentications are throttled per address', async () => {
    const url = t.app.url.replace(/\/graphql$/, '/export/xapi?learner=none');
    const asAdmin = () => fetch(url, { headers: { authorization: `Bearer ${t.app.adminKey}` } });
    expect((await asAdmin()).status).toBe(404); // authenticated and allowed: no such learner
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
