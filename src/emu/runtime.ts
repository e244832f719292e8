// Run-time helpers called by generated code (the `H` object): flag reads, multiply/divide, shifts,
// string instructions and the system instructions. Everything here works on numbers and 32-bit halves;
// No BigInt: 64- and 128-bit division, double-precision shifts and rcl/rcr work on 32-bit halves too
// (BigInt stays only in rdmsr/wrmsr, whose MSR interface is 64-bit bigint).
import { TWO32, isCanonical, hex0x } from '../base/addr.js';
import { arithFlags, cond, getCF, K_EXPL, K_RAW, K_SUB, PARITY, setArithFlags, CF, OF } from './flags.js';
import { FAULT } from './memory.js';
import { VEC_BP, VEC_DB, VEC_DE, VEC_GP, VEC_UD, VEC_TIMER } from '../base/x86.js';
import { Cpu, Reg } from './cpu.js';
import { disassemble, type Op } from './decode.js';
import { Stop } from './stop.js';
import { popfResult, stiEnable } from './guest.js';
import { Code, Mnemonic, Register } from './iced.js';

void VEC_TIMER;
const P = new Uint32Array(4);

/** 32x32 -> 64 unsigned multiply into P[off], P[off+1] (16-bit limbs keep every product exact). */
function mul32(x: number, y: number, out: Uint32Array, off: number): void {
  const xl = x & 0xffff, xh = x >>> 16, yl = y & 0xffff, yh = y >>> 16;
  const ll = xl * yl, mid = xl * yh + xh * yl + (ll >>> 16);
  out[off] = ((mid & 0xffff) * 65536 + (ll & 0xffff));
  out[off + 1] = xh * yh + Math.floor(mid / 65536);
}
const Q = new Uint32Array(2);
/** 64x64 -> 128 unsigned into P[0..3]. */
function mulu64(a0: number, a1: number, b0: number, b1: number): void {
  mul32(a0, b0, P, 0);
  mul32(a1, b1, P, 2);
  mul32(a0, b1, Q, 0);
  let s = P[1] + Q[0]; P[1] = s; let carry = s > 0xffffffff ? 1 : 0;
  s = P[2] + Q[1] + carry; P[2] = s; carry = s > 0xffffffff ? 1 : 0; P[3] += carry;
  mul32(a1, b0, Q, 0);
  s = P[1] + Q[0]; P[1] = s; carry = s > 0xffffffff ? 1 : 0;
  s = P[2] + Q[1] + carry; P[2] = s; carry = s > 0xffffffff ? 1 : 0; P[3] += carry;
}
/** Unsigned 64/32 division (hi < d, so the quotient fits 32 bits) by 16-bit digits: every partial
 *  remainder times 65536 plus a digit stays below 2^48, exact in a double. Quotient in DQ[0], remainder DQ[1]. */
const DQ = new Float64Array(4);
function divu64by32(hi: number, lo: number, d: number): void {
  let r = hi, q = 0;
  for (let s = 16; s >= 0; s -= 16) {
    const x = r * 65536 + ((lo >>> s) & 0xffff), qd = Math.floor(x / d);
    r = x - qd * d; q = q * 65536 + qd;
  }
  DQ[0] = q; DQ[1] = r;
}
/** Unsigned 128/64 division of n3:n2:n1:n0 by d1:d0 (32-bit halves), by restoring binary long division.
 *  Returns false when the quotient does not fit 64 bits; else quotient halves in DQ[0..1], remainder in DQ[2..3]. */
function divu128by64(n0: number, n1: number, n2: number, n3: number, d0: number, d1: number): boolean {
  // the high 64 bits must be below the divisor, or the quotient needs more than 64 bits
  if (n3 > d1 || (n3 === d1 && n2 >= d0)) return false;
  let r0 = n2, r1 = n3, q0 = n0, q1 = n1; // q doubles as the dividend's low half, shifted out bit by bit
  for (let i = 0; i < 64; i++) {
    const top = r1 >>> 31;
    r1 = ((r1 << 1) | (r0 >>> 31)) >>> 0; r0 = ((r0 << 1) | (q1 >>> 31)) >>> 0;
    q1 = ((q1 << 1) | (q0 >>> 31)) >>> 0; q0 = (q0 << 1) >>> 0;
    if (top !== 0 || r1 > d1 || (r1 === d1 && r0 >= d0)) {
      const t = r0 - d0; r0 = t >>> 0; r1 = (r1 - d1 - (t < 0 ? 1 : 0)) >>> 0; q0 = (q0 | 1) >>> 0;
    }
  }
  DQ[0] = q0; DQ[1] = q1; DQ[2] = r0; DQ[3] = r1;
  return true;
}
/** Two's complement negation of a 64-bit value given as halves, into NG[0], NG[1]. */
const NG = new Uint32Array(2);
function neg64(lo: number, hi: number): void { NG[0] = (-lo) >>> 0; NG[1] = (~hi + (lo === 0 ? 1 : 0)) >>> 0; }
/** 64-bit shifts on halves (0 <= n < 64) into SH[0], SH[1]. */
const SH = new Uint32Array(2);
function shl64(lo: number, hi: number, n: number): void {
  if (n === 0) { SH[0] = lo; SH[1] = hi; } else if (n < 32) { SH[1] = (hi << n) | (lo >>> (32 - n)); SH[0] = lo << n; } else { SH[1] = lo << (n - 32); SH[0] = 0; }
}
function shr64(lo: number, hi: number, n: number): void {
  if (n === 0) { SH[0] = lo; SH[1] = hi; } else if (n < 32) { SH[0] = (lo >>> n) | (hi << (32 - n)); SH[1] = hi >>> n; } else { SH[0] = hi >>> (n - 32); SH[1] = 0; }
}
function big(lo: number, hi: number): bigint { return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0); }
function explFlags(c: Cpu, sz: number, r0: number, r1: number, cf: number, of: number): void {
  c.fk = K_EXPL; c.fsz = sz; c.fr0 = r0 >>> 0; c.fr1 = r1 >>> 0; c.fcf = cf; c.fof = of; c.faf = 0;
}
const MASKS = [0, 0xff, 0xffff, 0, 0xffffffff];
function mask(sz: number): number { return sz === 8 ? 0xff : sz === 16 ? 0xffff : 0xffffffff; }

function stopWith(c: Cpu, s: Stop): void { c.stop = s + 1; }
function fault(c: Cpu, vector: number, text: string): never {
  c.trapVector = vector; c.errorCode = 0; c.faultAddr = 0; c.stopText = text; throw FAULT;
}
function needCpl0(c: Cpu, op: Op): void {
  if (c.cpl !== 0) fault(c, VEC_GP, `privileged instruction at CPL ${c.cpl}: ${disassemble(op.bytes, op.ip)}`);
}
function readReg64(c: Cpu, r: number): number { return (c.regs[2 * r + 1] | 0) * TWO32 + c.regs[2 * r]; }
function writeReg64(c: Cpu, r: number, v: number): void { c.regs[2 * r] = v >>> 0; c.regs[2 * r + 1] = Math.floor(v / TWO32) >>> 0; }
/** Effective address of a decoded memory operand (slow path for system instructions). */
function eaOf(c: Cpu, op: Op): number {
  const M = op.mem!;
  if (!Number.isNaN(M.abs)) return M.abs;
  let a = M.disp;
  if (M.base >= 0) a += M.addr32 ? c.regs[2 * M.base] : readReg64(c, M.base);
  if (M.index >= 0) a += (M.addr32 ? c.regs[2 * M.index] : readReg64(c, M.index)) * M.scale;
  if (M.addr32) a = a >>> 0;
  if (M.seg === 1) a += c.fsb; else if (M.seg === 2) a += c.gsb;
  return a;
}
function gprOf(op: Op, i: number): number { return op.rg[i]; }
/** read operand i (register or memory) of a system instruction as a number (<= 32 bits) */
function readSmall(c: Cpu, op: Op, i: number): number {
  if (op.rg[i] >= 0) return c.regs[2 * op.rg[i]] & (op.osz[i] === 16 ? 0xffff : op.osz[i] === 8 ? 0xff : 0xffffffff);
  const a = eaOf(c, op);
  return op.osz[i] === 16 ? c.mem.r16(a) : c.mem.r32(a);
}

