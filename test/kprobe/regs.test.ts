// pt_regs as a live view: reads and writes go to the CPU; addresses are signed canonical numbers.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Machine } from '../../src/emu/machine.js';
import { Reg } from '../../src/emu/cpu.js';
import { PtRegs, regsGetKernelArgument, regsReturnValue } from '../../src/kprobe/regs.js';

test('every register name maps to the CPU register of the same name, both ways', () => {
  const c = new Machine({ cpus: 1 }).cpus[0];
  const r = new PtRegs(c);
  const names: [keyof PtRegs, Reg][] = [['ax', Reg.RAX], ['bx', Reg.RBX], ['cx', Reg.RCX], ['dx', Reg.RDX], ['si', Reg.RSI], ['di', Reg.RDI],
    ['r8', Reg.R8], ['r9', Reg.R9], ['r10', Reg.R10], ['r11', Reg.R11], ['r12', Reg.R12], ['r13', Reg.R13], ['r14', Reg.R14], ['r15', Reg.R15]];
  names.forEach(([n, reg], i) => {
    const v = 0xffff_0000_0000_0000n + BigInt(i);
    (r as unknown as Record<string, bigint>)[n] = v;
    assert.is(c.getReg(reg), v, n);
    c.setReg(reg, BigInt(i + 100));
    assert.is(r[n], BigInt(i + 100), n);
  });
  r.sp = -0x778000000000 + 0x1000;
  assert.is(c.getReg(Reg.RSP), 0xffff888000001000n);
  assert.is(r.spU, 0xffff888000001000n);
  r.ip = -0x7f000000;
  assert.is(c.rip, -0x7f000000);
  assert.is(r.ipU, 0xffffffff81000000n);
  r.flags = 0x246;
  assert.is(c.if_, 1);
  assert.is(r.flags & 0xfff, 0x246);
  c.setReg(Reg.RDI, 1n); c.setReg(Reg.RSI, 2n); c.setReg(Reg.RDX, 3n); c.setReg(Reg.RCX, 4n); c.setReg(Reg.R8, 5n); c.setReg(Reg.R9, 6n);
  assert.equal([0, 1, 2, 3, 4, 5, 6].map((n) => regsGetKernelArgument(r, n)), [1n, 2n, 3n, 4n, 5n, 6n, undefined]);
  c.setReg(Reg.RAX, 77n);
  assert.is(regsReturnValue(r), 77n);
});

test.run();
