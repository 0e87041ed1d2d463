/**
 * What a process writes when something goes wrong outside a request or a job is a JSON line too
 * (a log shipper indexes it like the rest), with the error's name and message as fields.
 */
import { spawnSync } from 'node:child_process';

/** Runs a module snippet in a fresh Node process with tsx, as the entry points run. */
function run(code: string) {
  const { NODE_ENV: _jest, ...env } = process.env;
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    env: { ...env, NODE_OPTIONS: '' }, encoding: 'utf8', timeout: 60_000,
  });
}

const jsonLines = (text: string) => text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));

test('an unhandled rejection is one JSON error line, and the process survives it', () => {
  const r = run(`
    import { logUnhandledRejections } from './src/lifecycle.ts';
    logUnhandledRejections('speechmark');
    Promise.reject(Object.assign(new Error('boom'), { code: 'E_TEST' }));
    setTimeout(() => console.log(JSON.stringify({ msg: 'still running' })), 100);
  `);
  expect(r.status).toBe(0);
  const [line] = jsonLines(r.stderr);
  expect(line).toMatchObject({ level: 'error', msg: 'unhandled rejection (ignored)', process: 'speechmark', err: { name: 'Error', message: 'boom', code: 'E_TEST' } });
  expect(jsonLines(r.stdout)).toEqual([{ msg: 'still running' }]);
});

test('an execution provider that cannot load falls back with a JSON warning, not a bare line', () => {
  const r = run(`
    import { createSession } from './src/inference/session.ts';
    const { provider } = await createSession('models/default/heads.onnx', ['no-such-provider', 'cpu']);
    console.log(JSON.stringify({ provider }));
  `);
  expect(r.status).toBe(0);
  // Every line JSON (JSON.parse throws on a bare one): the skip, then which provider is used.
  const lines = jsonLines(r.stderr);
  expect(lines.map((l) => [l.level, l.service])).toEqual([['warn', 'speechmark'], ['warn', 'speechmark']]);
  expect(lines[0].msg).toMatch(/skipping execution provider "no-such-provider".*trying "cpu"/);
  expect(lines[1].msg).toBe('onnxruntime: using execution provider "cpu"');
  expect(jsonLines(r.stdout)).toEqual([{ provider: 'cpu' }]);
});
