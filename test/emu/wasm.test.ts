// The WebAssembly tier (src/emu/wasm.ts) against the JS blocks and the one-instruction path: the same
// code must leave identical registers, flags, memory, counters and stops, whether it runs in a wasm
// region, in compiled JS blocks or one instruction at a time; exits (budget, TLB misses, faults, code
// that changed) are precise. The host-CPU corpus with the tier forced: test/emu/hostdiff.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Stop } from '../../src/emu/machine.js';
import { wasmTier } from '../../src/emu/wasm.js';
import { ROOT } from '../../src/paths.js';
import { runUserBinary } from '../../bench/lib/usermode.js';
import { CODE, DATA, Reg, setup } from './util.js';

type Tier = 'interpreted' | 'compiled' | 'wasm';
const saved = { on: wasmTier.on, hot: wasmTier.hot, maxRegion: wasmTier.maxRegion };
function withTier<T>(tier: Tier, fn: () => T, maxRegion = 8): T {
  Object.assign(wasmTier, tier === 'wasm' ? { on: true, hot: 1, maxRegion } : { on: false });
  try { return fn(); } finally { Object.assign(wasmTier, saved); }
}

// xor eax,eax; mov ecx,1000
// L: add eax,ecx; imul eax,eax,3; rol eax,5; mov [rbx],rax; add rax,[rbx+8]; call F; sub ecx,1; jne L; hlt
// F: shr rax,3; ret
const LOOP = '31c0 b9e8030000 01c8 6bc003 c1c005 488903 48034308 e806000000 83e901 75e7 f4 48c1e803 c3';

/** Runs LOOP in slices of `budget` instructions: the state after every slice. */
function slices(tier: Tier, budget: number, edit?: (env: ReturnType<typeof setup>) => void): string[] {
  return withTier(tier, () => {
    const env = setup(LOOP);
    const { m, c } = env;
    if (tier === 'interpreted') m.interpretOnly = true; else m.hotAfter = 1;
    c.setRegNum(Reg.RBX, DATA);
    m.mem.write32(DATA + 8, 0x12345);
    const out: string[] = [];
    for (let i = 0; i < 100000; i++) {
      const s = m.run(c, budget);
      out.push(`${s} ${c.rip.toString(16)} ${c.instret} ${c.getRegNum(Reg.RAX).toString(16)} ${c.getRegNum(Reg.RCX)} ${c.getRflags().toString(16)} ${c.getRegNum(Reg.RSP).toString(16)}`);
      if (s !== Stop.Budget) break;
      if (edit && i === 40) edit(env);
    }
    out.push(Buffer.from(m.mem.readBytes(DATA, 16)).toString('hex'));
    return out;
  });
}

test('a loop with a call, memory and flags: every budget slice ends in the same state in every tier', () => {
  for (const budget of [1000000, 13, 7]) {
    const before = wasmTier.retired;
    const w = slices('wasm', budget);
    if (budget > 7) assert.ok(wasmTier.retired - before > 5000, `budget ${budget}: the loop must run in WebAssembly`);
    assert.equal(w, slices('compiled', budget), `budget ${budget}: wasm vs compiled`);
    assert.equal(w, slices('interpreted', budget), `budget ${budget}: wasm vs interpreted`);
    assert.match(w[w.length - 2], new RegExp(`^${Stop.Halt} `));
  }
});

test('code patched between runs is never run stale from a region', () => {
  // after 40 slices, `imul eax,eax,3` becomes `imul eax,eax,5`
  const edit = (env: ReturnType<typeof setup>) => env.m.mem.write8(CODE + 11, 5);
  const w = slices('wasm', 50, edit);
  assert.equal(w, slices('interpreted', 50, edit));
  assert.not.equal(w, slices('interpreted', 50));
});

test('a fault in a region (a store to an unmapped page) is precise', () => {
  // mov [rbx],rax faults on the 3rd iteration: rbx moves to an unmapped page after two
  // L: add rax,1; mov [rbx],rax; add rbx,0x8000; jmp L
  const run = (tier: Tier) => withTier(tier, () => {
    const { m, c } = setup('4883c001 488903 4881c300800000 ebf0');
    if (tier === 'interpreted') m.interpretOnly = true; else m.hotAfter = 1;
    c.setRegNum(Reg.RBX, DATA);
    const s = m.run(c, 1e6);
    return `${s} ${c.rip.toString(16)} ${c.instret} ${c.getRegNum(Reg.RAX)} ${c.getRegNum(Reg.RBX).toString(16)} ${c.faultAddr.toString(16)} ${c.errorCode} ${c.getRflags().toString(16)}`;
  });
  const w = run('wasm');
  assert.is(w, run('interpreted'));
  assert.is(w, run('compiled'));
  assert.match(w, new RegExp(`^${Stop.PageFault} `));
});

