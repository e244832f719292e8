// Jump optimization of kprobes (kernel/kprobes.c optimizer, arch/x86/kernel/kprobes/opt.c;
// Documentation/kprobes.rst "How Does Jump Optimization Work?").
//
// Each armed probe point has an explicit state:
//   idle       an ordinary int3 probe (not optimizable now: the reason is kept for `whyNotOptimized`)
//   queued     optimizable; the detour is prepared and an int3 hit already resumes through its copy
//              (setup_detour_execution: no single-step). The delayed worker (kprobe_optimizer) optimizes
//              it once OPTIMIZE_DELAY has passed and no CPU is inside the region nor can return into it.
//   optimized  the first 5 bytes are a jmp to the detour buffer
// The worker runs between run slices and from int3 hits on queued probes. Its synchronize_rcu() /
// stop_machine() steps are exact here: every CPU is stopped while the host runs, so the worker checks
// each CPU's RIP (a CPU stepping or boosting a copy of a region instruction resumes inside the region),
// and the interrupted contexts: every kernel-mode interrupt frame the emulator pushed and no iret has
// popped yet (src/emu/guest.ts interruptedFrames) whose RIP lies inside the region keeps the probe queued.
// Unoptimization (the jump replaced by the original bytes, except an int3 in the first byte) happens at
// once when a post_handler is added, the probe is disabled or unregistered, another probe is armed in
// the region, or /proc/sys/debug/kprobes-optimization goes to 0; the worker re-optimizes when possible.
import type { Cpu } from '../emu/cpu.js';
import { Stop } from '../emu/machine.js';
import { PAGE_SIZE, PERM_R, PERM_X } from '../emu/memory.js';
import { interruptedFrames, retire } from '../emu/guest.js';
import type { Platform } from '../kernel/platform.js';
import type { Kprobe, KprobeManager, ProbePoint } from './kprobes.js';
import { INT3_INSN_OPCODE } from './x86.js';
import { EINVAL } from '../base/errno.js';
import {
  analyzeFunction, buildDetour, canOptimize, functionBounds, MAX_OPTIMIZED_LENGTH, relJump, RELATIVEJUMP_SIZE, symOff,
  type CanOptimize, type Detour, type FunctionFacts,
} from './detour.js';
import { FtraceProbes } from './ftrace.js';

/** OPTIMIZE_DELAY is 5 jiffies; here in emulated guest instructions (all CPUs). */
export const OPTIMIZE_DELAY = 100_000;
export const PROC_KPROBES_OPTIMIZATION = '/proc/sys/debug/kprobes-optimization';

export type OptState = 'idle' | 'queued' | 'optimized';

export interface OptRecord {
  pp: ProbePoint;
  check: CanOptimize;
  state: OptState;
  detour?: Detour;
  queuedAt: number;
  /** Worker passes that found a CPU inside the region or a context that will return into it. */
  waits: number;
  /** The original 5 bytes under the jump. */
  orig?: Uint8Array;
}

const TWO32 = 4294967296;

const optimizers = new WeakMap<KprobeManager, Optimizer>();

export interface OptimizerOptions {
  /** Use the ftrace path for probes on __mcount_loc sites (default true). */
  ftrace?: boolean;
  delay?: number;
  /** Emulated time for the delay: total guest instructions by default. */
  now?: () => number;
}

export class Optimizer {
  /** sysctl kprobes_allow_optimization: setting it (un)optimizes at once; setEnabled also logs as the kernel does. */
  get enabled(): boolean { return this.allow; }
  set enabled(on: boolean) { this.apply(on); }
  private allow = true;
  readonly recs = new Map<number, OptRecord>();
  private readonly queue = new Set<OptRecord>();
  private readonly byVmcall = new Map<number, OptRecord>();
  /** Copy of a region instruction in a detour → the instruction's address, and whether the jump (or int3) counted it. */
  private readonly byCopy = new Map<number, { orig: number; counted: boolean }>();
  private readonly optimizedAt = new Map<number, OptRecord>();
  private readonly dirty = new Set<ProbePoint>();
  private readonly facts = new Map<number, FunctionFacts | undefined>();
  private exFixups: Set<number>;
  readonly ftrace: FtraceProbes | undefined;
  delay: number;
  private readonly now: () => number;
  private lastPass = -Infinity;
  private probeArea = { base: 0, used: PAGE_SIZE };
  /** Counters for tests and the report. */
  readonly stats = { optimized: 0, unoptimized: 0, detourHits: 0, int3ViaDetour: 0, passes: 0, waits: 0 };

