// ktrace-pc: the machine around the CPU (fixtures/kernel/README.md). Loads the kernel image, fills
// boot_params, implements the devices (console, timers, IPIs, CPU start, power off, panic), and runs
// the CPUs, handing every stop to whoever owns it: trap handlers registered by upper layers (kprobes)
// first, then the workload's host calls, then the guest kernel's own IDT.
import type { Image } from '../elf/image.js';
import { Machine, Stop, stopName } from '../emu/machine.js';
import { PERM_R, PERM_U, PERM_W, PERM_X } from '../emu/memory.js';
import { Reg, type Cpu } from '../emu/cpu.js';
import {
  BOOT_MAGIC, BP, DEFAULT_TIMER_PERIOD, PORT_AP_START, PORT_CONSOLE, PORT_INIT_FREED, PORT_IPI, PORT_PANIC,
  PORT_POWEROFF, PORT_TIMER, RAM_BASE, RAM_SIZE, USER_STUB,
} from './contract.js';
import { VEC_BP, VEC_DB, VEC_DE, VEC_GP, VEC_IPI, VEC_PF, VEC_UD } from '../base/x86.js';
import { USER_SYSCALL_IP, type UserMemory, type WorkloadRunner } from './workload/runner.js';
import { backtrace, type Frame } from './backtrace.js';

/** Put back a return address an upper layer replaced on `cpu`'s stack (kretprobes: unwind_recover_rethook). */
export type RetAddrRecovery = (cpu: Cpu, ret: number, slot: number) => number;

export interface PlatformOptions {
  cpus: number;
  seed: number;
  /** Timer period in instructions (0: no timer interrupt). */
  timerPeriod?: number;
  /** End the run when no user task has made a system call for this long in emulated ns (a deadlock). */
  stallNs?: number;
  cmdline?: string;
}

/** Something upper layers saw during boot (slice hooks, init memory freed), with each CPU's
 *  [instret, idleNs, probeInstret] at that moment (snapshots replay them). */
export interface BootEvent { kind: 'slice' | 'initFreed' | 'textPatched'; clocks: [number, number, number][] }

export interface PlatformState {
  console: number[]; initFreed: boolean; lastKernelFault: KernelFault | undefined; lastCalls: number; lastProgressNs: number;
  /** A subclass's devices (real Linux's: kernel/linux/platform.ts). */
  linux?: unknown;
}

/** A handler for stops the platform does not own (kprobes: #BP, #DB, host calls in probe pages). */
export type TrapHandler = (cpu: Cpu, stop: Stop) => boolean;

/** What the kernel's state was when it faulted in kernel mode: the oops report's material. */
export interface KernelFault {
  cpu: number;
  vector: number;
  errorCode: number;
  address: number;
  rip: number;
  regs: Record<string, bigint>;
  rflags: number;
  backtrace: Frame[];
}

export type RunEnd =
  | { kind: 'poweroff'; status: number }
  | { kind: 'panic'; reason: number }
  | { kind: 'budget' }
  | { kind: 'interrupted' }
  | { kind: 'stalled'; seconds: number }
  | { kind: 'fatal'; message: string; cpu: number; rip: number };

/** Load a system call's number and arguments into the registers `syscall` takes them from. */
export function loadSyscall(cpu: Cpu, nr: number, args: readonly number[]): void {
  cpu.setReg(Reg.RAX, BigInt(nr));
  const regs = [Reg.RDI, Reg.RSI, Reg.RDX, Reg.R10, Reg.R8, Reg.R9];
  for (let i = 0; i < 6; i++) cpu.setReg(regs[i], BigInt.asUintN(64, BigInt(args[i] ?? 0)));
}

/** struct pt_regs, x86-64 (arch/x86/include/asm/ptrace.h), in memory order. */
const PT_REGS = ['r15', 'r14', 'r13', 'r12', 'bp', 'bx', 'r11', 'r10', 'r9', 'r8', 'ax', 'cx', 'dx', 'si', 'di', 'orig_ax', 'ip', 'cs', 'flags', 'sp', 'ss'];
const PT_REGS_SIZE = 168;
const REG_NAMES = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
const PAGE = 4096;
/** Guest instructions between slice hooks: the same for every caller, so delayed work happens at the
 *  same guest instruction counts in tests, benchmarks and the CLI. */
