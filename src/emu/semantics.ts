// One semantic description per instruction form, as a code generator: each emitter writes a JS statement
// string specialised to the op's operands (registers, addressing, immediates baked in). The interpreter
// compiles single instructions with it and the block compiler (compile.ts) concatenates the same snippets,
// so there is exactly one implementation of every instruction.
//
// Generated code sees: c (Cpu), R (c.regs, Uint32Array lo/hi halves), m (Memory), H (runtime.ts), K (consts).
// Rules every emitter follows for precise faults: read everything first, then memory writes (the only
// thing that can still fault), then register, RSP and flag updates.
import { Mnemonic, OpKind, Register, Code } from './iced.js';
import { K_ADC, K_ADD, K_DEC, K_EXPL, K_INC, K_LOGIC, K_SBB, K_SUB } from './flags.js';
import type { Op } from './decode.js';

export class Gen {
  out: string[] = [];
  private n = 0;
  op!: Op;
  /** store this op's flag results (false when a later op in the block overwrites them unread) */
  flags = true;
  /** The last flag producer earlier in this block, when it is a plain ALU op whose lazy-flag fields
   *  are known to be stored (lets jcc/setcc/cmovcc test the fields directly instead of calling cond()). */
  known: { kind: number; sz: number } | null = null;
  private eaTemp: string | null = null;
  /** Inline the TLB's fast path of loads and stores (compiled blocks). Without it (the one-instruction
   *  path, whose shapes are shared) accesses call Memory's r8..w64, which do the same. */
  inline = false;
  constructor(readonly consts: unknown[]) {}
  /** Load `size` bits at address temp `a` through the read TLB (acc 'r') or, for the destination of a
   *  read-modify-write, the write TLB ('rw'): [lo, hi] temps ('0' below 64 bits). A hit is one access to
   *  the arena (Memory.D); a miss calls Memory, which translates, fills the TLB or faults. */
  load(acc: 'r' | 'rw', size: number, a: string): Pair {
    if (!this.inline) {
      if (size === 64) { const lo = this.t(), hi = this.t(); this.emit(`const ${lo}=m.${acc}64(${a}),${hi}=m.hi;`); return [lo, hi]; }
      const t = this.t(); this.emit(`const ${t}=m.${acc}${size}(${a});`); return [t, '0'];
    }
    const [o, i, hit] = this.probe(acc === 'r' ? 'r' : 'w', size, a), x = acc === 'r' ? 'm.ra' : 'm.wa';
    if (size === 64) {
      const lo = this.t(), hi = this.t(), p = this.t();
      this.emit(`let ${lo},${hi};if(${hit}){const ${p}=${x}[${i}]+${o};${lo}=m.D.getUint32(${p},true);${hi}=m.D.getUint32(${p}+4,true);}else{${lo}=m.${acc}64(${a});${hi}=m.hi;}`);
      return [lo, hi];
    }
    const t = this.t();
    const fast = size === 8 ? `m.U8[${x}[${i}]+${o}]` : `m.D.getUint${size}(${x}[${i}]+${o},true)`;
    this.emit(`const ${t}=${hit}?${fast}:m.${acc}${size}(${a});`);
    return [t, '0'];
  }
  /** Store `size` bits (lo, hi) at address temp `a` through the write TLB (pages holding decoded code
   *  are never in it: such stores take Memory's slow path, which invalidates the code). */
  store(size: number, a: string, lo: string, hi: string): void {
    if (!this.inline) { this.emit(size === 64 ? `m.w64(${a},${lo},${hi});` : `m.w${size}(${a},${lo});`); return; }
    const [o, i, hit] = this.probe('w', size, a);
    let fast: string;
    if (size === 64) { const p = this.t(); fast = `const ${p}=m.wa[${i}]+${o};m.D.setUint32(${p},${lo},true);m.D.setUint32(${p}+4,${hi},true);`; }
    else if (size === 8) fast = `m.U8[m.wa[${i}]+${o}]=${lo};`;
    else fast = `m.D.setUint${size}(m.wa[${i}]+${o},${lo},true);`;
    this.emit(`if(${hit}){${fast}}else ${size === 64 ? `m.w64(${a},${lo},${hi});` : `m.w${size}(${a},${lo});`}`);
  }
  /** The page offset and TLB index temps of address `a`, and the hit test of TLB `t` ('r' or 'w'). */
  private probe(t: 'r' | 'w', size: number, a: string): [string, string, string] {
    const o = this.t(), i = this.t();
    this.emit(`const ${o}=${a}&4095,${i}=(${a}>>12)&4095;`);
    return [o, i, `m.${t}t[${i}]===${a}-${o}${size > 8 ? `&&${o}<=${4096 - size / 8}` : ''}`];
  }
  reset(op: Op, flags: boolean): void { this.op = op; this.flags = flags; this.eaTemp = null; }
  t(): string { return 'v' + this.n++; }
  emit(s: string): void { this.out.push(s); }
  k(x: unknown): string { this.consts.push(x); return `K[${this.consts.length - 1}]`; }
  /** temp holding an expression */
  let(expr: string): string { if (/^(v\d+|\d+)$/.test(expr)) return expr; const t = this.t(); this.emit(`const ${t}=${expr};`); return t; }
  /** the memory operand's effective address (computed once per op) */
  ea(): string {
    if (this.eaTemp) return this.eaTemp;
    const M = this.op.mem!;
    let e: string;
    if (!Number.isNaN(M.abs)) e = String(M.abs);
    else if (M.addr32) {
      const parts: string[] = [];
      if (M.base >= 0) parts.push(`R[${2 * M.base}]`);
      if (M.index >= 0) parts.push(`R[${2 * M.index}]*${M.scale}`);
      parts.push(String(M.disp));
      e = `((${parts.join('+')})>>>0)`;
    } else if (M.index >= 0) {
      // base + index*scale wraps modulo 2^64 (an index of 0x7fff... times 8 is a small negative number):
      // add the 32-bit halves exactly, then form the signed address
      const dlo = M.disp >>> 0, dhi = Math.floor(M.disp / 4294967296) | 0;
      const l = this.t();
      const bl = M.base >= 0 ? `R[${2 * M.base}]+` : '', bh = M.base >= 0 ? `R[${2 * M.base + 1}]+` : '';
      this.emit(`const ${l}=${bl}R[${2 * M.index}]*${M.scale}+${dlo};`);
      // ${l} >= 0, and multiplying by 2^-32 is exact: its integer part is the carry into the high half
      e = `((${bh}R[${2 * M.index + 1}]*${M.scale}+${dhi}+((${l}*2.3283064365386963e-10)|0))|0)*4294967296+(${l}>>>0)`;
    } else {
      // base + disp as a signed number is exact: a base beyond 2^53 stays non-canonical whatever the disp
      const parts: string[] = [];
      if (M.base >= 0) parts.push(`((R[${2 * M.base + 1}]|0)*4294967296+R[${2 * M.base}])`);
      if (M.disp !== 0 || parts.length === 0) parts.push(String(M.disp));
      e = parts.join('+');
    }
    if (M.seg === 1) e = `c.fsb+${e}`; else if (M.seg === 2) e = `c.gsb+${e}`;
    const t = this.t(); this.emit(`const ${t}=${e};`);
    return (this.eaTemp = t);
  }
}

