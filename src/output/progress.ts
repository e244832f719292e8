// The progress display of `ktrace run` on a terminal: ora's spinner on one line. It can never block
// or slow the run. ora divides by the terminal's width and takes `columns ?? 80`, so a terminal that
// reports 0 columns (some CI and container terminals) made it write escape codes forever; here ora
// draws through a view of the stream that always has a width it can use, and that writes nothing
// while the real terminal is unknown or narrower than MIN_COLUMNS. A stream that is not a terminal,
// or is too narrow when the run starts, gets no display at all (and ora is not even loaded).
import type { Ora } from 'ora';

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(s: string): boolean;
}

export interface Progress {
  update(text: string): void;
  stop(): void;
}

/** Narrower than this, a progress line is more noise than use. */
export const MIN_COLUMNS = 20;

const NONE: Progress = { update() {}, stop() {} };

function usableWidth(cols: unknown): cols is number {
  return typeof cols === 'number' && Number.isFinite(cols) && cols >= MIN_COLUMNS;
}

/** The spinner on `stream`, or a display that does nothing when it is not a usable terminal. */
export async function startProgress(stream: ProgressStream, text: string, opts: { intervalMs?: number } = {}): Promise<Progress> {
  if (stream.isTTY !== true || !usableWidth(stream.columns)) return NONE;
  const { default: ora } = await import('ora');
  const oneLine = (t: string) => t.replace(/[\r\n\x1b]/g, ' ');
  const fit = (t: string) => {
    const cols = usableWidth(stream.columns) ? stream.columns : MIN_COLUMNS;
    // the spinner's frame and a space stand before the text; keep the line short of the last column
    return t.length > cols - 3 ? t.slice(0, cols - 3) : t;
  };
  const write = (s: string) => (usableWidth(stream.columns) ? stream.write(s) : true);
  const view = {
    isTTY: true,
    get columns() { return usableWidth(stream.columns) ? stream.columns : MIN_COLUMNS; },
    write,
    cursorTo: (x: number) => write(`\x1b[${x + 1}G`),
    moveCursor: (dx: number, dy: number) =>
      write((dx < 0 ? `\x1b[${-dx}D` : dx > 0 ? `\x1b[${dx}C` : '') + (dy < 0 ? `\x1b[${-dy}A` : dy > 0 ? `\x1b[${dy}B` : '')),
    clearLine: (dir: number) => write(dir < 0 ? '\x1b[1K' : dir > 0 ? '\x1b[K' : '\x1b[2K'),
    once() { return view; },
    on() { return view; },
    removeListener() { return view; },
  };
  const spinner: Ora = ora({
    text: fit(oneLine(text)),
    stream: view as unknown as NodeJS.WritableStream,
    isEnabled: true,
    discardStdin: false,
    hideCursor: false,
    interval: opts.intervalMs ?? 80,
  }).start();
  let stopped = false;
  return {
    update(t: string) {
      if (!stopped) spinner.text = fit(oneLine(t));
    },
    stop() {
      if (stopped) return;
      stopped = true;
      spinner.stop();
    },
  };
}
