// The machine around real Linux (the 64-bit boot protocol, Documentation/x86/boot.rst): guest-physical
// RAM, the kernel loaded at its physical address, boot_params with the e820 map, the command line and
// the initrd, CPU 0 entering startup_64 in long mode with RSI = boot_params, and the PC pieces Linux
// touches at boot (8250 UART, CMOS, PIT, 8259 PIC, CPUID leaves and MSRs as QEMU's qemu64 model
// answers them, minus what the emulator does not implement).
//
// Paging: the guest's own page tables, walked on demand (GuestMmu, mmu.ts). The loader gives
// startup_64 the identity map of RAM the protocol asks for (2 MiB pages); Linux replaces it at once.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Image } from '../../elf/image.js';
import { Stop } from '../../emu/machine.js';
import { Reg, type Cpu } from '../../emu/cpu.js';
import { PAGE_PROBE, PERM_R, PERM_X } from '../../emu/memory.js';
import { VEC_DB } from '../../base/x86.js';
import { GuestMmu, writeIdentityTables } from './mmu.js';
import { Lapic, LAPIC_PHYS, lapicAccess, mpTable, type LapicHost } from './lapic.js';
import { LegacyState, runLegacy, startupIpi, type LegacyBus } from '../../emu/legacy.js';
import { buildBootParams, E820_RAM, E820_RESERVED, type E820Entry } from './bootparams.js';
import { loadSyscall, Platform, type PlatformOptions, type PlatformState } from '../platform.js';
import { LINUX_FIXTURE_DIR } from './bundle.js';
import { LinuxUser, mmapArgs, mmapFailed, NR_MMAP, POWEROFF_PAGE, PREMAP } from './user.js';

const PAGE = 4096;
/** Physical layout below 1 MiB (Linux reserves all of it): boot_params, the command line. */
export const BOOT_PARAMS_PHYS = 0x7000;
export const CMDLINE_PHYS = 0x20000;
export const CMDLINE_MAX = 2048;
/** The boot protocol's identity page tables (PML4, PDPT, PD). */
export const BOOT_TABLES_PHYS = 0x9000;
/** The kernel is not relocatable: it runs at its link address, physical 0x1000000 (16 MiB). */
export const KERNEL_PHYS = 0x1000000;
/** __START_KERNEL_map: the kernel image's virtual base (virtual = this + physical). */
const KERNEL_MAP = -0x80000000;
/** The 8254 PIT's input clock. */
const PIT_HZ = 1193182;

/**
 * The command line: console=ttyS0 (the 8250 at 0x3f8 is the console), earlyprintk=serial (messages
 * before the 8250 driver starts), nolapic (one CPU in PIC mode: no LAPIC timer calibration, whose
 * busy-waits cost 216 M instructions).
 */
export const DEFAULT_CMDLINE = 'console=ttyS0 earlyprintk=serial nolapic';
/**
 * The command line on more than one CPU: the local APIC is on (no `nolapic`); tsc=reliable (the
 * emulator's TSCs count each CPU's own emulated time, in step to within a quantum: Linux's TSC
 * warp test would busy-wait 20 ms of emulated time on both CPUs per CPU brought up, and then judge
 * quantum-sized skews); cpu_init_udelay=0 (no 10 ms wait after INIT: CPUID says family 15);
 * lpj=4000000 (loops per jiffy of the 1 GHz TSC at HZ=250, what CPU 0 computes from CPUID 0x15: without
 * it each other CPU measures it against jiffies in calibrate_delay_direct, 78 ms of busy-waiting).
 */
export const SMP_CMDLINE = 'console=ttyS0 earlyprintk=serial tsc=reliable cpu_init_udelay=0 lpj=4000000';
/** Where the MP table goes: the start of the BIOS area Linux scans (e820-reserved). */
export const MPTABLE_PHYS = 0xf0000;
/** Real Linux's CPUs at most (the bundled kernel's CONFIG_NR_CPUS). */
export const LINUX_MAX_CPUS = 4;

export interface LinuxPlatformOptions extends PlatformOptions {
  ramBytes?: number;
  /** The initramfs (default: fixtures/linux/initramfs.cpio). */
  initrd?: Uint8Array;
  /** ktrace's /init as an ELF, for the address of its host-call stub (default: fixtures/linux/init). */
  init?: Uint8Array;
}

/** The TSC's frequency: 1 GHz, one tick per emulated nanosecond (the emulator's clock). */
export const TSC_HZ = 1_000_000_000;
/** The crystal clock CPUID 0x15 reports (TSC = crystal * 40 / 1). */
export const CRYSTAL_HZ = 25_000_000;

/** CPUID as QEMU's qemu64 model answers (qemu-msr-cpuid-trace), with MCE/MCA, MTRR and the APIC
 *  cleared (machine checks, MTRRs and the local APIC are not emulated; the kernel runs in PIC mode),
 *  and the frequency leaves 0x15 (TSC/crystal ratio and crystal Hz) and 0x16 (base MHz): Linux reads
 *  the TSC frequency from them (native_calibrate_tsc, cpu_khz_from_cpuid) instead of calibrating it
 *  against the PIT, whose busy-waits would cost emulated instructions. */
