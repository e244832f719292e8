// Writing command output: data to stdout; a closed pipe (`ktrace ... | head`) ends quietly.
// A command that streams (ktrace run) can take the closed pipe itself (onStdoutClosed: it stops
// and finishes its work without output) and wait for a slow reader (drained) so that what it has
// not written yet never piles up in memory.
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

export function out(text: string): void {
  guardPipe();
  if (closed) return;
  process.stdout.write(text);
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
