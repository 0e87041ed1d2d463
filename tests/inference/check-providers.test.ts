/**
 * `npm run check-providers` as the README's GPU section has a user run it: on a host without the
 * CUDA provider libraries (this one) it falls back to the CPU, says so, and with `--batches` prints
 * the batched acoustic graph's throughput per batch size, one JSON line each.
 */
import { spawnSync } from 'node:child_process';

test('npm run check-providers -- --providers cuda,cpu --batches 1,2: CPU fallback and per-batch throughput', () => {
  const { NODE_ENV: _jest, ...env } = process.env;
  const r = spawnSync('npm', ['run', '-s', 'check-providers', '--', '--providers', 'cuda,cpu', '--batches', '1,2'], {
    env: { ...env, NODE_OPTIONS: '' }, encoding: 'utf8', timeout: 120_000,
  });
  expect(r.status).toBe(0);
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  const [check, ...batched] = lines;
  // A host with the CUDA provider libraries gets cuda; every other host falls back and says so.
  expect(check).toMatchObject({ asked: ['cuda', 'cpu'], provider: expect.stringMatching(/^(cpu|cuda)$/), model: expect.stringMatching(/\S/) });
  expect(check.runsPerSecond).toBeGreaterThan(0);
  // The provider it got, then the CPU beside it (once when they are the same).
  const providers = check.provider === 'cpu' ? ['cpu'] : [check.provider, 'cpu'];
  expect(batched.map((b: any) => [b.graph, b.provider, b.batch])).toEqual(providers.flatMap((p) => [['acoustic-batched', p, 1], ['acoustic-batched', p, 2]]));
  for (const b of batched) expect(b.recordingsPerSecond).toBeCloseTo(b.runsPerSecond * b.batch, 0);
  if (check.provider === 'cpu') expect(r.stderr).toMatch(/execution provider \\"cuda\\" unavailable .*falling back to \\"cpu\\"/);
  else expect(check.gpu).toMatch(/\S/);
}, 150_000);
