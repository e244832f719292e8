import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Lapic, LAPIC_PHYS, lapicAccess, mpTable, type LapicHost } from '../../../src/kernel/linux/lapic.js';
import { Machine } from '../../../src/emu/machine.js';
import type { Cpu } from '../../../src/emu/cpu.js';

function host(n: number): LapicHost & { log: string[]; m: Machine } {
  const m = new Machine({ cpus: n });
  const log: string[] = [];
  const lapics = m.cpus.map((c) => new Lapic(c.id));
  return {
    m, log, cpus: m.cpus, lapics, busHz: 25_000_000,
    init: (c) => log.push(`init ${c.id}`),
    startup: (c, v, from) => log.push(`sipi ${c.id} ${v.toString(16)} from ${from.id}`),
    fatal: (c, t) => log.push(`fatal ${c.id} ${t}`),
    rearm: (c) => log.push(`rearm ${c.id}`),
  };
}
const pending = (c: Cpu): number[] => [...c.pendingVec].flatMap((x, v) => (x ? [v] : []));

test('the MP table: checksums, the pointer to the table, one processor entry per CPU (CPU 0 the BSP), an ISA bus', () => {
  const at = 0xf0000, b = mpTable(at, 2, 0x60fb1, 0x78bfbfd);
  const dv = new DataView(b.buffer, b.byteOffset);
  const sum = (x: Uint8Array) => x.reduce((s, v) => (s + v) & 0xff, 0);
  // Linux's smp_scan_config: "_MP_", length 1 (16 bytes), spec 1 or 4, checksum 0
  assert.is(Buffer.from(b.subarray(0, 4)).toString('latin1'), '_MP_');
  assert.is(b[8], 1); assert.is(b[9], 4);
  assert.is(sum(b.subarray(0, 16)), 0);
  const physptr = dv.getUint32(4, true);
  const t = b.subarray(physptr - at);
  const tv = new DataView(t.buffer, t.byteOffset);
  // smp_check_mpc: "PCMP", length, checksum over the length, spec, the local APIC's address
  assert.is(Buffer.from(t.subarray(0, 4)).toString('latin1'), 'PCMP');
  const len = tv.getUint16(4, true);
  assert.is(len, t.length);
  assert.is(sum(t.subarray(0, len)), 0);
  assert.is(tv.getUint32(36, true), LAPIC_PHYS);
  assert.is(tv.getUint16(34, true), 3, 'entry count');
  assert.equal([t[44], t[45], t[47]], [0, 0, 3], 'processor 0: enabled, BSP');
  assert.equal([t[64], t[65], t[67]], [0, 1, 1], 'processor 1: enabled');
  assert.is(tv.getUint32(44 + 4, true), 0x60fb1);
  assert.equal([t[84], Buffer.from(t.subarray(86, 92)).toString('latin1')], [1, 'ISA   ']);
});

