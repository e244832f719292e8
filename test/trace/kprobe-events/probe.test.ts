import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseKprobeCommand, defaultEventName, probesOf, type ProbeDef } from '../../../src/trace/kprobe-events/probe.js';
import { checkRegister, registrationError } from '../../../src/trace/kprobe-events/register.js';
import { ErrorLog } from '../../../src/trace/kprobe-events/error-log.js';
import { showProbe } from '../../../src/trace/kprobe-events/show.js';
import { fakeResolver } from './fake.js';

/** A tiny kprobe_events: parse, check against the table, log errors like the kernel. */
function session() {
  const table: ProbeDef[] = [];
  const log = new ErrorLog();
  let now = 1_000_000_000n;
  function write(line: string): number {
    const r = parseKprobeCommand(line, fakeResolver);
    now += 1000n;
    if (!r.ok) { for (const e of r.log) log.add(e, now); return r.errno; }
    if (r.command.kind !== 'create') return 0;
    const d = checkRegister(table, r.command.probe);
    if (!d.ok) { log.add(d.err, now); return d.errno; }
    table.push(r.command.probe);
    return 0;
  }
  return { table, log, write };
}

/**
 * The selftests' ftrace_errlog_check: the caret marks the error position; the command must fail
 * and the last error_log line ("   ...^\n") must be 13 + pos bytes long.
 */
function checkError(s: ReturnType<typeof session>, marked: string, code?: string): void {
  const pos = marked.indexOf('^');
  const command = marked.replace('^', '');
  s.log.clear();
  const rc = s.write(command);
  assert.ok(rc < 0, `${command}: should fail`);
  const text = s.log.text();
  const lines = text.split('\n');
  const last = lines[lines.length - 2]!;
  assert.is(last.length + 1, 13 + pos, `${marked}: caret\n${text}`);
  assert.ok(text.includes(`  Command: ${command}\n`), text);
  if (code) assert.is(s.log.entries[0]!.code, code, `${marked}: ${text}`);
  const n = s.log.entries.length;
  assert.is(s.log.entries[n - 1]!.pos, pos);
}