  constructor(readonly mgr: KprobeManager, opts: OptimizerOptions = {}) {
    this.delay = opts.delay ?? OPTIMIZE_DELAY;
    this.now = opts.now ?? (() => mgr.machine.cpus.reduce((s, c) => s + c.instret, 0));
    this.exFixups = new Set(mgr.image.exceptionTable.map((e) => e.insn));
    this.ftrace = opts.ftrace === false ? undefined : new FtraceProbes(mgr);
    const f = this.ftrace;
    mgr.hooks = {
      arm: (pp) => { this.beforeArm(pp); this.dirty.add(pp); return f ? f.arm(pp) : false; },
      disarm: (pp) => { this.beforeDisarm(pp); this.dirty.add(pp); return f ? f.disarm(pp) : false; },
      recover: (addr, b) => { this.recover(addr, b); f?.recover(addr, b); },
      changed: (pp) => { this.changed(pp); },
      afterPreHandlers: (pp, cpu) => this.int3Hit(pp, cpu),
      copyFault: (cpu) => this.copyFault(cpu),
      textPatched: () => this.textPatched(),
    };
    optimizers.set(mgr, this);
    // probes registered before the optimizer came
    for (const pp of mgr.table.values()) this.changed(pp);
  }

  /** The optimizer of a manager, if one is installed. */
  static of(mgr: KprobeManager): Optimizer | undefined { return optimizers.get(mgr); }

  /** Install on a platform: host calls go to the detours and the ftrace trampoline; the worker runs between slices. */
  static attach(platform: Platform, mgr: KprobeManager, opts: OptimizerOptions = {}): Optimizer {
    const opt = new Optimizer(mgr, opts);
    platform.trapHandlers.push((cpu, stop) => opt.handleTrap(cpu, stop));
    // The worker runs between slices of guest execution (the delayed work queue of kprobe_optimizer).
    platform.sliceHooks.push(() => opt.runWorker());
    return opt;
  }

  // ---------------------------------------------------------------- hooks from the core

  private changed(pp: ProbePoint): void {
    // an ftrace probe from the start (a probe armed with an int3 before the optimizer came stays one)
    if (this.ftrace && this.ftrace.isSite(pp.addr) && (!pp.armed || this.ftrace.patched.has(pp.addr))) pp.ftrace = true;
    this.dirty.add(pp);
    // an optimizable neighbour whose region covers this address is affected too
    for (let k = 1; k < MAX_OPTIMIZED_LENGTH; k++) {
      const q = this.mgr.table.get(pp.addr - k);
      if (q) this.dirty.add(q);
    }
    this.processDirty();
  }

  private processDirty(): void {
    if (this.dirty.size === 0) return;
    const list = [...this.dirty];
    this.dirty.clear();
    for (const pp of list) this.reconsider(pp);
  }

  /** __arm_kprobe: an optimized probe whose region covers the new int3 is unoptimized first. */
  private beforeArm(pp: ProbePoint): void {
    for (let k = 1; k < MAX_OPTIMIZED_LENGTH; k++) {
      const r = this.optimizedAt.get(pp.addr - k);
      if (r && r.check.ok && pp.addr < r.pp.addr + r.check.region.size) this.unoptimize(r);
    }
  }
  private beforeDisarm(pp: ProbePoint): void {
    const r = this.recs.get(pp.addr);
    if (r && r.pp === pp) {
      if (r.state === 'optimized') this.unoptimize(r);
      this.queue.delete(r);
      r.state = 'idle';
    }
  }

  /** Why pp cannot be optimized right now, or undefined. */
  blocker(r: OptRecord): string | undefined {
    const pp = r.pp;
    if (pp.ftrace) return 'an ftrace-based probe (a call from the mcount nop, no int3 to replace)';
    if (pp.gone) return 'the probe is gone (freed __init text)';
    if (!pp.armed) {
      if (this.mgr.allDisarmed) return 'kprobes are disarmed globally (/sys/kernel/debug/kprobes/enabled is 0)';
      return pp.disabled ? 'the probe is disabled' : 'the probe is not armed';
    }
    if (this.mgr.waitsForText(pp)) return 'the kernel has not patched this text yet (alternatives, SMP lock prefixes)';
    if (!this.allow) return `jump optimization is off (${PROC_KPROBES_OPTIMIZATION} is 0)`;
    if (pp.hasPostHandler) return 'a post_handler is set (it needs the single-step)';
    if (!r.check.ok) return r.check.reason;
    const size = r.check.region.size;
    // the jump and the detour's copies must not meet text the kernel is still to patch at boot
    if (!this.mgr.textPatched && this.mgr.image.bootPatchMeets(pp.addr, pp.addr + size)) return 'the region holds text the kernel has not patched yet (alternatives, SMP lock prefixes)';
    // arch_check_optimized_kprobe: another (enabled) kprobe inside the region
    for (let i = 1; i < size; i++) {
      const q = this.mgr.table.get(pp.addr + i);
      if (q && !q.disabled) return `another kprobe in region at ${symOff(this.mgr.image, pp.addr + i)}`;
    }
    return undefined;
  }

