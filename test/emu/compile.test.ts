// The block compiler against the interpreter path (the same snippets, one instruction at a time):
// fixture code must leave identical registers, flags, memory and counters either way, and flag-store
// elimination must never be visible.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Machine, Stop } from '../../src/emu/machine.js';
import { blockSource, compile, compileOp, mayFault, opShapes } from '../../src/emu/compile.js';
import { wasmTier } from '../../src/emu/wasm.js';
import { callFunction } from '../../src/emu/call.js';
import { loadSegments, readLoadSegments } from '../../src/emu/loader.js';
import { PERM_R, PERM_W } from '../../src/emu/memory.js';
import { toAddr } from '../../src/base/addr.js';
import { ROOT } from '../../src/paths.js';
import { elfSymbols } from './elfsyms.js';
import { CODE, DATA, Reg, setup, wasmForced } from './util.js';

const VMLINUX = join(ROOT, 'fixtures', 'vmlinux');
const BUF = toAddr(0xffff888000200000n);

function runFixture(interpretOnly: boolean, hotAfter?: number): string {
  const file = new Uint8Array(readFileSync(VMLINUX));
  const m = new Machine({ cpus: 1 });
  m.interpretOnly = interpretOnly;
  if (hotAfter !== undefined) m.hotAfter = hotAfter;
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
  // every block compiled on first entry, and a tier-up threshold that changes tiers mid-function
  assert.is(runFixture(false, 1), a);
  assert.is(runFixture(false, 3), a);
  // the same code (kernel addresses, supervisor TLBs) in WebAssembly regions
  const before = wasmTier.retired;
  assert.is(wasmForced(true, () => runFixture(false, 1)), a);
  assert.ok(wasmTier.retired - before > 50000, `the wasm tier must run the fixture code (${wasmTier.retired - before} instructions ran in it)`);
});

test('the one-instruction path shares one function per instruction shape, numbers bound per instruction', () => {
  // add eax,1; add eax,0x1000; add eax,-5 (one shape), then mov ebx,eax; hlt
  const env = setup('83c001 0500100000 83c0fb 89c3 f4');
  env.m.interpretOnly = true;
  const before = opShapes;
  env.c.setRegNum(Reg.RAX, 10);
  assert.is(env.m.run(env.c, 100), Stop.Halt);
  assert.is(env.c.getRegNum(Reg.RBX), 10 + 1 + 0x1000 - 5);
  // the first add and the third are one shape (83 /0 ib); the second has another encoding
  assert.ok(opShapes - before <= 4, `${opShapes - before} new shapes`);
  const a = compileOp(env.m.blockAt(env.c, CODE).ops[0], false), b = compileOp(env.m.blockAt(env.c, CODE + 8).ops[0], false);
  assert.is(a.toString(), b.toString());
});