export const SLICE = 250_000;

export class Platform implements UserMemory {
  readonly machine: Machine;
  readonly trapHandlers: TrapHandler[] = [];
  /** Called before each stretch of guest execution (at most SLICE instructions apart, at deterministic
   *  points): delayed work such as the kprobe optimizer's worker runs here. */
  readonly sliceHooks: (() => void)[] = [];
  /** Called once when the kernel reports its init memory freed (kprobes mark probes there [GONE]). */
  readonly initFreedHooks: (() => void)[] = [];
  /**
   * The kernel has made its one boot-time pass over its own text (Linux: alternative_instructions(),
   * which applies the alternatives, optimizes their nops and unlocks the SMP `lock` prefixes on one
   * CPU, then sets `alternatives_patched`). Seen at the first slice boundary after it; from there on,
   * probes on that text are armed (kprobe/kprobes.ts), as a real kprobe can only be registered after
   * it. The miniature kernel patches nothing: true from the start.
   */
  textPatched = true;
  /** Called once, at the slice boundary where textPatched becomes true. */
  readonly textPatchedHooks: (() => void)[] = [];
  protected consoleBytes: number[] = [];
  end: RunEnd | undefined;
  initFreed = false;
  lastKernelFault: KernelFault | undefined;
  /** Recoveries of replaced return addresses for oops backtraces (the kretprobe layer adds its own). */
  readonly retAddrRecovery: RetAddrRecovery[] = [];
  workload: WorkloadRunner | undefined;
  private secondaryEntry: number;
  /**
   * The boot ends where /init starts: the first user host call (the workload's first request). That call
   * is handed out of the machine's run loop and handled by runSlice right after (exactly as if in place),
   * so that the machine state at that point is one a boot snapshot can save (kernel/snapshot.ts).
   */
  initStarted = false;
  /** The CPU whose first user host call waits to be handled (set at the end of boot, or by a restore). */
  pausedCpu: Cpu | null = null;
  /** Capture: runSlice returns at the end of boot, the first user host call not handled yet. */
  stopAtInit = false;
  /** Where the slice that boot ended in stops (for a capture), and where a restored run resumes. */
  initSliceEnd: number | undefined;
  /** Called once, by the first runSlice, before anything runs (session.ts: the boot snapshot). */
  beforeFirstSlice: ((maxInsns: number, slice: number) => void) | null = null;
  /** How this run's boot happened: 'cold', or 'snapshot' (restored); with the reason a snapshot was not
   *  used, and when a snapshot was at hand, whether [start, end) meets code its boot executed. */
  bootedFrom: { kind: 'cold' | 'snapshot'; why: string; bootCode?: (start: number, end: number) => boolean } = { kind: 'cold', why: 'no snapshot asked for' };
  /** Guest instruction totals at which the slice hooks ran, and when init memory was freed (capture). */
  readonly bootEvents: BootEvent[] = [];

  constructor(readonly image: Image, readonly opts: PlatformOptions) {
    if (!(opts.cpus >= 1 && opts.cpus <= 8)) throw new RangeError('cpus must be between 1 and 8');
    this.machine = new Machine({ cpus: opts.cpus, seed: opts.seed });
    const entry = image.symbolAddr('secondary_startup_64');
    this.secondaryEntry = entry ?? 0;
    this.machine.onPortOut = (cpu, port, size, value) => this.portOut(cpu, port, size, value);
    this.machine.onPortIn = () => 0xffffffff;
    this.machine.onTrap = (cpu, stop) => this.handle(cpu, stop);
    this.machine.onHostCall = (cpu) => this.handle(cpu, Stop.HostCall);
  }

  get console(): string { return Buffer.from(this.consoleBytes).toString('latin1'); }