export function linuxCpuid(leaf: number, sub: number, smp?: { apicId: number }): [number, number, number, number] {
  const str = (s: string) => (s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24)) >>> 0;
  // On more than one CPU (smp): the local APIC (EDX bit 9) with its initial ID in EBX[31:24], the
  // TSC-deadline timer (ECX bit 24) and an always-running APIC timer (leaf 6 EAX bit 2, ARAT): Linux
  // then uses the deadline timer and calibrates nothing.
  const EDX1 = 0x078bfbfd & ~((1 << 7) | (smp ? 0 : 1 << 9) | (1 << 12) | (1 << 14));
  switch (leaf >>> 0) {
    case 0: return [0x16, str('Genu'), str('ntel'), str('ineI')];
    case 1: return smp ? [0x00060fb1, ((smp.apicId << 24) | 0x800) >>> 0, (0x80002001 | (1 << 24)) >>> 0, EDX1 >>> 0] : [0x00060fb1, 0x00000800, 0x80002001, EDX1 >>> 0];
    case 6: return [smp ? 4 : 0, 0, 0, 0];
    case 0x15: return [1, TSC_HZ / CRYSTAL_HZ, CRYSTAL_HZ, 0];
    case 0x16: return [TSC_HZ / 1e6, TSC_HZ / 1e6, 100, 0];
    case 0x80000000: return [0x80000008, 0, 0, 0];
    case 0x80000001: return [0x00060fb1, 0, 0x00000005, 0x20100800];
    case 0x80000008: return [0x00003028, 0, 0, 0]; // 40 physical, 48 virtual address bits
    default: void sub; return [0, 0, 0, 0];
  }
}

/** One 8259A (master at 0x20, slave at 0xa0): the ICW1-4 initialisation (ICW2 is the vector base),
 *  the mask (OCW1), EOI (OCW2) and the IRR/ISR read select (OCW3). Edge-triggered: a raised line sets
 *  IRR; the highest-priority unmasked request not below one in service is delivered. */
export class Pic8259 {
  imr = 0xff; irr = 0; isr = 0; base = 0x08;
  private icw = 0; private icw4 = false; private readIsr = false;
  write(cmd: boolean, v: number): void {
    if (cmd) {
      if (v & 0x10) { this.icw = 2; this.icw4 = (v & 1) !== 0; this.imr = 0; this.irr = 0; this.isr = 0; this.readIsr = false; return; }
      if (v & 0x08) { if ((v & 3) === 3) this.readIsr = (v & 1) !== 0 && (v & 2) !== 0; return; } // OCW3
      const op = v >> 5;
      if (op === 1) { const i = this.highest(this.isr); if (i >= 0) this.isr &= ~(1 << i); }   // non-specific EOI
      else if (op === 3) this.isr &= ~(1 << (v & 7));                                          // specific EOI
      return;
    }
    switch (this.icw) {
      case 2: this.base = v & 0xf8; this.icw = 3; return;
      case 3: this.icw = this.icw4 ? 4 : 0; return;
      case 4: this.icw = 0; return;
      default: this.imr = v;
    }
  }
  read(cmd: boolean): number { return cmd ? (this.readIsr ? this.isr : this.irr) : this.imr; }
  saveState(): number[] { return [this.imr, this.irr, this.isr, this.base, this.icw, this.icw4 ? 1 : 0, this.readIsr ? 1 : 0]; }
  loadState(s: number[]): void {
    [this.imr, this.irr, this.isr, this.base, this.icw] = s;
    this.icw4 = s[5] === 1; this.readIsr = s[6] === 1;
  }
  private highest(bits: number): number { for (let i = 0; i < 8; i++) if (bits & (1 << i)) return i; return -1; }
  /** The vector to deliver now (moving the request into service), or -1. */
  take(): number {
    const i = this.highest(this.irr & ~this.imr);
    if (i < 0) return -1;
    const busy = this.highest(this.isr);
    if (busy >= 0 && busy <= i) return -1;
    this.irr &= ~(1 << i); this.isr |= 1 << i;
    return this.base + i;
  }
}

interface Uart { ier: number; lcr: number; mcr: number; scr: number; fcr: number; dll: number; dlm: number; thre: boolean }
interface Pit { mode: number[]; reload: number[]; start: number[]; latchLow: boolean[]; port61: number }
interface LinuxDeviceState {
  msrs: [number, string][]; uart: Uart; cmosIndex: number; pit: Pit; pic: number[][];
  ports: [number, number][]; line: number[]; faults: string[]; mmu: ReturnType<GuestMmu['saveState']>;
  lapics: number[][]; legacy: unknown[]; waitSipi: boolean[]; pitNext: number; stub?: number | null;
}

export class LinuxPlatform extends Platform {
  readonly ram: Uint8Array<ArrayBuffer>;
  /** The initramfs boot puts at the top of RAM. */
  private readonly initrdBytes: Uint8Array;
  /** The kernel's PT_LOAD segments (read once: RAM is sized from them, boot loads them). */
  private readonly segments: readonly Segment[];
  readonly mmu: GuestMmu;
  readonly user: LinuxUser;
  private msrs = new Map<number, bigint>([
    [0x1b, 0xfee00900n],             // APIC_BASE (BSP)
    [0x1a0, 1n],                     // MISC_ENABLE: fast strings
    [0x277, 0x0007040600070406n],    // PAT, power-on value
    [0x8b, 0x100000000n],            // microcode revision
    [0x3a, 0n], [0x140, 0n], [0xce, 0n], [0x174, 0n], [0x175, 0n], [0x176, 0n],
  ]);
  private uart: Uart = { ier: 0, lcr: 0, mcr: 0, scr: 0, fcr: 0, dll: 0, dlm: 0, thre: false };
  private cmosIndex = 0;
  private pit: Pit = { mode: [0, 0, 0], reload: [0, 0, 0], start: [0, 0, 0], latchLow: [true, true, true], port61: 0 };
  readonly pic = [new Pic8259(), new Pic8259()];
  readonly ports = new Map<number, number>();
  /** The console line being written (power-off and panic are recognised by Linux's own lines). */
  private line: number[] = [];
  /** Faults handed to the guest on the way (vector and address; the first 20), for bring-up reports. */
  readonly faults: string[] = [];
  /** Each CPU's local APIC (more than one CPU only), its legacy-mode state, and whether it waits
   *  for a start-up IPI (after INIT). */
  readonly lapics: Lapic[] = [];
  readonly legacy: LegacyState[] = [];
  private waitSipi: boolean[] = [];
  /** CPU 0's PIT channel 0 deadline (its clock), beside its APIC timer. */
  private pitNext = Infinity;
  /** The next of user.ts PREMAP's mmaps that boot issues at /init's first host calls (handle). */
  private premapStep = 0;
  private readonly apicHost: LapicHost;
  /** Fixed IPIs sent through the local APICs in this process, by vector (statistics, tests: a
   *  restored boot counts from /init on). Linux's: 0xfd reschedule, 0xfc call function, 0xfb call
   *  function single (TLB shootdowns and text_poke's syncs among them). */
  readonly ipis = new Map<number, number>();

