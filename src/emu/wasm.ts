// The WebAssembly tier: the compiled blocks of one hot page become one WebAssembly function (a region),
// with a dispatch loop over the blocks, so a loop that spans several blocks (calls, returns, indirect
// jumps through a table) runs without going back to the JS run loop. Guest registers live in i64 locals,
// the lazy flags in i32 locals with exactly the JS representation (flags.ts); guest memory is the
// Memory's arena, which is the module's imported WebAssembly.Memory, and loads and stores take the TLB's
// hit path (the TLBs live in the same memory). Anything else - a TLB miss, an instruction this tier does
// not translate, a branch out of the region, the instruction allowance used up - leaves the function
// with precise state at an instruction boundary (RIP, retired count, registers, flags), and the JS path
// goes on from there. No fault is raised in WebAssembly: the JS path re-executes the instruction and
// raises it. State crosses the boundary through a scratch area of the memory (no BigInt).
//
// Switch: KTRACE_WASM=0 turns the tier off, KTRACE_WASM=1 builds a region on a compiled block's first
// entry (tests); wasmTier.on / wasmTier.hot at run time.
import { Mnemonic, OpKind } from './iced.js';
import { ARITH, K_ADC, K_ADD, K_DEC, K_EXPL, K_INC, K_LOGIC, K_RAW, K_SBB, K_SUB } from './flags.js';
import { producerOf } from './semantics.js';
import type { Block, BlockFn, Op } from './decode.js';
import type { Memory } from './memory.js';
import type { Cpu } from './cpu.js';
import { STATS_ON, stats } from './stats.js';

const ENV = typeof process !== 'undefined' ? process.env.KTRACE_WASM : undefined;
/** on: build regions; hot: entries of a compiled block before its page becomes a region; maxRegion: most
 *  blocks in one region (forced mode: few, so that building a region on every block's first entry stays cheap). */
export const wasmTier = { on: ENV !== '0' && typeof WebAssembly !== 'undefined', hot: ENV === '1' ? 1 : 10000, maxRegion: ENV === '1' ? 8 : 96, regions: 0, failed: 0, retired: 0 };


// ---- scratch layout (Memory.scratchAt): registers as 16 x (lo, hi) u32 = R's layout, then the lazy
// flags, then the exit RIP (f64) and the retired count, then the fs and gs bases (f64, in) ----
const S_FLAGS = 128, S_RIP = 176, S_N = 184, S_FSB = 192;
const FLAG_NAMES = ['fk', 'fsz', 'fa0', 'fa1', 'fb0', 'fb1', 'fr0', 'fr1', 'fcf', 'fof', 'faf', 'fraw'] as const;
type FlagName = typeof FLAG_NAMES[number];

// ---- a minimal WebAssembly writer ----
function uleb(out: number[], v: number): void {
  do { let b = v & 0x7f; v = Math.floor(v / 128); if (v !== 0) b |= 0x80; out.push(b); } while (v !== 0);
}
/** signed LEB128 of a safe integer (the translator's common case: no BigInt) */
function slebN(out: number[], v: number): void {
  for (;;) {
    const b = v & 0x7f; v = Math.floor(v / 128);
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) { out.push(b); return; }
    out.push(b | 0x80);
  }
}
function sleb(out: number[], v: bigint): void {
  for (;;) {
    const b = Number(v & 0x7fn); v >>= 7n;
    if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) { out.push(b); return; }
    out.push(b | 0x80);
  }
}
const I32 = 0x7f, I64 = 0x7e, F64 = 0x7c;
const enum W {
  block = 0x02, loop = 0x03, if_ = 0x04, else_ = 0x05, end = 0x0b, br = 0x0c, br_if = 0x0d, br_table = 0x0e,
  get = 0x20, set = 0x21, tee = 0x22,
  i32load = 0x28, i64load = 0x29, f64load = 0x2b, i64load8u = 0x31, i64load16u = 0x33, i64load32u = 0x35,
  i32store = 0x36, i64store = 0x37, f64store = 0x39, i64store8 = 0x3c, i64store16 = 0x3d, i64store32 = 0x3e,
  i32const = 0x41, i64const = 0x42, f64const = 0x44,
  i32eqz = 0x45, i32eq = 0x46, i32ne = 0x47, i32lts = 0x48, i32ltu = 0x49, i32gtu = 0x4b, i32leu = 0x4d,
  i64eqz = 0x50, i64eq = 0x51, i64ne = 0x52, i64lts = 0x53, i64ltu = 0x54, i64les = 0x57, i64leu = 0x58,
  f64eq = 0x61,
  i32add = 0x6a, i32sub = 0x6b, i32mul = 0x6c, i32and = 0x71, i32or = 0x72, i32xor = 0x73, i32shl = 0x74, i32shrs = 0x75, i32shru = 0x76,
  i64add = 0x7c, i64sub = 0x7d, i64mul = 0x7e, i64and = 0x83, i64or = 0x84, i64xor = 0x85, i64shl = 0x86, i64shrs = 0x87, i64shru = 0x88,
  i64rotl = 0x89, i64rotr = 0x8a,
  i32wrap = 0xa7, i64exts = 0xac, i64extu = 0xad, f64convs = 0xb9,
  i32ext8s = 0xc0, i32ext16s = 0xc1, i64ext8s = 0xc2, i64ext16s = 0xc3, i64ext32s = 0xc4,
}

/** Not translated: the region leaves before this instruction. */
class Unsupported extends Error {}
function no(why: string): never { throw new Unsupported(why); }

// locals: params 0 start (the page offset of the first block), 1 limit; r0..r15 (i64) 2..17; the flags (i32)
// 18..29; n 30, bi 31; i32 temps 32..39; i64 temps 40..51; xrip (f64) 52; fs and gs bases (i64) 53, 54
const P_START = 0, P_LIMIT = 1, L_R = 2, L_F = 18, L_N = 30, L_BI = 31, L_T32 = 32, N_T32 = 8, L_T64 = 40, N_T64 = 12, L_XRIP = 52, L_FSB = 53;
const FL = (f: FlagName) => L_F + FLAG_NAMES.indexOf(f);

type Label = string;

