import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fetchArgs, resolveProbeSymbols, type ArgValue } from '../../../src/trace/kprobe-events/eval.js';
import { parseKprobeCommand, type ProbeDef } from '../../../src/trace/kprobe-events/probe.js';
import { showProbe } from '../../../src/trace/kprobe-events/show.js';
import { formatArgs } from '../../../src/trace/kprobe-events/format.js';
import { FakeMachine, fakeSymbolizer } from './fakectx.js';
import { fakeResolver, SYMS } from './fake.js';

function probe(line: string): ProbeDef {
  const r = parseKprobeCommand(line, fakeResolver);
  if (!r.ok || r.command.kind !== 'create') throw new Error(`${line}: ${JSON.stringify(r)}`);
  const res = resolveProbeSymbols(r.command.probe, fakeResolver);
  if (!res.ok) throw new Error(`${line}: errno ${res.errno}`);
  return res.probe;
}
const K = 0xffff888000100000n; // a kernel data address
const U = 0x7ffd0000n; // a user address
const text = (m: FakeMachine, line: string) => formatArgs(fetchArgs(probe(line), m), fakeSymbolizer(m.syms));

test('trace_kprobe self-test definitions: parse, read back, evaluate', () => {
  // kernel/trace/trace_kprobe.c kprobe_trace_self_tests_init
  const p = probe('p:testprobe kprobe_trace_selftest_target $stack $stack0 +0($stack)');
  assert.is(showProbe(p), 'p:kprobes/testprobe kprobe_trace_selftest_target arg1=$stack arg2=$stack0 arg3=+0($stack)');
  const r = probe('r:testprobe2 kprobe_trace_selftest_target $retval');
  assert.is(showProbe(r), 'r:kprobes/testprobe2 kprobe_trace_selftest_target arg1=$retval');
  const m = new FakeMachine();
  const sp = 0xffffc90000003f00n;
  m.setReg('sp', sp).poke64(sp, 0xffffffff81001234n);
  m.stackWords = [0xffffffff81001234n];
  assert.is(formatArgs(fetchArgs(p, m), fakeSymbolizer([])), ' arg1=0xffffc90000003f00 arg2=0xffffffff81001234 arg3=0xffffffff81001234');
  // target(1, 2, 3, 4, 5, 6) returns their sum
  m.setReg('ax', 21n);
  const v = fetchArgs(r, m);
  assert.equal((v[0]!.value as { value: bigint }).value, 21n);
  assert.is(formatArgs(v, fakeSymbolizer([])), ' arg1=0x15');
});

test('registers, stack, arguments, immediates', () => {
  const m = new FakeMachine();
  m.setReg('di', 0xffffffffffffffffn).setReg('si', 0x1234n).setReg('r15', 7n);
  m.stackWords = [10n, 20n, 30n];
  m.args = [0xaan, 0xbbn, 0xccn];
  assert.is(text(m, 'p vfs_read %di %di:u8 %di:s8 %di:s16 %di:u32 %di:s64 %si:x16 %r15:u64'),
    ' arg1=0xffffffffffffffff arg2=255 arg3=-1 arg4=-1 arg5=4294967295 arg6=-1 arg7=0x1234 arg8=7');
  assert.is(text(m, 'p vfs_read $stack2 $arg1 $arg3:u8 \\-2:s32 \\0x41:char'), " arg1=0x1e arg2=0xaa arg3=204 arg4=-2 arg5='A'");
  m.entryArgs = [0x55n];
  assert.is(text(m, 'r vfs_read a=$arg1'), ' a=0x55');
});