  constructor(image: Image, readonly lopts: LinuxPlatformOptions) {
    super(image, lopts);
    if (!(lopts.cpus >= 1 && lopts.cpus <= LINUX_MAX_CPUS)) throw new RangeError(`real Linux runs on 1 to ${LINUX_MAX_CPUS} CPUs (CONFIG_NR_CPUS)`);
    // 64 MiB, or more for a kernel too large to leave room above it for the initrd (a distribution
    // vmlinux: `why` sets up the machine to judge probes on it).
    const initrdBytes = this.initrdBytes = lopts.initrd ?? readFileSync(join(LINUX_FIXTURE_DIR, 'initramfs.cpio'));
    this.segments = loadSegments(image);
    // (only segments at physical addresses count: an image that is not a Linux kernel may give virtual ones)
    const kernelEnd = Math.max(0, ...this.segments.filter((g) => g.paddr + g.memsz <= 2 ** 32).map((g) => g.paddr + g.memsz));
    const need = kernelEnd + (16 << 20) + initrdBytes.length + 2 * PAGE;
    const ramBytes = lopts.ramBytes ?? Math.max(64 << 20, Math.ceil(need / (16 << 20)) * (16 << 20));
    const m = this.machine;
    this.ram = m.mem.allocPhysical(ramBytes); // in the memory's arena: pages mapped onto it take the TLB's fast path
    this.mmu = new GuestMmu(m.mem, this.ram);
    m.onPaging = (c, kind, addr) => this.mmu.onPaging(c, kind, addr);
    const smp = lopts.cpus > 1;
    this.altPatched = image.symbolAddr('alternatives_patched');
    this.textPatched = this.altPatched === undefined;
    m.onCpuid = smp ? (c, leaf, sub) => linuxCpuid(leaf, sub, { apicId: c.id }) : (_c, leaf, sub) => linuxCpuid(leaf, sub);
    m.onMsrRead = (c, n) => this.msrRead(c, n);
    m.onMsrWrite = (c, n, v) => this.msrWrite(c, n, v);
    for (let i = 0; i < lopts.cpus; i++) { this.legacy.push(new LegacyState()); this.waitSipi.push(i > 0); if (smp) this.lapics.push(new Lapic(i)); }
    this.apicHost = {
      cpus: m.cpus, lapics: this.lapics, busHz: CRYSTAL_HZ, ipis: this.ipis,
      init: (c) => { if (c.id === 0) return; c.online = false; c.halted = false; c.pending = 0; c.pendingVec.fill(0); this.waitSipi[c.id] = true; },
      startup: (c, vector, from) => {
        if (!this.waitSipi[c.id]) return;
        this.waitSipi[c.id] = false;
        startupIpi(c, this.legacy[c.id], vector);
        // the new CPU's clock (its TSC) starts at the sender's time: it has waited since boot, in reset
        c.idleNs = Math.max(c.idleNs, from.clock() - c.instret);
        this.rearm(c);
      },
      fatal: (c, text) => { this.fatal(c, text); this.machine.requestStop(c); },
      rearm: (c) => this.rearm(c),
    };
    const bus: LegacyBus = {
      readPhys: (pa) => (pa < this.ram.length ? this.ram[pa] : 0xff),
      writePhys: (pa, _size, v) => { if (pa < this.ram.length) { this.ram[pa] = v; m.mem.touchPhys(pa); } },
      translate: (c, linear) => { const w = this.mmu.walk(c.cr3, linear); return w && w.pa < this.ram.length ? w.pa + (linear & 4095) : undefined; },
    };
    m.onLegacy = (c, budget) => {
      const r = runLegacy(c, this.legacy[c.id], bus, budget);
      if (r === 'long') return null;
      if (r === 'budget') return Stop.Budget;
      if (r === 'halt') return Stop.Halt;
      this.fatal(c, r.error);
      return Stop.Requested;
    };
    m.onEnter = (c) => this.mmu.enter(c);
    m.onPortIn = (c, port, size) => this.linuxPortIn(c, port, size);
    m.onPortOut = (c, port, size, v) => this.linuxPortOut(c, port, size, v);
    m.onTimer = (c) => this.timerTick(c);
    m.mem.onHostMiss = (page) => this.mmu.mapForHost((m.mem.cur as Cpu).cr3 ?? m.cpus[0].cr3, page);
    this.user = new LinuxUser(this);
  }

