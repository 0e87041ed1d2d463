import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A real `npm start` server in a child process (its own memory), on a fresh temporary data dir. */
export interface ChildServer {
  url: string;
  adminKey: string;
  pid: number;
  /** Peak resident memory of the server process since start or the last resetPeak (VmHWM), in MiB. */
  peakRssMiB(): number;
  /** Resident memory now (VmRSS), in MiB. */
  rssMiB(): number;
  resetPeak(): void;
  stop(): Promise<void>;
}

export async function startChildServer(env: Record<string, string> = {}): Promise<ChildServer> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'speechmark-bench-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, PORT: String(port), SPEECHMARK_DATA_DIR: dataDir, SPEECHMARK_EXECUTION_PROVIDERS: 'cpu', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const { url, adminKey } = await new Promise<{ url: string; adminKey: string }>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk) => {
      out += chunk;
      const url = /GraphQL API: (\S+)/.exec(out)?.[1];
      const key = /\n\s+(sm_\S+)/.exec(out)?.[1];
      if (url && key) resolve({ url, adminKey: key });
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
  let stopping = false;
  // A server that dies under the bench says so (its requests would only fail with ECONNREFUSED).
  child.once('exit', (code, signal) => {
    if (!stopping) console.error(`bench server ${child.pid} exited unexpectedly (code ${code}, signal ${signal})`);
  });
  const status = () => readFileSync(`/proc/${child.pid}/status`, 'utf8');
  return {
    url,
    adminKey,
    pid: child.pid!,
    peakRssMiB: () => Number(/VmHWM:\s+(\d+) kB/.exec(status())![1]) / 1024,
    rssMiB: () => Number(/VmRSS:\s+(\d+) kB/.exec(status())![1]) / 1024,
    // Writing 5 to clear_refs resets the high-water mark (Linux), so a phase can be measured alone.
    resetPeak: () => writeFileSync(`/proc/${child.pid}/clear_refs`, '5'),
    async stop() {
      stopping = true;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