export type Pair = [string, string];
const MASK: Record<number, string> = { 8: '255', 16: '65535' };

function isMem(op: Op, i: number): boolean { return op.kind[i] === OpKind.Memory; }
function isImm(op: Op, i: number): boolean { return op.kind[i] >= OpKind.Immediate8 && op.kind[i] <= OpKind.Immediate32to64; }
function isGpr(op: Op, i: number): boolean { return op.kind[i] === OpKind.Register && op.rg[i] >= 0; }

/** Read operand i as `sz` bits: [lo, hi] expressions of unsigned values (hi '0' below 64 bits). */
export function rd(g: Gen, i: number, sz = g.op.osz[i], rmw = false): Pair {
  const op = g.op;
  if (isGpr(op, i)) {
    const r = op.rg[i], L = `R[${2 * r}]`;
    switch (op.osz[i]) {
      case 64: return sz === 64 ? [L, `R[${2 * r + 1}]`] : [sz === 32 ? L : `(${L}&${MASK[sz]})`, '0'];
      case 32: return [sz >= 32 ? L : `(${L}&${MASK[sz]})`, '0'];
      case 16: return [`(${L}&65535)`, '0'];
      default: return [op.rh[i] ? `((${L}>>>8)&255)` : `(${L}&255)`, '0'];
    }
  }
  if (isImm(op, i)) {
    const lo = op.imlo[i], hi = op.imhi[i];
    return sz === 64 ? [String(lo), String(hi)] : [String(sz === 32 ? lo : lo & (sz === 16 ? 65535 : 255)), '0'];
  }
  if (isMem(op, i)) {
    const s = op.osz[i];
    const [t, hi] = g.load(rmw ? 'rw' : 'r', s, g.ea());
    if (s === 64) return sz === 64 ? [t, hi] : [t, '0'];
    return [sz >= s ? t : `(${t}&${MASK[sz]})`, '0'];
  }
  throw new Error(`rd: operand ${i} kind ${op.kind[i]}`);
}
/** Read into temps (so later writes cannot change what was read). */
export function rdT(g: Gen, i: number, sz?: number, rmw = false): Pair {
  const [lo, hi] = rd(g, i, sz, rmw);
  return [g.let(lo), hi === '0' ? '0' : g.let(hi)];
}
export function wrReg(g: Gen, r: number, h: number, sz: number, lo: string, hi: string): void {
  const L = `R[${2 * r}]`;
  switch (sz) {
    case 64: g.emit(`${L}=${lo};R[${2 * r + 1}]=${hi};`); break;
    case 32: g.emit(`${L}=${lo};R[${2 * r + 1}]=0;`); break;
    case 16: g.emit(`${L}=(${L}&0xffff0000)|((${lo})&65535);`); break;
    default: g.emit(h ? `${L}=(${L}&0xffff00ff)|(((${lo})&255)<<8);` : `${L}=(${L}&0xffffff00)|((${lo})&255);`);
  }
}
/** Write operand i (register or memory) with `sz` = its size. */
export function wr(g: Gen, i: number, lo: string, hi: string): void {
  const op = g.op, sz = op.osz[i];
  if (isGpr(op, i)) return wrReg(g, op.rg[i], op.rh[i], sz, lo, hi);
  if (isMem(op, i)) { g.store(sz, g.ea(), lo, hi); return; }
  throw new Error(`wr: operand ${i} kind ${op.kind[i]}`);
}

function flagStore(g: Gen, kind: number, sz: number, a: Pair | null, b: Pair | null, r: Pair, extra = ''): void {
  if (!g.flags) return;
  let s = `c.fk=${kind};c.fsz=${sz};c.fr0=${r[0]};`;
  if (sz === 64) s += `c.fr1=${r[1]};`;
  if (a) { s += `c.fa0=${a[0]};`; if (sz === 64) s += `c.fa1=${a[1]};`; }
  if (b) { s += `c.fb0=${b[0]};`; if (sz === 64) s += `c.fb1=${b[1]};`; }
  g.emit(s + extra);
}

// ---- integer arithmetic ----
function addPair(g: Gen, sz: number, a: Pair, b: Pair, ci: string): Pair {
  if (sz === 64) {
    const s = g.let(`${a[0]}+${b[0]}${ci === '0' ? '' : '+' + ci}`);
    return [g.let(`${s}>>>0`), g.let(`(${a[1]}+${b[1]}+(${s}>4294967295?1:0))>>>0`)];
  }
  return [g.let(sz === 32 ? `(${a[0]}+${b[0]}${ci === '0' ? '' : '+' + ci})>>>0` : `(${a[0]}+${b[0]}${ci === '0' ? '' : '+' + ci})&${MASK[sz]}`), '0'];
}
function subPair(g: Gen, sz: number, a: Pair, b: Pair, ci: string): Pair {
  if (sz === 64) {
    const d = g.let(`${a[0]}-${b[0]}${ci === '0' ? '' : '-' + ci}`);
    return [g.let(`${d}>>>0`), g.let(`(${a[1]}-${b[1]}-(${d}<0?1:0))>>>0`)];
  }
  return [g.let(sz === 32 ? `(${a[0]}-${b[0]}${ci === '0' ? '' : '-' + ci})>>>0` : `(${a[0]}-${b[0]}${ci === '0' ? '' : '-' + ci})&${MASK[sz]}`), '0'];
}

const ALU: Record<number, string> = {
  [Mnemonic.Add]: 'add', [Mnemonic.Or]: 'or', [Mnemonic.Adc]: 'adc', [Mnemonic.Sbb]: 'sbb', [Mnemonic.And]: 'and',
  [Mnemonic.Sub]: 'sub', [Mnemonic.Xor]: 'xor', [Mnemonic.Cmp]: 'cmp', [Mnemonic.Test]: 'test',
};
function emitAlu(g: Gen): void {
  const op = g.op, sz = op.osz[0], k = ALU[op.mn];
  const a = rdT(g, 0, sz, k !== 'cmp' && k !== 'test'), b = rdT(g, 1, sz);
  let r: Pair;
  switch (k) {
    case 'add': case 'adc': case 'sub': case 'sbb': case 'cmp': {
      const ci = k === 'adc' || k === 'sbb' ? g.let('H.cf(c)') : '0';
      r = k === 'add' || k === 'adc' ? addPair(g, sz, a, b, ci) : subPair(g, sz, a, b, ci);
      if (k !== 'cmp') wr(g, 0, r[0], r[1]);
      const kind = k === 'add' ? K_ADD : k === 'adc' ? K_ADC : k === 'sbb' ? K_SBB : K_SUB;
      flagStore(g, kind, sz, a, b, r, ci !== '0' ? `c.fcf=${ci};` : '');
      return;
    }
    default: {
      const o = k === 'or' ? '|' : k === 'xor' ? '^' : '&';
      r = [g.let(`(${a[0]}${o}${b[0]})>>>0`), sz === 64 ? g.let(`(${a[1]}${o}${b[1]})>>>0`) : '0'];
      if (k !== 'test') wr(g, 0, r[0], r[1]);
      flagStore(g, K_LOGIC, sz, null, null, r);
    }
  }
}

