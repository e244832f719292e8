// The block compiler against the interpreter path (the same snippets, one instruction at a time):
// fixture code must leave identical registers, flags, memory and counters either way, and flag-store
// elimination must never be visible.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Machine, Stop } from '../../src/emu/machine.js';
import { compile, mayFault } from '../../src/emu/compile.js';
import { callFunction } from '../../src/emu/call.js';
import { loadSegments, readLoadSegments } from '../../src/emu/loader.js';
import { PERM_R, PERM_W } from '../../src/emu/memory.js';
import { toAddr } from '../../src/emu/addr.js';
import { ROOT } from '../../src/paths.js';
import { elfSymbols } from './elfsyms.js';
import { CODE, Reg, setup } from './util.js';

const VMLINUX = join(ROOT, 'fixtures', 'vmlinux');
const BUF = toAddr(0xffff888000200000n);

function runFixture(interpretOnly: boolean): string {
  const file = new Uint8Array(readFileSync(VMLINUX));
  const m = new Machine({ cpus: 1 });
  m.interpretOnly = interpretOnly;
  loadSegments(m.mem, readLoadSegments(file).segments, file);
  const syms = elfSymbols(file);
  const sym = (n: string) => toAddr(syms.get(n)!);
  m.mem.map(BUF, 0x2000, PERM_R | PERM_W);
  const c = m.cpus[0];
  callFunction(m, c, sym('compute_fill_pattern'), [BigInt(BUF), 0x1000n]);
  const out: string[] = [];
  for (const [fn, args] of [['compute_checksum', [BigInt(BUF), 700n, 2n]], ['compute_recurse', [BigInt(BUF), 333n, 5n]], ['strcmp', [BigInt(BUF), BigInt(BUF + 1)]]] as [string, bigint[]][]) {
    const r = callFunction(m, c, sym(fn), args);
    const regs = Array.from({ length: 16 }, (_, i) => c.getReg(i).toString(16)).join(',');
    out.push(`${fn}: ${r.stop} ${r.ret} rflags=${c.getRflags().toString(16)} regs=${regs} instret=${c.instret}`);
  }
  out.push(Buffer.from(m.mem.readBytes(BUF, 0x2000)).toString('base64'));
  return out.join('\n');
}

test('fixture code gives identical state through blocks and through the interpreter', () => {
  if (!existsSync(VMLINUX)) { console.log('SKIP block/interpreter differential: fixtures/vmlinux is missing'); return; }
  const a = runFixture(false), b = runFixture(true);
  assert.is(a, b);
  assert.match(a, 'instret=');
});

test('flag stores are elided only when a later instruction of the block overwrites them unread', () => {
  // add eax,1; add ebx,1; cmp ecx,edx; jne +0   (the two adds' flags are dead, cmp's are live at the jump)
  const { m, c } = setup('83c001 83c301 39d1 7500 f4');
  const blk = m.blockAt(c, CODE);
  const src = blk.fn.toString();
  assert.is((src.match(/c\.fk=/g) ?? []).length, 1);
  assert.is(m.run(c, 100), Stop.Halt);
  // a faulting instruction needs the flags of the ones before it: mov rax,[rax] keeps add's flag store
  const f = setup('83c001 488b00 83c001 f4');
  const src2 = f.m.blockAt(f.c, CODE).fn.toString();
  assert.is((src2.match(/c\.fk=/g) ?? []).length, 2);
  f.c.setRegNum(Reg.RAX, 0xffffffff); // add makes it 0 (address 0 is unmapped): the fault sees add's flags
  assert.is(f.m.run(f.c, 100), Stop.PageFault);
  assert.is(f.c.faultAddr, 0);
  assert.is(f.c.getRflags() & 0x8d5, 0x55); // CF PF AF ZF
});

test('mayFault marks memory, stack, branch and divide instructions, not register arithmetic', () => {
  const { m, c } = setup('83c001 488b00 50 f7f1 ebfe');
  const ops = m.blockAt(c, CODE).ops;
  assert.equal(ops.map(mayFault), [false, true, true, true, true]);
  assert.is(compile(ops.slice(0, 1), false).n, 1);
});

test.run();