class Fn {
  code: number[] = [];
  private labels: Label[] = [];
  private t32 = 0; private t64 = 0;
  op(...b: number[]): void { for (const x of b) this.code.push(x); }
  get(l: number): void { this.code.push(W.get); uleb(this.code, l); }
  set(l: number): void { this.code.push(W.set); uleb(this.code, l); }
  tee(l: number): void { this.code.push(W.tee); uleb(this.code, l); }
  i32(v: number): void { this.code.push(W.i32const); slebN(this.code, v | 0); }
  i64(v: bigint): void {
    this.code.push(W.i64const);
    const x = BigInt.asIntN(64, v);
    if (x >= -9007199254740991n && x <= 9007199254740991n) slebN(this.code, Number(x)); else sleb(this.code, x);
  }
  f64(v: number): void { this.code.push(W.f64const); const b = new Uint8Array(new Float64Array([v]).buffer); for (const x of b) this.code.push(x); }
  mem(opc: number, align: number, offset: number): void { this.code.push(opc); uleb(this.code, align); uleb(this.code, offset); }
  open(kind: W.block | W.loop | W.if_, label: Label): void { this.code.push(kind, 0x40); this.labels.push(label); }
  else_(): void { this.code.push(W.else_); }
  end(): void { this.code.push(W.end); this.labels.pop(); }
  private depth(label: Label): number {
    const i = this.labels.lastIndexOf(label);
    if (i < 0) throw new Error(`wasm: no label ${label}`);
    return this.labels.length - 1 - i;
  }
  br(label: Label): void { this.code.push(W.br); uleb(this.code, this.depth(label)); }
  isOpen(label: Label): boolean { return this.labels.lastIndexOf(label) >= 0; }
  brIf(label: Label): void { this.code.push(W.br_if); uleb(this.code, this.depth(label)); }
  brTable(labels: Label[], dflt: Label): void {
    this.code.push(W.br_table); uleb(this.code, labels.length);
    const depths = new Map<Label, number>();
    for (const l of labels) {
      let d = depths.get(l);
      if (d === undefined) depths.set(l, (d = this.depth(l)));
      uleb(this.code, d);
    }
    uleb(this.code, this.depth(dflt));
  }
  tmp32(): number { if (this.t32 >= N_T32) no('temps'); return L_T32 + this.t32++; }
  tmp64(): number { if (this.t64 >= N_T64) no('temps'); return L_T64 + this.t64++; }
  resetTemps(): void { this.t32 = 0; this.t64 = 0; }
  mark(): [number, number] { return [this.code.length, this.labels.length]; }
  rollback(m: [number, number]): void { this.code.length = m[0]; this.labels.length = m[1]; }
}

function maskOf(sz: number): bigint { return sz === 64 ? -1n : (1n << BigInt(sz)) - 1n; }
const isMem = (op: Op, i: number) => op.kind[i] === OpKind.Memory;
const isImm = (op: Op, i: number) => op.kind[i] >= OpKind.Immediate8 && op.kind[i] <= OpKind.Immediate32to64;
const isGpr = (op: Op, i: number) => op.kind[i] === OpKind.Register && op.rg[i] >= 0;
const CANON = 140737488355328; // 2^47

/** Translates one block's ops into the region function (see Region below for the control structure). */
class Translator {
  /** instructions of the current block done before the current op (retired count at an exit) */
  k = 0;
  op!: Op;
  /** the last flag producer in this block whose fields are in the locals: its kind and width */
  known: { kind: number; sz: number } | null = null;
  private ea: number = -1;
  /** per region slot: was the block's first op translated (the slot can be entered) */
  readonly ok: boolean[] = [];
  /** the address of the block being translated */
  cur = NaN;
  /** slots: the region's block addresses (all on the page at `page`) and their slots */
  constructor(readonly f: Fn, readonly tlbR: number, readonly tlbW: number, readonly slots: Map<number, number>, readonly page: number) {}

  // ---- exits and transfers ----
  /** leave the region with RIP = ip (static) after `k` instructions of this block */
  exitAt(ip: number, k: number): void {
    const f = this.f;
    if (k) { f.get(L_N); f.i32(k); f.op(W.i32add); f.set(L_N); }
    f.f64(ip); f.set(L_XRIP); f.br('exit');
  }
  /** go on at static address t after k instructions: the block there, else leave */
  goto(t: number, k: number): void {
    const j = this.slots.get(t);
    if (j === undefined) { this.exitAt(t, k); return; }
    const f = this.f;
    if (k) { f.get(L_N); f.i32(k); f.op(W.i32add); f.set(L_N); }
    // the block's own start (a loop): its loop label; a block laid out after this one: its label is still
    // open, and branching to it lands on its code; else through the dispatch table
    if (t === this.cur) f.br('self');
    else if (f.isOpen('b' + j)) f.br('b' + j);
    else { f.i32(t - this.page); f.set(L_BI); f.br('dispatch'); }
  }
  /** go on at the address in i64 local `t` (canonical) after k instructions: an address on the region's
   *  page goes through the dispatch table (its `miss` entries leave with RIP = page + offset), any other
   *  leaves */
  gotoDyn(t: number, k: number): void {
    const f = this.f;
    if (k) { f.get(L_N); f.i32(k); f.op(W.i32add); f.set(L_N); }
    f.get(t); f.i64(BigInt(this.page)); f.op(W.i64sub); f.i64(4096n); f.op(W.i64ltu);
    f.open(W.if_, 'pg'); f.get(t); f.op(W.i32wrap); f.i32(4095); f.op(W.i32and); f.set(L_BI); f.br('dispatch'); f.end();
    f.get(t); f.op(W.f64convs); f.set(L_XRIP); f.br('exit');
  }
  /** leave before the current op when the i32 condition on the stack holds */
  exitIf(): void { this.f.open(W.if_, 'x'); this.exitAt(this.op.ip, this.k); this.f.end(); }