  /** What the platform itself keeps of a run (devices and bookkeeping; boot snapshots). */
  saveState(): PlatformState {
    return {
      console: [...this.consoleBytes], initFreed: this.initFreed, lastKernelFault: this.lastKernelFault,
      lastCalls: this.lastCalls, lastProgressNs: this.lastProgressNs,
    };
  }
  loadState(s: PlatformState): void {
    this.consoleBytes = [...s.console];
    this.initFreed = s.initFreed;
    this.lastKernelFault = s.lastKernelFault;
    this.lastCalls = s.lastCalls;
    this.lastProgressNs = s.lastProgressNs;
  }

  // ---- UserMemory (the workload runner's view of user space) ----
  mapUser(addr: number, size: number, perms: 'rx' | 'r' | 'rw'): void {
    const start = Math.floor(addr / PAGE) * PAGE, end = Math.ceil((addr + size) / PAGE) * PAGE;
    const p = PERM_U | PERM_R | (perms === 'rw' ? PERM_W : 0) | (perms === 'rx' ? PERM_X : 0);
    for (let a = start; a < end; a += PAGE) {
      if (this.machine.mem.permsAt(a)) this.machine.mem.protect(a, PAGE, p);
      else this.machine.mem.map(a, PAGE, p);
    }
  }
  write(addr: number, bytes: Uint8Array): void { this.machine.mem.writeBytes(addr, bytes); }
  read(addr: number, len: number): Uint8Array { return this.machine.mem.readBytes(addr, len); }

  /** Load the image, map RAM, fill boot_params and put CPU 0 at the entry point. */
  boot(user: { entry: number; stackTop: number }): void {
    const { mem } = this.machine;
    const img = this.image;
    for (const seg of img.segments) {
      if (seg.memsz === 0) continue;
      const start = Math.floor(seg.vaddr / PAGE) * PAGE;
      const end = Math.ceil((seg.vaddr + seg.memsz) / PAGE) * PAGE;
      const perms = (seg.flags & 4 ? PERM_R : 0) | (seg.flags & 2 ? PERM_W : 0) | (seg.flags & 1 ? PERM_X : 0);
      mem.map(start, end - start, perms | PERM_R | PERM_W);
      if (seg.filesz > 0) mem.writeBytes(seg.vaddr, img.fileBytes(seg.offset, seg.filesz));
      mem.protect(start, end - start, perms);
    }
    mem.map(RAM_BASE, RAM_SIZE, PERM_R | PERM_W);
    const bp = img.symbolAddr('boot_params');
    if (bp === undefined) throw new Error('the kernel has no boot_params symbol: not a ktrace-pc kernel');
    const b = new DataView(new ArrayBuffer(BP.size));
    b.setBigUint64(BP.magic, BOOT_MAGIC, true);
    b.setUint32(BP.nr_cpus, this.opts.cpus, true);
    b.setBigInt64(BP.ram_base, BigInt(RAM_BASE), true);
    b.setBigUint64(BP.ram_size, BigInt(RAM_SIZE), true);
    b.setBigUint64(BP.user_entry, BigInt(user.entry), true);
    b.setBigUint64(BP.user_stack_top, BigInt(user.stackTop), true);
    b.setBigUint64(BP.timer_period, BigInt(this.opts.timerPeriod ?? DEFAULT_TIMER_PERIOD), true);
    b.setBigUint64(BP.seed, BigInt.asUintN(64, BigInt(this.opts.seed)), true);
    const cmd = Buffer.from(this.opts.cmdline ?? '', 'latin1').subarray(0, 255);
    new Uint8Array(b.buffer).set(cmd, BP.cmdline);
    this.poke(bp, new Uint8Array(b.buffer));
    const cpu0 = this.machine.cpus[0];
    cpu0.rip = img.header.entry;
    cpu0.setReg(Reg.RDI, 0n);
    cpu0.setReg(Reg.RSI, BigInt.asUintN(64, BigInt(bp)));
    cpu0.setReg(Reg.RSP, 0n);
  }

  /** Host write to kernel memory regardless of page permissions (text_poke style). */
  poke(addr: number, bytes: Uint8Array): void {
    this.machine.mem.writeBytes(addr, bytes);
  }

