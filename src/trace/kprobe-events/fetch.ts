// The parsed form of one fetch argument: a typed tree of where the value comes from, plus how it is
// stored (type, array count, bitfield). It carries what the kernel's fetch_insn program encodes
// (kernel/trace/trace_probe.h enum fetch_op), but as a tree the evaluator can walk.
import type { RegName } from './regs.js';
import type { FetchType } from './types.js';

export type FetchOp =
  /** %REG */
  | { kind: 'reg'; reg: RegName }
  /** $stackN: the Nth unsigned long on the kernel stack. */
  | { kind: 'stack'; index: number }
  /** $stack: the stack pointer. */
  | { kind: 'stackp' }
  /** $retval (return probes). */
  | { kind: 'retval' }
  /** $comm / $COMM: the current task's comm (string only). */
  | { kind: 'comm' }
  /**
   * $argN (N from 1). `entry` when used on a return probe: the kernel saves the argument at function
   * entry (FETCH_OP_EDATA) and reads the saved copy at return.
   */
  | { kind: 'arg'; index: number; entry: boolean }
  /** \IMM: an immediate (unsigned 64-bit; negative input wraps). */
  | { kind: 'imm'; value: bigint }
  /** \"STRING": an immediate string (FETCH_OP_DATA). */
  | { kind: 'immstr'; text: string }
  /** @ADDR: memory at a fixed address. */
  | { kind: 'mem'; addr: bigint }
  /**
   * @SYM[+|-offs]: memory at a symbol's address plus offset. `text` is what followed '@'; the kernel
   * resolves it when it registers the probe (traceprobe_update_arg), not while parsing;
   * `addr` is filled in then (resolveProbeSymbols).
   */
  | { kind: 'sym'; text: string; addr?: bigint }
  /** +|-[u]OFFS(FETCHARG): memory at the inner value plus offset; `user` reads user memory. */
  | { kind: 'deref'; offset: bigint; user: boolean; base: FetchOp };

export interface Bitfield {
  /** Bits kept. */
  width: number;
  /** Bit offset within the container. */
  offset: number;
  /** Container size in bytes (the type's size). */
  container: 1 | 2 | 4 | 8;
}

export interface ProbeArg {
  /** NAME= or the generated argN. */
  name: string;
  /** The argument text after NAME= exactly as written (the kernel's parg->comm, shown by kprobe_events). */
  comm: string;
  type: FetchType;
  /** Array element count; 0 for a scalar. */
  count: number;
  bitfield?: Bitfield;
  fetch: FetchOp;
}

/** True for the ops that name a memory location (their value is a load). */
export function isMemOp(op: FetchOp): op is Extract<FetchOp, { kind: 'mem' | 'sym' | 'deref' }> {
  return op.kind === 'mem' || op.kind === 'sym' || op.kind === 'deref';
}