function emitIncDec(g: Gen): void {
  const op = g.op, sz = op.osz[0], inc = op.mn === Mnemonic.Inc;
  const a = rdT(g, 0, undefined, true);
  const one: Pair = ['1', '0'];
  const r = inc ? addPair(g, sz, a, one, '0') : subPair(g, sz, a, one, '0');
  wr(g, 0, r[0], r[1]);
  if (g.flags) { const ci = g.let('H.cf(c)'); flagStore(g, inc ? K_INC : K_DEC, sz, a, one, r, `c.fcf=${ci};`); }
}
function emitNeg(g: Gen): void {
  const sz = g.op.osz[0];
  const b = rdT(g, 0, undefined, true), z: Pair = ['0', '0'];
  const r = subPair(g, sz, z, b, '0');
  wr(g, 0, r[0], r[1]);
  flagStore(g, K_SUB, sz, z, b, r);
}
function emitNot(g: Gen): void {
  const sz = g.op.osz[0];
  const a = rdT(g, 0, undefined, true);
  if (sz === 64) wr(g, 0, `(~${a[0]})>>>0`, `(~${a[1]})>>>0`);
  else wr(g, 0, sz === 32 ? `(~${a[0]})>>>0` : `(~${a[0]})&${MASK[sz]}`, '0');
}

// ---- data movement ----
function emitMov(g: Gen): void {
  const op = g.op;
  if (op.kind[0] === OpKind.Register && op.rg[0] < 0) return emitMovSys(g);
  if (op.kind[1] === OpKind.Register && op.rg[1] < 0) return emitMovSys(g);
  const [lo, hi] = rd(g, 1, op.osz[0]);
  wr(g, 0, lo, hi);
}
function emitMovSys(g: Gen): void {
  // mov to/from CRn and segment registers: privileged/system state lives in runtime.ts
  g.emit(`H.movSys(c,${g.k(g.op)});`);
}
function signExt(g: Gen, v: string, from: number, to: number): Pair {
  const s = from === 32 ? g.let(`${v}|0`) : g.let(`(${v}<<${32 - from})>>${32 - from}`);
  if (to === 64) return [g.let(`${s}>>>0`), `(${s}<0?4294967295:0)`];
  return [to === 32 ? `${s}>>>0` : `${s}&${MASK[to]}`, '0'];
}
function emitMovzx(g: Gen): void {
  const [lo] = rd(g, 1);
  wr(g, 0, lo, '0');
}
function emitMovsx(g: Gen): void {
  const op = g.op;
  const [lo] = rdT(g, 1);
  const r = signExt(g, lo, op.osz[1], op.osz[0]);
  wr(g, 0, r[0], r[1]);
}
function emitCext(g: Gen): void {
  // cbw/cwde/cdqe: sign-extend the low half of rAX in place
  switch (g.op.mn) {
    case Mnemonic.Cbw: { const r = signExt(g, '(R[0]&255)', 8, 16); wrReg(g, 0, 0, 16, r[0], '0'); break; }
    case Mnemonic.Cwde: { const r = signExt(g, '(R[0]&65535)', 16, 32); wrReg(g, 0, 0, 32, r[0], '0'); break; }
    default: { g.emit(`R[1]=(R[0]|0)<0?4294967295:0;`); }
  }
}
function emitCdx(g: Gen): void {
  // cwd/cdq/cqo: rDX = sign of rAX
  switch (g.op.mn) {
    case Mnemonic.Cwd: g.emit(`R[4]=(R[4]&0xffff0000)|((R[0]&32768)?65535:0);`); break;
    case Mnemonic.Cdq: g.emit(`R[4]=(R[0]|0)<0?4294967295:0;R[5]=0;`); break;
    default: g.emit(`R[4]=R[5]=(R[1]|0)<0?4294967295:0;`);
  }
}
function emitLea(g: Gen): void {
  const op = g.op, M = op.mem!, sz = op.osz[0];
  if (!Number.isNaN(M.abs)) {
    const v = M.abs;
    const lo = v >>> 0, hi = Math.floor(v / 4294967296) >>> 0;
    wr(g, 0, String(sz === 16 ? lo & 65535 : lo), String(hi));
    return;
  }
  const dlo = M.disp >>> 0, dhi = Math.floor(M.disp / 4294967296) >>> 0;
  const lp: string[] = [], hp: string[] = [];
  if (M.base >= 0) { lp.push(`R[${2 * M.base}]`); hp.push(`R[${2 * M.base + 1}]`); }
  if (M.index >= 0) { lp.push(`R[${2 * M.index}]*${M.scale}`); hp.push(`R[${2 * M.index + 1}]*${M.scale}`); }
  lp.push(String(dlo)); hp.push(String(dhi));
  const l = g.let(lp.join('+'));
  if (sz === 64 && !M.addr32) {
    hp.push(`Math.floor(${l}/4294967296)`);
    wr(g, 0, `${l}>>>0`, `(${hp.join('+')})>>>0`);
  } else wr(g, 0, sz === 16 ? `${l}&65535` : `${l}>>>0`, '0');
}
function emitXchg(g: Gen): void {
  const op = g.op;
  const a = rdT(g, 0, undefined, true), b = rdT(g, 1, undefined, true);
  // memory first (the only write that can fault), then the register
  if (isMem(op, 0)) { wr(g, 0, b[0], b[1]); wr(g, 1, a[0], a[1]); } else { wr(g, 1, a[0], a[1]); wr(g, 0, b[0], b[1]); }
}
function emitBswap(g: Gen): void {
  const sz = g.op.osz[0];
  const a = rdT(g, 0);
  const sw = (v: string) => `(((${v})<<24)|(((${v})<<8)&0xff0000)|(((${v})>>>8)&0xff00)|((${v})>>>24))>>>0`;
  if (sz === 64) { const l = g.let(sw(a[1])), h = g.let(sw(a[0])); wr(g, 0, l, h); }
  else if (sz === 32) wr(g, 0, sw(a[0]), '0');
  else wr(g, 0, '0', '0'); // bswap r16 is undefined; hardware gives 0 in practice
}
function emitCmpxchg(g: Gen): void {
  const op = g.op, sz = op.osz[0];
  const d = rdT(g, 0, undefined, true), s = rdT(g, 1);
  const acc: Pair = sz === 64 ? [g.let('R[0]'), g.let('R[1]')] : [g.let(sz === 32 ? 'R[0]' : `(R[0]&${MASK[sz]})`), '0'];
  const eq = sz === 64 ? `${acc[0]}===${d[0]}&&${acc[1]}===${d[1]}` : `${acc[0]}===${d[0]}`;
  const r = subPair(g, sz, acc, d, '0');
  const t = g.t();
  g.emit(`const ${t}=${eq};`);
  // the destination is always written (with its old value when unequal), as on hardware with lock
  g.emit(`if(${t}){`); wr(g, 0, s[0], s[1]); g.emit(`}else{`);
  // memory is written back with its old value (a locked RMW always writes); a register destination is
  // left untouched (the host-CPU corpus shows no zero-extension of a 32-bit destination when unequal)
  if (isMem(op, 0)) wr(g, 0, d[0], d[1]);
  wrReg(g, 0, 0, sz, d[0], d[1]);
  g.emit(`}`);
  flagStore(g, K_SUB, sz, acc, d, r);
}
function emitXadd(g: Gen): void {
  const op = g.op, sz = op.osz[0];
  const d = rdT(g, 0, undefined, true), s = rdT(g, 1);
  const r = addPair(g, sz, d, s, '0');
  if (isMem(op, 0)) { wr(g, 0, r[0], r[1]); wr(g, 1, d[0], d[1]); } else { wr(g, 1, d[0], d[1]); wr(g, 0, r[0], r[1]); }
  flagStore(g, K_ADD, sz, d, s, r);
}

