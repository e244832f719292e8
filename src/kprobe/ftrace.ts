// Ftrace-based kprobes (arch/x86/kernel/kprobes/ftrace.c, CONFIG_KPROBES_ON_FTRACE). A kernel built with
// -mfentry -mrecord-mcount -mnop-mcount starts each traced function with a 5-byte nop listed in
// __mcount_loc. A kprobe on such a site never uses an int3: the nop becomes a call to an ftrace
// trampoline (PAGE_PROBE memory) whose host call runs kprobe_ftrace_handler and returns past the nop.
// An address inside the nop is not an instruction boundary and is refused with -EILSEQ by the core,
// as arch_check_ftrace_location does.
//
// Accounting: the call at the site retires once in cpu.instret, standing for the nop; the trampoline is
// probe overhead; the host call resumes directly after the nop (so the trampoline's ret never runs).
import type { Cpu } from '../emu/cpu.js';
import { guestPop } from '../emu/guest.js';
import type { KprobeManager, ProbePoint } from './kprobes.js';
import { relCall } from './detour.js';

/** MCOUNT_INSN_SIZE on x86. */
export const MCOUNT_INSN_SIZE = 5;

export class FtraceProbes {
  readonly sites: Set<number>;
  /** The trampoline (ftrace_regs_caller for kprobes): vmcall; ret. */
  readonly trampoline: number;
  private readonly vmcallAt: number;
  /** Sites whose nop is now a call. */
  readonly patched = new Set<number>();

  constructor(readonly mgr: KprobeManager) {
    this.sites = new Set(mgr.image.mcountSites);
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
    this.mgr.machine.mem.writeBytes(pp.addr, relCall(pp.addr, this.trampoline));
    this.patched.add(pp.addr);
    return true;
  }

  /** disarm_kprobe_ftrace: the nop is back. */
  disarm(pp: ProbePoint): boolean {
    if (!this.patched.has(pp.addr)) return false;
    this.patched.delete(pp.addr);
    this.mgr.machine.mem.writeBytes(pp.addr, this.nop(pp.addr));
    return true;
  }

  private nopCache = new Map<number, Uint8Array>();
  private nop(addr: number): Uint8Array {
    let b = this.nopCache.get(addr);
    if (!b) { b = this.mgr.image.read(addr, MCOUNT_INSN_SIZE)!.slice(); this.nopCache.set(addr, b); }
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
