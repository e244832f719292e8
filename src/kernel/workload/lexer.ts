// Tokens of the workload language. Statements end at a newline or `;`; `#` starts a comment.
import type { Pos } from './ast.js';
import { WorkloadError } from './error.js';

export type TokKind = 'name' | 'int' | 'string' | 'op' | 'punct' | 'eol' | 'eof';

export interface Token {
  kind: TokKind;
  text: string;
  /** integer value (kind int) */
  value?: number;
  /** decoded bytes (kind string) */
  bytes?: Uint8Array;
  pos: Pos;
}

const OPS = ['==', '!=', '<=', '>=', '<', '>'];

export function tokenize(file: string, source: string): Token[] {
  const toks: Token[] = [];
  // A UTF-8 byte order mark (an editor's) is not part of the script; columns count after it.
  let i = source.charCodeAt(0) === 0xfeff ? 1 : 0, line = 1, lineStart = i;
  const pos = (start: number, len: number): Pos => ({ line, col: start - lineStart + 1, len: Math.max(1, len) });
  const fail = (start: number, len: number, reason: string): never => {
    throw new WorkloadError(file, source, pos(start, len), reason);
  };
  while (i < source.length) {
    const c = source[i];
    if (c === '\n') {
      toks.push({ kind: 'eol', text: '\n', pos: pos(i, 1) });
      i++; line++; lineStart = i;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') { i++; continue; }
    if (c === '#') { while (i < source.length && source[i] !== '\n') i++; continue; }
    if (c === ';') { toks.push({ kind: 'eol', text: ';', pos: pos(i, 1) }); i++; continue; }
    if ('{}[]=|'.includes(c) && !(c === '=' && source[i + 1] === '=')) {
      toks.push({ kind: 'punct', text: c, pos: pos(i, 1) }); i++; continue;
    }
    const op = OPS.find((o) => source.startsWith(o, i));
    if (op) { toks.push({ kind: 'op', text: op, pos: pos(i, op.length) }); i += op.length; continue; }
    if (/[0-9]/.test(c) || (c === '-' && /[0-9A-Z]/.test(source[i + 1] ?? ''))) {
      const start = i;
      if (c === '-' && /[A-Z]/.test(source[i + 1])) {
        // -ENOENT style errno literal: lexed as a name with a leading minus, resolved by the parser
        i++;
        while (i < source.length && /[A-Za-z0-9_]/.test(source[i])) i++;
        toks.push({ kind: 'name', text: source.slice(start, i), pos: pos(start, i - start) });
        continue;
      }
      i++;
      while (i < source.length && /[0-9a-fA-Fx_]/.test(source[i])) i++;
      const text = source.slice(start, i);
      const clean = text.replace(/_/g, '');
      const neg = clean.startsWith('-');
      const body = neg ? clean.slice(1) : clean;
      let value: number;
      if (/^0x[0-9a-fA-F]+$/.test(body)) value = parseInt(body.slice(2), 16);
      // A leading 0 is octal, as in C and the shell's modes (0644); 0 alone is zero.
      else if (/^0[0-9]+$/.test(body)) {
        if (!/^0[0-7]+$/.test(body)) return fail(start, text.length, `bad octal number '${text}' (a leading 0 means octal: digits 0-7)`);
        value = parseInt(body.slice(1), 8);
      } else if (/^[0-9]+$/.test(body)) value = parseInt(body, 10);
      else return fail(start, text.length, `bad number '${text}'`);
      if (!Number.isSafeInteger(value)) return fail(start, text.length, `number '${text}' is too large`);
      toks.push({ kind: 'int', text, value: neg ? -value : value, pos: pos(start, text.length) });
      continue;
    }
    if (/[A-Za-z_$]/.test(c)) {
      const start = i;
      while (i < source.length && /[A-Za-z0-9_$]/.test(source[i])) i++;
      toks.push({ kind: 'name', text: source.slice(start, i), pos: pos(start, i - start) });
      continue;
    }
    if (c === '"') {
      const start = i;
      const bytes: number[] = [];
      i++;
      for (;;) {
        if (i >= source.length || source[i] === '\n') return fail(start, i - start, 'unterminated string');
        const ch = source[i];
        if (ch === '"') { i++; break; }
        if (ch === '\\') {
          const e = source[i + 1];
          const simple: Record<string, number> = { n: 10, t: 9, r: 13, '0': 0, '\\': 92, '"': 34 };
          if (e in simple) { bytes.push(simple[e]); i += 2; continue; }
          if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(source.slice(i + 2, i + 4))) {
            bytes.push(parseInt(source.slice(i + 2, i + 4), 16)); i += 4; continue;
          }
          return fail(i, 2, `unknown escape '\\${e ?? ''}'`);
        }
        const code = ch.codePointAt(0)!;
        if (code < 0x80) { bytes.push(code); i++; continue; }
        const enc = new TextEncoder().encode(String.fromCodePoint(code));
        bytes.push(...enc);
        i += code > 0xffff ? 2 : 1;
      }
      toks.push({ kind: 'string', text: source.slice(start, i), bytes: Uint8Array.from(bytes), pos: pos(start, i - start) });
      continue;
    }
    const cp = String.fromCodePoint(source.codePointAt(i)!);
    fail(i, cp.length, `unexpected character '${cp}'`);
  }
  toks.push({ kind: 'eol', text: '', pos: pos(i, 1) });
  toks.push({ kind: 'eof', text: '', pos: pos(i, 1) });
  return toks;
}
