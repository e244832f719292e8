// Finding and parsing a workload script: a bundled name (`default`, `cat`, ...) or a file path.
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { basename, join } from 'node:path';
import { FIXTURES } from '../paths.js';
import { parseWorkload } from '../kernel/workload/parser.js';
import { WorkloadError } from '../kernel/workload/error.js';
import type { Script } from '../kernel/workload/ast.js';
import { CliError } from './errors.js';

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
  throw new CliError(`workload '${spec}' not found: not a file, and not a bundled workload (${names.join(', ')})`);
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
    throw new CliError(`${path}: ${(err.code && ERRNO_TEXT[err.code]) ?? err.message}`);
  };
  let fd: number;
  // `-` is standard input itself (a pipe, a file, a socket: /dev/stdin cannot be opened on a socket).
  if (path === '-') fd = 0;
  else try { fd = openSync(path, 'r'); } catch (e) { return fail(e); }
  try {
    let st;
    try { st = fstatSync(fd); } catch (e) { return fail(e); }
    if (st.isDirectory()) throw new CliError(`${path}: Is a directory`);
    const tooLarge = () => new CliError(`${path}: not a workload script: larger than ${max / 1024} KiB`);
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

export function loadWorkload(spec: string): Script {
  const { path, display } = resolveWorkload(spec);
  let source: string;
  try { source = readBounded(path, MAX_WORKLOAD_BYTES); } catch (e) {
    if (spec === '-' && e instanceof CliError) throw new CliError(e.message.replace(/^-:/, '<stdin>:'));
    throw e;
  }
  try {
    return parseWorkload(path === display || spec === '-' ? display : basename(path), source);
  } catch (e) {
    if (e instanceof WorkloadError) throw new CliError(e.format(), 1, { bare: true });
    throw e;
  }
}
