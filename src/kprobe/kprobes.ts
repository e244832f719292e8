// The arch-independent kprobes core (kernel/kprobes.c) over the x86 layer (x86.ts): the probe table
// keyed by address, aggregate probes when several share an address, register/unregister (single and
// batch), enable/disable, the global arm/disarm knob, [GONE] probes in freed __init text, the per-CPU
// control block (kprobe_status, current_kprobe, the saved flags) and the trap paths
// (kprobe_int3_handler with its reenter path, kprobe_debug_handler, kprobe_fault_handler).
//
// Overhead accounting (fixtures/kernel/README.md "Time"): the int3 that replaces the probed instruction
// retires once in cpu.instret, standing for that instruction; while the copy is single-stepped the
// count is handed back and retaken when the step completes, so a copy that faults counts exactly as the
// faulting instruction would have (not at all). Out-of-line copies, jumps back and guest code run by
// handlers count in cpu.probeInstret only, and so does each trap a probe takes: the kernel's exception
// round trip for the int3 (and the single-step's #DB), as overhead.ts measures it from the image's IDT
// stubs, so the account ranks the mechanisms as the kernel document does (o < b < k). Emulated time and
// timers therefore see the unprobed run.
import type { Image } from '../elf/image.js';
import type { Cpu } from '../emu/cpu.js';
import { Stop, type Machine } from '../emu/machine.js';
import { retire } from '../emu/guest.js';
import { EmuError } from '../emu/addr.js';
import { hex16 } from '../base/addr.js';
import { EINVAL, EILSEQ } from '../base/errno.js';
import { addressRefusal, alternativesRefusal, resolveKprobeAddr, type ProbeSite } from './check.js';
import type { Platform } from '../kernel/platform.js';
import { PtRegs, X86_EFLAGS_IF, X86_EFLAGS_TF } from './regs.js';
import { InsnSlots, INSN_SLOT_SIZE } from './slots.js';
import { trapRoundTrip } from './overhead.js';
import {
  archPrepareAt, EmulateKind, emulate, INT3_INSN_OPCODE,
  type ArchInsn,
} from './x86.js';

// include/linux/kprobes.h
export const KPROBE_FLAG_GONE = 1, KPROBE_FLAG_DISABLED = 2, KPROBE_FLAG_OPTIMIZED = 4, KPROBE_FLAG_FTRACE = 8;
export const KPROBE_HIT_ACTIVE = 1, KPROBE_HIT_SS = 2, KPROBE_REENTER = 3, KPROBE_HIT_SSDONE = 4;

/**
 * How the running handlers were entered on a CPU (HitPath.*): the int3 trap (exc_int3, an NMI-like
 * context with interrupts off), a jump-optimized detour (optimized_callback: preempt_disable, the
 * interrupted context's IF), the ftrace call (kprobe_ftrace_handler: recursion lock, preempt off) or
 * the kretprobe trampoline (rethook_trampoline_handler: preempt_disable_notrace). Trace events take
 * their context flags from it (tracing_gen_ctx).
 */
export const enum HitPath { None = 0, Int3 = 1, Optprobe = 2, Ftrace = 3, Rethook = 4 }

/** struct kprobe. The core fills in addr (the resolved address), flags and nmissed, as the kernel does. */
export interface Kprobe {
  symbolName?: string;
  addr?: number;
  offset?: number;
  /** Return non-zero (or true) when the handler changed regs.ip: no single-step, no post_handler. */
  preHandler?: (p: Kprobe, regs: PtRegs) => number | boolean | void;
  postHandler?: (p: Kprobe, regs: PtRegs, flags: number) => void;
  /** Return non-zero (or true) when the fault was handled. trapnr: x86 vector (13 #GP, 14 #PF, ...). */
  faultHandler?: (p: Kprobe, regs: PtRegs, trapnr: number) => number | boolean | void;
  flags?: number;
  nmissed?: number;
}

/** A failure as a value: the kernel's negative errno and why. */
export interface KprobeResult { ok: boolean; errno: number; reason: string }
const OK: KprobeResult = { ok: true, errno: 0, reason: '' };
function fail(errno: number, reason: string): KprobeResult { return { ok: false, errno: -errno, reason }; }

/**
 * register_kprobes / register_kretprobes (and the API's): the first `num` in order; on a refusal the ones
 * already registered are unregistered and the refusal (its errno and reason) is what the caller sees.
 */
export function registerBatch<T>(items: readonly T[], num: number, register: (x: T) => number, unregisterFirst: (n: number) => void,
  owner: { lastError: KprobeResult }): number {
  if (num <= 0) return -EINVAL;
  for (let i = 0; i < num; i++) {
    const rc = register(items[i]!);
    if (rc < 0) {
      const why = owner.lastError;
      unregisterFirst(i);
      owner.lastError = why;
      return rc;
    }
  }
  return 0;
}

/** Thrown by a handler (or the helpers it calls) for a fault the kernel would take inside a handler. */
export class HandlerFault extends Error {
  /** `offered`: kprobe_fault_handler already saw this fault (a guest fault inside callFromHandler). */
  constructor(readonly trapnr: number, message: string, readonly offered = false) { super(message); }
}

/** What ended the probed kernel: the kernel would BUG()/oops here. */
export interface KprobeOops { cpu: number; addr: number; message: string }

