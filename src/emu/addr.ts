// Address and 64-bit value helpers shared by the emulator.
// An address is a JS number in signed canonical form (docs/ARCHITECTURE.md, "The emulator"): kernel
// 0xffffffff81000000 is -0x7f000000; every canonical x86-64 address (bits 63..47 equal) fits a double exactly.

export const TWO32 = 4294967296;
/** Lowest and one-past-highest canonical addresses with 48-bit virtual addresses (SDM Vol. 1, 3.3.7.1). */
export const CANON_LO = -0x800000000000;
export const CANON_HI = 0x800000000000;

/** An emulator bug or host-side misuse (a guest's fault is never an exception of this kind). */
export class EmuError extends Error {
  constructor(message: string) { super(message); this.name = 'EmuError'; }
}

export function isCanonical(a: number): boolean { return a >= CANON_LO && a < CANON_HI; }

/** 64-bit value (bigint, any sign) -> signed number; exact for canonical addresses. */
export function toAddr(v: bigint): number { return Number(BigInt.asIntN(64, v)); }
/** Signed-canonical number -> unsigned 64-bit bigint. */
export function toU64(addr: number): bigint { return BigInt.asUintN(64, BigInt(addr)); }

/** Two 32-bit halves -> signed number (exact when the value is within +-2^53). */
export function halvesToNum(lo: number, hi: number): number { return (hi | 0) * TWO32 + (lo >>> 0); }
export function halvesToBig(lo: number, hi: number): bigint { return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0); }

export function hex(a: number): string {
  if (Number.isSafeInteger(a)) {
    if (a >= 0) return '0x' + a.toString(16);
    // two's complement from the 32-bit halves (no BigInt: block names are made with this)
    return '0x' + (Math.floor(a / TWO32) >>> 0).toString(16) + (a >>> 0).toString(16).padStart(8, '0');
  }
  return '0x' + toU64(a).toString(16);
}
