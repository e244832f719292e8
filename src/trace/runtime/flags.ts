// The context flags of a trace event, computed per hit as tracing_gen_ctx (kernel/trace/trace.c
// tracing_gen_ctx_irq_test) computes them in the handler that records it:
//   irqs-off      the CPU's IF at that point: always off in the int3 (and #DB) handlers; for the
//                 optprobe detour, the ftrace call and the kretprobe trampoline, the probed context's
//   need-resched  TIF_NEED_RESCHED of current (the fixture has no folded PREEMPT_NEED_RESCHED: no 'p')
//   hardirq/NMI   int3 and #DB enter as NMIs (irqentry_nmi_enter: NMI + HARDIRQ): 'Z'; otherwise
//                 hardirq when the hit is inside an interrupt handler (the fixture keeps no HARDIRQ
//                 count in preempt_count: a frame of a sysvec_* / *_interrupt handler on the stack says it)
//   preempt-depth current->preempt_count, plus the one the path itself takes (optimized_callback's
//                 preempt_disable, ftrace_test_recursion_trylock, rethook's preempt_disable_notrace)
import type { Image } from '../../elf/image.js';
import type { Memory } from '../../emu/memory.js';
import { backtrace } from '../../kernel/backtrace.js';
import { HitPath, type KprobeManager } from '../../kprobe/kprobes.js';
import type { PtRegs } from '../../kprobe/regs.js';
import type { EntryFlags } from '../kprobe-events/format.js';
import { safeLoad } from './context.js';
import { taskLayout } from '../../kernel/task-layout.js';

// where the flags and the preemption count are: src/kernel/task-layout.ts
const TIF_NEED_RESCHED = 3n;
const IRQ_HANDLER = /^(asm_)?(sysvec_\w+|common_interrupt|spurious_interrupt)$/;

/** In an interrupt handler: the hit's function or a caller on the frame-pointer chain is one. */
function inHardirq(regs: PtRegs, mem: Memory, image: Image): boolean {
  const frames = backtrace(mem, image, regs.ip, regs.bp, 16, regs.sp, undefined, false);
  return frames.some((f) => IRQ_HANDLER.test(image.lookupAddr(f.addr)?.entry.name ?? ''));
}

/** tracing_gen_ctx for a trace event recorded by a handler running on regs.cpu. */
export function hitFlags(mgr: KprobeManager, regs: PtRegs, mem: Memory, image: Image): EntryFlags {
  const cpu = regs.cpu;
  const path = mgr.hitPath[cpu.id] as HitPath;
  const gs = cpu.gsb;
  const l = taskLayout(image);
  const task = gs < 0 ? safeLoad(mem, gs + l.current, 8, false) : undefined;
  const t = task === undefined ? 0 : Number(BigInt.asIntN(64, task));
  const ti = t ? safeLoad(mem, t + l.tiFlags, 8, false) ?? 0n : 0n;
  const pcAt = l.preemptPerCpu ? (gs < 0 && l.preemptCount >= 0 ? gs + l.preemptCount : 0) : t ? t + l.preemptCount : 0;
  const pc = pcAt ? Number((safeLoad(mem, pcAt, 4, false) ?? 0n) & 0xffn) : 0;
  const nmi = path === HitPath.Int3;
  const taken = path === HitPath.Optprobe || path === HitPath.Ftrace || path === HitPath.Rethook ? 1 : 0;
  return {
    irqsOff: nmi || !cpu.if_,
    needResched: ((ti >> TIF_NEED_RESCHED) & 1n) === 1n,
    nmi,
    hardirq: nmi || inHardirq(regs, mem, image),
    preemptCount: Math.min(pc + taken, 15),
  };
}