/** One probed address: a plain kprobe or an aggregate (the children run in list order). */
export class ProbePoint {
  readonly children: Kprobe[] = [];
  armed = false;
  gone = false;
  /** Set by the optimizer / ftrace layers when they take the address over. */
  optimized = false;
  ftrace = false;
  /** opcode and ainsn are prepared again from the kernel's patched text when the probe waited for it
   *  (KprobeManager.kernelTextPatched). */
  constructor(readonly addr: number, public opcode: number, public ainsn: ArchInsn, readonly seq: number) {}
  get aggregate(): boolean { return this.children.length > 1; }
  /** aggr_kprobe_disabled: every child disabled. */
  get disabled(): boolean { return this.children.every((c) => ((c.flags ?? 0) & KPROBE_FLAG_DISABLED) !== 0); }
  /** Some child has a post_handler (the aggregate's post_handler is set): no boosting. Kept by the core. */
  hasPostHandler = false;
  updateHandlers(): void { this.hasPostHandler = this.children.some((c) => c.postHandler !== undefined); }
  /** Total executions of the probed instruction that went through this probe point. */
  hits = 0;
}

interface Kcb {
  current: ProbePoint | null;
  status: number;
  /** kprobe_old_flags / kprobe_saved_flags: TF|IF at the hit (saved without IF for IF modifiers). */
  oldFlags: number; savedFlags: number;
  prev: { current: ProbePoint | null; status: number; oldFlags: number; savedFlags: number };
  /** The child whose handler is running (kprobe_instance), for the fault handler. */
  instance: Kprobe | null;
}

/**
 * Jump optimization and ftrace-based probes (optimizer.ts, ftrace.ts) plug in here; the core calls
 * each hook where kernel/kprobes.c calls into the optimizer or the ftrace layer.
 */
export interface ProbeHooks {
  /** __arm_kprobe / __disarm_kprobe: true when the hook patched the text itself (ftrace); disarm unoptimizes first. */
  arm?(pp: ProbePoint): boolean;
  disarm?(pp: ProbePoint): boolean;
  /** __recover_optprobed_insn / the ftrace nop: put the original bytes back into `b` (read at addr). */
  recover?(addr: number, b: Uint8Array): void;
  /** pp was registered, gained or lost a child, was enabled, disabled or removed from the table. */
  changed?(pp: ProbePoint): void;
  /** setup_detour_execution: after the pre handlers of an int3 hit; true when the CPU now resumes elsewhere. */
  afterPreHandlers?(pp: ProbePoint, cpu: Cpu): boolean;
  /** A fault with RIP in kprobes-owned memory that is not an insn slot (a detour's copies): true when mapped back. */
  copyFault?(cpu: Cpu): boolean;
  /** The kernel has patched its own text at boot (KprobeManager.kernelTextPatched): what was read of it before is stale. */
  textPatched?(): void;
}

export interface KprobeManagerOptions {
  /** Where an oops goes (attach() sets it to end the run with a fatal stop). Default: record only. */
  onOops?: (o: KprobeOops) => void;
}

export class KprobeManager {
  readonly slots: InsnSlots;
  readonly table = new Map<number, ProbePoint>();
  /** Insn slot → the probe point whose copy it holds, until the slot is released (faults in copies). */
  private readonly slotOwner = new Map<number, ProbePoint>();
  private readonly owner = new Map<Kprobe, ProbePoint>();
  private readonly kcbs: Kcb[];
  private readonly regs: PtRegs[];
  private seq = 0;
  /** kprobes_all_disarmed (debugfs kprobes/enabled = 0). */
  allDisarmed = false;
  initFreed = false;
  readonly oopses: KprobeOops[] = [];
  onOops: ((o: KprobeOops) => void) | undefined;
  /** Kernel log lines kprobes would print (pr_info with the "kprobes: " prefix), oldest first. */
  readonly messages: string[] = [];
  /**
   * Has the kernel made its boot-time pass over its own text (Platform.textPatched: Linux's alternatives and
   * SMP lock prefixes)? Until then a probe on that text is armed without its int3 (waitingText): the kernel's
   * patching must meet its own bytes, as it does on Linux, where kprobes are registered only after it.
   */
  textPatched = true;
  /** Armed probes on text the kernel has not patched yet: their int3 is written once it has. */
  readonly waitingText = new Set<ProbePoint>();
  /** The last refusal of registerKprobe/enable/disable, with its reason. */
  lastError: KprobeResult = OK;
  hooks: ProbeHooks = {};
  /** Per CPU: how the handlers now running were entered (HitPath). */
  readonly hitPath: Uint8Array;
  /** Instructions of the kernel's int3 and #DB exception round trips (overhead.ts), charged per trap taken;
   *  walked on the first trap (a run without one decodes nothing). */
  private int3Trap = -1;
  private debugTrap = -1;
  get int3TrapInsns(): number { return this.int3Trap >= 0 ? this.int3Trap : (this.int3Trap = trapRoundTrip(this.image, 'asm_exc_int3')); }
  get debugTrapInsns(): number { return this.debugTrap >= 0 ? this.debugTrap : (this.debugTrap = trapRoundTrip(this.image, 'asm_exc_debug')); }

