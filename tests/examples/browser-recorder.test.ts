/**
 * examples/browser-recorder in Debian's Chromium, headless, through playwright-core: the page is
 * served from its own origin (so CORS is on the path, as in a real LMS), Chromium's fake microphone
 * plays a WAV of speech (espeak-ng, or a SpeechOcean762 recording), the page records it with
 * MediaRecorder and uploads it with the GraphQL multipart request to a speechmark started here, and
 * shows the job's scores. Skipped, with the reason in its name, when Chromium or a speech source
 * is missing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { decodeAudio } from '../../src/audio/decode.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { encodeWav, hasSharedData } from '../support/audio-fixtures.js';
import { keyWithScopes } from '../support/seed.js';
import { speechOceanUtterances } from '../support/speech.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const hasEspeak = spawnSync('espeak-ng', ['--version']).status === 0;
const skipReason = !hasChromium ? `${CHROMIUM} absent` : !hasEspeak && !hasSharedData ? 'needs espeak-ng or ../shared/speechocean762 for a recording' : null;

/** "We call it bear", spoken: espeak-ng's voice, else a real learner's recording. */
async function speechWav(dir: string): Promise<string> {
  const out = path.join(dir, 'speech.wav');
  if (hasEspeak) {
    execFileSync('espeak-ng', ['-s', '140', '-w', out, 'We call it bear']);
  } else {
    const [u] = speechOceanUtterances('train', 1);
    const audio = await decodeAudio(u!.bytes, { minSeconds: 0, maxSeconds: 60 });
    writeFileSync(out, encodeWav(audio.samples, audio.sampleRate));
  }
  return out;
}

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8' };

/** The example's files as a static site, on another port than the API (another origin). */
async function serveExample(): Promise<{ url: string; close(): Promise<void> }> {
  const root = path.resolve('examples/browser-recorder');
  const server = http.createServer((req, res) => {
    const name = req.url === '/' ? 'index.html' : path.basename(req.url ?? '');
    const file = path.join(root, name);
    if (!TYPES[path.extname(name)] || !existsSync(file)) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': TYPES[path.extname(name)]! }).end(readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

const suite = skipReason ? describe.skip : describe;
suite(`examples/browser-recorder in headless Chromium${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let dir: string;
  let site: Awaited<ReturnType<typeof serveExample>>;
  let t: TestApp;
  let browser: import('playwright-core').Browser;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'speechmark-browser-'));
    site = await serveExample();
    t = await startTestApp('pglite', { corsOrigins: [site.url] });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless', '--no-sandbox', '--disable-gpu',
        '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
        `--use-file-for-fake-audio-capture=${await speechWav(dir)}%noloop`,
        '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.dispose();
    await site?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('records from the microphone, uploads across origins, and shows the SUCCEEDED job and its scores', async () => {
    const created = await t.admin.request('mutation { createLearner(input: {externalId: "browser-1"}) { id } }');
    const learnerId: string = created.data.createLearner.id;
    const key = (await keyWithScopes(t, ['ASSESS_WRITE', 'SCORES_READ'])).apiKey!;

    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${site.url}/`);
    await page.fill('#api', t.app.url);
    await page.fill('#key', key);
    await page.fill('#learner', learnerId);
    await page.fill('#text', 'We call it bear');
    await page.click('#record');
    await page.waitForFunction(() => Number(document.getElementById('elapsed')!.dataset.seconds) >= 2.5, null, { timeout: 30_000 });
    await page.click('#stop');
    await page.waitForFunction(() => ['SUCCEEDED', 'FAILED', 'error'].includes(document.getElementById('status')!.textContent ?? ''), null, { timeout: 120_000 });
    const status = await page.textContent('#status');
    const error = await page.textContent('#error');
    expect([status, error, problems]).toEqual(['SUCCEEDED', '', []]);

    // The upload reached the server as the browser recorded it, and the page shows the stored scores.
    const prisma = t.app.services.prisma;
    const utterances = await prisma.utterance.findMany({ where: { learner: { externalId: 'browser-1' } }, include: { jobs: true, assessments: true } });
    expect(utterances.length).toBe(1);
    const [u] = utterances;
    expect(u!.audioFormat).toMatch(/webm|ogg/);
    expect(u!.durationMs).toBeGreaterThan(2000);
    expect(u!.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);
    expect(u!.jobs.map((j) => j.status)).toEqual(['SUCCEEDED']);
    expect(await page.getAttribute('#sentence-scores', 'data-total')).toBe(String(u!.assessments[0]!.total));
    expect(await page.locator('#word-scores tr').count()).toBe(1 + 4); // header + WE CALL IT BEAR
    await page.close();
  });
});
