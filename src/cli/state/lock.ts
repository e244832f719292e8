// A lock file for the state directory: created with O_EXCL (atomic on local file systems), holding
// the owner's pid. A waiter retries with a short sleep; a lock whose pid no longer exists (a killed
// writer) is stale and is taken over. Writers hold it only around read-modify-write of the state.
import { closeSync, linkSync, openSync, readFileSync, unlinkSync, writeSync, renameSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'lock';

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleep(ms: number): void { Atomics.wait(sleeper, 0, 0, ms); }

export class LockTimeout extends Error {}

/**
 * Runs `fn` holding DIR/lock. Gives up after `timeoutMs` with LockTimeout (the message names the
 * holder's pid). The lock is released even when `fn` throws.
 */
export function withLock<T>(dir: string, fn: () => T, timeoutMs = 30_000): T {
  const path = join(dir, LOCK_FILE);
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  for (;;) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      try { writeSync(fd, String(process.pid)); } finally { closeSync(fd); }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let holder = NaN;
    try { holder = Number(readFileSync(path, 'utf8')); } catch { continue; /* released meanwhile */ }
    // An empty file is a holder between open and write: not stale yet.
    if (!Number.isNaN(holder) && holder !== 0 && !alive(holder)) {
      // Take a stale lock over by renaming it away first, so two waiters cannot both delete a fresh one.
      const aside = `${path}.stale.${process.pid}`;
      try {
        renameSync(path, aside);
        const now = Number(readFileSync(aside, 'utf8'));
        // Raced with a new holder that took the lock after we read the stale pid: put its lock back
        // (link fails if yet another process has created one meanwhile; that one then wins).
        if (now !== holder) { try { linkSync(aside, path); } catch { /* see above */ } }
        unlinkSync(aside);
      } catch { /* someone else took it over */ }
      continue;
    }
    if (Date.now() > deadline) throw new LockTimeout(`state directory ${dir} is locked by process ${holder || '?'}`);
    sleep(delay);
    delay = Math.min(delay * 2, 20);
  }
  try {
    return fn();
  } finally {
    try { unlinkSync(path); } catch { /* already gone */ }
  }
}
