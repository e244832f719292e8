// Return probes (kretprobes) over the kprobes core, as kernel/kprobes.c (register_kretprobe,
// pre_handler_kretprobe, kretprobe_rethook_handler), kernel/trace/rethook.c (per-task instance lists,
// rethook_trampoline_handler, rethook_find_ret_addr) and arch/x86/kernel/rethook.c (the trampoline,
// arch_rethook_prepare, arch_rethook_fixup_return) implement them:
//
// - register_kretprobe places a kprobe at the function's entry whose pre_handler takes a free,
//   preallocated instance (maxactive of them; default max(10, 2*NR_CPUS): the fixture is preemptible),
//   saves the return address and the frame (the stack slot holding it) and overwrites that slot with the
//   trampoline's address. No free instance: the call is not probed, rp.nmissed++, no entry handler.
// - The trampoline is real code on a PAGE_PROBE page in the module area (within ±2 GB of text): a vmcall
//   the kretprobe layer owns (arch_rethook_trampoline saves pt_regs and calls into C; here the host is
//   the C). Its handler runs the return handlers of the instances for the returning frame with regs.ip
//   set to the real return address (as rethook_trampoline_handler does, so stack_trace_save_regs starts
//   there) and resumes at it with the stack as the function left it.
// - Instances belong to the task (rethook keeps them on current->rethooks): keyed here by the guest
//   task_struct pointer read from %gs:current_task (pcpu_hot +0). A task sleeping inside a probed
//   function keeps its instance; one that never returns (do_exit) has its instances recycled once it is
//   dead and switched away for good (the kernel recycles them in rethook_flush_task when the task_struct
//   goes), and instances whose frame the task's stack has unwound past are recycled as gone.
// - A return through the trampoline whose frame matches no instance prints the kernel's
//   "kretprobe BUG!" line and ends the run as an oops instead of resuming anywhere.
//
// Overhead: the trampoline's vmcall runs on a PAGE_PROBE page, so it counts in cpu.probeInstret only;
// the probed function's own `ret` retires as it would unprobed. Guest instret and time are unchanged.
import type { Cpu } from '../emu/cpu.js';
import { Stop, type Machine } from '../emu/machine.js';
import type { Memory } from '../emu/memory.js';
import type { Platform } from '../kernel/platform.js';
import { hex16 } from '../base/addr.js';
import { registerBatch, type Kprobe, type KprobeManager, type KprobeResult } from './kprobes.js';
import type { PtRegs } from './regs.js';
import { EINVAL, E2BIG } from '../base/errno.js';
import { addTrampolineSymbol } from './trampoline.js';
import { taskLayout, type TaskLayout } from '../kernel/task-layout.js';

/** KRETPROBE_MAXACTIVE_MAX (include/linux/kprobes.h). */
export const KRETPROBE_MAXACTIVE_MAX = 4096;
export const THREAD_SIZE = 16384;
const VMCALL = Uint8Array.of(0x0f, 0x01, 0xc1);

/** struct kretprobe_instance as handlers see it. */
export interface KretprobeInstance {
  rp: Kretprobe;
  /** The real return address (ri->ret_addr). */
  retAddr: number;
  /** The guest task_struct address of the task that made the call (ri->task). */
  task: number;
  /** dataSize bytes private to this instance, shared by the entry and return handlers. */
  data: Uint8Array;
  /** The stack slot that held the return address (rethook_node.frame). */
  frame: number;
}

/** struct kretprobe. */
export interface Kretprobe {
  kp: Kprobe;
  handler?: (ri: KretprobeInstance, regs: PtRegs) => number | void;
  /** Non-zero: leave the return address alone for this call (the instance is recycled at once). */
  entryHandler?: (ri: KretprobeInstance, regs: PtRegs) => number | boolean | void;
  dataSize?: number;
  /** Instances to preallocate; <= 0 or unset: max(10, 2*NR_CPUS). */
  maxactive?: number;
  /** Calls that found no free instance. */
  nmissed?: number;
}

interface RpState { free: Node[]; registered: boolean }

/** An instance in use: on its task's list, newest first (current->rethooks is an llist). */
interface Node { ri: KretprobeInstance; st: RpState; pid: number }

