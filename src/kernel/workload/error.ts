// Script errors carry file:line:col and render with the source line and a caret under the culprit,
// as compilers do: the user sees what is wrong before the kernel boots.
import type { Pos } from './ast.js';
import { visibleColumns, visibleMessage } from '../../visible.js';

/** Columns of the source line shown under an error. */
const WINDOW = 100;

export class WorkloadError extends Error {
  readonly reason: string;
  constructor(readonly file: string, readonly source: string, readonly pos: Pos, reason: string) {
    // One visible line, whatever the input held.
    reason = visibleMessage(reason, 400);
    super(`${file}:${pos.line}:${pos.col}: ${reason}`);
    this.reason = reason;
    this.name = 'WorkloadError';
  }

  /**
   * `file:line:col: reason`, the source line, and a caret line. A long line is cut to a window of
   * WINDOW columns around the culprit, `...` marking what was left out.
   */
  format(): string {
    let text = (this.source.split('\n')[this.pos.line - 1] ?? '');
    text = visibleColumns(text);
    let col = Math.max(0, this.pos.col - 1);
    let len = Math.max(1, Math.min(this.pos.len, WINDOW / 2));
    if (text.length > WINDOW) {
      const from = Math.max(0, Math.min(col - WINDOW / 4, text.length - WINDOW));
      const head = from > 0 ? '...' : '', tail = from + WINDOW < text.length ? '...' : '';
      text = head + text.slice(from, from + WINDOW) + tail;
      col = col - from + head.length;
      len = Math.min(len, WINDOW - (col - head.length));
    }
    const caret = ' '.repeat(col) + '^' + '~'.repeat(Math.max(0, len - 1));
    return `${this.message}\n  ${text}\n  ${caret}`;
  }
}