  constructor(readonly image: Image, readonly machine: Machine, opts: KprobeManagerOptions = {}) {
    this.slots = new InsnSlots(machine.mem);
    this.kcbs = machine.cpus.map(() => ({ current: null, status: 0, oldFlags: 0, savedFlags: 0,
      prev: { current: null, status: 0, oldFlags: 0, savedFlags: 0 }, instance: null }));
    this.regs = machine.cpus.map((c) => new PtRegs(c));
    this.hitPath = new Uint8Array(machine.cpus.length);
    this.onOops = opts.onOops;
  }

  /** Hook into a platform before it runs: trap handler, init-free hook, oops → end of run. */
  static attach(platform: Platform, opts: KprobeManagerOptions = {}): KprobeManager {
    const mgr = new KprobeManager(platform.image, platform.machine, opts);
    platform.trapHandlers.push((cpu, stop) => mgr.handleTrap(cpu, stop));
    platform.initFreedHooks.push(() => mgr.freeInitMem());
    mgr.textPatched = platform.textPatched;
    platform.textPatchedHooks.push(() => mgr.kernelTextPatched());
    mgr.onOops ??= (o) => {
      if (!platform.end) platform.recordOops(platform.machine.cpus[o.cpu]);
      platform.end ??= { kind: 'fatal', message: o.message, cpu: o.cpu, rip: o.addr };
    };
    return mgr;
  }

  // ---------------------------------------------------------------- registration

  /** register_kprobe: 0 or a negative errno (lastError says why). */
  registerKprobe(p: Kprobe): number { return (this.lastError = this.register(p)).errno; }

  /** register_kprobe with the reason for a refusal. */
  register(p: Kprobe): KprobeResult {
    // kprobe_addr: exactly one of symbol_name and addr
    if ((p.symbolName !== undefined && p.addr !== undefined) || (p.symbolName === undefined && p.addr === undefined)) {
      return fail(EINVAL, 'give either symbolName or addr, not both or neither');
    }
    // _kprobe_addr: the address must be covered by a kallsyms symbol (an insn slot counts as
    // kprobes-internal text: the kernel lists slots in kallsyms as [__builtin__kprobes])
    const r = resolveKprobeAddr(this.site, p.symbolName, p.addr, p.offset ?? 0);
    if (!r.ok) return fail(r.errno, r.reason);
    const addr = r.addr;
    p.addr = addr;
    // warn_kprobe_rereg
    if (this.owner.has(p)) return fail(EINVAL, 'this kprobe is already registered');
    p.flags = (p.flags ?? 0) & KPROBE_FLAG_DISABLED;
    p.nmissed = 0;
    const unsafe = addressRefusal(this.site, addr);
    if (unsafe) return fail(unsafe.errno, unsafe.reason);
    const old = this.table.get(addr);
    if (old) return this.registerAggr(old, p);
    // prepare_kprobe → arch_prepare_kprobe: alternatives_text_reserved, then can_probe and the copy
    const alt = alternativesRefusal(this.site, addr);
    if (alt) return fail(alt.errno, alt.reason);
    const at = this.image.lookupAddr(addr);
    if (!at) return fail(EILSEQ, `${this.fmt(addr)} is not on an instruction boundary`);
    const prep = archPrepareAt(addr - at.offset, addr, (a, n) => this.recover(a, n), this.exFixups().has(addr), (a) => this.fmt(a), {
      allocSlot: () => this.slots.alloc(), write: (a, b) => this.machine.mem.writeBytes(a, b),
    });
    if (!prep.ok) return fail(prep.errno, prep.reason);
    const bytes = prep.bytes;
    const pp = new ProbePoint(addr, bytes[0], prep.insn, this.seq++);
    if (prep.insn.slot) this.slotOwner.set(prep.insn.slot, pp);
    pp.children.push(p);
    pp.updateHandlers();
    this.table.set(addr, pp);
    this.owner.set(p, pp);
    if (!this.allDisarmed && !(p.flags & KPROBE_FLAG_DISABLED)) this.arm(pp);
    this.hooks.changed?.(pp);
    return OK;
  }

  /** register_aggr_kprobe / add_new_kprobe: a probe with a post_handler goes last, others first. */
  private registerAggr(pp: ProbePoint, p: Kprobe): KprobeResult {
    if (pp.gone) return fail(EINVAL, `${this.fmt(pp.addr)} is gone`);
    if (p.postHandler) pp.children.push(p); else pp.children.unshift(p);
    pp.updateHandlers();
    this.owner.set(p, pp);
    if (!(p.flags! & KPROBE_FLAG_DISABLED) && !this.allDisarmed) this.arm(pp);
    this.hooks.changed?.(pp);
    return OK;
  }

  /** unregister_kprobe: 0, or -EINVAL for a probe that is not registered. Leaves DISABLED set, as the kernel does. */
  unregisterKprobe(p: Kprobe): number {
    const pp = this.owner.get(p);
    // unregister_kprobes: "if (__unregister_kprobe_top(kps[i]) < 0) kps[i]->addr = NULL"
    if (!pp) { p.addr = undefined; return -EINVAL; }
    p.flags = (p.flags ?? 0) | KPROBE_FLAG_DISABLED;
    this.owner.delete(p);
    pp.children.splice(pp.children.indexOf(p), 1);
    pp.updateHandlers();
    if (pp.children.length === 0) {
      this.disarm(pp);
      this.table.delete(pp.addr);
      if (pp.ainsn.slot) this.releaseSlot(pp);
    } else if (pp.disabled) this.disarm(pp);
    this.hooks.changed?.(pp);
    return 0;
  }

