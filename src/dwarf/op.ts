// DWARF expressions (DWARF 5 §2.5, §2.6). Three separate jobs, as in gimli's `read/op.rs`:
//  - decodeOps: bytes → operations (for printing and for the two below);
//  - planLocation: static analysis at one PC → a fetch plan a kprobe can use (`%di`, `+16(%sp)`, `@addr`),
//    or the reason it can't (optimized out, entry value, computed value);
//  - evaluate: real evaluation, asking a callback for registers and memory instead of knowing any CPU.
import { DW_OP, opName } from './constants.js';
import { fail } from './error.js';
import { Reader } from './reader.js';
import { kernelRegName } from './regs.js';
import { hex0x } from '../base/addr.js';

export type OpArg = number | bigint | Uint8Array;
export interface Op {
  /** Offset of the opcode inside the expression. */
  readonly at: number;
  readonly code: number;
  readonly args: readonly OpArg[];
  /** DW_OP_entry_value's nested expression, decoded. */
  readonly sub?: readonly Op[];
}

export interface OpContext {
  readonly addrSize: number;
  readonly offsetSize: 4 | 8;
}

/** Decodes an expression. Operands of DW_OP_*_type ops are read and kept raw. */
export function decodeOps(expr: Uint8Array, ctx: OpContext, depth = 0): Op[] {
  if (depth > 4) fail('expression', 0, 'DW_OP_entry_value nested too deeply');
  const r = new Reader(expr, 'expression');
  const ops: Op[] = [];
  while (r.remaining > 0) {
    const at = r.pos;
    const code = r.u8();
    let args: OpArg[] = [];
    let sub: Op[] | undefined;
    if (code >= DW_OP.lit0 && code <= DW_OP.lit31) args = [];
    else if (code >= DW_OP.reg0 && code <= DW_OP.reg31) args = [];
    else if (code >= DW_OP.breg0 && code <= DW_OP.breg31) args = [r.slebBig()];
    else switch (code) {
      case DW_OP.addr: args = [r.address(ctx.addrSize)]; break;
      case DW_OP.const1u: args = [BigInt(r.u8())]; break;
      case DW_OP.const1s: args = [BigInt(r.i8())]; break;
      case DW_OP.const2u: args = [BigInt(r.u16())]; break;
      case DW_OP.const2s: args = [BigInt(r.i16())]; break;
      case DW_OP.const4u: args = [BigInt(r.u32())]; break;
      case DW_OP.const4s: args = [BigInt(r.i32())]; break;
      case DW_OP.const8u: args = [r.u64big()]; break;
      case DW_OP.const8s: args = [BigInt.asIntN(64, r.u64big())]; break;
      case DW_OP.constu: args = [r.ulebBig()]; break;
      case DW_OP.consts: args = [r.slebBig()]; break;
      case DW_OP.pick: case DW_OP.deref_size: case DW_OP.xderef_size: args = [r.u8()]; break;
      case DW_OP.plus_uconst: args = [r.ulebBig()]; break;
      case DW_OP.bra: case DW_OP.skip: args = [r.i16()]; break;
      case DW_OP.regx: args = [r.uleb()]; break;
      case DW_OP.fbreg: args = [r.slebBig()]; break;
      case DW_OP.bregx: args = [r.uleb(), r.slebBig()]; break;
      case DW_OP.piece: args = [r.uleb()]; break;
      case DW_OP.bit_piece: args = [r.uleb(), r.uleb()]; break;
      case DW_OP.call2: args = [r.u16()]; break;
      case DW_OP.call4: args = [r.u32()]; break;
      case DW_OP.call_ref: args = [r.offset(ctx.offsetSize)]; break;
      case DW_OP.implicit_value: args = [r.bytes(r.uleb())]; break;
      case DW_OP.implicit_pointer: case DW_OP.GNU_implicit_pointer:
        args = [r.offset(ctx.offsetSize), r.slebBig()]; break;
      case DW_OP.addrx: case DW_OP.constx: case DW_OP.GNU_addr_index: case DW_OP.GNU_const_index:
        args = [r.uleb()]; break;
      case DW_OP.entry_value: case DW_OP.GNU_entry_value: {
        const body = r.bytes(r.uleb());
        args = [body];
        sub = decodeOps(body, ctx, depth + 1);
        break;
      }
      case DW_OP.const_type: case DW_OP.GNU_const_type: { const t = r.uleb(); args = [t, r.bytes(r.u8())]; break; }
      case DW_OP.regval_type: case DW_OP.GNU_regval_type: args = [r.uleb(), r.uleb()]; break;
      case DW_OP.deref_type: case DW_OP.GNU_deref_type: args = [r.u8(), r.uleb()]; break;
      case DW_OP.xderef_type: args = [r.u8(), r.uleb()]; break;
      case DW_OP.convert: case DW_OP.GNU_convert: case DW_OP.reinterpret: case DW_OP.GNU_reinterpret:
        args = [r.uleb()]; break;
      case DW_OP.GNU_parameter_ref: args = [r.u32()]; break;
      case DW_OP.GNU_variable_value: args = [r.offset(ctx.offsetSize)]; break;
      case DW_OP.GNU_encoded_addr: fail('expression', at, 'DW_OP_GNU_encoded_addr is not supported'); break;
      default:
        if (!NO_OPERAND.has(code)) fail('expression', at, `unknown opcode 0x${code.toString(16)}`);
    }
    ops.push(sub ? { at, code, args, sub } : { at, code, args });
  }
  return ops;
}

