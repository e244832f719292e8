// The kprobes API in the shapes and names of Documentation/trace/kprobes.rst ("API Reference"), for
// library users and handler scripts: struct kprobe / struct kretprobe / struct kretprobe_instance as
// plain objects with the kernel's field names (symbol_name, pre_handler, entry_handler, data_size,
// maxactive, nmissed, ...), and register_kprobe, unregister_kprobe, register_kprobes,
// unregister_kprobes, register_kretprobe(s), unregister_kretprobe(s), enable_kprobe, disable_kprobe,
// enable_kretprobe, disable_kretprobe returning 0 or a negative errno. The core (kprobes.ts,
// kretprobe.ts) writes addr, flags, nmissed and maxactive back into the caller's objects, as the
// kernel writes into the caller's structs.
//
// Guest memory from a handler: copy_from_kernel_nofault / strncpy_from_kernel_nofault (and the
// readKernel / readKernelString conveniences) never end the run. A fault there is offered to the
// running probe's fault_handler with the trap number (14: #PF, 13: #GP for a non-canonical address)
// and counted in its nmissed, as kprobe_fault_handler did for faults inside handlers; then the
// exception-table fixup makes the copy return -EFAULT. A plain read of unmapped memory (the
// emulator's host access, the equivalent of a raw dereference) goes to the fault_handler too, and
// oopses when no fault_handler takes it (kprobes.ts handlerFailed).
//
// Budget: every safe read counts against `readBudget` per handler call; past it the reader throws
// HandlerBudgetExceeded, a deterministic bound on a handler that loops over guest memory.
import { KPROBE_FLAG_DISABLED, registerBatch, type Kprobe, type KprobeManager } from './kprobes.js';
import type { Kretprobe, KretprobeInstance, KretprobeManager } from './kretprobe.js';
import type { PtRegs } from './regs.js';
import type { Cpu } from '../emu/cpu.js';
import { EFAULT, EINVAL } from '../base/errno.js';

const PF = 14, GP = 13;

/** struct pt_regs (x86-64 names: ip, sp, bp, ax, bx, cx, dx, si, di, r8..r15, flags). */
export type pt_regs = PtRegs;

/** struct kprobe (include/linux/kprobes.h). Addresses are JS numbers in signed canonical form. */
export interface kprobe {
  symbol_name?: string;
  /** Set by register_kprobe to the resolved address; cleared by unregistering a never-registered probe. */
  addr?: number;
  offset?: number;
  /** Return 0 (or nothing) unless you changed regs.ip: then non-zero, and no single-step or post_handler. */
  pre_handler?: (p: kprobe, regs: pt_regs) => number | boolean | void;
  post_handler?: (p: kprobe, regs: pt_regs, flags: number) => void;
  /** A fault in pre_handler/post_handler or while single-stepping; trapnr 13 #GP, 14 #PF. Return 1 when handled. */
  fault_handler?: (p: kprobe, regs: pt_regs, trapnr: number) => number | boolean | void;
  /** KPROBE_FLAG_DISABLED before registering: registered but disabled. */
  flags?: number;
  nmissed?: number;
}

/** struct kretprobe_instance as handlers see it. */
export interface kretprobe_instance {
  readonly rp: kretprobe;
  /** The real return address. */
  readonly ret_addr: number;
  /** The guest task_struct address of the task that made the call. */
  readonly task: number;
  /** data_size bytes private to this instance (entry_handler → handler). */
  readonly data: Uint8Array;
}

/** struct kretprobe. */
export interface kretprobe {
  kp: kprobe;
  handler?: (ri: kretprobe_instance, regs: pt_regs) => number | void;
  /** Non-zero: this call is not probed (no handler when it returns). */
  entry_handler?: (ri: kretprobe_instance, regs: pt_regs) => number | boolean | void;
  data_size?: number;
  /** <= 0 or unset: the default, max(10, 2*NR_CPUS) on this preemptible kernel. Set by register_kretprobe. */
  maxactive?: number;
  nmissed?: number;
}