test('ICR: fixed IPIs by physical and flat logical destination and by shorthand; INIT, SIPI; NMI refused', () => {
  const h = host(3), [c0, c1, c2] = h.m.cpus, [a0, a1, a2] = h.lapics;
  a0.write(c0, 0xd0, 1 << 24, h); a1.write(c1, 0xd0, 2 << 24, h); a2.write(c2, 0xd0, 4 << 24, h);
  a0.write(c0, 0x310, 2 << 24, h); a0.write(c0, 0x300, 0xfd, h);               // physical, CPU 2
  assert.equal([pending(c0), pending(c1), pending(c2)], [[], [], [0xfd]]);
  a0.write(c0, 0x310, 3 << 24, h); a0.write(c0, 0x300, 0x800 | 0xfb, h);       // logical, CPUs 0 and 1
  assert.equal([pending(c0), pending(c1)], [[0xfb], [0xfb]]);
  a1.write(c1, 0x300, (3 << 18) | 0xf3, h);                                    // all but self
  assert.equal([pending(c0), pending(c1), pending(c2)], [[0xf3, 0xfb], [0xfb], [0xf3, 0xfd]]);
  assert.is(a0.read(c0, 0x300, h) & 0x1000, 0, 'delivery status idle');
  a0.write(c0, 0x310, 1 << 24, h);
  a0.write(c0, 0x300, 0xc500, h);  // INIT, level assert
  a0.write(c0, 0x300, 0x8500, h);  // INIT level de-assert: nothing
  a0.write(c0, 0x300, 0x0698, h);  // start-up, vector 0x98
  a0.write(c0, 0x300, 0x0400, h);  // NMI
  a1.write(c1, 0x300, (3 << 18) | 0x0400, h);  // NMI to all but self, as native_stop_other_cpus sends it
  assert.equal(h.log, ['init 1', 'sipi 1 98 from 0',
    'fatal 0 CPU 0 sent an NMI IPI (ICR 0x0100000000000400: to APIC ID 1: CPU 1); NMI delivery is not emulated',
    'fatal 1 CPU 1 sent an NMI IPI (ICR 0x00000000000c0400: to all CPUs but itself: CPU 0, CPU 2); NMI delivery is not emulated']);
  assert.is(a2.read(c2, 0x20, h), 2 << 24, 'APIC ID');
});

test('the timer: TSC-deadline mode fires once at the deadline; one-shot counts the crystal clock through the divider', () => {
  const h = host(1), c = h.m.cpus[0], a = h.lapics[0];
  a.write(c, 0xf0, 0x1ff, h);                // software enable
  a.write(c, 0x320, (2 << 17) | 0xec, h);    // TSC-deadline, vector 0xec
  a.writeDeadline(c, 5000, h);
  assert.is(a.next, 5000);
  c.instret = 5000;
  a.fire(c, h);
  assert.equal(pending(c), [0xec]);
  assert.is(a.next, Infinity);
  assert.is(a.deadline, 0);
  a.write(c, 0x320, 0xef, h);                // one-shot
  a.write(c, 0x3e0, 0xb, h);                 // divide by 1
  a.write(c, 0x380, 100, h);                 // 100 counts of 40 ns
  assert.is(a.next, 5000 + 4000);
  c.instret += 2000;
  assert.is(a.read(c, 0x390, h), 50);
  a.write(c, 0x3e0, 0x3, h);                 // divide by 16
  assert.is(a.read(c, 0x3e0, h), 3);
});

test('an access to the APIC page runs as the mov it is: read into a register, write from a register or an immediate', () => {
  const h = host(2), c = h.m.cpus[1], a = h.lapics[1];
  c.rip = 0x1000;
  // mov 0x20(%rax),%edx  (8b 50 20)
  assert.ok(lapicAccess(c, Uint8Array.of(0x8b, 0x50, 0x20, 0x90), LAPIC_PHYS + 0x20, a, h));
  assert.is(c.regs[4], 1 << 24);
  assert.is(c.rip, 0x1003);
  assert.is(c.instret, 1);
  // mov %ecx,0x80(%rax)  (89 88 80 00 00 00)
  c.regs[2] = 0x20;
  assert.ok(lapicAccess(c, Uint8Array.of(0x89, 0x88, 0x80, 0, 0, 0), LAPIC_PHYS + 0x80, a, h));
  assert.is(a.tpr, 0x20);
  // movl $0x0,0xb0(%rax)  (c7 80 b0 00 00 00 00 00 00 00)
  assert.ok(lapicAccess(c, Uint8Array.of(0xc7, 0x80, 0xb0, 0, 0, 0, 0, 0, 0, 0), LAPIC_PHYS + 0xb0, a, h));
  // xchg is not what Linux does here: refused
  assert.not.ok(lapicAccess(c, Uint8Array.of(0x87, 0x50, 0x20), LAPIC_PHYS + 0x20, a, h));
});

test.run();