  /** register_kprobes: on an error, the probes before the bad one are unregistered. */
  registerKprobes(kps: Kprobe[]): number {
    return registerBatch(kps, kps.length, (p) => this.registerKprobe(p), (n) => this.unregisterKprobes(kps.slice(0, n)), this);
  }
  unregisterKprobes(kps: Kprobe[]): void { for (const p of kps) this.unregisterKprobe(p); }

  /**
   * free_insn_slot only once no CPU can still be in the copy (the kernel defers it past an RCU grace
   * period): a CPU stepping it or running its boosted jump back keeps the slot until a later check.
   */
  private readonly dirtySlots: { slot: number; pp: ProbePoint }[] = [];
  private releaseSlot(pp: ProbePoint): void {
    this.dirtySlots.push({ slot: pp.ainsn.slot, pp });
    for (let i = this.dirtySlots.length - 1; i >= 0; i--) {
      const d = this.dirtySlots[i];
      const busy = this.machine.cpus.some((c, id) => this.kcbs[id].current === d.pp || this.kcbs[id].prev.current === d.pp ||
        (c.rip >= d.slot && c.rip < d.slot + INSN_SLOT_SIZE));
      if (busy) continue;
      this.slots.release(d.slot);
      if (this.slotOwner.get(d.slot) === d.pp) this.slotOwner.delete(d.slot);
      this.dirtySlots.splice(i, 1);
    }
  }

  /** disable_kprobe. */
  disableKprobe(p: Kprobe): number {
    const pp = this.owner.get(p);
    if (!pp) { this.lastError = fail(EINVAL, 'not registered'); return -EINVAL; }
    p.flags = (p.flags ?? 0) | KPROBE_FLAG_DISABLED;
    if (pp.disabled) this.disarm(pp);
    this.hooks.changed?.(pp);
    return 0;
  }
  /** enable_kprobe: -EINVAL for an unregistered or [GONE] probe. */
  enableKprobe(p: Kprobe): number {
    const pp = this.owner.get(p);
    if (!pp) { this.lastError = fail(EINVAL, 'not registered'); return -EINVAL; }
    if ((p.flags ?? 0) & KPROBE_FLAG_GONE) { this.lastError = fail(EINVAL, 'the probe is gone'); return -EINVAL; }
    p.flags = (p.flags ?? 0) & ~KPROBE_FLAG_DISABLED;
    if (!this.allDisarmed) this.arm(pp);
    this.hooks.changed?.(pp);
    return 0;
  }

  /** arm_all_kprobes / disarm_all_kprobes (debugfs kprobes/enabled); per-probe disabled state is kept. */
  armAllKprobes(): void {
    if (!this.allDisarmed) return;
    this.allDisarmed = false;
    for (const pp of this.table.values()) if (!pp.disabled) this.arm(pp);
    this.messages.push('kprobes: Kprobes globally enabled');
  }
  disarmAllKprobes(): void {
    if (this.allDisarmed) return;
    this.allDisarmed = true;
    for (const pp of this.table.values()) this.disarm(pp);
    this.messages.push('kprobes: Kprobes globally disabled');
  }

  /** The probe point a registered kprobe belongs to (list, tests). */
  probePointOf(p: Kprobe): ProbePoint | undefined { return this.owner.get(p); }

  /** kprobe_free_init_mem: probes in freed __init text are [GONE]; their memory is poison now, never touched. */
  freeInitMem(): void {
    this.initFreed = true;
    const r = this.image.initRange;
    if (!r) return;
    for (const pp of this.table.values()) {
      if (pp.addr < r.start || pp.addr >= r.end) continue;
      pp.gone = true; pp.armed = false;
      for (const c of pp.children) c.flags = (c.flags ?? 0) | KPROBE_FLAG_GONE;
    }
  }

  /** What register_kprobe's address checks (check.ts) read. */
  private readonly site: ProbeSite = {
    lookupName: (n) => this.image.lookupName(n), lookupAddr: (a) => this.image.lookupAddr(a),
    isKernelText: (a) => this.isKernelText(a), inKprobeBlacklist: (a) => this.image.inKprobeBlacklist(a),
    formatAddr: (a) => this.fmt(a), isInternal: (a) => this.slots.contains(a),
    patchedText: (a) => this.image.patchedText(a), smpAltLocked: (a) => this.smpAltLocked(a),
  };

  /**
   * alternatives_text_reserved: the kernel lists the core kernel's .smp_locks in smp_alt_modules only when
   * it patched an SMP kernel for one CPU that may get more (alternative_instructions: one present CPU,
   * more possible); the guest's list head says whether it did.
   */
  private smpAltLocked(addr: number): boolean {
    if (!this.image.smpLockSites.has(addr)) return false;
    const head = this.image.symbolAddr('smp_alt_modules');
    if (head === undefined) return false;
    const next = Number(BigInt.asIntN(64, this.machine.mem.read64(head)));
    return next !== 0 && next !== head;
  }