export const H = {
  rhi: 0,
  cf: getCF,
  /** generated code's #UD for a form ktrace does not implement (compile.ts) */
  unimpl: unimplemented,
  c0: (c: Cpu) => cond(c, 0), c1: (c: Cpu) => cond(c, 1), c2: (c: Cpu) => cond(c, 2), c3: (c: Cpu) => cond(c, 3),
  c4: (c: Cpu) => cond(c, 4), c5: (c: Cpu) => cond(c, 5), c6: (c: Cpu) => cond(c, 6), c7: (c: Cpu) => cond(c, 7),
  c8: (c: Cpu) => cond(c, 8), c9: (c: Cpu) => cond(c, 9), c10: (c: Cpu) => cond(c, 10), c11: (c: Cpu) => cond(c, 11),
  c12: (c: Cpu) => cond(c, 12), c13: (c: Cpu) => cond(c, 13), c14: (c: Cpu) => cond(c, 14), c15: (c: Cpu) => cond(c, 15),
  rflags(c: Cpu): number { return c.getRflags(); },
  setCF(c: Cpu, v: number): void { setArithFlags(c, (arithFlags(c) & ~CF) | (v & 1)); },
  setCO(c: Cpu, cf: number, of: number): void { setArithFlags(c, (arithFlags(c) & ~(CF | OF)) | (cf & 1) | ((of & 1) << 11)); },
  sahf(c: Cpu): void { setArithFlags(c, (arithFlags(c) & OF) | ((c.regs[0] >>> 8) & 0xd5)); },
  pushfVal(c: Cpu): number { return c.getRflags() & ~0x30000; }, // RF and VM are cleared in the image (SDM PUSHF)
  gp(c: Cpu): never { return fault(c, VEC_GP, 'non-canonical branch target'); },

  // ---- multiply and divide (SDM MUL, IMUL, DIV, IDIV) ----
  mul(c: Cpu, sz: number, s0: number, s1: number): void {
    const R = c.regs;
    if (sz === 8) { const r = (R[0] & 0xff) * s0; R[0] = (R[0] & 0xffff0000) | r; const f = r > 0xff ? 1 : 0; explFlags(c, 8, r & 0xff, 0, f, f); return; }
    if (sz === 16) {
      const r = (R[0] & 0xffff) * s0; R[0] = (R[0] & 0xffff0000) | (r & 0xffff); R[4] = (R[4] & 0xffff0000) | (r >>> 16);
      const f = r > 0xffff ? 1 : 0; explFlags(c, 16, r & 0xffff, 0, f, f); return;
    }
    if (sz === 32) {
      mul32(R[0], s0, P, 0); R[0] = P[0]; R[1] = 0; R[4] = P[1]; R[5] = 0;
      const f = P[1] !== 0 ? 1 : 0; explFlags(c, 32, P[0], 0, f, f); return;
    }
    mulu64(R[0], R[1], s0, s1);
    R[0] = P[0]; R[1] = P[1]; R[4] = P[2]; R[5] = P[3];
    const f = (P[2] | P[3]) !== 0 ? 1 : 0; explFlags(c, 64, P[0], P[1], f, f);
  },
  imul1(c: Cpu, sz: number, s0: number, s1: number): void {
    const R = c.regs;
    if (sz <= 16) {
      const sh = 32 - sz;
      const r = ((R[0] << sh) >> sh) * ((s0 << sh) >> sh);
      const lo = r & mask(sz), hi = (r >> sz) & mask(sz);
      if (sz === 8) R[0] = (R[0] & 0xffff0000) | (r & 0xffff);
      else { R[0] = (R[0] & 0xffff0000) | lo; R[4] = (R[4] & 0xffff0000) | hi; }
      const f = r !== ((r << sh) >> sh) ? 1 : 0; explFlags(c, sz, lo, 0, f, f); return;
    }
    if (sz === 32) {
      const a = R[0] | 0, b = s0 | 0;
      mul32(R[0], s0, P, 0);
      let hi = P[1]; if (a < 0) hi -= s0; if (b < 0) hi -= R[0]; hi = hi >>> 0;
      R[0] = P[0]; R[1] = 0; R[4] = hi; R[5] = 0;
      const f = hi !== ((P[0] | 0) < 0 ? 0xffffffff : 0) ? 1 : 0; explFlags(c, 32, P[0], 0, f, f); return;
    }
    const a0 = R[0], a1 = R[1];
    H.imul64(a0, a1, s0, s1);
    R[0] = P[0]; R[1] = P[1]; R[4] = P[2]; R[5] = P[3];
    const ext = (P[1] | 0) < 0 ? 0xffffffff : 0;
    const f = P[2] !== ext || P[3] !== ext ? 1 : 0; explFlags(c, 64, P[0], P[1], f, f);
  },
  /** signed 64x64 -> 128 into P */
  imul64(a0: number, a1: number, b0: number, b1: number): void {
    mulu64(a0, a1, b0, b1);
    // high half: subtract b if a < 0 and a if b < 0 (two's complement correction)
    let h0 = P[2], h1 = P[3];
    if ((a1 | 0) < 0) { const d = h0 - b0; h0 = d >>> 0; h1 = (h1 - b1 - (d < 0 ? 1 : 0)) >>> 0; }
    if ((b1 | 0) < 0) { const d = h0 - a0; h0 = d >>> 0; h1 = (h1 - a1 - (d < 0 ? 1 : 0)) >>> 0; }
    P[2] = h0; P[3] = h1;
  },
  imul2(c: Cpu, sz: number, a0: number, a1: number, b0: number, b1: number): number {
    if (sz === 64) {
      H.imul64(a0, a1, b0, b1);
      const ext = (P[1] | 0) < 0 ? 0xffffffff : 0;
      const f = P[2] !== ext || P[3] !== ext ? 1 : 0;
      explFlags(c, 64, P[0], P[1], f, f);
      H.rhi = P[1]; return P[0];
    }
    const sh = 32 - sz;
    const a = (a0 << sh) >> sh, b = (b0 << sh) >> sh;
    const exact = a * b; // |exact| <= 2^62: rounding cannot move it across the overflow bounds below
    const lo = sz === 32 ? Math.imul(a, b) >>> 0 : (Math.imul(a, b) & mask(sz));
    const lim = sz === 32 ? 2147483648 : 1 << (sz - 1);
    const f = exact >= lim || exact < -lim ? 1 : 0;
    explFlags(c, sz, lo, 0, f, f);
    return lo;
  },
  div(c: Cpu, sz: number, s0: number, s1: number): void {
    const R = c.regs;
    if (sz <= 32 ? s0 === 0 : (s0 | s1) === 0) fault(c, VEC_DE, 'divide by zero');
    if (sz === 8) {
      const n = R[0] & 0xffff, q = Math.floor(n / s0);
      if (q > 0xff) fault(c, VEC_DE, 'quotient overflow');
      R[0] = (R[0] & 0xffff0000) | ((n - q * s0) << 8) | q; return;
    }
    if (sz === 16) {
      const n = ((R[4] & 0xffff) * 65536) + (R[0] & 0xffff), q = Math.floor(n / s0);
      if (q > 0xffff) fault(c, VEC_DE, 'quotient overflow');
      R[0] = (R[0] & 0xffff0000) | q; R[4] = (R[4] & 0xffff0000) | (n - q * s0); return;
    }
    if (sz === 32) {
      const hi = R[4];
      if (hi >= s0) fault(c, VEC_DE, 'quotient overflow');
      if (hi < 0x200000) {
        const n = hi * TWO32 + R[0], q = Math.floor(n / s0);
        R[0] = q; R[1] = 0; R[4] = n - q * s0; R[5] = 0; return;
      }
      divu64by32(hi, R[0], s0);
      R[0] = DQ[0]; R[1] = 0; R[4] = DQ[1]; R[5] = 0; return;
    }
    // 128 / 64
    if ((R[4] | R[5]) === 0 && R[1] < 0x200000 && s1 < 0x200000) {
      const n = R[1] * TWO32 + R[0], d = s1 * TWO32 + s0, q = Math.floor(n / d);
      writeReg64(c, Reg.RAX, q); writeReg64(c, Reg.RDX, n - q * d); return;
    }
    if (!divu128by64(R[0], R[1], R[4], R[5], s0, s1)) fault(c, VEC_DE, 'quotient overflow');
    R[0] = DQ[0]; R[1] = DQ[1]; R[4] = DQ[2]; R[5] = DQ[3];
  },
  idiv(c: Cpu, sz: number, s0: number, s1: number): void {
    const R = c.regs;
    if (sz <= 32 ? s0 === 0 : (s0 | s1) === 0) fault(c, VEC_DE, 'divide by zero');
    if (sz <= 32 && (sz < 32 || (R[4] | 0) >= -0x200000 && (R[4] | 0) < 0x200000)) {
      // |dividend| < 2^53: the double quotient truncates exactly (an error below 1/|divisor| cannot
      // cross an integer), and the remainder is exact
      const sh = 32 - sz;
      const d = sz === 32 ? s0 | 0 : (s0 << sh) >> sh;
      const n = sz === 8 ? ((R[0] & 0xffff) << 16) >> 16 : sz === 16 ? (((R[4] & 0xffff) << 16) | (R[0] & 0xffff)) | 0
        : (R[4] | 0) * TWO32 + R[0];
      const q = Math.trunc(n / d), r = n - q * d;
      const lim = sz === 32 ? 2147483648 : 1 << (sz - 1);
      if (q >= lim || q < -lim) fault(c, VEC_DE, 'quotient overflow');
      if (sz === 8) R[0] = (R[0] & 0xffff0000) | ((r & 0xff) << 8) | (q & 0xff);
      else if (sz === 16) { R[0] = (R[0] & 0xffff0000) | (q & 0xffff); R[4] = (R[4] & 0xffff0000) | (r & 0xffff); }
      else { R[0] = q >>> 0; R[1] = 0; R[4] = r >>> 0; R[5] = 0; }
      return;
    }
    // signed division as unsigned division of the magnitudes; the quotient's sign is the signs' xor,
    // the remainder's the dividend's (SDM IDIV: truncation toward zero)
    if (sz === 32) {
      const nneg = (R[4] | 0) < 0, dneg = (s0 | 0) < 0;
      let lo = R[0], hi = R[4];
      if (nneg) { neg64(lo, hi); lo = NG[0]; hi = NG[1]; }
      const d = dneg ? (-s0) >>> 0 : s0;
      if (hi >= d) fault(c, VEC_DE, 'quotient overflow');
      divu64by32(hi, lo, d);
      const q = nneg !== dneg ? -DQ[0] : DQ[0], r = nneg ? -DQ[1] : DQ[1];
      if (q >= 2147483648 || q < -2147483648) fault(c, VEC_DE, 'quotient overflow');
      R[0] = q >>> 0; R[1] = 0; R[4] = r >>> 0; R[5] = 0;
      return;
    }
    // 128 / 64; a dividend and divisor within +-2^53 divide exactly in doubles (as above)
    const ext = (R[1] | 0) < 0 ? 0xffffffff : 0;
    if (R[4] === ext && R[5] === ext && (R[1] | 0) >= -0x200000 && (R[1] | 0) < 0x200000 && (s1 | 0) >= -0x200000 && (s1 | 0) < 0x200000) {
      const n = (R[1] | 0) * TWO32 + R[0], d = (s1 | 0) * TWO32 + s0;
      const q = Math.trunc(n / d);
      writeReg64(c, Reg.RAX, q); writeReg64(c, Reg.RDX, n - q * d); return;
    }
    const nneg = (R[5] | 0) < 0, dneg = (s1 | 0) < 0;
    let n0 = R[0], n1 = R[1], n2 = R[4], n3 = R[5], d0 = s0, d1 = s1;
    if (nneg) {
      // negate the 128-bit dividend: invert and add 1 with carry through the halves
      n0 = (~n0) >>> 0; n1 = (~n1) >>> 0; n2 = (~n2) >>> 0; n3 = (~n3) >>> 0;
      n0 = (n0 + 1) >>> 0;
      if (n0 === 0) { n1 = (n1 + 1) >>> 0; if (n1 === 0) { n2 = (n2 + 1) >>> 0; if (n2 === 0) n3 = (n3 + 1) >>> 0; } }
    }
    if (dneg) { neg64(d0, d1); d0 = NG[0]; d1 = NG[1]; }
    if (!divu128by64(n0, n1, n2, n3, d0, d1)) fault(c, VEC_DE, 'quotient overflow');
    let q0 = DQ[0], q1 = DQ[1];
    const r0 = DQ[2], r1 = DQ[3];
    // the magnitude may reach 2^63 only for a negative quotient
    if (nneg !== dneg) { if (q1 > 0x80000000 || (q1 === 0x80000000 && q0 !== 0)) fault(c, VEC_DE, 'quotient overflow'); neg64(q0, q1); q0 = NG[0]; q1 = NG[1]; }
    else if (q1 >= 0x80000000) fault(c, VEC_DE, 'quotient overflow');
    R[0] = q0; R[1] = q1;
    if (nneg) { neg64(r0, r1); R[4] = NG[0]; R[5] = NG[1]; } else { R[4] = r0; R[5] = r1; }
  },

  // ---- shifts and rotates (SDM SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR): k = /r field: 0 rol 1 ror 2 rcl 3 rcr 4 shl 5 shr 7 sar
  shift(c: Cpu, k: number, sz: number, lo: number, hi: number, cnt: number): number {
    const n = cnt & (sz === 64 ? 63 : 31);
    if (n === 0) { H.rhi = hi; return lo; } // a masked count of 0 changes nothing, not even flags
    if (sz === 64) return H.shift64(c, k, lo, hi, n);
    const m = mask(sz), top = sz - 1;
    let r: number, cf: number, of: number;
    switch (k) {
      case 4: r = n < 32 ? (lo << n) & m : 0; cf = n <= sz ? (lo >>> (sz - n)) & 1 : 0; r >>>= 0; of = ((r >>> top) & 1) ^ cf; break;
      case 5: r = lo >>> n; cf = (lo >>> (n - 1)) & 1; of = (lo >>> top) & 1; break;
      case 7: { const s = (lo << (32 - sz)) >> (32 - sz); r = (s >> Math.min(n, 31)) & m; cf = (s >> Math.min(n - 1, 31)) & 1; of = 0; r >>>= 0; break; }
      case 0: case 1: {
        const rn = n % sz;
        r = rn === 0 ? lo : k === 0 ? ((lo << rn) | (lo >>> (sz - rn))) & m : ((lo >>> rn) | (lo << (sz - rn))) & m;
        r >>>= 0;
        if (k === 0) { cf = r & 1; of = ((r >>> top) & 1) ^ cf; } else { cf = (r >>> top) & 1; of = cf ^ ((r >>> (top - 1)) & 1); }
        H.setCO(c, cf, of); H.rhi = 0; return r;
      }
      default: { // rcl/rcr through CF: (size+1)-bit rotation
        const rn = sz === 8 ? n % 9 : sz === 16 ? n % 17 : n;
        let v = lo, cfv = getCF(c);
        for (let i = 0; i < rn; i++) {
          if (k === 2) { const out = (v >>> top) & 1; v = ((v << 1) | cfv) & m; cfv = out; }
          else { const out = v & 1; v = ((v >>> 1) | (cfv << top)) & m; cfv = out; }
          v >>>= 0;
        }
        if (k === 2) of = ((v >>> top) & 1) ^ cfv;
        else of = ((v >>> top) & 1) ^ ((v >>> (top - 1)) & 1);
        H.setCO(c, cfv, of); H.rhi = 0; return v;
      }
    }
    explFlags(c, sz, r, 0, cf, of);
    H.rhi = 0;
    return r;
  },
  shift64(c: Cpu, k: number, lo: number, hi: number, n: number): number {
    let r0: number, r1: number, cf: number, of: number;
    const bit = (i: number) => (i < 32 ? (lo >>> i) : (hi >>> (i - 32))) & 1;
    switch (k) {
      case 4:
        if (n < 32) { r1 = ((hi << n) | (lo >>> (32 - n))) >>> 0; r0 = (lo << n) >>> 0; } else { r1 = (lo << (n - 32)) >>> 0; r0 = 0; }
        cf = bit(64 - n); of = (r1 >>> 31) ^ cf; break;
      case 5:
        if (n < 32) { r0 = ((lo >>> n) | (hi << (32 - n))) >>> 0; r1 = hi >>> n; } else { r0 = hi >>> (n - 32); r1 = 0; }
        cf = bit(n - 1); of = hi >>> 31; break;
      case 7:
        if (n < 32) { r0 = ((lo >>> n) | (hi << (32 - n))) >>> 0; r1 = (hi >> n) >>> 0; } else { r0 = (hi >> (n - 32)) >>> 0; r1 = (hi >> 31) >>> 0; }
        cf = bit(n - 1); of = 0; break;
      case 0: case 1: {
        // rol by n, or ror as rol by 64-n, on the 32-bit halves
        let m = k === 0 ? n : 64 - n, a = lo, b = hi;
        if (m >= 32) { a = hi; b = lo; m -= 32; }
        if (m > 0) { r1 = ((b << m) | (a >>> (32 - m))) >>> 0; r0 = ((a << m) | (b >>> (32 - m))) >>> 0; } else { r0 = a; r1 = b; }
        if (k === 0) { cf = r0 & 1; of = (r1 >>> 31) ^ cf; } else { cf = r1 >>> 31; of = cf ^ ((r1 >>> 30) & 1); }
        H.setCO(c, cf, of);
        H.rhi = r1; return r0;
      }
      default: {
        // rcl (2) / rcr (3): rotate through CF one bit at a time on the halves
        let x0 = lo, x1 = hi, cfv = getCF(c);
        for (let i = 0; i < n; i++) {
          if (k === 2) { const out = x1 >>> 31; x1 = ((x1 << 1) | (x0 >>> 31)) >>> 0; x0 = ((x0 << 1) | cfv) >>> 0; cfv = out; }
          else { const out = x0 & 1; x0 = ((x0 >>> 1) | (x1 << 31)) >>> 0; x1 = ((x1 >>> 1) | (cfv << 31)) >>> 0; cfv = out; }
        }
        of = k === 2 ? (x1 >>> 31) ^ cfv : (x1 >>> 31) ^ ((x1 >>> 30) & 1);
        H.setCO(c, cfv, of);
        H.rhi = x1; return x0;
      }
    }
    explFlags(c, 64, r0, r1, cf, of);
    H.rhi = r1; return r0;
  },
  /** shld (right=0) / shrd (right=1) (SDM SHLD/SHRD) */
  shd(c: Cpu, right: number, sz: number, d0: number, d1: number, s0: number, s1: number, cnt: number): number {
    const n = cnt & (sz === 64 ? 63 : 31);
    if (n === 0) { H.rhi = d1; return d0; }
    let lo: number, hi = 0, cf: number;
    if (sz === 64) {
      // shld: dst << n | src >> (64 - n); shrd: dst >> n | src << (64 - n)
      if (!right) { shl64(d0, d1, n); lo = SH[0]; hi = SH[1]; shr64(s0, s1, 64 - n); cf = (64 - n < 32 ? d0 >>> (64 - n) : d1 >>> (32 - n)) & 1; }
      else { shr64(d0, d1, n); lo = SH[0]; hi = SH[1]; shl64(s0, s1, 64 - n); cf = (n - 1 < 32 ? d0 >>> (n - 1) : d1 >>> (n - 33)) & 1; }
      lo = (lo | SH[0]) >>> 0; hi = (hi | SH[1]) >>> 0;
    } else if (sz === 32) {
      if (!right) { lo = ((d0 << n) | (s0 >>> (32 - n))) >>> 0; cf = (d0 >>> (32 - n)) & 1; }
      else { lo = ((d0 >>> n) | (s0 << (32 - n))) >>> 0; cf = (d0 >>> (n - 1)) & 1; }
    } else {
      // 16 bits, counts up to 31: a 32-bit funnel of the two operands (for counts > 16 the SDM leaves the
      // result undefined; this is what hardware gives)
      if (!right) {
        const wide = ((d0 << 16) | s0) >>> 0;
        shl64(wide, 0, n); lo = (SH[0] >>> 16) & 0xffff;
        cf = n <= 16 ? (d0 >>> (16 - n)) & 1 : 0;
      } else {
        const wide = ((s0 << 16) | d0) >>> 0;
        lo = (wide >>> n) & 0xffff; cf = (wide >>> (n - 1)) & 1;
      }
    }
    const top = sz === 64 ? 31 : sz - 1;
    const of = (((sz === 64 ? hi : lo) >>> top) & 1) ^ (((sz === 64 ? d1 : d0) >>> top) & 1);
    explFlags(c, sz, lo, hi, cf, of);
    H.rhi = hi; return lo;
  },

  // ---- bit scans (SDM BSF/BSR/TZCNT/LZCNT/POPCNT) ----
  bsf(c: Cpu, sz: number, lo: number, hi: number): number {
    if ((lo | hi) === 0) { setArithFlags(c, ZF_ONLY); return -1; }
    setArithFlags(c, 0);
    if (lo !== 0) return 31 - Math.clz32(lo & -lo);
    return 63 - Math.clz32(hi & -hi);
  },
  bsr(c: Cpu, sz: number, lo: number, hi: number): number {
    if ((lo | hi) === 0) { setArithFlags(c, ZF_ONLY); return -1; }
    setArithFlags(c, 0);
    if (sz === 64 && hi !== 0) return 63 - Math.clz32(hi);
    return 31 - Math.clz32(lo);
  },
  tzcnt(c: Cpu, sz: number, lo: number, hi: number): number {
    let r: number;
    if (sz === 64) r = lo !== 0 ? 31 - Math.clz32(lo & -lo) : hi !== 0 ? 63 - Math.clz32(hi & -hi) : 64;
    else r = lo !== 0 ? 31 - Math.clz32(lo & -lo) : sz;
    setArithFlags(c, (r === sz ? 1 : 0) | (r === 0 ? 64 : 0));
    return r;
  },
  lzcnt(c: Cpu, sz: number, lo: number, hi: number): number {
    let r: number;
    if (sz === 64) r = hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
    else r = Math.clz32(lo) - (32 - sz);
    setArithFlags(c, (r === sz ? 1 : 0) | (r === 0 ? 64 : 0));
    return r;
  },
  popcnt(c: Cpu, sz: number, lo: number, hi: number): number {
    const pc = (x: number) => { x = x - ((x >>> 1) & 0x55555555); x = (x & 0x33333333) + ((x >>> 2) & 0x33333333); return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24; };
    const r = pc(lo) + (sz === 64 ? pc(hi) : 0);
    setArithFlags(c, r === 0 ? 64 : 0);
    return r;
  },

  // ---- string instructions (SDM MOVS/STOS/LODS/CMPS/SCAS with REP/REPE/REPNE), 64-bit addresses ----
  // Registers are updated every iteration, so a fault mid-way leaves the precise architectural state.
  movs(c: Cpu, sz: number, rep: number, base: number): void {
    const R = c.regs, m = c.mem, b = sz / 8, step = c.df ? -b : b;
    for (;;) {
      if (rep && (R[2] | R[3]) === 0) return;
      const s = readReg64(c, Reg.RSI), d = readReg64(c, Reg.RDI), sa = s + base;
      if (sz === 64) { const lo = m.r64(sa); m.w64(d, lo, m.hi); }
      else if (sz === 32) m.w32(d, m.r32(sa)); else if (sz === 16) m.w16(d, m.r16(sa)); else m.w8(d, m.r8(sa));
      writeReg64(c, Reg.RSI, s + step); writeReg64(c, Reg.RDI, d + step);
      if (!rep) return;
      decRcx(R);
    }
  },
  stos(c: Cpu, sz: number, rep: number, base: number): void {
    const R = c.regs, m = c.mem, b = sz / 8, step = c.df ? -b : b;
    const lo = R[0], hi = R[1];
    for (;;) {
      if (rep && (R[2] | R[3]) === 0) return;
      const d = readReg64(c, Reg.RDI);
      if (sz === 64) m.w64(d, lo, hi); else if (sz === 32) m.w32(d, lo); else if (sz === 16) m.w16(d, lo & 0xffff); else m.w8(d, lo & 0xff);
      writeReg64(c, Reg.RDI, d + step);
      if (!rep) return;
      decRcx(R);
    }
  },
  lods(c: Cpu, sz: number, rep: number, base: number): void {
    const R = c.regs, m = c.mem, b = sz / 8, step = c.df ? -b : b;
    for (;;) {
      if (rep && (R[2] | R[3]) === 0) return;
      const s = readReg64(c, Reg.RSI), sa = s + base;
      if (sz === 64) { R[0] = m.r64(sa); R[1] = m.hi; } else if (sz === 32) { R[0] = m.r32(sa); R[1] = 0; }
      else if (sz === 16) R[0] = (R[0] & 0xffff0000) | m.r16(sa); else R[0] = (R[0] & 0xffffff00) | m.r8(sa);
      writeReg64(c, Reg.RSI, s + step);
      if (!rep) return;
      decRcx(R);
    }
  },
  cmps(c: Cpu, sz: number, rep: number, base: number): void {
    const R = c.regs, m = c.mem, b = sz / 8, step = c.df ? -b : b;
    for (;;) {
      if (rep && (R[2] | R[3]) === 0) return;
      const s = readReg64(c, Reg.RSI), d = readReg64(c, Reg.RDI), sa = s + base;
      let a0: number, a1 = 0, b0: number, b1 = 0;
      if (sz === 64) { a0 = m.r64(sa); a1 = m.hi; b0 = m.r64(d); b1 = m.hi; }
      else { a0 = sz === 32 ? m.r32(sa) : sz === 16 ? m.r16(sa) : m.r8(sa); b0 = sz === 32 ? m.r32(d) : sz === 16 ? m.r16(d) : m.r8(d); }
      subFlags(c, sz, a0, a1, b0, b1);
      writeReg64(c, Reg.RSI, s + step); writeReg64(c, Reg.RDI, d + step);
      if (!rep) return;
      decRcx(R);
      const eq = a0 === b0 && a1 === b1;
      if (rep === 1 ? !eq : eq) return;
    }
  },
  scas(c: Cpu, sz: number, rep: number, base: number): void {
    const R = c.regs, m = c.mem, b = sz / 8, step = c.df ? -b : b;
    const a0 = sz === 64 || sz === 32 ? R[0] : R[0] & mask(sz), a1 = sz === 64 ? R[1] : 0;
    for (;;) {
      if (rep && (R[2] | R[3]) === 0) return;
      const d = readReg64(c, Reg.RDI);
      let b0: number, b1 = 0;
      if (sz === 64) { b0 = m.r64(d); b1 = m.hi; } else b0 = sz === 32 ? m.r32(d) : sz === 16 ? m.r16(d) : m.r8(d);
      subFlags(c, sz, a0, a1, b0, b1);
      writeReg64(c, Reg.RDI, d + step);
      if (!rep) return;
      decRcx(R);
      const eq = a0 === b0 && a1 === b1;
      if (rep === 1 ? !eq : eq) return;
    }
  },
  cmpxchgNb(c: Cpu, n: number, a: number): void {
    const R = c.regs, m = c.mem;
    if (n === 8) {
      checkWrite(c, a, 8); // a locked RMW: checked as a write first
      const lo = m.r32(a), hi = m.r32(a + 4);
      if (lo === R[0] && hi === R[4]) { m.w64(a, R[6], R[2]); H.setZF(c, 1); }
      else { m.w64(a, lo, hi); R[0] = lo; R[1] = 0; R[4] = hi; R[5] = 0; H.setZF(c, 0); }
      return;
    }
    if (a % 16 !== 0) fault(c, VEC_GP, 'cmpxchg16b operand not 16-byte aligned');
    checkWrite(c, a, 16);
    const l0 = m.r64(a), l1 = m.hi, h0 = m.r64(a + 8), h1 = m.hi;
    if (l0 === R[0] && l1 === R[1] && h0 === R[4] && h1 === R[5]) {
      m.translate(a + 8, 1);
      m.w64(a, R[6], R[7]); m.w64(a + 8, R[2], R[3]); H.setZF(c, 1);
    } else {
      m.translate(a + 8, 1);
      m.w64(a, l0, l1); m.w64(a + 8, h0, h1);
      R[0] = l0; R[1] = l1; R[4] = h0; R[5] = h1; H.setZF(c, 0);
    }
  },
  setZF(c: Cpu, z: number): void { setArithFlags(c, (arithFlags(c) & ~64) | (z << 6)); },

  // ---- stack and flags ----
  enter(c: Cpu, op: Op): void {
    // SDM ENTER: push RBP; copy NestingLevel-1 frame pointers from the old frame; push the new frame
    // pointer; RBP = frame; RSP -= size. All reads and writes are checked before anything changes.
    const size = op.imlo[0] & 0xffff, level = op.imlo[1] & 31;
    const b = op.stackInc === -2 || op.code === Code.Enterw_imm16_imm8 ? 2 : 8;
    const m = c.mem, rsp = readReg64(c, Reg.RSP);
    let rbp = readReg64(c, Reg.RBP);
    // SDM ENTER's operation is sequential: push RBP, then each copied frame pointer is read after the
    // previous push (a read may see what was just pushed), then the frame. Every access is checked
    // first so a fault changes nothing. Values move as 32-bit halves: they are arbitrary 64-bit data.
    const frame = rsp - b;
    const nWrites = level > 0 ? level + 1 : 1;
    for (let i = 0; i < nWrites; i++) { m.translate(rsp - b * (i + 1), 1); m.translate(rsp - b * (i + 1) + b - 1, 1); }
    for (let i = 1; i < level; i++) { m.translate(rbp - b * i, 0); m.translate(rbp - b * i + b - 1, 0); }
    let sp = rsp - b;
    if (b === 8) m.w64(sp, c.regs[10], c.regs[11]); else m.w16(sp, c.regs[10] & 0xffff);
    if (level > 0) {
      for (let i = 1; i < level; i++) {
        rbp -= b;
        sp -= b;
        if (b === 8) { const lo = m.r64(rbp), hi = m.hi; m.w64(sp, lo >>> 0, hi >>> 0); } else m.w16(sp, m.r16(rbp));
      }
      sp -= b;
      if (b === 8) m.w64(sp, frame >>> 0, Math.floor(frame / TWO32) >>> 0); else m.w16(sp, frame & 0xffff);
    }
    // SDM: with a 16-bit operand size only BP is loaded; the rest of RBP keeps the loop's decrements
    if (b === 8) writeReg64(c, Reg.RBP, frame); else { writeReg64(c, Reg.RBP, rbp); c.regs[10] = (c.regs[10] & 0xffff0000) | (frame & 0xffff); }
    writeReg64(c, Reg.RSP, sp - size);
  },
  popf(c: Cpu, op: Op): void {
    const m = c.mem, rsp = readReg64(c, Reg.RSP);
    const sz = op.stackInc === 2 ? 16 : 64;
    let v = sz === 64 ? m.r32(rsp) : m.r16(rsp);
    const old = c.getRflags();
    if (sz === 16) v = (old & 0xffff0000) | v;
    c.setRflags(popfResult(c, v, old)); // SDM POPF's masks (guest.ts, which kprobes' emulation shares)
    writeReg64(c, Reg.RSP, rsp + sz / 8);
    c.rip = op.next;
  },
  pushSeg(c: Cpu, op: Op): void {
    const rsp = readReg64(c, Reg.RSP) - 8;
    c.mem.w64(rsp, segValue(c, op.reg[0]), 0);
    writeReg64(c, Reg.RSP, rsp);
  },
  popSeg(c: Cpu, op: Op): void {
    const rsp = readReg64(c, Reg.RSP);
    const v = c.mem.r16(rsp);
    writeReg64(c, Reg.RSP, rsp + 8);
    setSeg(c, op.reg[0], v);
  },
  movSys(c: Cpu, op: Op): void {
    const d = op.reg[0], s = op.reg[1];
    if (op.kind[0] === 0 && d >= Register.CR0 && d <= Register.CR15) {
      needCpl0(c, op);
      const v = readReg64(c, gprOf(op, 1));
      switch (d) {
        case Register.CR0: c.cr0 = v; c.host.onPaging?.(c, 3, 0); break;
        case Register.CR2: c.cr2 = v; break;
        // ktrace-pc has no guest page tables: CR3 only flushes, as on hardware; a platform that walks
        // the guest's tables hears of it (CpuHost.onPaging)
        case Register.CR3: c.cr3 = v; c.mem.flushTlb(); c.host.onPaging?.(c, 0, v); break;
        case Register.CR4: c.cr4 = v; c.host.onPaging?.(c, 2, 0); break;
        case Register.CR8: c.cr8 = v & 15; break;
        default: fault(c, VEC_UD, `mov to CR${d - Register.CR0}`);
      }
      return;
    }
    if (op.kind[0] === 0 && d >= Register.DR0 && d <= Register.DR7) {
      // debug registers are kept, not acted on: a guest enabling a hardware breakpoint is refused
      needCpl0(c, op);
      const n = d - Register.DR0, v = readReg64(c, gprOf(op, 1));
      if (n === 4 || n === 5) fault(c, VEC_UD, `mov to DR${n}`);
      if (n === 7 && (v & 0xff) !== 0) unimplemented(c, op, 'hardware breakpoints (DR7 enable bits) are not emulated');
      c.dr[n] = n === 6 ? (v & 0xe00f) | 0xffff0ff0 : n === 7 ? (v & 0xffff2bff) | 0x400 : v;
      return;
    }
    if (op.kind[1] === 0 && s >= Register.DR0 && s <= Register.DR7) {
      needCpl0(c, op);
      const n = s - Register.DR0;
      if (n === 4 || n === 5) fault(c, VEC_UD, `mov from DR${n}`);
      writeReg64(c, gprOf(op, 0), c.dr[n]);
      return;
    }
    if (op.kind[1] === 0 && s >= Register.CR0 && s <= Register.CR15) {
      needCpl0(c, op);
      const v = s === Register.CR0 ? c.cr0 : s === Register.CR2 ? c.cr2 : s === Register.CR3 ? c.cr3 : s === Register.CR4 ? c.cr4 : s === Register.CR8 ? c.cr8 : NaN;
      if (Number.isNaN(v)) fault(c, VEC_UD, `mov from CR${s - Register.CR0}`);
      writeReg64(c, gprOf(op, 0), v);
      return;
    }
    if (op.kind[0] === 0 && d >= Register.ES && d <= Register.GS) { setSeg(c, d, readSmall(c, op, 1)); return; }
    // mov r/m, Sreg
    const v = segValue(c, s);
    if (op.rg[0] >= 0) { if (op.osz[0] === 16) c.regs[2 * op.rg[0]] = (c.regs[2 * op.rg[0]] & 0xffff0000) | v; else { c.regs[2 * op.rg[0]] = v; c.regs[2 * op.rg[0] + 1] = 0; } }
    else c.mem.w16(eaOf(c, op), v);
  },

  // ---- system instructions ----
  cli(c: Cpu, op: Op): void { if (c.cpl > 0) needCpl0(c, op); c.if_ = 0; c.rip = op.next; },
  sti(c: Cpu, op: Op): void {
    if (c.cpl > 0) needCpl0(c, op);
    stiEnable(c); c.rip = op.next; // SDM STI and its shadow (guest.ts, which kprobes' emulation shares)
  },
  hlt(c: Cpu, op: Op): void { needCpl0(c, op); c.rip = op.next; c.halted = true; },
  int3(c: Cpu, op: Op): void { c.rip = op.next; c.trapVector = VEC_BP; c.errorCode = 0; c.faultAddr = op.ip; stopWith(c, Stop.Breakpoint); },
  int1(c: Cpu, op: Op): void { c.rip = op.next; c.trapVector = VEC_DB; c.faultAddr = op.ip; stopWith(c, Stop.Debug); },
  intn(c: Cpu, op: Op): void {
    c.rip = op.next;
    if (!c.interrupt(op.imlo[0] & 255)) { c.rip = op.ip; stopWith(c, Stop.DoubleFault); }
  },
  ud(c: Cpu, op: Op): never { return fault(c, VEC_UD, `#UD: ${disassemble(op.bytes, op.ip)}`); },
  syscall(c: Cpu, op: Op): void {
    // SDM SYSCALL: RCX <- next RIP; R11 <- RFLAGS (RF cleared); RIP <- LSTAR; CS <- STAR[47:32] & ~3;
    // SS <- STAR[47:32] + 8; RFLAGS <- RFLAGS & ~FMASK; CPL <- 0
    const fl = c.getRflags() & ~0x10000;
    writeReg64(c, Reg.RCX, op.next);
    c.regs[22] = fl; c.regs[23] = 0;
    const sel = c.starHi & 0xffff;
    c.cs = sel & 0xfffc; c.ss = (sel + 8) & 0xffff;
    c.setRflags((fl & ~c.fmask) | 2);
    c.setCpl(0);
    c.rip = c.lstar;
  },
  sysret(c: Cpu, op: Op): void {
    // SDM SYSRET (REX.W): #GP(0) unless CPL 0 and RCX canonical; RIP <- RCX;
    // RFLAGS <- (R11 & 3C7FD7H) | 2; CS <- STAR[63:48] + 16 | 3; SS <- STAR[63:48] + 8 | 3; CPL <- 3
    needCpl0(c, op);
    const rcx = readReg64(c, Reg.RCX);
    if (c.regs[3] !== 0 && c.regs[3] !== 0xffffffff || !isCanonical(rcx)) fault(c, VEC_GP, `sysret to non-canonical ${hex0x(rcx)}`);
    const sel = c.starHi >>> 16;
    c.setRflags((c.regs[22] & 0x3c7fd7) | 2);
    c.cs = ((sel + 16) | 3) & 0xffff; c.ss = ((sel + 8) | 3) & 0xffff;
    c.setCpl(3);
    c.rip = rcx;
  },
  swapgs(c: Cpu, op: Op): void { needCpl0(c, op); const t = c.gsb; c.gsb = c.kgsb; c.kgsb = t; c.rip = op.next; },
  fninit(c: Cpu, op: Op): void {
    // FCW 0x37f, FSW 0, all registers empty (abridged tag 0), FOP/FIP/FDP 0
    const f = c.fx; f.fill(0, 0, 24); f[0] = 0x7f; f[1] = 0x03; c.rip = op.next;
  },
  fnclex(c: Cpu, op: Op): void { c.fx[2] = 0; c.fx[3] &= 0x7f; c.rip = op.next; }, // FSW: exception flags, ES and B
  fwait(c: Cpu, op: Op): void { c.rip = op.next; }, // no unmasked x87 exception can be pending
  fxsave(c: Cpu, op: Op): void {
    const a = eaOf(c, op);
    if (a % 16 !== 0) fault(c, VEC_GP, 'fxsave to an address not 16-byte aligned');
    c.mem.translate(a, 1); c.mem.translate(a + 511, 1); // both pages writable before any byte is
    for (let i = 0; i < 512; i += 4) c.mem.w32(a + i, c.fx[i] | (c.fx[i + 1] << 8) | (c.fx[i + 2] << 16) | (c.fx[i + 3] << 24));
    c.rip = op.next;
  },
  fxrstor(c: Cpu, op: Op): void {
    const a = eaOf(c, op);
    if (a % 16 !== 0) fault(c, VEC_GP, 'fxrstor from an address not 16-byte aligned');
    const img = new Uint8Array(512);
    for (let i = 0; i < 512; i += 4) { const v = c.mem.r32(a + i); img[i] = v & 255; img[i + 1] = (v >>> 8) & 255; img[i + 2] = (v >>> 16) & 255; img[i + 3] = v >>> 24; }
    if (img[26] | img[27]) fault(c, VEC_GP, 'fxrstor with reserved MXCSR bits set');
    img.set(c.fx.subarray(28, 32), 28); // MXCSR_MASK is not loaded
    c.fx.set(img); c.rip = op.next;
  },
  ldmxcsr(c: Cpu, op: Op): void {
    const v = c.mem.r32(eaOf(c, op));
    if (v >>> 16) fault(c, VEC_GP, 'ldmxcsr with reserved bits set');
    c.fx[24] = v & 255; c.fx[25] = v >>> 8; c.rip = op.next;
  },
  stmxcsr(c: Cpu, op: Op): void { c.mem.w32(eaOf(c, op), c.fx[24] | (c.fx[25] << 8)); c.rip = op.next; },
  retf(c: Cpu, op: Op): void {
    // SDM RET (far) in 64-bit mode with REX.W (lretq), same privilege only: pop RIP, then CS (8-byte
    // slots). Linux's startup_64 reloads CS this way after lgdt. Descriptors are not interpreted.
    const b = op.bytes, rexW = op.len === 2 && (b[0] & 0xf8) === 0x48 && b[1] === 0xcb;
    if (!rexW) unimplemented(c, op, 'only lretq (REX.W CB) is implemented');
    const sp = readReg64(c, Reg.RSP);
    const rip = readQ(c, sp), cs = c.mem.r16(sp + 8);
    if ((cs & 3) !== c.cpl) unimplemented(c, op, 'far return to another privilege level');
    if (!isCanonical(rip)) fault(c, VEC_GP, `lretq to non-canonical ${hex0x(rip)}`);
    c.cs = cs;
    writeReg64(c, Reg.RSP, sp + 16);
    c.rip = rip;
  },
  iret(c: Cpu, op: Op): void {
    // SDM IRET (64-bit mode): pop RIP, CS, RFLAGS, RSP, SS (all five, at any privilege change or none)
    const m = c.mem, sp = readReg64(c, Reg.RSP);
    const rip = readQ(c, sp), cs = m.r16(sp + 8), fl = m.r32(sp + 16), rsp = readQ(c, sp + 24), ss = m.r16(sp + 32);
    const cpl = cs & 3;
    if (cpl < c.cpl) fault(c, VEC_GP, 'iret to a more privileged level');
    if (!isCanonical(rip)) fault(c, VEC_GP, `iret to non-canonical ${hex0x(rip)}`);
    const old = c.getRflags();
    let keep = 0;
    if (c.cpl > 0) keep |= 0x3000 | 0x200; // IOPL and IF only change at CPL 0 (IOPL is 0)
    c.setRflags((fl & ~keep) | (old & keep));
    c.cs = cs; c.ss = ss;
    writeReg64(c, Reg.RSP, rsp);
    c.setCpl(cpl);
    c.rip = rip;
    if (c.frames.size) c.frames.drop(sp); // the recorded interrupt frame this iret pops (frames.ts)
  },
  rdmsr(c: Cpu, op: Op): void {
    needCpl0(c, op);
    const v = c.readMsr(c.regs[2]);
    if (v === undefined) fault(c, VEC_GP, `rdmsr of unknown MSR ${hex0x(c.regs[2])}`);
    c.regs[0] = Number(v & 0xffffffffn); c.regs[1] = 0; c.regs[4] = Number(v >> 32n); c.regs[5] = 0;
    c.rip = op.next;
  },
  wrmsr(c: Cpu, op: Op): void {
    needCpl0(c, op);
    const v = big(c.regs[0], c.regs[4]);
    if (!c.writeMsr(c.regs[2], v)) fault(c, VEC_GP, `wrmsr of unknown MSR ${hex0x(c.regs[2])} or bad value ${hex0x(Number(BigInt.asIntN(64, v)))}`);
    c.rip = op.next;
  },
  rdtsc(c: Cpu, op: Op): void {
    const t = c.clock();
    c.regs[0] = t >>> 0; c.regs[1] = 0; c.regs[4] = Math.floor(t / TWO32) >>> 0; c.regs[5] = 0;
    c.rip = op.next;
  },
  rdtscp(c: Cpu, op: Op): void { H.rdtsc(c, op); c.regs[2] = c.tscAux; c.regs[3] = 0; },
  rdpid(c: Cpu, op: Op): void { const r = gprOf(op, 0); c.regs[2 * r] = c.tscAux; c.regs[2 * r + 1] = 0; c.rip = op.next; },
  cpuid(c: Cpu, op: Op): void {
    const [a, b, cc, d] = c.host.cpuid?.(c, c.regs[0], c.regs[2]) ?? cpuidLeaf(c.regs[0], c.regs[2], c);
    c.regs[0] = a; c.regs[6] = b; c.regs[4] = d; c.regs[2] = cc;
    c.regs[1] = c.regs[7] = c.regs[5] = c.regs[3] = 0;
    c.rip = op.next;
  },
  lidt(c: Cpu, op: Op): void {
    needCpl0(c, op);
    const a = eaOf(c, op);
    const lim = c.mem.r16(a), base = readQ(c, a + 2);
    c.idtLimit = lim; c.idtBase = base; c.rip = op.next;
  },
  lgdt(c: Cpu, op: Op): void {
    needCpl0(c, op);
    const a = eaOf(c, op);
    c.gdtLimit = c.mem.r16(a); c.gdtBase = readQ(c, a + 2); c.rip = op.next;
  },
  sidt(c: Cpu, op: Op): void { storeDt(c, eaOf(c, op), c.idtLimit, c.idtBase); c.rip = op.next; },
  sgdt(c: Cpu, op: Op): void { storeDt(c, eaOf(c, op), c.gdtLimit, c.gdtBase); c.rip = op.next; },
  ltr(c: Cpu, op: Op): void { needCpl0(c, op); c.tr = readSmall(c, op, 0); c.rip = op.next; },
  lldt(c: Cpu, op: Op): void { needCpl0(c, op); c.ldtr = readSmall(c, op, 0); c.rip = op.next; },
  str(c: Cpu, op: Op): void { storeSel(c, op, c.tr); c.rip = op.next; },
  sldt(c: Cpu, op: Op): void { storeSel(c, op, c.ldtr); c.rip = op.next; },
  in(c: Cpu, op: Op): void {
    if (c.cpl > 0) needCpl0(c, op); // IOPL is 0 and there is no TSS I/O bitmap: user port access faults
    const port = op.kind[1] === 0 ? c.regs[4] & 0xffff : op.imlo[1] & 0xff;
    const size = (op.osz[0] / 8) as 1 | 2 | 4;
    c.rip = op.next;
    const v = c.host.onPortIn(c, port, size) >>> 0;
    if (size === 1) c.regs[0] = (c.regs[0] & 0xffffff00) | (v & 0xff);
    else if (size === 2) c.regs[0] = (c.regs[0] & 0xffff0000) | (v & 0xffff);
    else { c.regs[0] = v; c.regs[1] = 0; }
  },
  out(c: Cpu, op: Op): void {
    if (c.cpl > 0) needCpl0(c, op);
    const port = op.kind[0] === 0 ? c.regs[4] & 0xffff : op.imlo[0] & 0xff;
    const size = (op.osz[1] / 8) as 1 | 2 | 4;
    const v = size === 4 ? c.regs[0] : c.regs[0] & (size === 2 ? 0xffff : 0xff);
    c.rip = op.next;
    c.host.onPortOut(c, port, size, v);
  },
  vmcall(c: Cpu, op: Op): void {
    // ktrace-pc host call: RIP is left past the vmcall, faultAddr holds its address
    c.rip = op.next; c.faultAddr = op.ip; c.trapVector = -1;
    const r = c.host.onHostCall(c);
    if (r === 0) stopWith(c, Stop.HostCall);
    else if (r === 2) stopWith(c, Stop.Requested);
  },
  clac(c: Cpu, op: Op): void { needCpl0(c, op); c.ac = 0; c.rip = op.next; },
  stac(c: Cpu, op: Op): void { needCpl0(c, op); c.ac = 1; c.rip = op.next; },
  invlpg(c: Cpu, op: Op): void { needCpl0(c, op); const a = eaOf(c, op); c.mem.invalidateAddress(a); c.host.onPaging?.(c, 1, a); c.rip = op.next; },
  wbinvd(c: Cpu, op: Op): void { needCpl0(c, op); c.rip = op.next; },
  rdfsbase(c: Cpu, op: Op): void {
    if (!(c.cr4 & 0x10000)) fault(c, VEC_UD, 'rdfsbase with CR4.FSGSBASE clear');
    const v = isGs(op) ? c.gsb : c.fsb;
    writeReg64(c, gprOf(op, 0), v); c.rip = op.next;
  },
  wrfsbase(c: Cpu, op: Op): void {
    if (!(c.cr4 & 0x10000)) fault(c, VEC_UD, 'wrfsbase with CR4.FSGSBASE clear');
    const v = readReg64(c, gprOf(op, 0));
    if (!isCanonical(v)) fault(c, VEC_GP, 'wrfsbase non-canonical');
    if (isGs(op)) c.gsb = v; else c.fsb = v;
    c.rip = op.next;
  },
};
const ZF_ONLY = 64;