  // ---- operands ----
  /** push the i64 effective address of the memory operand (computed once per op into a temp) */
  addr(): number {
    if (this.ea >= 0) return this.ea;
    const M = this.op.mem!, f = this.f;
    // lea ignores a segment override (the JS path leaves such a lea to itself)
    if (M.seg !== 0 && this.op.mn === Mnemonic.Lea) no('lea with a segment override');
    if (!Number.isNaN(M.abs)) f.i64(BigInt(M.abs));
    else {
      let any = false;
      if (M.base >= 0) { f.get(L_R + M.base); any = true; }
      if (M.index >= 0) {
        f.get(L_R + M.index);
        if (M.scale !== 1) { f.i64(BigInt(M.scale)); f.op(W.i64mul); }
        if (any) f.op(W.i64add);
        any = true;
      }
      if (!any) f.i64(BigInt(M.disp));
      else if (M.disp !== 0) { f.i64(BigInt(M.disp)); f.op(W.i64add); }
      // a 32-bit address: the low half of the same sum (semantics.ts Gen.ea)
      if (M.addr32) { f.i64(0xffffffffn); f.op(W.i64and); }
    }
    // fs:/gs: the base, as Gen.ea adds it (exactly: i64 wraps as the CPU does, and the JS sum is exact
    // whenever the result can be canonical)
    if (M.seg === 1 || M.seg === 2) { f.get(L_FSB + M.seg - 1); f.op(W.i64add); }
    const t = f.tmp64(); f.set(t);
    return (this.ea = t);
  }
  /** the arena address (i32 local) of a `size`-bit access at the memory operand through TLB r or w;
   *  leaves before the op on a miss */
  tlb(acc: 'r' | 'w', size: number, eaLocal = this.addr()): number {
    const f = this.f, base = acc === 'r' ? this.tlbR : this.tlbW;
    const o = f.tmp32(), i = f.tmp32(), x = f.tmp32();
    f.get(eaLocal); f.op(W.i32wrap); f.i32(4095); f.op(W.i32and); f.set(o);
    f.get(eaLocal); f.i64(12n); f.op(W.i64shru); f.op(W.i32wrap); f.i32(4095); f.op(W.i32and); f.set(i);
    // hit: tag[i] === ea - o (as a double), and the access stays inside the page
    f.get(i); f.i32(3); f.op(W.i32shl); f.mem(W.f64load, 3, base);
    f.get(eaLocal); f.get(o); f.op(W.i64extu); f.op(W.i64sub); f.op(W.f64convs);
    f.op(W.f64eq);
    if (size > 8) { f.get(o); f.i32(4096 - size / 8); f.op(W.i32leu); f.op(W.i32and); }
    f.op(W.i32eqz); this.exitIf();
    f.get(i); f.i32(2); f.op(W.i32shl); f.mem(W.i32load, 2, base + 4096 * 8); f.get(o); f.op(W.i32add); f.set(x);
    return x;
  }
  load(size: number, x: number): void {
    const f = this.f; f.get(x);
    switch (size) {
      case 8: f.mem(W.i64load8u, 0, 0); break;
      case 16: f.mem(W.i64load16u, 0, 0); break;
      case 32: f.mem(W.i64load32u, 0, 0); break;
      default: f.mem(W.i64load, 0, 0);
    }
  }
  /** store the i64 in local v (size bits) at arena address x */
  store(size: number, x: number, v: number): void {
    const f = this.f; f.get(x); f.get(v);
    switch (size) {
      case 8: f.mem(W.i64store8, 0, 0); break;
      case 16: f.mem(W.i64store16, 0, 0); break;
      case 32: f.mem(W.i64store32, 0, 0); break;
      default: f.mem(W.i64store, 0, 0);
    }
  }
  /** operand i read as `sz` bits, zero-extended, into a new i64 temp. rmw: a memory destination is read
   *  through the write TLB (its arena address is returned for the store). */
  rd(i: number, sz: number, rmw = false): { v: number; x: number } {
    const op = this.op, f = this.f, t = f.tmp64();
    let x = -1;
    if (isGpr(op, i)) {
      f.get(L_R + op.rg[i]);
      if (op.rh[i]) { f.i64(8n); f.op(W.i64shru); }
      const s = Math.min(sz, op.osz[i]);
      if (s < 64) { f.i64(maskOf(s)); f.op(W.i64and); }
    } else if (isImm(op, i)) {
      const v = (BigInt(op.imhi[i] >>> 0) << 32n) | BigInt(op.imlo[i] >>> 0);
      f.i64(BigInt.asIntN(64, v & maskOf(sz)));
    } else if (isMem(op, i)) {
      const s = op.osz[i];
      x = this.tlb(rmw ? 'w' : 'r', s);
      this.load(s, x);
      if (sz < s) { f.i64(maskOf(sz)); f.op(W.i64and); }
    } else no(`operand kind ${op.kind[i]}`);
    f.set(t);
    return { v: t, x };
  }
  /** write the i64 in local v (already `sz` bits wide, zero-extended) to register r */
  wrReg(r: number, h: number, sz: number, v: number): void {
    const f = this.f;
    if (sz >= 32) { f.get(v); f.set(L_R + r); return; }
    f.get(L_R + r); f.i64(~(h ? 0xff00n : maskOf(sz))); f.op(W.i64and);
    f.get(v); if (h) { f.i64(8n); f.op(W.i64shl); }
    f.op(W.i64or); f.set(L_R + r);
  }
  /** write operand 0 (register, or memory at arena address x from rd/tlb) */
  wr0(v: number, x: number): void {
    const op = this.op;
    if (isGpr(op, 0)) this.wrReg(op.rg[0], op.rh[0], op.osz[0], v);
    else if (isMem(op, 0)) this.store(op.osz[0], x < 0 ? this.tlb('w', op.osz[0]) : x, v);
    else no('destination');
  }
  /** i64 local = (expression on the stack) masked to sz */
  res(sz: number): number {
    const f = this.f, t = f.tmp64();
    if (sz < 64) { f.i64(maskOf(sz)); f.op(W.i64and); }
    f.set(t); return t;
  }
  /** flag fields from i64 locals (a JS flagStore: the low half, and the high one for 64-bit ops) */
  flag(name: 'fr' | 'fa' | 'fb', sz: number, v: number): void {
    const f = this.f;
    f.get(v); f.op(W.i32wrap); f.set(FL(`${name}0` as FlagName));
    if (sz === 64) { f.get(v); f.i64(32n); f.op(W.i64shru); f.op(W.i32wrap); f.set(FL(`${name}1` as FlagName)); }
  }
  setF(name: FlagName, v: number): void { this.f.i32(v); this.f.set(FL(name)); }
  /** f.fcf (etc.) = i32 expression on the stack */
  setFs(name: FlagName): void { this.f.set(FL(name)); }

  // ---- conditions (flags.ts's definitions on the stored fields of a known producer, as fusedCond) ----
  cond(cc: number): void {
    const f = this.f, kn = this.known;
    const t = cc >> 1;
    if (!kn || !condInline(kn.kind, t)) { this.condMat(t); if (cc & 1) f.op(W.i32eqz); return; }
    const { kind, sz } = kn;
    const z = () => {
      f.get(FL('fr0')); if (sz === 64) { f.get(FL('fr1')); f.op(W.i32or); }
      f.op(W.i32eqz);
    };
    const s = () => {
      if (sz === 64) { f.get(FL('fr1')); f.i32(31); f.op(W.i32shru); }
      else { f.get(FL('fr0')); f.i32(sz - 1); f.op(W.i32shru); f.i32(1); f.op(W.i32and); }
    };
    const pair = (a: 'fa' | 'fb'): void => {
      // the operand as an i64 (64-bit: both halves; else the low half, sign-extended when signed is set)
      f.get(FL(`${a}1` as FlagName)); f.op(W.i64extu); f.i64(32n); f.op(W.i64shl); f.get(FL(`${a}0` as FlagName)); f.op(W.i64extu); f.op(W.i64or);
    };
    const lo = (a: 'fa' | 'fb', signed: boolean): void => {
      f.get(FL(`${a}0` as FlagName));
      if (signed) { if (sz === 8) f.op(W.i32ext8s); else if (sz === 16) f.op(W.i32ext16s); f.op(W.i64exts); } else f.op(W.i64extu);
    };
    const cmp = (signed: boolean, orEq: boolean): void => {
      if (sz === 64) { pair('fa'); pair('fb'); } else { lo('fa', signed); lo('fb', signed); }
      f.op(signed ? (orEq ? W.i64les : W.i64lts) : (orEq ? W.i64leu : W.i64ltu));
    };
    if (t === 2) z();
    else if (t === 4) s();
    else if (kind === K_SUB && t === 1) cmp(false, false);
    // be: CF|ZF = a <=u b (for a subtraction r = a - b, ZF is a == b)
    else if (kind === K_SUB && t === 3) cmp(false, true);
    else if (kind === K_SUB && t === 6) cmp(true, false);
    else if (kind === K_SUB && t === 7) cmp(true, true);
    else if (kind === K_LOGIC && (t === 0 || t === 1)) f.i32(0);
    else if (kind === K_LOGIC && t === 3) z();
    else if (kind === K_LOGIC && t === 6) s();
    else if (kind === K_LOGIC && t === 7) { z(); s(); f.op(W.i32or); }
    else no('condition');
    if (cc & 1) f.op(W.i32eqz);
  }

