import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  formatScalar, formatKprobeLine, formatKretprobeLine, latencyFlags, traceTime, traceContext, traceHeader, eventFormat, printFmt,
} from '../../../src/trace/kprobe-events/format.js';
import { FETCH_TYPES } from '../../../src/trace/kprobe-events/types.js';
import { fetchArgs } from '../../../src/trace/kprobe-events/eval.js';
import { parseKprobeCommand, type ProbeDef } from '../../../src/trace/kprobe-events/probe.js';
import { FakeMachine, fakeSymbolizer } from './fakectx.js';
import { fakeResolver } from './fake.js';

const sym = fakeSymbolizer([
  { name: 'vfs_read', addr: 0xffffffff81002000n, size: 0x90n },
  { name: 'ksys_read', addr: 0xffffffff81003000n, size: 0xf0n },
]);
const num = (value: bigint) => ({ kind: 'num' as const, value });
function probe(line: string): ProbeDef {
  const r = parseKprobeCommand(line, fakeResolver);
  if (!r.ok || r.command.kind !== 'create') throw new Error(line);
  return r.command.probe;
}

test('print functions of each type', () => {
  const T = FETCH_TYPES;
  assert.is(formatScalar(T.u8, num(0xffn), sym), '255');
  assert.is(formatScalar(T.u16, num(0xffffn), sym), '65535');
  assert.is(formatScalar(T.u32, num(0xffffffffn), sym), '4294967295');
  assert.is(formatScalar(T.u64, num(0xffffffffffffffffn), sym), '18446744073709551615');
  assert.is(formatScalar(T.s8, num(0x80n), sym), '-128');
  assert.is(formatScalar(T.s16, num(0xfffen), sym), '-2');
  assert.is(formatScalar(T.s32, num(0x7fffffffn), sym), '2147483647');
  assert.is(formatScalar(T.s64, num(0xffffffffffffffffn), sym), '-1');
  assert.is(formatScalar(T.x8, num(0xan), sym), '0xa');
  assert.is(formatScalar(T.x16, num(0xbeefn), sym), '0xbeef');
  assert.is(formatScalar(T.x32, num(0n), sym), '0x0');
  assert.is(formatScalar(T.x64, num(0xffffffff81000000n), sym), '0xffffffff81000000');
  assert.is(formatScalar(T.char, num(0x41n), sym), "'A'");
  assert.is(formatScalar(T.symbol, num(0xffffffff81002004n), sym), 'vfs_read+0x4/0x90');
  assert.is(formatScalar(T.symbol, num(0x10n), sym), '0x10');
  assert.is(formatScalar(T.string, { kind: 'str', text: 'text' }, sym), '"text"');
  assert.is(formatScalar(T.ustring, { kind: 'fault' }, sym), '(fault)');
  assert.is(formatScalar(T.symstr, { kind: 'str', text: 'vfs_read+0x0/0x90' }, sym), '"vfs_read+0x0/0x90"');
});

test('latency flags, time and context columns', () => {
  assert.is(latencyFlags({ irqsOff: false }), '.....');
  assert.is(latencyFlags({ irqsOff: true, hardirq: true, preemptCount: 1 }), 'd.h1.');
  assert.is(latencyFlags({ irqsOff: true, bhOff: true, needResched: true, preemptResched: true, softirq: true, preemptCount: 2, migrateDisable: 1 }), 'DNs21');
  assert.is(latencyFlags({ irqsOff: false, bhOff: true, needResched: true, nmi: true, hardirq: true }), 'bnZ..');
  assert.is(latencyFlags({ irqsOff: false, preemptResched: true, nmi: true, preemptCount: 0x1f }), '.pzf.');
  assert.is(traceTime(123_456_789_499n), '   123.456789');
  assert.is(traceTime(123_456_789_500n), '   123.456790'); // ns2usecs rounds
  assert.is(traceTime(5n), '     0.000000');
  assert.is(traceTime(123456_000_000_000n), ' 123456.000000');
  assert.is(traceContext({ comm: 'bash', pid: 1234, cpu: 2, tsNs: 1_500_000n, flags: { irqsOff: true } }),
    '            bash-1234    [002] d....     0.001500: ');
  assert.is(traceContext({ comm: 'a-very-long-command-name', pid: 12345678, cpu: 1000, tsNs: 0n, flags: { irqsOff: false } }),
    'a-very-long-command-name-12345678 [1000] .....     0.000000: ');
});