  private isKernelText(addr: number): boolean {
    if (!this.image.isText(addr)) return false;
    const r = this.image.initRange;
    return !(this.initFreed && r && addr >= r.start && addr < r.end);
  }

  private fmt(addr: number): string { return this.image.formatAddr(addr); }
  private exSet: Set<number> | undefined;
  private exFixups(): Set<number> { return this.exSet ??= new Set(this.image.exceptionTable.map((e) => e.insn)); }

  /** recover_probed_instruction: current text with our int3s replaced by the saved opcodes. */
  recover(addr: number, len: number): Uint8Array {
    const b = this.machine.mem.readBytes(addr, len);
    for (let i = 0; i < len; i++) {
      if (b[i] !== INT3_INSN_OPCODE) continue;
      const pp = this.table.get(addr + i);
      if (pp && pp.armed) b[i] = pp.opcode;
    }
    this.hooks.recover?.(addr, b);
    return b;
  }

  private arm(pp: ProbePoint): void {
    if (pp.armed || pp.gone) return;
    if (this.hooks.arm?.(pp)) { /* the ftrace layer patched the site */ } else if (this.waitsForText(pp)) {
      this.waitingText.add(pp);
      // a boot snapshot must know of the int3 to come (kernel/snapshot.ts)
      this.machine.mem.hostLog?.push({ addr: pp.addr, len: pp.ainsn.len, old: null, pending: true, late: true });
    } else this.machine.mem.writeBytes(pp.addr, Uint8Array.of(INT3_INSN_OPCODE)); // text_poke
    pp.armed = true;
  }
  private disarm(pp: ProbePoint): void {
    if (!pp.armed || pp.gone) return;
    if (!this.hooks.disarm?.(pp) && !this.waitingText.delete(pp)) this.machine.mem.writeBytes(pp.addr, Uint8Array.of(pp.opcode));
    pp.armed = false;
  }

  /** Does pp's instruction lie on text the kernel has yet to patch at boot (alternatives, lock prefixes)? */
  waitsForText(pp: ProbePoint): boolean {
    return this.waitingText.has(pp) || (!this.textPatched && this.image.bootPatchMeets(pp.addr, pp.addr + pp.ainsn.len));
  }

  /**
   * The kernel's boot-time text patching is done (a Platform.textPatchedHooks hook): each waiting probe is
   * prepared again from the patched text (its saved opcode and copy are Linux's patched instruction, as a
   * kprobe registered after alternative_instructions() sees it) and gets its int3. One whose address the
   * patching took off an instruction boundary, or made an instruction kprobes refuse, is not armed
   * (Linux would have refused it at registration); the kernel log says so.
   */
  kernelTextPatched(): void {
    if (this.textPatched) return;
    this.textPatched = true;
    // the waiting probes, and the registered ones not armed now (disabled) on that text
    const stale = [...this.table.values()].filter((pp) => this.waitingText.has(pp) ||
      (!pp.armed && !pp.gone && !pp.ftrace && this.image.bootPatchMeets(pp.addr, pp.addr + pp.ainsn.len)));
    for (const pp of stale) {
      const waited = this.waitingText.delete(pp);
      const at = this.image.lookupAddr(pp.addr)!;
      if (pp.ainsn.slot) this.releaseSlot(pp);
      const prep = archPrepareAt(pp.addr - at.offset, pp.addr, (a, n) => this.recover(a, n), this.exFixups().has(pp.addr), (a) => this.fmt(a), {
        allocSlot: () => this.slots.alloc(), write: (a, b) => this.machine.mem.writeBytes(a, b),
      });
      if (!prep.ok) {
        pp.armed = false;
        for (const c of pp.children) c.flags = (c.flags ?? 0) | KPROBE_FLAG_DISABLED;
        this.messages.push(`kprobes: ${prep.reason} once the kernel patched its text at boot: the probe is disabled`);
        continue;
      }
      pp.opcode = prep.bytes[0];
      pp.ainsn = prep.insn;
      if (prep.insn.slot) this.slotOwner.set(prep.insn.slot, pp);
      if (waited) this.machine.mem.writeBytes(pp.addr, Uint8Array.of(INT3_INSN_OPCODE)); // text_poke
    }
    this.hooks.textPatched?.();
  }

  // ---------------------------------------------------------------- hits

  /** The platform's trap hook: true when the stop was a kprobe event and has been handled. */
  handleTrap(cpu: Cpu, stop: Stop): boolean {
    switch (stop) {
      case Stop.Breakpoint: return this.int3Handler(cpu);
      case Stop.Debug: return this.debugHandler(cpu);
      case Stop.Requested:
        // The stepped copy asked the machine to stop (a port write that powers off or panics): the step
        // completed without its #DB; finish it so the state and the counts are as after the instruction.
        this.completeStepOnStop(cpu);
        return false;
      case Stop.PageFault: case Stop.GeneralProtection: case Stop.InvalidOpcode: case Stop.DivideError: case Stop.Exception:
        if (this.slots.contains(cpu.rip)) this.copyFault(cpu);
        return this.faultHandler(cpu, cpu.trapVector);
      default: return false;
    }
  }

