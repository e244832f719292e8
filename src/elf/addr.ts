// Kernel addresses at run time are JS numbers in signed canonical form: 0xffffffff81000000 is
// -0x7f000000. Every canonical x86-64 address (bits 63..47 all equal) fits a double exactly,
// so only parsing and display ever need BigInt.

const TWO64 = 1n << 64n;

/** A 64-bit address (as stored in the ELF file) → signed canonical JS number. Exact for canonical addresses. */
export function toAddr(v: bigint): number {
  return Number(BigInt.asIntN(64, v));
}

/** A signed canonical number (or any bigint) → the unsigned 64-bit value. */
export function toU64(a: number | bigint): bigint {
  return BigInt.asUintN(64, typeof a === 'bigint' ? a : BigInt(a));
}

/** True when v (unsigned 64-bit) is canonical for 48-bit virtual addresses (bits 63..47 equal). */
export function isCanonical(v: bigint): boolean {
  const top = BigInt.asUintN(64, v) >> 47n;
  return top === 0n || top === 0x1ffffn;
}

/** 16 lower-case hex digits, no prefix, as the kernel prints %016lx / %px and objdump prints kernel addresses. */
export function hex(a: number | bigint): string {
  if (typeof a === 'number' && a >= 0 && a <= 0xffffffff) return a.toString(16).padStart(16, '0');
  return toU64(a).toString(16).padStart(16, '0');
}

/** `0x` + minimal lower-case hex of a non-negative offset/size (the kernel's %pS `+0x1a/0x40` parts). */
export function hex0x(n: number): string {
  return '0x' + n.toString(16);
}

export { TWO64 };
