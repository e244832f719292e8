// stack_trace_save / stack_trace_save_regs for probe handlers (kernel/stacktrace.c over the x86
// frame-pointer unwinder, arch/x86/kernel/unwind_frame.c): walk the guest's frame pointers
// ([rbp] = caller's rbp, [rbp+8] = return address) and, where a return address is the kretprobe
// trampoline, put back the real one from the task's instances (unwind_recover_ret_addr →
// rethook_find_ret_addr), so traces taken in handlers never show the trampoline, nested or not.
import type { Cpu } from '../emu/cpu.js';
import type { PtRegs } from './regs.js';
import type { KretprobeManager } from './kretprobe.js';
import { THREAD_SIZE } from './kretprobe.js';

/**
 * stack_trace_save_regs(regs): the trace of the interrupted context, starting at regs.ip (an ip at the
 * trampoline itself is replaced too).
 */
export function stackTraceSaveRegs(krp: KretprobeManager, regs: PtRegs, max = 64): number[] {
  return walk(krp, regs.cpu, regs.ip, regs.bp, regs.sp, max);
}

/**
 * stack_trace_save from inside a handler: the handler runs on the host, so the guest part of its trace
 * is the probed context's (what the kernel's trace shows below the handler's own frames).
 */
export function stackTraceSave(krp: KretprobeManager, cpu: Cpu, max = 64): number[] {
  const regs = krp.mgr.regsOf(cpu);
  return walk(krp, cpu, regs.ip, regs.bp, regs.sp, max);
}

function walk(krp: KretprobeManager, cpu: Cpu, ip: number, bp: number, sp: number, max: number): number[] {
  const mem = krp.mgr.machine.mem, image = krp.mgr.image;
  const task = krp.currentTask(cpu);
  const readable = (a: number) => a % 8 === 0 && mem.permsAt(a) !== 0 && mem.permsAt(a + 7) !== 0;
  const word = (a: number) => (mem.read32(a + 4) | 0) * 4294967296 + mem.read32(a);
  const out: number[] = [];
  // an ip at the trampoline: the function has returned and popped the slot at sp - 8
  out.push(ip === krp.trampoline ? (krp.findRetAddr(task, sp - 8) ?? ip) : ip);
  let fp = bp;
  // one stack only: the task's ([task->stack, +THREAD_SIZE), arch/x86/kernel/dumpstack.c's bounds) when
  // the walk starts on it, else the THREAD_SIZE-aligned region it starts in
  const base = krp.stackBase(task);
  const lo = base !== undefined && bp >= base && bp < base + THREAD_SIZE ? base : bp - (((bp % THREAD_SIZE) + THREAD_SIZE) % THREAD_SIZE);
  const onStack = (a: number) => a >= lo && a < lo + THREAD_SIZE;
  while (out.length < max) {
    if (!fp || !readable(fp) || !readable(fp + 8)) break;
    let ret = word(fp + 8);
    if (ret === krp.trampoline) ret = krp.findRetAddr(task, fp + 8) ?? ret;
    if (!image.isText(ret)) break;
    out.push(ret);
    const next = word(fp);
    if (next <= fp || !onStack(next)) break; // stacks grow down
    fp = next;
  }
  return out;
}