test('memory: loads by type size, nested dereferences, faults', () => {
  const m = new FakeMachine();
  m.poke(K, [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08]);
  m.poke64(K + 0x100n, K);
  m.setReg('di', K + 0x100n);
  assert.is(text(m, 'p vfs_read +0(%di) +0(+0(%di)):u8 +1(+0(%di)):u16 +0(+0(%di)):x32'),
    ' arg1=0xffff888000100000 arg2=1 arg3=770 arg4=0x4030201');
  assert.is(text(m, `p vfs_read @${K}:x8 @0x${K.toString(16)}:u64`), ' arg1=0x1 arg2=578437695752307201');
  // A fault stores nothing: the value reads as 0.
  m.setReg('si', 0x10n);
  const v = fetchArgs(probe('p vfs_read +0(%si) +8(+0(%si))'), m);
  assert.equal(v.map((a: ArgValue) => a.value), [{ kind: 'num', value: 0n, fault: true }, { kind: 'num', value: 0n, fault: true }]);
  assert.is(formatArgs(v, fakeSymbolizer([])), ' arg1=0x0 arg2=0x0');
});

test('@SYM resolves at registration; unknown symbols fail with -ENOENT', () => {
  const m = new FakeMachine();
  const jiffies = BigInt.asUintN(64, BigInt(SYMS.jiffies!));
  m.poke64(jiffies, 4242n).poke64(jiffies + 8n, 9n).poke64(jiffies - 8n, 1n);
  assert.is(text(m, 'p vfs_read @jiffies:u64 @jiffies+8:u64 @jiffies-8:u64 +8(@jiffies):u64'), ' arg1=4242 arg2=9 arg3=1 arg4=0');
  const r = parseKprobeCommand('p vfs_read @nosuch', fakeResolver);
  assert.ok(r.ok && r.command.kind === 'create');
  if (r.ok && r.command.kind === 'create') {
    assert.equal(resolveProbeSymbols(r.command.probe, fakeResolver), { ok: false, errno: -2 });
  }
  const bad = parseKprobeCommand('p vfs_read @jiffies+x', fakeResolver);
  if (bad.ok && bad.command.kind === 'create') assert.equal(resolveProbeSymbols(bad.command.probe, fakeResolver), { ok: false, errno: -22 });
  else assert.unreachable('should parse');
});

test('strings: kernel, user, immediate, comm, faults, arrays of pointers', () => {
  const m = new FakeMachine();
  m.poke(K, 'hello\0');
  m.poke(U, 'user\0', true);
  m.poke64(K + 0x40n, K).poke64(K + 0x48n, K + 2n);
  m.setReg('di', K).setReg('si', U).setReg('dx', K + 0x40n);
  assert.is(text(m, 'p vfs_read +0(%di):string +2(%di):string +0(%si):ustring +u0(%si):string'),
    ' arg1="hello" arg2="llo" arg3="user" arg4="user"');
  assert.is(text(m, 'p vfs_read +0(%si):string'), ' arg1=(fault)'); // user address read as kernel memory
  assert.is(text(m, 'p vfs_read $comm c=$COMM:string \\"lit" \\0xffff888000100001:string'),
    ' arg1="cat" c="cat" arg3="lit" arg4="ello"');
  assert.is(text(m, 'p vfs_read +0(%dx):string[2]'), ' arg1={"hello","llo"}');
  m.poke(K + 0x80n, 'x'); // no terminator before unmapped memory
  assert.is(text(m, 'p vfs_read +0x80(%di):string'), ' arg1=(fault)');
  m.poke(K + 0x90n, '\0');
  assert.is(text(m, 'p vfs_read +0x90(%di):string'), ' arg1=""');
});

test('symbol and symstr', () => {
  const m = new FakeMachine();
  m.syms = [{ name: 'vfs_read', addr: 0xffffffff81002000n, size: 0x80n }];
  m.setReg('ip', 0xffffffff81002004n).setReg('ax', 0x1234n);
  m.poke64(K, 0xffffffff81002010n).setReg('di', K);
  assert.is(text(m, 'p vfs_read %ip:symbol %ip:symstr %ax:symbol +0(%di):symstr'),
    ' arg1=vfs_read+0x4/0x80 arg2="vfs_read+0x4/0x80" arg3=0x1234 arg4="vfs_read+0x10/0x80"');
});

