// Fetch-argument evaluation at a probe hit, as kernel/trace/trace_probe_tmpl.h
// process_fetch_insn_bottom and trace_kprobe.c process_fetch_insn run the fetch program: load a
// value, dereference, store with the argument's type (memory load, raw value or string), apply the
// bitfield, loop for arrays. Pure: the machine state comes in through FetchContext.
import { isMemOp, type FetchOp, type ProbeArg } from './fetch.js';
import type { ProbeDef } from './probe.js';
import type { RegName } from './regs.js';
import type { SymbolResolver } from './resolver.js';
import { kstrtol, U64_MAX } from './numbers.js';
import { ENOENT, EINVAL } from '../../base/errno.js';
import { bytesText } from '../../base/text.js';

/** MAX_STRING_SIZE (PATH_MAX): the longest string fetched, terminating NUL included. */
export const MAX_STRING_SIZE = 4096;

export interface FetchContext {
  /** A pt_regs register as an unsigned 64-bit value. */
  reg(name: RegName): bigint;
  /** Little-endian load of 1/2/4/8 bytes; `user` for user-space access. undefined on a fault. */
  mem(addr: bigint, size: 1 | 2 | 4 | 8, user: boolean): bigint | undefined;
  /** regs_get_kernel_stack_nth: the Nth unsigned long from the stack pointer, 0 outside the task's stack. */
  stack(n: number): bigint;
  /**
   * regs_get_kernel_argument(N - 1) at a function entry; with `entry` (a return probe's $argN), the
   * value the kretprobe's entry handler saved.
   */
  arg(n: number, entry: boolean): bigint;
  /** current->comm. */
  comm(): string;
  /** %pS / sprint_symbol text for symstr: "vfs_read+0x4/0x80", or "0x..." without a symbol. */
  symbolize(addr: bigint): string;
  /**
   * Optional fast path for strncpy_from_kernel_nofault / _user_nofault: at most `max` bytes before
   * the NUL (Latin-1), undefined on a fault before the NUL. Without it strings are read byte by byte.
   */
  readString?(addr: bigint, max: number, user: boolean): string | undefined;
}

/** One stored element. Numbers are the stored bits (unsigned, masked to the type's size). */
export type ScalarValue =
  | { kind: 'num'; value: bigint; fault?: true }
  | { kind: 'str'; text: string }
  | { kind: 'fault' };

export interface ArgValue {
  arg: ProbeArg;
  /** Scalars for a plain argument; an array's elements when arg.count > 0. */
  value: ScalarValue | ScalarValue[];
}

const mask = (bits: number) => (1n << BigInt(bits)) - 1n;
const add64 = (a: bigint, b: bigint) => (a + b) & U64_MAX;

function addrOf(op: Extract<FetchOp, { kind: 'mem' | 'sym' | 'deref' }>, ctx: FetchContext): bigint | undefined {
  switch (op.kind) {
    case 'mem': return op.addr;
    case 'sym': return op.addr;
    case 'deref': {
      const base = value64(op.base, ctx);
      return base === undefined ? undefined : add64(base, op.offset & U64_MAX);
    }
  }
}

/** The unsigned long the op yields (a load for memory ops); undefined on a fault. */
function value64(op: FetchOp, ctx: FetchContext): bigint | undefined {
  switch (op.kind) {
    case 'reg': return ctx.reg(op.reg) & U64_MAX;
    case 'stack': return ctx.stack(op.index) & U64_MAX;
    case 'stackp': return ctx.reg('sp') & U64_MAX;
    case 'retval': return ctx.reg('ax') & U64_MAX; // regs_return_value
    case 'arg': return ctx.arg(op.index, op.entry) & U64_MAX;
    case 'imm': return op.value;
    case 'comm':
    case 'immstr':
      return undefined; // only ever stored as strings (the parser enforces it)
    default: {
      const a = addrOf(op, ctx);
      return a === undefined ? undefined : ctx.mem(a, 8, op.kind === 'deref' && op.user);
    }
  }
}

/**
 * A NUL-terminated string (fetch_store_string), undefined on a fault. The kernel prints its bytes as
 * they are: as text, valid UTF-8 is its characters and any other byte an escaped byte
 * (`src/base/text.ts`), so that every byte reaches stdout, files and the trace buffer as itself.
 */
function readString(addr: bigint, user: boolean, ctx: FetchContext): string | undefined {
  if (ctx.readString) return ctx.readString(addr, MAX_STRING_SIZE - 1, user);
  const bytes: number[] = [];
  for (let i = 0; i < MAX_STRING_SIZE - 1; i++) {
    const b = ctx.mem(add64(addr, BigInt(i)), 1, user);
    if (b === undefined) return undefined;
    if (b === 0n) break;
    bytes.push(Number(b));
  }
  return bytesText(bytes);
}

