// CPU state: registers as 32-bit halves, lazy flags, system registers and MSRs, and interrupt delivery
// through the guest IDT (ktrace-pc machine contract: fixtures/kernel/README.md).
import { EmuError, halvesToBig } from './addr.js';
import { CANON_HI, CANON_LO, hex0x, isCanonical, TWO32 } from '../base/addr.js';
import { arithFlags, ARITH, K_LOGIC, setArithFlags, type LazyFlags } from './flags.js';
import { FAULT, Memory, PAGE_PROBE, type FaultTarget } from './memory.js';
import { InterruptFrames } from './frames.js';
import {
  MSR_CSTAR, MSR_EFER, MSR_FMASK, MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_KTPC_RSP0, MSR_LSTAR, MSR_STAR,
  MSR_TSC_AUX, VEC_GP, VEC_TIMER,
} from '../base/x86.js';

export const enum Reg { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 }

/** EFER bits: SCE (syscall enable), LME, LMA, NXE. Long mode is always on in ktrace-pc. */
const EFER_FIXED = 0x1 | 0x100 | 0x400 | 0x800;

export interface CpuHost {
  onPortIn(cpu: Cpu, port: number, size: 1 | 2 | 4): number;
  onPortOut(cpu: Cpu, port: number, size: 1 | 2 | 4, value: number): void;
  /** A vmcall: 0 = no in-place handler (stop with Stop.HostCall), 1 = handled in place (go on at
   *  cpu.rip without leaving the run loop), 2 = the owner ended the run (stop with Stop.Requested). */
  onHostCall(cpu: Cpu): number;
  /** A platform's own CPUID answers (another machine than ktrace-pc); undefined: ktrace-pc's. */
  cpuid?(cpu: Cpu, leaf: number, sub: number): [number, number, number, number] | undefined;
  /** MSRs beyond ktrace-pc's: the value (undefined: none, #GP), and whether a write is accepted. */
  readMsr?(cpu: Cpu, n: number): bigint | undefined;
  writeMsr?(cpu: Cpu, n: number, v: bigint): boolean;
  /** The guest changed its address translation (a platform that walks guest page tables drops stale
   *  mappings): kind 0 = mov to CR3, 1 = invlpg of `addr`, 2 = mov to CR4, 3 = mov to CR0. */
  onPaging?(cpu: Cpu, kind: number, addr: number): void;
}

export class Cpu implements LazyFlags, FaultTarget {
  /** RAX..R15, each as lo (2*r) and hi (2*r+1) 32-bit halves. */
  readonly regs = new Uint32Array(32);
  rip = 0.5; // a double from the start, so V8 keeps the field unboxed for kernel addresses
  // lazy flags (flags.ts)
  fk = K_LOGIC; fsz = 32; fa0 = 0; fa1 = 0; fb0 = 0; fb1 = 0; fr0 = 1; fr1 = 0; fcf = 0; fof = 0; faf = 0; fraw = 0;
  // flags stored directly
  df = 0; if_ = 0; tf = 0; ac = 0;
  /** Other RFLAGS bits kept verbatim (IOPL, NT, RF, ID ...), excluding the ones above and bit 1. */
  fmisc = 0;
  cpl = 0;
  cs = 0x10; ss = 0x18; ds = 0x18; es = 0x18; fsSel = 0; gsSel = 0;
  /** Segment bases as signed canonical numbers. */
  fsb = 0; gsb = 0; kgsb = 0;
  cr0 = 0x80050033; cr2 = 0; cr3 = 0; cr4 = 0x6b0; cr8 = 0;
  efer = EFER_FIXED; starLo = 0; starHi = 0; lstar = 0; cstar = 0; fmask = 0; tscAux = 0; rsp0 = 0;
  idtBase = 0; idtLimit = 0; gdtBase = 0; gdtLimit = 0; tr = 0; ldtr = 0;
  /** DR0-DR7 (DR4/DR5 unused): stored, not acted on (no hardware breakpoints). */
  readonly dr = [0, 0, 0, 0, 0, 0, 0xffff0ff0, 0x400];
  /** The x87/SSE state as FXSAVE lays it out (512 bytes). ktrace executes no x87 or SSE arithmetic:
   *  the state is only initialised, saved and restored (FNINIT, FXSAVE, FXRSTOR, LDMXCSR, STMXCSR),
   *  as a kernel does at boot and context switch. Reset: FCW 0x37f, MXCSR 0x1f80, MXCSR_MASK 0xffff. */
  readonly fx = (() => { const b = new Uint8Array(512); b[0] = 0x7f; b[1] = 0x03; b[24] = 0x80; b[25] = 0x1f; b[28] = 0xff; b[29] = 0xff; return b; })();
  instret = 0; probeInstret = 0; idleNs = 0;
  halted = false;
  /** CPU is running (secondary CPUs are held in reset until the platform starts them). */
  online: boolean;
  /** 0: 64-bit mode (the run loop); 1: real or protected mode, run by legacy.ts (Machine.onLegacy). */
  mode = 0;
  // details of the last stop
  trapVector = -1; errorCode = 0; faultAddr = 0; stopText = '';
  /** A stop requested by an instruction or the host (machine.ts Stop value + 1; 0 = none). */
  stop = 0;
  /** Pending external interrupt vectors. */
  readonly pendingVec = new Uint8Array(256);
  pending = 0;
  timerPeriod = 0; nextTimer = Infinity;
  /** sti interrupt shadow: no interrupt before the next instruction completes. */
  shadow = false;

