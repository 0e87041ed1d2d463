/**
 * The thread of a ThreadedAssessor (./threaded-assessor.ts): it loads one model bundle and runs
 * every assessment sent to it, so the model's session runs, the alignment and the feature code
 * never hold up the thread that serves HTTP. Concurrent requests are in flight together here, so
 * the bundle's dynamic batching (../inference/batcher.ts) groups them as it would on one thread.
 *
 * First message out: `{ ready: AssessorIdentity }` or `{ failed: WireError }`. Requests:
 * `{ id, warmUp: true }` and `{ id, samples, words }`; answers `{ id, done }`, `{ id, assessed,
 * times }` or `{ id, error }`. Metric updates made here (batch counts) go out as `{ metric }`.
 * `{ close: true }`: the thread exits once the model runs it has started have returned (a thread
 * terminated inside a native run can abort the whole process).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { errorToWire } from '../errors.js';
import { metrics } from '../ops/metrics.js';
import type { StageTimes } from '../ops/stage-times.js';
import type { ReferenceWord } from '../types.js';
import { loadAssessor, type Assessor } from './assessor.js';
import type { AssessorThreadData, AssessorThreadRequest } from './threaded-assessor.js';

const port = parentPort!;
const { dir, providers, batch, intraOpNumThreads } = workerData as AssessorThreadData;
metrics.forwardTo((metric) => port.postMessage({ metric }));

let inFlight = 0;
let closing = false;

function exitWhenIdle(): void {
  if (closing && inFlight === 0) process.exit(0); // in a worker thread: ends this thread only
}

async function answer(assessor: Assessor, request: AssessorThreadRequest): Promise<void> {
  if ('close' in request) {
    closing = true;
    return exitWhenIdle();
  }
  inFlight++;
  try {
    if ('warmUp' in request) {
      await assessor.warmUp();
      port.postMessage({ id: request.id, done: true });
      return;
    }
    const times: StageTimes = {};
    const assessed = await assessor.assess(request.samples, request.words as ReferenceWord[], { times });
    port.postMessage({ id: request.id, assessed, times });
  } catch (e) {
    port.postMessage({ id: request.id, error: errorToWire(e) });
  } finally {
    inFlight--;
    exitWhenIdle();
  }
}

loadAssessor(dir, { providers, batch, intraOpNumThreads }).then(
  (assessor) => {
    const { modelName, modelVersion, executionProvider, bundle } = assessor;
    port.on('message', (request: AssessorThreadRequest) => void answer(assessor, request));
    port.postMessage({ ready: { modelName, modelVersion, executionProvider, bundle } });
  },
  (e: unknown) => port.postMessage({ failed: errorToWire(e) }),
);