test('kprobe and kretprobe event lines', () => {
  const m = new FakeMachine();
  m.setReg('di', 3n).setReg('ax', 0xfffffffffffffff5n);
  const p = probe('p:myprobe vfs_read fd=%di:s32');
  const r = probe('r:myret vfs_read ret=$retval:s64');
  const ctx = { comm: 'cat', pid: 42, cpu: 0, tsNs: 2_000_123_456n, flags: { irqsOff: false } };
  assert.is(formatKprobeLine(ctx, p.event, 0xffffffff81002000n, fetchArgs(p, m), sym),
    '             cat-42      [000] .....     2.000123: myprobe: (vfs_read+0x0/0x90) fd=3\n');
  assert.is(formatKretprobeLine(ctx, r.event, 0xffffffff8100306en, 0xffffffff81002000n, fetchArgs(r, m), sym),
    '             cat-42      [000] .....     2.000123: myret: (ksys_read+0x6e/0xf0 <- vfs_read) ret=-11\n');
  // Unnamed addresses: %pS falls back to 0x..., the no-offset form to 0x%08lx; a NULL ip prints 0.
  assert.is(formatKretprobeLine(ctx, 'e', 0n, 0x1000n, [], sym), '             cat-42      [000] .....     2.000123: e: (0 <- 0x00001000)\n');
  assert.is(formatKprobeLine(ctx, 'e', 0x12n, [], sym), '             cat-42      [000] .....     2.000123: e: (0x12)\n');
  const tramp = { ...sym, isKretprobeTrampoline: (a: bigint) => a === 0xffffffff81000100n };
  assert.is(formatKretprobeLine(ctx, 'e', 0xffffffff81000100n, 0xffffffff81002000n, [], tramp),
    "             cat-42      [000] .....     2.000123: e: ([unknown/kretprobe'd] <- vfs_read)\n");
});

test('trace header (nop tracer, irq-info)', () => {
  assert.is(traceHeader(3, 5, 2),
    '# tracer: nop\n' +
    '#\n' +
    '# entries-in-buffer/entries-written: 3/5   #P:2\n' +
    '#\n' +
    '#                                _-----=> irqs-off/BH-disabled\n' +
    '#                               / _----=> need-resched\n' +
    '#                              | / _---=> hardirq/softirq\n' +
    '#                              || / _--=> preempt-depth\n' +
    '#                              ||| / _-=> migrate-disable\n' +
    '#                              |||| /     delay\n' +
    '#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n' +
    '#              | |         |   |||||     |         |\n');
  // The columns line up with the context of a line.
  const line = traceContext({ comm: 'bash', pid: 1, cpu: 0, tsNs: 0n, flags: { irqsOff: false } });
  const hdr = traceHeader(0, 0, 1).split('\n');
  assert.is(hdr[10]!.indexOf('CPU#'), line.indexOf('['));
  assert.is(hdr[10]!.indexOf('|||||'), line.indexOf('.....'));
  assert.is(hdr[9]!.indexOf('|||| /'), line.indexOf('.....'));
});

test('print fmt and event format file', () => {
  const p = probe('p:grp/ev vfs_read fd=%di:s32 buf=+0(%si):string arr=+0(%si):u8[2] sym=%ip:symbol');
  assert.is(printFmt(p),
    '"(%lx) fd=%d buf=\\"%s\\" arr={%u,%u} sym=%pS", REC->__probe_ip, REC->fd, __get_str(buf), REC->arr[0], REC->arr[1], REC->sym');
  assert.is(eventFormat(p, 1234),
    'name: ev\nID: 1234\nformat:\n' +
    '\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n' +
    '\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n' +
    '\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n' +
    '\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n' +
    '\n' +
    '\tfield:unsigned long __probe_ip;\toffset:8;\tsize:8;\tsigned:0;\n' +
    '\tfield:s32 fd;\toffset:16;\tsize:4;\tsigned:1;\n' +
    '\tfield:__data_loc char[] buf;\toffset:20;\tsize:4;\tsigned:1;\n' +
    '\tfield:u8[2] arr;\toffset:24;\tsize:2;\tsigned:0;\n' +
    '\tfield:u64 sym;\toffset:26;\tsize:8;\tsigned:0;\n' +
    '\nprint fmt: "(%lx) fd=%d buf=\\"%s\\" arr={%u,%u} sym=%pS", REC->__probe_ip, REC->fd, __get_str(buf), REC->arr[0], REC->arr[1], REC->sym\n');
  const r = probe('r vfs_read $retval');
  assert.is(printFmt(r), '"(%lx <- %lx) arg1=0x%Lx", REC->__probe_func, REC->__probe_ret_ip, REC->arg1');
  assert.ok(eventFormat(r, 7).includes('\tfield:unsigned long __probe_func;\toffset:8;\tsize:8;\tsigned:0;\n\tfield:unsigned long __probe_ret_ip;\toffset:16;\tsize:8;\tsigned:0;\n\tfield:u64 arg1;\toffset:24;'));
});

test.run();
