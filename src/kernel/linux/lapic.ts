// The local APIC in xAPIC mode (memory-mapped at 0xfee00000, SDM Vol. 3A ch. 10), one per CPU, and the
// MP table that tells Linux about the CPUs (Intel MultiProcessor Specification 1.4, ch. 4), for real
// Linux on more than one CPU. What Linux 6.1 uses of it: the ID, version, TPR, LDR/DFR (flat logical
// mode), SVR, the LVTs, ESR, EOI, the ICR (fixed IPIs by physical or logical destination and by
// shorthand; INIT and start-up IPIs that start an application processor at Linux's real-mode
// trampoline) and the timer in TSC-deadline mode (IA32_TSC_DEADLINE, CPUID.1:ECX[24]), also one-shot
// and periodic at the crystal clock of CPUID 0x15. Interrupts are accepted into the CPU's pending
// vectors (delivered in priority order when IF=1); the APIC's in-service and request registers are
// not modelled (they read as 0), so an EOI has nothing to clear.
//
// The guest reaches the registers through a page of its own tables that points at 0xfee00000, outside
// RAM: each access faults, and the platform runs the faulting `mov` here (mmio), as a device model does.
import { decodeAt, Mnemonic, OpKind, Register } from '../../emu/iced.js';
import type { Cpu } from '../../emu/cpu.js';

export const LAPIC_PHYS = 0xfee00000;
/** The local APIC's version register: version 0x14 (integrated), 6 LVT entries (max LVT 5), as QEMU's. */
const APIC_VERSION = 0x00050014;

/** ICR delivery modes (bits 8-10). */
const DM_FIXED = 0, DM_LOWEST = 1, DM_NMI = 4, DM_INIT = 5, DM_STARTUP = 6;

export interface LapicHost {
  /** The CPUs, by APIC ID = CPU index, and their APICs. */
  cpus: readonly Cpu[];
  lapics: readonly Lapic[];
  /** INIT (assert) to CPU `c`: it waits for a start-up IPI. */
  init(c: Cpu): void;
  /** A start-up IPI with `vector` from CPU `from` to CPU `c` (ignored unless it waits for one). */
  startup(c: Cpu, vector: number, from: Cpu): void;
  /** Something the model does not do (one-line error; the run ends). */
  fatal(c: Cpu, text: string): void;
  /** The timer deadline of `c` changed: re-arm its next timer event. */
  rearm(c: Cpu): void;
  /** The crystal clock (CPUID 0x15) in Hz: the APIC timer's input before its divider. */
  busHz: number;
  /** Fixed IPIs sent, by vector (statistics: not guest state). */
  ipis?: Map<number, number>;
}

export class Lapic {
  tpr = 0; ldr = 0; dfr = 0xffffffff; svr = 0xff; esr = 0; icrLo = 0; icrHi = 0;
  /** LVT timer, thermal, performance, LINT0, LINT1, error (registers 0x320..0x370): masked at reset. */
  lvt = [0x10000, 0x10000, 0x10000, 0x10000, 0x10000, 0x10000];
  tmict = 0; tdcr = 0;
  /** The emulated time (this CPU's clock) the one-shot/periodic count was loaded. */
  tstart = 0;
  /** IA32_TSC_DEADLINE (0: disarmed). */
  deadline = 0;
  /** When the timer fires next on this CPU's clock (Infinity: not armed). */
  next = Infinity;

  constructor(readonly id: number) {}

  save(): number[] { return [this.tpr, this.ldr, this.dfr, this.svr, this.esr, this.icrLo, this.icrHi, ...this.lvt, this.tmict, this.tdcr, this.tstart, this.deadline, this.next === Infinity ? -1 : this.next]; }
  load(s: number[]): void {
    [this.tpr, this.ldr, this.dfr, this.svr, this.esr, this.icrLo, this.icrHi] = s;
    this.lvt = s.slice(7, 13);
    [this.tmict, this.tdcr, this.tstart, this.deadline] = s.slice(13, 17);
    this.next = s[17] === -1 ? Infinity : s[17];
  }

  private get timerMode(): number { return (this.lvt[0] >>> 17) & 3; }
  /** Timer input ns per count: the bus clock divided by TDCR (bits 0, 1, 3: 2, 4, ..., 128, or 1). */
  private nsPerCount(h: LapicHost): number {
    const code = (this.tdcr & 3) | ((this.tdcr >> 1) & 4);
    const div = code === 7 ? 1 : 2 << code;
    return (1e9 / h.busHz) * div;
  }

