// Fixture functions called in the emulator return what the same C code returns natively
// (the emulator's fixture-code check). The native results are committed (data/fixture_expected.jsonl); where gcc
// exists the native twin is rebuilt and re-run, so the oracle cannot go stale.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Machine, Stop, stopName } from '../../src/emu/machine.js';
import { callFunction } from '../../src/emu/call.js';
import { loadSegments, readLoadSegments } from '../../src/emu/loader.js';
import { PERM_R, PERM_W } from '../../src/emu/memory.js';
import { toAddr } from '../../src/base/addr.js';
import { Reg } from '../../src/emu/cpu.js';
import { elfSymbols } from './elfsyms.js';
import { CODE, setup } from './util.js';
import { ROOT } from '../../src/paths.js';

const VMLINUX = join(ROOT, 'fixtures', 'vmlinux');
const DATA_DIR = join(ROOT, 'test', 'emu', 'data');
const BUF = toAddr(0xffff888000200000n);
const STRS = BUF + 0x2000;

interface Case { fn: string; args: number[]; ret: number; }
const expected: Case[] = readFileSync(join(DATA_DIR, 'fixture_expected.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const STRINGS: [string, string][] = [['abc', 'abc'], ['abc', 'abd'], ['abd', 'abc'], ['', 'a'], ['a', ''], ['\xff', 'a'], ['vfs_read', 'vfs_write'], ['', '']];

function boot(): { m: Machine; sym: (n: string) => number } {
  const file = new Uint8Array(readFileSync(VMLINUX));
  const m = new Machine({ cpus: 1 });
  loadSegments(m.mem, readLoadSegments(file).segments, file);
  const syms = elfSymbols(file);
  const sym = (n: string) => { const v = syms.get(n); if (v === undefined) throw new Error(`no symbol ${n}`); return toAddr(v); };
  m.mem.map(BUF, 0x4000, PERM_R | PERM_W);
  return { m, sym };
}

const have = existsSync(VMLINUX);
if (!have) console.log('SKIP fixture function calls: fixtures/vmlinux is missing');

test('fixture functions (crc32_le, strcmp, compute_mix jump table, compute_recurse, compute_checksum, kprobe_target) match native', () => {
  if (!have) return;
  const { m, sym } = boot();
  const c = m.cpus[0];
  // the input buffer is filled by the fixture's own compute_fill_pattern, as the native twin does
  let r = callFunction(m, c, sym('compute_fill_pattern'), [BigInt(BUF), 4096n]);
  assert.is(stopName(r.stop), 'HostCall');
  const enc = (s: string) => Uint8Array.from(s, (ch) => ch.charCodeAt(0));
  let checked = 0;
  for (const e of expected) {
    let args: bigint[];
    switch (e.fn) {
      case 'crc32_le': args = [BigInt(e.args[0]), BigInt(BUF), BigInt(e.args[1])]; break;
      case 'strcmp': {
        const [a, b] = STRINGS[e.args[0]];
        m.mem.writeBytes(STRS, new Uint8Array([...enc(a), 0])); m.mem.writeBytes(STRS + 0x100, new Uint8Array([...enc(b), 0]));
        args = [BigInt(STRS), BigInt(STRS + 0x100)]; break;
      }
      case 'compute_recurse': args = [BigInt(BUF), BigInt(e.args[0]), BigInt(e.args[1])]; break;
      case 'compute_checksum': args = [BigInt(BUF), BigInt(e.args[0]), BigInt(e.args[1])]; break;
      default: args = e.args.map(BigInt);
    }
    r = callFunction(m, c, sym(e.fn), args);
    assert.is(stopName(r.stop), stopName(Stop.HostCall), `${e.fn}(${e.args}): ${c.stopText}`);
    const got = e.fn === 'strcmp' ? Number(BigInt.asIntN(32, r.ret)) : Number(BigInt.asUintN(32, r.ret));
    assert.is(got, e.ret, `${e.fn}(${e.args.join(', ')})`);
    checked++;
  }
  assert.is(checked, expected.length);
  assert.ok(checked >= 40);
});

test('the committed native results are what the native twin prints today', () => {
  let gcc = true;
  try { execFileSync('gcc', ['--version'], { stdio: 'ignore' }); } catch { gcc = false; }
  if (!gcc) { console.log('SKIP native twin rebuild: gcc not found (using the committed results)'); return; }
  const dir = mkdtempSync(join(tmpdir(), 'ktrace-twin-'));
  execFileSync('gcc', ['-O2', '-w', `-I${join(ROOT, 'fixtures', 'kernel', 'include')}`, '-o', join(dir, 'twin'), join(DATA_DIR, 'fixture_twin.c')]);
  const out = execFileSync(join(dir, 'twin'), { encoding: 'utf8' });
  assert.is(out.trim(), readFileSync(join(DATA_DIR, 'fixture_expected.jsonl'), 'utf8').trim());
});

test('callFunction: callee-saved registers survive the call; a budget stop is reported as such', () => {
  if (!have) return;
  const { m, sym } = boot();
  const c = m.cpus[0];
  c.setReg(Reg.RBX, 0x1111n); c.setReg(Reg.R12, 0x2222n);
  const r = callFunction(m, c, sym('compute_recurse'), [BigInt(BUF), 4096n, 1n]);
  assert.is(r.stop, Stop.HostCall);
  assert.is(c.getReg(Reg.RBX), 0x1111n); assert.is(c.getReg(Reg.R12), 0x2222n);
  const b = callFunction(m, c, sym('compute_checksum'), [BigInt(BUF), 4096n, 100n], { budget: 5000 });
  assert.is(stopName(b.stop), 'Budget');
});

test('callFunction: arguments beyond the sixth go on the stack (System V ABI 3.2.3)', () => {
  // mov rax,[rsp+8]; add rax,[rsp+16]; add rax,rdi; ret   -> arg7 + arg8 + arg1
  const { m, c } = setup('488b442408 4803442410 4801f8 c3');
  const r = callFunction(m, c, CODE, [1n, 2n, 3n, 4n, 5n, 6n, 700n, 8000n]);
  assert.is(stopName(r.stop), 'HostCall');
  assert.is(r.ret, 8701n);
  const u = callFunction(m, c, CODE, [-1n, 0n, 0n, 0n, 0n, 0n, 1n, 1n]);
  assert.is(u.ret, 1n);
});

test.run();
