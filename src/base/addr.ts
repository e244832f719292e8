// Guest addresses and their hex forms: the one home for both (docs/ARCHITECTURE.md, "Shared vocabulary").
// An address is a JS number in signed canonical form: kernel 0xffffffff81000000 is -0x7f000000. Every
// canonical x86-64 address (bits 63..47 all equal) fits a double exactly, so only parsing (from the
// ELF file's 64-bit fields) and display ever need BigInt.

export type Address = number;

export const TWO32 = 4294967296;
export const TWO64 = 1n << 64n;
/** Lowest and one-past-highest canonical addresses with 48-bit virtual addresses (SDM Vol. 1, 3.3.7.1). */
export const CANON_LO = -0x800000000000;
export const CANON_HI = 0x800000000000;

/** True when a signed-canonical number is a canonical address. */
export function isCanonical(a: number): boolean { return a >= CANON_LO && a < CANON_HI; }

/** True when v (a 64-bit value, any sign) is canonical for 48-bit virtual addresses (bits 63..47 equal). */
export function isCanonicalU64(v: bigint): boolean {
  const top = BigInt.asUintN(64, v) >> 47n;
  return top === 0n || top === 0x1ffffn;
}

/** A 64-bit value (bigint, any sign; as stored in an ELF file) → signed number; exact for canonical addresses. */
export function toAddr(v: bigint): number { return Number(BigInt.asIntN(64, v)); }

/** A signed canonical number (or any bigint) → the unsigned 64-bit value. */
export function toU64(a: number | bigint): bigint {
  return BigInt.asUintN(64, typeof a === 'bigint' ? a : BigInt(a));
}

/** Parses an unsigned 64-bit hex/decimal address text (`0xffffffff81000000`) into signed canonical form. */
export function parseAddress(text: string): Address { return toAddr(BigInt(text)); }

/** `0x` + minimal lower-case hex of the unsigned 64-bit value: binutils' and %pS's `0x...` form
 *  (`0xffffffff81000000`, `+0x1a/0x40`). No BigInt for safe integers (block names are made with this). */
export function hex0x(a: number | bigint): string {
  if (typeof a === 'number' && Number.isSafeInteger(a)) {
    if (a >= 0) return '0x' + a.toString(16);
    // two's complement from the 32-bit halves
    return '0x' + (Math.floor(a / TWO32) >>> 0).toString(16) + (a >>> 0).toString(16).padStart(8, '0');
  }
  return '0x' + toU64(a).toString(16);
}

/** 16 lower-case hex digits, no prefix: the kernel's %016lx / %px and objdump's kernel addresses. */
export function hex16(a: number | bigint): string {
  if (typeof a === 'number' && a >= 0 && a <= 0xffffffff) return a.toString(16).padStart(16, '0');
  return toU64(a).toString(16).padStart(16, '0');
}