/** Thrown by a safe reader past its per-call budget. */
export class HandlerBudgetExceeded extends Error {}

/** What happens to an exception a handler throws (other than a fault the core handles). */
export type HandlerErrorPolicy = 'oops' | 'contain';

export interface KprobesApiOptions {
  /** Safe reads per handler call (default 1,000,000). */
  readBudget?: number;
  /**
   * 'oops' (default): a handler that throws oopses the kernel, as a buggy handler module would.
   * 'contain': the hit counts in that probe's nmissed, the error is recorded in `errors`, the run goes on.
   */
  onHandlerError?: HandlerErrorPolicy;
  /** Wraps every call into user code (a host-time watchdog, for instance). */
  invoke?: <T>(fn: () => T) => T;
}

/** A probe's handler error, as recorded under onHandlerError: 'contain'. */
export interface HandlerError { probe: string; handler: string; message: string; count: number }

interface Bound { kp: Kprobe; user: kprobe }
interface RpBound { rp: Kretprobe; user: kretprobe }

/** The kprobes API over one kernel's KprobeManager and KretprobeManager. */
export class KprobesApi {
  private readonly kps = new WeakMap<kprobe, Bound>();
  private readonly rps = new WeakMap<kretprobe, RpBound>();
  private readonly ris = new WeakMap<KretprobeInstance, kretprobe_instance>();
  /** The CPU whose handler is running (safe readers offer their faults to its probe). */
  private cpu: Cpu | null = null;
  private reads = 0;
  readonly readBudget: number;
  readonly policy: HandlerErrorPolicy;
  private readonly invoke: <T>(fn: () => T) => T;
  /** Handler errors under 'contain', one entry per probe and handler, in first-seen order. */
  readonly errors: HandlerError[] = [];

  constructor(readonly mgr: KprobeManager, readonly krm: KretprobeManager, opts: KprobesApiOptions = {}) {
    this.readBudget = opts.readBudget ?? 1_000_000;
    this.policy = opts.onHandlerError ?? 'oops';
    this.invoke = opts.invoke ?? ((fn) => fn());
  }

  /** The CPU whose handler is running, if any. */
  protected get handlerCpu(): Cpu | null { return this.cpu; }

  /** The reason for the last refusal (register/enable/disable), kernel-log style. */
  get lastError(): string { return this.mgr.lastError.reason || this.krm.lastError.reason; }

  // ---------------------------------------------------------------- kprobes

  register_kprobe(p: kprobe): number {
    // warn_kprobe_rereg (a second adapter would look like another probe to the core)
    if (this.kps.has(p)) { this.mgr.lastError = { ok: false, errno: -EINVAL, reason: 'this kprobe is already registered' }; return -EINVAL; }
    const b = this.bind(p);
    const rc = this.mgr.registerKprobe(b.kp);
    if (rc < 0) this.kps.delete(p);
    return rc;
  }
  unregister_kprobe(p: kprobe): void { this.unregister_kprobes([p]); }
  /** register_kprobes(kps, num): all or nothing. */
  register_kprobes(kps: kprobe[], num = kps.length): number {
    return registerBatch(kps, num, (p) => this.register_kprobe(p), (n) => this.unregister_kprobes(kps, n), this.mgr);
  }
  /** unregister_kprobes: a probe that was not registered gets its addr cleared (kernel/kprobes.c). */
  unregister_kprobes(kps: kprobe[], num = kps.length): void {
    for (let i = 0; i < num; i++) {
      const p = kps[i], b = this.kps.get(p);
      if (!b) { p.addr = undefined; continue; }
      this.mgr.unregisterKprobe(b.kp);
      this.kps.delete(p);
    }
  }
  enable_kprobe(p: kprobe): number { const b = this.kps.get(p); return b ? this.mgr.enableKprobe(b.kp) : -EINVAL; }
  disable_kprobe(p: kprobe): number { const b = this.kps.get(p); return b ? this.mgr.disableKprobe(b.kp) : -EINVAL; }

  // ---------------------------------------------------------------- kretprobes