  /** kprobe_running() on this CPU. */
  running(cpu: Cpu): ProbePoint | null { return this.kcbs[cpu.id].current; }

  private setCurrent(k: Kcb, pp: ProbePoint, cpu: Cpu): void {
    k.current = pp;
    k.oldFlags = k.savedFlags = (cpu.tf ? X86_EFLAGS_TF : 0) | (cpu.if_ ? X86_EFLAGS_IF : 0);
    if (pp.ainsn.ifModifier) k.savedFlags &= ~X86_EFLAGS_IF;
  }
  private reset(k: Kcb): void { k.current = null; k.status = 0; k.instance = null; }
  private savePrevious(k: Kcb): void { k.prev = { current: k.current, status: k.status, oldFlags: k.oldFlags, savedFlags: k.savedFlags }; }
  private restorePrevious(k: Kcb): void {
    k.current = k.prev.current; k.status = k.prev.status; k.oldFlags = k.prev.oldFlags; k.savedFlags = k.prev.savedFlags;
  }

  /** kprobes_inc_nmissed_count: every child of an aggregate. */
  private incMissed(pp: ProbePoint): void { for (const c of pp.children) c.nmissed = (c.nmissed ?? 0) + 1; }

  private int3Handler(cpu: Cpu): boolean {
    const addr = cpu.rip - 1;
    const pp = this.table.get(addr);
    if (!pp || !pp.armed) return false; // not ours: the guest kernel's own int3
    cpu.probeInstret += this.int3TrapInsns;
    const k = this.kcbs[cpu.id];
    cpu.shadow = false; // the int3 itself was the instruction an sti/mov-ss shadow covered
    pp.hits++;
    if (k.current) {
      // reenter_kprobe
      if (k.status === KPROBE_HIT_ACTIVE || k.status === KPROBE_HIT_SSDONE) {
        this.incMissed(pp);
        this.setupSinglestep(pp, cpu, k, true);
        return true;
      }
      this.oops(cpu, addr, `Unrecoverable kprobe detected.\nDumping kprobe:\nName: ${this.fmt(addr)}\nOffset: 0\nAddress: ${hex16(addr)}`);
      return true;
    }
    this.setCurrent(k, pp, cpu);
    k.status = KPROBE_HIT_ACTIVE;
    this.hitPath[cpu.id] = HitPath.Int3;
    if (this.preHandlers(pp, cpu, k)) { this.reset(k); return true; } // the handler changed the path: resume at regs.ip
    if (k.current === null) return true; // a handler oopsed: the run is over, nothing is stepped
    if (!pp.hasPostHandler && this.hooks.afterPreHandlers?.(pp, cpu)) { this.reset(k); return true; }
    this.setupSinglestep(pp, cpu, k, false);
    return true;
  }

  /**
   * optimized_callback (arch/x86/kernel/kprobes/opt.c): the detour's host call. regs.ip reads as after an
   * int3 (addr + 1); a nested hit only counts nmissed. The caller ignores any change of regs.ip.
   */
  optimizedHit(pp: ProbePoint, cpu: Cpu): void {
    if (pp.disabled) return; // "possible if op is under delayed unoptimizing"
    const k = this.kcbs[cpu.id];
    pp.hits++;
    if (k.current) { this.incMissed(pp); return; }
    cpu.rip = pp.addr + 1;
    this.setCurrent(k, pp, cpu);
    k.status = KPROBE_HIT_ACTIVE;
    this.hitPath[cpu.id] = HitPath.Optprobe;
    this.preHandlers(pp, cpu, k);
    this.reset(k);
  }

  /**
   * kprobe_ftrace_handler (arch/x86/kernel/kprobes/ftrace.c), with cpu.rip standing for regs->ip: the
   * pre handlers see addr + 1, the post handlers addr + `nopLen` (the nop "single-stepped"). Returns true
   * when a pre handler changed the path (resume at cpu.rip); otherwise cpu.rip is addr + nopLen.
   */
  ftraceHit(pp: ProbePoint, cpu: Cpu, nopLen: number): boolean {
    const k = this.kcbs[cpu.id];
    pp.hits++;
    cpu.rip = pp.addr + nopLen;
    if (k.current) { this.incMissed(pp); return false; }
    cpu.rip = pp.addr + 1;
    this.setCurrent(k, pp, cpu);
    k.status = KPROBE_HIT_ACTIVE;
    this.hitPath[cpu.id] = HitPath.Ftrace;
    if (this.preHandlers(pp, cpu, k)) { this.reset(k); return true; }
    if (k.current === null) return true; // a handler oopsed
    cpu.rip = pp.addr + nopLen;
    if (pp.hasPostHandler) { k.status = KPROBE_HIT_SSDONE; this.postHandlers(pp, cpu, k); }
    this.reset(k);
    return false;
  }

