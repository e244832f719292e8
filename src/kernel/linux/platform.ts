// The machine around real Linux (the 64-bit boot protocol, Documentation/x86/boot.rst): guest-physical
// RAM, the kernel loaded at its physical address, boot_params with the e820 map, the command line and
// the initrd, CPU 0 entering startup_64 in long mode with RSI = boot_params, and the PC pieces Linux
// touches at boot (8250 UART, CMOS, PIT, 8259 PIC, CPUID leaves and MSRs as QEMU's qemu64 model
// answers them, minus what the emulator does not implement).
//
// Paging: the guest's own page tables, walked on demand (GuestMmu, mmu.ts). The loader gives
// startup_64 the identity map of RAM the protocol asks for (2 MiB pages); Linux replaces it at once.
import type { Image } from '../../elf/image.js';
import { Machine, Stop, stopName } from '../../emu/machine.js';
import { Reg, type Cpu } from '../../emu/cpu.js';
import { GuestMmu, writeIdentityTables } from './mmu.js';
import { buildBootParams, E820_RAM, E820_RESERVED, type E820Entry } from './bootparams.js';

const PAGE = 4096;
/** Physical layout below 1 MiB (Linux reserves all of it): boot_params, the command line. */
export const BOOT_PARAMS_PHYS = 0x7000;
export const CMDLINE_PHYS = 0x20000;
export const CMDLINE_MAX = 2048;
/** The boot protocol's identity page tables (PML4, PDPT, PD). */
export const BOOT_TABLES_PHYS = 0x9000;
/** The kernel is not relocatable: it runs at its link address, physical 0x1000000 (16 MiB). */
export const KERNEL_PHYS = 0x1000000;

/**
 * The command line: console=ttyS0 (the 8250 at 0x3f8 is the console), earlyprintk=serial (messages
 * before the 8250 driver starts), nolapic (one CPU in PIC mode: no LAPIC timer calibration, whose
 * busy-waits cost 216 M instructions).
 */
export const DEFAULT_CMDLINE = 'console=ttyS0 earlyprintk=serial nolapic';

export interface LinuxBootOptions {
  ramBytes?: number;
  cmdline?: string;
  initrd?: Uint8Array;
}

export type LinuxEnd =
  | { kind: 'halt'; rip: number }
  | { kind: 'budget' }
  | { kind: 'fatal'; message: string; rip: number };

/** CPUID as QEMU's qemu64 model answers (qemu-msr-cpuid-trace), with MCE/MCA, MTRR and the APIC
 *  cleared (machine checks, MTRRs and the local APIC are not emulated; the kernel runs in PIC mode). */
export function linuxCpuid(leaf: number, sub: number): [number, number, number, number] {
  const str = (s: string) => (s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24)) >>> 0;
  const EDX1 = 0x078bfbfd & ~((1 << 7) | (1 << 9) | (1 << 12) | (1 << 14));
  switch (leaf >>> 0) {
    case 0: return [0xd, str('Genu'), str('ntel'), str('ineI')];
    case 1: return [0x00060fb1, 0x00000800, 0x80002001, EDX1 >>> 0];
    case 0x80000000: return [0x80000008, 0, 0, 0];
    case 0x80000001: return [0x00060fb1, 0, 0x00000005, 0x20100800];
    case 0x80000008: return [0x00003028, 0, 0, 0]; // 40 physical, 48 virtual address bits
    default: void sub; return [0, 0, 0, 0];
  }
}