// ---- conditions ----
export function cc(g: Gen): string { return (g.known && fusedCond(g.known.kind, g.known.sz, g.op.cc)) || `H.c${g.op.cc}(c)`; }

/**
 * A condition (x86 tttn order) straight from the stored lazy-flag fields of a known producer; '' when
 * there is no shortcut. Same definitions as flags.ts (CF = unsigned a<b for SUB, etc.).
 */
export function fusedCond(kind: number, sz: number, cc: number): string {
  const neg = (e: string) => (cc & 1 ? `!(${e})` : e);
  const z = sz === 64 ? '(c.fr0|c.fr1)===0' : 'c.fr0===0';
  const sgn = (f: string) => sz === 64 ? `(c.${f}1|0)<0` : sz === 32 ? `(c.${f}0|0)<0` : `(c.${f}0&${sz === 16 ? 32768 : 128})!==0`;
  const s = sgn('fr');
  const sx = (f: string) => sz === 32 ? `(c.${f}0|0)` : `((c.${f}0<<${32 - sz})>>${32 - sz})`;
  const ult = sz === 64 ? '(c.fa1<c.fb1||(c.fa1===c.fb1&&c.fa0<c.fb0))' : 'c.fa0<c.fb0';
  const slt = sz === 64 ? '((c.fa1|0)<(c.fb1|0)||(c.fa1===c.fb1&&c.fa0<c.fb0))' : `${sx('fa')}<${sx('fb')}`;
  const t = cc >> 1;
  if (t === 2) return neg(z);
  if (t === 4) return neg(s);
  if (kind === K_SUB) {
    switch (t) {
      case 1: return neg(ult);
      case 3: return neg(`${ult}||${z}`);
      case 6: return neg(slt);
      case 7: return neg(`${slt}||${z}`);
    }
  } else if (kind === K_LOGIC) {
    switch (t) {
      case 0: return cc & 1 ? 'true' : 'false';
      case 1: return cc & 1 ? 'true' : 'false';
      case 3: return neg(z);
      case 6: return neg(s);
      case 7: return neg(`${z}||${s}`);
    }
  }
  return '';
}
/** Kind and width of this op's lazy flags when it is a plain producer (alu/inc/dec/neg), else null. */
export function producerOf(op: Op): { kind: number; sz: number } | null {
  const sz = op.osz[0];
  switch (op.mn) {
    case Mnemonic.Add: return { kind: K_ADD, sz };
    case Mnemonic.Sub: case Mnemonic.Cmp: case Mnemonic.Neg: return { kind: K_SUB, sz };
    case Mnemonic.And: case Mnemonic.Or: case Mnemonic.Xor: case Mnemonic.Test: return { kind: K_LOGIC, sz };
    case Mnemonic.Inc: return { kind: K_INC, sz };
    case Mnemonic.Dec: return { kind: K_DEC, sz };
    default: return null;
  }
}
function emitSetcc(g: Gen): void { wr(g, 0, `(${cc(g)}?1:0)`, '0'); }
function emitCmovcc(g: Gen): void {
  const op = g.op, sz = op.osz[0];
  const s = rdT(g, 1), t = g.t();
  g.emit(`const ${t}=${cc(g)};`);
  if (sz === 32) { g.emit(`if(${t})R[${2 * op.rg[0]}]=${s[0]};R[${2 * op.rg[0] + 1}]=0;`); return; }
  g.emit(`if(${t}){`); wr(g, 0, s[0], s[1]); g.emit('}');
}

