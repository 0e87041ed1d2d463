/**
 * Operations (issue 14), on the real server over HTTP, on PGlite and PostgreSQL: /healthz,
 * /readyz (database, migrations, a worker's heartbeat), /metrics (Prometheus text, token on the API
 * port, open on its own listener), worker heartbeats in `Query.workers`, and an API process that
 * runs no model (only a manifest in its model folder: no model file to load, so no session).
 * Configuration checked at start and the JSON logs are tested on the real entry point as a child
 * process.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startTestApp, testDatabases, waitForJob, type TestApp } from '../support/app.js';
import { speechLikeWav } from '../support/audio-fixtures.js';
import { runEntry } from '../support/processes.js';

const DATABASES = await testDatabases();
const TOKEN = 'metrics-token-for-tests-0123456789';
const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { utterance { id } job { id } } }`;
const WORKERS = `query Workers { workers { workerId host pid model { name version } modelSha256 executionProvider concurrency jobsInHand startedAt lastSeenAt stoppedAt live } }`;

const base = (t: TestApp) => t.app.url.replace(/\/graphql$/, '');

/** One sample line of the exposition text, e.g. `name{a="b"} 3`, as its value (undefined when absent). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** The README's Operations commands: each `curl` line with the `# →` line after it. */
function readmeOpsCommands(): { command: string; expected: string }[] {
  const readme = readFileSync(path.resolve('README.md'), 'utf8');
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf('## Operations')))![1]!;
  const lines = block.split('\n');
  return lines.flatMap((line, i) => (line.startsWith('curl ') ? [{ command: line, expected: lines[i + 1]!.replace(/^# → /, '') }] : []));
}

/** `actual` has the example's shape and values; the string "..." in the example stands for any string. */
function matchesExample(actual: unknown, example: unknown): boolean {
  if (example === '...') return typeof actual === 'string';
  if (Array.isArray(example)) return Array.isArray(actual) && actual.length === example.length && example.every((e, i) => matchesExample(actual[i], e));
  if (example && typeof example === 'object') {
    const a = actual as Record<string, unknown>;
    return !!a && typeof a === 'object' && Object.keys(example).length === Object.keys(a).length
      && Object.entries(example).every(([k, v]) => matchesExample(a[k], v));
  }
  return actual === example;
}

async function submitOne(t: TestApp): Promise<string> {
  const learner = await t.admin.request(`mutation { createLearner(input: {externalId: "ops-${Math.random()}"}) { id } }`);
  const res = await t.admin.upload(
    SUBMIT,
    { input: { learnerId: learner.data.createLearner.id, referenceText: 'We call it bear', audio: null } },
    'variables.input.audio',
    { bytes: speechLikeWav(1.5), name: 'speech.wav' },
  );
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data.submitUtterance.job.id;
}

describe.each(DATABASES)('operations [%s]', (kind) => {
  describe('an API process with its worker', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(kind, { metricsToken: TOKEN, metricsPort: 0, metricsHost: '127.0.0.1', readyWorkerSeconds: 30 });
    }, 120_000);
    afterAll(async () => {
      await t?.dispose();
    });

    test('/healthz answers without a database round trip; /readyz checks the database, migrations and a worker', async () => {
      const health = await fetch(`${base(t)}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ ok: true });
      const ready = await fetch(`${base(t)}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ ready: true, reasons: [], checks: { database: 'ok', migrations: 'ok', workers: '1 live' } });
    });

    test('the in-process worker publishes a heartbeat that admins read in Query.workers', async () => {
      const res = await t.admin.request(WORKERS);
      expect(res.errors).toBeUndefined();
      const [w, ...others] = res.data.workers;
      expect(others).toHaveLength(0);
      expect(w).toMatchObject({
        workerId: t.app.worker!.workerId,
        host: os.hostname(),
        pid: process.pid,
        executionProvider: 'cpu',
        concurrency: t.config.workerConcurrency,
        stoppedAt: null,
        live: true,
      });
      const model = t.app.services.model();
      expect(w.model).toEqual({ name: model.name, version: model.version });
      expect(w.modelSha256).toBe(model.sha256);
    });

    test('Query.workers needs the ADMIN scope', async () => {
      const { prisma } = t.app.services;
      const org = await prisma.organization.findFirstOrThrow();
      const { createApiKey } = await import('../../src/graphql/auth.js');
      const { key } = await createApiKey(prisma, org.id, 'reader', ['SCORES_READ']);
      const res = await t.admin.withKey(key).request(WORKERS);
      expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    });

    test('/metrics: refused without the token on the API port, served with it and on the ops listener', async () => {
      expect((await fetch(`${base(t)}/metrics`)).status).toBe(401);
      expect((await fetch(`${base(t)}/metrics`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status).toBe(401);
      const ok = await fetch(`${base(t)}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const open = await fetch(`${t.app.opsUrl}/metrics`);
      expect(open.status).toBe(200);
      const text = await open.text();
      expect(text).toContain('# TYPE speechmark_queue_jobs gauge');
      expect(sample(text, 'speechmark_workers_live{provider="cpu"}')).toBe(1);
      expect((await fetch(`${t.app.opsUrl}/readyz`)).status).toBe(200);
    });

    test('a job and a GraphQL operation show up in the histograms and counters', async () => {
      const jobId = await submitOne(t);
      expect((await waitForJob(t.admin, jobId)).status).toBe('SUCCEEDED');
      await t.admin.request(`query Viewer { viewer { organization { id } } }`);
      await t.admin.request(`query Broken { nope }`);
      const text = await (await fetch(`${t.app.opsUrl}/metrics`)).text();
      const version = t.app.services.model().version;
      expect(sample(text, `speechmark_inference_duration_seconds_count{model_version="${version}",provider="cpu"}`)).toBeGreaterThanOrEqual(1);
      for (const stage of ['queued', 'load', 'inference', 'rationale', 'write', 'total']) {
        expect(sample(text, `speechmark_job_stage_duration_seconds_count{stage="${stage}"}`)).toBeGreaterThanOrEqual(1);
      }
      expect(sample(text, 'speechmark_jobs_settled_total{outcome="succeeded"}')).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'speechmark_graphql_operation_duration_seconds_count{operation="Viewer",type="query"}')).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'speechmark_graphql_errors_total{code="GRAPHQL_VALIDATION_FAILED",operation="anonymous",type="unknown"}')).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'speechmark_http_request_duration_seconds_count{method="POST",route="/graphql",status="2xx"}')).toBeGreaterThanOrEqual(1);
      for (const priority of ['interactive', 'bulk']) {
        expect(sample(text, `speechmark_queue_jobs{priority="${priority}",state="ready"}`)).toBe(0);
        expect(sample(text, `speechmark_queue_oldest_ready_age_seconds{priority="${priority}"}`)).toBe(0);
      }
    }, 120_000);

    test('queue gauges count waiting jobs by priority and state, their age, and jobs no worker serves', async () => {
      const prisma = t.app.services.prisma;
      const organizationId = (await prisma.organization.findFirstOrThrow({ orderBy: { createdAt: 'asc' } })).id;
      const learner = await prisma.learner.create({ data: { organizationId, externalId: `gauges-${Date.now()}` } });
      const utterance = await prisma.utterance.create({
        data: {
          organizationId, learnerId: learner.id, referenceText: 'HI', referenceWords: [], audioSha256: 'c'.repeat(64), audioFormat: 'wav',
          audioBytes: 1, durationMs: 1000, sourceSampleRate: 16000, sourceChannels: 1, speechMs: 900,
        },
      });
      // Jobs no worker here will claim (they ask for a version nobody serves): two BULK ones ready for
      // two minutes, one INTERACTIVE one delayed (a retry's backoff).
      const unserved = 'no-worker-serves-this-1.0';
      const minutesAgo = new Date(Date.now() - 120_000);
      await prisma.job.createMany({
        data: [
          { organizationId, utteranceId: utterance.id, priority: 'BULK', requestedModelVersion: unserved, runAfter: minutesAgo, createdAt: minutesAgo },
          { organizationId, utteranceId: utterance.id, priority: 'BULK', requestedModelVersion: unserved, runAfter: new Date(), createdAt: new Date() },
          { organizationId, utteranceId: utterance.id, priority: 'INTERACTIVE', requestedModelVersion: unserved, runAfter: new Date(Date.now() + 3_600_000) },
        ],
      });
      try {
        const text = await (await fetch(`${t.app.opsUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
        expect(sample(text, 'speechmark_queue_jobs{priority="bulk",state="ready"}')).toBe(2);
        expect(sample(text, 'speechmark_queue_jobs{priority="interactive",state="delayed"}')).toBe(1);
        expect(sample(text, 'speechmark_queue_jobs{priority="interactive",state="ready"}')).toBe(0);
        const age = sample(text, 'speechmark_queue_oldest_ready_age_seconds{priority="bulk"}')!;
        expect(age).toBeGreaterThanOrEqual(119);
        expect(age).toBeLessThan(600);
        expect(sample(text, `speechmark_queue_unserved_jobs{model_version="${unserved}"}`)).toBe(3);
      } finally {
        await prisma.job.deleteMany({ where: { utteranceId: utterance.id } });
      }
    });

    test("the README's operations commands, run as written with curl", async () => {
      const commands = readmeOpsCommands();
      expect(commands.length).toBeGreaterThanOrEqual(5);
      for (const { command, expected } of commands) {
        const line = command.replaceAll('http://localhost:4000', base(t)).replaceAll('http://127.0.0.1:9464', t.app.opsUrl!);
        const { stdout } = await promisify(execFile)('bash', ['-c', line], {
          env: { ...process.env, SPEECHMARK_METRICS_TOKEN: TOKEN, KEY: t.app.adminKey! },
        });
        if (expected.startsWith('{')) {
          expect(matchesExample(JSON.parse(stdout), JSON.parse(expected))).toBe(true);
        } else {
          expect(stdout.split('\n')[0]).toBe(expected);
        }
      }
    }, 60_000);

    test('/readyz answers 503 with the reason when a migration of this build is not applied', async () => {
      const { prisma } = t.app.services;
      const [last] = await prisma.$queryRawUnsafe<{ id: string; migration_name: string }[]>(
        `SELECT id, migration_name FROM "_prisma_migrations" ORDER BY migration_name DESC LIMIT 1`,
      );
      await prisma.$executeRawUnsafe(`UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE id = $1`, last!.id);
      try {
        const res = await fetch(`${base(t)}/readyz`);
        expect(res.status).toBe(503);
        const body = await res.json();
        expect(body.ready).toBe(false);
        expect(body.reasons).toEqual([`migrations not applied: ${last!.migration_name}`]);
      } finally {
        await prisma.$executeRawUnsafe(`UPDATE "_prisma_migrations" SET rolled_back_at = NULL WHERE id = $1`, last!.id);
      }
      expect((await fetch(`${base(t)}/readyz`)).status).toBe(200);
    });
  });

  describe('an API process without a worker', () => {
    let t: TestApp;
    let manifestOnly: string;
    beforeAll(async () => {
      // Only the manifest: an API that tried to load the model (or hash its files) could not start.
      manifestOnly = await mkdtemp(path.join(os.tmpdir(), 'speechmark-manifest-'));
      await cp(path.resolve('models/default/manifest.json'), path.join(manifestOnly, 'manifest.json'));
      t = await startTestApp(kind, { inProcessWorker: false, modelDir: manifestOnly, readyWorkerSeconds: 30 });
    }, 120_000);
    afterAll(async () => {
      await t?.dispose();
      await rm(manifestOnly, { recursive: true, force: true });
    });

    test('names the model from its manifest, reports no provider while no worker has reported, and is not ready', async () => {
      expect(t.app.worker).toBeNull();
      const res = await t.admin.request(`{ model { name version sha256 executionProvider } }`);
      expect(res.errors).toBeUndefined();
      const { readManifest } = await import('../../src/inference/bundle.js');
      const manifest = readManifest(path.resolve('models/default'));
      expect(res.data.model).toEqual({ name: manifest.name, version: manifest.version, sha256: manifest.sha256, executionProvider: 'unknown' });
      const ready = await fetch(`${base(t)}/readyz`);
      expect(ready.status).toBe(503);
      expect((await ready.json()).reasons).toEqual(['no inference worker seen in the last 30 s']);
    });

    test('takes the provider from the heartbeat of a worker serving that version, and is then ready', async () => {
      const { HeartbeatPublisher } = await import('../../src/jobs/heartbeat.js');
      const { readManifest } = await import('../../src/inference/bundle.js');
      const manifest = readManifest(path.resolve('models/default'));
      // A heartbeat as a GPU worker on another host would write it.
      const beat = new HeartbeatPublisher(
        t.app.services.prisma,
        { workerId: 'gpu-host:42:abc', host: 'gpu-host', pid: 42, model: manifest, modelVersions: [manifest.version], executionProvider: 'cuda', concurrency: 4 },
        () => 2,
        60_000,
      );
      await beat.start();
      try {
        const res = await t.admin.request(`{ model { executionProvider } workers { workerId host executionProvider jobsInHand live } }`);
        expect(res.data.model.executionProvider).toBe('cuda');
        expect(res.data.workers).toEqual([{ workerId: 'gpu-host:42:abc', host: 'gpu-host', executionProvider: 'cuda', jobsInHand: 2, live: true }]);
        expect((await fetch(`${base(t)}/readyz`)).status).toBe(200);
      } finally {
        await beat.stop();
      }
      const after = await t.admin.request(`{ workers { workerId } all: workers(includeStopped: true) { workerId stoppedAt live } }`);
      expect(after.data.workers).toEqual([]);
      expect(after.data.all).toHaveLength(1);
      expect(after.data.all[0].live).toBe(false);
      expect(after.data.all[0].stoppedAt).not.toBeNull();
    });
  });
});

describe('configuration checked at start (npm start as a child process)', () => {
  test('every problem is listed, one per line, and the exit status is 1', async () => {
    const run = runEntry('src/main.ts', {
      PORT: 'eighty',
      SPEECHMARK_WORKER_CONCURRENCY: '0',
      SPEECHMARK_WORKER: 'sometimes',
      SPEECHMARK_LOG_LEVEL: 'loud',
      DATABASE_URL: 'mysql://db.example/speechmark',
      SPEECHMARK_METRICS_TOKEN: 'short',
      SPEECHMARK_URL_SIGNING_SECRET: 'too-short-to-sign-with',
    });
    const { code } = await run.exited;
    expect(code).toBe(1);
    const lines = run.stderr().trim().split('\n');
    expect(lines[0]).toBe('speechmark: cannot start: invalid configuration (7 problems):');
    expect(lines.slice(1)).toEqual([
      '  - PORT must be a number, got "eighty"',
      '  - DATABASE_URL must be a postgresql:// URL, got a mysql: URL',
      '  - SPEECHMARK_WORKER must be one of in-process, none, got "sometimes"',
      '  - SPEECHMARK_WORKER_CONCURRENCY must be at least 1, got "0"',
      '  - SPEECHMARK_LOG_LEVEL must be one of debug, info, warn, error, silent, got "loud"',
      '  - SPEECHMARK_METRICS_TOKEN must be at least 16 characters (a guessable token protects nothing)',
      '  - SPEECHMARK_URL_SIGNING_SECRET must be at least 32 characters (it signs the audio playback URLs)',
    ]);
    expect(run.stdout()).toBe('');
  }, 60_000);
});

describe('structured logs (npm start as a child process, PGlite)', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'speechmark-logs-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  test('one JSON line per request and per job, with request, job and organisation ids', async () => {
    const run = runEntry('src/main.ts', { PORT: '0', SPEECHMARK_DATA_DIR: dataDir, DATABASE_URL: '', SPEECHMARK_LOG_LEVEL: 'info' });
    try {
      const [, url, key] = await run.waitFor(/GraphQL API: (\S+)[\s\S]*\n\s+(sm_\S+)/);
      const res = await fetch(url!, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query: '{ viewer { organization { id } } }' }),
      });
      const requestId = res.headers.get('x-request-id');
      expect(requestId).toBeTruthy();
      const { GqlClient } = await import('../support/client.js');
      const client = new GqlClient(url!, key);
      const learner = await client.request(`mutation { createLearner(input: {externalId: "logs"}) { id } }`);
      const up = await client.upload(
        SUBMIT,
        { input: { learnerId: learner.data.createLearner.id, referenceText: 'We call it bear', audio: null } },
        'variables.input.audio',
        { bytes: speechLikeWav(1.5), name: 'speech.wav' },
      );
      const jobId: string = up.data.submitUtterance.job.id;
      expect((await waitForJob(client, jobId)).status).toBe('SUCCEEDED');
      await run.waitFor(/"msg":"job settled"/);
      const records = run.stdout().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
      const request = records.find((r) => r.msg === 'request' && r.requestId === requestId);
      expect(request).toMatchObject({ level: 'info', service: 'api', method: 'POST', route: '/graphql', status: 200 });
      expect(request.organizationId).toMatch(/^[0-9a-f-]{36}$/);
      const { fromGlobalId } = await import('../../src/graphql/ids.js');
      const settled = records.find((r) => r.msg === 'job settled');
      expect(settled).toMatchObject({ level: 'info', service: 'api', outcome: 'succeeded', jobId: fromGlobalId(jobId)!.id, organizationId: request.organizationId });
      expect(typeof settled.time).toBe('string');
    } finally {
      run.child.kill('SIGTERM');
      await run.exited;
    }
  }, 180_000);

  test('one SIGTERM stops npm start gracefully: it drains, closes and exits 0 (no library re-raises the signal)', async () => {
    const run = runEntry('src/main.ts', { PORT: '0', SPEECHMARK_DATA_DIR: dataDir, DATABASE_URL: '', SPEECHMARK_LOG_LEVEL: 'warn' });
    try {
      await run.waitFor(/GraphQL API: (\S+)/);
      run.child.kill('SIGTERM');
      expect(await run.exited).toEqual({ code: 0, signal: null });
      expect(run.stdout()).toMatch(/speechmark: SIGTERM: no new jobs[\s\S]*speechmark: stopped/);
      expect(run.stderr()).not.toMatch(/second SIGTERM/);
    } finally {
      if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
    }
  }, 120_000);
});