export class LinuxPlatform {
  readonly machine = new Machine({ cpus: 1, seed: 1 });
  readonly ram: Uint8Array<ArrayBuffer>;
  readonly mmu: GuestMmu;
  private consoleBytes: number[] = [];
  end: LinuxEnd | undefined;
  private msrs = new Map<number, bigint>([
    [0x1b, 0xfee00900n],             // APIC_BASE (BSP)
    [0x1a0, 1n],                     // MISC_ENABLE: fast strings
    [0x277, 0x0007040600070406n],    // PAT, power-on value
    [0x8b, 0x100000000n],            // microcode revision
    [0x3a, 0n], [0x140, 0n], [0xce, 0n], [0x174, 0n], [0x175, 0n], [0x176, 0n],
  ]);
  private uart = { ier: 0, lcr: 0, mcr: 0, scr: 0, fcr: 0, dll: 0, dlm: 0 };
  private cmosIndex = 0;
  private pit = { mode: [0, 0, 0], reload: [0, 0, 0], start: [0, 0, 0], latchLow: [true, true, true], port61: 0 };
  readonly ports = new Map<number, number>();

  constructor(readonly image: Image, readonly opts: LinuxBootOptions = {}) {
    const ramBytes = opts.ramBytes ?? 64 << 20;
    this.ram = new Uint8Array(ramBytes);
    const m = this.machine;
    this.mmu = new GuestMmu(m.mem, this.ram);
    m.onPaging = (c, kind, addr) => this.mmu.onPaging(c, kind, addr);
    m.onCpuid = (_c, leaf, sub) => linuxCpuid(leaf, sub);
    m.onMsrRead = (_c, n) => this.msrs.get(n);
    m.onMsrWrite = (_c, n, v) => { if (!this.msrs.has(n)) return false; this.msrs.set(n, v); return true; };
    m.onPortIn = (c, port, size) => this.portIn(c, port, size);
    m.onPortOut = (c, port, size, v) => this.portOut(c, port, size, v);
    m.onTrap = (c, stop) => this.handle(c, stop);
  }

  get console(): string { return Buffer.from(this.consoleBytes).toString('latin1'); }

  /** Load the kernel at its physical addresses, map RAM, write boot_params, put CPU 0 at startup_64. */
  boot(): void {
    const img = this.image;
    const eh = img.fileBytes(0, 64);
    const ehv = new DataView(eh.buffer, eh.byteOffset, eh.byteLength);
    const phoff = Number(ehv.getBigUint64(32, true)), phentsize = ehv.getUint16(54, true), phnum = ehv.getUint16(56, true);
    const ph = img.fileBytes(phoff, phentsize * phnum);
    const dv = new DataView(ph.buffer, ph.byteOffset, ph.byteLength);
    let kernelEnd = 0;
    for (let i = 0; i < phnum; i++) {
      const o = i * phentsize;
      if (dv.getUint32(o, true) !== 1) continue; // PT_LOAD
      const off = Number(dv.getBigUint64(o + 8, true)), paddr = Number(dv.getBigUint64(o + 24, true));
      const filesz = Number(dv.getBigUint64(o + 32, true)), memsz = Number(dv.getBigUint64(o + 40, true));
      if (paddr + memsz > this.ram.length) throw new Error(`segment at physical 0x${paddr.toString(16)} does not fit in RAM`);
      this.ram.set(img.fileBytes(off, filesz), paddr);
      kernelEnd = Math.max(kernelEnd, paddr + memsz);
    }
    const ramEnd = this.ram.length;
    let initrd: { phys: number; size: number } | undefined;
    if (this.opts.initrd?.length) {
      const phys = Math.floor((ramEnd - this.opts.initrd.length) / PAGE) * PAGE - PAGE;
      if (phys < kernelEnd + (16 << 20)) throw new Error('the initrd does not fit above the kernel');
      this.ram.set(this.opts.initrd, phys);
      initrd = { phys, size: this.opts.initrd.length };
    }
    const cmd = Buffer.from(this.opts.cmdline ?? DEFAULT_CMDLINE, 'latin1');
    if (cmd.length >= CMDLINE_MAX) throw new Error(`the command line is longer than ${CMDLINE_MAX - 1} bytes`);
    this.ram.set(cmd, CMDLINE_PHYS);
    const e820: E820Entry[] = [
      { addr: 0, size: 0x9fc00, type: E820_RAM },
      { addr: 0x9fc00, size: 0x100000 - 0x9fc00, type: E820_RESERVED },
      { addr: 0x100000, size: ramEnd - 0x100000, type: E820_RAM },
    ];
    this.ram.set(buildBootParams({ cmdlinePhys: CMDLINE_PHYS, cmdlineLength: CMDLINE_MAX, initrd, e820 }), BOOT_PARAMS_PHYS);

    const cr3 = writeIdentityTables(this.ram, BOOT_TABLES_PHYS, ramEnd);

    const c = this.machine.cpus[0];
    c.rip = img.header.entry; // phys_startup_64
    c.cr3 = cr3;
    c.cs = 0x10; c.ss = c.ds = c.es = 0x18; // __BOOT_CS, __BOOT_DS
    c.setRegNum(Reg.RSI, BOOT_PARAMS_PHYS);
    c.setRegNum(Reg.RSP, BOOT_PARAMS_PHYS);
    c.if_ = 0;
  }

