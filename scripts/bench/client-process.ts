/**
 * A GraphQL-over-HTTP client in its own process, for benchmarks that measure a server: a client in
 * the server's own process (fetch/undici) would spend that process's event loop and CPU on the
 * client's side of every request and charge it to the server. One keep-alive connection, as an
 * integration's HTTP client holds; requests one at a time; each timed from the first byte written
 * to the last byte read.
 *
 * Protocol on stdin/stdout: one JSON line per request `{query, variables}`, answered by one JSON
 * line `{ms, body}`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface TimedResponse {
  ms: number;
  body: { data?: any; errors?: unknown[] };
}

/** The parent's side: starts the child and sends it requests one at a time. */
export class ClientProcess {
  private readonly child: ChildProcess;
  private readonly lines: AsyncIterator<string>;

  constructor(url: string, apiKey: string) {
    this.child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), url], {
      env: { ...process.env, BENCH_API_KEY: apiKey },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.lines = readline.createInterface({ input: this.child.stdout! })[Symbol.asyncIterator]();
  }

  async request(query: string, variables: Record<string, unknown>): Promise<TimedResponse> {
    this.child.stdin!.write(`${JSON.stringify({ query, variables })}\n`);
    const next = await this.lines.next();
    if (next.done) throw new Error('the benchmark client process ended');
    return JSON.parse(next.value) as TimedResponse;
  }

  async close(): Promise<void> {
    this.child.stdin!.end();
    await new Promise((r) => this.child.once('exit', r));
  }
}

function post(agent: http.Agent, url: URL, apiKey: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${apiKey}` },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The child's side. */
async function serve(url: URL, apiKey: string): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for await (const line of readline.createInterface({ input: process.stdin })) {
    const t0 = performance.now();
    const text = await post(agent, url, apiKey, line);
    const ms = performance.now() - t0;
    process.stdout.write(`${JSON.stringify({ ms, body: JSON.parse(text) })}\n`);
  }
  agent.destroy();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await serve(new URL(process.argv[2]!), process.env.BENCH_API_KEY!);
}
