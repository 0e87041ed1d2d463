/**
 * Starting on a data folder: one process per PGlite folder, and a first start that fails (port in
 * use, bad model) leaves no organisation whose admin key nobody saw.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../src/config.js';
import { startSpeechmark } from '../../src/app.js';
import { openDatabase } from '../../src/db/client.js';
import { GqlClient } from '../support/client.js';

let dataDir: string;
let config: Config;

beforeEach(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'speechmark-startup-'));
  config = { ...loadConfig({}), port: 0, dataDir, audioDir: path.join(dataDir, 'audio'), executionProviders: ['cpu'] };
});
afterEach(() => rm(dataDir, { recursive: true, force: true }));

async function organisationCount(): Promise<number> {
  const db = await openDatabase(config);
  try {
    return await db.prisma.organization.count();
  } finally {
    await db.close();
  }
}

/** `npm start`'s entry point as a real second process on the same folder. */
function startSecondProcess(): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('npx', ['tsx', 'src/main.ts'], {
      env: { ...process.env, SPEECHMARK_DATA_DIR: dataDir, PORT: '0', SPEECHMARK_EXECUTION_PROVIDERS: 'cpu' },
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

test('a second process on a PGlite folder in use refuses with a clear message, and the first keeps working', async () => {
  const first = await startSpeechmark(config, { host: '127.0.0.1' });
  try {
    const second = await startSecondProcess();
    expect(second.code).toBe(1);
    expect(second.output).toMatch(new RegExp(`data folder .* is in use by process ${process.pid}`));
    expect(second.output).not.toMatch(/\n\s+at /); // one line, no stack trace
    const admin = new GqlClient(first.url, first.adminKey!);
    const res = await admin.request(`mutation { createLearner(input: {externalId: "still-here"}) { externalId } }`);
    expect(res.data?.createLearner.externalId).toBe('still-here');
  } finally {
    await first.close();
  }
  // Released on close: the folder opens again, with what the first process wrote.
  const db = await openDatabase(config);
  try {
    expect(await db.prisma.learner.count({ where: { externalId: 'still-here' } })).toBe(1);
  } finally {
    await db.close();
  }
});

test('the same process cannot open one PGlite folder twice', async () => {
  const db = await openDatabase(config);
  try {
    await expect(openDatabase(config)).rejects.toThrow(/is in use by process/);
  } finally {
    await db.close();
  }
});

test('a lock left by a killed process is taken over', async () => {
  // A real process that is gone by the time we start: its pid in the lock file is stale.
  const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  const deadPid = Number(dead.stdout.trim());
  writeFileSync(path.join(dataDir, 'pglite.lock'), JSON.stringify({ pid: deadPid, host: os.hostname(), startedAt: 'earlier' }));
  const db = await openDatabase(config);
  await db.close();
  expect(existsSync(path.join(dataDir, 'pglite.lock'))).toBe(false);
});

test('a first start that fails because the port is in use creates no organisation, and the next start prints a working key', async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    await expect(startSpeechmark({ ...config, port }, { host: '127.0.0.1' })).rejects.toThrow(/EADDRINUSE/);
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
  }
  expect(await organisationCount()).toBe(0); // and the folder lock was released, or this would throw

  const app = await startSpeechmark(config, { host: '127.0.0.1' });
  try {
    expect(app.adminKey).toMatch(/^sm_/);
    const res = await new GqlClient(app.url, app.adminKey!).request(`{ viewer { scopes } }`);
    expect(res.data?.viewer.scopes).toContain('ADMIN');
  } finally {
    await app.close();
  }
});

test('a first start with a broken model bundle creates no organisation', async () => {
  const modelDir = path.join(dataDir, 'no-model');
  await expect(startSpeechmark({ ...config, modelDir }, { host: '127.0.0.1' })).rejects.toThrow(/manifest|no-model/);
  expect(await organisationCount()).toBe(0);
});