  private reconsider(pp: ProbePoint): void {
    let r = this.recs.get(pp.addr);
    if (this.mgr.table.get(pp.addr) !== pp) {
      // unregistered: the detour stays allocated (a CPU may still be in it; never reused)
      if (r && r.pp === pp) {
        if (r.state === 'optimized') this.unoptimize(r);
        this.queue.delete(r);
        this.recs.delete(pp.addr);
      }
      return;
    }
    if (!r || r.pp !== pp) {
      r = { pp, check: this.check(pp.addr), state: 'idle', queuedAt: 0, waits: 0 };
      this.recs.set(pp.addr, r);
    }
    const why = this.blocker(r);
    if (why !== undefined) {
      if (r.state === 'optimized') this.unoptimize(r);
      this.queue.delete(r);
      r.state = 'idle';
      return;
    }
    if (r.state === 'idle') {
      if (!r.detour) this.prepareDetour(r);
      r.state = 'queued';
      r.queuedAt = this.now();
      this.queue.add(r);
    }
  }

  private read = (a: number, n: number): Uint8Array => this.mgr.recover(a, n);

  /** The kernel has patched its text at boot: what was analysed of it before is stale (an optimized
   *  probe's region met none of it, see blocker, and stays). */
  private textPatched(): void {
    this.facts.clear();
    for (const r of this.recs.values()) {
      if (r.state === 'optimized') continue;
      const check = this.check(r.pp.addr);
      const same = check.ok && r.check.ok && check.region.size === r.check.region.size;
      if (!same) { this.queue.delete(r); r.state = 'idle'; r.detour = undefined; }
      r.check = check;
      this.dirty.add(r.pp);
    }
    this.processDirty();
  }

  /** The static safety checks for a probe at addr (cached per function). */
  check(addr: number): CanOptimize {
    const fn = functionBounds(this.mgr.image, addr);
    let facts: FunctionFacts | undefined;
    if (fn) {
      if (!this.facts.has(fn.addr)) this.facts.set(fn.addr, analyzeFunction(this.mgr.image, addr, this.read, this.exFixups));
      facts = this.facts.get(fn.addr);
    }
    return canOptimize(this.mgr.image, facts, addr, this.read, this.exFixups);
  }

  // ---------------------------------------------------------------- detours

  private take(n: number): number {
    const area = this.probeArea;
    if (area.used + n > PAGE_SIZE) { area.base = this.mgr.slots.allocArea(1); area.used = 0; }
    const a = area.base + area.used;
    area.used += n;
    return a;
  }

  /** arch_prepare_optimized_kprobe. */
  private prepareDetour(r: OptRecord): void {
    if (!r.check.ok) return;
    const region = r.check.region;
    const mem = this.mgr.machine.mem;
    let restEnd = 0;
    if (region.insns.length > 1) {
      // an ordinary page for the copies (at its end) and a probe page after it (the jump back at its start,
      // then room for detours)
      const o = this.mgr.slots.allocArea(2);
      mem.protect(o, PAGE_SIZE, PERM_R | PERM_X);
      restEnd = o + PAGE_SIZE;
      this.probeArea = { base: restEnd, used: 16 };
    }
    const probeAt = this.take(128);
    const { detour, probeBytes, restBytes, backBytes } = buildDetour(region, probeAt, restEnd, this.read);
    mem.writeBytes(probeAt, probeBytes);
    if (restBytes.length) { mem.writeBytes(detour.rest, restBytes); mem.writeBytes(restEnd, backBytes); }
    r.detour = detour;
    this.byVmcall.set(detour.vmcall, r);
    // the first copy runs on the probe page, counted by the jump (or int3) at the probed address
    for (const c of detour.copies) this.byCopy.set(c.at, { orig: c.orig, counted: c.at === detour.copy });
  }

  /**
   * A region instruction faulted in its detour copy (can_optimize lets instructions that may fault in:
   * only those with an exception-table entry are refused). Linux would report the detour address; the
   * kernel must see its own instruction fault, as kprobe_fault_handler arranges for a single-stepped copy
   * (KprobeManager.copyFault): RIP goes back to the original instruction (the region instructions before
   * it have run, so the registers are as there), and the count the jump took for an unretired copy is
   * handed back. Detours are never reused, so the map stays valid.
   */
  private copyFault(cpu: Cpu): boolean {
    const c = this.byCopy.get(cpu.rip);
    if (!c) return false;
    cpu.rip = c.orig;
    if (c.counted) retire(cpu, -1);
    return true;
  }