  /** MSRs: the APIC base and the TSC deadline are each CPU's own; the others are one set. */
  private msrRead(c: Cpu, n: number): bigint | undefined {
    if (n === 0x1b) return c.id === 0 ? this.msrs.get(n) : (this.msrs.get(n)! & ~0x100n);
    if (n === 0x6e0 && this.lapics.length) return BigInt(this.lapics[c.id].deadline);
    return this.msrs.get(n);
  }
  private msrWrite(c: Cpu, n: number, v: bigint): boolean {
    if (n === 0x6e0 && this.lapics.length) { this.lapics[c.id].writeDeadline(c, Number(v), this.apicHost); return true; }
    if (n === 0x1b) { if (c.id === 0) this.msrs.set(n, v); return true; }
    if (!this.msrs.has(n)) return false;
    this.msrs.set(n, v);
    return true;
  }

  /** CPU c's next timer event: its APIC timer, and on CPU 0 the PIT. */
  private rearm(c: Cpu): void {
    const apic = this.lapics.length ? this.lapics[c.id].next : Infinity;
    c.nextTimer = c.id === 0 ? Math.min(this.pitNext, apic) : apic;
  }

  private stubAt: number | undefined;
  /** /init's stub: the address of its `syscall` (where a host call resumes a task). */
  get stubSyscall(): number {
    if (this.stubAt === undefined) {
      const init = Image.load(this.lopts.init ?? readFileSync(join(LINUX_FIXTURE_DIR, 'init')));
      const stub = init.symbolAddr('ktrace_stub');
      if (stub === undefined) throw new Error('/init has no ktrace_stub symbol (fixtures/linux/init.c)');
      this.stubAt = stub + 5; // xor %eax,%eax (2 bytes); vmcall (3 bytes); syscall
    }
    return this.stubAt;
  }

  // ---- boot snapshots (kernel/snapshot.ts) ----
  /** The devices' state with the platform's own. */
  override saveState(): PlatformState {
    return {
      ...super.saveState(),
      linux: {
        msrs: [...this.msrs].map(([k, v]) => [k, v.toString()]), uart: { ...this.uart }, cmosIndex: this.cmosIndex,
        pit: structuredClone(this.pit), pic: this.pic.map((p) => p.saveState()), ports: [...this.ports], line: [...this.line],
        faults: [...this.faults], mmu: this.mmu.saveState(),
        lapics: this.lapics.map((a) => a.save()), legacy: this.legacy.map((l) => l.save()), waitSipi: [...this.waitSipi],
        pitNext: this.pitNext === Infinity ? -1 : this.pitNext,
        // (found in /init's symbols, which the snapshot's key covers: a restored run need not load them)
        stub: this.stubAt ?? null,
      },
    };
  }
  override loadState(s: PlatformState): void {
    super.loadState(s);
    const l = s.linux as LinuxDeviceState;
    this.msrs = new Map(l.msrs.map(([k, v]) => [k, BigInt(v)]));
    this.uart = { ...l.uart };
    this.cmosIndex = l.cmosIndex;
    this.pit = structuredClone(l.pit);
    this.pic.forEach((p, i) => p.loadState(l.pic[i]));
    this.ports.clear();
    for (const [k, v] of l.ports) this.ports.set(k, v);
    this.line = [...l.line];
    this.faults.length = 0;
    this.faults.push(...l.faults);
    this.mmu.loadState(l.mmu);
    this.lapics.forEach((a, i) => a.load(l.lapics[i]));
    this.legacy.forEach((x, i) => x.load(l.legacy[i]));
    this.waitSipi = [...l.waitSipi];
    this.pitNext = l.pitNext === -1 ? Infinity : l.pitNext;
    if (typeof l.stub === 'number' && this.lopts.init === undefined) this.stubAt = l.stub;
  }
  /**
   * Copies of the RAM pages boot() wrote, as it left them (before the guest runs): what a boot snapshot
   * stores RAM against (saveRam), since a later boot() writes them again.
   */
  bootPages(): Map<number, Uint8Array> {
    if (this.instructions !== 0 || this.loaded === null) throw new Error('bootPages: the guest has run');
    const out = new Map<number, Uint8Array>();
    for (const [start, end] of this.loaded) {
      for (let pa = start - (start % PAGE); pa < end; pa += PAGE) if (!out.has(pa)) out.set(pa, this.ram.slice(pa, pa + PAGE));
    }
    return out;
  }
  /** Guest-physical RAM's pages that differ from `base` (bootPages: pages boot() wrote) or, outside it,
   *  are not all zeros: their physical addresses and bytes. */
  saveRam(base: ReadonlyMap<number, Uint8Array> = new Map()): { pages: number[]; bytes: Uint8Array } {
    const pages: number[] = [];
    const ram32 = new Uint32Array(this.ram.buffer, this.ram.byteOffset, this.ram.length >>> 2);
    for (let pa = 0; pa < this.ram.length; pa += PAGE) {
      const b = base.get(pa);
      if (b) {
        const b32 = new Uint32Array(b.buffer, b.byteOffset, PAGE >>> 2);
        for (let i = pa >>> 2, j = 0, e = (pa + PAGE) >>> 2; i < e; i++, j++) if (ram32[i] !== b32[j]) { pages.push(pa); break; }
      } else {
        for (let i = pa >>> 2, e = (pa + PAGE) >>> 2; i < e; i++) if (ram32[i] !== 0) { pages.push(pa); break; }
      }
    }
    const bytes = new Uint8Array(pages.length * PAGE);
    pages.forEach((pa, i) => bytes.set(this.ram.subarray(pa, pa + PAGE), i * PAGE));
    return { pages, bytes };
  }
  /**
   * Put RAM back as saveRam(bootPages()) left it, under an empty TLB (every page the MMU mapped is
   * dropped): the saved pages over RAM as boot() writes it. Before the guest has run, RAM is zero (a
   * fresh arena region) but for what boot() loaded, which the snapshot's other pages equal: only the
   * saved pages are copied (a snapshot holds 2,841 of RAM's 16,384 pages, not the 4,126 non-zero ones).
   * Afterwards RAM is cleared and boot()'s writes made again first. `bytes`: the pages in order, or what
   * copies pages [i, j) into RAM (a snapshot's file, read straight into RAM: kernel/snapshot.ts), false
   * when they do not check out: RAM is then as boot() writes it (and false is returned).
   */
  restoreRam(pages: number[], bytes: Uint8Array | ((i: number, j: number, dst: Uint8Array) => boolean)): boolean {
    this.mmu.flushAll();
    if (this.instructions !== 0 || this.loaded === null) {
      this.ram.fill(0);
      this.loaded = [];
      this.loadBootRam();
    }
    const copy = typeof bytes === 'function' ? bytes : (i: number, j: number, dst: Uint8Array) => { dst.set(bytes.subarray(i * PAGE, j * PAGE)); return true; };
    // runs of consecutive pages in one copy each
    for (let i = 0; i < pages.length;) {
      let j = i + 1;
      while (j < pages.length && pages[j] === pages[j - 1]! + PAGE) j++;
      if (!copy(i, j, this.ram.subarray(pages[i]!, pages[i]! + (j - i) * PAGE))) {
        this.ram.fill(0);
        this.loaded = [];
        this.loadBootRam();
        return false;
      }
      i = j;
    }
    this.loaded = null;
    return true;
  }
  /** The [start, end) ranges of RAM that boot() wrote (bootPages, restoreRam), null once the guest may have written more. */
  private loaded: [number, number][] | null = [];
  /** Write `bytes` at physical `pa` before the guest runs (boot), noting the range for restoreRam. */
  private load(bytes: Uint8Array, pa: number): void {
    this.ram.set(bytes, pa);
    this.loaded?.push([pa, pa + bytes.length]);
  }
  /** `alternatives_patched` (arch/x86/kernel/alternative.c), set by alternative_instructions() when done. */
  private readonly altPatched: number | undefined;
  protected override kernelTextPatched(): boolean {
    const pa = this.altPatched === undefined ? undefined : this.imagePhys(this.altPatched);
    return pa === undefined || (this.ram[pa] | this.ram[pa + 1] | this.ram[pa + 2] | this.ram[pa + 3]) !== 0;
  }

