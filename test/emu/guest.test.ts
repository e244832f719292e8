import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Machine } from '../../src/emu/machine.js';
import { PERM_R, PERM_W } from '../../src/emu/memory.js';
import { Reg } from '../../src/emu/cpu.js';
import { VEC_PF } from '../../src/base/x86.js';
import { guestPop, guestPush, interruptedKernelRips, popfResult, retire, stiEnable } from '../../src/emu/guest.js';

const STACK = 0x10000;

function machine() {
  const m = new Machine({ cpus: 1 });
  m.mem.map(STACK, 4096, PERM_R | PERM_W);
  return { m, c: m.cpus[0]! };
}

test('push and pop as the CPU makes them; a fault is a result, with RSP unchanged and the #PF recorded', () => {
  const { c } = machine();
  c.setRegNum(Reg.RSP, STACK + 0x800);
  assert.ok(guestPush(c, -0x7f000000));
  assert.is(c.getRegNum(Reg.RSP), STACK + 0x7f8);
  assert.is(guestPop(c), -0x7f000000);
  assert.is(c.getRegNum(Reg.RSP), STACK + 0x800);
  c.setRegNum(Reg.RSP, STACK); // the push goes below the mapping
  assert.not.ok(guestPush(c, 1));
  assert.is(c.getRegNum(Reg.RSP), STACK);
  assert.is(c.trapVector, VEC_PF);
  c.setRegNum(Reg.RSP, STACK + 0x1000); // the pop reads above it
  assert.is(guestPop(c), undefined);
  assert.is(c.getRegNum(Reg.RSP), STACK + 0x1000);
});

test('POPF masks, STI shadow and retired-instruction adjustments', () => {
  const { c } = machine();
  const old = 0x202 | 0x10000;
  assert.is(popfResult(c, 0x3046, old), 0x3046 | 0x10000, 'CPL 0: IF and IOPL from the stack, RF kept');
  c.cpl = 3;
  assert.is(popfResult(c, 0x3046, old), 0x246 | 0x10000, 'CPL 3 above IOPL 0: IF and IOPL kept');
  c.cpl = 0;
  c.if_ = 0; stiEnable(c); assert.ok(c.if_ === 1 && c.shadow);
  c.shadow = false; stiEnable(c); assert.not.ok(c.shadow, 'no shadow when IF was already set');
  const before = c.instret; retire(c, -1); retire(c, 3); assert.is(c.instret, before + 2);
});

test('interruptedKernelRips finds a kernel interrupt frame (RIP, then CS) in written pages only', () => {
  const { m } = machine();
  m.mem.map(STACK + 0x2000, 4096, PERM_R | PERM_W); // never written: skipped
  m.mem.write64(STACK + 0x100, 0xffffffff81000123n);
  m.mem.write64(STACK + 0x108, 0x10n);
  m.mem.write64(STACK + 0x200, 0xffffffff81000456n);
  m.mem.write64(STACK + 0x208, 0x33n); // a user CS: not a kernel frame
  const rips = interruptedKernelRips(m.mem, [{ start: STACK, end: STACK + 0x3000 }, { start: 0x900000, end: 0x901000 }], 0x10);
  assert.equal([...rips], [Number(BigInt.asIntN(64, 0xffffffff81000123n))]);
});

test.run();
