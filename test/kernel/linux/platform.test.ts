import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { linuxCpuid, LinuxPlatform } from '../../../src/kernel/linux/platform.js';
import { bundledLinuxPath, LINUX_FIXTURE_DIR } from '../../../src/kernel/linux/bundle.js';
import '../../../src/kernel/linux/task-layout.js'; // Linux's task layout reader (kernel/task-layout.ts)
import { Image } from '../../../src/elf/image.js';
import { openImage } from '../../../src/elf/open.js';
import { DEFAULT_VMLINUX } from '../../../src/paths.js';
import { PERM_R, PERM_X } from '../../../src/emu/memory.js';
import { Reg } from '../../../src/emu/cpu.js';
import { WorkloadRunner } from '../../../src/kernel/workload/runner.js';
import { parseWorkload } from '../../../src/kernel/workload/parser.js';

test('CPUID has every feature Linux x86-64 requires (required-features.h REQUIRED_MASK0/1), no LAPIC, MCE or MTRR', () => {
  const [, , , edx1] = linuxCpuid(1, 0);
  const need0 = [0 /* FPU */, 3 /* PSE */, 5 /* MSR */, 6 /* PAE */, 8 /* CX8 */, 13 /* PGE */, 15 /* CMOV */, 24 /* FXSR */, 25 /* XMM */, 26 /* XMM2 */];
  for (const bit of need0) assert.ok(edx1 & (1 << bit), `leaf 1 EDX bit ${bit}`);
  for (const bit of [7, 9, 12, 14]) assert.not.ok(edx1 & (1 << bit), `leaf 1 EDX bit ${bit} is off`);
  assert.ok(linuxCpuid(0x80000001, 0)[3] & (1 << 29), 'LM');
  assert.ok(linuxCpuid(0x80000000, 0)[0] >= 0x80000001);
  const v = linuxCpuid(0, 0);
  assert.is(Buffer.from(new Uint32Array([v[1], v[3], v[2]]).buffer).toString('latin1'), 'GenuineIntel');
});

test('CPUID on more than one CPU: the local APIC with each CPU\'s ID, the TSC-deadline timer and ARAT; one CPU keeps neither', () => {
  for (const id of [0, 1, 3]) {
    const [, ebx1, ecx1, edx1] = linuxCpuid(1, 0, { apicId: id });
    assert.ok(edx1 & (1 << 9), 'APIC');
    assert.is(ebx1 >>> 24, id, 'initial APIC ID');
    assert.ok(ecx1 & (1 << 24), 'TSC deadline');
    assert.ok(linuxCpuid(6, 0, { apicId: id })[0] & 4, 'ARAT');
  }
  assert.not.ok(linuxCpuid(1, 0)[2] & (1 << 24));
  assert.is(linuxCpuid(6, 0)[0], 0);
  assert.throws(() => new LinuxPlatform(Image.load(readFileSync(DEFAULT_VMLINUX)), { cpus: 5, seed: 1 }), /1 to 4 CPUs/);
});

test('8250 output, LSR, CMOS status B and a PIT count that falls with the emulated clock', () => {
  const p = new LinuxPlatform(Image.load(readFileSync(DEFAULT_VMLINUX)), { cpus: 1, seed: 1 });
  const m = p.machine, c = m.cpus[0];
  // mov dx,0x3f8; mov al,'h'; out dx,al; mov al,'i'; out dx,al; mov dx,0x3fd; in al,dx; mov bl,al;
  // mov al,0x0b; out 0x70,al; in al,0x71; mov cl,al;
  // mov al,0xb0; out 0x43,al; mov al,0xff; out 0x42,al; out 0x42,al; (channel 2, lobyte/hibyte, 0xffff)
  // 50 x nop; in al,0x42; mov r8b,al; in al,0x42; mov r9b,al; hlt
  const code = [0x66, 0xba, 0xf8, 0x03, 0xb0, 0x68, 0xee, 0xb0, 0x69, 0xee, 0x66, 0xba, 0xfd, 0x03, 0xec, 0x88, 0xc3,
    0xb0, 0x0b, 0xe6, 0x70, 0xe4, 0x71, 0x88, 0xc1,
    0xb0, 0xb0, 0xe6, 0x43, 0xb0, 0xff, 0xe6, 0x42, 0xe6, 0x42,
    ...new Array(3000).fill(0x90), 0xe4, 0x42, 0x41, 0x88, 0xc0, 0xe4, 0x42, 0x41, 0x88, 0xc1, 0xf4];
  m.mem.map(0x10000, 0x2000, PERM_R | PERM_X);
  m.mem.writeBytes(0x10000, Uint8Array.from(code));
  c.rip = 0x10000;
  const end = p.run(10_000);
  assert.ok(end?.kind === 'fatal' && /every CPU halted/.test(end.message), JSON.stringify(end));
  assert.is(p.console, 'hi');
  assert.is(c.getReg(Reg.RBX) & 0xffn, 0x60n, 'LSR: transmitter empty');
  assert.is(c.getReg(Reg.RCX) & 0xffn, 0x02n, 'CMOS status B: 24-hour, BCD');
  const count = Number(c.getReg(Reg.R8) & 0xffn) | (Number(c.getReg(Reg.R9) & 0xffn) << 8);
  // ~3000 instructions = ~3000 ns at 1.193182 MHz: 3 ticks
  assert.ok(count < 0xffff && count >= 0xffff - 4, `PIT count 0x${count.toString(16)}`);
});

