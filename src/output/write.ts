// Writing command output: data to stdout; a closed pipe (`ktrace ... | head`) ends quietly.
// A command that streams (ktrace run) can take the closed pipe itself (onStdoutClosed: it stops
// and finishes its work without output) and wait for a slow reader (drained) so that what it has
// not written yet never piles up in memory.
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { hasRawBytes, textBytes } from '../base/text.js';

let guarded = false;
let closed = false;
let closedHandler: (() => void) | undefined;
const waiters: (() => void)[] = [];

export function guardPipe(): void {
  if (guarded) return;
  guarded = true;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    if (closed) return;
    closed = true;
    for (const w of waiters.splice(0)) w();
    if (closedHandler) closedHandler();
    else process.exit(0);
  });
}

/**
 * stderr whose reader went away (a killed parent, `2>&1 | head`): what ktrace would say there is
 * dropped, as there is no one left to tell. Without this, the failed write is an uncaught error
 * whose report is written to the same stderr, fails again, and so on for ever.
 */
export function guardStderr(): void {
  process.stderr.on('error', () => { /* nothing more can be said */ });
}

/** Instead of exiting when the reader goes away, call `f` (and drop all further output). */
export function onStdoutClosed(f: () => void): void {
  guardPipe();
  closedHandler = f;
}

/** Text to stdout as UTF-8, with the guest's bytes that are not UTF-8 (src/base/text.ts) written as themselves. */
export function out(text: string): void {
  guardPipe();
  if (closed) return;
  process.stdout.write(hasRawBytes(text) ? textBytes(text) : text);
}

export function outBytes(b: Uint8Array): void {
  guardPipe();
  if (closed) return;
  process.stdout.write(b);
}

/** Bytes written but not yet taken by the reader above which `drained` waits. */
export const HIGH_WATER = 1 << 20;

/**
 * Resolves when stdout has room again (its queue below HIGH_WATER), the reader went away, or
 * `cancel` resolves (say, on Ctrl-C); at once when there is room.
 */
export function drained(cancel?: Promise<void>): Promise<void> | undefined {
  if (closed || process.stdout.writableLength < HIGH_WATER) return undefined;
  return new Promise<void>((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      process.stdout.off('drain', finish);
      const i = waiters.indexOf(finish);
      if (i >= 0) waiters.splice(i, 1);
      resolve();
    };
    waiters.push(finish);
    process.stdout.on('drain', finish);
    cancel?.then(finish);
  });
}

/** A system error as the C library words it ("No such file or directory"), without Node's "ENOENT: ..., open 'PATH'". */
export function sysMessage(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  const known: Record<string, string> = {
    ENOENT: 'No such file or directory', EACCES: 'Permission denied', EPERM: 'Operation not permitted', ENOSPC: 'No space left on device',
    EISDIR: 'Is a directory', ENOTDIR: 'Not a directory', EROFS: 'Read-only file system', EDQUOT: 'Disk quota exceeded', EIO: 'Input/output error',
    EBADF: 'Bad file descriptor', EFBIG: 'File too large', EMFILE: 'Too many open files', ENAMETOOLONG: 'File name too long',
  };
  return (code && known[code]) ?? (e as Error)?.message ?? String(e);
}

/**
 * A file written whole or not at all (run --output): the chunks go to a temporary file beside it,
 * synchronously (nothing is queued in memory or lost at exit), which replaces FILE on commit(). On a
 * failure the temporary file is removed and FILE stays as it was; `error` makes the thrown error.
 */
export class AtomicFile {
  private fd: number;
  private readonly tmp: string;
  constructor(readonly path: string, private readonly error: (message: string) => Error) {
    this.tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
    try { this.fd = openSync(this.tmp, 'w', 0o644); } catch (e) { throw error(sysMessage(e)); }
  }
  write(b: Uint8Array | string): void {
    const buf = typeof b === 'string' ? textBytes(b) : b;
    if (this.fd < 0) throw this.error('written after it was closed (nothing written)');
    try { for (let off = 0; off < buf.length;) off += writeSync(this.fd, buf, off, buf.length - off); } catch (e) { this.abort(); throw this.error(`${sysMessage(e)} (nothing written)`); }
  }
  commit(): void {
    try {
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.fd = -1;
      renameSync(this.tmp, this.path);
    } catch (e) { this.abort(); throw this.error(`${sysMessage(e)} (nothing written)`); }
  }
  /** Removes the temporary file: FILE stays as it was. */
  abort(): void {
    if (this.fd >= 0) { try { closeSync(this.fd); } catch { /* already closed */ } this.fd = -1; }
    try { unlinkSync(this.tmp); } catch { /* already gone */ }
  }
}