  register_kretprobe(rp: kretprobe): number {
    if (this.rps.has(rp)) { this.krm.lastError = { ok: false, errno: -EINVAL, reason: 'this kretprobe is already registered' }; return -EINVAL; }
    const kp = this.adapt(rp.kp);
    const r: Kretprobe = {
      kp,
      dataSize: rp.data_size,
      get maxactive() { return rp.maxactive; }, set maxactive(v) { rp.maxactive = v; },
      get nmissed() { return rp.nmissed; }, set nmissed(v) { rp.nmissed = v; },
    };
    const h = rp.handler, eh = rp.entry_handler;
    if (h) r.handler = (ri, regs) => this.call(regs.cpu, () => h(this.instance(ri, rp), regs), rp.kp, 'handler', 0);
    if (eh) r.entryHandler = (ri, regs) => this.call(regs.cpu, () => eh(this.instance(ri, rp), regs), rp.kp, 'entry_handler', 1);
    const rc = this.krm.registerKretprobe(r);
    if (rc < 0) return rc;
    this.rps.set(rp, { rp: r, user: rp });
    this.kps.set(rp.kp, { kp, user: rp.kp });
    return 0;
  }
  unregister_kretprobe(rp: kretprobe): void { this.unregister_kretprobes([rp]); }
  register_kretprobes(rps: kretprobe[], num = rps.length): number {
    return registerBatch(rps, num, (rp) => this.register_kretprobe(rp), (n) => this.unregister_kretprobes(rps, n), this.krm);
  }
  unregister_kretprobes(rps: kretprobe[], num = rps.length): void {
    for (let i = 0; i < num; i++) {
      const rp = rps[i], b = this.rps.get(rp);
      if (!b) { rp.kp.addr = undefined; continue; }
      this.krm.unregisterKretprobe(b.rp);
      this.rps.delete(rp);
      this.kps.delete(rp.kp);
    }
  }
  enable_kretprobe(rp: kretprobe): number { const b = this.rps.get(rp); return b ? this.krm.enableKretprobe(b.rp) : -EINVAL; }
  disable_kretprobe(rp: kretprobe): number { const b = this.rps.get(rp); return b ? this.krm.disableKretprobe(b.rp) : -EINVAL; }

  // ---------------------------------------------------------------- guest memory

  /** copy_from_kernel_nofault: 0, or -EFAULT (the fault offered to the running probe's fault_handler first). */
  copy_from_kernel_nofault(dst: Uint8Array, src: number | bigint, size: number): number {
    const a = typeof src === 'bigint' ? Number(BigInt.asIntN(64, src)) : src;
    this.charge();
    const mem = this.mgr.machine.mem;
    // copy_from_kernel_nofault_allowed: kernel addresses only; a non-canonical one is a #GP
    if (a >= 0 || a < -0x800000000000) return this.fault(a >= 0x800000000000 || a < -0x800000000000 ? GP : PF);
    for (let i = 0; i < size; i += 4096 - ((a + i) & 4095)) if (!mem.permsAt(a + i)) return this.fault(PF);
    if (size > 0 && !mem.permsAt(a + size - 1)) return this.fault(PF);
    dst.set(mem.readBytes(a, size));
    return 0;
  }
  /** strncpy_from_kernel_nofault: the string's length including its NUL (count if none fits), or -EFAULT. */
  strncpy_from_kernel_nofault(dst: Uint8Array, src: number | bigint, count: number): number {
    const a = typeof src === 'bigint' ? Number(BigInt.asIntN(64, src)) : src;
    const one = new Uint8Array(1);
    for (let i = 0; i < count; i++) {
      const rc = this.copy_from_kernel_nofault(one, a + i, 1);
      if (rc) { if (count > 0) dst[0] = 0; return rc; }
      dst[i] = one[0];
      if (one[0] === 0) return i + 1;
    }
    if (count > 0) dst[count - 1] = 0;
    return count;
  }
  /** A little-endian unsigned value of 1, 2, 4 or 8 bytes, or undefined on a fault. */
  readKernel(addr: number | bigint, size: 1 | 2 | 4 | 8 = 8): bigint | undefined {
    const b = new Uint8Array(size);
    if (this.copy_from_kernel_nofault(b, addr, size)) return undefined;
    let v = 0n;
    for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    return v;
  }
  /** A NUL-terminated string of at most max-1 characters, or undefined on a fault. */
  readKernelString(addr: number | bigint, max = 256): string | undefined {
    const b = new Uint8Array(max);
    const n = this.strncpy_from_kernel_nofault(b, addr, max);
    if (n < 0) return undefined;
    return String.fromCharCode(...b.subarray(0, b.indexOf(0) < 0 ? max : b.indexOf(0)));
  }