// ---- multiply, divide, shifts, bits: in runtime.ts (H), operands read/written here ----
function emitMul1(g: Gen): void {
  const [lo, hi] = rdT(g, 0);
  g.emit(`H.${g.op.mn === Mnemonic.Mul ? 'mul' : 'imul1'}(c,${g.op.osz[0]},${lo},${hi});`);
}
function emitImul(g: Gen): void {
  const op = g.op;
  if (op.nops === 1) return emitMul1(g);
  const sz = op.osz[0];
  const a = op.nops === 2 ? rdT(g, 0) : rdT(g, 1, sz);
  const b = op.nops === 2 ? rdT(g, 1, sz) : rdT(g, 2, sz);
  const lo = g.let(`H.imul2(c,${sz},${a[0]},${a[1]},${b[0]},${b[1]})`);
  wr(g, 0, lo, sz === 64 ? 'H.rhi' : '0');
}
function emitDiv(g: Gen): void {
  const [lo, hi] = rdT(g, 0);
  g.emit(`H.${g.op.mn === Mnemonic.Div ? 'div' : 'idiv'}(c,${g.op.osz[0]},${lo},${hi});`);
}
const SHIFT_KIND: Record<number, number> = {
  [Mnemonic.Rol]: 0, [Mnemonic.Ror]: 1, [Mnemonic.Rcl]: 2, [Mnemonic.Rcr]: 3, [Mnemonic.Shl]: 4, [Mnemonic.Sal]: 4,
  [Mnemonic.Shr]: 5, [Mnemonic.Sar]: 7,
};
function emitShift(g: Gen): void {
  const op = g.op, sz = op.osz[0], k = SHIFT_KIND[op.mn];
  const a = rdT(g, 0, undefined, true);
  const cnt = op.nops === 1 ? '1' : rd(g, 1, 8)[0];
  // Fast path: 32-bit shl/shr/sar by a constant (the compiler's favourite), fully inline.
  if (sz === 32 && (k === 4 || k === 5 || k === 7) && isImm(op, 1) || (sz === 32 && op.nops === 1 && k >= 4)) {
    const n = (op.nops === 1 ? 1 : op.imlo[1]) & 31;
    if (n === 0) { wr(g, 0, a[0], '0'); return; }
    let r: string, cf: string, of: string;
    if (k === 4) { r = g.let(`(${a[0]}<<${n})>>>0`); cf = `(${a[0]}>>>${32 - n})&1`; of = `((${r}>>>31)^((${a[0]}>>>${32 - n})&1))`; }
    else if (k === 5) { r = g.let(`${a[0]}>>>${n}`); cf = `(${a[0]}>>>${n - 1})&1`; of = `(${a[0]}>>>31)`; }
    else { r = g.let(`(${a[0]}>>${n})>>>0`); cf = `(${a[0]}>>${n - 1})&1`; of = '0'; }
    wr(g, 0, r, '0');
    if (g.flags) g.emit(`c.fk=${K_EXPL};c.fsz=32;c.fr0=${r};c.fcf=${cf};c.fof=${of};c.faf=0;`);
    return;
  }
  if (sz === 32 && (k === 0 || k === 1) && isImm(op, 1)) {
    // rol/ror by a constant: inline; only CF and OF change, so flags are materialized only when needed
    const n = op.imlo[1] & 31;
    if (n === 0) { wr(g, 0, a[0], '0'); return; }
    const r = g.let(k === 0 ? `((${a[0]}<<${n})|(${a[0]}>>>${32 - n}))>>>0` : `((${a[0]}>>>${n})|(${a[0]}<<${32 - n}))>>>0`);
    wr(g, 0, r, '0');
    if (g.flags) {
      if (k === 0) g.emit(`H.setCO(c,${r}&1,(${r}>>>31)^(${r}&1));`);
      else g.emit(`H.setCO(c,${r}>>>31,(${r}>>>31)^((${r}>>>30)&1));`);
    }
    return;
  }
  const r = g.let(`H.shift(c,${k},${sz},${a[0]},${a[1]},${cnt})`);
  wr(g, 0, r, sz === 64 ? 'H.rhi' : '0');
  // H.shift updates the flags itself (they depend on the run-time count)
}
function emitShd(g: Gen): void {
  const op = g.op, sz = op.osz[0];
  const a = rdT(g, 0, undefined, true), b = rdT(g, 1, sz);
  const cnt = rd(g, 2, 8)[0];
  const r = g.let(`H.shd(c,${op.mn === Mnemonic.Shrd ? 1 : 0},${sz},${a[0]},${a[1]},${b[0]},${b[1]},${cnt})`);
  wr(g, 0, r, sz === 64 ? 'H.rhi' : '0');
}
function emitBt(g: Gen): void {
  const op = g.op, sz = op.osz[0];
  const mode = op.mn === Mnemonic.Bt ? 0 : op.mn === Mnemonic.Bts ? 1 : op.mn === Mnemonic.Btr ? 2 : 3;
  let n: string;
  if (isMem(op, 0) && !isImm(op, 1)) {
    // bit-string addressing: a register offset selects any operand-sized word around the address (SDM BT)
    const s = rdT(g, 1);
    const off = g.let(sz === 64 ? `(${s[1]}|0)*4294967296+${s[0]}` : sz === 32 ? `${s[0]}|0` : `(${s[0]}<<16)>>16`);
    const w = g.let(`Math.floor(${off}/${sz})`);
    const a0 = g.ea();
    const a = g.t();
    g.emit(`const ${a}=${a0}+${w}*${sz / 8};`);
    n = g.let(`${off}-${w}*${sz}`);
    const v = g.t(), vh = g.t();
    const acc = mode === 0 ? 'r' : 'rw';
    if (sz === 64) g.emit(`const ${v}=m.${acc}64(${a}),${vh}=m.hi;`); else g.emit(`const ${v}=m.${acc}${sz}(${a}),${vh}=0;`);
    btBody(g, mode, sz, v, vh, n, (lo, hi) => g.emit(sz === 64 ? `m.w64(${a},${lo},${hi});` : `m.w${sz}(${a},${lo});`));
    return;
  }
  const s = rd(g, 1, sz);
  n = g.let(`(${s[0]})&${sz - 1}`);
  const v = rdT(g, 0, undefined, mode !== 0);
  btBody(g, mode, sz, v[0], v[1], n, (lo, hi) => wr(g, 0, lo, hi));
}
function btBody(g: Gen, mode: number, sz: number, lo: string, hi: string, n: string, write: (lo: string, hi: string) => void): void {
  const bit = g.let(sz === 64 ? `(${n}<32?(${lo}>>>${n}):(${hi}>>>(${n}-32)))&1` : `(${lo}>>>${n})&1`);
  if (mode !== 0) {
    const op = mode === 1 ? '|' : mode === 2 ? '&~' : '^';
    if (sz === 64) {
      const l = g.let(`${n}<32?(${lo}${op}(1<<${n}))>>>0:${lo}`), h = g.let(`${n}>=32?(${hi}${op}(1<<(${n}-32)))>>>0:${hi}`);
      write(l, h);
    } else write(sz === 32 ? `(${lo}${op}(1<<${n}))>>>0` : `(${lo}${op}(1<<${n}))&${MASK[sz]}`, '0');
  }
  g.emit(`H.setCF(c,${bit});`);
}
function emitBitScan(g: Gen): void {
  const op = g.op, sz = op.osz[0];
  const s = rdT(g, 1);
  const name = op.mn === Mnemonic.Bsf ? 'bsf' : op.mn === Mnemonic.Bsr ? 'bsr' : op.mn === Mnemonic.Tzcnt ? 'tzcnt' : op.mn === Mnemonic.Lzcnt ? 'lzcnt' : 'popcnt';
  const r = g.let(`H.${name}(c,${sz},${s[0]},${s[1]})`);
  // bsf/bsr leave the destination unchanged for a zero source (H returns -1)
  if (name === 'bsf' || name === 'bsr') { g.emit(`if(${r}>=0){`); wr(g, 0, r, '0'); g.emit('}'); }
  else wr(g, 0, r, '0');
}

