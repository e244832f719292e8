// Script errors carry file:line:col and render with the source line and a caret under the culprit,
// as compilers do: the user sees what is wrong before the kernel boots.
import type { Pos } from './ast.js';

/** Characters a terminal would not show as themselves (controls, format characters, lone surrogates). */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/gu;
/** The same, one UTF-16 unit at a time (columns count units): astral characters stay whole. */
const INVISIBLE_UNIT = /[\p{Cc}\p{Cf}\p{Co}\p{Zl}\p{Zp}]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/gu;

/** Text with its invisible characters written as `\xNN` or `U+NNNN`, so an error is one visible line. */
export function visible(s: string): string {
  return s.replace(INVISIBLE, (c) => {
    const n = c.codePointAt(0)!;
    return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `U+${n.toString(16).toUpperCase().padStart(4, '0')}`;
  });
}

/** Columns of the source line shown under an error. */
const WINDOW = 100;

export class WorkloadError extends Error {
  readonly reason: string;
  constructor(readonly file: string, readonly source: string, readonly pos: Pos, reason: string) {
    reason = visible(reason);
    super(`${file}:${pos.line}:${pos.col}: ${reason}`);
    this.reason = reason;
    this.name = 'WorkloadError';
  }

  /**
   * `file:line:col: reason`, the source line, and a caret line. A long line is cut to a window of
   * WINDOW columns around the culprit, `...` marking what was left out.
   */
  format(): string {
    let text = (this.source.split('\n')[this.pos.line - 1] ?? '').replace(INVISIBLE_UNIT, ' ');
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