  /** condition t (cc >> 1) from the materialized arithmetic flags (mat: any producer, the locals' state) */
  condMat(t: number): void {
    const f = this.f, x = f.tmp32();
    FLAG_NAMES.forEach((nm) => f.get(FL(nm)));
    f.op(0x10); uleb(f.code, 1); // call mat
    f.set(x);
    const bit = (b: number) => { f.get(x); if (b) { f.i32(b); f.op(W.i32shru); } };
    switch (t) {
      case 0: bit(11); break;                                  // o: OF
      case 1: bit(0); break;                                   // b: CF
      case 2: bit(6); break;                                   // e: ZF
      case 3: bit(0); bit(6); f.op(W.i32or); break;             // be: CF | ZF
      case 4: bit(7); break;                                   // s: SF
      case 5: bit(2); break;                                   // p: PF
      case 6: bit(7); bit(11); f.op(W.i32xor); break;           // l: SF != OF
      default: bit(7); bit(11); f.op(W.i32xor); bit(6); f.op(W.i32or); // le: ZF | SF != OF
    }
    f.i32(1); f.op(W.i32and);
  }
  /** CF now (an i32 0/1 on the stack): inline for a known subtraction or logic op, else through mat */
  cfNow(): void {
    const kn = this.known;
    if (kn && (kn.kind === K_SUB || kn.kind === K_LOGIC)) this.cond(2);
    else this.condMat(1);
  }

  // ---- instructions ----
  /** Translate the op (not the control transfer of a block-ending or side-exit branch: the caller). */
  body(op: Op, storeFlags: boolean): void {
    this.op = op; this.ea = -1; this.f.resetTemps();
    if (op.bad || op.rep) no('prefix');
    // lock: a read-modify-write of memory is one step on this one-threaded machine (the JS path ignores it too)
    if (op.lock && !(isMem(op, 0) && LOCKABLE.has(op.mn))) no('lock');
    const f = this.f, mn = op.mn, sz = op.osz[0];
    switch (mn) {
      case Mnemonic.Nop: case Mnemonic.Endbr64: case Mnemonic.Pause: return;
      case Mnemonic.Mov: {
        if ((op.kind[0] === OpKind.Register && op.rg[0] < 0) || (op.kind[1] === OpKind.Register && op.rg[1] < 0)) no('mov sys');
        const { v } = this.rd(1, sz);
        this.wr0(v, -1); return;
      }
      case Mnemonic.Movzx: { const { v } = this.rd(1, op.osz[1]); this.wr0(v, -1); return; }
      case Mnemonic.Movsx: case Mnemonic.Movsxd: {
        const { v } = this.rd(1, op.osz[1]);
        f.get(v);
        if (op.osz[1] === 8) f.op(W.i64ext8s); else if (op.osz[1] === 16) f.op(W.i64ext16s); else f.op(W.i64ext32s);
        this.wr0(this.res(sz), -1); return;
      }
      case Mnemonic.Lea: {
        if (!isGpr(op, 0)) no('lea');
        f.get(this.addr()); this.wr0(this.res(sz), -1); return;
      }
      case Mnemonic.Add: case Mnemonic.Sub: case Mnemonic.Cmp: case Mnemonic.And: case Mnemonic.Or: case Mnemonic.Xor: case Mnemonic.Test: {
        const writes = mn !== Mnemonic.Cmp && mn !== Mnemonic.Test;
        const a = this.rd(0, sz, writes), b = this.rd(1, sz);
        f.get(a.v); f.get(b.v);
        const arith = mn === Mnemonic.Add || mn === Mnemonic.Sub || mn === Mnemonic.Cmp;
        f.op(mn === Mnemonic.Add ? W.i64add : arith ? W.i64sub : mn === Mnemonic.Or ? W.i64or : mn === Mnemonic.Xor ? W.i64xor : W.i64and);
        const r = this.res(sz);
        if (writes) this.wr0(r, a.x);
        if (storeFlags) {
          this.setF('fk', arith ? (mn === Mnemonic.Add ? K_ADD : K_SUB) : K_LOGIC); this.setF('fsz', sz);
          this.flag('fr', sz, r);
          if (arith) { this.flag('fa', sz, a.v); this.flag('fb', sz, b.v); }
        }
        return;
      }
      case Mnemonic.Neg: {
        const a = this.rd(0, sz, true);
        f.i64(0n); f.get(a.v); f.op(W.i64sub);
        const r = this.res(sz); this.wr0(r, a.x);
        if (storeFlags) {
          this.setF('fk', K_SUB); this.setF('fsz', sz); this.flag('fr', sz, r);
          const z = f.tmp64(); f.i64(0n); f.set(z); this.flag('fa', sz, z); this.flag('fb', sz, a.v);
        }
        return;
      }
      case Mnemonic.Inc: case Mnemonic.Dec: {
        // flags as semantics.ts emitIncDec: K_INC/K_DEC with b = 1, CF kept in fcf
        const inc = mn === Mnemonic.Inc;
        const a = this.rd(0, sz, true);
        const ci = f.tmp32();
        if (storeFlags) { this.cfNow(); f.set(ci); }
        f.get(a.v); f.i64(1n); f.op(inc ? W.i64add : W.i64sub);
        const r = this.res(sz); this.wr0(r, a.x);
        if (storeFlags) {
          this.setF('fk', inc ? K_INC : K_DEC); this.setF('fsz', sz); this.flag('fr', sz, r); this.flag('fa', sz, a.v);
          const one = f.tmp64(); f.i64(1n); f.set(one); this.flag('fb', sz, one);
          f.get(ci); this.setFs('fcf');
        }
        return;
      }
      case Mnemonic.Not: {
        const a = this.rd(0, sz, true);
        f.get(a.v); f.i64(-1n); f.op(W.i64xor); this.wr0(this.res(sz), a.x); return;
      }
      case Mnemonic.Shl: case Mnemonic.Sal: case Mnemonic.Shr: case Mnemonic.Sar: return this.shift(storeFlags);
      case Mnemonic.Rol: case Mnemonic.Ror: {
        if ((sz !== 32 && sz !== 64) || !isImm(op, 1)) no('rotate');
        const n = op.imlo[1] & (sz === 64 ? 63 : 31), rol = mn === Mnemonic.Rol;
        const a = this.rd(0, sz, true);
        if (n === 0) { f.get(a.v); this.wr0(this.res(sz), a.x); return; }
        f.get(a.v);
        if (sz === 32) { f.op(W.i32wrap); f.i32(n); f.op(rol ? 0x77 : 0x78); f.op(W.i64extu); }
        else { f.i64(BigInt(n)); f.op(rol ? W.i64rotl : W.i64rotr); }
        const r = this.res(sz);
        this.wr0(r, a.x);
        // only CF and OF change (runtime.ts setCO: every flag materialized, K_RAW); the 32-bit inline form
        // does it only when the flags are live, runtime.ts's shift64 always
        if (sz === 32 && !storeFlags) return;
        const cf = f.tmp32(), of = f.tmp32();
        const bit = (i: number) => { f.get(r); f.i64(BigInt(i)); f.op(W.i64shru); f.op(W.i32wrap); f.i32(1); f.op(W.i32and); };
        if (rol) { bit(0); f.tee(cf); bit(sz - 1); f.op(W.i32xor); f.set(of); }
        else { bit(sz - 1); f.tee(cf); bit(sz - 2); f.op(W.i32xor); f.set(of); }
        FLAG_NAMES.forEach((nm) => f.get(FL(nm)));
        f.op(0x10); uleb(f.code, 1); // call mat: the arithmetic flags as RFLAGS bits
        f.i32(~(1 | 2048)); f.op(W.i32and); f.get(cf); f.op(W.i32or); f.get(of); f.i32(11); f.op(W.i32shl); f.op(W.i32or);
        this.setFs('fraw'); this.setF('fk', K_RAW);
        return;
      }
      case Mnemonic.Imul: {
        if (op.nops === 1) no('imul1');
        const a = op.nops === 2 ? this.rd(0, sz) : this.rd(1, sz), b = op.nops === 2 ? this.rd(1, sz) : this.rd(2, sz);
        if (sz === 32) {
          // the exact product of the sign-extended operands; flags as runtime.ts imul2 (always stored)
          const p = f.tmp64();
          f.get(a.v); f.op(W.i32wrap); f.op(W.i64exts); f.get(b.v); f.op(W.i32wrap); f.op(W.i64exts); f.op(W.i64mul); f.set(p);
          f.get(p); const r = this.res(32);
          this.wr0(r, -1);
          this.setF('fk', K_EXPL); this.setF('fsz', 32); this.flag('fr', 32, r); this.setF('fr1', 0);
          f.get(p); f.get(p); f.op(W.i32wrap); f.op(W.i64exts); f.op(W.i64ne); const ov = f.tmp32(); f.tee(ov);
          this.setFs('fcf'); f.get(ov); this.setFs('fof'); this.setF('faf', 0);
          return;
        }
        no('imul width');
        return;
      }
      case Mnemonic.Push: {
        if (!(op.kind[0] === OpKind.Register ? op.rg[0] >= 0 : true) || op.stackInc !== -8) no('push');
        const { v } = this.rd(0, 64);
        this.push(v); return;
      }
      case Mnemonic.Pop: {
        if (!isGpr(op, 0) || op.stackInc !== 8 || op.rg[0] === 4) no('pop');
        const x = this.tlb('r', 64, L_R + 4);
        const v = f.tmp64(); this.load(64, x); f.set(v);
        f.get(L_R + 4); f.i64(8n); f.op(W.i64add); f.set(L_R + 4);
        this.wrReg(op.rg[0], 0, 64, v); return;
      }
      default: no(`mnemonic ${mn}`);
    }
  }
  private push(v: number): void {
    const f = this.f, a = f.tmp64();
    f.get(L_R + 4); f.i64(8n); f.op(W.i64sub); f.set(a);
    const x = this.tlb('w', 64, a);
    this.store(64, x, v);
    f.get(a); f.set(L_R + 4);
  }
  private shift(storeFlags: boolean): void {
    const op = this.op, f = this.f, sz = op.osz[0], mn = op.mn;
    if (sz !== 32 && sz !== 64) no('shift width');
    if (!(op.nops === 1 || isImm(op, 1))) no('shift count');
    const n = (op.nops === 1 ? 1 : op.imlo[1]) & (sz === 64 ? 63 : 31);
    const a = this.rd(0, sz, true);
    if (n === 0) { f.get(a.v); this.wr0(this.res(sz), a.x); return; }
    const shl = mn === Mnemonic.Shl || mn === Mnemonic.Sal, sar = mn === Mnemonic.Sar;
    f.get(a.v);
    if (sar && sz === 32) { f.op(W.i32wrap); f.op(W.i64exts); }
    f.i64(BigInt(n)); f.op(shl ? W.i64shl : sar ? W.i64shrs : W.i64shru);
    const r = this.res(sz);
    this.wr0(r, a.x);
    // 32-bit: the JS fast path stores flags only when live; 64-bit: runtime.ts shift64 always does
    if (sz === 32 && !storeFlags) return;
    this.setF('fk', K_EXPL); this.setF('fsz', sz); this.flag('fr', sz, r);
    if (sz === 32) { /* fr1 untouched, as the JS fast path */ } else { /* flag() set fr1 */ }
    // CF: the last bit shifted out
    f.get(a.v); f.i64(BigInt(shl ? sz - n : n - 1)); f.op(W.i64shru); f.op(W.i32wrap); f.i32(1); f.op(W.i32and);
    const cf = f.tmp32(); f.tee(cf); this.setFs('fcf');
    if (shl) { f.get(r); f.i64(BigInt(sz - 1)); f.op(W.i64shru); f.op(W.i32wrap); f.get(cf); f.op(W.i32xor); }
    else if (sar) f.i32(0);
    else { f.get(a.v); f.i64(BigInt(sz - 1)); f.op(W.i64shru); f.op(W.i32wrap); }
    this.setFs('fof'); this.setF('faf', 0);
  }
  /** call rel (push the return address) */
  call(op: Op): void {
    this.op = op; this.ea = -1; this.f.resetTemps();
    const f = this.f, v = f.tmp64(); f.i64(BigInt(op.next)); f.set(v);
    this.push(v);
  }
  /** the i64 local holding a ret's (or an indirect jmp's) target, canonical; RSP updated for ret */
  target(op: Op): number {
    this.op = op; this.ea = -1; this.f.resetTemps();
    const f = this.f;
    if (op.mn === Mnemonic.Ret) {
      if (op.nops !== 0) no('ret imm');
      const x = this.tlb('r', 64, L_R + 4);
      const t = f.tmp64(); this.load(64, x); f.set(t);
      this.canonical(t);
      f.get(L_R + 4); f.i64(8n); f.op(W.i64add); f.set(L_R + 4);
      return t;
    }
    if (op.mn !== Mnemonic.Jmp || op.nops !== 1) no('indirect branch');
    const { v } = this.rd(0, 64);
    this.canonical(v);
    return v;
  }
  private canonical(t: number): void {
    // non-canonical: leave before the op (the JS path raises #GP)
    const f = this.f;
    f.get(t); f.i64(BigInt(CANON)); f.op(W.i64add); f.i64(BigInt(2 * CANON)); f.op(0x5a /* i64.ge_u */); this.exitIf();
  }
}