  // ---------------------------------------------------------------- the worker

  /**
   * kprobe_optimizer: optimize the queued probes whose delay has passed and whose region no CPU is in or
   * will return into. `force` ignores the delay (tests, benchmarks). Returns how many were optimized.
   */
  runWorker(force = false): number {
    this.ftrace?.armWaiting();
    this.processDirty();
    if (this.queue.size === 0) return 0;
    const now = this.now();
    if (!force && now - this.lastPass < this.delay) return 0;
    const ready: OptRecord[] = [];
    for (const r of this.queue) if (force || now - r.queuedAt >= this.delay) ready.push(r);
    if (ready.length === 0) return 0;
    this.lastPass = now;
    this.stats.passes++;
    const busy = this.busyAddresses();
    let n = 0;
    for (const r of ready) {
      // re-validate: the knob or the probe may have changed without a notification (say, `enabled` set directly)
      if (!r.check.ok || this.blocker(r) !== undefined) { this.queue.delete(r); r.state = 'idle'; continue; }
      const { addr, size } = r.check.region;
      let inside = false;
      for (const b of busy) if (b > addr && b < addr + size) { inside = true; break; }
      if (inside) { r.waits++; this.stats.waits++; continue; }
      this.optimize(r);
      n++;
    }
    return n;
  }

  /**
   * Addresses CPUs will execute next or return to: each CPU's RIP (or, inside a kprobe slot, the address
   * after the probed instruction), and the RIP of every kernel-mode interrupt frame not yet returned from.
   */
  busyAddresses(): Set<number> {
    const out = new Set<number>();
    const mgr = this.mgr;
    let slotOwner: Map<number, ProbePoint> | undefined;
    for (const c of mgr.machine.cpus) {
      out.add(c.rip);
      if (mgr.slots.contains(c.rip)) {
        slotOwner ??= new Map([...mgr.table.values()].filter((p) => p.ainsn.slot).map((p) => [p.ainsn.slot, p]));
        for (const [slot, p] of slotOwner) if (c.rip >= slot && c.rip < slot + 32) out.add(p.addr + p.ainsn.len);
      }
    }
    for (const f of interruptedFrames(mgr.machine.cpus)) out.add(f.rip);
    return out;
  }

  /** arch_optimize_kprobes: the jmp replaces the int3 and the bytes after it (text_poke_bp). */
  private optimize(r: OptRecord): void {
    const pp = r.pp, d = r.detour!;
    r.orig = this.mgr.recover(pp.addr, RELATIVEJUMP_SIZE);
    this.mgr.machine.mem.writeBytes(pp.addr, relJump(pp.addr, d.entry));
    this.optimizedAt.set(pp.addr, r);
    this.queue.delete(r);
    r.state = 'optimized';
    pp.optimized = true;
    this.stats.optimized++;
  }

  /** arch_unoptimize_kprobe: the original bytes come back, except an int3 in the first byte. */
  private unoptimize(r: OptRecord): void {
    if (r.state !== 'optimized') return;
    const b = r.orig!.slice();
    b[0] = INT3_INSN_OPCODE;
    if (!r.pp.gone) this.mgr.machine.mem.writeBytes(r.pp.addr, b); // freed __init text is poison now: never touched
    this.optimizedAt.delete(r.pp.addr);
    r.state = 'idle';
    r.pp.optimized = false;
    this.stats.unoptimized++;
  }

  /** __recover_optprobed_insn: the original bytes under an optimized jump. */
  private recover(addr: number, b: Uint8Array): void {
    if (this.optimizedAt.size === 0) return;
    for (let a = addr - RELATIVEJUMP_SIZE + 1; a < addr + b.length; a++) {
      const r = this.optimizedAt.get(a);
      if (!r) continue;
      for (let i = 0; i < RELATIVEJUMP_SIZE; i++) if (a + i >= addr && a + i < addr + b.length) b[a + i - addr] = r.orig![i];
    }
  }

  // ---------------------------------------------------------------- hits

  /** setup_detour_execution: an int3 hit on a queued probe runs the detour's copy, not a single-step. */
  private int3Hit(pp: ProbePoint, cpu: Cpu): boolean {
    const r = this.recs.get(pp.addr);
    if (!r || r.pp !== pp || r.state !== 'queued' || !r.detour || !this.enabled) return false;
    cpu.rip = r.detour.copy;
    this.stats.int3ViaDetour++;
    if (this.now() - r.queuedAt >= this.delay) this.runWorker();
    return true;
  }

