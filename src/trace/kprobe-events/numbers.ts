// The kernel's string-to-integer conversions, exactly as lib/kstrtox.c and lib/vsprintf.c do them,
// because kprobe_events accepts and rejects numbers by their rules (base 0 means 0x → hex, a
// leading 0 → octal; one trailing newline is allowed; overflow is -ERANGE). Values are 64-bit.
import { EINVAL, ERANGE } from '../../base/errno.js';
export const U64_MAX = (1n << 64n) - 1n;
export const S64_MAX = (1n << 63n) - 1n;
export const U32_MAX = 0xffffffffn;

export type Parsed = { ok: true; value: bigint } | { ok: false; errno: number };

function digitValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return 99;
}
const isXDigit = (c: number) => digitValue(c) < 16;

/** lib/kstrtox.c _parse_integer_fixup_radix: the base and how many prefix characters to skip. */
function fixupRadix(s: string, base: number): { base: number; skip: number } {
  let skip = 0;
  if (base === 0) {
    if (s[0] === '0') base = (s.charCodeAt(1) | 0x20) === 0x78 && isXDigit(s.charCodeAt(2)) ? 16 : 8;
    else base = 10;
  }
  if (base === 16 && s[0] === '0' && (s.charCodeAt(1) | 0x20) === 0x78) skip = 2;
  return { base, skip };
}

/** _parse_integer: digits consumed, value (wrapped), and whether it overflowed 64 bits. */
function parseDigits(s: string, start: number, base: number): { n: number; value: bigint; overflow: boolean } {
  let v = 0n, overflow = false, i = start;
  const b = BigInt(base);
  for (; i < s.length; i++) {
    const d = digitValue(s.charCodeAt(i));
    if (d >= base) break;
    v = v * b + BigInt(d);
    if (v > U64_MAX) { overflow = true; v &= U64_MAX; }
  }
  return { n: i - start, value: v, overflow };
}

function kstrtoullNoSign(s: string, base: number): Parsed {
  const r = fixupRadix(s, base);
  const p = parseDigits(s, r.skip, r.base);
  if (p.overflow) return { ok: false, errno: -ERANGE };
  if (p.n === 0) return { ok: false, errno: -EINVAL };
  let end = r.skip + p.n;
  if (s[end] === '\n') end++;
  if (end !== s.length) return { ok: false, errno: -EINVAL };
  return { ok: true, value: p.value };
}

/** kstrtoull / kstrtoul (64-bit long): an optional leading '+'. */
export function kstrtoul(s: string, base = 0): Parsed {
  return kstrtoullNoSign(s[0] === '+' ? s.slice(1) : s, base);
}

/** kstrtoll / kstrtol: signed, result as a signed bigint. */
export function kstrtol(s: string, base = 0): Parsed {
  if (s[0] === '-') {
    const r = kstrtoullNoSign(s.slice(1), base);
    if (!r.ok) return r;
    if (r.value > S64_MAX + 1n) return { ok: false, errno: -ERANGE };
    return { ok: true, value: -r.value };
  }
  const r = kstrtoul(s, base);
  if (!r.ok) return r;
  if (r.value > S64_MAX) return { ok: false, errno: -ERANGE };
  return r;
}

/** kstrtouint: unsigned 32-bit. */
export function kstrtouint(s: string, base = 0): Parsed {
  const r = kstrtoul(s, base);
  if (!r.ok) return r;
  if (r.value > U32_MAX) return { ok: false, errno: -ERANGE };
  return r;
}

/** simple_strtoul: never fails; returns the value and where parsing stopped (the kernel's endp). */
export function simpleStrtoul(s: string, start: number, base = 0): { value: bigint; end: number } {
  const sub = s.slice(start);
  const r = fixupRadix(sub, base);
  const p = parseDigits(sub, r.skip, r.base);
  return { value: p.value, end: start + r.skip + p.n };
}

/** The C library's isdigit/isalpha on one character (ASCII, as the kernel's ctype). */
export const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
export const isAlpha = (c: string | undefined) => c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
