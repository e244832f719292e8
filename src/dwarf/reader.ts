// A bounds-checked little-endian cursor over one section's bytes. Every read checks the end and throws a
// DwarfError naming the section and offset, so parsers never see undefined bytes or loop past the input.
import { fail, type SectionName } from './error.js';

const TWO32 = 4294967296;

export class Reader {
  pos: number;
  constructor(readonly buf: Uint8Array, readonly section: SectionName, start = 0, public end = buf.length, readonly origin = 0) {
    this.pos = start;
    if (end > buf.length || start > end || start < 0) fail(section, origin + start, `range ${start}..${end} outside section of ${buf.length} bytes`);
  }
  get remaining(): number { return this.end - this.pos; }
  atEnd(): boolean { return this.pos >= this.end; }
  need(n: number): void {
    if (n < 0 || this.pos + n > this.end) fail(this.section, this.origin + this.pos, `truncated: need ${n} bytes, ${this.end - this.pos} left`);
  }
  /** A reader over the next `len` bytes (advances past them). */
  sub(len: number): Reader {
    this.need(len);
    const r = new Reader(this.buf, this.section, this.pos, this.pos + len, this.origin);
    this.pos += len;
    return r;
  }
  skip(n: number): void { this.need(n); this.pos += n; }
  u8(): number { this.need(1); return this.buf[this.pos++]!; }
  i8(): number { const v = this.u8(); return v >= 0x80 ? v - 0x100 : v; }
  u16(): number { this.need(2); const b = this.buf, p = this.pos; this.pos += 2; return b[p]! | (b[p + 1]! << 8); }
  i16(): number { const v = this.u16(); return v >= 0x8000 ? v - 0x10000 : v; }
  u24(): number { this.need(3); const b = this.buf, p = this.pos; this.pos += 3; return b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16); }
  u32(): number {
    this.need(4); const b = this.buf, p = this.pos; this.pos += 4;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 0x1000000;
  }
  i32(): number { const v = this.u32(); return v >= 0x80000000 ? v - TWO32 : v; }
  /** 64-bit value as a number in signed canonical form (exact for addresses and for |v| < 2^53). */
  u64(): number { const lo = this.u32(), hi = this.u32(); return (hi >= 0x80000000 ? hi - TWO32 : hi) * TWO32 + lo; }
  /** 64-bit value as an unsigned BigInt (constants that may not fit a double). */
  u64big(): bigint { const lo = this.u32(), hi = this.u32(); return (BigInt(hi) << 32n) | BigInt(lo); }
  /** An address of `size` bytes (4 or 8), canonical form. */
  address(size: number): number {
    if (size === 8) return this.u64();
    if (size === 4) return this.u32();
    if (size === 2) return this.u16();
    if (size === 1) return this.u8();
    return fail(this.section, this.origin + this.pos, `unsupported address size ${size}`);
  }
  /** An offset in 32-bit (4) or 64-bit (8) DWARF format. */
  offset(size: number): number { return size === 8 ? this.u64() : this.u32(); }
  uleb(): number {
    let result = 0, mul = 1;
    const start = this.pos;
    for (;;) {
      if (this.pos >= this.end) fail(this.section, this.origin + start, 'truncated LEB128');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      mul *= 128;
      if (!(b & 0x80)) return result;
      if (this.pos - start > 16) fail(this.section, this.origin + start, 'LEB128 longer than 16 bytes');
    }
  }
  sleb(): number {
    let result = 0, mul = 1, b = 0;
    const start = this.pos;
    for (;;) {
      if (this.pos >= this.end) fail(this.section, this.origin + start, 'truncated LEB128');
      b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      mul *= 128;
      if (!(b & 0x80)) break;
      if (this.pos - start > 16) fail(this.section, this.origin + start, 'LEB128 longer than 16 bytes');
    }
    if (b & 0x40) result -= mul;
    return result;
  }
  /** LEB128 as BigInt, for DW_OP_constu/consts values that can use all 64 bits. */
  ulebBig(): bigint {
    let result = 0n, shift = 0n;
    const start = this.pos;
    for (;;) {
      if (this.pos >= this.end) fail(this.section, this.origin + start, 'truncated LEB128');
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if (!(b & 0x80)) return BigInt.asUintN(64, result);
      if (this.pos - start > 16) fail(this.section, this.origin + start, 'LEB128 longer than 16 bytes');
    }
  }
  slebBig(): bigint {
    let result = 0n, shift = 0n, b = 0;
    const start = this.pos;
    for (;;) {
      if (this.pos >= this.end) fail(this.section, this.origin + start, 'truncated LEB128');
      b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if (!(b & 0x80)) break;
      if (this.pos - start > 16) fail(this.section, this.origin + start, 'LEB128 longer than 16 bytes');
    }
    if (b & 0x40) result -= 1n << shift;
    return BigInt.asIntN(64, result);
  }
  /** NUL-terminated string (UTF-8). */
  cstr(): string {
    const start = this.pos;
    const p = this.buf.indexOf(0, start);
    if (p < 0 || p >= this.end) fail(this.section, this.origin + start, 'unterminated string');
    this.pos = p + 1;
    return decodeUtf8(this.buf, start, p);
  }
  bytes(n: number): Uint8Array { this.need(n); const v = this.buf.subarray(this.pos, this.pos + n); this.pos += n; return v; }
  /** Unit/entry length with the 64-bit DWARF escape: returns [length, offsetSize]. */
  initialLength(): [number, 4 | 8] {
    const at = this.pos;
    const l = this.u32();
    if (l === 0xffffffff) return [this.u64(), 8];
    if (l >= 0xfffffff0) fail(this.section, this.origin + at, `reserved initial length 0x${l.toString(16)}`);
    return [l, 4];
  }
}

const decoder = new TextDecoder('utf-8');
export function decodeUtf8(buf: Uint8Array, start: number, end: number): string {
  // ASCII fast path: identifiers and file names are nearly always ASCII.
  let ascii = true;
  for (let i = start; i < end; i++) if (buf[i]! >= 0x80) { ascii = false; break; }
  if (ascii && end - start < 256) {
    let s = '';
    for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]!);
    return s;
  }
  return decoder.decode(buf.subarray(start, end));
}

/** Reads a NUL-terminated string at `offset` of a string section. */
export function stringAt(buf: Uint8Array, section: SectionName, offset: number): string {
  if (offset < 0 || offset >= buf.length || !Number.isInteger(offset)) fail(section, offset, 'string offset outside section');
  // The NUL by the typed array's own search (a byte loop here showed in profiles of line-table headers).
  const p = buf.indexOf(0, offset);
  if (p < 0) fail(section, offset, 'unterminated string');
  return decodeUtf8(buf, offset, p);
}