  /** The physical address behind a host write to the kernel image's mapping (probes armed before
   *  boot write kernel text there), or undefined: memory of ktrace's own, outside guest RAM. */
  imagePhys(va: number): number | undefined {
    const pa = va - KERNEL_MAP;
    return va >= KERNEL_MAP && pa < this.ram.length ? pa : undefined;
  }

  // ---- UserMemory: user memory belongs to Linux (user.ts) ----
  override mapUser(addr: number, size: number, _perms: 'rx' | 'r' | 'rw'): void { this.user.map(addr, size); }
  override write(addr: number, bytes: Uint8Array): void { this.user.write(addr, bytes); }
  override read(addr: number, len: number): Uint8Array { return this.user.read(addr, len); }

  /** What boot() writes to RAM (noted in `loaded`): the kernel's segments, the initrd, the MP table, the
   *  command line, boot_params and the identity page tables. Returns the tables' CR3. */
  private loadBootRam(): number {
    const img = this.image;
    let kernelEnd = 0;
    // A kernel read from a file goes straight into RAM (no buffer of its ~11 MB between)
    const file = img.source as typeof img.source & { readInto?: (buf: Uint8Array, offset: number, length: number) => Uint8Array };
    for (const seg of this.segments) {
      if (seg.paddr + seg.memsz > this.ram.length) throw new Error(`segment at physical 0x${seg.paddr.toString(16)} does not fit in RAM`);
      if (file.readInto) {
        file.readInto(this.ram.subarray(seg.paddr, seg.paddr + seg.filesz), seg.off, seg.filesz);
        this.loaded?.push([seg.paddr, seg.paddr + seg.filesz]);
      } else this.load(img.fileBytes(seg.off, seg.filesz), seg.paddr);
      kernelEnd = Math.max(kernelEnd, seg.paddr + seg.memsz);
    }
    const ramEnd = this.ram.length;
    const initrdBytes = this.initrdBytes;
    let initrd: { phys: number; size: number } | undefined;
    if (initrdBytes.length) {
      const phys = Math.floor((ramEnd - initrdBytes.length) / PAGE) * PAGE - PAGE;
      if (phys < kernelEnd + (16 << 20)) throw new Error('the initrd does not fit above the kernel');
      this.load(initrdBytes, phys);
      initrd = { phys, size: initrdBytes.length };
    }
    if (this.lapics.length) {
      const [sig, , , features] = linuxCpuid(1, 0, { apicId: 0 });
      this.load(mpTable(MPTABLE_PHYS, this.lapics.length, sig, features), MPTABLE_PHYS);
    }
    const cmd = Buffer.from(this.opts.cmdline ?? (this.lapics.length ? SMP_CMDLINE : DEFAULT_CMDLINE), 'latin1');
    if (cmd.length >= CMDLINE_MAX) throw new Error(`the command line is longer than ${CMDLINE_MAX - 1} bytes`);
    this.load(cmd, CMDLINE_PHYS);
    const e820: E820Entry[] = [
      { addr: 0, size: 0x9fc00, type: E820_RAM },
      { addr: 0x9fc00, size: 0x100000 - 0x9fc00, type: E820_RESERVED },
      { addr: 0x100000, size: ramEnd - 0x100000, type: E820_RAM },
    ];
    this.load(buildBootParams({ cmdlinePhys: CMDLINE_PHYS, cmdlineLength: CMDLINE_MAX, initrd, e820 }), BOOT_PARAMS_PHYS);
    const cr3 = writeIdentityTables(this.ram, BOOT_TABLES_PHYS, ramEnd);
    this.loaded?.push([BOOT_TABLES_PHYS, BOOT_TABLES_PHYS + 3 * PAGE]);
    return cr3;
  }