test('flag stores are elided only when a later instruction of the block overwrites them unread', () => {
  // add eax,1; add ebx,1; cmp ecx,edx; jne +0   (the two adds' flags are dead, cmp's are live at the jump)
  const { m, c } = setup('83c001 83c301 39d1 7500 f4');
  const blk = m.blockAt(c, CODE);
  const src = blockSource(blk);
  // (compiled blocks keep the flags in locals: Ffk=... is a producer's store, c.fk=Ffk the store back)
  assert.is((src.match(/[;{}]Ffk=/g) ?? []).length, 1);
  assert.is(m.run(c, 100), Stop.Halt);
  // a faulting instruction needs the flags of the ones before it: mov rax,[rax] keeps add's flag store
  const f = setup('83c001 488b00 83c001 f4');
  const src2 = blockSource(f.m.blockAt(f.c, CODE));
  assert.is((src2.match(/[;{}]Ffk=/g) ?? []).length, 2);
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

test('fused conditions (producer and jcc/setcc in one block) agree with the generic lazy-flag path', () => {
  // producer ecx,edx (or ecx) at 8/16/32/64 bits; then setcc al for every condition; then hlt
  const two: [string, number][] = [['cmp', 0x39], ['sub', 0x29], ['test', 0x85], ['and', 0x21], ['add', 0x01], ['xor', 0x31], ['or', 0x09]];
  const one: [string, number, number][] = [['inc', 0xff, 0xc1], ['dec', 0xff, 0xc9], ['neg', 0xf7, 0xd9]];
  const vals = [0n, 1n, 0x7fn, 0x80n, 0xffn, 0x7fffn, 0x8000n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x7fffffffffffffffn,
    0x8000000000000000n, 0xffffffffffffffffn, 0x123456789abcdefn, 0xfedcba9876543210n];
  let checked = 0;
  for (const sz of [8, 16, 32, 64]) {
    const pre = sz === 64 ? [0x48] : sz === 16 ? [0x66] : [];
    const producers: number[][] = [
      ...two.map(([, o]) => [...pre, sz === 8 ? (o === 0x85 ? 0x84 : o - 1) : o, 0xd1]),
      ...one.map(([, o, r]) => [...pre, sz === 8 ? o - 1 : o, r]),
    ];
    for (const p of producers) for (let cc = 0; cc < 16; cc++) {
      const code = Uint8Array.from([...p, 0x0f, 0x90 + cc, 0xc0, 0xf4]);
      const envs = [setup(code), setup(code)];
      envs[1].m.interpretOnly = true;
      for (let i = 0; i < vals.length; i += 2) {
        const a = vals[i], b = vals[(i * 7 + cc) % vals.length];
        const res: bigint[] = [];
        for (const { m, c } of envs) {
          c.rip = CODE; c.halted = false;
          c.setReg(Reg.RCX, a); c.setReg(Reg.RDX, b);
          assert.is(m.run(c, 10), Stop.Halt);
          res.push(c.getReg(Reg.RAX) & 1n);
        }
        assert.is(res[0], res[1], `${Buffer.from(p).toString('hex')} cc=${cc} a=${a.toString(16)} b=${b.toString(16)}`);
        checked++;
      }
    }
  }
  assert.ok(checked > 4000);
});

test('a block looping back to its first instruction: a fault there reports that instruction and counts as the interpreter does', () => {
  // L: mov rax,[rdi]; mov rbx,[rsi]; add rdi,8; dec rcx; jnz L; hlt. The loads walk rdi off the end of
  // DATA: the third iteration's first load faults, after the second load (the block's last faulting
  // instruction) ran in the iteration before. Linux's slob_alloc loop met this on real code.
  const code = '488b07 488b1e 4883c708 48ffc9 75f1 f4';
  const out: string[] = [];
  for (const mode of ['compiled', 'interpreted']) {
    const { m, c } = setup(code);
    if (mode === 'compiled') m.hotAfter = 1; else m.interpretOnly = true;
    c.setRegNum(Reg.RDI, DATA + 0x10000 - 16);
    c.setRegNum(Reg.RSI, DATA);
    c.setRegNum(Reg.RCX, 100);
    const s = m.run(c, 1000);
    out.push(`stop=${s} rip=${(c.rip - CODE).toString(16)} instret=${c.instret} rcx=${c.getReg(Reg.RCX)} vector=${c.trapVector}`);
  }
  assert.is(out[0], out[1]);
  assert.is(out[1], `stop=${Stop.PageFault} rip=0 instret=10 rcx=98 vector=14`);
});

test('whole system: the fixture boot and default workload on 2 CPUs end identically with each tier forced', async () => {
  if (!existsSync(VMLINUX)) { console.log('SKIP whole-system differential: fixtures/vmlinux is missing'); return; }
  // the platform (src/kernel) drives the machine; this only flips the emulator's execution strategy
  const { Image } = await import('../../src/elf/image.js');
  const { parseWorkload } = await import('../../src/kernel/workload/parser.js');
  const { runScript } = await import('../../src/kernel/session.js');
  const image = Image.load(readFileSync(VMLINUX));
  const src = readFileSync(join(ROOT, 'fixtures', 'workloads', 'default.wl'), 'utf8');
  const out: string[] = [];
  // tiered (the default), compiled only (every block compiled on its first entry), interpreted only
  // tiered (the default), compiled only (every block compiled on its first entry), interpreted only, and
  // WebAssembly regions on every compiled block's first entry (wasm.ts)
  const tiers: [string, (m: import('../../src/emu/machine.js').Machine) => void, boolean][] = [
    ['tiered', () => {}, false], ['compiled', (m) => { m.hotAfter = 1; }, false], ['interpreted', (m) => { m.interpretOnly = true; }, false],
    ['wasm', (m) => { m.hotAfter = 1; }, true]];
  const before = wasmTier.retired;
  for (const [, set, wasm] of tiers) {
    const r = wasmForced(wasm, () => runScript(image, parseWorkload('default', src), { cpus: 2, seed: 3, maxInsns: 200_000_000, snapshot: false, attach: (p) => set(p.machine) }));
    out.push(JSON.stringify({ end: r.end, insns: r.instructions, console: r.console, ns: r.emulatedNs, syscalls: r.syscalls }));
  }
  assert.is(out[1], out[0], 'compiled only');
  assert.is(out[2], out[0], 'interpreted only');
  assert.is(out[3], out[0], 'wasm regions');
  assert.ok(wasmTier.retired - before > 50000, 'the wasm tier must run boot code');
  assert.match(out[0], 'poweroff');
});

test.run();