// ---- stack ----
/** push the pair (size 64 or 16); RSP is updated only after the store succeeded */
function push(g: Gen, v: Pair, sz = 64): void {
  const b = sz / 8;
  const s0 = g.let('R[8]'), a = g.t();
  g.emit(`const ${a}=(R[9]|0)*4294967296+${s0}-${b};`);
  g.store(sz, a, v[0], v[1]);
  g.emit(`R[8]=${s0}-${b};if(${s0}<${b})R[9]=R[9]-1;`);
}
/** pop into temps; RSP update emitted by the caller via popDone */
function popRead(g: Gen, sz = 64): { v: Pair; s0: string } {
  const s0 = g.let('R[8]'), a = g.t();
  g.emit(`const ${a}=(R[9]|0)*4294967296+${s0};`);
  return { v: g.load('r', sz, a), s0 };
}
function popDone(g: Gen, s0: string, n: number): void {
  g.emit(`R[8]=${s0}+${n};if(${s0}>=${4294967296 - n})R[9]=R[9]+1;`);
}
function emitPush(g: Gen): void {
  const op = g.op;
  if (op.kind[0] === OpKind.Register && op.rg[0] < 0) { g.emit(`H.pushSeg(c,${g.k(op)});`); return; }
  const sz = op.stackInc === -2 ? 16 : 64;
  const v = rdT(g, 0, sz);
  push(g, v, sz);
}
function emitPop(g: Gen): void {
  const op = g.op;
  if (op.kind[0] === OpKind.Register && op.rg[0] < 0) { g.emit(`H.popSeg(c,${g.k(op)});`); return; }
  const sz = op.stackInc === 2 ? 16 : 64;
  const { v, s0 } = popRead(g, sz);
  if (isMem(op, 0)) {
    // SDM POP: an RSP-based destination address is computed after RSP is incremented; undo it on a fault
    const h0 = g.let('R[9]');
    popDone(g, s0, sz / 8);
    g.emit('try{'); wr(g, 0, v[0], v[1]); g.emit(`}catch(e){R[8]=${s0};R[9]=${h0};throw e;}`);
    return;
  }
  popDone(g, s0, sz / 8);
  wr(g, 0, v[0], v[1]);
}
function emitLeave(g: Gen): void {
  if (g.op.code === Code.Leavew) {
    // 16-bit: rsp = rbp; bp = pop16
    const a = g.t(), v = g.t();
    g.emit(`const ${a}=(R[11]|0)*4294967296+R[10];const ${v}=m.r16(${a});`);
    g.emit(`R[8]=(R[10]+2)>>>0;R[9]=R[10]>=4294967294?(R[11]+1)>>>0:R[11];R[10]=(R[10]&0xffff0000)|${v};`);
    return;
  }
  // rsp = rbp; pop rbp
  const a = g.t();
  g.emit(`const ${a}=(R[11]|0)*4294967296+R[10];`);
  const [lo, hi] = g.load('r', 64, a);
  g.emit(`R[8]=(R[10]+8)>>>0;R[9]=R[10]>=4294967288?(R[11]+1)>>>0:R[11];R[10]=${lo};R[11]=${hi};`);
}
function emitPushf(g: Gen): void {
  const v = g.let('H.pushfVal(c)');
  push(g, [v, '0'], g.op.stackInc === -2 ? 16 : 64);
}

// ---- control flow ----
function toNum(p: Pair): string { return `(${p[1]}|0)*4294967296+${p[0]}`; }
function branchTo(g: Gen, t: string): void {
  g.emit(`if(!(${t}>=-140737488355328&&${t}<140737488355328))H.gp(c);c.rip=${t};`);
}
function emitJmp(g: Gen): void {
  const op = g.op;
  if (!Number.isNaN(op.target)) { g.emit(`c.rip=${op.target};`); return; }
  const v = rdT(g, 0, 64);
  branchTo(g, g.let(toNum(v)));
}
function emitJcc(g: Gen): void { g.emit(`c.rip=${cc(g)}?${g.op.target}:${g.op.next};`); }
function emitCall(g: Gen): void {
  const op = g.op;
  const ret: Pair = [String(op.next >>> 0), String(Math.floor(op.next / 4294967296) >>> 0)];
  if (!Number.isNaN(op.target)) { push(g, ret); g.emit(`c.rip=${op.target};`); return; }
  const v = rdT(g, 0, 64);
  const t = g.let(toNum(v));
  g.emit(`if(!(${t}>=-140737488355328&&${t}<140737488355328))H.gp(c);`);
  push(g, ret);
  g.emit(`c.rip=${t};`);
}
function emitRet(g: Gen): void {
  const op = g.op;
  const { v, s0 } = popRead(g);
  const t = g.let(toNum(v));
  g.emit(`if(!(${t}>=-140737488355328&&${t}<140737488355328))H.gp(c);`);
  popDone(g, s0, 8 + (op.nops ? op.imlo[0] : 0));
  g.emit(`c.rip=${t};`);
}
function emitJrcxz(g: Gen): void {
  const op = g.op;
  const z = op.mn === Mnemonic.Jrcxz ? '(R[2]|R[3])===0' : op.mn === Mnemonic.Jecxz ? 'R[2]===0' : '(R[2]&65535)===0';
  g.emit(`c.rip=${z}?${op.target}:${op.next};`);
}
function emitLoop(g: Gen): void {
  const op = g.op;
  // 64-bit address size: RCX is the counter; no flags are changed
  g.emit(`if(R[2]===0)R[3]=R[3]-1;R[2]=R[2]-1;`);
  let cond = '(R[2]|R[3])!==0';
  if (op.mn === Mnemonic.Loope) cond += '&&H.c4(c)';
  else if (op.mn === Mnemonic.Loopne) cond += '&&H.c5(c)';
  g.emit(`c.rip=${cond}?${op.target}:${op.next};`);
}

// ---- strings ----
function emitString(g: Gen): void {
  const op = g.op;
  const names: Record<number, [string, number]> = {
    [Mnemonic.Movsb]: ['movs', 8], [Mnemonic.Movsw]: ['movs', 16], [Mnemonic.Movsd]: ['movs', 32], [Mnemonic.Movsq]: ['movs', 64],
    [Mnemonic.Stosb]: ['stos', 8], [Mnemonic.Stosw]: ['stos', 16], [Mnemonic.Stosd]: ['stos', 32], [Mnemonic.Stosq]: ['stos', 64],
    [Mnemonic.Lodsb]: ['lods', 8], [Mnemonic.Lodsw]: ['lods', 16], [Mnemonic.Lodsd]: ['lods', 32], [Mnemonic.Lodsq]: ['lods', 64],
    [Mnemonic.Cmpsb]: ['cmps', 8], [Mnemonic.Cmpsw]: ['cmps', 16], [Mnemonic.Cmpsd]: ['cmps', 32], [Mnemonic.Cmpsq]: ['cmps', 64],
    [Mnemonic.Scasb]: ['scas', 8], [Mnemonic.Scasw]: ['scas', 16], [Mnemonic.Scasd]: ['scas', 32], [Mnemonic.Scasq]: ['scas', 64],
  };
  const [n, sz] = names[op.mn];
  // the source (rsi) may carry an fs/gs override; the destination is always es:rdi (base 0 in 64-bit mode)
  const base = op.strSeg === 1 ? 'c.fsb' : op.strSeg === 2 ? 'c.gsb' : '0';
  g.emit(`H.${n}(c,${sz},${op.rep},${base});`);
}

// ---- system: implemented in runtime.ts, which gets the op for its details ----
function sys(name: string) { return (g: Gen) => g.emit(`H.${name}(c,${g.k(g.op)});`); }
function flagOp(expr: string) { return (g: Gen) => g.emit(expr); }