  /** Load the kernel at its physical addresses, write boot_params, put CPU 0 at startup_64. */
  override boot(): void {
    const img = this.image;
    const cr3 = this.loadBootRam();
    this.mmu.bootTables = cr3;
    this.mmu.space = cr3;

    const mem = this.machine.mem;
    mem.map(POWEROFF_PAGE, PAGE, PERM_R | PERM_X);
    mem.writeBytes(POWEROFF_PAGE, Uint8Array.of(0x0f, 0x01, 0xc1, 0xc3)); // vmcall; ret

    const c = this.machine.cpus[0];
    c.rip = img.header.entry; // phys_startup_64
    c.cr3 = cr3;
    c.cs = 0x10; c.ss = c.ds = c.es = 0x18; // __BOOT_CS, __BOOT_DS
    c.setRegNum(Reg.RSI, BOOT_PARAMS_PHYS);
    c.setRegNum(Reg.RSP, BOOT_PARAMS_PHYS);
    c.if_ = 0;
  }

  /** Bring-up and tests: run until the run ends, `budget` instructions, or `until` holds (checked every
   *  slice; the run can go on afterwards: undefined). */
  run(budget: number, until?: () => boolean): ReturnType<Platform['runSlice']> {
    while (!this.end) {
      this.runSlice(budget);
      if (until?.()) break;
    }
    return this.end;
  }

  protected override isWorkloadCall(cpu: Cpu): boolean {
    return cpu.cpl === 3 && this.workload !== undefined && cpu.rip === this.stubSyscall;
  }

  /** A task's host call: the user-memory set-up it still needs first (user.ts), then the script's call. */
  protected override workloadCall(cpu: Cpu): boolean {
    const next = this.user.hostCall(cpu);
    if ('error' in next) return this.fatal(cpu, next.error);
    loadSyscall(cpu, next.nr, next.args);
    if (next.rsp !== undefined) cpu.setRegNum(Reg.RSP, next.rsp);
    cpu.rip = this.stubSyscall;
    return true;
  }

  protected override handle(cpu: Cpu, stop: Stop): boolean {
    // Linux freed its init memory just before it ran /init (kernel_init: kprobe_free_init_mem,
    // free_initmem): by /init's first host call, init text is no longer kernel text
    if (stop === Stop.HostCall && !this.initStarted && this.isWorkloadCall(cpu)) {
      this.markInitFreed();
      // then boot maps the user memory every script uses (user.ts PREMAP), one mmap a host call: the host
      // call after the last one is where /init starts (the boot snapshot's point), whatever the script
      if (this.premapStep > 0) {
        const [start, end] = PREMAP[this.premapStep - 1];
        const r = Number(BigInt.asIntN(64, cpu.getReg(Reg.RAX)));
        if (r !== start) return this.fatal(cpu, mmapFailed(start, end, r));
      }
      if (this.premapStep < PREMAP.length) {
        const [start, end] = PREMAP[this.premapStep++];
        loadSyscall(cpu, NR_MMAP, mmapArgs(start, end));
        cpu.rip = this.stubSyscall;
        return true;
      }
    }
    switch (stop) {
      case Stop.PageFault: {
        // a TLB miss is the platform's, invisible to the guest and to upper layers
        const r = this.mmu.resolve(cpu);
        if (r === 'mapped') return true;
        if (r === 'outside') {
          const pa = this.mmu.outsidePa;
          if (this.lapics.length && pa - (pa % PAGE) === LAPIC_PHYS) {
            const at = cpu.rip, tf = cpu.tf, shadow = cpu.shadow;
            if (lapicAccess(cpu, this.machine.mem.readBytes(at, 15), pa, this.lapics[cpu.id], this.apicHost)) {
              // the device model ran the instruction: finish it as the emulator's own step does (an
              // instruction in ktrace's memory, a kprobe's out-of-line copy, counts as probe overhead;
              // the interrupt shadow ends; TF raises the single-step trap after it, RIP at the next one)
              if (this.machine.mem.permsAt(at) & PAGE_PROBE) { cpu.instret--; cpu.probeInstret++; }
              if (shadow) cpu.shadow = false;
              if (tf === 0) return true;
              cpu.trapVector = VEC_DB; cpu.errorCode = 0; cpu.faultAddr = at;
              return this.handle(cpu, Stop.Debug);
            }
            return this.fatal(cpu, `an access to the local APIC at ${this.image.formatAddr(cpu.rip)} that is not a 32-bit mov`);
          }
          return this.fatal(cpu, `access to 0x${BigInt.asUintN(64, BigInt(cpu.cr2)).toString(16)}, mapped outside RAM (MMIO is not emulated)`);
        }
        break;
      }
      case Stop.InvalidOpcode:
        // an instruction the emulator lacks is reported, not handed to Linux as a #UD
        if (cpu.stopText.startsWith('#UD at ')) return this.fatal(cpu, cpu.stopText);
        break;
      case Stop.DoubleFault:
        // an external interrupt whose delivery met a page not mapped yet (it is still pending)
        if (cpu.trapVector === 14 && this.mmu.resolve(cpu) === 'mapped') return true;
        break;
      case Stop.HostCall:
        if (cpu.faultAddr === POWEROFF_PAGE) {
          this.end ??= { kind: 'poweroff', status: 0 };
          return false;
        }
        break;
      default: break;
    }
    return super.handle(cpu, stop);
  }