  /** aggr_pre_handler: enabled children in order; the first non-zero return ends the walk. */
  private preHandlers(pp: ProbePoint, cpu: Cpu, k: Kcb): boolean {
    const regs = this.regs[cpu.id], cs = pp.children;
    for (let i = 0; i < cs.length; i++) {
      const c = cs[i];
      if (c.preHandler === undefined || ((c.flags ?? 0) & KPROBE_FLAG_DISABLED)) continue;
      k.instance = c;
      let r: number | boolean | void = 0;
      try { r = c.preHandler(c, regs); } catch (e) { this.handlerFailed(pp, c, cpu, e); r = 0; }
      k.instance = null;
      if (r) return true;
    }
    return false;
  }
  private postHandlers(pp: ProbePoint, cpu: Cpu, k: Kcb): void {
    const regs = this.regs[cpu.id], cs = pp.children;
    for (let i = 0; i < cs.length; i++) {
      const c = cs[i];
      if (c.postHandler === undefined || ((c.flags ?? 0) & KPROBE_FLAG_DISABLED)) continue;
      k.instance = c;
      try { c.postHandler(c, regs, 0); } catch (e) { this.handlerFailed(pp, c, cpu, e); }
      k.instance = null;
    }
  }

  /**
   * A handler threw: a HandlerFault, or a read of unmapped guest memory (the emulator's host access: a
   * raw dereference, #PF), goes to the fault handler (kprobe_fault_handler); anything else is an oops.
   */
  private handlerFailed(pp: ProbePoint, c: Kprobe, cpu: Cpu, e: unknown): void {
    const trapnr = e instanceof HandlerFault ? e.trapnr : e instanceof EmuError && /^host access to unmapped/.test(e.message) ? 14 : -1;
    if (trapnr >= 0 && !(e as HandlerFault).offered) {
      this.incMissed(pp);
      if (c.faultHandler && c.faultHandler(c, this.regs[cpu.id], trapnr)) return;
    }
    const what = e instanceof Error ? e.message : String(e);
    this.oops(cpu, pp.addr, `kprobe handler at ${this.fmt(pp.addr)} ${trapnr >= 0 ? `faulted (trap ${trapnr})` : 'failed'}: ${what}`);
  }

  private setupSinglestep(pp: ProbePoint, cpu: Cpu, k: Kcb, reenter: boolean): void {
    const a = pp.ainsn;
    if (a.boostable && !pp.hasPostHandler) {
      // Boost: run the copy directly; it jumps back by itself. A reentered boost leaves current_kprobe alone.
      if (!reenter) this.reset(k);
      cpu.rip = a.slot;
      return;
    }
    if (reenter) {
      this.savePrevious(k);
      this.setCurrent(k, pp, cpu);
      k.status = KPROBE_REENTER;
    } else k.status = KPROBE_HIT_SS;
    if (a.emulate !== EmulateKind.None) {
      if (!emulate(a, cpu, pp.addr)) {
        this.emulationFault(pp, cpu, k);
        return;
      }
      this.postProcess(pp, cpu, k);
      return;
    }
    // Prepare real single-stepping: TF on, IF off (the kernel's setup_singlestep).
    cpu.tf = 1; cpu.if_ = 0;
    cpu.rip = a.slot;
    retire(cpu, -1); // retaken when the step completes (see the header)
  }

  /** kprobe_post_process (after emulation or a completed step). */
  private postProcess(pp: ProbePoint, cpu: Cpu, k: Kcb): void {
    if (k.status !== KPROBE_REENTER && pp.hasPostHandler) {
      k.status = KPROBE_HIT_SSDONE;
      this.postHandlers(pp, cpu, k);
    }
    if (k.status === KPROBE_REENTER) this.restorePrevious(k); else this.reset(k);
  }

  /** kprobe_debug_handler / post_kprobe_handler with resume_execution. */
  private debugHandler(cpu: Cpu): boolean {
    const k = this.kcbs[cpu.id], cur = k.current;
    if (!cur || (k.status !== KPROBE_HIT_SS && k.status !== KPROBE_REENTER) || cpu.faultAddr !== cur.ainsn.slot) return false;
    cpu.probeInstret += this.debugTrapInsns;
    const a = cur.ainsn;
    cpu.tf = 0;
    // resume_execution: map the RIP after the copy back to the original stream
    if (cpu.rip >= a.slot && cpu.rip <= a.slot + a.copyLen) cpu.rip = cur.addr + a.len + (cpu.rip - a.slot - a.copyLen);
    retire(cpu, 1);
    if (k.savedFlags & X86_EFLAGS_IF) cpu.if_ = 1;
    if (k.oldFlags & X86_EFLAGS_TF) cpu.tf = 1;
    this.postProcess(cur, cpu, k);
    // someone else single-stepping across the probe: let the #DB go on to them
    return cpu.tf === 0;
  }

  private completeStepOnStop(cpu: Cpu): void {
    const k = this.kcbs[cpu.id], cur = k.current;
    if (!cur || (k.status !== KPROBE_HIT_SS && k.status !== KPROBE_REENTER) || cpu.tf === 0) return;
    if (cpu.rip !== cur.ainsn.slot + cur.ainsn.copyLen) return;
    cpu.faultAddr = cur.ainsn.slot;
    this.debugHandler(cpu);
  }

  /**
   * A fault taken inside a running handler on `cpu` by a nofault access (api.ts's safe readers):
   * kprobe_fault_handler's HIT_ACTIVE/HIT_SSDONE path (nmissed, then the running kprobe's fault_handler).
   * True when the fault_handler took it; the access itself then fails as the exception fixup makes it.
   */
  handlerFault(cpu: Cpu, trapnr: number): boolean {
    const k = this.kcbs[cpu.id], cur = k.current;
    if (!cur || (k.status !== KPROBE_HIT_ACTIVE && k.status !== KPROBE_HIT_SSDONE) || cur === this.busyPoint) return false;
    this.incMissed(cur);
    const c = k.instance;
    return !!(c && c.faultHandler && c.faultHandler(c, this.regs[cpu.id], trapnr));
  }