export interface Form {
  emit: (g: Gen) => void;
  /** must be the last instruction of a block (changes IF/TF/CPL/mode, stops, or talks to the host) */
  ends?: boolean;
  /** reads every flag as data (pushf, lahf, system instructions). Forms that materialize RFLAGS only to
   *  update some bits do not need this: a flag live after them is either written by them or passes
   *  through, so it is live (and stored) before them too. */
  readsAll?: boolean;
  /** writes flags only for some operand values (do not let it kill earlier flag stores) */
  condFlags?: boolean;
}

const BY_MN: (Form | undefined)[] = [];
function def(mns: number[], f: Form): void { for (const m of mns) BY_MN[m] = f; }

def([Mnemonic.Add, Mnemonic.Or, Mnemonic.Adc, Mnemonic.Sbb, Mnemonic.And, Mnemonic.Sub, Mnemonic.Xor, Mnemonic.Cmp, Mnemonic.Test], { emit: emitAlu });
def([Mnemonic.Inc, Mnemonic.Dec], { emit: emitIncDec });
def([Mnemonic.Neg], { emit: emitNeg });
def([Mnemonic.Not], { emit: emitNot });
def([Mnemonic.Mov], { emit: emitMov });
def([Mnemonic.Movzx], { emit: emitMovzx });
def([Mnemonic.Movsx, Mnemonic.Movsxd], { emit: emitMovsx });
def([Mnemonic.Cbw, Mnemonic.Cwde, Mnemonic.Cdqe], { emit: emitCext });
def([Mnemonic.Cwd, Mnemonic.Cdq, Mnemonic.Cqo], { emit: emitCdx });
def([Mnemonic.Lea], { emit: emitLea });
def([Mnemonic.Xlatb], { emit: (g) => { const a = g.t(); g.emit(`const ${a}=(R[7]|0)*4294967296+R[6]+(R[0]&255);R[0]=(R[0]&0xffffff00)|m.r8(${a});`); } });
def([Mnemonic.Xchg], { emit: emitXchg });
def([Mnemonic.Bswap], { emit: emitBswap });
def([Mnemonic.Cmpxchg], { emit: emitCmpxchg });
def([Mnemonic.Xadd], { emit: emitXadd });
def([Mnemonic.Cmpxchg8b, Mnemonic.Cmpxchg16b], { emit: (g) => g.emit(`H.cmpxchgNb(c,${g.op.mn === Mnemonic.Cmpxchg16b ? 16 : 8},${g.ea()});`) });
def([Mnemonic.Seto, Mnemonic.Setno, Mnemonic.Setb, Mnemonic.Setae, Mnemonic.Sete, Mnemonic.Setne, Mnemonic.Setbe, Mnemonic.Seta,
  Mnemonic.Sets, Mnemonic.Setns, Mnemonic.Setp, Mnemonic.Setnp, Mnemonic.Setl, Mnemonic.Setge, Mnemonic.Setle, Mnemonic.Setg], { emit: emitSetcc });
def([Mnemonic.Cmovo, Mnemonic.Cmovno, Mnemonic.Cmovb, Mnemonic.Cmovae, Mnemonic.Cmove, Mnemonic.Cmovne, Mnemonic.Cmovbe, Mnemonic.Cmova,
  Mnemonic.Cmovs, Mnemonic.Cmovns, Mnemonic.Cmovp, Mnemonic.Cmovnp, Mnemonic.Cmovl, Mnemonic.Cmovge, Mnemonic.Cmovle, Mnemonic.Cmovg], { emit: emitCmovcc });
def([Mnemonic.Jo, Mnemonic.Jno, Mnemonic.Jb, Mnemonic.Jae, Mnemonic.Je, Mnemonic.Jne, Mnemonic.Jbe, Mnemonic.Ja,
  Mnemonic.Js, Mnemonic.Jns, Mnemonic.Jp, Mnemonic.Jnp, Mnemonic.Jl, Mnemonic.Jge, Mnemonic.Jle, Mnemonic.Jg], { emit: emitJcc });
def([Mnemonic.Mul], { emit: emitMul1 });
def([Mnemonic.Imul], { emit: emitImul });
def([Mnemonic.Div, Mnemonic.Idiv], { emit: emitDiv });
def([Mnemonic.Rol, Mnemonic.Ror, Mnemonic.Rcl, Mnemonic.Rcr], { emit: emitShift, condFlags: true });
def([Mnemonic.Shl, Mnemonic.Sal, Mnemonic.Shr, Mnemonic.Sar], { emit: emitShift, condFlags: true });
def([Mnemonic.Shld, Mnemonic.Shrd], { emit: emitShd, condFlags: true });
def([Mnemonic.Bt, Mnemonic.Bts, Mnemonic.Btr, Mnemonic.Btc], { emit: emitBt });
def([Mnemonic.Bsf, Mnemonic.Bsr, Mnemonic.Tzcnt, Mnemonic.Lzcnt, Mnemonic.Popcnt], { emit: emitBitScan });
def([Mnemonic.Push], { emit: emitPush });
def([Mnemonic.Pop], { emit: emitPop });
def([Mnemonic.Leave], { emit: emitLeave });
def([Mnemonic.Enter], { emit: sys('enter') });
def([Mnemonic.Pushf, Mnemonic.Pushfq], { emit: emitPushf, readsAll: true });
def([Mnemonic.Popf, Mnemonic.Popfq], { emit: sys('popf'), ends: true });
def([Mnemonic.Jmp], { emit: emitJmp });
def([Mnemonic.Call], { emit: emitCall });
def([Mnemonic.Ret], { emit: emitRet });
def([Mnemonic.Jrcxz, Mnemonic.Jecxz, Mnemonic.Jcxz], { emit: emitJrcxz });
def([Mnemonic.Loop, Mnemonic.Loope, Mnemonic.Loopne], { emit: emitLoop });
def([Mnemonic.Movsb, Mnemonic.Movsw, Mnemonic.Movsd, Mnemonic.Movsq, Mnemonic.Stosb, Mnemonic.Stosw, Mnemonic.Stosd, Mnemonic.Stosq,
  Mnemonic.Lodsb, Mnemonic.Lodsw, Mnemonic.Lodsd, Mnemonic.Lodsq, Mnemonic.Cmpsb, Mnemonic.Cmpsw, Mnemonic.Cmpsd, Mnemonic.Cmpsq,
  Mnemonic.Scasb, Mnemonic.Scasw, Mnemonic.Scasd, Mnemonic.Scasq], { emit: emitString });
def([Mnemonic.Nop, Mnemonic.Endbr64, Mnemonic.Endbr32, Mnemonic.Pause, Mnemonic.Lfence, Mnemonic.Mfence, Mnemonic.Sfence,
  Mnemonic.Prefetchnta, Mnemonic.Prefetcht0, Mnemonic.Prefetcht1, Mnemonic.Prefetcht2, Mnemonic.Prefetchw], { emit: () => {} });