  protected override deliver(cpu: Cpu, vector: number, errorCode?: number): boolean {
    if (this.faults.length < 20) this.faults.push(`vector ${vector} at ${this.image.formatAddr(cpu.rip)}${vector === 14 ? ` cr2 0x${BigInt.asUintN(64, BigInt(cpu.cr2)).toString(16)} err ${cpu.errorCode}` : ''}`);
    if (cpu.cpl === 0 && vector !== 3 && vector !== 1) this.lastKernelFault = this.snapshot(cpu, vector);
    // Delivery reads the IDT and writes the stack: pages the walk may not have mapped yet (a TLB miss
    // to the guest). A failed delivery changes nothing, so map the page and deliver again.
    for (let tries = 0; tries < 8; tries++) {
      if (cpu.interrupt(vector, errorCode)) return true;
      if (cpu.trapVector !== 14 || this.mmu.resolve(cpu) !== 'mapped') break;
    }
    return this.fatal(cpu, `double fault delivering vector ${vector} at ${this.image.formatAddr(cpu.rip)}: ${cpu.stopText}`);
  }

  /** A console line is complete: Linux's panic ends the run (it would spin forever). */
  private lineDone(): void {
    const text = Buffer.from(this.line).toString('latin1');
    this.line = [];
    if (/^\[[ \d.]+\] ---\[ end Kernel panic - not syncing: /.test(text)) this.end ??= { kind: 'panic', reason: 0 };
  }

  // ---- port I/O ----
  private linuxPortIn(c: Cpu, port: number, _size: number): number {
    if (port >= 0x3f8 && port <= 0x3ff) return this.uartIn(port - 0x3f8);
    switch (port) {
      case 0x71: return this.cmos(this.cmosIndex);
      case 0x40: case 0x41: case 0x42: return this.pitRead(c, port - 0x40);
      case 0x61: {
        // bit 5: PIT channel 2 output (set once its count has run out), bit 4 toggles with refresh
        const ch2Done = this.pitCount(c, 2) <= 0 ? 0x20 : 0;
        return (this.pit.port61 & 0x0f) | ch2Done;
      }
      case 0x20: case 0x21: return this.pic[0].read(port === 0x20);
      case 0xa0: case 0xa1: return this.pic[1].read(port === 0xa0);
      default: return 0xffffffff;
    }
  }

  private linuxPortOut(c: Cpu, port: number, _size: number, v: number): void {
    v &= 0xff;
    if (port >= 0x3f8 && port <= 0x3ff) { this.uartOut(port - 0x3f8, v); return; }
    switch (port) {
      case 0x70: this.cmosIndex = v & 0x7f; return;
      case 0x43: {
        const ch = v >> 6;
        if (ch === 3) return; // read-back: not used by Linux's calibration
        if (((v >> 4) & 3) === 0) return; // counter latch: reads return the live count (close enough at boot)
        this.pit.mode[ch] = (v >> 1) & 7;
        this.pit.latchLow[ch] = true;
        if (ch === 0) { this.pitNext = Infinity; this.rearm(this.machine.cpus[0]); } // a new mode stops the counter until its count is written
        return;
      }
      case 0x40: case 0x41: case 0x42: {
        const ch = port - 0x40;
        if (this.pit.latchLow[ch]) { this.pit.reload[ch] = (this.pit.reload[ch] & 0xff00) | v; this.pit.latchLow[ch] = false; }
        else {
          this.pit.reload[ch] = (this.pit.reload[ch] & 0xff) | (v << 8); this.pit.latchLow[ch] = true; this.pit.start[ch] = c.clock();
          if (ch === 0) this.armPit(this.machine.cpus[0]);
        }
        return;
      }
      case 0x61: this.pit.port61 = v; if (v & 1) this.pit.start[2] = c.clock(); return;
      case 0x20: case 0x21: this.pic[0].write(port === 0x20, v); this.deliverIrq(c); return;
      case 0xa0: case 0xa1: this.pic[1].write(port === 0xa0, v); this.deliverIrq(c); return;
      default: this.ports.set(port, v);
    }
  }

  /** PIT channel 0 drives IRQ 0 (CPU 0's timer deadline): mode 0/4 once, mode 2/3 every count. */
  private armPit(c: Cpu): void {
    const reload = this.pit.reload[0] || 0x10000;
    this.pitNext = this.pit.start[0] + Math.max(1, Math.round((reload * 1e9) / PIT_HZ));
    this.rearm(c);
  }
  /** Machine.onTimer: CPU c's clock reached its next timer event (the PIT on CPU 0, its APIC timer). */
  private timerTick(c: Cpu): void {
    const now = c.clock();
    if (this.lapics.length && this.lapics[c.id].next <= now) this.lapics[c.id].fire(c, this.apicHost);
    if (c.id === 0 && this.pitNext <= now) this.pitTick(c);
    this.rearm(c);
  }
  private pitTick(c: Cpu): void {
    this.pitNext = Infinity;
    const mode = this.pit.mode[0];
    if (mode === 2 || mode === 3 || mode === 6 || mode === 7) {
      // periodic: the next expiry follows this one, so no drift accumulates
      this.pit.start[0] = Math.max(c.clock(), this.pit.start[0]);
      const period = Math.max(1, Math.round(((this.pit.reload[0] || 0x10000) * 1e9) / PIT_HZ));
      this.pitNext = this.pit.start[0] + period;
      this.pit.start[0] = this.pitNext - period;
    }
    this.raiseIrq(c, 0);
  }
  /** An edge on ISA IRQ line `irq` (0-15; the slave hangs off the master's line 2). */
  raiseIrq(c: Cpu, irq: number): void {
    if (irq >= 8) { this.pic[1].irr |= 1 << (irq - 8); this.pic[0].irr |= 1 << 2; }
    else this.pic[0].irr |= 1 << irq;
    this.deliverIrq(c);
  }
  /** Hand the PIC's highest request to CPU 0 (it waits there until IF=1). */
  private deliverIrq(c: Cpu): void {
    void c;
    const cpu = this.machine.cpus[0];
    for (;;) {
      const v = this.pic[0].take();
      if (v < 0) return;
      if (v - this.pic[0].base === 2) { const s = this.pic[1].take(); if (s >= 0) cpu.raise(s); continue; }
      cpu.raise(v);
    }
  }

  /** PIT count left (1.193182 MHz, from the emulated clock: deterministic). */
  private pitCount(c: Cpu, ch: number): number {
    const reload = this.pit.reload[ch] || 0x10000;
    const ticks = Math.floor(((c.clock() - this.pit.start[ch]) * PIT_HZ) / 1e9);
    return reload - ticks;
  }
  private pitRead(c: Cpu, ch: number): number {
    const n = Math.max(0, this.pitCount(c, ch)) & 0xffff;
    const low = this.pit.latchLow[ch];
    this.pit.latchLow[ch] = !low;
    return low ? n & 0xff : n >> 8;
  }

  // The 8250/16550A at 0x3f8 (IRQ 4): transmission is instant, so the transmitter is always empty;
  // "THR empty" is an interrupt source (IIR 0x02) once THRI is enabled in IER, re-asserted by each
  // THR write and each enable, cleared by reading IIR (as Linux's THRE test and its interrupt-driven
  // TTY writes expect). Loopback (MCR bit 4) reflects MCR into MSR and sends nothing.
  private uartIn(reg: number): number {
    const u = this.uart, dlab = u.lcr & 0x80;
    switch (reg) {
      case 0: return dlab ? u.dll : 0;        // RBR: nothing received
      case 1: return dlab ? u.dlm : u.ier;
      case 2: {
        const fifo = u.fcr & 1 ? 0xc0 : 0;
        if (u.thre && (u.ier & 2)) { u.thre = false; return fifo | 0x02; }
        return fifo | 0x01;                    // no interrupt pending
      }
      case 3: return u.lcr;
      case 4: return u.mcr;
      case 5: return 0x60;                     // LSR: THR empty, transmitter empty
      case 6:                                  // MSR: DCD, DSR, CTS (loopback: OUT2, OUT1, DTR, RTS)
        if (u.mcr & 0x10) return ((u.mcr & 2) << 3) | ((u.mcr & 1) << 5) | ((u.mcr & 4) << 4) | ((u.mcr & 8) << 4);
        return 0xb0;
      default: return u.scr;
    }
  }
  private uartOut(reg: number, v: number): void {
    const u = this.uart, dlab = u.lcr & 0x80;
    switch (reg) {
      case 0:
        if (dlab) { u.dll = v; return; }
        if (!(u.mcr & 0x10)) {
          this.consoleBytes.push(v);
          if (v === 10) this.lineDone(); else if (this.line.length < 4096) this.line.push(v);
          if (this.end) this.machine.requestStop(this.machine.mem.cur as Cpu);
        }
        this.threEmpty();
        return;
      case 1: {
        if (dlab) { u.dlm = v; return; }
        const was = u.ier & 2;
        u.ier = v & 0x0f;
        if ((u.ier & 2) && !was) this.threEmpty();
        return;
      }
      case 2: u.fcr = v; return;
      case 3: u.lcr = v; return;
      case 4: u.mcr = v; return;
      case 7: u.scr = v; return;
      default: return;
    }
  }
  /** The transmitter holding register is empty (again): an interrupt when enabled (IER THRI, MCR OUT2). */
  private threEmpty(): void {
    const u = this.uart;
    u.thre = true;
    if ((u.ier & 2) && (u.mcr & 8)) this.raiseIrq(this.machine.cpus[0], 4);
  }

  /** CMOS RTC: a fixed date (2026-01-01 00:00:00, BCD, 24-hour), for deterministic boots. */
  private cmos(i: number): number {
    switch (i) {
      case 0x00: case 0x02: case 0x04: return 0;  // seconds, minutes, hours
      case 0x06: return 5;                        // weekday (Thursday)
      case 0x07: case 0x08: return 0x01;          // day of month, month
      case 0x09: return 0x26;                     // year
      case 0x32: return 0x20;                     // century
      case 0x0a: return 0x26;                     // status A: no update in progress
      case 0x0b: return 0x02;                     // status B: 24-hour, BCD
      case 0x0d: return 0x80;                     // status D: valid RAM and time
      default: return 0;
    }
  }
}

/** The kernel's PT_LOAD segments: file offset, physical address, sizes in the file and in memory. */
interface Segment { off: number; paddr: number; filesz: number; memsz: number }

function loadSegments(img: Image): Segment[] {
  const eh = img.fileBytes(0, 64);
  const ehv = new DataView(eh.buffer, eh.byteOffset, eh.byteLength);
  const phoff = Number(ehv.getBigUint64(32, true)), phentsize = ehv.getUint16(54, true), phnum = ehv.getUint16(56, true);
  const ph = img.fileBytes(phoff, phentsize * phnum);
  const dv = new DataView(ph.buffer, ph.byteOffset, ph.byteLength);
  const segs: Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = i * phentsize;
    if (dv.getUint32(o, true) !== 1) continue; // PT_LOAD
    segs.push({ off: Number(dv.getBigUint64(o + 8, true)), paddr: Number(dv.getBigUint64(o + 24, true)),
      filesz: Number(dv.getBigUint64(o + 32, true)), memsz: Number(dv.getBigUint64(o + 40, true)) });
  }
  return segs;
}