test('bitfields and arrays', () => {
  const m = new FakeMachine();
  m.poke(K, [0b1011_0110, 0xff, 0x01, 0x02, 0x03, 0x04]);
  m.setReg('di', K);
  assert.is(text(m, 'p vfs_read +0(%di):b4@2/8 +0(%di):b1@7/8 +0(%di):b3@0/8 +0(%di):b8@8/16'),
    ' arg1=13 arg2=1 arg3=6 arg4=255');
  assert.is(text(m, 'p vfs_read +2(%di):u8[4] +2(%di):x16[2] +0(%di):b2@1/8[2]'), ' arg1={1,2,3,4} arg2={0x201,0x403} arg3={3,3}');
  assert.is(text(m, 'p vfs_read +4(%di):u8[3]'), ' arg1={3,4,0}');
});

test('user dereference reads user memory at the marked level only', () => {
  const m = new FakeMachine();
  m.poke64(U, K, true).poke(K, [42]);
  m.setReg('si', U);
  assert.is(text(m, 'p vfs_read +0(+u0(%si)):u8'), ' arg1=42');
  assert.equal(m.accesses.map((a) => a.user), [true, false]);
});

test('a context may read strings itself (fast path), with the same results', () => {
  const m = new FakeMachine();
  m.poke(K, 'hello\0').setReg('di', K);
  const calls: string[] = [];
  const fast = Object.assign(Object.create(m) as FakeMachine, {
    readString(addr: bigint, max: number, user: boolean) { calls.push(`${addr.toString(16)}/${max}/${user}`); return addr === K ? 'hello' : undefined; },
  });
  assert.is(formatArgs(fetchArgs(probe('p vfs_read +0(%di):string +0(%di):ustring +8(%di):string'), fast), fakeSymbolizer([])),
    ' arg1="hello" arg2="hello" arg3=(fault)');
  assert.equal(calls, ['ffff888000100000/4095/false', 'ffff888000100000/4095/true', 'ffff888000100008/4095/false']);
});

// kprobe_args_char.tc and kprobe_args_symbol.tc.
test('char arrays; @SYM:string reads the string at the symbol', () => {
  const m = new FakeMachine();
  m.poke(K, 'test\0').setReg('di', K);
  assert.is(text(m, 'p:testprobe vfs_read arg1=+0(%di):char arg2=+0(%di):char[4]'), " arg1='t' arg2={'t','e','s','t'}");
  const jiffies = BigInt.asUintN(64, BigInt(SYMS.jiffies!));
  m.poke(jiffies, 'Linux version 6.x (ktrace) (gcc)\0');
  assert.is(text(m, 'p vfs_read arg1=@jiffies:string'), ' arg1="Linux version 6.x (ktrace) (gcc)"');
  assert.is(text(m, 'p vfs_read a=@jiffies:u8 b=@jiffies:s16 c=@jiffies:x32 d=@jiffies:b8@4/32'), ' a=76 b=26956 c=0x756e694c d=148');
});

// kprobe_args_type.tc: one stack slot through s/u/x/bitfield types of each width must agree.
test('kprobe_args_type.tc: $stack0 as sN, uN, xN and b4@4/N', () => {
  const m = new FakeMachine();
  for (const v of [0xfedcba9876543210n, 0x0123456789abcdefn, 0x80n, 0n]) {
    m.stackWords = [v];
    for (const w of [64, 32, 16, 8]) {
      const out = text(m, `p:testprobe kernel_clone $stack0:s${w} $stack0:u${w} $stack0:x${w} $stack0:b4@4/${w}`);
      const [, s1, u2, x3, b4] = /arg1=(\S+) arg2=(\S+) arg3=(\S+) arg4=(\S+)/.exec(out)!;
      const cw = w / 4;
      const hex = (n: bigint) => BigInt.asUintN(64, n).toString(16);
      assert.is(hex(BigInt(s1!)).slice(-cw).replace(/^0+(?=.)/, ''), hex(BigInt(u2!)), out);
      assert.is(hex(BigInt(u2!)), hex(BigInt(x3!)), out);
      assert.is(`0x${hex(BigInt(x3!))}`, x3, out);
      assert.is(BigInt(b4!).toString(16), BigInt(x3!).toString(16).padStart(3, '0').slice(-2, -1), out);
    }
  }
});

test.run();