  /**
   * The kernel-mode interrupt frames pushed and not yet returned from (frames.ts): one log shared by
   * the machine's CPUs (set by Machine). A private field: a snapshot saves it once, with the machine's state.
   */
  #frames = new InterruptFrames();
  get frames(): InterruptFrames { return this.#frames; }
  set frames(f: InterruptFrames) { this.#frames = f; }

  /** The machine's port I/O (set by Machine). */
  host: CpuHost = { onPortIn: () => 0xffffffff, onPortOut: () => {}, onHostCall: () => 0 };

  constructor(readonly id: number, readonly mem: Memory) {
    this.online = id === 0;
    this.tscAux = id;
  }

  // ---- registers (host side) ----
  getReg(r: Reg): bigint { return halvesToBig(this.regs[2 * r], this.regs[2 * r + 1]); }
  setReg(r: Reg, v: bigint): void {
    const u = BigInt.asUintN(64, v);
    this.regs[2 * r] = Number(u & 0xffffffffn); this.regs[2 * r + 1] = Number(u >> 32n);
  }
  /** Register as a signed number (exact for canonical addresses). */
  getRegNum(r: Reg): number { return (this.regs[2 * r + 1] | 0) * TWO32 + this.regs[2 * r]; }
  setRegNum(r: Reg, v: number): void {
    this.regs[2 * r] = v >>> 0; this.regs[2 * r + 1] = Math.floor(v / TWO32) >>> 0;
  }
  getRflags(): number {
    return arithFlags(this) | 2 | (this.tf << 8) | (this.if_ << 9) | (this.df << 10) | (this.ac << 18) | this.fmisc;
  }
  setRflags(v: number): void {
    setArithFlags(this, v);
    this.tf = (v >>> 8) & 1; this.if_ = (v >>> 9) & 1; this.df = (v >>> 10) & 1; this.ac = (v >>> 18) & 1;
    // keep IOPL, NT, RF, VIF/VIP, ID; drop reserved bits and VM
    this.fmisc = v & (0x3000 | 0x4000 | 0x10000 | 0x180000 | 0x200000);
  }
  get fsBase(): bigint { return BigInt.asUintN(64, BigInt(this.fsb)); }
  set fsBase(v: bigint) { this.fsb = Number(BigInt.asIntN(64, v)); }
  get gsBase(): bigint { return BigInt.asUintN(64, BigInt(this.gsb)); }
  set gsBase(v: bigint) { this.gsb = Number(BigInt.asIntN(64, v)); }
  get kernelGsBase(): bigint { return BigInt.asUintN(64, BigInt(this.kgsb)); }
  set kernelGsBase(v: bigint) { this.kgsb = Number(BigInt.asIntN(64, v)); }

  /** This CPU's emulated time in ns: 1 instruction = 1 ns, plus time idled in hlt (README "Time"). */
  clock(): number { return this.instret + this.idleNs; }

  /** Set CPL and switch the memory's TLB set to match (call whenever CS changes). */
  setCpl(cpl: number): void { this.cpl = cpl; this.mem.setUser(cpl === 3 ? 1 : 0); }

  // ---- MSRs ----
  /** Value of MSR n, or undefined when ktrace-pc has no such MSR (the instruction then raises #GP). */
  readMsr(n: number): bigint | undefined {
    const big = (x: number) => BigInt.asUintN(64, BigInt(x));
    switch (n) {
      case MSR_EFER: return BigInt(this.efer);
      case MSR_STAR: return halvesToBig(this.starLo, this.starHi);
      case MSR_LSTAR: return big(this.lstar);
      case MSR_CSTAR: return big(this.cstar);
      case MSR_FMASK: return BigInt(this.fmask);
      case MSR_FS_BASE: return big(this.fsb);
      case MSR_GS_BASE: return big(this.gsb);
      case MSR_KERNEL_GS_BASE: return big(this.kgsb);
      case MSR_TSC_AUX: return BigInt(this.tscAux);
      case MSR_KTPC_RSP0: return big(this.rsp0);
      case 0x10: return BigInt(this.clock()); // IA32_TIME_STAMP_COUNTER
      default: return this.host.readMsr?.(this, n);
    }
  }
  /** Write MSR n; false when the MSR does not exist or the value is invalid (#GP). */
  writeMsr(n: number, v: bigint): boolean {
    v = BigInt.asUintN(64, v);
    const addr = (): number | undefined => { const a = Number(BigInt.asIntN(64, v)); return isCanonical(a) ? a : undefined; };
    let a: number | undefined;
    switch (n) {
      case MSR_EFER: this.efer = Number(v & 0xd01n) | EFER_FIXED; return true;
      case MSR_STAR: this.starLo = Number(v & 0xffffffffn); this.starHi = Number(v >> 32n); return true;
      case MSR_LSTAR: if ((a = addr()) === undefined) return false; this.lstar = a; return true;
      case MSR_CSTAR: if ((a = addr()) === undefined) return false; this.cstar = a; return true;
      case MSR_FMASK: this.fmask = Number(v & 0xffffffffn); return true;
      case MSR_FS_BASE: if ((a = addr()) === undefined) return false; this.fsb = a; return true;
      case MSR_GS_BASE: if ((a = addr()) === undefined) return false; this.gsb = a; return true;
      case MSR_KERNEL_GS_BASE: if ((a = addr()) === undefined) return false; this.kgsb = a; return true;
      case MSR_TSC_AUX: this.tscAux = Number(v & 0xffffffffn); return true;
      case MSR_KTPC_RSP0: if ((a = addr()) === undefined) return false; this.rsp0 = a; return true;
      default: return this.host.writeMsr?.(this, n, v) ?? false;
    }
  }
  rdmsr(n: number): bigint {
    const v = this.readMsr(n);
    if (v === undefined) throw new EmuError(`rdmsr: no MSR ${hex0x(n)} on ktrace-pc`);
    return v;
  }
  wrmsr(n: number, v: bigint): void {
    if (!this.writeMsr(n, v)) throw new EmuError(`wrmsr: no MSR ${hex0x(n)} on ktrace-pc, or bad value ${v}`);
  }

  // ---- external interrupts ----
  /** Make vector pending (timer, IPI, device); it is delivered at an instruction boundary with IF=1. */
  raise(vector: number): void {
    if (!this.pendingVec[vector]) { this.pendingVec[vector] = 1; this.pending++; }
  }
  /** Highest pending vector (APIC priority order), or -1. */
  highestPending(): number {
    if (this.pending === 0) return -1;
    for (let v = 255; v >= 0; v--) if (this.pendingVec[v]) return v;
    return -1;
  }
  /** Arm this CPU's timer: vector 0x20 every `period` instructions of emulated time (0 stops it).
   *  `jitter` is the seeded offset for the first expiry (machine.ts draws it). */
  setTimer(period: number, jitter = 0): void {
    this.timerPeriod = period;
    this.nextTimer = period > 0 ? this.clock() + Math.max(1, period + jitter) : Infinity;
  }

  /**
   * Deliver an interrupt or exception through the guest IDT (SDM Vol. 3A, 6.14 "Exception and Interrupt
   * Handling in 64-bit Mode"): read the 16-byte gate, switch to MSR_KTPC_RSP0 when coming from CPL 3
   * (the TSS.sp0 of ktrace-pc), align the stack to 16 bytes, push SS, RSP, RFLAGS, CS, RIP [, error code],
   * load CS:RIP from the gate, clear TF/RF/NT and, for interrupt gates, IF.
   * Returns false (and records stopText) when delivery itself fails: the caller reports a double fault.
   */
  interrupt(vector: number, errorCode?: number): boolean {
    const m = this.mem;
    const savedUser = m.user, savedCur = m.cur;
    m.cur = this; // faults during delivery are this CPU's, whoever ran last
    try {
      m.setUser(0);
      if (vector * 16 + 15 > this.idtLimit) { this.stopText = `vector ${vector} beyond IDT limit ${this.idtLimit}`; return false; }
      const g = this.idtBase + vector * 16;
      const lo = m.r32(g), w1 = m.r32(g + 4), hi = m.r32(g + 8);
      const type = (w1 >>> 8) & 0x1f, present = (w1 >>> 15) & 1;
      if (!present || (type !== 0xe && type !== 0xf)) { this.stopText = `IDT gate ${vector} not present or not a 64-bit gate`; return false; }
      const sel = lo >>> 16;
      const target = (hi | 0) * TWO32 + (((w1 & 0xffff0000) | (lo & 0xffff)) >>> 0);
      if (!isCanonical(target)) { this.stopText = `IDT gate ${vector} target ${hex0x(target)} not canonical`; return false; }
      const oldRsp = this.getRegNum(Reg.RSP), oldSs = this.ss, oldCs = this.cs, rflags = this.getRflags();
      let rsp = oldRsp;
      const newCpl = sel & 3;
      const ist = w1 & 7;
      if (this.tr !== 0 && (ist !== 0 || (this.cpl === 3 && newCpl === 0))) rsp = this.tssStack(ist);
      else if (this.cpl === 3 && newCpl === 0) rsp = this.rsp0;
      rsp -= rsp - Math.floor(rsp / 16) * 16; // align down to 16 (works for negative numbers)
      // push SS, RSP, RFLAGS, CS, RIP [, error]
      const vals: number[] = [oldSs, oldRsp, rflags, oldCs, this.rip];
      if (errorCode !== undefined) vals.push(errorCode >>> 0);
      // Check every stack write before the first one so a failed delivery changes nothing.
      for (let k = 0; k < vals.length; k++) m.translate(rsp - 8 * (k + 1), 1);
      for (let k = 0; k < vals.length; k++) {
        rsp -= 8;
        const v = vals[k];
        m.w64(rsp, v >>> 0, Math.floor(v / TWO32) >>> 0);
      }
      // A frame interrupting kernel code is recorded until its iret (frames.ts: the optimizer's question).
      if ((oldCs & 3) === 0) this.#frames.push(rsp + (errorCode !== undefined ? 8 : 0), this.rip, this.id);
      if (this.cpl !== newCpl) this.ss = newCpl; // 64-bit mode loads a NULL SS on a privilege change
      this.setRegNum(Reg.RSP, rsp);
      this.cs = sel;
      this.setCpl(newCpl);
      this.rip = target;
      this.tf = 0;
      this.fmisc &= ~(0x4000 | 0x10000); // NT, RF
      if (type === 0xe) this.if_ = 0;
      this.halted = false;
      return true;
    } catch (e) {
      if (e !== FAULT) throw e;
      m.setUser(savedUser); m.cur = savedCur;
      this.stopText = `fault (vector ${this.trapVector}, address ${hex0x(this.faultAddr)}) while delivering vector ${vector}`;
      return false;
    }
  }

  /**
   * The stack an interrupt switches to when a task register is loaded (ltr; a real kernel's TSS, SDM
   * Vol. 3A 7.7 "Task Management in 64-bit Mode"): IST `ist` (1-7), or RSP0 (ist 0) on a change to
   * CPL 0. Read from the TSS in guest memory through the GDT's 16-byte TSS descriptor. Without a task
   * register (ktrace-pc), MSR_KTPC_RSP0 stands for RSP0.
   */
  private tssStack(ist: number): number {
    const m = this.mem;
    const d = this.gdtBase + (this.tr & ~7);
    const lo = m.r32(d), w1 = m.r32(d + 4), hi = m.r32(d + 8);
    const base = (hi | 0) * TWO32 + ((((w1 >>> 24) << 24) | ((w1 & 0xff) << 16) | (lo >>> 16)) >>> 0);
    const at = base + (ist === 0 ? 4 : 0x24 + 8 * (ist - 1));
    const a = m.r32(at), b = m.r32(at + 4);
    return (b | 0) * TWO32 + a;
  }

  /** Record a fault for the current instruction and unwind (used by instruction helpers). */
  fault(vector: number, errorCode = 0, text = ''): never {
    this.trapVector = vector; this.errorCode = errorCode; this.faultAddr = 0;
    if (text) this.stopText = text;
    throw FAULT;
  }
  gp(text = ''): never { return this.fault(VEC_GP, 0, text); }
}

export { PAGE_PROBE, CANON_HI, CANON_LO, ARITH };
