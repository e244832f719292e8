import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Machine } from '../../src/emu/machine.js';
import { PERM_R, PERM_W } from '../../src/emu/memory.js';
import { Reg } from '../../src/emu/cpu.js';
import { VEC_PF } from '../../src/base/x86.js';
import { guestPop, guestPush, interruptedFrames, popfResult, retire, stiEnable } from '../../src/emu/guest.js';
import { CODE, DATA, STACK_TOP, hexBytes, setup, type Env } from './util.js';

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

/** A gate for `vector` at `target` in an IDT in DATA (as machine.test.ts installs them). */
function gate(env: Env, vector: number, target: number): void {
  const b = new Uint8Array(16), dv = new DataView(b.buffer);
  const lo = target >>> 0, hi = Math.floor(target / 2 ** 32) >>> 0;
  dv.setUint16(0, lo & 0xffff, true); dv.setUint16(2, 0x10, true); b[5] = 0x8e;
  dv.setUint16(6, lo >>> 16, true); dv.setUint32(8, hi, true);
  env.m.mem.writeBytes(DATA + 0x8000 + vector * 16, b);
  for (const c of env.m.cpus) { c.idtBase = DATA + 0x8000; c.idtLimit = 0xfff; }
}

test('the emulator records each kernel-mode interrupt frame it pushes and drops it at the iret that pops it', () => {
  // CODE: nop x4; hlt.  CODE+0x100: iretq.  CODE+0x200: add $8,%rsp; iretq (a vector with an error code).
  const env = setup('90909090f4');
  const { m, c } = env;
  m.mem.writeBytes(CODE + 0x100, hexBytes('48cf'));
  m.mem.writeBytes(CODE + 0x200, hexBytes('4883c40848cf'));
  gate(env, 0x20, CODE + 0x100); gate(env, 13, CODE + 0x200);
  c.rip = CODE + 2;
  assert.ok(c.interrupt(0x20));
  const slot = c.getRegNum(Reg.RSP);
  assert.equal(interruptedFrames(m.cpus), [{ cpu: 0, slot, rip: CODE + 2 }]);
  // Nested: an exception with an error code in the handler; its RIP slot is above the error code.
  assert.ok(c.interrupt(13, 0));
  assert.equal(interruptedFrames(m.cpus).map((f) => [f.slot, f.rip]), [[slot, CODE + 2], [c.getRegNum(Reg.RSP) + 8, CODE + 0x100]]);
  m.interpretOnly = true;
  m.run(c, 2); // add; iretq: back in the first handler
  assert.is(c.rip, CODE + 0x100);
  assert.equal(interruptedFrames(m.cpus), [{ cpu: 0, slot, rip: CODE + 2 }]);
  // The kernel may change the saved RIP before returning (an exception fixup): the frame says so.
  m.mem.write64(slot, BigInt.asUintN(64, BigInt(CODE + 3)));
  assert.equal(interruptedFrames(m.cpus).map((f) => f.rip), [CODE + 3]);
  m.run(c, 1); // iretq
  assert.is(c.rip, CODE + 3);
  assert.equal(interruptedFrames(m.cpus), []);
  assert.is(m.frames.size, 0);
});

test('a frame interrupting user mode is not recorded; the CPUs share one log (an iret on another CPU drops it); snapshots carry it', () => {
  const env = setup('90909090f4', { cpus: 2 });
  const { m } = env;
  const [c0, c1] = m.cpus as [typeof env.c, typeof env.c];
  m.mem.writeBytes(CODE + 0x100, hexBytes('48cf'));
  gate(env, 0x20, CODE + 0x100);
  c0.cs = 0x33; c0.ss = 0x2b; c0.setCpl(3); c0.rsp0 = STACK_TOP - 0x2000;
  assert.ok(c0.interrupt(0x20));
  assert.is(m.frames.size, 0, 'user-mode context: no kernel frame');
  c0.cs = 0x10; c0.ss = 0x18; c0.setCpl(0);
  c0.rip = CODE + 1; c0.setRegNum(Reg.RSP, STACK_TOP - 0x100);
  assert.ok(c0.interrupt(0x20));
  const slot = c0.getRegNum(Reg.RSP);
  const saved = m.saveState();
  // The interrupted task is switched to CPU 1 and returns there.
  c1.online = true; c1.rip = CODE + 0x100; c1.setRegNum(Reg.RSP, slot);
  m.interpretOnly = true;
  m.run(c1, 1);
  assert.is(c1.rip, CODE + 1);
  assert.is(m.frames.size, 0);
  m.loadState(saved);
  assert.equal(interruptedFrames(m.cpus), [{ cpu: 0, slot, rip: CODE + 1 }]);
});

test.run();
