// The state directory's lock: DIR/lock, a file naming its owner (pid, the process's start time from
// /proc/PID/stat, the boot id, the host). It appears whole or not at all: the owner writes a private
// temporary file and hard-links it to DIR/lock, which fails if the lock exists (atomic on local file
// systems), so a process killed at any point leaves either no lock or a complete one.
//
// A lock is stale when its owner cannot be running: the pid does not exist, the pid now belongs to
// a process started at another time (reused pid), or the lock was taken before a reboot (another
// boot id). A file that names no owner (from an older ktrace or a damaged disk) is stale once it is
// a second old. Breaking a stale lock happens under DIR/lock.break, so that two waiters cannot both
// break it and then remove a fresh lock taken meanwhile. A lock of a live process, or of another
// host (its process cannot be checked from here), is waited for; the timeout message names the
// owner and the file to remove if that owner is gone.
import { closeSync, fstatSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from '../../base/crypto.js';

export const LOCK_FILE = 'lock';
/** How old a lock file that names no owner must be before it is stale. */
export const GARBAGE_GRACE_MS = 1000;

/** What the lock file holds. */
export interface LockOwner {
  pid: number;
  /** starttime of /proc/PID/stat (clock ticks since boot), when /proc has it. */
  start?: string;
  /** /proc/sys/kernel/random/boot_id, when /proc has it. */
  boot?: string;
  host: string;
  /** The command line, for the message that names the owner. */
  cmd: string;
  /** When the lock was taken (ms since the epoch). */
  since: number;
  /** Makes each acquisition's file content unique. */
  nonce: string;
}

/** A lock that could not be taken: held too long, or the directory refuses files. One-line message. */
export class LockError extends Error {}
/** The lock stayed held by a live (or uncheckable) owner for the whole timeout. */
export class LockTimeout extends LockError {}

function readText(path: string): string | undefined {
  try { return readFileSync(path, 'utf8'); } catch { return undefined; }
}

/** A file's text and modification time, read through one descriptor; undefined if unreadable. */
function readWithMtime(path: string): { text: string; mtimeMs: number } | undefined {
  let fd: number;
  try { fd = openSync(path, 'r'); } catch { return undefined; }
  try {
    return { mtimeMs: fstatSync(fd).mtimeMs, text: readFileSync(fd, 'utf8') };
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** Field 22 of /proc/PID/stat (starttime), or undefined without /proc. */
export function processStart(pid: number): string | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // comm (field 2) is in parentheses and may hold spaces and ')': fields 3.. follow the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return rest[22 - 3];
}

/** When process PID started (ms since the epoch): /proc/stat's btime plus its starttime in USER_HZ (100) ticks. */
function processStartMs(pid: number): number | undefined {
  const ticks = processStart(pid);
  const btime = /^btime (\d+)$/m.exec(readText('/proc/stat') ?? '');
  return ticks === undefined || !btime ? undefined : Number(btime[1]) * 1000 + Number(ticks) * 10;
}

let bootIdCache: string | null | undefined;
function bootId(): string | undefined {
  if (bootIdCache === undefined) bootIdCache = readText('/proc/sys/kernel/random/boot_id')?.trim() || null;
  return bootIdCache ?? undefined;
}

/** Whether process PID exists (EPERM: it exists but belongs to someone else). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function parseOwner(text: string): LockOwner | undefined {
  let o: unknown;
  try { o = JSON.parse(text); } catch { return undefined; }
  if (typeof o !== 'object' || o === null) return undefined;
  const r = o as Record<string, unknown>;
  if (!Number.isSafeInteger(r.pid) || (r.pid as number) <= 0 || typeof r.host !== 'string') return undefined;
  return {
    pid: r.pid as number, host: r.host, cmd: typeof r.cmd === 'string' ? r.cmd : '?',
    since: typeof r.since === 'number' ? r.since : 0, nonce: typeof r.nonce === 'string' ? r.nonce : '',
    ...(typeof r.start === 'string' ? { start: r.start } : {}), ...(typeof r.boot === 'string' ? { boot: r.boot } : {}),
  };
}

/** Why the lock whose file holds `text` (modified at `mtimeMs`) is stale, or undefined when it may be live. */
export function staleReason(text: string, mtimeMs: number, now = Date.now()): string | undefined {
  const legacy = /^\s*([0-9]{1,9})\s*$/.exec(text);
  if (legacy) {
    // An older ktrace's lock: the pid alone. Its owner cannot have started after the lock was written.
    const pid = Number(legacy[1]);
    if (pid === 0 || !alive(pid)) return `process ${pid} is gone`;
    const cmdline = readText(`/proc/${pid}/cmdline`);
    if (cmdline !== undefined && !/node|ktrace/.test(cmdline)) return `pid ${pid} now belongs to another program`;
    const started = processStartMs(pid);
    return started !== undefined && started > mtimeMs + 1000 ? `pid ${pid} now belongs to another process` : undefined;
  }
  const o = parseOwner(text);
  if (!o) return now - mtimeMs >= GARBAGE_GRACE_MS ? 'it names no owner' : undefined;
  if (o.host !== hostname()) return undefined; // cannot check another host's processes
  const boot = bootId();
  if (o.boot && boot && o.boot !== boot) return `process ${o.pid} took it before a reboot`;
  if (!alive(o.pid)) return `process ${o.pid} is gone`;
  const start = o.start !== undefined ? processStart(o.pid) : undefined;
  if (start !== undefined && start !== o.start) return `pid ${o.pid} now belongs to another process`;
  return undefined;
}

function describeOwner(text: string | undefined): string {
  const legacy = text === undefined ? null : /^\s*([0-9]{1,9})\s*$/.exec(text);
  if (legacy) return `process ${legacy[1]}`;
  const o = text === undefined ? undefined : parseOwner(text);
  if (!o) return text === undefined ? 'another process' : 'a lock file that names no owner';
  const since = o.since ? `, since ${new Date(o.since).toISOString().replace('T', ' ').slice(0, 19)} UTC` : '';
  const host = o.host !== hostname() ? ` on host ${o.host}` : '';
  return `process ${o.pid}${host} (${o.cmd}${since})`;
}

const ERRNO_TEXT: Record<string, string> = {
  EACCES: 'permission denied', EPERM: 'operation not permitted', EROFS: 'read-only file system',
  ENOSPC: 'no space left on device', EDQUOT: 'disk quota exceeded', ENOENT: 'no such directory', ENOTDIR: 'not a directory',
};
/** A file-system error as a short text ("permission denied"). */
export function errnoText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  return (code && ERRNO_TEXT[code]) ?? (code || (e as Error)?.message || String(e));
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleep(ms: number): void { Atomics.wait(sleeper, 0, 0, ms); }

let nonceSeq = 0;
function ownerText(): string {
  const start = processStart(process.pid);
  const boot = bootId();
  const o: LockOwner = {
    pid: process.pid, ...(start !== undefined ? { start } : {}), ...(boot ? { boot } : {}), host: hostname(),
    cmd: ['ktrace', ...process.argv.slice(2)].join(' ').slice(0, 80), since: Date.now(),
    nonce: `${randomBytes(6).toString('hex')}.${nonceSeq++}`,
  };
  return JSON.stringify(o) + '\n';
}

/** The temporary files lock takers write before linking (a killed taker may leave one behind). */
export const LOCK_TEMP = /^\.lock\.(\d+)\.[0-9a-f]+\.tmp$/;

/** Writes `text` to a new temporary file of DIR (what a lock taker links into place). */
function prepare(dir: string, text: string): string {
  const tmp = join(dir, `.lock.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    writeFileSync(tmp, text, { mode: 0o644 });
  } catch (e) {
    throw new LockError(`state directory ${dir} is not writable (${errnoText(e)}): cannot take its lock; fix its permissions or use another --state DIR`);
  }
  return tmp;
}

/**
 * Creates `path` holding `text` (already in `tmp`) if it does not exist: true if we made it, false
 * if it exists. Through a hard link of the complete temporary file where the file system has them.
 */
function place(dir: string, tmp: string, path: string, text: string): boolean {
  try {
    linkSync(tmp, path);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') {
      throw new LockError(`state directory ${dir}: cannot take its lock ${path} (${errnoText(e)})`);
    }
  }
  // No hard links here (some FUSE or FAT mounts): O_EXCL create, then write (a kill between the
  // two leaves an empty file, stale after GARBAGE_GRACE_MS).
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o644);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new LockError(`state directory ${dir}: cannot take its lock ${path} (${errnoText(e)})`);
  }
  try { writeSync(fd, text); } finally { closeSync(fd); }
  return true;
}

function createWhole(dir: string, path: string, text: string): boolean {
  const tmp = prepare(dir, text);
  try { return place(dir, tmp, path, text); } finally { try { unlinkSync(tmp); } catch { /* gone */ } }
}

/** Removes `path` if it still holds `text`, under PATH.break (see the file comment). */
function breakStale(dir: string, path: string, text: string): void {
  const brk = `${path}.break`;
  const mine = ownerText();
  if (!createWhole(dir, brk, mine)) {
    // Another waiter is breaking it (for microseconds), unless that waiter was killed meanwhile.
    const seen = readWithMtime(brk);
    if (!seen || staleReason(seen.text, seen.mtimeMs) === undefined) return;
    const other = seen.text;
    // A dead breaker's lock: rename it aside and check that what we moved is what we judged.
    const aside = `${brk}.${process.pid}.${randomBytes(4).toString('hex')}`;
    try {
      renameSync(brk, aside);
      if (readText(aside) !== other) { try { linkSync(aside, brk); } catch { /* a newer one exists */ } }
      unlinkSync(aside);
    } catch { /* someone else did */ }
    return;
  }
  try {
    // Only a breaker holding PATH.break removes a lock that is not its own, and the owner of this
    // one is dead: the file cannot have changed between this read and the unlink.
    if (readText(path) === text) unlinkSync(path);
  } catch { /* already gone */ } finally {
    if (readText(brk) === mine) { try { unlinkSync(brk); } catch { /* gone */ } }
  }
}

/**
 * Runs `fn` holding DIR/lock. Gives up after `timeoutMs` with LockTimeout (the message names the
 * owner and the file to remove if it is gone); an unwritable directory is a LockError at once. The
 * lock is released even when `fn` throws.
 */
export function withLock<T>(dir: string, fn: () => T, timeoutMs = 30_000): T {
  const path = join(dir, LOCK_FILE);
  const mine = ownerText();
  const tmp = prepare(dir, mine);
  // The timeout counts while one owner holds the lock: behind a queue of short holders (many
  // concurrent commands) a waiter keeps waiting, as the others are making progress.
  let owner: string | null = null;
  let deadline = 0;
  let judged = 0;
  let delay = 1;
  try {
    for (;;) {
      if (place(dir, tmp, path, mine)) break;
      const seen = readWithMtime(path);
      const now = Date.now();
      // (Unreadable: released meanwhile, or not ours to read; either way wait and retry.)
      const key = seen ? seen.text : '(unreadable)';
      if (key !== owner) {
        owner = key;
        deadline = now + timeoutMs;
        judged = 0;
      }
      // An owner seen before is judged again every 100 ms (a check reads /proc), a new one at once.
      if (seen && now - judged >= 100) {
        judged = now;
        if (staleReason(seen.text, seen.mtimeMs, now) !== undefined) {
          breakStale(dir, path, seen.text);
          continue;
        }
      }
      if (now > deadline) {
        throw new LockTimeout(`state directory ${dir} is locked by ${describeOwner(seen?.text)}; if no ktrace is running there, remove ${path}`);
      }
      sleep(delay);
      delay = Math.min(delay * 2, 25);
    }
  } finally {
    try { unlinkSync(tmp); } catch { /* gone */ }
  }
  try {
    return fn();
  } finally {
    // Remove the lock only while it is ours.
    if (readText(path) === mine) { try { unlinkSync(path); } catch { /* gone */ } }
  }
}