/** The ops whose lock prefix (on a memory destination) this tier accepts. */
const LOCKABLE = new Set<number>([Mnemonic.Add, Mnemonic.Sub, Mnemonic.And, Mnemonic.Or, Mnemonic.Xor, Mnemonic.Neg, Mnemonic.Not, Mnemonic.Inc, Mnemonic.Dec]);
/** Can cond() test condition t of a known producer of this kind from its stored fields alone? */
function condInline(kind: number, t: number): boolean {
  if (t === 2 || t === 4) return true;
  if (kind === K_SUB) return t === 1 || t === 3 || t === 6 || t === 7;
  if (kind === K_LOGIC) return t === 0 || t === 1 || t === 3 || t === 6 || t === 7;
  return false;
}

/** The flag stores of a block's ops (compile.ts's liveness): passed in so both tiers agree. */
export type FlagStores = (ops: Op[]) => boolean[];

interface RegionFn { run: (start: number, limit: number) => void; }

/** One region: its blocks and wasm function; a member block's fn enters it at the member's index. */
class Region {
  alive = true;
  /** regions built on this page so far, this one included (joinAfter applies to the first JOIN_BUILDS) */
  builds = 1;
  constructor(readonly blocks: Block[], readonly js: BlockFn[], readonly user: number, readonly fn: RegionFn, readonly mem: Memory) {}
  ok(): boolean {
    if (!this.alive) return false;
    for (let i = 0; i < this.blocks.length; i++) if (!this.blocks[i].valid) { this.demote(); return false; }
    return true;
  }
  demote(): void {
    this.alive = false;
    for (let i = 0; i < this.blocks.length; i++) if (REGION_OF.get(this.blocks[i]) === this) { this.blocks[i].fn = this.js[i]; REGION_OF.delete(this.blocks[i]); }
  }
}
const REGION_OF = new WeakMap<Block, Region>();
/** The JS function of a block whose fn is a wasm entry or a counting trampoline. */
export const jsFnOf = new WeakMap<Block, BlockFn>();

