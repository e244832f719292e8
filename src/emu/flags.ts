// Lazy arithmetic flags. A flag-producing instruction records what it did (kind, width, operands, result);
// CF/PF/AF/ZF/SF/OF are computed only when something reads them (jcc, setcc, cmovcc, adc, pushf, ...).
// Values are stored as unsigned 32-bit halves, already truncated to the operation's width.

export const K_ADD = 0, K_ADC = 1, K_SUB = 2, K_SBB = 3, K_LOGIC = 4, K_INC = 5, K_DEC = 6,
  /** CF/OF/AF given explicitly in fcf/fof/faf; ZF/SF/PF from the result (shifts, mul, bit scans). */
  K_EXPL = 7,
  /** Every flag in fraw (after popf, sahf, or a partial update that had to materialize). */
  K_RAW = 8;

export const CF = 1, PF = 4, AF = 16, ZF = 64, SF = 128, TF = 256, IF = 512, DF = 1024, OF = 2048;
export const ARITH = CF | PF | AF | ZF | SF | OF;

export interface LazyFlags {
  fk: number; fsz: number;
  fa0: number; fa1: number; fb0: number; fb1: number; fr0: number; fr1: number;
  fcf: number; fof: number; faf: number; fraw: number;
}

const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) { let b = i, p = 1; while (b) { p ^= b & 1; b >>>= 1; } PARITY[i] = p; }

function ult(a0: number, a1: number, b0: number, b1: number, sz: number): boolean {
  return sz === 64 ? (a1 !== b1 ? a1 < b1 : a0 < b0) : a0 < b0;
}

export function getCF(c: LazyFlags): number {
  switch (c.fk) {
    case K_ADD: return ult(c.fr0, c.fr1, c.fa0, c.fa1, c.fsz) ? 1 : 0;
    case K_ADC: return ult(c.fr0, c.fr1, c.fa0, c.fa1, c.fsz) || (c.fcf !== 0 && c.fr0 === c.fa0 && (c.fsz !== 64 || c.fr1 === c.fa1)) ? 1 : 0;
    case K_SUB: return ult(c.fa0, c.fa1, c.fb0, c.fb1, c.fsz) ? 1 : 0;
    case K_SBB: return ult(c.fa0, c.fa1, c.fb0, c.fb1, c.fsz) || (c.fcf !== 0 && c.fa0 === c.fb0 && (c.fsz !== 64 || c.fa1 === c.fb1)) ? 1 : 0;
    case K_LOGIC: return 0;
    case K_RAW: return c.fraw & 1;
    default: return c.fcf;
  }
}
export function getZF(c: LazyFlags): number {
  if (c.fk === K_RAW) return (c.fraw >>> 6) & 1;
  return (c.fsz === 64 ? (c.fr0 | c.fr1) : c.fr0) === 0 ? 1 : 0;
}
export function getSF(c: LazyFlags): number {
  if (c.fk === K_RAW) return (c.fraw >>> 7) & 1;
  return c.fsz === 64 ? c.fr1 >>> 31 : (c.fr0 >>> (c.fsz - 1)) & 1;
}
export function getPF(c: LazyFlags): number {
  if (c.fk === K_RAW) return (c.fraw >>> 2) & 1;
  return PARITY[c.fr0 & 255];
}
export function getAF(c: LazyFlags): number {
  switch (c.fk) {
    case K_LOGIC: return 0;
    case K_EXPL: return c.faf;
    case K_RAW: return (c.fraw >>> 4) & 1;
    default: return ((c.fa0 ^ c.fb0 ^ c.fr0) >>> 4) & 1;
  }
}
export function getOF(c: LazyFlags): number {
  const k = c.fk;
  let x: number;
  switch (k) {
    case K_ADD: case K_ADC: case K_INC:
      x = c.fsz === 64 ? (c.fa1 ^ c.fr1) & (c.fb1 ^ c.fr1) : (c.fa0 ^ c.fr0) & (c.fb0 ^ c.fr0); break;
    case K_SUB: case K_SBB: case K_DEC:
      x = c.fsz === 64 ? (c.fa1 ^ c.fb1) & (c.fa1 ^ c.fr1) : (c.fa0 ^ c.fb0) & (c.fa0 ^ c.fr0); break;
    case K_LOGIC: return 0;
    case K_RAW: return (c.fraw >>> 11) & 1;
    default: return c.fof;
  }
  return c.fsz === 64 ? x >>> 31 : (x >>> (c.fsz === 64 ? 31 : c.fsz - 1)) & 1;
}

/** The six arithmetic flags as RFLAGS bits. */
export function arithFlags(c: LazyFlags): number {
  if (c.fk === K_RAW) return c.fraw & ARITH;
  return getCF(c) | (getPF(c) << 2) | (getAF(c) << 4) | (getZF(c) << 6) | (getSF(c) << 7) | (getOF(c) << 11);
}
export function setArithFlags(c: LazyFlags, v: number): void { c.fk = K_RAW; c.fraw = v & ARITH; }

/** Condition codes in x86 encoding order (tttn, SDM Vol. 1 Appendix B): o no b ae e ne be a s ns p np l ge le g. */
export function cond(c: LazyFlags, cc: number): boolean {
  let r: boolean;
  switch (cc >> 1) {
    case 0: r = getOF(c) !== 0; break;
    case 1: r = getCF(c) !== 0; break;
    case 2: r = getZF(c) !== 0; break;
    case 3: r = (getCF(c) | getZF(c)) !== 0; break;
    case 4: r = getSF(c) !== 0; break;
    case 5: r = getPF(c) !== 0; break;
    case 6: r = getSF(c) !== getOF(c); break;
    default: r = getZF(c) !== 0 || getSF(c) !== getOF(c); break;
  }
  return (cc & 1) ? !r : r;
}
export { PARITY };