export class KretprobeManager {
  readonly trampoline: number;
  private readonly byKp = new Map<Kprobe, Kretprobe>();
  private readonly state = new Map<Kretprobe, RpState>();
  /** task_struct address → instances in use, newest first. */
  readonly tasks = new Map<number, Node[]>();
  private readonly mem: Memory;
  private readonly machine: Machine;
  /** Trampoline returns (all kretprobes), for tests and benchmarks. */
  trampolineHits = 0;
  /** Instances recycled without a return: their task died, or its stack unwound past their frame. */
  reclaimed = 0;

  /** current and the task_struct members read here (kernel/task-layout.ts). */
  private readonly layout: TaskLayout;

  constructor(readonly mgr: KprobeManager) {
    this.layout = taskLayout(mgr.image);
    this.machine = mgr.machine;
    this.mem = mgr.machine.mem;
    // arch_rethook_trampoline: its own page, so nothing else shares its PAGE_PROBE accounting
    this.trampoline = mgr.slots.allocArea(1);
    this.mem.writeBytes(this.trampoline, VMCALL);
    addTrampolineSymbol(mgr.image, this.trampoline);
  }

  /** Hook into a platform (after KprobeManager.attach): the trampoline's host call is ours. */
  static attach(platform: Platform, mgr: KprobeManager): KretprobeManager {
    const k = new KretprobeManager(mgr);
    platform.trapHandlers.push((cpu, stop) => k.handleTrap(cpu, stop));
    // oops backtraces show the real return addresses (unwind_recover_rethook)
    platform.retAddrRecovery.push((cpu, ret, slot) => (ret === k.trampoline ? k.findRetAddr(k.currentTask(cpu), slot) ?? ret : ret));
    return k;
  }

  /** The platform's (or a bench loop's) trap hook: true when the stop was the trampoline. */
  handleTrap(cpu: Cpu, stop: Stop): boolean {
    if (stop !== Stop.HostCall || cpu.faultAddr !== this.trampoline) return false;
    this.trampolineHandler(cpu);
    return true;
  }

  /** For renderKprobeList: a kretprobe's entry probe is listed with type "r". */
  readonly typeOf = (p: Kprobe): 'k' | 'r' => (this.byKp.has(p) ? 'r' : 'k');

  // ---------------------------------------------------------------- registration

  /** The last refusal, with its reason. */
  lastError: KprobeResult = { ok: true, errno: 0, reason: '' };

  /** register_kretprobe: 0 or a negative errno (lastError says why). */
  registerKretprobe(rp: Kretprobe): number {
    const r = this.register(rp);
    this.lastError = r;
    return r.errno;
  }

  private register(rp: Kretprobe): KprobeResult {
    const kp = rp.kp;
    if (this.state.has(rp)) return { ok: false, errno: -EINVAL, reason: 'this kretprobe is already registered' };
    // kprobe_on_func_entry: a return probe must sit on the function's entry (arch_kprobe_on_func_entry: offset 0)
    let addr: number | undefined;
    if (kp.symbolName !== undefined && kp.addr === undefined) {
      const a = this.mgr.image.lookupName(kp.symbolName);
      if (a === undefined) return { ok: false, errno: -2, reason: `unknown symbol ${kp.symbolName}` };
      addr = a + (kp.offset ?? 0);
    } else if (kp.addr !== undefined && kp.symbolName === undefined) addr = kp.addr + (kp.offset ?? 0);
    if (addr !== undefined) {
      const at = this.mgr.image.lookupAddr(addr);
      if (!at) return { ok: false, errno: -2, reason: `no symbol covers ${this.mgr.image.formatAddr(addr)}` };
      if (at.offset !== 0) return { ok: false, errno: -EINVAL, reason: `${this.mgr.image.formatAddr(addr)} is not a function entry` };
    }
    let n = rp.maxactive ?? 0;
    if (n > KRETPROBE_MAXACTIVE_MAX) return { ok: false, errno: -E2BIG, reason: `maxactive ${n} is above ${KRETPROBE_MAXACTIVE_MAX}` };
    if (n <= 0) n = Math.max(10, 2 * this.machine.cpus.length); // CONFIG_PREEMPTION
    rp.maxactive = n;
    rp.nmissed = 0;
    const st: RpState = { free: [], registered: true };
    const size = Math.max(0, rp.dataSize ?? 0);
    for (let i = 0; i < n; i++) st.free.push({ ri: { rp, retAddr: 0, task: 0, data: new Uint8Array(size), frame: 0 }, st, pid: 0 });
    kp.preHandler = (_p, regs) => { this.preHandler(rp, st, regs); return 0; };
    kp.postHandler = undefined;
    const r = this.mgr.register(kp);
    if (!r.ok) return r;
    this.state.set(rp, st);
    this.byKp.set(kp, rp);
    return r;
  }

