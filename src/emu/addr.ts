// The emulator's own value helpers: 64-bit values as two 32-bit halves, and its error class.
// Addresses and their hex forms live in src/base/addr.ts (docs/ARCHITECTURE.md, "Shared vocabulary").
import { TWO32 } from '../base/addr.js';

/** An emulator bug or host-side misuse (a guest's fault is never an exception of this kind). */
export class EmuError extends Error {
  constructor(message: string) { super(message); this.name = 'EmuError'; }
}

/** Two 32-bit halves -> signed number (exact when the value is within +-2^53). */
export function halvesToNum(lo: number, hi: number): number { return (hi | 0) * TWO32 + (lo >>> 0); }
export function halvesToBig(lo: number, hi: number): bigint { return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0); }