/** Install the counting trampoline on a freshly compiled block (compile.ts): after wasmTier.hot entries
 *  the blocks of its page become a region. */
export function watch(b: Block, js: BlockFn, flagStores: FlagStores): BlockFn {
  jsFnOf.set(b, js);
  if (!wasmTier.on || b.head === 2) return js;
  const heat = { n: 0, i: 0, lim: -1 };
  HEAT.set(b, heat);
  return function (c: Cpu, R: Uint32Array, m: Memory, L: number): void {
    // hot: entered `lim` times (wasmTier.hot; fewer on a page that has a region: joinAfter, set on the
    // first entry or when the region is built), or `hot` x 64 instructions run in it (a loop inside one block)
    if ((++heat.n >= heat.lim || heat.i >= wasmTier.hot * 64)
      && (heat.lim >= 0 || (heat.lim = b.head === 0 && (pageRegion(m, b.ips[0])?.builds ?? JOIN_BUILDS) < JOIN_BUILDS ? joinAfter() : wasmTier.hot) <= heat.n)) {
      b.fn = js;
      // a page's region is built JOIN_BUILDS times at most (a block left out then stays in JS), except
      // when the tier is forced (hot 1: tests build small regions on every block's first entry)
      if (wasmTier.hot === 1 || (pageRegion(m, b.ips[0])?.builds ?? 0) < JOIN_BUILDS) try { buildRegion(b, m, flagStores); } catch (e) { if (!(e instanceof Unsupported) && !(e instanceof WebAssembly.CompileError)) throw e; wasmTier.failed++; }
      if (b.fn !== js && b.fn !== null) return b.fn(c, R, m, L);
    }
    const before = c.instret;
    if (STATS_ON) stats.wasmJsBlocks++;
    js(c, R, m, L);
    heat.i += c.instret - before;
  };
}
/** Entries and instructions of each watched block while it waits for its region (a region takes the warm
 *  blocks of its page: big regions of cold code cost TurboFan seconds). */
const HEAT = new WeakMap<Block, { n: number; i: number; lim: number }>();
/** The live region of each page (by page base): a block of that page that keeps being entered from the
 *  JS path (a region exit: the case labels of a jump table, a return into a block the region lacks) joins
 *  it after joinAfter() entries instead of wasmTier.hot, and the region is rebuilt with it. A head block
 *  (decode.ts Block.head: entered at quantum boundaries, not by the guest's branches) still needs
 *  wasmTier.hot entries. */
const PAGE_REGION = new WeakMap<Memory, Map<number, Region>>();
function pageRegion(m: Memory, a: number): Region | undefined {
  const r = PAGE_REGION.get(m)?.get(a - (a & 4095));
  return r !== undefined && r.alive ? r : undefined;
}
/** Builds of a page's region at most: past them a full region would evict members for each block that
 *  joins it, and they come back (kernel workload, 243M instructions: 24 regions, 5x the exits). */
const JOIN_BUILDS = 4;
/** Entries after which a block on a page with a region joins it (a build takes the page's blocks that
 *  are an eighth of the way there too, so that a jump table's cases come in together). */
function joinAfter(): number { return Math.max(1, wasmTier.hot >> 4); }
/** Most instructions one call of a region runs (the rest of the allowance L is the next call's). V8 starts
 *  a region in its baseline code (Liftoff) and optimizes it in the background, but a call already running
 *  stays in the baseline code: a region that hardly ever exits (a compute loop) must come back now and
 *  then to switch to the optimized code (user-mode compute ran 1.3x slower without this). */
const REGION_SLICE = 1 << 16;
/** Most instructions in one region (its code size, and so its compile time). */
const MAX_REGION_OPS = 400;

