// The KprobeBackend over the real kprobe layer: each kprobe_events probe becomes a struct kprobe
// whose pre_handler records a trace event (kprobe_dispatcher → kprobe_trace_func: fetch the args,
// write the ring-buffer entry) and counts the hit for kprobe_profile; the kprobe's nmissed is the
// profile's miss count. Return probes need kretprobes (issue 6, not implemented yet): they are kept
// in `returnProbes` and the caller refuses to run with one enabled.
import type { Image } from '../../elf/image.js';
import type { Memory } from '../../emu/memory.js';
import { KPROBE_FLAG_DISABLED, type Kprobe, type KprobeManager } from '../../kprobe/kprobes.js';
import type { PtRegs } from '../../kprobe/regs.js';
import { fetchArgs, type ArgValue } from '../kprobe-events/eval.js';
import type { KprobeBackend } from '../kprobe-events/events.js';
import { formatKprobeLine, type EntryFlags, type Symbolizer } from '../kprobe-events/format.js';
import type { ProbeDef } from '../kprobe-events/probe.js';
import { currentTask, hitContext, imageSymbolizer } from './context.js';

export const RETURN_PROBES_UNSUPPORTED = 'return probes are not implemented yet (issue 6)';

/** One recorded event: what the ring buffer holds, plus its trace text. */
export interface TraceEvent {
  probe: ProbeDef;
  cpu: number;
  tsNs: bigint;
  comm: string;
  pid: number;
  ip: bigint;
  args: ArgValue[];
  line: string;
}

/**
 * The int3 handler runs as an NMI-like exception with interrupts off (exc_int3 → irqentry_nmi_enter
 * for kernel-mode breakpoints: NMI_OFFSET + HARDIRQ_OFFSET), so kprobe events carry "d.Z..".
 */
const KPROBE_FLAGS: EntryFlags = { irqsOff: true, nmi: true, hardirq: true };

export class ProbeRuntime implements KprobeBackend {
  readonly kprobes = new Map<ProbeDef, Kprobe>();
  readonly hits = new Map<ProbeDef, number>();
  readonly returnProbes: ProbeDef[] = [];
  readonly sym: Symbolizer;
  /** Called for each recorded event, in the order they happen. */
  onEvent: ((e: TraceEvent) => void) | undefined;

  constructor(readonly mgr: KprobeManager, readonly mem: Memory, image: Image) {
    this.sym = imageSymbolizer(image);
  }

  register(probe: ProbeDef, enabled: boolean): number {
    if (probe.type === 'r') { this.returnProbes.push(probe); return 0; }
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

  unregister(probe: ProbeDef): void {
    const kp = this.kprobes.get(probe);
    if (kp) this.mgr.unregisterKprobe(kp);
    this.kprobes.delete(probe);
    const i = this.returnProbes.indexOf(probe);
    if (i >= 0) this.returnProbes.splice(i, 1);
  }

  setEnabled(probe: ProbeDef, on: boolean): number {
    const kp = this.kprobes.get(probe);
    if (!kp) return 0;
    return on ? this.mgr.enableKprobe(kp) : this.mgr.disableKprobe(kp);
  }

  /** kprobe_profile's miss column: the kprobe's nmissed. */
  misses(probe: ProbeDef): number {
    return this.kprobes.get(probe)?.nmissed ?? 0;
  }

  private hit(probe: ProbeDef, kp: Kprobe, regs: PtRegs): void {
    this.hits.set(probe, (this.hits.get(probe) ?? 0) + 1);
    const cpu = regs.cpu;
    const ctx = hitContext(regs, this.mem, this.sym);
    const args = fetchArgs(probe, ctx);
    const t = currentTask(this.mem, cpu.gsb);
    // The kernel prints "<...>" for a pid whose comm it does not have (trace_find_cmdline).
    const comm = t ? t.comm : '<...>';
    const pid = t ? t.pid : 0;
    const tsNs = BigInt(cpu.clock());
    const ip = BigInt.asUintN(64, BigInt(kp.addr ?? 0));
    const line = formatKprobeLine({ comm, pid, cpu: cpu.id, tsNs, flags: KPROBE_FLAGS }, probe.event, ip, args, this.sym);
    this.onEvent?.({ probe, cpu: cpu.id, tsNs, comm, pid, ip, args, line });
  }
}