  get instructions(): number { return this.machine.cpus.reduce((s, c) => s + c.instret, 0); }

  /** Run until the kernel halts for good, a stop the platform cannot handle, `budget` instructions, or
   *  `until` holds (checked every 250,000 instructions; the run can go on afterwards: undefined). */
  run(budget: number, until?: () => boolean): LinuxEnd | undefined {
    while (!this.end) {
      const left = budget - this.instructions;
      if (left <= 0) { this.end = { kind: 'budget' }; break; }
      const r = this.machine.runAll(Math.min(left, 250_000));
      if (r && !this.end) this.end = { kind: 'fatal', message: `${stopName(r.stop)}: ${r.cpu.stopText}`, rip: r.cpu.rip };
      if (until?.()) break;
    }
    return this.end;
  }

  private handle(c: Cpu, stop: Stop): boolean {
    switch (stop) {
      case Stop.Halt:
        this.end = { kind: 'halt', rip: c.rip };
        return false;
      case Stop.PageFault: {
        const r = this.mmu.resolve(c);
        if (r === 'mapped') return true;
        if (r === 'outside') return this.fatal(c, `access to 0x${BigInt.asUintN(64, BigInt(c.cr2)).toString(16)}, mapped outside RAM (MMIO is not emulated)`);
        return this.deliver(c, 14, c.errorCode);
      }
      case Stop.GeneralProtection: return this.deliver(c, 13, c.errorCode);
      case Stop.InvalidOpcode:
        // an instruction the emulator lacks is reported, not handed to Linux as a #UD
        if (c.stopText) return this.fatal(c, c.stopText);
        return this.deliver(c, 6);
      case Stop.DivideError: return this.deliver(c, 0);
      case Stop.Breakpoint: return this.deliver(c, 3);
      case Stop.Debug: return this.deliver(c, 1);
      case Stop.Exception: {
        const v = c.trapVector;
        return this.deliver(c, v, [8, 10, 11, 12, 13, 14, 17, 21].includes(v) ? c.errorCode : undefined);
      }
      case Stop.Requested: return !this.end;
      default: return this.fatal(c, `${stopName(stop)}: ${c.stopText}`);
    }
  }

  /** Faults seen on the way (vector and address), for the report. */
  readonly faults: string[] = [];

  private deliver(c: Cpu, vector: number, errorCode?: number): boolean {
    if (this.faults.length < 20) this.faults.push(`vector ${vector} at ${this.image.formatAddr(c.rip)}${vector === 14 ? ` cr2 0x${(c.cr2 < 0 ? BigInt.asUintN(64, BigInt(c.cr2)) : BigInt(c.cr2)).toString(16)} err ${c.errorCode}` : ''}`);
    // Delivery reads the IDT and writes the stack: pages the walk may not have mapped yet (a TLB miss
    // to the guest). A failed delivery changes nothing, so map the page and deliver again.
    for (let tries = 0; tries < 8; tries++) {
      if (c.interrupt(vector, errorCode)) return true;
      if (c.trapVector !== 14 || this.mmu.resolve(c) !== 'mapped') break;
    }
    return this.fatal(c, `double fault delivering vector ${vector} at ${this.image.formatAddr(c.rip)}: ${c.stopText}`);
  }