  /** unregister_kretprobe: instances still in flight return through the trampoline without a handler. */
  unregisterKretprobe(rp: Kretprobe): number {
    const st = this.state.get(rp);
    if (!st) return -EINVAL;
    this.mgr.unregisterKprobe(rp.kp);
    st.registered = false;
    this.state.delete(rp);
    this.byKp.delete(rp.kp);
    return 0;
  }

  /** register_kretprobes: on an error the ones before the bad one are unregistered. */
  registerKretprobes(rps: Kretprobe[]): number {
    return registerBatch(rps, rps.length, (rp) => this.registerKretprobe(rp), (n) => this.unregisterKretprobes(rps.slice(0, n)), this);
  }
  unregisterKretprobes(rps: Kretprobe[]): void { for (const rp of rps) this.unregisterKretprobe(rp); }

  disableKretprobe(rp: Kretprobe): number { return this.state.has(rp) ? this.mgr.disableKprobe(rp.kp) : -EINVAL; }
  enableKretprobe(rp: Kretprobe): number { return this.state.has(rp) ? this.mgr.enableKprobe(rp.kp) : -EINVAL; }

  /** The kretprobe a registered entry kprobe belongs to. */
  kretprobeOf(p: Kprobe): Kretprobe | undefined { return this.byKp.get(p); }

  // ---------------------------------------------------------------- entry

  /** current: pcpu_hot.current_task through this CPU's %gs base (0 before the per-CPU areas exist). */
  currentTask(cpu: Cpu): number {
    const gs = cpu.gsb;
    if (gs === 0) return 0;
    const t = this.rd64(gs + this.layout.current);
    return t === undefined ? 0 : t;
  }

  // Host reads and writes of guest words straight on the page (no permission checks, no faults: the
  // kernel's own accesses here cannot fault either); undefined for an unmapped or page-crossing word.
  /** A 64-bit guest word as a signed canonical number. */
  private page(a: number) {
    const p = this.mem.page(a);
    if (p || this.mem.onHostMiss === null) return p;
    return this.mem.onHostMiss(a - (a & 4095)) ? this.mem.page(a) : undefined; // mapped on demand (real Linux)
  }
  private rd64(a: number): number | undefined {
    const p = this.page(a), off = a & 4095;
    if (!p || off > 4088) return undefined;
    return p.dv.getInt32(off + 4, true) * 4294967296 + p.dv.getUint32(off, true);
  }
  private wr64(a: number, v: number): boolean {
    const p = this.page(a), off = a & 4095;
    if (!p || off > 4088) return false;
    if (p.hasCode) { // never on a stack; keep the decode cache honest if it happens
      const lo = v >>> 0, hi = Math.floor(v / 4294967296) >>> 0;
      this.mem.writeBytes(a, Uint8Array.of(lo, lo >>> 8, lo >>> 16, lo >>> 24, hi, hi >>> 8, hi >>> 16, hi >>> 24));
      return true;
    }
    p.own();
    p.dv.setUint32(off, v >>> 0, true);
    p.dv.setUint32(off + 4, Math.floor(v / 4294967296) >>> 0, true);
    return true;
  }
  /**
   * Do `deeper` and `frame` lie on `task`'s kernel stack ([task->stack, +THREAD_SIZE), as the kernel's
   * dumpstack bounds it) with `deeper` below `frame`? Then the stack has unwound past `deeper`.
   */
  private unwoundPast(task: number, deeper: number, frame: number): boolean {
    if (!(deeper < frame)) return false;
    const lo = this.rd64(task + this.layout.stack);
    return lo !== undefined && deeper >= lo && frame < lo + THREAD_SIZE;
  }

