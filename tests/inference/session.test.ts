import { createSession } from '../../src/inference/session.js';
import { DEFAULT_BUNDLE } from './helpers.js';
import path from 'node:path';

const MODEL = path.join(DEFAULT_BUNDLE, 'acoustic.onnx');

describe('execution provider fallback', () => {
  test("['cuda', 'cpu'] ends on cpu here (no CUDA libraries) and says so", async () => {
    const lines: string[] = [];
    const { session, provider, skipped } = await createSession(MODEL, ['cuda', 'cpu'], { log: (l) => lines.push(l) });
    if (skipped.length === 0) {
      // a machine with working CUDA: the first choice wins
      expect(provider).toBe('cuda');
    } else {
      expect(provider).toBe('cpu');
      expect(skipped.map((s) => s.provider)).toEqual(['cuda']);
      expect(lines[0]).toMatch(/execution provider "cuda" unavailable \(.*\); falling back to "cpu"/);
      expect(lines.at(-1)).toBe('onnxruntime: using execution provider "cpu"');
    }
    await session.release();
  });

  test('an unknown provider name is skipped (onnxruntime would silently drop it) and logged', async () => {
    const lines: string[] = [];
    const { session, provider, skipped } = await createSession(MODEL, ['warpdrive', 'cpu'], { log: (l) => lines.push(l) });
    expect(provider).toBe('cpu');
    expect(skipped[0]).toEqual({ provider: 'warpdrive', reason: expect.stringMatching(/unknown execution provider/) });
    expect(lines[0]).toMatch(/skipping execution provider "warpdrive".*trying "cpu"/);
    await session.release();
  });

  test('no usable provider: one error listing every reason', async () => {
    await expect(createSession(MODEL, ['warpdrive'], { log: () => {} })).rejects.toThrow(/with any of \[warpdrive\]: warpdrive: unknown execution provider/);
    await expect(createSession(MODEL, [], { log: () => {} })).rejects.toThrow(/no execution providers/);
  });
});
