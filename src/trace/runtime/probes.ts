// The KprobeBackend over the real kprobe layer: each kprobe_events probe becomes a struct kprobe
// whose pre_handler records a trace event (kprobe_dispatcher → kprobe_trace_func: fetch the args,
// write the ring-buffer entry) and counts the hit for kprobe_profile; the kprobe's nmissed is the
// profile's miss count. A return probe becomes a struct kretprobe (trace_kprobe.c
// kretprobe_dispatcher → kretprobe_trace_func): the event is recorded when the function returns, as
// "(caller+off/size <- func)"; $argN on it reads the copy its entry handler saved
// (store_trace_entry_data); its misses are the kprobe's plus the kretprobe's (trace_kprobe_nmissed).
import type { Image } from '../../elf/image.js';
import type { Memory } from '../../emu/memory.js';
import { KPROBE_FLAG_DISABLED, type Kprobe, type KprobeManager } from '../../kprobe/kprobes.js';
import type { Kretprobe, KretprobeManager, KretprobeInstance } from '../../kprobe/kretprobe.js';
import type { FetchOp } from '../kprobe-events/fetch.js';
import type { PtRegs } from '../../kprobe/regs.js';
import { fetchArgs, type ArgValue } from '../kprobe-events/eval.js';
import type { KprobeBackend } from '../kprobe-events/events.js';
import { formatKprobeLine, formatKretprobeLine, type Symbolizer } from '../kprobe-events/format.js';
import type { ProbeDef } from '../kprobe-events/probe.js';
import { currentTask, hitContext, imageSymbolizer } from './context.js';
import { hitFlags } from './flags.js';
import { backtrace } from '../../kernel/backtrace.js';
import { taskLayout, type TaskLayout } from '../../kernel/task-layout.js';


/** One recorded event: what the ring buffer holds, plus its trace text. */
export interface TraceEvent {
  probe: ProbeDef;
  cpu: number;
  tsNs: bigint;
  comm: string;
  pid: number;
  ip: bigint;
  /** Return probes: the return value (regs_return_value, %ax) and the function's address. */
  retval?: bigint;
  func?: bigint;
  args: ArgValue[];
  line: string;
  /** The kernel stack at the hit, innermost first (when the runtime's stackOf asked for it). */
  stack?: bigint[];
}

/**
 * Trace order: the CPUs run in quanta, so events arrive grouped by CPU; the trace file (and
 * trace_pipe) merge the per-CPU buffers by timestamp (ring_buffer_iter / peek_next_entry), then CPU.
 * A comparator for a stable sort, so equal keys keep their arrival order.
 */
export function byTraceTime(a: { ts: bigint; cpu: number }, b: { ts: bigint; cpu: number }): number {
  return a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : a.cpu - b.cpu;
}

/** The largest N of $argN used at entry by a return probe's args (0: no entry data). */
function entryArgs(probe: ProbeDef): number {
  let n = 0;
  const walk = (op: FetchOp): void => {
    if (op.kind === 'arg' && op.entry) n = Math.max(n, op.index);
    if (op.kind === 'deref') walk(op.base);
  };
  for (const a of probe.args) walk(a.fetch);
  return n;
}


export class ProbeRuntime implements KprobeBackend {
  readonly kprobes = new Map<ProbeDef, Kprobe>();
  readonly kretprobes = new Map<ProbeDef, Kretprobe>();
  readonly hits = new Map<ProbeDef, number>();
  readonly returnProbes: ProbeDef[] = [];
  readonly sym: Symbolizer;
  /** Where current, pid and comm are (kernel/task-layout.ts). */
  readonly layout: TaskLayout;
  /** Why the last register() failed (register_kprobe's reason). */
  refusal: { errno: number; reason: string } | undefined;
  /** Called for each recorded event, in the order they happen. */
  onEvent: ((e: TraceEvent) => void) | undefined;
  /** Which events need their kernel stack (a stacktrace trigger, `run -g`). */
  stackOf: ((probe: ProbeDef) => boolean) | undefined;