/** Check that `size` bytes at `a` are writable (a fault names the first byte on the failing page). */
function checkWrite(c: Cpu, a: number, size: number): void {
  c.mem.translate(a, 1);
  const end = a + size - 1;
  if ((end & ~4095) !== (a & ~4095) || Math.floor(end / 4096) !== Math.floor(a / 4096)) c.mem.translate(end - (end & 4095), 1);
}
function isGs(op: Op): boolean { return op.mn === Mnemonic.Rdgsbase || op.mn === Mnemonic.Wrgsbase; }
function decRcx(R: Uint32Array): void { if (R[2] === 0) R[3] = R[3] - 1; R[2] = R[2] - 1; }
function subFlags(c: Cpu, sz: number, a0: number, a1: number, b0: number, b1: number): void {
  let r0: number, r1 = 0;
  if (sz === 64) { const d = a0 - b0; r0 = d >>> 0; r1 = (a1 - b1 - (d < 0 ? 1 : 0)) >>> 0; }
  else r0 = (a0 - b0) & (sz === 32 ? 0xffffffff : mask(sz));
  c.fk = K_SUB; c.fsz = sz; c.fa0 = a0; c.fa1 = a1; c.fb0 = b0; c.fb1 = b1; c.fr0 = r0 >>> 0; c.fr1 = r1;
}
function readQ(c: Cpu, a: number): number { const lo = c.mem.r64(a); return (c.mem.hi | 0) * TWO32 + lo; }
function storeDt(c: Cpu, a: number, limit: number, base: number): void {
  c.mem.translate(a + 9, 1);
  c.mem.w16(a, limit);
  c.mem.w64(a + 2, base >>> 0, Math.floor(base / TWO32) >>> 0);
}
function storeSel(c: Cpu, op: Op, v: number): void {
  if (op.rg[0] >= 0) { c.regs[2 * op.rg[0]] = op.osz[0] === 16 ? (c.regs[2 * op.rg[0]] & 0xffff0000) | v : v; if (op.osz[0] !== 16) c.regs[2 * op.rg[0] + 1] = 0; }
  else c.mem.w16(eaOf(c, op), v);
}
function segValue(c: Cpu, r: number): number {
  switch (r) { case Register.ES: return c.es; case Register.CS: return c.cs; case Register.SS: return c.ss; case Register.DS: return c.ds; case Register.FS: return c.fsSel; default: return c.gsSel; }
}
function setSeg(c: Cpu, r: number, v: number): void {
  // ktrace-pc does not interpret descriptors (README "Segments"): selectors are recorded, bases stay.
  switch (r) { case Register.ES: c.es = v; break; case Register.SS: c.ss = v; break; case Register.DS: c.ds = v; break; case Register.FS: c.fsSel = v; break; case Register.GS: c.gsSel = v; break; default: fault(c, VEC_UD, 'mov to CS'); }
}