  read(c: Cpu, off: number, h: LapicHost): number {
    switch (off) {
      case 0x20: return (this.id << 24) >>> 0;
      case 0x30: return APIC_VERSION;
      case 0x80: case 0xa0: return this.tpr;      // TPR; PPR (nothing in service)
      case 0x90: return 0;                        // APR
      case 0xd0: return this.ldr;
      case 0xe0: return this.dfr;
      case 0xf0: return this.svr;
      case 0x280: return this.esr;
      case 0x300: return this.icrLo & ~0x1000;    // delivery status: idle (sent at once)
      case 0x310: return this.icrHi;
      case 0x380: return this.tmict;
      case 0x390: {                               // current count
        if (this.tmict === 0 || this.timerMode === 2) return 0;
        const done = Math.floor((c.clock() - this.tstart) / this.nsPerCount(h));
        if (this.timerMode === 1) return this.tmict - (done % this.tmict);
        return Math.max(0, this.tmict - done);
      }
      case 0x3e0: return this.tdcr;
      default:
        if (off >= 0x320 && off <= 0x370 && (off & 0xf) === 0) return this.lvt[(off - 0x320) >> 4];
        return 0; // ISR, TMR, IRR (not modelled), reserved
    }
  }

  write(c: Cpu, off: number, v: number, h: LapicHost): void {
    v >>>= 0;
    switch (off) {
      case 0x80: this.tpr = v & 0xff; return;
      case 0xb0: return;                          // EOI: nothing is held in service
      case 0xd0: this.ldr = v & 0xff000000; return;
      case 0xe0: this.dfr = v | 0x0fffffff; return;
      case 0xf0: this.svr = v & 0x13ff; return;
      case 0x280: this.esr = 0; return;
      case 0x310: this.icrHi = v; return;
      case 0x300: this.icrLo = v; this.send(c, h); return;
      case 0x380: this.tmict = v; this.tstart = c.clock(); this.arm(c, h); return;
      case 0x3e0: this.tdcr = v & 0xb; return;
      case 0x20: case 0x30: return;               // ID, version: read-only here
      default:
        if (off >= 0x320 && off <= 0x370 && (off & 0xf) === 0) {
          const i = (off - 0x320) >> 4;
          const was = this.timerMode;
          this.lvt[i] = v;
          if (i === 0) {
            if (was === 2 && this.timerMode !== 2) this.deadline = 0;
            this.arm(c, h);
          }
          return;
        }
        return;
    }
  }

  /** IA32_TSC_DEADLINE written (TSC = this CPU's clock in ns: 1 GHz). Ignored outside deadline mode. */
  writeDeadline(c: Cpu, v: number, h: LapicHost): void {
    this.deadline = this.timerMode === 2 ? v : 0;
    this.arm(c, h);
  }

  private arm(c: Cpu, h: LapicHost): void {
    if (this.timerMode === 2) this.next = this.deadline === 0 ? Infinity : this.deadline;
    else if (this.tmict === 0) this.next = Infinity;
    else this.next = this.tstart + this.tmict * this.nsPerCount(h);
    h.rearm(c);
  }

  /** The timer reached `next` on c's clock: raise its vector (unless masked) and arm the next period. */
  fire(c: Cpu, h: LapicHost): void {
    const lvt = this.lvt[0];
    if (this.timerMode === 2) { this.deadline = 0; this.next = Infinity; }
    else if (this.timerMode === 1 && this.tmict > 0) {
      const period = this.tmict * this.nsPerCount(h);
      this.tstart = this.next;
      this.next = Math.max(this.next + period, c.clock() + 1);
    } else this.next = Infinity;
    if (!(lvt & 0x10000) && (this.svr & 0x100)) c.raise(lvt & 0xff);
  }

  /** The ICR low word was written: send the IPI it describes. */
  private send(from: Cpu, h: LapicHost): void {
    const lo = this.icrLo, mode = (lo >>> 8) & 7, vector = lo & 0xff;
    const shorthand = (lo >>> 18) & 3, logical = (lo & 0x800) !== 0, dest = this.icrHi >>> 24;
    let targets: Cpu[];
    switch (shorthand) {
      case 1: targets = [from]; break;
      case 2: targets = h.cpus.slice(); break;
      case 3: targets = h.cpus.filter((c) => c !== from); break;
      default:
        if (logical) targets = h.cpus.filter((c) => ((h.lapics[c.id].ldr >>> 24) & dest) !== 0);
        else targets = dest === 0xff ? h.cpus.slice() : h.cpus.filter((c) => c.id === dest);
    }
    switch (mode) {
      case DM_FIXED:
        for (const t of targets) t.raise(vector);
        h.ipis?.set(vector, (h.ipis.get(vector) ?? 0) + targets.length);
        return;
      case DM_LOWEST: if (targets.length) targets[0].raise(vector); return;
      case DM_INIT:
        // INIT level de-assert (level 0, level-triggered) only synchronises arbitration IDs
        if ((lo & 0xc000) === 0x8000) return;
        for (const t of targets) h.init(t);
        return;
      case DM_STARTUP: for (const t of targets) h.startup(t, vector, from); return;
      // Linux 6.1 sends NMIs only to stop CPUs that ignored the reboot IPI (native_stop_other_cpus, on panic
      // or shutdown) and for all-CPU backtraces (sysrq, RCU stalls, lockup detectors): none on its way here
      case DM_NMI: h.fatal(from, `CPU ${from.id} sent an NMI IPI (ICR 0x${hex8(this.icrHi)}${hex8(lo)}: ${destText(shorthand, logical, dest, targets)}); NMI delivery is not emulated`); return;
      default: h.fatal(from, `CPU ${from.id} sent an IPI with delivery mode ${mode} (ICR 0x${hex8(this.icrHi)}${hex8(lo)}: ${destText(shorthand, logical, dest, targets)}); that mode is not emulated`);
    }
  }
}

