// Guest bytes as JS text, losslessly. The kernel copies a `:string`'s (and comm's) bytes into its
// ring buffer and `trace`/`trace_pipe` print them as they are (`"%s"`), UTF-8 or not. ktrace keeps
// such bytes in a JS string so that tables, filters and hist keys can treat them as text: valid
// UTF-8 decodes to its characters, and each byte that is not part of a valid UTF-8 sequence becomes
// the lone low surrogate U+DC80+(byte-0x80) (Python's "surrogateescape"; valid UTF-8 never decodes
// to a lone surrogate, so the mapping is one to one). `textBytes` turns such a string back into the
// exact bytes, for stdout, files and the trace buffer. JSON, which cannot hold raw bytes, gets
// `wellFormed` text (U+FFFD for each such byte) plus the exact bytes in base64 (`rawBase64`).

import { isUtf8 as bufferIsUtf8 } from 'node:buffer';

/** A lone low surrogate in U+DC80..U+DCFF: an escaped byte (the `u` flag keeps surrogate pairs whole). */
const ESCAPED = /[\udc80-\udcff]/u;
const ESCAPED_ALL = /[\udc80-\udcff]/gu;

/** Whether `s` holds bytes that are not UTF-8 (escaped by `bytesText`). */
export function hasRawBytes(s: string): boolean { return ESCAPED.test(s); }

/** Bytes as text: ASCII as is, valid UTF-8 decoded, any other byte escaped as U+DC80+(byte-0x80). */
export function bytesText(bytes: ArrayLike<number>): string {
  const n = bytes.length;
  let i = 0;
  while (i < n && bytes[i]! < 0x80) i++;
  if (i === n) return String.fromCharCode.apply(null, Array.from(bytes));
  let out = '';
  let start = 0;
  const flushAscii = (end: number) => { for (let k = start; k < end; k++) out += String.fromCharCode(bytes[k]!); };
  while (i < n) {
    const b = bytes[i]!;
    if (b < 0x80) { i++; continue; }
    flushAscii(i);
    const len = sequenceLength(bytes, i);
    if (len === 0) { out += String.fromCharCode(0xdc00 + b); i++; }
    else {
      let cp = len === 2 ? b & 0x1f : len === 3 ? b & 0x0f : b & 0x07;
      for (let k = 1; k < len; k++) cp = (cp << 6) | (bytes[i + k]! & 0x3f);
      out += String.fromCodePoint(cp);
      i += len;
    }
    start = i;
  }
  flushAscii(n);
  return out;
}

/** The length of the valid UTF-8 sequence at `i` (Unicode's table 3-7: no overlongs, surrogates or > U+10FFFF), 0 if none. */
function sequenceLength(s: ArrayLike<number>, i: number): number {
  const b = s[i]!;
  const c = (k: number, lo = 0x80, hi = 0xbf) => i + k < s.length && s[i + k]! >= lo && s[i + k]! <= hi;
  if (b >= 0xc2 && b <= 0xdf) return c(1) ? 2 : 0;
  if (b === 0xe0) return c(1, 0xa0) && c(2) ? 3 : 0;
  if ((b >= 0xe1 && b <= 0xec) || b === 0xee || b === 0xef) return c(1) && c(2) ? 3 : 0;
  if (b === 0xed) return c(1, 0x80, 0x9f) && c(2) ? 3 : 0;
  if (b === 0xf0) return c(1, 0x90) && c(2) && c(3) ? 4 : 0;
  if (b >= 0xf1 && b <= 0xf3) return c(1) && c(2) && c(3) ? 4 : 0;
  if (b === 0xf4) return c(1, 0x80, 0x8f) && c(2) && c(3) ? 4 : 0;
  return 0;
}

/** The exact bytes of a text from `bytesText` (UTF-8, with each escaped byte written as itself). */
export function textBytes(s: string): Buffer {
  if (!ESCAPED.test(s)) return Buffer.from(s, 'utf8');
  const parts: Buffer[] = [];
  let last = 0;
  for (const m of s.matchAll(ESCAPED_ALL)) {
    parts.push(Buffer.from(s.slice(last, m.index), 'utf8'), Buffer.of(m[0].charCodeAt(0) - 0xdc00));
    last = m.index! + 1;
  }
  parts.push(Buffer.from(s.slice(last), 'utf8'));
  return Buffer.concat(parts);
}

/** `bytesText` of a byte range (`Buffer.toString('utf8')` when it is valid UTF-8, as it nearly always is). */
export function decodeText(b: Buffer, start = 0, end = b.length): string {
  const v = b.subarray(start, end);
  return isUtf8(v) ? v.toString('utf8') : bytesText(v);
}

function isUtf8(v: Buffer): boolean {
  for (let i = 0; i < v.length; i++) if (v[i]! >= 0x80) return bufferIsUtf8(v);
  return true;
}

/** The text with each escaped byte shown as U+FFFD: what JSON carries (its strings hold Unicode, never raw bytes). */
export function wellFormed(s: string): string { return ESCAPED.test(s) ? s.replace(ESCAPED_ALL, '\ufffd') : s; }

/** The exact bytes of a text holding escaped bytes, in base64 (undefined when it is plain UTF-8). */
export function rawBase64(s: string): string | undefined { return ESCAPED.test(s) ? textBytes(s).toString('base64') : undefined; }

/** A JSON.stringify replacer: every string as `wellFormed` text. */
export function wellFormedJson(_k: string, v: unknown): unknown { return typeof v === 'string' ? wellFormed(v) : v; }