const NO_OPERAND = new Set<number>([
  DW_OP.deref, DW_OP.dup, DW_OP.drop, DW_OP.over, DW_OP.swap, DW_OP.rot, DW_OP.xderef, DW_OP.abs, DW_OP.and,
  DW_OP.div, DW_OP.minus, DW_OP.mod, DW_OP.mul, DW_OP.neg, DW_OP.not, DW_OP.or, DW_OP.plus, DW_OP.shl,
  DW_OP.shr, DW_OP.shra, DW_OP.xor, DW_OP.eq, DW_OP.ge, DW_OP.gt, DW_OP.le, DW_OP.lt, DW_OP.ne, DW_OP.nop,
  DW_OP.push_object_address, DW_OP.form_tls_address, DW_OP.call_frame_cfa, DW_OP.stack_value,
  DW_OP.GNU_push_tls_address, DW_OP.GNU_uninit,
]);

/** Names of the decoded operations, gdb/readelf spelling (`DW_OP_breg7`), nested entry values flattened. */
export function opNames(ops: readonly Op[]): string[] {
  const out: string[] = [];
  for (const o of ops) { out.push(opName(o.code)); if (o.sub) out.push(...opNames(o.sub)); }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Fetch plans

/** Where a fetch starts: a register plus offset, an absolute address, or memory loaded from another address. */
export type AddressExpr =
  | { readonly kind: 'reg'; readonly reg: number; readonly regName: string | null; readonly offset: number }
  | { readonly kind: 'absolute'; readonly address: number }
  | { readonly kind: 'deref'; readonly base: AddressExpr; readonly size: number; readonly offset: number };

export type FetchPlan =
  /** The value lives in a register (DW_OP_regN). */
  | { readonly kind: 'register'; readonly reg: number; readonly regName: string | null }
  /** The value lives in memory at `address` (DW_OP_bregN/fbreg/addr...). */
  | { readonly kind: 'memory'; readonly address: AddressExpr }
  /** The value is a known constant (DW_OP_lit/const... DW_OP_stack_value). */
  | { readonly kind: 'constant'; readonly value: bigint }
  /** The value is given as bytes (DW_OP_implicit_value). */
  | { readonly kind: 'implicit'; readonly bytes: Uint8Array }
  /** The value is what register `reg` held on entry to the function (DW_OP_entry_value(DW_OP_regN)):
   *  fetchable only at the function's entry, where it is simply that register. */
  | { readonly kind: 'entry-value'; readonly reg: number; readonly regName: string | null }
  /** The value is assembled from pieces (DW_OP_piece); `plan` null means that piece is optimized out. */
  | { readonly kind: 'composite'; readonly pieces: readonly { readonly bits: number; readonly plan: FetchPlan | null }[] }
  | { readonly kind: 'optimized-out' }
  /** A location that exists but a kprobe fetch can't express (arithmetic on registers, implicit pointers...). */
  | { readonly kind: 'unavailable'; readonly reason: string };

/** Symbolic stack values for planLocation. */
type Sym =
  | { t: 'const'; v: bigint }
  | { t: 'reg'; reg: number; add: bigint }
  | { t: 'load'; addr: Sym; size: number; add: bigint }
  | { t: 'unknown'; why: string };

export interface PlanContext extends OpContext {
  /** The CFA at the PC, from CFI (for DW_OP_call_frame_cfa). */
  readonly cfa?: () => { reg: number; offset: number } | undefined;
  /** The frame base at the PC (DW_AT_frame_base), already planned. */
  readonly frameBase?: () => FetchPlan | undefined;
  readonly addrx?: (index: number) => number;
}

const MAX_PLAN_OPS = 4096;

/** Plans how to fetch the value a location expression describes, without executing anything. */
export function planLocation(expr: Uint8Array, ctx: PlanContext): FetchPlan {
  if (expr.length === 0) return { kind: 'optimized-out' };
  const ops = decodeOps(expr, ctx);
  if (ops.length > MAX_PLAN_OPS) return { kind: 'unavailable', reason: 'expression too long' };
  const pieces: { bits: number; plan: FetchPlan | null }[] = [];
  let start = 0;
  for (let i = 0; i < ops.length; i++) {
    const o = ops[i]!;
    if (o.code === DW_OP.piece || o.code === DW_OP.bit_piece) {
      const bits = o.code === DW_OP.piece ? Number(o.args[0]) * 8 : Number(o.args[0]);
      pieces.push({ bits, plan: i === start ? null : planSimple(ops.slice(start, i), ctx) });
      start = i + 1;
    }
  }
  if (pieces.length === 0) return planSimple(ops, ctx);
  if (start < ops.length) return { kind: 'unavailable', reason: 'operations after the last piece' };
  return { kind: 'composite', pieces };
}

function planSimple(ops: readonly Op[], ctx: PlanContext): FetchPlan {
  const stack: Sym[] = [];
  const unknown = (why: string): Sym => ({ t: 'unknown', why });
  const pop = (): Sym => stack.pop() ?? unknown('stack underflow');
  const last = ops[ops.length - 1]!;
  // Register locations: DW_OP_regN / DW_OP_regx stand alone.
  if (ops.length === 1 && last.code >= DW_OP.reg0 && last.code <= DW_OP.reg31) return regPlan(last.code - DW_OP.reg0);
  if (ops.length === 1 && last.code === DW_OP.regx) return regPlan(last.args[0] as number);
  // DW_OP_entry_value(DW_OP_regN) [DW_OP_stack_value]
  const ev = ops[0]!;
  if ((ev.code === DW_OP.entry_value || ev.code === DW_OP.GNU_entry_value) && ev.sub && ev.sub.length === 1
    && (ops.length === 1 || (ops.length === 2 && last.code === DW_OP.stack_value))) {
    const s = ev.sub[0]!;
    const reg = s.code >= DW_OP.reg0 && s.code <= DW_OP.reg31 ? s.code - DW_OP.reg0 : s.code === DW_OP.regx ? (s.args[0] as number) : -1;
    if (reg >= 0) return { kind: 'entry-value', reg, regName: kernelRegName(reg) };
  }
  let isValue = false;
  for (let i = 0; i < ops.length; i++) {
    const o = ops[i]!, c = o.code;
    if (c >= DW_OP.lit0 && c <= DW_OP.lit31) { stack.push({ t: 'const', v: BigInt(c - DW_OP.lit0) }); continue; }
    if (c >= DW_OP.breg0 && c <= DW_OP.breg31) { stack.push({ t: 'reg', reg: c - DW_OP.breg0, add: o.args[0] as bigint }); continue; }
    if (c >= DW_OP.reg0 && c <= DW_OP.reg31 || c === DW_OP.regx) return { kind: 'unavailable', reason: 'register location inside a larger expression' };
    switch (c) {
      case DW_OP.addr: stack.push({ t: 'const', v: BigInt(o.args[0] as number) }); break;
      case DW_OP.addrx: case DW_OP.constx: case DW_OP.GNU_addr_index: case DW_OP.GNU_const_index:
        if (!ctx.addrx) return { kind: 'unavailable', reason: 'address index without .debug_addr' };
        stack.push({ t: 'const', v: BigInt(ctx.addrx(o.args[0] as number)) }); break;
      case DW_OP.const1u: case DW_OP.const1s: case DW_OP.const2u: case DW_OP.const2s: case DW_OP.const4u:
      case DW_OP.const4s: case DW_OP.const8u: case DW_OP.const8s: case DW_OP.constu: case DW_OP.consts:
        stack.push({ t: 'const', v: o.args[0] as bigint }); break;
      case DW_OP.bregx: stack.push({ t: 'reg', reg: o.args[0] as number, add: o.args[1] as bigint }); break;
      case DW_OP.fbreg: {
        const fb = ctx.frameBase?.();
        const base = fb ? planToSym(fb) : unknown('no frame base');
        stack.push(addConst(base, o.args[0] as bigint));
        break;
      }
      case DW_OP.call_frame_cfa: {
        const cfa = ctx.cfa?.();
        stack.push(cfa ? { t: 'reg', reg: cfa.reg, add: BigInt(cfa.offset) } : unknown('no CFI for this PC'));
        break;
      }
      case DW_OP.plus_uconst: stack.push(addConst(pop(), o.args[0] as bigint)); break;
      case DW_OP.plus: case DW_OP.minus: {
        const b = pop(), a = pop();
        if (b.t === 'const') stack.push(addConst(a, c === DW_OP.plus ? b.v : -b.v));
        else if (a.t === 'const' && c === DW_OP.plus) stack.push(addConst(b, a.v));
        else stack.push(unknown('arithmetic on two runtime values'));
        break;
      }
      case DW_OP.deref: stack.push({ t: 'load', addr: pop(), size: ctx.addrSize, add: 0n }); break;
      case DW_OP.deref_size: stack.push({ t: 'load', addr: pop(), size: o.args[0] as number, add: 0n }); break;
      case DW_OP.dup: { const a = pop(); stack.push(a, a); break; }
      case DW_OP.drop: pop(); break;
      case DW_OP.swap: { const b = pop(), a = pop(); stack.push(b, a); break; }
      case DW_OP.nop: break;
      case DW_OP.stack_value:
        if (i !== ops.length - 1) return { kind: 'unavailable', reason: 'DW_OP_stack_value before the end' };
        isValue = true; break;
      case DW_OP.implicit_value:
        if (ops.length !== 1) return { kind: 'unavailable', reason: 'implicit value inside an expression' };
        return { kind: 'implicit', bytes: o.args[0] as Uint8Array };
      case DW_OP.implicit_pointer: case DW_OP.GNU_implicit_pointer:
        return { kind: 'unavailable', reason: 'implicit pointer (the pointed-to object has no address)' };
      case DW_OP.entry_value: case DW_OP.GNU_entry_value:
        stack.push(unknown('entry value used in arithmetic')); break;
      default:
        {
          // Any other arithmetic: fold constants, otherwise the value is computed at run time.
          const folded = foldBinary(c, stack);
          if (!folded) return { kind: 'unavailable', reason: `${opName(c)} computes the value at run time` };
        }
    }
  }
  const top = stack.pop();
  if (!top) return { kind: 'optimized-out' };
  if (top.t === 'unknown') return { kind: 'unavailable', reason: top.why };
  if (isValue) {
    if (top.t === 'const') return { kind: 'constant', value: top.v };
    if (top.t === 'reg' && top.add === 0n) return regPlan(top.reg);
    if (top.t === 'load') {
      const addr = symToAddress(top.addr);
      if (!addr) return { kind: 'unavailable', reason: 'address computed at run time' };
      if (top.add !== 0n) return { kind: 'unavailable', reason: 'value computed from memory at run time' };
      return { kind: 'memory', address: addr };
    }
    return { kind: 'unavailable', reason: 'value computed from a register at run time' };
  }
  const addr = symToAddress(top);
  return addr ? { kind: 'memory', address: addr } : { kind: 'unavailable', reason: 'address computed at run time' };
}

function regPlan(reg: number): FetchPlan { return { kind: 'register', reg, regName: kernelRegName(reg) }; }

function addConst(s: Sym, v: bigint): Sym {
  switch (s.t) {
    case 'const': return { t: 'const', v: BigInt.asIntN(64, s.v + v) };
    case 'reg': return { t: 'reg', reg: s.reg, add: s.add + v };
    case 'load': return { t: 'load', addr: s.addr, size: s.size, add: s.add + v };
    default: return s;
  }
}

function foldBinary(code: number, stack: Sym[]): boolean {
  const unary = code === DW_OP.neg || code === DW_OP.not || code === DW_OP.abs;
  if (unary) {
    const a = stack.pop();
    if (!a || a.t !== 'const') return false;
    stack.push({ t: 'const', v: BigInt.asIntN(64, code === DW_OP.neg ? -a.v : code === DW_OP.not ? ~a.v : a.v < 0n ? -a.v : a.v) });
    return true;
  }
  const fn = BINARY[code];
  if (!fn) return false;
  const b = stack.pop(), a = stack.pop();
  if (a?.t !== 'const' || b?.t !== 'const') return false;
  const v = fn(BigInt.asUintN(64, a.v), BigInt.asUintN(64, b.v));
  if (v === null) return false;
  stack.push({ t: 'const', v: BigInt.asIntN(64, v) });
  return true;
}

const u = (v: bigint) => BigInt.asUintN(64, v);
const s = (v: bigint) => BigInt.asIntN(64, v);
/** Binary operators on unsigned 64-bit operands (DWARF 5 §2.5.1.4); null means undefined (division by 0). */
const BINARY: Record<number, (a: bigint, b: bigint) => bigint | null> = {
  [DW_OP.and]: (a, b) => a & b, [DW_OP.or]: (a, b) => a | b, [DW_OP.xor]: (a, b) => a ^ b,
  [DW_OP.plus]: (a, b) => u(a + b), [DW_OP.minus]: (a, b) => u(a - b), [DW_OP.mul]: (a, b) => u(a * b),
  [DW_OP.div]: (a, b) => (b === 0n ? null : u(s(a) / s(b))), [DW_OP.mod]: (a, b) => (b === 0n ? null : a % b),
  [DW_OP.shl]: (a, b) => (b >= 64n ? 0n : u(a << b)), [DW_OP.shr]: (a, b) => (b >= 64n ? 0n : a >> b),
  [DW_OP.shra]: (a, b) => u(s(a) >> (b >= 64n ? 63n : b)),
  [DW_OP.eq]: (a, b) => (a === b ? 1n : 0n), [DW_OP.ne]: (a, b) => (a !== b ? 1n : 0n),
  [DW_OP.lt]: (a, b) => (s(a) < s(b) ? 1n : 0n), [DW_OP.le]: (a, b) => (s(a) <= s(b) ? 1n : 0n),
  [DW_OP.gt]: (a, b) => (s(a) > s(b) ? 1n : 0n), [DW_OP.ge]: (a, b) => (s(a) >= s(b) ? 1n : 0n),
};

function planToSym(p: FetchPlan): Sym {
  // DW_AT_frame_base is a location: a register location means "the register's contents" (DWARF 5 §3.3.5).
  if (p.kind === 'register') return { t: 'reg', reg: p.reg, add: 0n };
  if (p.kind === 'memory') {
    // A memory location description for the frame base: its address is the frame base value.
    return addressToSym(p.address);
  }
  if (p.kind === 'constant') return { t: 'const', v: p.value };
  return { t: 'unknown', why: 'frame base is not computable' };
}
function addressToSym(a: AddressExpr): Sym {
  if (a.kind === 'reg') return { t: 'reg', reg: a.reg, add: BigInt(a.offset) };
  if (a.kind === 'absolute') return { t: 'const', v: BigInt(a.address) };
  return { t: 'load', addr: addressToSym(a.base), size: a.size, add: BigInt(a.offset) };
}
function symToAddress(sy: Sym, depth = 0): AddressExpr | null {
  if (depth > 16) return null;
  if (sy.t === 'reg') return { kind: 'reg', reg: sy.reg, regName: kernelRegName(sy.reg), offset: Number(sy.add) };
  if (sy.t === 'const') return { kind: 'absolute', address: Number(BigInt.asIntN(64, sy.v)) };
  if (sy.t === 'load') {
    const base = symToAddress(sy.addr, depth + 1);
    return base ? { kind: 'deref', base, size: sy.size, offset: Number(sy.add) } : null;
  }
  return null;
}

/** Renders an address as a kprobe_events fetch argument body: `+16(%sp)`, `+8(+0(%di))`, `@0xffff...`. */
export function formatAddressExpr(a: AddressExpr): string {
  if (a.kind === 'reg') return `${a.offset >= 0 ? '+' : ''}${a.offset}(%${a.regName ?? `r${a.reg}`})`;
  if (a.kind === 'absolute') return '@' + hex0x(a.address);
  return `${a.offset >= 0 ? '+' : ''}${a.offset}(${derefInner(a.base)})`;
}
function derefInner(a: AddressExpr): string {
  // The base of a deref is the value stored at address `a`, which is exactly the fetcharg for `a`.
  return formatAddressExpr(a);
}

// ---------------------------------------------------------------------------------------------------------
// Evaluation

export interface EvalContext extends OpContext {
  readRegister(reg: number): bigint;
  readMemory(address: bigint, size: number): bigint;
  frameBase?(): bigint;
  callFrameCfa?(): bigint;
  /** Value of an expression on entry to the current function (DW_OP_entry_value); absent → error. */
  entryValue?(expr: Uint8Array): bigint;
  addrx?(index: number): number;
}

export type EvalResult =
  | { readonly kind: 'memory'; readonly address: bigint }
  | { readonly kind: 'register'; readonly reg: number }
  | { readonly kind: 'value'; readonly value: bigint }
  | { readonly kind: 'implicit'; readonly bytes: Uint8Array }
  | { readonly kind: 'pieces'; readonly pieces: readonly { readonly bits: number; readonly result: EvalResult | null }[] }
  | { readonly kind: 'optimized-out' };

/** Bound on executed operations: DW_OP_bra/skip can loop forever in hostile input. */
export const MAX_EVAL_STEPS = 100_000;

export function evaluate(expr: Uint8Array, ctx: EvalContext, maxSteps = MAX_EVAL_STEPS): EvalResult {
  const ops = decodeOps(expr, ctx);
  if (ops.length === 0) return { kind: 'optimized-out' };
  const byOffset = new Map<number, number>();
  ops.forEach((o, i) => byOffset.set(o.at, i));
  const stack: bigint[] = [];
  const pieces: { bits: number; result: EvalResult | null }[] = [];
  const err = (o: Op, why: string): never => fail('expression', o.at, why);
  const pop = (o: Op): bigint => { const v = stack.pop(); if (v === undefined) err(o, `${opName(o.code)}: stack underflow`); return v!; };
  let result: EvalResult | null = null;
  let pc = 0, steps = 0;
  const jump = (o: Op, delta: number) => {
    const target = o.at + 3 + delta; // the operand is 2 bytes after the 1-byte opcode
    if (target === expr.length) { pc = ops.length; return; }
    const idx = byOffset.get(target);
    if (idx === undefined) err(o, `branch to 0x${target.toString(16)} is not an operation boundary`);
    pc = idx!;
  };
  while (pc < ops.length) {
    if (++steps > maxSteps) fail('expression', ops[pc]!.at, 'expression did not finish within the step bound');
    const o = ops[pc++]!, c = o.code;
    if (result && c !== DW_OP.piece && c !== DW_OP.bit_piece) err(o, 'operation after a location that must end the expression');
    if (c >= DW_OP.lit0 && c <= DW_OP.lit31) { stack.push(BigInt(c - DW_OP.lit0)); continue; }
    if (c >= DW_OP.reg0 && c <= DW_OP.reg31) { result = { kind: 'register', reg: c - DW_OP.reg0 }; continue; }
    if (c >= DW_OP.breg0 && c <= DW_OP.breg31) { stack.push(u(ctx.readRegister(c - DW_OP.breg0) + (o.args[0] as bigint))); continue; }
    const bin = BINARY[c];
    if (bin) {
      const b = pop(o), a = pop(o);
      const v = bin(u(a), u(b));
      if (v === null) err(o, 'division by zero');
      stack.push(v!);
      continue;
    }
    switch (c) {
      case DW_OP.addr: stack.push(u(BigInt(o.args[0] as number))); break;
      case DW_OP.addrx: case DW_OP.constx: case DW_OP.GNU_addr_index: case DW_OP.GNU_const_index:
        if (!ctx.addrx) err(o, 'address index without .debug_addr');
        stack.push(u(BigInt(ctx.addrx!(o.args[0] as number)))); break;
      case DW_OP.const1u: case DW_OP.const1s: case DW_OP.const2u: case DW_OP.const2s: case DW_OP.const4u:
      case DW_OP.const4s: case DW_OP.const8u: case DW_OP.const8s: case DW_OP.constu: case DW_OP.consts:
        stack.push(u(o.args[0] as bigint)); break;
      case DW_OP.regx: result = { kind: 'register', reg: o.args[0] as number }; break;
      case DW_OP.bregx: stack.push(u(ctx.readRegister(o.args[0] as number) + (o.args[1] as bigint))); break;
      case DW_OP.fbreg:
        if (!ctx.frameBase) err(o, 'DW_OP_fbreg without a frame base');
        stack.push(u(ctx.frameBase!() + (o.args[0] as bigint))); break;
      case DW_OP.call_frame_cfa:
        if (!ctx.callFrameCfa) err(o, 'DW_OP_call_frame_cfa without call frame information');
        stack.push(u(ctx.callFrameCfa!())); break;
      case DW_OP.dup: { const a = pop(o); stack.push(a, a); break; }
      case DW_OP.drop: pop(o); break;
      case DW_OP.over: { if (stack.length < 2) err(o, 'stack underflow'); stack.push(stack[stack.length - 2]!); break; }
      case DW_OP.pick: { const i = o.args[0] as number; if (i >= stack.length) err(o, 'pick beyond the stack'); stack.push(stack[stack.length - 1 - i]!); break; }
      case DW_OP.swap: { const b = pop(o), a = pop(o); stack.push(b, a); break; }
      case DW_OP.rot: { const c1 = pop(o), b = pop(o), a = pop(o); stack.push(c1, a, b); break; }
      case DW_OP.abs: { const a = s(pop(o)); stack.push(u(a < 0n ? -a : a)); break; }
      case DW_OP.neg: stack.push(u(-s(pop(o)))); break;
      case DW_OP.not: stack.push(u(~pop(o))); break;
      case DW_OP.plus_uconst: stack.push(u(pop(o) + (o.args[0] as bigint))); break;
      case DW_OP.deref: stack.push(ctx.readMemory(pop(o), ctx.addrSize)); break;
      case DW_OP.deref_size: stack.push(ctx.readMemory(pop(o), o.args[0] as number)); break;
      case DW_OP.skip: jump(o, o.args[0] as number); break;
      case DW_OP.bra: if (pop(o) !== 0n) jump(o, o.args[0] as number); break;
      case DW_OP.nop: break;
      case DW_OP.stack_value: result = { kind: 'value', value: pop(o) }; break;
      case DW_OP.implicit_value: result = { kind: 'implicit', bytes: o.args[0] as Uint8Array }; break;
      case DW_OP.entry_value: case DW_OP.GNU_entry_value:
        if (!ctx.entryValue) err(o, 'DW_OP_entry_value needs the caller\'s state');
        stack.push(u(ctx.entryValue!(o.args[0] as Uint8Array))); break;
      case DW_OP.piece: case DW_OP.bit_piece: {
        const bits = c === DW_OP.piece ? Number(o.args[0]) * 8 : Number(o.args[0]);
        const r: EvalResult | null = result ?? (stack.length ? { kind: 'memory', address: stack.pop()! } : null);
        pieces.push({ bits, result: r });
        result = null; stack.length = 0;
        break;
      }
      default: err(o, `${opName(c)} is not supported by the evaluator`);
    }
  }
  if (pieces.length) return { kind: 'pieces', pieces };
  if (result) return result;
  const top = stack.pop();
  return top === undefined ? { kind: 'optimized-out' } : { kind: 'memory', address: top };
}

// ---------------------------------------------------------------------------------------------------------
// Composing plans for `file->f_pos`, `arr[2]`, `inode.i_ino` (the perf-probe argument forms)

/**
 * `p->member` / `p[i]`: the plan yields a pointer; the result is the memory `offset` bytes past where it
 * points. A register pointer becomes `+OFFS(%reg)`, a pointer in memory one more level of dereference.
 */
export function derefAt(pointer: FetchPlan, offset: number, addrSize = 8): FetchPlan {
  switch (pointer.kind) {
    case 'register': return { kind: 'memory', address: { kind: 'reg', reg: pointer.reg, regName: pointer.regName, offset } };
    case 'memory': return { kind: 'memory', address: { kind: 'deref', base: pointer.address, size: addrSize, offset } };
    case 'constant': return { kind: 'memory', address: { kind: 'absolute', address: Number(BigInt.asIntN(64, pointer.value)) + offset } };
    case 'optimized-out': return pointer;
    case 'entry-value': return { kind: 'unavailable', reason: 'the pointer is an entry value (known only at function entry)' };
    default: return { kind: 'unavailable', reason: `cannot dereference a ${pointer.kind} location` };
  }
}

/**
 * `s.member` / `a[i]` on an object stored in memory: the same memory, `offset` bytes further. An object
 * held in a register has no address (a register-sized struct member at offset 0 is the register itself).
 */
export function fieldAt(object: FetchPlan, offset: number): FetchPlan {
  switch (object.kind) {
    case 'memory': {
      const a = object.address;
      const moved: AddressExpr = a.kind === 'absolute' ? { ...a, address: a.address + offset } : { ...a, offset: a.offset + offset };
      return { kind: 'memory', address: moved };
    }
    case 'register': return offset === 0 ? object : { kind: 'unavailable', reason: 'part of an object held in a register' };
    case 'optimized-out': return object;
    default: return { kind: 'unavailable', reason: `cannot take a member of a ${object.kind} location` };
  }
}