  constructor(readonly mgr: KprobeManager, readonly mem: Memory, readonly image: Image, readonly krm?: KretprobeManager) {
    this.sym = imageSymbolizer(image);
    this.layout = taskLayout(image);
  }

  /**
   * The probed context's kernel stack (stack_trace_save as a handler sees it below its own frames):
   * the frame-pointer walk from `ip`, at a function's entry finding the return address on the stack
   * (`entry`), and a return address a kretprobe replaced with its trampoline put back from the
   * task's instances (unwind_recover_ret_addr), so the trace shows the real callers.
   */
  private stackAt(regs: PtRegs, ip: number, entry: boolean): bigint[] {
    const krm = this.krm;
    const recover = krm ? (ret: number, slot: number) => (ret === krm.trampoline ? krm.findRetAddr(krm.currentTask(regs.cpu), slot) ?? ret : ret) : undefined;
    return backtrace(this.mem, this.image, ip, regs.bp, 32, entry ? regs.sp : undefined, recover)
      .map((f) => BigInt.asUintN(64, BigInt(f.addr)));
  }

  register(probe: ProbeDef, enabled: boolean): number {
    const rc = this.registerProbe(probe, enabled);
    const err = probe.type === 'r' ? this.krm?.lastError : this.mgr.lastError;
    this.refusal = rc && err && err.errno === rc ? { errno: -rc, reason: err.reason } : undefined;
    return rc;
  }

  private registerProbe(probe: ProbeDef, enabled: boolean): number {
    if (probe.type === 'r') {
      if (!this.krm) { this.returnProbes.push(probe); return 0; }
      return this.registerReturn(probe, enabled, this.krm);
    }
    const kp: Kprobe = {
      flags: enabled ? 0 : KPROBE_FLAG_DISABLED,
      preHandler: (p, regs) => { this.hit(probe, p, regs); return 0; },
    };
    if (probe.symbol !== undefined) { kp.symbolName = probe.symbol; kp.offset = probe.offset; }
    else { kp.addr = Number(BigInt.asIntN(64, probe.addr ?? 0n)); kp.offset = probe.offset; }
    const rc = this.mgr.registerKprobe(kp);
    if (rc) return rc;
    this.kprobes.set(probe, kp);
    this.hits.set(probe, 0);
    return 0;
  }

  private registerReturn(probe: ProbeDef, enabled: boolean, krm: KretprobeManager): number {
    const nargs = entryArgs(probe);
    const kp: Kprobe = { flags: enabled ? 0 : KPROBE_FLAG_DISABLED };
    if (probe.symbol !== undefined) { kp.symbolName = probe.symbol; kp.offset = probe.offset; }
    else { kp.addr = Number(BigInt.asIntN(64, probe.addr ?? 0n)); kp.offset = probe.offset; }
    const rp: Kretprobe = {
      kp,
      maxactive: probe.maxactive || undefined,
      dataSize: nargs * 8,
      entryHandler: nargs ? (ri, regs) => { saveEntryArgs(ri, regs, nargs); return 0; } : undefined,
      handler: (ri, regs) => { this.returnHit(probe, rp, ri, regs); return 0; },
    };
    const rc = krm.registerKretprobe(rp);
    if (rc) return rc;
    this.kretprobes.set(probe, rp);
    this.kprobes.set(probe, kp);
    this.hits.set(probe, 0);
    return 0;
  }

  unregister(probe: ProbeDef): void {
    const rp = this.kretprobes.get(probe);
    if (rp && this.krm) { this.krm.unregisterKretprobe(rp); this.kretprobes.delete(probe); this.kprobes.delete(probe); return; }
    const kp = this.kprobes.get(probe);
    if (kp) this.mgr.unregisterKprobe(kp);
    this.kprobes.delete(probe);
    const i = this.returnProbes.indexOf(probe);
    if (i >= 0) this.returnProbes.splice(i, 1);
  }

  setEnabled(probe: ProbeDef, on: boolean): number {
    const rp = this.kretprobes.get(probe);
    if (rp && this.krm) return on ? this.krm.enableKretprobe(rp) : this.krm.disableKretprobe(rp);
    const kp = this.kprobes.get(probe);
    if (!kp) return 0;
    return on ? this.mgr.enableKprobe(kp) : this.mgr.disableKprobe(kp);
  }

