// Writing to kprobe_events (kernel/trace/trace.c trace_parse_run_command): the buffer is cut into
// lines, '#' starts a comment, and each line runs in turn; the first failing line stops the write
// (earlier lines stay applied) and its errno is the write's result. A line must fit the kernel's
// WRITE_BUFSIZE page buffer.
import { EINVAL } from '../../base/errno.js';
export const WRITE_BUFSIZE = 4096;

/** One command of a write, comment removed (possibly empty: a no-op). */
export type WriteStep = { ok: true; line: string } | { ok: false; errno: number; reason: string };

/**
 * The commands a write of `text` runs, in order. A line longer than WRITE_BUFSIZE - 2 bytes fails
 * with -EINVAL when reached ("Line length is too long: Should be less than 4094").
 */
export function* writeCommands(text: string): Generator<WriteStep> {
  const lines = text.split('\n');
  // A trailing newline ends the last line rather than starting an empty one.
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  for (const raw of lines) {
    if (Buffer.byteLength(raw) > WRITE_BUFSIZE - 2) {
      yield { ok: false, errno: -EINVAL, reason: `Line length is too long: Should be less than ${WRITE_BUFSIZE - 2}` };
      return;
    }
    const hash = raw.indexOf('#');
    yield { ok: true, line: hash >= 0 ? raw.slice(0, hash) : raw };
  }
}