// tools/testing/selftests/ftrace/test.d/kprobe/kprobe_syntax_errors.tc, on a kernel whose README
// advertises r[maxactive], $arg<N>, imm-value, imm-string, $comm, arrays, %return and multiprobes,
// without BTF arguments.
const SYNTAX_CASES: [string, string][] = [
  ['p^100 vfs_read', 'BAD_MAXACT_TYPE'],
  ['r^1a111 vfs_read', 'BAD_MAXACT'],
  ['r^100000 vfs_read', 'MAXACT_TOO_BIG'],
  ['p ^non_exist_func', 'BAD_PROBE_ADDR'],
  ['p ^hoge-fuga', 'BAD_PROBE_ADDR'],
  ['p ^hoge+1000-1000', 'BAD_PROBE_ADDR'],
  ['r ^vfs_read+10', 'BAD_RETPROBE'],
  ['p:^/bar vfs_read', 'NO_GROUP_NAME'],
  ['p:^12345678901234567890123456789012345678901234567890123456789012345/bar vfs_read', 'GROUP_TOO_LONG'],
  ['p:^foo.1/bar vfs_read', 'BAD_GROUP_NAME'],
  ['p:^ vfs_read', 'NO_EVENT_NAME'],
  ['p:foo/^12345678901234567890123456789012345678901234567890123456789012345 vfs_read', 'EVENT_TOO_LONG'],
  ['p:foo/^bar.1 vfs_read', 'BAD_EVENT_NAME'],
  ['p vfs_read ^$retval', 'RETVAL_ON_PROBE'],
  ['p vfs_read ^$stack10000', 'BAD_STACK_NUM'],
  ['p vfs_read ^$arg10000', 'BAD_ARG_NUM'],
  ['p vfs_read ^$none_var', 'BAD_VAR'],
  ['p vfs_read ^%none_reg', 'BAD_REG_NAME'],
  ['p vfs_read ^@12345678abcde', 'BAD_MEM_ADDR'],
  ['p vfs_read ^@+10', 'FILE_ON_KPROBE'],
  ['p vfs_read arg1=\\^x', 'BAD_IMM'],
  ['p vfs_read arg1=\\"abcd^', 'IMMSTR_NO_CLOSE'],
  ['p vfs_read ^+0@0)', 'DEREF_NEED_BRACE'],
  ['p vfs_read ^+0ab1(@0)', 'BAD_DEREF_OFFS'],
  ['p vfs_read +0(+0(@0^)', 'DEREF_OPEN_BRACE'],
  ['p vfs_read +0(^$comm)', 'COMM_CANT_DEREF'],
  ['p vfs_read ^&1', 'BAD_FETCH_ARG'],
  ['p vfs_read +0(^+0(+0(+0(+0(+0(+0(+0(+0(+0(+0(+0(+0(+0(@0))))))))))))))', 'TOO_MANY_OPS'],
  ['p vfs_read +0(@11):u8[10^', 'ARRAY_NO_CLOSE'],
  ['p vfs_read +0(@11):u8[10]^a', 'BAD_ARRAY_SUFFIX'],
  ['p vfs_read +0(@11):u8[^10a]', 'BAD_ARRAY_NUM'],
  ['p vfs_read +0(@11):u8[^256]', 'ARRAY_TOO_BIG'],
  ['p vfs_read @11:^unknown_type', 'BAD_TYPE'],
  ['p vfs_read $stack0:^string', 'BAD_STRING'],
  ['p vfs_read @11:^b10@a/16', 'BAD_BITFIELD'],
  ['p vfs_read ^arg123456789012345678901234567890=@11', 'ARG_NAME_TOO_LONG'],
  ['p vfs_read ^=@11', 'NO_ARG_NAME'],
  ['p vfs_read ^var.1=@11', 'BAD_ARG_NAME'],
  ['p vfs_read var1=@11 ^var1=@12', 'USED_ARG_NAME'],
  ['p vfs_read ^+1234567(+1234567(+1234567(+1234567(+1234567(+1234567(@1234))))))', 'ARG_TOO_LONG'],
  ['p vfs_read arg1=^', 'NO_ARG_BODY'],
  ['p vfs_read^%hoge', 'BAD_ADDR_SUFFIX'],
  ['p ^vfs_read+10%return', 'BAD_RETPROBE'],
  ['p vfs_read ^$arg*', 'NOSUP_BTFARG'],
];

for (const [marked, code] of SYNTAX_CASES) {
  test(`kprobe_syntax_errors: ${code} ${marked}`, () => checkError(session(), marked, code));
}

test('kprobe_syntax_errors: multiprobe errors', () => {
  const s = session();
  assert.is(s.write('p:kprobes/testevent kernel_clone'), 0);
  checkError(s, '^r:kprobes/testevent do_exit', 'DIFF_PROBE_TYPE');
  assert.is(s.write('-:kprobes/testevent'), 0); // the session has no delete; start over
  const t = session();
  assert.is(t.write('p:kprobes/testevent kernel_clone abcd=\\1'), 0);
  checkError(t, 'p:kprobes/testevent kernel_clone ^bcd=\\1', 'DIFF_ARG_TYPE');
  checkError(t, 'p:kprobes/testevent kernel_clone ^abcd=\\1:u8', 'DIFF_ARG_TYPE');
  checkError(t, 'p:kprobes/testevent kernel_clone ^abcd=\\"foo"', 'DIFF_ARG_TYPE');
  checkError(t, '^p:kprobes/testevent kernel_clone abcd=\\1', 'SAME_PROBE');
  // A different probe point with the same arguments is appended to the event.
  assert.is(t.write('p:kprobes/testevent do_exit abcd=\\1'), 0);
  assert.is(t.table.length, 2);
});

