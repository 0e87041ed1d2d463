/**
 * One process per PGlite data folder. PGlite has no postmaster to refuse a second process: two
 * servers on one folder both start, each sees only its own writes, and the folder is left
 * unreadable ("Aborted()"). A lock file holding the owner's pid and host makes the second start
 * refuse with a clear message; a lock left by a process that is gone (SIGKILL, power loss) is
 * taken over.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';

interface LockOwner {
  pid: number;
  host: string;
  startedAt: string;
}

export class FolderInUseError extends Error {
  constructor(folder: string, owner: LockOwner) {
    super(
      `The data folder ${folder} is in use by process ${owner.pid} on ${owner.host} (started ${owner.startedAt}). ` +
        'PGlite allows one process per folder: stop that process, run the worker in-process, or use a PostgreSQL server (DATABASE_URL).',
    );
    this.name = 'FolderInUseError';
  }
}

function readOwner(lockPath: string): LockOwner | null {
  try {
    const owner = JSON.parse(readFileSync(lockPath, 'utf8')) as LockOwner;
    return Number.isInteger(owner.pid) && typeof owner.host === 'string' ? owner : null;
  } catch {
    return null; // unreadable or half-written: treated as stale
  }
}

/** True when `pid` names a live process on this host (EPERM: alive, owned by someone else). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Folders this process holds: a second open from the same process is refused too. */
const heldHere = new Set<string>();

function isHeldByOther(owner: LockOwner | null, lockPath: string): owner is LockOwner {
  if (!owner) return false;
  // Another host's pid cannot be checked from here: a folder shared over a network stays locked.
  if (owner.host !== os.hostname()) return true;
  // Our own pid on a lock we did not take is a previous life's (pid 1 in a restarted container).
  if (owner.pid === process.pid) return heldHere.has(lockPath);
  return isAlive(owner.pid);
}

/** Take the lock on `folder` (the file `lockPath`) or throw FolderInUseError; returns the release. */
export function lockFolder(folder: string, lockPath: string): () => void {
  const me: LockOwner = { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockPath, JSON.stringify(me), { flag: 'wx' });
      heldHere.add(lockPath);
      return () => {
        heldHere.delete(lockPath);
        const owner = readOwner(lockPath);
        if (owner?.pid === me.pid && owner.host === me.host) rmSync(lockPath, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = readOwner(lockPath);
    if (isHeldByOther(owner, lockPath)) throw new FolderInUseError(folder, owner);
    rmSync(lockPath, { force: true }); // stale: its process is gone
  }
  throw new Error(`Could not take the lock ${lockPath}: another process is starting on ${folder} at the same moment.`);
}
