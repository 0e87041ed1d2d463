/**
 * Process lifecycle for the two entry points (`npm start`, `npm run worker`): a start-up failure is
 * one line on stderr and exit code 1 (no stack trace); SIGTERM/SIGINT stop the process gracefully
 * within a deadline and exit 0; a stray promise rejection is logged (a JSON line) and survived.
 */
import { log } from './ops/log.js';

/**
 * A failed start: the error's message on one line, exit 1. A configuration error lists every
 * problem, one per line, so all of them are fixed in one round.
 */
export function exitOnStartFailure(name: string) {
  return (e: unknown): never => {
    if (e instanceof Error && e.name === 'ConfigError' && Array.isArray((e as { problems?: unknown }).problems)) {
      const problems = (e as unknown as { problems: string[] }).problems;
      console.error(`${name}: cannot start: invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):`);
      for (const p of problems) console.error(`  - ${p}`);
      process.exit(1);
    }
    const message = e instanceof Error ? e.message : String(e);
    console.error(`${name}: cannot start: ${message.replace(/\s*\n\s*/g, ' ')}`);
    process.exit(1);
  };
}

/**
 * A rejection nobody awaited (a driver's background error, a fire-and-forget write) is logged, not
 * fatal: Node's default would kill the API and every request and job in flight with it. The work
 * it belonged to is retried by its owner (the job queue's leases, the client's retry).
 */
export function logUnhandledRejections(name: string): void {
  process.on('unhandledRejection', (reason) => {
    log.error('unhandled rejection (ignored)', { process: name, err: reason });
  });
}

/**
 * On the first SIGTERM or SIGINT: run `stop` (which stops claiming jobs and finishes or hands back
 * the running ones within `graceMs`), then exit 0. If stopping hangs (a database that does not
 * answer) the process exits 1 after graceMs + `hardMarginMs`; the jobs it still held are
 * re-claimed when their leases expire. A second signal exits at once.
 */
export function stopOnSignals(name: string, stop: () => Promise<void>, graceMs: number, hardMarginMs = 15_000): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      console.error(`${name}: second ${signal}: exiting now`);
      process.exit(1);
    }
    stopping = true;
    console.log(`${name}: ${signal}: no new jobs; finishing running ones (at most ${Math.round(graceMs / 1000)} s), then stopping`);
    const hard = setTimeout(() => {
      console.error(`${name}: did not stop within ${Math.round((graceMs + hardMarginMs) / 1000)} s; exiting (held jobs are re-claimed when their leases expire)`);
      process.exit(1);
    }, graceMs + hardMarginMs);
    stop().then(
      () => {
        clearTimeout(hard);
        console.log(`${name}: stopped`);
        process.exit(0);
      },
      (err: unknown) => {
        clearTimeout(hard);
        console.error(`${name}: error while stopping (held jobs are re-claimed when their leases expire):`, err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** Resolves with `p`, or after `ms` with nothing (closing a pool whose connection is stuck must not hang the exit). */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => resolve(undefined), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