function stringElement(arg: ProbeArg, ctx: FetchContext, i: number): ScalarValue {
  const op = arg.fetch, t = arg.type.name;
  if (t === 'symstr') {
    const v = value64(op, ctx);
    return v === undefined ? { kind: 'fault' } : { kind: 'str', text: ctx.symbolize(v) };
  }
  if (op.kind === 'comm') return { kind: 'str', text: ctx.comm() };
  if (op.kind === 'immstr') return { kind: 'str', text: op.text };
  let at: bigint | undefined;
  let user = t === 'ustring';
  if (op.kind === 'imm') at = op.value;
  else if (isMemOp(op)) {
    const a = addrOf(op, ctx);
    if (op.kind === 'deref' && op.user) user = true;
    if (a === undefined) at = undefined;
    // With a count the final dereference stays: an array of string pointers.
    else if (arg.count) at = ctx.mem(add64(a, BigInt(8 * i)), 8, op.kind === 'deref' && op.user);
    else at = a;
  }
  if (at === undefined) return { kind: 'fault' };
  const s = readString(at, user, ctx);
  return s === undefined ? { kind: 'fault' } : { kind: 'str', text: s };
}

function numberElement(arg: ProbeArg, ctx: FetchContext, i: number): ScalarValue {
  const op = arg.fetch, size = arg.type.size, bits = size * 8;
  let v: bigint | undefined;
  if (isMemOp(op)) {
    const a = addrOf(op, ctx);
    v = a === undefined ? undefined : ctx.mem(add64(a, BigInt(i * size)), size, op.kind === 'deref' && op.user);
  } else {
    v = value64(op, ctx);
  }
  // A faulting load stores nothing; ktrace records 0 and marks it (the kernel leaves the slot as reserved).
  if (v === undefined) return { kind: 'num', value: 0n, fault: true };
  v &= mask(bits);
  if (arg.bitfield) {
    const { width, offset } = arg.bitfield;
    v = ((v << BigInt(bits - (width + offset))) & mask(bits)) >> BigInt(bits - width);
  }
  return { kind: 'num', value: v };
}

/** Evaluate one argument at a hit. */
export function fetchArg(arg: ProbeArg, ctx: FetchContext): ArgValue {
  const one = (i: number) => (arg.type.isString ? stringElement(arg, ctx, i) : numberElement(arg, ctx, i));
  if (!arg.count) return { arg, value: one(0) };
  return { arg, value: Array.from({ length: arg.count }, (_, i) => one(i)) };
}

/** Evaluate all of a probe's arguments (store_trace_args). */
export function fetchArgs(probe: ProbeDef, ctx: FetchContext): ArgValue[] {
  return probe.args.map((a) => fetchArg(a, ctx));
}

function mapOp(op: FetchOp, f: (o: Extract<FetchOp, { kind: 'sym' }>) => FetchOp | number): FetchOp | number {
  if (op.kind === 'sym') return f(op);
  if (op.kind === 'deref') {
    const b = mapOp(op.base, f);
    return typeof b === 'number' ? b : { ...op, base: b };
  }
  return op;
}

/**
 * traceprobe_update_arg at registration: give every @SYM[+|-offs] its address. -EINVAL for a bad
 * offset, -ENOENT for an unknown symbol (which register_trace_kprobe reports as BAD_PROBE_ADDR).
 */
export function resolveProbeSymbols(probe: ProbeDef, resolver: SymbolResolver): { ok: true; probe: ProbeDef } | { ok: false; errno: number } {
  const args: ProbeArg[] = [];
  for (const a of probe.args) {
    const r = mapOp(a.fetch, (op) => {
      const sign = op.text.search(/[+-]/);
      let name = op.text, off = 0n;
      if (sign >= 0) {
        const o = kstrtol(op.text.slice(sign), 0);
        if (!o.ok) return -EINVAL;
        off = o.value;
        name = op.text.slice(0, sign);
      }
      const at = resolver.lookup(name);
      if (at === undefined || at === 0) return -ENOENT;
      return { ...op, addr: add64(BigInt.asUintN(64, BigInt(at)), off & U64_MAX) };
    });
    if (typeof r === 'number') return { ok: false, errno: r };
    args.push({ ...a, fetch: r });
  }
  return { ok: true, probe: { ...probe, args } };
}
