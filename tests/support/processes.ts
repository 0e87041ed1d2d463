/**
 * The real entry points (`npm start` = src/main.ts, `npm run worker` = src/worker-main.ts) as child
 * processes, for the fault tests: start, wait for their ready line, signal, kill, collect the exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface ChildRun {
  child: ChildProcess;
  pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal) and the signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first match of `re` on stdout; rejects if the process exits first. */
  waitFor(re: RegExp): Promise<RegExpExecArray>;
}

export function runEntry(entry: 'src/main.ts' | 'src/worker-main.ts', env: Record<string, string | undefined>): ChildRun {
  // As a user's `npm start` runs: without the NODE_ENV=test Jest sets (libraries change behaviour on it).
  const { NODE_ENV: _jest, ...inherited } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    env: { ...inherited, SPEECHMARK_EXECUTION_PROVIDERS: 'cpu', NODE_OPTIONS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  child.stdout!.on('data', (c) => {
    out += c;
    for (const l of listeners) l();
  });
  child.stderr!.on('data', (c) => (err += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    pid: child.pid!,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(re) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = re.exec(out);
          if (m) {
            listeners.delete(check);
            resolve(m);
          }
        };
        listeners.add(check);
        check();
        void exited.then(({ code, signal }) => {
          if (listeners.delete(check)) reject(new Error(`${entry} exited (${code ?? signal}) before ${re}:\n${out}\n${err}`));
        });
      });
    },
  };
}