def([Mnemonic.Clflush, Mnemonic.Clflushopt], { emit: (g) => g.emit(`m.r8(${g.ea()});`) });
def([Mnemonic.Clc], { emit: flagOp('H.setCF(c,0);') });
def([Mnemonic.Stc], { emit: flagOp('H.setCF(c,1);') });
def([Mnemonic.Cmc], { emit: flagOp('H.setCF(c,H.cf(c)^1);') });
def([Mnemonic.Cld], { emit: flagOp('c.df=0;') });
def([Mnemonic.Std], { emit: flagOp('c.df=1;') });
def([Mnemonic.Lahf], { emit: (g) => g.emit(`R[0]=(R[0]&0xffff00ff)|((H.rflags(c)&255)<<8);`), readsAll: true });
def([Mnemonic.Sahf], { emit: (g) => g.emit(`H.sahf(c);`) });
// system instructions: privileged checks, traps and device access live in runtime.ts
for (const [mn, name] of [
  [Mnemonic.Cli, 'cli'], [Mnemonic.Sti, 'sti'], [Mnemonic.Hlt, 'hlt'], [Mnemonic.Int3, 'int3'], [Mnemonic.Int, 'intn'],
  [Mnemonic.Int1, 'int1'], [Mnemonic.Ud2, 'ud'], [Mnemonic.Ud0, 'ud'], [Mnemonic.Ud1, 'ud'], [Mnemonic.Syscall, 'syscall'], [Mnemonic.Sysretq, 'sysret'],
  [Mnemonic.Sysret, 'sysret'], [Mnemonic.Swapgs, 'swapgs'], [Mnemonic.Retf, 'retf'], [Mnemonic.Iretq, 'iret'], [Mnemonic.Iret, 'iret'], [Mnemonic.Iretd, 'iret'],
  [Mnemonic.Rdmsr, 'rdmsr'], [Mnemonic.Wrmsr, 'wrmsr'],
  [Mnemonic.Rdtsc, 'rdtsc'], [Mnemonic.Rdtscp, 'rdtscp'], [Mnemonic.Rdpid, 'rdpid'], [Mnemonic.Cpuid, 'cpuid'],
  [Mnemonic.Lidt, 'lidt'], [Mnemonic.Lgdt, 'lgdt'], [Mnemonic.Sidt, 'sidt'], [Mnemonic.Sgdt, 'sgdt'], [Mnemonic.Ltr, 'ltr'],
  [Mnemonic.Lldt, 'lldt'], [Mnemonic.Str, 'str'], [Mnemonic.Sldt, 'sldt'], [Mnemonic.In, 'in'], [Mnemonic.Out, 'out'],
  [Mnemonic.Vmcall, 'vmcall'], [Mnemonic.Clac, 'clac'], [Mnemonic.Stac, 'stac'], [Mnemonic.Invlpg, 'invlpg'],
  [Mnemonic.Wbinvd, 'wbinvd'], [Mnemonic.Invd, 'wbinvd'], [Mnemonic.Rdfsbase, 'rdfsbase'], [Mnemonic.Rdgsbase, 'rdfsbase'],
  [Mnemonic.Wrfsbase, 'wrfsbase'], [Mnemonic.Wrgsbase, 'wrfsbase'],
  [Mnemonic.Fninit, 'fninit'], [Mnemonic.Fnclex, 'fnclex'], [Mnemonic.Wait, 'fwait'], [Mnemonic.Fxsave, 'fxsave'], [Mnemonic.Fxsave64, 'fxsave'],
  [Mnemonic.Fxrstor, 'fxrstor'], [Mnemonic.Fxrstor64, 'fxrstor'], [Mnemonic.Ldmxcsr, 'ldmxcsr'], [Mnemonic.Stmxcsr, 'stmxcsr'],
] as [number, string][]) {
  BY_MN[mn] = { emit: sys(name), ends: true, readsAll: true };
}

/** The per-Code table: every fact of ktrace's own about an instruction form, keyed by iced's Code. */
const FORMS: (Form | null | undefined)[] = [];

/** A non-GPR register operand ktrace implements: a segment, control or debug register. */
function isSystemRegister(r: number): boolean {
  return (r >= Register.ES && r <= Register.GS) || (r >= Register.CR0 && r <= Register.CR15) || (r >= Register.DR0 && r <= Register.DR7);
}
/** lidt/lgdt/sidt/sgdt: the memory operand is a descriptor-table pseudo-descriptor (10 bytes). */
function isDescriptorTableOp(mn: number): boolean {
  return mn === Mnemonic.Lidt || mn === Mnemonic.Lgdt || mn === Mnemonic.Sidt || mn === Mnemonic.Sgdt;
}
/** clflush/clflushopt and the prefetches: the memory operand names a cache line, never read as data. */
function isCacheLineOp(mn: number): boolean {
  return mn === Mnemonic.Clflush || mn === Mnemonic.Clflushopt || (mn >= Mnemonic.Prefetchnta && mn <= Mnemonic.Prefetchw);
}
/** fxsave/fxrstor (and their 64-bit forms): the memory operand is the 512-byte FXSAVE area. */
function isFxsaveAreaOp(mn: number): boolean { return mn >= Mnemonic.Fxrstor && mn <= Mnemonic.Fxsave64; }
/** May this mnemonic's memory operand be wider than 8 bytes? Only where it is not a scalar load/store
 *  (lea and nop compute no access; cmpxchg16b has its own 16-byte path). */
function allowsWideMemory(mn: number): boolean {
  return mn === Mnemonic.Cmpxchg16b || mn === Mnemonic.Nop || mn === Mnemonic.Lea
    || isDescriptorTableOp(mn) || isCacheLineOp(mn) || isFxsaveAreaOp(mn);
}

/** Why this decoded form is not implemented ('' when it is). */
export function unsupportedReason(op: Op): string {
  const f = BY_MN[op.mn];
  if (!f) return 'instruction not implemented';
  for (let i = 0; i < op.nops; i++) {
    const k = op.kind[i];
    if (k === OpKind.Register && op.rg[i] < 0) {
      const r = op.reg[i];
      if (!isSystemRegister(r)) return 'register operand not supported (vector/x87/debug)';
    }
    if (k === OpKind.Memory && op.mem && (op.mem.base === -2 || op.mem.index === -2) && op.mn !== Mnemonic.Xlatb) return 'addressing form not supported';
    if (k === OpKind.FarBranch16 || k === OpKind.FarBranch32) return 'far branches not supported';
  }
  if (op.mem && op.mem.size > 8 && !allowsWideMemory(op.mn)) return 'memory operand size not supported';
  return '';
}
export function formOf(op: Op): Form | null {
  let f = FORMS[op.code];
  if (f === undefined) f = FORMS[op.code] = BY_MN[op.mn] ?? null;
  return f;
}
export function isImplementedMnemonic(mn: number): boolean { return BY_MN[mn] !== undefined; }

export { Code };