  /** The kernel freed its init memory: init text is no longer kernel text (kprobe_free_init_mem). */
  protected markInitFreed(): void {
    if (this.initFreed) return;
    this.initFreed = true;
    if (!this.initStarted) this.bootEvents.push(this.bootEvent('initFreed'));
    for (const h of this.initFreedHooks) h();
  }

  private portOut(cpu: Cpu, port: number, _size: number, value: number): void {
    switch (port) {
      case PORT_CONSOLE: this.consoleBytes.push(value & 0xff); break;
      case PORT_TIMER: this.machine.setTimer(cpu, value >>> 0); break;
      case PORT_IPI: {
        const target = this.machine.cpus[value >>> 0];
        if (target) target.raise(VEC_IPI);
        break;
      }
      case PORT_AP_START: {
        const target = this.machine.cpus[value >>> 0];
        if (target && !target.online && this.secondaryEntry) {
          target.rip = this.secondaryEntry;
          target.setReg(Reg.RDI, BigInt(value >>> 0));
          target.setReg(Reg.RSP, 0n);
          target.online = true;
        }
        break;
      }
      case PORT_INIT_FREED: this.markInitFreed(); break;
      case PORT_POWEROFF:
        this.end ??= { kind: 'poweroff', status: value | 0 };
        this.machine.requestStop(cpu);
        break;
      case PORT_PANIC:
        if (!this.end) {
          this.end = { kind: 'panic', reason: value | 0 };
          this.oopsFromPanicRegs(cpu);
        }
        this.machine.requestStop(cpu);
        break;
      default: break; // unknown ports read as all-ones and ignore writes, as on a PC
    }
  }

  protected snapshot(cpu: Cpu, vector: number): KernelFault {
    const regs: Record<string, bigint> = {};
    REG_NAMES.forEach((n, i) => { regs[n] = cpu.getReg(i as Reg); });
    return {
      cpu: cpu.id, vector, errorCode: cpu.errorCode, address: cpu.faultAddr, rip: cpu.rip, regs, rflags: cpu.getRflags(),
      backtrace: backtrace(this.machine.mem, this.image, cpu.rip, cpu.getRegNum(Reg.RBP), 32, cpu.getRegNum(Reg.RSP), this.recoverFor(cpu)),
    };
  }

  /** An oops the kprobes layer raises (a handler failed, kretprobe BUG): the report's registers and backtrace from `cpu` now. */
  recordOops(cpu: Cpu): void { this.lastKernelFault = this.snapshot(cpu, -1); }

  private recoverFor(cpu: Cpu): ((ret: number, slot: number) => number) | undefined {
    const rs = this.retAddrRecovery;
    if (rs.length === 0) return undefined;
    return (ret, slot) => { for (const r of rs) ret = r(cpu, ret, slot); return ret; };
  }

  /**
   * The kernel stores the oopsing struct pt_regs in `panic_regs` before it reports a panic
   * (fixtures/kernel/README.md): the report's registers, RIP and backtrace come from there.
   */
  private oopsFromPanicRegs(cpu: Cpu): void {
    const sym = this.image.symbolAddr('panic_regs');
    if (sym === undefined) return;
    const mem = this.machine.mem;
    const ptr = Number(BigInt.asIntN(64, mem.read64(sym)));
    if (!ptr || !mem.permsAt(ptr) || !mem.permsAt(ptr + PT_REGS_SIZE - 1)) return;
    const q = (i: number) => mem.read64(ptr + 8 * i);
    const regs: Record<string, bigint> = {};
    PT_REGS.forEach((n, i) => { if (!['orig_ax', 'ip', 'cs', 'flags', 'ss'].includes(n)) regs[n] = q(i); });
    const ordered: Record<string, bigint> = {};
    for (const n of ['ax', 'bx', 'cx', 'dx', 'si', 'di', 'bp', 'sp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15']) {
      ordered[n.startsWith('r') ? n : 'r' + n] = regs[n];
    }
    const rip = Number(BigInt.asIntN(64, q(PT_REGS.indexOf('ip'))));
    const bp = Number(BigInt.asIntN(64, regs.bp));
    const last = this.lastKernelFault;
    this.lastKernelFault = {
      cpu: last && last.rip === rip ? last.cpu : -1,
      vector: last && last.rip === rip ? last.vector : -1,
      errorCode: last && last.rip === rip ? last.errorCode : 0,
      address: last && last.rip === rip ? last.address : 0,
      rip, regs: ordered, rflags: Number(q(PT_REGS.indexOf('flags')) & 0xffffffffn),
      backtrace: backtrace(mem, this.image, rip, bp, 32, Number(BigInt.asIntN(64, regs.sp)), this.recoverFor(cpu)),
    };
  }