/**
 * ktrace-pc's CPUID: a fixed, documented leaf set. Leaf 0: max leaf 7, vendor "KtraceKtrace"; leaf 1:
 * family 6, EDX = FPU TSC MSR CX8 CMOV, ECX = CX16 POPCNT HYPERVISOR, EBX[31:24] = cpu id; leaf 7: BMI1
 * (tzcnt); 0x80000000: max 0x80000001; 0x80000001: EDX = SYSCALL NX RDTSCP LM, ECX = LAHF ABM (lzcnt).
 * Any other leaf returns zeros.
 */
export function cpuidLeaf(leaf: number, sub: number, c: Cpu): [number, number, number, number] {
  void sub;
  const str = (s: string) => s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24);
  switch (leaf >>> 0) {
    case 0: return [7, str('Ktra') >>> 0, str('race') >>> 0, str('ceKt') >>> 0]; // EBX EDX ECX = "KtraceKtrace"
    case 1: return [0x000006f0, (c.id << 24) >>> 0, ((1 << 13) | (1 << 23) | (1 << 31)) >>> 0, (1 | (1 << 4) | (1 << 5) | (1 << 8) | (1 << 15)) >>> 0];
    case 7: return [0, sub === 0 ? 1 << 3 : 0, 0, 0];
    case 0x80000000: return [0x80000001, 0, 0, 0];
    case 0x80000001: return [0, 0, (1 | (1 << 5)) >>> 0, ((1 << 11) | (1 << 20) | (1 << 27) | (1 << 29)) >>> 0];
    default: return [0, 0, 0, 0];
  }
}
export { PARITY, K_RAW, MASKS };

/** An instruction form ktrace does not implement: #UD with its bytes and disassembly (never a silent wrong result). */
export function unimplemented(c: Cpu, op: Op, reason: string): never {
  const bytes = Array.from(op.bytes.subarray(0, op.len), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return fault(c, VEC_UD, `#UD at ${hex0x(op.ip)}: ${bytes}  ${op.bad === 2 ? '(bad)' : disassemble(op.bytes, op.ip)}  (${reason})`);
}