test('$arg* without BTF: NOSUP_BTFARG, then the word itself fails', () => {
  const two = parseKprobeCommand('p vfs_read $arg*', fakeResolver);
  assert.ok(!two.ok);
  if (!two.ok) {
    assert.equal(two.log.map((e) => `${e.code}@${e.pos}`), ['NOSUP_BTFARG@11', 'BAD_VAR@11']);
    assert.is(two.err?.code, 'BAD_VAR');
  }
  // Logged at the last "$arg" word the scan saw.
  const later = parseKprobeCommand('p vfs_read $arg* $arg1', fakeResolver);
  if (!later.ok) assert.equal(later.log.map((e) => `${e.code}@${e.pos}`), ['NOSUP_BTFARG@17', 'BAD_VAR@11']);
  else assert.unreachable();
  checkError(session(), 'p vfs_read $arg* ^$arg*', 'DOUBLE_ARGS');
  checkError(session(), 'p vfs_read+20 ^$arg*', 'NOFENTRY_ARGS');
});

test('registration failures are logged against the probe point', () => {
  const r = parseKprobeCommand('p vfs_read+3', fakeResolver);
  assert.ok(r.ok && r.command.kind === 'create');
  if (!r.ok || r.command.kind !== 'create') return;
  const e = registrationError(r.command.probe, -84)!;
  assert.is(e.code, 'BAD_INSN_BNDRY');
  assert.is(e.pos, 2);
  assert.is(registrationError(r.command.probe, -2)!.code, 'BAD_PROBE_ADDR');
  assert.is(registrationError(r.command.probe, -22)!.code, 'FAIL_REG_PROBE');
  assert.is(registrationError(r.command.probe, -12), undefined);
});

test('failures that log nothing: not a kprobe command, no probe point, uprobe syntax', () => {
  for (const line of ['x vfs_read', 'p', 'p:foo', 'p /bin/sh:0x10', '-', '-foo', '-:']) {
    const r = parseKprobeCommand(line, fakeResolver);
    assert.ok(!r.ok, line);
    if (!r.ok) { assert.is(r.errno, -22, line); assert.is(r.err, undefined, line); assert.equal(r.log, [], line); }
  }
  const blank = parseKprobeCommand('   ', fakeResolver);
  assert.ok(blank.ok && blank.command.kind === 'none');
});

test('probesOf: the probes a stored kprobe_events text defines, read without a kernel', () => {
  const text = 'p:probe/vfs_read vfs_read+0 count=%dx:u64\nr4:kprobes/ret_x no_such_symbol\n-:probe/gone\n\np foo+8\nnot a command\n';
  assert.equal(probesOf(text).map((p) => `${p.type}:${p.group}/${p.event} ${p.symbol}+${p.offset}`),
    ['p:probe/vfs_read vfs_read+0', 'r:kprobes/ret_x no_such_symbol+0', 'p:kprobes/p_foo_8 foo+8']);
});

test('non-unique symbols are refused', () => {
  const r = parseKprobeCommand('p dup_static', fakeResolver);
  assert.ok(!r.ok && r.err?.code === 'NON_UNIQ_SYMBOL' && r.err.pos === 2);
});

test('a module symbol whose module is not loaded is accepted (registered later)', () => {
  const r = parseKprobeCommand('p nfs:nfs_read', fakeResolver);
  assert.ok(r.ok && r.command.kind === 'create');
  if (r.ok && r.command.kind === 'create') {
    assert.is(r.command.probe.event, 'p_nfs_nfs_read_0');
    assert.is(r.command.probe.flags.fentry, false);
    assert.is(showProbe(r.command.probe), 'p:kprobes/p_nfs_nfs_read_0 nfs:nfs_read');
  }
});

test('default event names', () => {
  assert.is(defaultEventName(false, 'vfs_read', 0), 'p_vfs_read_0');
  assert.is(defaultEventName(true, 'vfs_read', 0), 'r_vfs_read_0');
  assert.is(defaultEventName(false, 'foo.isra.0', 16), 'p_foo_isra_0_16');
  assert.is(defaultEventName(false, undefined, 0, 0xffffffff81000000n), 'p_0xffffffff81000000');
  assert.is(defaultEventName(false, undefined, 0, 0x1000n), 'p_0x0000000000001000');
  assert.is(defaultEventName(false, 'x'.repeat(80), 0).length, 63);
});