  /** Hand an exception to the guest kernel; a delivery failure ends the run. */
  protected deliver(cpu: Cpu, vector: number, errorCode?: number): boolean {
    if (cpu.cpl === 0 && vector !== VEC_BP && vector !== VEC_DB) this.lastKernelFault = this.snapshot(cpu, vector);
    if (cpu.interrupt(vector, errorCode)) return true;
    return this.fatal(cpu, `double fault delivering vector ${vector}: ${cpu.stopText}`);
  }

  /**
   * Dispatch one stop (the machine's onTrap: called inside runAll, so handled stops do not disturb the
   * round-robin). Returns true when the run goes on, false when the stop ends it (this.end is set) or
   * takes the CPU out of the run.
   */
  protected handle(cpu: Cpu, stop: Stop): boolean {
    if (stop === Stop.HostCall && !this.initStarted && this.isWorkloadCall(cpu)) {
      // the end of boot: hand the call out of the run loop (runSlice handles it next)
      this.initStarted = true;
      this.pausedCpu = cpu;
      return false;
    }
    if (stop === Stop.Requested && this.pausedCpu === cpu) return false;
    for (const h of this.trapHandlers) if (h(cpu, stop)) return !this.end;
    switch (stop) {
      case Stop.HostCall:
        if (this.isWorkloadCall(cpu)) return this.workloadCall(cpu);
        return this.fatal(cpu, `vmcall at ${this.image.formatAddr(cpu.faultAddr)} owned by no one`);
      case Stop.Breakpoint: return this.deliver(cpu, VEC_BP);
      case Stop.Debug: return this.deliver(cpu, VEC_DB);
      case Stop.PageFault: return this.deliver(cpu, VEC_PF, cpu.errorCode);
      case Stop.GeneralProtection: return this.deliver(cpu, VEC_GP, cpu.errorCode);
      case Stop.InvalidOpcode: return this.deliver(cpu, VEC_UD);
      case Stop.DivideError: return this.deliver(cpu, VEC_DE);
      case Stop.Exception: {
        // other vectors: those that push an error code (SDM Vol. 3A, Table 6-1) get it
        const v = cpu.trapVector;
        return this.deliver(cpu, v, [8, 10, 11, 12, 13, 14, 17, 21].includes(v) ? cpu.errorCode : undefined);
      }
      case Stop.Requested: return !this.end; // port handlers set this.end
      case Stop.Halt:
        // hlt with IF=0: this CPU is gone for good (after a panic, or a kernel bug); take it out
        cpu.online = false;
        if (this.machine.cpus.every((c) => !c.online)) {
          this.end ??= { kind: 'fatal', message: 'every CPU halted with interrupts disabled', cpu: cpu.id, rip: cpu.rip };
        }
        return false;
      default:
        return this.fatal(cpu, `${stopName(stop)}: ${cpu.stopText}`);
    }
  }

  /** A user task's host call: load the workload's next system call into its registers and resume it
   *  at the stub's `syscall`. */
  protected workloadCall(cpu: Cpu): boolean {
    const rsp = cpu.getRegNum(Reg.RSP);
    const rax = Number(BigInt.asIntN(64, cpu.getReg(Reg.RAX)));
    const req = this.workload!.hostCall(rsp, rax);
    if ('error' in req) return this.fatal(cpu, req.error);
    loadSyscall(cpu, req.nr, req.args);
    cpu.rip = USER_SYSCALL_IP;
    return true;
  }

  /** Has the kernel finished patching its own text (see textPatched)? Read from the guest at slice boundaries. */
  protected kernelTextPatched(): boolean { return true; }