  /** task->stack, the base of a task's kernel stack (undefined when unreadable). */
  stackBase(task: number): number | undefined { return task === 0 ? undefined : this.rd64(task + this.layout.stack); }

  private rd32(a: number): number {
    const p = this.page(a), off = a & 4095;
    return !p || off > 4092 ? 0 : p.dv.getInt32(off, true);
  }

  /** pre_handler_kretprobe → rethook_try_get, entry_handler, arch_rethook_prepare + rethook_hook. */
  private preHandler(rp: Kretprobe, st: RpState, regs: PtRegs): void {
    const cpu = regs.cpu;
    const task = this.currentTask(cpu);
    // Before the per-CPU areas and current exist (early boot: the kernel could not have run kprobes
    // yet) there is no task to own an instance: the call is not probed.
    if (task === 0) { rp.nmissed = (rp.nmissed ?? 0) + 1; return; }
    const sp = regs.sp;
    this.pruneGone(task, sp);
    let node = st.free.pop();
    if (node === undefined) {
      this.reclaimDead();
      node = st.free.pop();
    }
    if (node === undefined) { rp.nmissed = (rp.nmissed ?? 0) + 1; return; }
    const ri = node.ri;
    ri.task = task;
    ri.frame = sp;
    const ret = this.rd64(sp);
    ri.retAddr = ret ?? 0;
    if (ri.data.length) ri.data.fill(0);
    if (rp.entryHandler && rp.entryHandler(ri, regs)) { st.free.push(node); return; }
    if (ret === undefined || !this.wr64(sp, this.trampoline)) { st.free.push(node); return; }
    let list = this.tasks.get(task);
    if (!list) this.tasks.set(task, (list = []));
    node.pid = this.rd32(task + this.layout.pid);
    list.push(node); // newest last in the array = list head
  }

  private recycle(n: Node): void { if (n.st.registered) n.st.free.push(n); }
  private reclaim(n: Node): void { this.reclaimed++; this.recycle(n); }

  /**
   * Instances of `task` whose frame lies below `sp` on the same kernel stack are gone: the stack has
   * unwound past them without a return through the trampoline (a reused task_struct of a task that died
   * inside a probed function). Recycle them.
   */
  private pruneGone(task: number, sp: number): void {
    const list = this.tasks.get(task);
    if (!list) return;
    this.dropStale(task, list);
    while (list.length > 0 && this.unwoundPast(task, list[list.length - 1].ri.frame, sp)) this.reclaim(list.pop()!);
  }

  /**
   * Instances of a task that no longer exists: the task_struct now holds another pid (it was freed and
   * reused). The kernel recycles them in rethook_flush_task when the task_struct is freed.
   */
  private dropStale(task: number, list: Node[]): void {
    const pid = this.rd32(task + this.layout.pid);
    let i0 = 0;
    while (i0 < list.length && list[i0].pid === pid) i0++;
    if (i0 === list.length) return;
    let j = 0;
    for (let i = 0; i < list.length; i++) { if (list[i].pid === pid) list[j++] = list[i]; else this.reclaim(list[i]); }
    list.length = j;
  }

  /**
   * rethook_flush_task, for a pool that ran dry: a task that is TASK_DEAD and current on no CPU will never
   * run again (it died in do_exit with probed frames on its stack), and a task_struct that holds another
   * pid now was freed and reused; their instances go back to their pools.
   */
  private reclaimDead(): void {
    const running = new Set<number>();
    for (const c of this.machine.cpus) running.add(this.currentTask(c));
    for (const [task, list] of this.tasks) {
      if (!running.has(task) && (this.rd32(task + this.layout.state) & this.layout.dead) !== 0) {
        for (const n of list) this.reclaim(n);
        list.length = 0;
      } else this.dropStale(task, list);
      if (list.length === 0) this.tasks.delete(task);
    }
  }

