/**
 * The exports' backpressure wait: a long export to a slow reader waits for 'drain' once per full
 * buffer, and each wait must leave no listener behind.
 */
import { Writable } from 'node:stream';
import type { Response } from 'express';
import { write } from '../../src/http/export.js';

test('waiting for drain many times leaves no close or error listeners behind', async () => {
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on('warning', onWarning);
  const slow = new Writable({
    highWaterMark: 16,
    write(_chunk, _enc, done) {
      setImmediate(done); // a reader that takes its time
    },
  });
  const before = { close: slow.listenerCount('close'), error: slow.listenerCount('error'), drain: slow.listenerCount('drain') };
  for (let i = 0; i < 30; i++) expect(await write(slow as unknown as Response, 'x'.repeat(64))).toBe(true);
  await new Promise((r) => setImmediate(r));
  process.off('warning', onWarning);
  expect({ close: slow.listenerCount('close'), error: slow.listenerCount('error'), drain: slow.listenerCount('drain') }).toEqual(before);
  expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
});

test('a reader gone away while the export waits ends the wait with false', async () => {
  const stuck = new Writable({ highWaterMark: 16, write() { /* never reads */ } });
  const waiting = write(stuck as unknown as Response, 'x'.repeat(64));
  stuck.destroy();
  expect(await waiting).toBe(false);
});