function buildRegion(hot: Block, m: Memory, flagStores: FlagStores): void {
  const pg = m.page(hot.ips[0]);
  if (!pg || !pg.blist) return;
  const page = pg.base;
  // the hot block, then the members of live regions on this page (they were hot), then warm blocks,
  // hottest first (by instructions run, or entered an eighth of joinAfter() times: a jump table's cases), up to
  // MAX_REGION_OPS instructions
  const warm = wasmTier.hot === 1 ? 0 : wasmTier.hot * 2;
  const warmN = wasmTier.hot === 1 ? 0 : joinAfter() >> 3;
  const members: Block[] = [], warmers: Block[] = [];
  for (const q of pg.blist as Block[]) {
    const a = q.ips[0];
    if (q === hot || !q.valid || q.fn === null || q.probe || a < page || a >= page + 4096) continue;
    const r = REGION_OF.get(q);
    if (r !== undefined && r.alive) members.push(q);
    else { const h = HEAT.get(q); if (h !== undefined && (h.i >= warm || (h.n >= warmN && q.head === 0))) warmers.push(q); }
  }
  warmers.sort((x, y) => (HEAT.get(y)?.i ?? 0) - (HEAT.get(x)?.i ?? 0));
  const cand: Block[] = [hot];
  let ops = hot.n;
  for (const q of [...members, ...warmers]) {
    if (cand.length >= wasmTier.maxRegion) break;
    if (ops + q.n > MAX_REGION_OPS || cand.some((x) => x.ips[0] === q.ips[0])) continue;
    ops += q.n;
    cand.push(q);
  }
  if (hot.probe) return;
  const user = m.user;
  const tlbR = m.tlbAt + (3 * user + 0) * (4096 * 12), tlbW = m.tlbAt + (3 * user + 1) * (4096 * 12);
  // translate each candidate; one whose first op cannot be translated is left out
  const f = new Fn();
  // blocks are laid out in order; a block that fails at its first op still gets a slot that just exits
  const slots = new Map<number, number>();
  cand.forEach((b, i) => slots.set(b.ips[0], i));
  const tr = new Translator(f, tlbR, tlbW, slots, page);
  const S = m.scratchAt;
  // prologue: registers and flags from the scratch area
  for (let r = 0; r < 16; r++) { f.i32(0); f.mem(W.i64load, 3, S + 8 * r); f.set(L_R + r); }
  FLAG_NAMES.forEach((_n, i) => { f.i32(0); f.mem(W.i32load, 2, S + S_FLAGS + 4 * i); f.set(L_F + i); });
  for (let i = 0; i < 2; i++) { f.i32(0); f.mem(W.f64load, 3, S + S_FSB + 8 * i); f.op(0xb0 /* i64.trunc_f64_s */); f.set(L_FSB + i); }
  // the dispatch loop: one br_table over the page's offsets (bi: the offset of the block to run next), so
  // a ret or an indirect jump finds its block in one step; an offset that starts no block leaves
  f.get(P_START); f.set(L_BI);
  f.open(W.block, 'exit');
  f.open(W.block, 'miss');
  f.open(W.loop, 'dispatch');
  const N = cand.length;
  for (let j = N - 1; j >= 0; j--) f.open(W.block, 'b' + j);
  // the table spans the offsets from the region's first block to its last (every entry is an edge that
  // TurboFan compiles: a whole page's 4096 made a small region's compile 100 times slower)
  let lo = 4096, hi = 0;
  slots.forEach((_j, a) => { lo = Math.min(lo, a - page); hi = Math.max(hi, a - page); });
  const table: string[] = new Array(hi - lo + 1).fill('miss');
  slots.forEach((j, a) => { table[a - page - lo] = 'b' + j; });
  f.get(L_BI); if (lo !== 0) { f.i32(lo); f.op(W.i32sub); } f.brTable(table, 'miss');
  let translated = 0;
  for (let j = 0; j < N; j++) {
    f.end(); // block bj: its code follows
    translated += blockCode(tr, cand[j], flagStores(cand[j].ops)) ? 1 : 0;
  }
  f.end(); // dispatch
  f.end(); // miss: leave at page + bi (nothing retired since the transfer that counted its instructions)
  f.f64(page); f.get(L_BI); f.op(0xb8 /* f64.convert_i32_u */); f.op(0xa0 /* f64.add */); f.set(L_XRIP);
  f.end(); // exit
  // epilogue
  for (let r = 0; r < 16; r++) { f.i32(0); f.get(L_R + r); f.mem(W.i64store, 3, S + 8 * r); }
  FLAG_NAMES.forEach((_n, i) => { f.i32(0); f.get(L_F + i); f.mem(W.i32store, 2, S + S_FLAGS + 4 * i); });
  f.i32(0); f.get(L_XRIP); f.mem(W.f64store, 3, S + S_RIP);
  f.i32(0); f.get(L_N); f.mem(W.i32store, 2, S + S_N);
  f.op(W.end);
  if (translated === 0) return;
  const bytes = moduleBytes(f.code, m.wasmMemory);
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { m: { mem: m.wasmMemory as WebAssembly.Memory } });
  const run = inst.exports.run as (start: number, limit: number) => void;
  const js = cand.map((b) => jsFnOf.get(b) ?? (b.fn as BlockFn));
  const region = new Region(cand, js, user, { run }, m);
  wasmTier.regions++;
  let regions = PAGE_REGION.get(m);
  if (regions === undefined) PAGE_REGION.set(m, (regions = new Map()));
  region.builds = (regions.get(page)?.builds ?? 0) + 1;
  regions.set(page, region);
  // the page's other watched blocks now join it sooner (for its first JOIN_BUILDS builds)
  if (region.builds < JOIN_BUILDS) for (const q of pg.blist as Block[]) { const h = HEAT.get(q); if (h !== undefined && q.head === 0 && (h.lim < 0 || h.lim > joinAfter())) h.lim = joinAfter(); }
  const buf = m.wasmMemory.buffer as ArrayBuffer;
  const u32 = new Uint32Array(buf, S, 48), f64 = new Float64Array(buf, S + S_RIP, 1), seg = new Float64Array(buf, S + S_FSB, 2);
  cand.forEach((b, j) => {
    if (!tr.ok[j]) return;
    REGION_OF.set(b, region);
    const jsf = js[j], off = b.ips[0] - page;
    b.fn = function (c: Cpu, R: Uint32Array, mm: Memory, L: number): void {
      if (mm.user !== user || !region.ok()) { jsf(c, R, mm, L); return; }
      for (let i = 0; i < 32; i++) u32[i] = R[i];
      u32[32] = c.fk; u32[33] = c.fsz; u32[34] = c.fa0; u32[35] = c.fa1; u32[36] = c.fb0; u32[37] = c.fb1;
      u32[38] = c.fr0; u32[39] = c.fr1; u32[40] = c.fcf; u32[41] = c.fof; u32[42] = c.faf; u32[43] = c.fraw;
      u32[46] = 0; seg[0] = c.fsb; seg[1] = c.gsb;
      run(off, L > REGION_SLICE ? REGION_SLICE : L);
      for (let i = 0; i < 32; i++) R[i] = u32[i];
      c.fk = u32[32]; c.fsz = u32[33]; c.fa0 = u32[34]; c.fa1 = u32[35]; c.fb0 = u32[36]; c.fb1 = u32[37];
      c.fr0 = u32[38]; c.fr1 = u32[39]; c.fcf = u32[40]; c.fof = u32[41]; c.faf = u32[42]; c.fraw = u32[43];
      const n = u32[46];
      c.rip = f64[0];
      c.instret += n;
      wasmTier.retired += n;
      if (STATS_ON) stats.wasmEntries++;
      // nothing retired (the first instruction needs the JS path): the JS block makes the progress
      if (n === 0) jsf(c, R, mm, L);
    };
  });
}

/** Emit block b's code into the region (inside the dispatch loop); false when not even its first op is
 *  translated (then its slot only exits). */
function blockCode(tr: Translator, b: Block, stores: boolean[]): boolean {
  const f = tr.f, ops = b.ops, n = ops.length, entry = ops[0].ip;
  tr.ok.push(false);
  const slot = tr.ok.length - 1;
  // the block's code is a loop, so that a branch back to its start (a loop in one block) is one br
  tr.cur = entry;
  f.open(W.loop, 'self');
  // the allowance: the whole block must fit, as the run loop requires of a JS block
  f.get(P_LIMIT); f.get(L_N); f.op(W.i32sub); f.i32(n); f.op(W.i32lts);
  f.open(W.if_, 'budget'); tr.exitAt(entry, 0); f.end();
  tr.known = null;
  for (let i = 0; i < n; i++) {
    const op = ops[i], last = i === n - 1;
    tr.k = i;
    const mark = f.mark();
    try {
      if (op.flow === 3 && op.cc >= 0) {
        // jcc: taken -> target, else next (inside a superblock one of them is the next op)
        tr.op = op; f.resetTemps();
        tr.cond(op.cc);
        const c = f.tmp32(); f.set(c);
        if (!last && ops[i + 1].ip === op.target && op.target !== op.next) {
          f.get(c); f.op(W.i32eqz); f.open(W.if_, 'nt'); tr.goto(op.next, i + 1); f.end();
        } else if (!last) {
          f.get(c); f.open(W.if_, 't'); tr.goto(op.target, i + 1); f.end();
        } else {
          f.get(c); f.open(W.if_, 't'); tr.goto(op.target, i + 1); f.end();
          tr.goto(op.next, i + 1);
        }
      } else if (op.flow === 1 && !Number.isNaN(op.target)) {
        if (op.mn !== Mnemonic.Jmp) throw new Unsupported('branch');
        if (last) tr.goto(op.target, i + 1);
      } else if (op.flow === 5 && !Number.isNaN(op.target)) {
        tr.call(op);
        if (last) tr.goto(op.target, i + 1);
      } else if (op.flow === 4 || op.flow === 2) {
        const t = tr.target(op);
        if (!last) {
          // a ret inside the block goes on only to the address the block was built for
          f.get(t); f.i64(BigInt(ops[i + 1].ip)); f.op(W.i64ne);
          f.open(W.if_, 'r'); tr.gotoDyn(t, i + 1); f.end();
        } else tr.gotoDyn(t, i + 1);
      } else if (op.flow === 0) {
        tr.body(op, stores[i]);
        if (op.fwrite !== 0) { const p = producerOf(op); tr.known = p && stores[i] ? p : null; }
        if (last) tr.goto(op.next, i + 1);
      } else throw new Unsupported('flow');
    } catch (e) {
      if (!(e instanceof Unsupported)) throw e;
      f.rollback(mark);
      tr.exitAt(op.ip, i);
      f.end(); // self
      if (i === 0) return false;
      tr.ok[slot] = true;
      return true;
    }
  }
  f.end(); // self
  tr.ok[slot] = true;
  return true;
}