test('maxactive: bases, bounds, and only on return probes', () => {
  const ok = (line: string, max: number) => {
    const r = parseKprobeCommand(line, fakeResolver);
    assert.ok(r.ok && r.command.kind === 'create', line);
    if (r.ok && r.command.kind === 'create') assert.is(r.command.probe.maxactive, max, line);
  };
  ok('r10 vfs_read', 10);
  ok('r0x10:myret vfs_read', 16);
  ok('r010 vfs_read', 8);
  ok('r4096 vfs_read', 4096);
  checkError(session(), 'r^4097 vfs_read', 'MAXACT_TOO_BIG');
  checkError(session(), 'r^0 vfs_read', 'BAD_MAXACT');
  checkError(session(), 'r^99999999999 vfs_read', 'BAD_MAXACT');
});

test('event names: group only, dot separator, lengths, hyphen in groups', () => {
  const ev = (line: string) => {
    const r = parseKprobeCommand(line, fakeResolver);
    if (!r.ok || r.command.kind !== 'create') throw new Error(`${line}: ${JSON.stringify(r)}`);
    return `${r.command.probe.group}/${r.command.probe.event}`;
  };
  assert.is(ev('p:mygrp/ vfs_read'), 'mygrp/p_vfs_read_0');
  assert.is(ev('p:mygrp.myev vfs_read'), 'mygrp/myev');
  assert.is(ev('p:my-grp/ev vfs_read'), 'my-grp/ev');
  assert.is(ev('p:myev vfs_read'), 'kprobes/myev');
  assert.is(ev(`p:${'g'.repeat(63)}/${'e'.repeat(64)} vfs_read`), `${'g'.repeat(63)}/${'e'.repeat(64)}`);
  checkError(session(), `p:^${'g'.repeat(64)}/e vfs_read`, 'GROUP_TOO_LONG');
  checkError(session(), `p:g/^${'e'.repeat(65)} vfs_read`, 'EVENT_TOO_LONG');
  checkError(session(), 'p:^1abc vfs_read', 'BAD_EVENT_NAME');
  // The probe point is checked before the event name.
  checkError(session(), 'p:bad.name/x ^nosuch', 'BAD_PROBE_ADDR');
});

test('$arg checks run over all words before any argument is parsed', () => {
  checkError(session(), 'p vfs_read $retval ^$argx', 'BAD_VAR');
  checkError(session(), 'p vfs_read+4 ^$arg1', 'NOFENTRY_ARGS');
  checkError(session(), 'p 0xffffffff81002000 ^$arg1', 'NOFENTRY_ARGS');
  checkError(session(), 'p vfs_read+4 a=^$arg1', 'NOFENTRY_ARGS');
  checkError(session(), 'p vfs_read ^$arg0', 'BAD_ARG_NUM');
});

test('too many arguments', () => {
  const many = Array.from({ length: 129 }, (_, i) => `a${i}=%ax`).join(' ');
  const r = parseKprobeCommand(`p vfs_read ${many}`, fakeResolver);
  assert.ok(!r.ok && r.err?.code === 'TOO_MANY_ARGS' && r.err.pos === 11);
  const ok = parseKprobeCommand(`p vfs_read ${Array.from({ length: 128 }, (_, i) => `a${i}=%ax`).join(' ')}`, fakeResolver);
  assert.ok(ok.ok);
});

test('delete commands', () => {
  const d = (line: string) => parseKprobeCommand(line, fakeResolver);
  const a = d('-:kprobes/myev');
  assert.equal(a.ok && a.command, { kind: 'delete', spec: { group: 'kprobes', event: 'myev', match: [] } });
  const b = d('-:myev vfs_read arg1=%di');
  assert.equal(b.ok && b.command, { kind: 'delete', spec: { event: 'myev', match: ['vfs_read', 'arg1=%di'] } });
  const c = d('-:grp/');
  assert.equal(c.ok && c.command, { kind: 'delete', spec: { group: 'grp', event: '', match: [] } });
});

test.run();
