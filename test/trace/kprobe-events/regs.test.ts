import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { X86_64_REGS, isRegName, regOffset } from '../../../src/trace/kprobe-events/regs.js';

test('x86-64 regoffset_table names and pt_regs offsets', () => {
  assert.is(X86_64_REGS.length, 21);
  assert.is(regOffset('r15'), 0);
  assert.is(regOffset('bp'), 32);
  assert.is(regOffset('ax'), 80);
  assert.is(regOffset('di'), 112);
  assert.is(regOffset('orig_ax'), 120);
  assert.is(regOffset('ip'), 128);
  assert.is(regOffset('sp'), 152);
  assert.is(regOffset('ss'), 160);
  assert.equal([...X86_64_REGS].map(regOffset).sort((a, b) => a - b), Array.from({ length: 21 }, (_, i) => i * 8));
  assert.ok(isRegName('flags'));
  for (const bad of ['rax', 'eax', 'ds', 'fs', 'rip', 'r7']) assert.not.ok(isRegName(bad), bad);
});

test.run();
