// Writing command output: data to stdout; a closed pipe (`ktrace ... | head`) ends quietly.
// A command that streams (ktrace run) can take the closed pipe itself (onStdoutClosed: it stops
// and finishes its work without output) and wait for a slow reader (drained) so that what it has
// not written yet never piles up in memory.
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { hasRawBytes, textBytes } from '../base/text.js';

let guarded = false;
let closed = false;
/** Whether out() writes through process.stdout: unless the executable asked for direct writes (directStdout)
 *  and nothing has asked for process.stdout since (a test capturing its write, a streaming run). */
let streaming = true;
let closedHandler: (() => void) | undefined;
const waiters: (() => void)[] = [];

export function guardPipe(): void {
  if (guarded) return;
  guarded = true;
  streaming = true;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    readerGone();
  });
}

function readerGone(): void {
  if (closed) return;
  closed = true;
  for (const w of waiters.splice(0)) w();
  if (closedHandler) closedHandler();
  else process.exit(0);
}

/**
 * The executable's (src/cli/main.ts) promise that fd 1 is its stdout: out() then writes to it directly
 * until something asks for process.stdout (which from then on takes all output, in order).
 */
export function directStdout(): void {
  const d = Object.getOwnPropertyDescriptor(process, 'stdout');
  if (!d?.get || !d.configurable) return;
  const get = d.get;
  streaming = false;
  Object.defineProperty(process, 'stdout', { configurable: true, enumerable: d.enumerable ?? true, get: () => { streaming = true; return get.call(process); } });
}

/**
 * stderr whose reader went away (a killed parent, `2>&1 | head`): what ktrace would say there is
 * dropped, as there is no one left to tell. Without this, the failed write is an uncaught error
 * whose report is written to the same stderr, fails again, and so on for ever. The guard is put on
 * when something first asks for process.stderr: making the stream loads Node's stream modules (~5 ms
 * of a short static query that says nothing there).
 */
export function guardStderr(): void {
  const guard = (s: NodeJS.WriteStream) => { s.on('error', () => { /* nothing more can be said */ }); return s; };
  const d = Object.getOwnPropertyDescriptor(process, 'stderr');
  if (!d?.get || !d.configurable) { guard(process.stderr); return; }
  const get = d.get;
  let stream: NodeJS.WriteStream | undefined;
  Object.defineProperty(process, 'stderr', { configurable: true, enumerable: d.enumerable ?? true, get: () => (stream ??= guard(get.call(process))) });
}

/** Instead of exiting when the reader goes away, call `f` (and drop all further output). */
export function onStdoutClosed(f: () => void): void {
  guardPipe();
  closedHandler = f;
}

/** Text to stdout as UTF-8, with the guest's bytes that are not UTF-8 (src/base/text.ts) written as themselves. */
export function out(text: string): void {
  if (closed) return;
  const b = hasRawBytes(text) ? textBytes(text) : text;
  if (!streaming) direct(typeof b === 'string' ? Buffer.from(b, 'utf8') : b);
  else { guardPipe(); process.stdout.write(b); }
}

export function outBytes(b: Uint8Array): void {
  if (closed) return;
  if (!streaming) direct(b);
  else { guardPipe(); process.stdout.write(b); }
}

/**
 * Writes to fd 1 itself while no one here has used process.stdout: a static query's output then
 * costs no stream (making process.stdout loads Node's stream modules, ~5 ms of a short query). The
 * order of output is kept: process.stdout writes files, pipes and terminals synchronously on Linux.
 * A reader gone (EPIPE) ends as guardPipe's handler does; a non-blocking fd 1 that is full (EAGAIN)
 * hands the rest to process.stdout, which waits for the reader.
 */
function direct(b: Uint8Array): void {
  let off = 0;
  try {
    while (off < b.length) off += writeSync(1, b, off, b.length - off);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EPIPE') { readerGone(); return; }
    if (code !== 'EAGAIN') throw e;
    guardPipe();
    process.stdout.write(b.subarray(off));
  }
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