  /** kprobe_profile's miss column: the kprobe's nmissed. */
  misses(probe: ProbeDef): number {
    return (this.kprobes.get(probe)?.nmissed ?? 0) + (this.kretprobes.get(probe)?.nmissed ?? 0);
  }

  private returnHit(probe: ProbeDef, rp: Kretprobe, ri: KretprobeInstance, regs: PtRegs): void {
    this.hits.set(probe, (this.hits.get(probe) ?? 0) + 1);
    const cpu = regs.cpu;
    const base = hitContext(regs, this.mem, this.sym, this.layout);
    const saved = ri.data.length ? new DataView(ri.data.buffer, ri.data.byteOffset, ri.data.byteLength) : undefined;
    const ctx = { ...base, arg: (n: number, entry: boolean) => (entry && saved && n * 8 <= saved.byteLength ? saved.getBigUint64((n - 1) * 8, true) : base.arg(n, entry)) };
    const args = fetchArgs(probe, ctx);
    const t = currentTask(this.mem, cpu.gsb, this.layout);
    const comm = t ? t.comm : '<...>';
    const pid = t ? t.pid : 0;
    const tsNs = BigInt(cpu.clock());
    const retIp = BigInt.asUintN(64, BigInt(ri.retAddr));
    const func = BigInt.asUintN(64, BigInt(rp.kp.addr ?? 0));
    const line = formatKretprobeLine({ comm, pid, cpu: cpu.id, tsNs, flags: hitFlags(this.mgr, regs, this.mem, this.image) }, probe.event, retIp, func, args, this.sym);
    const stack = this.stackOf?.(probe) ? this.stackAt(regs, ri.retAddr, false) : undefined;
    this.onEvent?.({ probe, cpu: cpu.id, tsNs, comm, pid, ip: retIp, retval: regs.ax, func, args, line, ...(stack ? { stack } : {}) });
  }

  private hit(probe: ProbeDef, kp: Kprobe, regs: PtRegs): void {
    this.hits.set(probe, (this.hits.get(probe) ?? 0) + 1);
    const cpu = regs.cpu;
    const ctx = hitContext(regs, this.mem, this.sym, this.layout);
    const args = fetchArgs(probe, ctx);
    const t = currentTask(this.mem, cpu.gsb, this.layout);
    // The kernel prints "<...>" for a pid whose comm it does not have (trace_find_cmdline).
    const comm = t ? t.comm : '<...>';
    const pid = t ? t.pid : 0;
    const tsNs = BigInt(cpu.clock());
    const ip = BigInt.asUintN(64, BigInt(kp.addr ?? 0));
    const line = formatKprobeLine({ comm, pid, cpu: cpu.id, tsNs, flags: hitFlags(this.mgr, regs, this.mem, this.image) }, probe.event, ip, args, this.sym);
    const stack = this.stackOf?.(probe) ? this.stackAt(regs, kp.addr ?? 0, true) : undefined;
    this.onEvent?.({ probe, cpu: cpu.id, tsNs, comm, pid, ip, args, line, ...(stack ? { stack } : {}) });
  }
}

/** The kretprobe entry handler's copy of $arg1..$argN (regs_get_kernel_argument at entry). */
function saveEntryArgs(ri: KretprobeInstance, regs: PtRegs, n: number): void {
  const dv = new DataView(ri.data.buffer, ri.data.byteOffset, ri.data.byteLength);
  const regArgs = [regs.di, regs.si, regs.dx, regs.cx, regs.r8, regs.r9];
  for (let i = 0; i < n; i++) {
    let v = regArgs[i];
    if (v === undefined) {
      // arguments past the sixth are on the stack above the return address
      const a = regs.sp + (i - 5) * 8;
      v = 0n;
      const p = regs.cpu.mem.permsAt(a);
      if (p) v = regs.cpu.mem.read64(a);
    }
    dv.setBigUint64(i * 8, BigInt.asUintN(64, v), true);
  }
}