  protected bootEvent(kind: BootEvent['kind']): BootEvent {
    return { kind, clocks: this.machine.cpus.map((c) => [c.instret, c.idleNs, c.probeInstret]) };
  }

  protected isWorkloadCall(cpu: Cpu): boolean {
    return cpu.cpl === 3 && this.workload !== undefined && (cpu.rip === USER_SYSCALL_IP || cpu.rip === USER_STUB);
  }

  protected fatal(cpu: Cpu, message: string): false {
    this.end ??= { kind: 'fatal', message, cpu: cpu.id, rip: cpu.rip };
    return false;
  }

  /** Total instructions retired by the guest (all CPUs), excluding probe overhead. */
  get instructions(): number { return this.machine.cpus.reduce((s, c) => s + c.instret, 0); }
  get probeInstructions(): number { return this.machine.cpus.reduce((s, c) => s + c.probeInstret, 0); }
  /** Emulated time: the furthest CPU clock. */
  get emulatedNs(): number { return this.machine.cpus.reduce((m, c) => Math.max(m, c.clock()), 0); }

  /**
   * Run one slice: at most `slice` guest instructions, fewer if the run ends (power-off, panic, a
   * fatal stop) or `maxInsns` in all is reached. Returns how the run ended, or undefined to go on.
   */
  runSlice(maxInsns: number, slice = SLICE): RunEnd | undefined {
    if (this.beforeFirstSlice) { const f = this.beforeFirstSlice; this.beforeFirstSlice = null; f(maxInsns, slice); }
    let stopAt: number, hooks = true;
    if (this.initSliceEnd !== undefined && this.pausedCpu !== null) {
      // a restored boot: go on inside the slice the boot ended in (its hooks already ran)
      stopAt = Math.min(maxInsns, this.initSliceEnd);
      hooks = false;
    } else stopAt = Math.min(maxInsns, this.instructions + slice);
    while (!this.end) {
      if (this.pausedCpu !== null) {
        if (this.stopAtInit) { this.initSliceEnd = stopAt; return undefined; }
        // /init's first host call, handed out of the run loop: handle it as the run loop would have, and
        // go on in the same slice (no hooks run in between)
        const cpu = this.pausedCpu;
        this.pausedCpu = null;
        this.initSliceEnd = undefined;
        // (the host's memory accesses go through this CPU's address space, as inside its run: another
        // CPU may have run last)
        const mem = this.machine.mem;
        mem.cur = cpu; mem.setUser(cpu.cpl === 3 ? 1 : 0);
        this.handle(cpu, Stop.HostCall);
        hooks = false;
        continue;
      }
      const left = stopAt - this.instructions;
      if (left <= 0) {
        if (this.instructions >= maxInsns) this.end = { kind: 'budget' };
        break;
      }
      if (hooks) {
        if (!this.textPatched && this.kernelTextPatched()) {
          this.textPatched = true;
          if (!this.initStarted) this.bootEvents.push(this.bootEvent('textPatched'));
          for (const h of this.textPatchedHooks) h();
        }
        if (!this.initStarted) this.bootEvents.push(this.bootEvent('slice'));
        for (const h of this.sliceHooks) h();
      }
      hooks = true;
      // Stops are dispatched inside runAll (machine.onTrap); it returns early only for those that end the run.
      this.machine.runAll(Math.min(left, slice));
      if (this.pausedCpu === null) this.checkStall();
    }
    return this.end;
  }

  private lastCalls = -1;
  private lastProgressNs = 0;
  /** Every task blocked for good (say, a read on a pipe nobody writes) must not burn the whole budget. */
  private checkStall(): void {
    const calls = this.workload?.syscallsIssued ?? 0;
    const now = this.emulatedNs;
    if (calls !== this.lastCalls) { this.lastCalls = calls; this.lastProgressNs = now; return; }
    const limit = this.opts.stallNs ?? 10e9;
    if (limit > 0 && now - this.lastProgressNs >= limit) this.end ??= { kind: 'stalled', seconds: limit / 1e9 };
  }

  /** Stop the run from outside (Ctrl-C): what was gathered is still reported. */
  interrupt(): void { this.end ??= { kind: 'interrupted' }; }
}