/**
 * The body of mat(fk, fsz, fa0, fa1, fb0, fb1, fr0, fr1, fcf, fof, faf, fraw) -> i32: flags.ts's
 * arithFlags (the six arithmetic flags as RFLAGS bits) of a lazy-flag state.
 */
function matBody(): number[] {
  const f = new Fn();
  const P = (nm: FlagName) => FLAG_NAMES.indexOf(nm);
  // locals: 12 params; A, B, Rr, x (i64) 12..15; cf, of, af (i32) 16..18
  const A = 12, B = 13, Rr = 14, X = 15, CFL = 16, OFL = 17, AFL = 18;
  const is64 = () => { f.get(P('fsz')); f.i32(64); f.op(W.i32eq); };
  const pair = (lo: FlagName, hi: FlagName, dst: number) => {
    is64(); f.open(W.if_, 'p');
    f.get(P(hi)); f.op(W.i64extu); f.i64(32n); f.op(W.i64shl); f.get(P(lo)); f.op(W.i64extu); f.op(W.i64or); f.set(dst);
    f.else_(); f.get(P(lo)); f.op(W.i64extu); f.set(dst); f.end();
  };
  const fkIs = (...ks: number[]) => { ks.forEach((k, i) => { f.get(P('fk')); f.i32(k); f.op(W.i32eq); if (i) f.op(W.i32or); }); };
  // K_RAW: fraw as it is
  f.get(P('fk')); f.i32(K_RAW); f.op(W.i32eq);
  f.open(W.if_, 'raw'); f.get(P('fraw')); f.i32(ARITH); f.op(W.i32and); f.op(0x0f); f.end();
  pair('fa0', 'fa1', A); pair('fb0', 'fb1', B); pair('fr0', 'fr1', Rr);
  // CF
  fkIs(K_ADD, K_ADC); f.open(W.if_, 'c1');
  f.get(Rr); f.get(A); f.op(W.i64ltu); f.get(P('fk')); f.i32(K_ADC); f.op(W.i32eq); f.get(P('fcf')); f.op(W.i32and); f.get(Rr); f.get(A); f.op(W.i64eq); f.op(W.i32and); f.op(W.i32or); f.set(CFL);
  f.else_(); fkIs(K_SUB, K_SBB); f.open(W.if_, 'c2');
  f.get(A); f.get(B); f.op(W.i64ltu); f.get(P('fk')); f.i32(K_SBB); f.op(W.i32eq); f.get(P('fcf')); f.op(W.i32and); f.get(A); f.get(B); f.op(W.i64eq); f.op(W.i32and); f.op(W.i32or); f.set(CFL);
  f.else_(); fkIs(K_LOGIC); f.open(W.if_, 'c3'); f.i32(0); f.set(CFL); f.else_(); f.get(P('fcf')); f.set(CFL); f.end();
  f.end(); f.end();
  // AF
  fkIs(K_LOGIC); f.open(W.if_, 'a1'); f.i32(0); f.set(AFL);
  f.else_(); fkIs(K_EXPL); f.open(W.if_, 'a2'); f.get(P('faf')); f.set(AFL);
  f.else_(); f.get(P('fa0')); f.get(P('fb0')); f.op(W.i32xor); f.get(P('fr0')); f.op(W.i32xor); f.i32(4); f.op(W.i32shru); f.i32(1); f.op(W.i32and); f.set(AFL);
  f.end(); f.end();
  // OF
  const top = () => { f.get(P('fsz')); f.i32(1); f.op(W.i32sub); f.op(W.i64extu); };
  fkIs(K_ADD, K_ADC, K_INC); f.open(W.if_, 'o1');
  f.get(A); f.get(Rr); f.op(W.i64xor); f.get(B); f.get(Rr); f.op(W.i64xor); f.op(W.i64and); top(); f.op(W.i64shru); f.op(W.i32wrap); f.i32(1); f.op(W.i32and); f.set(OFL);
  f.else_(); fkIs(K_SUB, K_SBB, K_DEC); f.open(W.if_, 'o2');
  f.get(A); f.get(B); f.op(W.i64xor); f.get(A); f.get(Rr); f.op(W.i64xor); f.op(W.i64and); top(); f.op(W.i64shru); f.op(W.i32wrap); f.i32(1); f.op(W.i32and); f.set(OFL);
  f.else_(); fkIs(K_LOGIC); f.open(W.if_, 'o3'); f.i32(0); f.set(OFL); f.else_(); f.get(P('fof')); f.set(OFL); f.end();
  f.end(); f.end();
  // CF | PF<<2 | AF<<4 | ZF<<6 | SF<<7 | OF<<11
  f.get(CFL);
  f.get(P('fr0')); f.i32(255); f.op(W.i32and); f.op(0x69 /* i32.popcnt */); f.i32(1); f.op(W.i32and); f.i32(1); f.op(W.i32xor); f.i32(2); f.op(W.i32shl); f.op(W.i32or);
  f.get(AFL); f.i32(4); f.op(W.i32shl); f.op(W.i32or);
  f.get(Rr); f.op(W.i64eqz); f.i32(6); f.op(W.i32shl); f.op(W.i32or);
  f.get(Rr); top(); f.op(W.i64shru); f.op(W.i32wrap); f.i32(1); f.op(W.i32and); f.i32(7); f.op(W.i32shl); f.op(W.i32or);
  f.get(OFL); f.i32(11); f.op(W.i32shl); f.op(W.i32or);
  f.op(W.end);
  const out: number[] = [2, 4, I64, 3, I32];
  return out.concat(f.code);
}

function moduleBytes(body: number[], mem: { readonly buffer: ArrayBufferLike }): Uint8Array<ArrayBuffer> {
  const pages = (mem.buffer as ArrayBuffer).byteLength / 65536;
  const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const section = (id: number, bytes: number[]) => { out.push(id); uleb(out, bytes.length); for (const b of bytes) out.push(b); };
  const str = (s: string, o: number[]) => { uleb(o, s.length); for (const ch of s) o.push(ch.charCodeAt(0)); };
  section(1, [2, 0x60, 2, I32, I32, 0, 0x60, 12, ...new Array(12).fill(I32), 1, I32]);
  const imp: number[] = [1]; str('m', imp); str('mem', imp); imp.push(0x02, 0x01); uleb(imp, pages); uleb(imp, pages);
  section(2, imp);
  section(3, [2, 0, 1]);
  const exp: number[] = [1]; str('run', exp); exp.push(0x00, 0);
  section(7, exp);
  // locals (after the 2 params): 16 i64 registers, 12+2+8 i32, 12 i64 temps, 1 f64, 2 i64 segment bases
  const fn: number[] = [];
  const groups: [number, number][] = [[16, I64], [12 + 2 + N_T32, I32], [N_T64, I64], [1, F64], [2, I64]];
  uleb(fn, groups.length); for (const [c, t] of groups) { uleb(fn, c); fn.push(t); }
  for (const b of body) fn.push(b);
  const mat = matBody();
  const code: number[] = [2]; uleb(code, fn.length); for (const b of fn) code.push(b);
  uleb(code, mat.length); for (const b of mat) code.push(b);
  section(10, code);
  return new Uint8Array(out);
}