const built = existsSync(join(LINUX_FIXTURE_DIR, 'vmlinux.br'));
test('the bundled Linux boots to /init: banner and command line on the 8250, then /init\'s first host call', () => {
  if (!built) { console.log('SKIP fixtures/linux/vmlinux.br not built yet'); return; }
  // a boot of real Linux (test/kernel/linux/session.test.ts boots it in the default run): test:long only
  if (process.env.KTRACE_LONG !== '1') return;
  const image = Image.load(readFileSync(bundledLinuxPath()));
  const p = new LinuxPlatform(image, { cpus: 1, seed: 1 });
  const runner = new WorkloadRunner(parseWorkload('t.wl', 'close 99\n'), p);
  p.workload = runner;
  runner.setup({ stub: false });
  p.boot();
  p.stopAtInit = true;
  const end = p.run(300_000_000, () => p.initStarted);
  assert.is(end, undefined, `stopped early: ${JSON.stringify(end)}\n${p.console.slice(-2000)}`);
  assert.ok(p.initStarted, 'reached /init');
  assert.match(p.console, /^\[    0\.000000\] Linux version 6\.1\.\d+ \(ktrace@ktrace\) .* #1 SMP Thu Jan  1 00:00:00 UTC 1970\r?\n/);
  assert.match(p.console, /Command line: console=ttyS0\b/);
  assert.match(p.console, /Run \/init as init process/);
  assert.match(p.console, /Calibrating delay loop \(skipped\)/, 'no delay-loop calibration (the TSC frequency comes from CPUID)');
  console.log(`  (boot to /init: ${(p.instructions / 1e6).toFixed(1)} M instructions)`);
});

// Boot snapshots store RAM as its difference from what boot() writes (kernel/snapshot.ts): boot() loads the
// same bytes from a file (read straight into RAM) as from memory; saveRam against bootPages keeps exactly
// the pages that changed; restoreRam after boot() gives that RAM back, and so does a restore over RAM
// the guest changed since (cleared, boot()'s writes made again).
test('RAM saved against what boot() wrote, and restored after boot() or over a changed RAM', () => {
  if (!built) { console.log('SKIP fixtures/linux/vmlinux.br not built yet'); return; }
  const path = bundledLinuxPath();
  const fromFile = new LinuxPlatform(openImage(path), { cpus: 1, seed: 1 });
  fromFile.boot();
  const base = fromFile.bootPages();
  const fromBytes = new LinuxPlatform(Image.load(readFileSync(path)), { cpus: 1, seed: 1 });
  fromBytes.boot();
  assert.ok(Buffer.from(fromFile.ram).equals(Buffer.from(fromBytes.ram)), 'boot() writes the same RAM from a file as from bytes');
  const loaded = [...base.keys()];
  assert.ok(loaded.length > 1000, `boot() wrote ${loaded.length} pages`);
  // what a guest would have done: a byte of the kernel changed, a loaded page cleared, a fresh page written
  const ram = fromFile.ram, PAGE = 4096;
  const changed = loaded[loaded.length >> 1]!, cleared = loaded.find((pa) => ram.subarray(pa, pa + PAGE).some((b) => b !== 0) && pa !== changed)!;
  let fresh = 0x200000;
  while (base.has(fresh) || ram.subarray(fresh, fresh + PAGE).some((b) => b !== 0)) fresh += PAGE;
  ram[changed + 123] ^= 0xff;
  ram.fill(0, cleared, cleared + PAGE);
  ram.fill(0x5a, fresh + 8, fresh + 16);
  const saved = fromFile.saveRam(base);
  assert.equal([...saved.pages].sort((a, b) => a - b), [changed, cleared, fresh].sort((a, b) => a - b));
  assert.is(saved.bytes.length, 3 * PAGE);
  fromBytes.restoreRam(saved.pages, saved.bytes);
  assert.ok(Buffer.from(fromBytes.ram).equals(Buffer.from(ram)), 'restored after boot()');
  fromBytes.ram.fill(0x77, 0x300000, 0x300000 + 3 * PAGE); // RAM changed since (the guest ran)
  fromBytes.ram.fill(0, changed, changed + PAGE);
  fromBytes.restoreRam(saved.pages, saved.bytes);
  assert.ok(Buffer.from(fromBytes.ram).equals(Buffer.from(ram)), 'restored over a changed RAM');
  // pages that do not check out (a snapshot's file, read straight into RAM): RAM is left as boot() writes it
  const booted = new LinuxPlatform(openImage(path), { cpus: 1, seed: 1 });
  booted.boot();
  const bootRam = Buffer.from(booted.ram);
  let calls = 0;
  const ok = booted.restoreRam(saved.pages, (i, j, dst) => { dst.fill(0xee); return ++calls < 2; });
  assert.is(ok, false);
  assert.ok(calls >= 2, 'the pages were copied up to the one that failed');
  assert.ok(Buffer.from(booted.ram).equals(bootRam), 'RAM as boot() wrote it');
  assert.ok(booted.restoreRam(saved.pages, (i, j, dst) => { dst.set(saved.bytes.subarray(i * PAGE, j * PAGE)); return true; }));
  assert.ok(Buffer.from(booted.ram).equals(Buffer.from(ram)), 'and a restore after it gives the saved RAM');
});

test.run();