  // ---------------------------------------------------------------- return

  /** arch_rethook_trampoline_callback → rethook_trampoline_handler. */
  private trampolineHandler(cpu: Cpu): void {
    this.trampolineHits++;
    const regs = this.mgr.regsOf(cpu);
    const task = this.currentTask(cpu);
    const frame = regs.sp - 8; // the slot the function's `ret` popped
    const list = this.tasks.get(task);
    // frames below this one on the same stack are gone (see pruneGone)
    if (list) {
      while (list.length > 0 && this.unwoundPast(task, list[list.length - 1].ri.frame, frame)) this.reclaim(list.pop()!);
    }
    // __rethook_find_ret_addr: the newest instance whose saved address is not the trampoline (several
    // kretprobes on one function chain through it) is the real return
    let real = -1;
    if (list) {
      for (let i = list.length - 1; i >= 0; i--) {
        if (list[i].ri.frame !== frame) break;
        if (list[i].ri.retAddr !== this.trampoline) { real = i; break; }
      }
    }
    if (!list || real < 0) {
      // kretprobe_assert's line (kernel/kprobes.c before rethook: "Processing kretprobe %p @ %p", the
      // kretprobe and its probed address; there is no struct kretprobe address here, so the first is the
      // returning frame), then the newer kernels' explanation
      const head = list && list.length > 0 ? list[list.length - 1].ri : undefined;
      this.mgr.messages.push(`kretprobe BUG!: Processing kretprobe ${hex16(frame)} @ ${hex16(head?.rp.kp.addr ?? 0)}`);
      this.bug(cpu, 'kretprobe: Return address not found, not execute handler. Maybe there is a bug in the kernel.');
      return;
    }
    const correct = list[real].ri.retAddr;
    // handlers see regs.ip at the real return address; anything they probe meanwhile is missed
    // (kprobe_busy_begin)
    regs.ip = correct;
    this.mgr.busyBegin(cpu);
    try {
      for (let i = list.length - 1; i >= real; i--) {
        const n = list[i];
        const rp = n.ri.rp;
        // kretprobe_rethook_handler: an unregistered kretprobe's instance only restores the address
        if (!n.st.registered || !rp.handler) continue;
        try { rp.handler(n.ri, regs); } catch (e) {
          this.bug(cpu, `kretprobe handler for ${this.mgr.image.formatAddr(rp.kp.addr ?? 0)} failed: ${e instanceof Error ? e.message : String(e)}`);
          return;
        }
      }
    } finally { this.mgr.busyEnd(cpu); }
    while (list.length > real) this.recycle(list.pop()!);
    // (an emptied list stays in the map: tasks come back; reclaimDead drops lists of tasks that are gone)
    // arch_rethook_fixup_return: resume at the real return address, stack as the function left it
    cpu.rip = correct;
  }

  /** The kernel BUG()s here: an oops that ends the run (never a jump to a made-up address). */
  private bug(cpu: Cpu, message: string): void {
    // the oops is reported from the trampoline (the handlers run in its place): RIP there, the stack as
    // the function's `ret` left it, so the unwinder finds the real return address through the instance
    cpu.rip = this.trampoline;
    const o = { cpu: cpu.id, addr: this.trampoline, message };
    this.mgr.messages.push(message);
    this.mgr.oopses.push(o);
    this.machine.requestStop(cpu);
    this.mgr.onOops?.(o);
  }

  // ---------------------------------------------------------------- unwinding

  /**
   * rethook_find_ret_addr / kretprobe_find_ret_addr: the real return address for the trampoline found
   * in `task`'s stack slot `frame`, or undefined when no instance covers that slot.
   */
  findRetAddr(task: number, frame: number): number | undefined {
    const list = this.tasks.get(task);
    if (!list) return undefined;
    for (let i = list.length - 1; i >= 0; i--) {
      const ri = list[i].ri;
      if (ri.frame === frame && ri.retAddr !== this.trampoline) return ri.retAddr;
    }
    return undefined;
  }

  /** Instances in use (all tasks), for tests. */
  inFlight(): number { let n = 0; for (const l of this.tasks.values()) n += l.length; return n; }
}