  /** kprobe_fault_handler. Returns true when the fault was handled here. */
  private faultHandler(cpu: Cpu, trapnr: number): boolean {
    const k = this.kcbs[cpu.id], cur = k.current;
    if (!cur) return false;
    const regs = this.regs[cpu.id];
    if ((k.status === KPROBE_HIT_SS || k.status === KPROBE_REENTER) && cur.ainsn.slot && cpu.rip === cur.ainsn.slot) {
      // The copy faulted while single-stepping: point ip back at the probed address so the kernel's
      // fixup (exception table) or oops sees the real instruction, and undo the step setup.
      cpu.rip = cur.addr;
      cpu.tf = 0;
      if (k.oldFlags & X86_EFLAGS_TF) cpu.tf = 1;
      if (k.oldFlags & X86_EFLAGS_IF) cpu.if_ = 1;
      const reenter = k.status === KPROBE_REENTER;
      let handled = false;
      if (!reenter) {
        for (const c of cur.children) {
          if (c.faultHandler && !((c.flags ?? 0) & KPROBE_FLAG_DISABLED) && c.faultHandler(c, regs, trapnr)) { handled = true; break; }
        }
      }
      if (reenter) this.restorePrevious(k); else this.reset(k);
      if (handled) retire(cpu, 1); // the handler resolved it: the instruction counts as done
      return handled;
    }
    if (k.status === KPROBE_HIT_ACTIVE || k.status === KPROBE_HIT_SSDONE) {
      // a fault in guest code a handler called
      this.incMissed(cur);
      const c = k.instance;
      if (c && c.faultHandler && c.faultHandler(c, regs, trapnr)) return true;
    }
    return false;
  }

  /**
   * A fault whose RIP is in a copy that runs unattended: a boosted insn slot (setup_singlestep's boost
   * path resets current_kprobe, so kprobe_fault_handler does not see it) or a detour's copies (the
   * optimizer's hook). Linux leaves RIP in the slot there (its oops shows kprobe_insn_page+0x0, the
   * unwinder finds no frame); it does not boost at all under CONFIG_PREEMPTION, as the fixture is built,
   * so the probed instruction would have been single-stepped and kprobe_fault_handler would have put
   * regs->ip back at the probed address. ktrace boosts for speed and applies that same rule to the
   * unattended copies, so the kernel handles (fixes up or oopses on) its own instruction at its own
   * address: x86 faults are precise, so the registers are exactly as before the original instruction.
   * The int3 (or the detour's jmp) counted the instruction, which has not retired: that count is handed back.
   */
  private copyFault(cpu: Cpu): void {
    const pp = this.slotOwner.get(cpu.rip);
    if (pp) {
      const k = this.kcbs[cpu.id];
      if (k.current === pp && (k.status === KPROBE_HIT_SS || k.status === KPROBE_REENTER)) return; // a single-step: faultHandler
      if (!pp.ainsn.boostable) return;
      cpu.rip = pp.addr;
      retire(cpu, -1);
      return;
    }
    this.hooks.copyFault?.(cpu);
  }

  /** A fault while emulating (say, the push of a call): deliver it at the probed address, as a step fault. */
  private emulationFault(pp: ProbePoint, cpu: Cpu, k: Kcb): void {
    const reenter = k.status === KPROBE_REENTER;
    cpu.rip = pp.addr;
    retire(cpu, -1);
    if (reenter) this.restorePrevious(k); else this.reset(k);
    const v = cpu.trapVector;
    if (!cpu.interrupt(v, v === 8 || (v >= 10 && v <= 14) || v === 17 ? cpu.errorCode : undefined)) {
      this.oops(cpu, pp.addr, `double fault delivering vector ${v} while emulating ${pp.ainsn.text} at ${this.fmt(pp.addr)}`);
    }
  }

  private oops(cpu: Cpu, addr: number, message: string): void {
    const o = { cpu: cpu.id, addr, message };
    this.oopses.push(o);
    this.reset(this.kcbs[cpu.id]);
    cpu.tf = 0;
    this.machine.requestStop(cpu);
    this.onOops?.(o);
  }

  /** Per-CPU regs view (what handlers get). */
  regsOf(cpu: Cpu): PtRegs { return this.regs[cpu.id]; }

  /**
   * kprobe_busy_begin / kprobe_busy_end: code that runs on behalf of kprobes outside a probe hit (the
   * kretprobe trampoline's handlers) counts as a running probe, so probes it hits are only missed.
   */
  private readonly busyPoint = new ProbePoint(0, 0, { slot: 0 } as ArchInsn, -1);
  busyBegin(cpu: Cpu): void { const k = this.kcbs[cpu.id]; k.current = this.busyPoint; k.status = KPROBE_HIT_ACTIVE; this.hitPath[cpu.id] = HitPath.Rethook; }
  busyEnd(cpu: Cpu): void { this.reset(this.kcbs[cpu.id]); }
}

