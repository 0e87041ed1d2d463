/**
 * The README's curl session, run as written: each `curl` command of the block goes through bash
 * with real curl against a started server. What a user fills in by hand (KEY, API, and the ids a
 * step printed: `LEARNER=...`) the test fills in from the previous step's real response, at the
 * place the README's `# →` example shows the placeholder. Every response must have the example's
 * shape and no errors.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { decodeAudio } from '../../src/audio/decode.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { encodeWav, hasSharedData } from '../support/audio-fixtures.js';
import { speechOceanUtterances } from '../support/speech.js';

interface Step {
  title: string;
  command: string;
  example: unknown;
  /** `VAR=placeholder` lines after the step: what the user copies from its output. */
  assignments: { name: string; placeholder: string }[];
}

const hasEspeak = spawnSync('espeak-ng', ['--version']).status === 0;
const runnable = hasSharedData || hasEspeak;

/** The example output with `[...]` and `{...}` elisions made parseable. */
function parseExample(line: string): unknown {
  return JSON.parse(line.replace(/\[\.\.\.\]/g, '[]').replace(/\{\.\.\.\}/g, '{}'));
}

/** The ```sh block under "An example session with curl", cut into numbered steps. */
export function readmeSteps(readme: string): { preamble: string[]; steps: Step[] } {
  const section = readme.slice(readme.indexOf('## An example session with curl'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
  const preamble: string[] = [];
  const steps: Step[] = [];
  const lines = block.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heading = /^# (\d+\. .*)$/.exec(line);
    if (heading) {
      steps.push({ title: heading[1]!, command: '', example: null, assignments: [] });
      continue;
    }
    const step = steps.at(-1);
    if (!step) {
      if (line.trim()) preamble.push(line);
      continue;
    }
    if (line.startsWith('curl ')) {
      const parts = [line];
      while (parts.at(-1)!.endsWith('\\')) parts.push(lines[++i]!);
      step.command = parts.join('\n');
    } else if (line.startsWith('# → ')) {
      step.example = parseExample(line.slice(4));
    } else if (/^[A-Z]+=/.test(line)) {
      for (const part of line.replace(/\s+#.*$/, '').split(';')) {
        const [name, placeholder] = part.trim().split('=') as [string, string];
        step.assignments.push({ name, placeholder });
      }
    }
  }
  return { preamble, steps };
}

/** Path (keys and indexes) of `value` inside `tree`, or null. */
function pathOf(tree: unknown, value: string, at: (string | number)[] = []): (string | number)[] | null {
  if (tree === value) return at;
  if (tree && typeof tree === 'object') {
    for (const [k, v] of Object.entries(tree)) {
      const found = pathOf(v, value, [...at, Array.isArray(tree) ? Number(k) : k]);
      if (found) return found;
    }
  }
  return null;
}

const at = (tree: any, p: (string | number)[]) => p.reduce((node, k) => node?.[k], tree);

/** Every key the example shows is in the actual response, with a value of the same kind. */
function expectShape(actual: unknown, example: unknown, where = '$'): void {
  if (example === null || typeof example !== 'object') {
    if (example !== null) expect([where, typeof actual]).toEqual([where, typeof example]);
    return;
  }
  if (Array.isArray(example)) {
    expect([where, Array.isArray(actual)]).toEqual([where, true]);
    return;
  }
  expect([where, typeof actual]).toEqual([where, 'object']);
  for (const [k, v] of Object.entries(example)) {
    expect([where, k in (actual as object)]).toEqual([where, true]);
    expectShape((actual as any)[k], v, `${where}.${k}`);
  }
}

/** A recording of "We call it bear": a real learner's when ../shared is here, else espeak-ng's. */
async function recordingWav(dir: string): Promise<Buffer> {
  if (hasSharedData) {
    const [u] = speechOceanUtterances('train', 1); // "WE CALL IT BEAR"
    const audio = await decodeAudio(u!.bytes, { minSeconds: 0, maxSeconds: 60 });
    return Buffer.from(encodeWav(audio.samples, audio.sampleRate));
  }
  const out = path.join(dir, 'espeak.wav');
  execFileSync('espeak-ng', ['-w', out, 'We call it bear']);
  return readFileSync(out);
}

const suite = runnable ? describe : describe.skip;
suite(`the README's curl session${runnable ? '' : ' (skipped: needs ../shared/speechocean762 or espeak-ng for a recording)'}`, () => {
  let t: TestApp;
  let dir: string;
  beforeAll(async () => {
    t = await startTestApp('pglite');
    dir = await mkdtemp(path.join(os.tmpdir(), 'speechmark-readme-'));
    writeFileSync(path.join(dir, 'recording.wav'), await recordingWav(dir));
  });
  afterAll(async () => {
    await t?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('every step runs as written and answers with the shape the README shows', async () => {
    const { preamble, steps } = readmeSteps(readFileSync('README.md', 'utf8'));
    expect(preamble.map((l) => l.split('=')[0])).toEqual(['KEY', 'API']);
    expect(steps.map((s) => s.title.split('.')[0])).toEqual(['1', '2', '3', '4', '5']);
    const env: Record<string, string> = { ...(process.env as Record<string, string>), KEY: t.app.adminKey!, API: t.app.url };

    // Asynchronously: the server answering curl runs in this process.
    const run = async (step: Step) => {
      const { stdout } = await promisify(execFile)('bash', ['-c', step.command], { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
      return JSON.parse(stdout);
    };
    for (const step of steps) {
      expect([step.title, step.command.length > 0]).toEqual([step.title, true]);
      let res = await run(step);
      // "poll the job": the same command again until the job has finished.
      for (let tries = 0; res.data?.job && ['QUEUED', 'RUNNING'].includes(res.data.job.status) && tries < 300; tries++) {
        await new Promise((r) => setTimeout(r, 200));
        res = await run(step);
      }
      expect([step.title, res.errors]).toEqual([step.title, undefined]);
      if (res.data?.job) expect(res.data.job.status).toBe('SUCCEEDED');
      expectShape(res, step.example, step.title);
      for (const { name, placeholder } of step.assignments) {
        const p = pathOf(step.example, placeholder);
        expect([name, p]).not.toEqual([name, null]);
        const value = at(res, p!);
        expect(typeof value).toBe('string');
        env[name] = value;
      }
    }
    // The session did what it says: one utterance with a model assessment and a second job queued.
    const prisma = t.app.services.prisma;
    expect(await prisma.utterance.count()).toBe(1);
    expect(await prisma.job.count()).toBe(2);
    expect(await prisma.assessment.count({ where: { source: 'MODEL' } })).toBeGreaterThanOrEqual(1);
  });
});
