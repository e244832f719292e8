// Script errors carry file:line:col and render with the source line and a caret under the culprit,
// as compilers do: the user sees what is wrong before the kernel boots.
import type { Pos } from './ast.js';

export class WorkloadError extends Error {
  constructor(readonly file: string, readonly source: string, readonly pos: Pos, readonly reason: string) {
    super(`${file}:${pos.line}:${pos.col}: ${reason}`);
    this.name = 'WorkloadError';
  }

  /** `file:line:col: reason`, the source line, and a caret line. */
  format(): string {
    const lineText = this.source.split('\n')[this.pos.line - 1] ?? '';
    const caret = ' '.repeat(Math.max(0, this.pos.col - 1)) + '^' + '~'.repeat(Math.max(0, this.pos.len - 1));
    return `${this.message}\n  ${lineText.replace(/\t/g, ' ')}\n  ${caret}`;
  }
}
