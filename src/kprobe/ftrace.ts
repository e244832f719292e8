// Ftrace-based kprobes (arch/x86/kernel/kprobes/ftrace.c, CONFIG_KPROBES_ON_FTRACE). A kernel built with
// -mfentry -mrecord-mcount -mnop-mcount starts each traced function with a 5-byte nop listed in
// __mcount_loc. A kprobe on such a site never uses an int3: the nop becomes a call to an ftrace
// trampoline (PAGE_PROBE memory) whose host call runs kprobe_ftrace_handler and returns past the nop.
// An address inside the nop is not an instruction boundary and is refused with -EILSEQ by the core,
// as arch_check_ftrace_location does.
//
// Linux's x86 build leaves each site a `call __fentry__` for the kernel itself to turn into a nop at boot
// (ftrace_init, which first checks the call is still there: ftrace_verify_code). A kprobe registered
// before that, as ktrace's probes are (armed at the machine's first instruction), waits: the site is
// patched at the first slice boundary after the kernel has put its nop there, as a real kprobe can only
// be registered once ftrace is up. Until then the site calls __fentry__ as the unprobed kernel does.
//
// Accounting: the call at the site retires once in cpu.instret, standing for the nop; the trampoline is
// probe overhead; the host call resumes directly after the nop (so the trampoline's ret never runs).
import type { Cpu } from '../emu/cpu.js';
import { guestPop } from '../emu/guest.js';
import type { KprobeManager, ProbePoint } from './kprobes.js';
import { relCall } from './detour.js';
import { mcountSet } from './check.js';

/** MCOUNT_INSN_SIZE on x86. */
export const MCOUNT_INSN_SIZE = 5;
/** The 5-byte nop ftrace puts at a site (x86_nops[5], BYTES_NOP5: nopl 0x0(%rax,%rax,1)). */
const NOP5 = Uint8Array.of(0x0f, 0x1f, 0x44, 0x00, 0x00);

export class FtraceProbes {
  readonly sites: ReadonlySet<number>;
  /** The trampoline (ftrace_regs_caller for kprobes): vmcall; ret. */
  readonly trampoline: number;
  private readonly vmcallAt: number;
  /** Sites whose nop is now a call. */
  readonly patched = new Set<number>();
  /** Armed sites still holding the kernel's `call __fentry__` (ftrace not initialised yet). */
  readonly waiting = new Set<number>();

  constructor(readonly mgr: KprobeManager) {
    this.sites = mcountSet(mgr.image);
    const page = mgr.slots.allocArea(1);
    this.trampoline = page;
    this.vmcallAt = page;
    mgr.machine.mem.writeBytes(page, Uint8Array.of(0x0f, 0x01, 0xc1, 0xc3)); // vmcall; ret
  }

  /** ftrace_location(addr) === addr. */
  isSite(addr: number): boolean { return this.sites.has(addr); }

  /** arm_kprobe_ftrace: the nop becomes `call trampoline`. */
  arm(pp: ProbePoint): boolean {
    if (!this.sites.has(pp.addr)) return false;
    pp.ftrace = true;
    if (!this.holdsNop(pp.addr)) {
      this.waiting.add(pp.addr);
      // a boot snapshot must know of the patch to come (kernel/snapshot.ts)
      this.mgr.machine.mem.hostLog?.push({ addr: pp.addr, len: MCOUNT_INSN_SIZE, old: null, pending: true });
      return true;
    }
    this.mgr.machine.mem.writeBytes(pp.addr, relCall(pp.addr, this.trampoline));
    this.patched.add(pp.addr);
    return true;
  }

  /** Patch the waiting sites the kernel has turned into its nop by now (called between slices). */
  armWaiting(): void {
    for (const a of this.waiting) {
      if (!this.holdsNop(a)) continue;
      this.waiting.delete(a);
      this.mgr.machine.mem.writeBytes(a, relCall(a, this.trampoline));
      this.patched.add(a);
    }
  }

  private holdsNop(addr: number): boolean {
    const now = this.mgr.machine.mem.readBytes(addr, MCOUNT_INSN_SIZE), nop = this.nop(addr);
    return now.every((b, i) => b === nop[i]);
  }

  /** disarm_kprobe_ftrace: the nop is back. */
  disarm(pp: ProbePoint): boolean {
    if (this.waiting.delete(pp.addr)) return true;
    if (!this.patched.has(pp.addr)) return false;
    this.patched.delete(pp.addr);
    this.mgr.machine.mem.writeBytes(pp.addr, this.nop(pp.addr));
    return true;
  }

  private nopCache = new Map<number, Uint8Array>();
  /** The site's nop: the image's own (built with -mnop-mcount), else the one ftrace_init writes over
   *  the image's `call __fentry__`. */
  private nop(addr: number): Uint8Array {
    let b = this.nopCache.get(addr);
    if (!b) {
      b = this.mgr.image.read(addr, MCOUNT_INSN_SIZE)!.slice();
      if (b[0] === 0xe8) b = NOP5;
      this.nopCache.set(addr, b);
    }
    return b;
  }

  /** recover_probed_instruction over a patched site: the nop's bytes. */
  recover(addr: number, b: Uint8Array): void {
    if (this.patched.size === 0) return;
    for (let a = addr - MCOUNT_INSN_SIZE + 1; a < addr + b.length; a++) {
      if (!this.patched.has(a)) continue;
      const nop = this.nop(a);
      for (let i = 0; i < MCOUNT_INSN_SIZE; i++) if (a + i >= addr && a + i < addr + b.length) b[a + i - addr] = nop[i];
    }
  }

  /** The trampoline's host call; false when the vmcall is not ours. */
  handleHostCall(cpu: Cpu): boolean {
    if (cpu.faultAddr !== this.vmcallAt) return false;
    const ret = guestPop(cpu); // the trampoline returns for us
    if (ret === undefined) return false; // its stack faulted: a vmcall no one can own
    const site = ret - MCOUNT_INSN_SIZE;
    const pp = this.mgr.table.get(site);
    if (!pp || !pp.ftrace || pp.disabled) { cpu.rip = ret; return true; }
    this.mgr.ftraceHit(pp, cpu, MCOUNT_INSN_SIZE); // cpu.rip: past the nop, or where a pre_handler sent it
    return true;
  }
}
