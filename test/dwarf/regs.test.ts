// x86-64 DWARF register numbers (psABI Table 3.36) → pt_regs names accepted by kprobe_events
// (arch/x86/kernel/ptrace.c regoffset_table on CONFIG_X86_64).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dwarfRegName, kernelRegName } from '../../src/dwarf/index.js';

const REGOFFSET_TABLE_GPRS = ['r15', 'r14', 'r13', 'r12', 'r11', 'r10', 'r9', 'r8', 'bx', 'cx', 'dx', 'si', 'di', 'bp', 'ax', 'sp'];

test('DWARF 0-15 map onto exactly the general registers of regoffset_table', () => {
  const names = Array.from({ length: 16 }, (_, i) => kernelRegName(i));
  assert.equal([...names].sort(), [...REGOFFSET_TABLE_GPRS].sort());
});

test('psABI order is not encoding order: 1 is rdx, 2 is rcx, 3 is rbx, 6 rbp, 7 rsp', () => {
  assert.equal([1, 2, 3, 4, 5, 6, 7].map((r) => kernelRegName(r)), ['dx', 'cx', 'bx', 'si', 'di', 'bp', 'sp']);
  assert.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 15, 16, 17].map(dwarfRegName), ['rax', 'rdx', 'rcx', 'rbx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r15', 'rip', 'xmm0']);
});

test('the return-address column and vector registers have no pt_regs name', () => {
  assert.is(kernelRegName(16), null);
  assert.is(kernelRegName(17), null);
});

test.run();