// Kernel-style code (gas -mintel): inc/dec of registers and memory, lock add and loads through gs:, an inc
// through fs:, jo/jc/jp/jg on inc/dec flags (jc: the CF inc keeps) and jc on flags from the previous block
// (through mat), an indirect jmp through a table in memory (the region's dispatch table), a call/ret, and a
// 32-bit-address lea. The segment bases are small, so a base left out or mixed up reads mapped memory.
//     lea r10,[rip+t0]; lea r11,[rip+t1]; mov [rbx+32],r10; mov [rbx+40],r11; xor eax,eax; mov ecx,3000
//  L: inc eax; jo ovf; jc carry
//  cont: lock add qword ptr gs:[rbx+8],rax; mov r8,qword ptr gs:[rbx+8]; dec dword ptr [rbx+16]; jp par
//  back: mov esi,ecx; and esi,1; jmp qword ptr [rbx+32+rsi*8]
//  t0: add eax,7; jmp next    t1: call f
//  next: jc cset   next2: lea edi,[ebx+ecx*4+3]; sub r13d,edi; dec ecx; jg L; hlt
//  ovf: add eax,1; jmp back   par: sub r8,3; inc qword ptr fs:[rbx]; jmp back   cset: inc r12; jmp next2
//  carry: inc r14; jmp cont   f: xor eax,0x55; add eax,0x7fffff00; ret
const KERNELISH = '4c8d15350000004c8d1d330000004c8953204c895b2831c0b9b80b0000ffc07034724665f048014308654c8b4308ff4b107a27' +
  '89ce83e601ff64f32083c007eb05e828000000721c678d7c8b034129fdffc97fc9f483c001ebd94983e8036448ff03ebcf49ffc4ebdf49ffc6ebb5' +
  '83f0550500ffff7fc3';

test('inc/dec, fs:/gs: operands, lock, conditions through mat, indirect jumps: every budget slice ends in the same state in every tier', () => {
  const run = (tier: Tier, budget: number): string[] => withTier(tier, () => {
    const { m, c } = setup(KERNELISH);
    if (tier === 'interpreted') m.interpretOnly = true; else m.hotAfter = 1;
    c.setRegNum(Reg.RBX, DATA);
    c.fsb = 0x40; c.gsb = 0x100;
    m.mem.write32(DATA + 16, 0x7ffffff0);
    const out: string[] = [];
    for (let i = 0; i < 100000; i++) {
      const s = m.run(c, budget);
      const regs = [Reg.RAX, Reg.RCX, Reg.RDI, Reg.R8, Reg.R12, Reg.R13, Reg.R14, Reg.RSP].map((r) => c.getRegNum(r).toString(16)).join(' ');
      out.push(`${s} ${c.rip.toString(16)} ${c.instret} ${regs} ${c.getRflags().toString(16)}`);
      if (s !== Stop.Budget) break;
    }
    out.push(Buffer.from(m.mem.readBytes(DATA, 0x180)).toString('hex'));
    return out;
  });
  for (const budget of [1000000, 11]) {
    const before = wasmTier.retired;
    const w = run('wasm', budget);
    if (budget > 11) assert.ok(wasmTier.retired - before > 30000, `budget ${budget}: only ${wasmTier.retired - before} instructions ran in WebAssembly`);
    assert.equal(w, run('compiled', budget), `budget ${budget}: wasm vs compiled`);
    assert.equal(w, run('interpreted', budget), `budget ${budget}: wasm vs interpreted`);
    assert.match(w[w.length - 2], new RegExp(`^${Stop.Halt} `));
  }
});

test('the user-mode compute benchmark: same output, instructions and registers with the tier forced, by default and off', () => {
  const path = join(ROOT, 'fixtures', 'bench', 'compute');
  if (!existsSync(path)) { console.log('SKIP wasm compute: fixtures/bench/compute is missing'); return; }
  const bytes = new Uint8Array(readFileSync(path));
  const run = () => { const r = runUserBinary(bytes, [path, '3']); return `${r.stdout} ${r.exitCode} ${r.instructions}`; };
  const before = wasmTier.retired;
  const forced = withTier('wasm', run);
  const inWasm = wasmTier.retired - before;
  const big = withTier('wasm', run, 96);
  const off = withTier('compiled', run);
  const dflt = run();
  assert.is(forced, off);
  assert.is(big, off);
  assert.is(dflt, off);
  assert.match(off, 'checksum=');
  const total = Number(off.split(' ').pop());
  assert.ok(inWasm > total * 0.9, `only ${inWasm} of ${total} instructions ran in WebAssembly`);
});

test('the switch: with the tier off no region is built', () => {
  const n = wasmTier.regions, r = wasmTier.retired;
  withTier('compiled', () => slices('compiled', 1e6));
  assert.is(wasmTier.regions, n);
  assert.is(wasmTier.retired, r);
});

test.run();