  private fatal(c: Cpu, message: string): false {
    this.end ??= { kind: 'fatal', message, rip: c.rip };
    return false;
  }

  // ---- port I/O ----
  private portIn(c: Cpu, port: number, _size: number): number {
    if (port >= 0x3f8 && port <= 0x3ff) return this.uartIn(port - 0x3f8);
    switch (port) {
      case 0x71: return this.cmos(this.cmosIndex);
      case 0x40: case 0x41: case 0x42: return this.pitRead(c, port - 0x40);
      case 0x61: {
        // bit 5: PIT channel 2 output (set once its count has run out), bit 4 toggles with refresh
        const ch2Done = this.pitCount(c, 2) <= 0 ? 0x20 : 0;
        return (this.pit.port61 & 0x0f) | ch2Done;
      }
      case 0x21: case 0xa1: return this.ports.get(port) ?? 0;
      case 0x20: case 0xa0: return 0;
      default: return 0xffffffff;
    }
  }

  private portOut(c: Cpu, port: number, _size: number, v: number): void {
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
        return;
      }
      case 0x40: case 0x41: case 0x42: {
        const ch = port - 0x40;
        if (this.pit.latchLow[ch]) { this.pit.reload[ch] = (this.pit.reload[ch] & 0xff00) | v; this.pit.latchLow[ch] = false; }
        else { this.pit.reload[ch] = (this.pit.reload[ch] & 0xff) | (v << 8); this.pit.latchLow[ch] = true; this.pit.start[ch] = c.clock(); }
        return;
      }
      case 0x61: this.pit.port61 = v; if (v & 1) this.pit.start[2] = c.clock(); return;
      default: this.ports.set(port, v);
    }
  }

  /** PIT count left (1.193182 MHz, from the emulated clock: deterministic). */
  private pitCount(c: Cpu, ch: number): number {
    const reload = this.pit.reload[ch] || 0x10000;
    const ticks = Math.floor(((c.clock() - this.pit.start[ch]) * 1193182) / 1e9);
    return reload - ticks;
  }
  private pitRead(c: Cpu, ch: number): number {
    const n = Math.max(0, this.pitCount(c, ch)) & 0xffff;
    const low = this.pit.latchLow[ch];
    this.pit.latchLow[ch] = !low;
    return low ? n & 0xff : n >> 8;
  }

  private uartIn(reg: number): number {
    const u = this.uart, dlab = u.lcr & 0x80;
    switch (reg) {
      case 0: return dlab ? u.dll : 0;        // RBR: nothing received
      case 1: return dlab ? u.dlm : u.ier;
      case 2: return u.fcr & 1 ? 0xc1 : 0x01;  // IIR: no interrupt pending (FIFOs on: 16550A)
      case 3: return u.lcr;
      case 4: return u.mcr;
      case 5: return 0x60;                     // LSR: THR empty, transmitter empty
      case 6: return 0xb0;                     // MSR: DCD, DSR, CTS
      default: return u.scr;
    }
  }
  private uartOut(reg: number, v: number): void {
    const u = this.uart, dlab = u.lcr & 0x80;
    switch (reg) {
      case 0: if (dlab) u.dll = v; else this.consoleBytes.push(v); return;
      case 1: if (dlab) u.dlm = v; else u.ier = v & 0x0f; return;
      case 2: u.fcr = v; return;
      case 3: u.lcr = v; return;
      case 4: u.mcr = v; return;
      case 7: u.scr = v; return;
      default: return;
    }
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
