/**
 * Starting a worker thread on one of our modules, compiled or from source. Compiled (dist/) the
 * module is plain JavaScript; run from source (tsx, jest) it is TypeScript, which the new thread
 * loads through tsx's loader registered in that thread.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * @param relative the module's path from `from`, without extension (e.g. './vad-thread')
 * @param from the caller's `import.meta.url`
 */
export function startModuleThread(relative: string, from: string, workerData: unknown): Worker {
  const fromSource = from.endsWith('.ts');
  const module = new URL(`${relative}${fromSource ? '.ts' : '.js'}`, from);
  if (!fromSource) return new Worker(module, { workerData });
  // tsx's ESM API by file (`tsx/esm/api` resolves to its CommonJS build here, which cannot load the ESM one).
  const tsxDir = path.dirname(createRequire(import.meta.url).resolve('tsx/package.json'));
  const tsx = pathToFileURL(path.join(tsxDir, 'dist/esm/api/index.mjs')).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => m.tsImport(${JSON.stringify(module.href)}, ${JSON.stringify(from)}))`;
  return new Worker(boot, { eval: true, workerData });
}