  // ---------------------------------------------------------------- internals

  private charge(): void {
    if (this.cpu && ++this.reads > this.readBudget) throw new HandlerBudgetExceeded(`more than ${this.readBudget} guest-memory reads in one handler call`);
  }

  /** A fault inside a nofault copy: kprobe_fault_handler's HIT_ACTIVE path, then the fixup. */
  private fault(trapnr: number): number {
    if (this.cpu) this.mgr.handlerFault(this.cpu, trapnr);
    return -EFAULT;
  }

  private bind(p: kprobe): Bound {
    const b = { kp: this.adapt(p), user: p };
    this.kps.set(p, b);
    return b;
  }

  /** The core's Kprobe over the user's struct: fields read and written through, handlers wrapped. */
  private adapt(p: kprobe): Kprobe {
    const kp: Kprobe = {
      get symbolName() { return p.symbol_name; }, set symbolName(v) { p.symbol_name = v; },
      get addr() { return p.addr; }, set addr(v) { p.addr = v; },
      get offset() { return p.offset; }, set offset(v) { p.offset = v; },
      get flags() { return p.flags; }, set flags(v) { p.flags = v; },
      get nmissed() { return p.nmissed; }, set nmissed(v) { p.nmissed = v; },
    };
    const pre = p.pre_handler, post = p.post_handler, fh = p.fault_handler;
    if (pre) kp.preHandler = (_k, regs) => this.call(regs.cpu, () => pre(p, regs), p, 'pre_handler', 0) as number | boolean | void;
    if (post) kp.postHandler = (_k, regs, flags) => { this.call(regs.cpu, () => post(p, regs, flags), p, 'post_handler', undefined); };
    if (fh) kp.faultHandler = (_k, regs, trapnr) => this.call(regs.cpu, () => fh(p, regs, trapnr), p, 'fault_handler', 0) as number | boolean | void;
    return kp;
  }

  private instance(ri: KretprobeInstance, rp: kretprobe): kretprobe_instance {
    let u = this.ris.get(ri);
    if (!u) {
      u = { rp, get ret_addr() { return ri.retAddr; }, get task() { return ri.task; }, get data() { return ri.data; } };
      this.ris.set(ri, u);
    }
    return u;
  }

  /** Run user code for a hit on `cpu`; under 'contain' an exception is counted on the probe instead. */
  private call<T>(cpu: Cpu, fn: () => T, p: kprobe, handler: string, onError: T): T {
    const outer = this.cpu, reads = this.reads;
    this.cpu = cpu; this.reads = 0;
    try {
      return this.invoke(fn);
    } catch (e) {
      if (this.policy === 'oops') throw e;
      p.nmissed = (p.nmissed ?? 0) + 1;
      this.record(p, handler, e);
      return onError;
    } finally { this.cpu = outer; this.reads = reads; }
  }

  private record(p: kprobe, handler: string, e: unknown): void {
    const probe = p.symbol_name !== undefined ? `${p.symbol_name}${p.offset ? `+${p.offset}` : ''}` : this.mgr.image.formatAddr(p.addr ?? 0);
    const message = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    const old = this.errors.find((x) => x.probe === probe && x.handler === handler);
    if (old) old.count++; else this.errors.push({ probe, handler, message, count: 1 });
  }
}

export { KPROBE_FLAG_DISABLED };