const hex8 = (v: number): string => (v >>> 0).toString(16).padStart(8, '0');
/** An IPI's destination as the ICR gives it, and the CPUs that makes. */
function destText(shorthand: number, logical: boolean, dest: number, targets: readonly Cpu[]): string {
  const to = ['', 'itself', 'all CPUs', 'all CPUs but itself'][shorthand] ||
    (logical ? `logical destination 0x${dest.toString(16)}` : dest === 0xff ? 'broadcast' : `APIC ID ${dest}`);
  return `to ${to}: ${targets.length ? targets.map((t) => `CPU ${t.id}`).join(', ') : 'no CPU'}`;
}

/**
 * Run the instruction at c.rip that faulted on the APIC page (`pa` is the physical address it touched):
 * a 32-bit `mov` to or from the register, as Linux's native_apic_mem_read/write make. False: another
 * instruction (the caller reports it).
 */
export function lapicAccess(c: Cpu, code: Uint8Array, pa: number, apic: Lapic, h: LapicHost): boolean {
  const i = decodeAt(code, 0);
  if (i.mnemonic !== Mnemonic.Mov || i.opCount !== 2) return false;
  const off = pa - LAPIC_PHYS;
  const gpr = (r: number): number => (r >= Register.EAX && r <= Register.R15D ? r - Register.EAX : -1);
  if (i.opKind(0) === OpKind.Memory) {
    let v: number;
    if (i.opKind(1) === OpKind.Register) { const g = gpr(i.opRegister(1)); if (g < 0) return false; v = c.regs[2 * g]; }
    else if (i.opKind(1) === OpKind.Immediate32) v = i.immediate32 >>> 0;
    else return false;
    c.rip += i.length;
    apic.write(c, off, v, h);
  } else if (i.opKind(1) === OpKind.Memory && i.opKind(0) === OpKind.Register) {
    const g = gpr(i.opRegister(0));
    if (g < 0) return false;
    c.regs[2 * g] = apic.read(c, off, h) >>> 0; c.regs[2 * g + 1] = 0;
    c.rip += i.length;
  } else return false;
  c.instret++;
  return true;
}

/**
 * The MP floating pointer structure and configuration table (MP spec 1.4, 4.1 and 4.2) for `cpus`
 * processors (APIC IDs 0..cpus-1, CPU 0 the bootstrap processor) and an ISA bus, with the local APIC at
 * LAPIC_PHYS, to be placed at physical `at` (16-byte aligned, where Linux's smp_scan_config looks: the
 * BIOS area 0xf0000-0xfffff). `signature` and `features` are CPUID.1's EAX and EDX.
 */
export function mpTable(at: number, cpus: number, signature: number, features: number): Uint8Array {
  const entries: Uint8Array[] = [];
  for (let i = 0; i < cpus; i++) {
    const e = new Uint8Array(20), v = new DataView(e.buffer);
    e[0] = 0; e[1] = i; e[2] = APIC_VERSION & 0xff; e[3] = 1 | (i === 0 ? 2 : 0); // enabled; BSP
    v.setUint32(4, signature >>> 0, true); v.setUint32(8, features >>> 0, true);
    entries.push(e);
  }
  entries.push(Uint8Array.of(1, 0, ...Buffer.from('ISA   ', 'latin1')));
  const body = Buffer.concat(entries);
  const hdr = new Uint8Array(44), hv = new DataView(hdr.buffer);
  hdr.set(Buffer.from('PCMP', 'latin1'), 0);
  hv.setUint16(4, 44 + body.length, true);
  hdr[6] = 4; // spec revision 1.4
  hdr.set(Buffer.from('KTRACE  ', 'latin1'), 8);
  hdr.set(Buffer.from('KTRACE-PC   ', 'latin1'), 16);
  hv.setUint16(34, cpus + 1, true);
  hv.setUint32(36, LAPIC_PHYS, true);
  const table = Buffer.concat([hdr, body]);
  table[7] = checksum(table);
  const fp = new Uint8Array(16), fv = new DataView(fp.buffer);
  fp.set(Buffer.from('_MP_', 'latin1'), 0);
  fv.setUint32(4, at + 16, true); // the configuration table follows the pointer
  fp[8] = 1; fp[9] = 4;            // length in 16-byte units; spec 1.4; feature bytes 0: a table, no IMCR
  fp[10] = checksum(fp);
  return Buffer.concat([fp, table]);
}

function checksum(b: Uint8Array): number {
  let s = 0;
  for (const x of b) s = (s + x) & 0xff;
  return (0x100 - s) & 0xff;
}
