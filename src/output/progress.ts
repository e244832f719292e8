// A one-line progress display on a terminal (the spinner of `ktrace run`). It can never block or
// slow the run: it draws at most every `intervalMs` when the caller updates it (no timer of its
// own), one short write each time, the text cut to the terminal's width. A terminal whose width is
// unknown or too narrow (0 columns: some CI and container terminals) gets no display at all.

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(s: string): boolean;
}

export interface Progress {
  update(text: string): void;
  stop(): void;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
/** Narrower than this, a progress line is more noise than use. */
export const MIN_COLUMNS = 20;

const NONE: Progress = { update() {}, stop() {} };

/** The display on `stream`, or one that does nothing when it is not a usable terminal. */
export function startProgress(stream: ProgressStream, text: string, opts: { intervalMs?: number; now?: () => number } = {}): Progress {
  if (stream.isTTY !== true) return NONE;
  const interval = opts.intervalMs ?? 80;
  const now = opts.now ?? Date.now;
  let frame = 0, last = -Infinity, shown = false, stopped = false;
  const draw = (t: string) => {
    const cols = stream.columns;
    // Unknown, zero or absurd widths: draw nothing (and clear what was drawn before a shrink).
    if (typeof cols !== 'number' || !Number.isFinite(cols) || cols < MIN_COLUMNS) {
      if (shown) { stream.write('\r\x1b[K'); shown = false; }
      return;
    }
    const line = `${FRAMES[frame++ % FRAMES.length]} ${t.replace(/[\r\n\x1b]/g, ' ')}`;
    stream.write('\r' + (line.length > cols - 1 ? line.slice(0, cols - 1) : line) + '\x1b[K');
    shown = true;
  };
  draw(text);
  last = now();
  return {
    update(t: string) {
      if (stopped) return;
      const n = now();
      if (n - last < interval) return;
      last = n;
      draw(t);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      if (shown) stream.write('\r\x1b[K');
    },
  };
}