  /** The platform's trap hook: the detours' and the ftrace trampoline's host calls. */
  handleTrap(cpu: Cpu, stop: Stop): boolean {
    if (stop !== Stop.HostCall) return false;
    const r = this.byVmcall.get(cpu.faultAddr);
    if (r !== undefined) { this.detourCall(cpu, r); return true; }
    return this.ftrace !== undefined && this.ftrace.handleHostCall(cpu);
  }

  /**
   * optimized_callback: the handlers get the CPU's registers as at the probed instruction (ip = addr + 1);
   * their changes to the general registers and flags stand, a change of ip is ignored (detour.ts).
   */
  private detourCall(cpu: Cpu, r: OptRecord): void {
    this.stats.detourHits++;
    this.mgr.optimizedHit(r.pp, cpu);
    cpu.rip = r.detour!.copy;
  }

  // ---------------------------------------------------------------- sysctl

  /** optimize_all_kprobes / unoptimize_all_kprobes, with the kernel's log lines. */
  setEnabled(on: boolean): void {
    if (on === this.allow) return;
    this.apply(on);
    this.mgr.messages.push(on ? 'kprobes: kprobe jump-optimization is enabled. All kprobes are optimized if possible.'
      : 'kprobes: kprobe jump-optimization is disabled. All kprobes are based on software breakpoint.');
  }
  private apply(on: boolean): void {
    if (on === this.allow) return;
    this.allow = on;
    if (!on) {
      for (const r of this.recs.values()) { if (r.state === 'optimized') this.unoptimize(r); this.queue.delete(r); r.state = 'idle'; }
    } else {
      for (const pp of this.mgr.table.values()) this.dirty.add(pp);
      this.processDirty();
    }
  }

  /** The state of the probe point at addr (tests, `ktrace why`). */
  stateOf(addr: number): OptState | undefined { return this.recs.get(addr)?.state; }
}

/**
 * Why a registered probe is not optimized (undefined when it is): the failing check and the
 * instruction that caused it, e.g. "jump into region from vfs_read+0x2a".
 */
export function whyNotOptimized(mgr: KprobeManager, probe: Kprobe | ProbePoint): string | undefined {
  const pp = 'children' in probe ? probe : mgr.probePointOf(probe);
  if (!pp) return 'not registered';
  if (pp.optimized) return undefined;
  const opt = Optimizer.of(mgr);
  if (!opt) return 'jump optimization is not installed (no optimizer attached)';
  if (mgr.table.get(pp.addr) !== pp) return 'not registered';
  // a query: no state changes (a probe whose record is still pending is judged on a fresh one)
  const r = opt.recs.get(pp.addr)?.pp === pp ? opt.recs.get(pp.addr)! : { pp, check: opt.check(pp.addr), state: 'idle' as OptState, queuedAt: 0, waits: 0 };
  const why = opt.blocker(r);
  if (why !== undefined) return why;
  if (r.state === 'queued') return r.waits > 0
    ? `waiting: a CPU is inside the region or an interrupted context will return into it (${r.waits} tries)`
    : 'queued: the optimizer has not run yet (OPTIMIZE_DELAY)';
  return 'not queued yet: the optimizer has not seen the latest change';
}

/** /proc/sys/debug/kprobes-optimization read: "%d\n". */
export function renderOptimizationSysctl(mgr: KprobeManager): string {
  const opt = Optimizer.of(mgr);
  return opt && opt.enabled ? '1\n' : '0\n';
}

/**
 * /proc/sys/debug/kprobes-optimization write (proc_kprobes_optimization_handler: proc_dointvec_minmax
 * with min 0, max 1): 0, or -EINVAL for anything but an integer 0 or 1.
 */
export function writeOptimizationSysctl(mgr: KprobeManager, text: string): number {
  const opt = Optimizer.of(mgr);
  if (!opt) return -EINVAL;
  const m = /^\s*([+-]?)(0x[0-9a-f]+|0[0-7]*|[1-9][0-9]*)\s*$/i.exec(text);
  if (!m) return -EINVAL;
  let v = m[2].toLowerCase().startsWith('0x') ? parseInt(m[2], 16) : m[2].length > 1 && m[2][0] === '0' ? parseInt(m[2], 8) : parseInt(m[2], 10);
  if (m[1] === '-') v = -v;
  if (v !== 0 && v !== 1) return -EINVAL;
  opt.setEnabled(v === 1);
  return 0;
}

