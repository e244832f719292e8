// Finding and parsing a workload script: a bundled name (`default`, `cat`, ...) or a file path, read with
// a bound. Its failures are one-line WorkloadFileErrors (a file that cannot be found or read) and the
// parser's WorkloadErrors (a script with a mistake, with its caret lines); src/cli/workload.ts gives both
// the CLI's form, and src/lib/kernel.ts the library's.
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { basename, join } from 'node:path';
import { FIXTURES } from '../../paths.js';
import { parseWorkload } from './parser.js';
import type { Script } from './ast.js';

/** A workload file that cannot be found or read: one line (`<file>: Is a directory`). */
export class WorkloadFileError extends Error {
  override name = 'WorkloadFileError';
}

export const WORKLOAD_DIR = join(FIXTURES, 'workloads');
export const WORKLOAD_EXT = '.wl';

export function bundledWorkloads(): string[] {
  try {
    return readdirSync(WORKLOAD_DIR).filter((f) => f.endsWith(WORKLOAD_EXT)).map((f) => f.slice(0, -WORKLOAD_EXT.length)).sort();
  } catch {
    return [];
  }
}

/** Resolve NAME or PATH to a file; the display name is the bundled name or the path as given. */
export function resolveWorkload(spec: string): { path: string; display: string } {
  // `-`: the script on standard input (`gen | ktrace run -`), as a file named <stdin> in messages.
  if (spec === '-') return { path: '-', display: '<stdin>' };
  if (/^[A-Za-z0-9_-]+$/.test(spec) && existsSync(join(WORKLOAD_DIR, spec + WORKLOAD_EXT))) {
    return { path: join(WORKLOAD_DIR, spec + WORKLOAD_EXT), display: spec + WORKLOAD_EXT };
  }
  if (existsSync(spec)) return { path: spec, display: spec };
  const names = bundledWorkloads();
  throw new WorkloadFileError(`workload '${spec}' not found: not a file, and not a bundled workload (${names.join(', ')})`);
}

/** A workload script is text someone wrote: anything larger is not one (`ktrace run /dev/zero`). */
export const MAX_WORKLOAD_BYTES = 1 << 20;

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'No such file or directory', EISDIR: 'Is a directory', EACCES: 'Permission denied',
  ENOTDIR: 'Not a directory', ELOOP: 'Too many levels of symbolic links', EIO: 'Input/output error',
};

/**
 * The file's text, read with a bound: at most `max` bytes, from a regular file, a pipe or FIFO
 * (`ktrace run <(gen)`) or a device alike; more is refused with one line, never read into memory.
 */
export function readBounded(path: string, max: number): string {
  const fail = (e: unknown): never => {
    const err = e as NodeJS.ErrnoException;
    throw new WorkloadFileError(`${path}: ${(err.code && ERRNO_TEXT[err.code]) ?? err.message}`);
  };
  let fd: number;
  // `-` is standard input itself (a pipe, a file, a socket: /dev/stdin cannot be opened on a socket).
  if (path === '-') fd = 0;
  else try { fd = openSync(path, 'r'); } catch (e) { return fail(e); }
  try {
    let st;
    try { st = fstatSync(fd); } catch (e) { return fail(e); }
    if (st.isDirectory()) throw new WorkloadFileError(`${path}: Is a directory`);
    const tooLarge = () => new WorkloadFileError(`${path}: not a workload script: larger than ${max / 1024} KiB`);
    if (st.isFile() && st.size > max) throw tooLarge();
    const buf = Buffer.alloc(Math.min(max + 1, st.isFile() ? st.size + 1 : 64 * 1024));
    let have = 0;
    let out = buf;
    for (;;) {
      if (have === out.length) {
        if (out.length > max) throw tooLarge();
        const bigger = Buffer.alloc(Math.min(max + 1, out.length * 2));
        out.copy(bigger, 0, 0, have);
        out = bigger;
      }
      let n: number;
      try { n = readSync(fd, out, have, out.length - have, null); } catch (e) {
        // A non-blocking descriptor with nothing yet (a terminal or pipe shared with the shell): wait.
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10); continue; }
        return fail(e);
      }
      if (n === 0) break;
      have += n;
    }
    if (have > max) throw tooLarge();
    return out.toString('utf8', 0, have);
  } finally {
    if (fd !== 0) closeSync(fd);
  }
}

/** The parsed script NAME or PATH names: WorkloadFileError when it cannot be read, WorkloadError when it does not parse. */
export function loadWorkload(spec: string): Script {
  const { path, display } = resolveWorkload(spec);
  let source: string;
  try { source = readBounded(path, MAX_WORKLOAD_BYTES); } catch (e) {
    if (spec === '-' && e instanceof WorkloadFileError) throw new WorkloadFileError(e.message.replace(/^-:/, '<stdin>:'));
    throw e;
  }
  return parseWorkload(path === display || spec === '-' ? display : basename(path), source);
}
