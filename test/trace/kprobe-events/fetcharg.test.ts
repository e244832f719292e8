import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseProbeArgument, PARAM_MAX_STACK } from '../../../src/trace/kprobe-events/fetcharg.js';
import type { FetchOp } from '../../../src/trace/kprobe-events/fetch.js';
import { parseKprobeCommand } from '../../../src/trace/kprobe-events/probe.js';
import { showProbe } from '../../../src/trace/kprobe-events/show.js';
import { fakeResolver } from './fake.js';

const ENTRY = { ret: false, fentry: true };
const RET = { ret: true, fentry: false };
const MID = { ret: false, fentry: false };

function ok(word: string, flags = ENTRY) {
  const r = parseProbeArgument(word, 0, [], flags);
  if (!r.ok) throw new Error(`${word}: ${r.err.code} at ${r.err.offset}`);
  return r.arg;
}
function bad(word: string, flags = ENTRY) {
  const r = parseProbeArgument(word, 0, [], flags);
  if (r.ok) throw new Error(`${word}: accepted`);
  return r.err;
}
/** The caret convention of the selftests: '^' marks where the error must point. */
function rejects(marked: string, code: string, flags = ENTRY) {
  const e = bad(marked.replace('^', ''), flags);
  assert.is(e.code, code, marked);
  assert.is(e.offset, marked.indexOf('^'), `${marked}: offset`);
}

const reg = (r: string): FetchOp => ({ kind: 'reg', reg: r } as FetchOp);

test('registers: x86-64 pt_regs names only', () => {
  for (const r of ['ax', 'bx', 'cx', 'dx', 'si', 'di', 'bp', 'sp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'ip', 'flags', 'cs', 'ss', 'orig_ax']) {
    assert.equal(ok(`%${r}`).fetch, reg(r), r);
  }
  for (const r of ['rax', 'eax', 'rdi', 'al', 'ds', 'es', 'fs', 'gs', 'r16', 'RIP', '']) rejects(`^%${r}`, 'BAD_REG_NAME');
});

test('default type is x64; names are argN unless given', () => {
  const a = ok('%di');
  assert.is(a.type.name, 'x64');
  assert.is(a.name, 'arg1');
  assert.is(parseProbeArgument('%si', 4, [], ENTRY).ok && (parseProbeArgument('%si', 4, [], ENTRY) as { arg: { name: string } }).arg.name, 'arg5');
  assert.is(ok('fd=%di:s32').name, 'fd');
  assert.is(ok('_x9=%di').name, '_x9');
});

test('$ variables', () => {
  assert.equal(ok('$stack').fetch, { kind: 'stackp' });
  assert.equal(ok('$stack0').fetch, { kind: 'stack', index: 0 });
  assert.equal(ok(`$stack${PARAM_MAX_STACK}`).fetch, { kind: 'stack', index: PARAM_MAX_STACK });
  rejects(`^$stack${PARAM_MAX_STACK + 1}`, 'BAD_STACK_NUM');
  rejects('^$stack0x10', 'BAD_VAR');
  rejects('^$stackx', 'BAD_VAR');
  assert.equal(ok('$retval', RET).fetch, { kind: 'retval' });
  assert.equal(ok('$retvalue', RET).fetch, { kind: 'retval' }); // str_has_prefix, as the kernel
  rejects('^$retval', 'RETVAL_ON_PROBE');
  assert.equal(ok('$comm').fetch, { kind: 'comm' });
  assert.equal(ok('$COMM').fetch, { kind: 'comm' });
  assert.is(ok('$comm').type.name, 'string');
  assert.equal(ok('$arg1').fetch, { kind: 'arg', index: 1, entry: false });
  assert.equal(ok('$arg3', RET).fetch, { kind: 'arg', index: 3, entry: true });
  rejects('x=^$arg1', 'NOFENTRY_ARGS', MID);
  rejects('^$arg0', 'BAD_ARG_NUM');
  rejects(`^$arg${PARAM_MAX_STACK + 1}`, 'BAD_ARG_NUM');
  rejects('^$argv', 'BAD_VAR');
  rejects('^$foo', 'BAD_VAR');
  rejects('^$', 'BAD_VAR');
});

test('memory: @ADDR, @SYM[+|-offs]', () => {
  assert.equal(ok('@0xffffffff81000000').fetch, { kind: 'mem', addr: 0xffffffff81000000n });
  assert.equal(ok('@1234').fetch, { kind: 'mem', addr: 1234n });
  assert.equal(ok('@jiffies').fetch, { kind: 'sym', text: 'jiffies' });
  assert.equal(ok('@jiffies+8').fetch, { kind: 'sym', text: 'jiffies+8' });
  assert.equal(ok('@jiffies-0x10').fetch, { kind: 'sym', text: 'jiffies-0x10' });
  rejects('^@0x', 'BAD_MEM_ADDR');
  rejects('^@0xfffffffffffffffff', 'BAD_MEM_ADDR');
  rejects('^@+0x10', 'FILE_ON_KPROBE');
});

test('dereferences, nested, with user access', () => {
  assert.equal(ok('+8(%di)').fetch, { kind: 'deref', offset: 8n, user: false, base: reg('di') });
  assert.equal(ok('-0x10(%sp)').fetch, { kind: 'deref', offset: -16n, user: false, base: reg('sp') });
  assert.equal(ok('+0(+8(%di))').fetch,
    { kind: 'deref', offset: 0n, user: false, base: { kind: 'deref', offset: 8n, user: false, base: reg('di') } });
  assert.equal(ok('+u4(%si)').fetch, { kind: 'deref', offset: 4n, user: true, base: reg('si') });
  assert.equal(ok('-u4(%si)').fetch, { kind: 'deref', offset: -4n, user: true, base: reg('si') });
  assert.equal(ok('+0($stack)').fetch, { kind: 'deref', offset: 0n, user: false, base: { kind: 'stackp' } });
  assert.equal(ok('+0(@jiffies)').fetch, { kind: 'deref', offset: 0n, user: false, base: { kind: 'sym', text: 'jiffies' } });
  assert.equal(ok('+0(%di)junk').fetch, { kind: 'deref', offset: 0n, user: false, base: reg('di') }); // after ')' is dropped
  rejects('^+8%di', 'DEREF_NEED_BRACE');
  rejects('^+x(%di)', 'BAD_DEREF_OFFS');
  rejects('^+(%di)', 'BAD_DEREF_OFFS');
  rejects('+8(%di^', 'DEREF_OPEN_BRACE');
  rejects('+8(^%xx)', 'BAD_REG_NAME');
  rejects('-8(^%xx)', 'BAD_REG_NAME');
  // The kernel reports one column left of the inner argument after "+u"/"-u".
  rejects('+u8^(%xx)', 'BAD_REG_NAME');
  rejects('-u8^(%xx)', 'BAD_REG_NAME');
  rejects('+0(^)', 'BAD_FETCH_ARG');
  rejects('+0(^$comm)', 'COMM_CANT_DEREF');
  rejects('+0(^\\"ab")', 'COMM_CANT_DEREF');
  // The 16-slot program ends in END at slot 15: a register load plus 14 dereferences fit (the
  // last dereference becomes the store), a 15th lands on END. The error points at the outermost
  // dereference's inner argument.
  const nest = (n: number) => '+0('.repeat(n) + '%di' + ')'.repeat(n);
  assert.ok(parseProbeArgument(nest(14), 0, [], ENTRY).ok);
  rejects('+0(^' + nest(14) + ')', 'TOO_MANY_OPS');
  // A raw store needs its own slot: 13 dereferences of a string-typed immediate still fit.
  assert.ok(parseProbeArgument(nest(13), 0, [], ENTRY).ok);
});

test('immediates', () => {
  assert.equal(ok('\\1').fetch, { kind: 'imm', value: 1n });
  assert.equal(ok('\\0x10').fetch, { kind: 'imm', value: 16n });
  assert.equal(ok('\\-1').fetch, { kind: 'imm', value: 0xffffffffffffffffn });
  assert.equal(ok('\\+5').fetch, { kind: 'imm', value: 5n });
  assert.equal(ok('\\"hello"').fetch, { kind: 'immstr', text: 'hello' });
  assert.equal(ok('\\"').fetch, { kind: 'immstr', text: '' });
  assert.is(ok('\\"hi"').type.name, 'string');
  rejects('\\^x', 'BAD_IMM');
  rejects('\\^', 'BAD_IMM');
  rejects('\\"abc^', 'IMMSTR_NO_CLOSE');
});

test('bare names need BTF; other characters are not fetch args', () => {
  rejects('^file', 'NOSUP_BTFARG');
  rejects('^_x', 'NOSUP_BTFARG');
  rejects('v=^file', 'NOSUP_BTFARG', MID);
  rejects('^&1', 'BAD_FETCH_ARG');
  rejects('^9', 'BAD_FETCH_ARG');
});

test('types', () => {
  for (const t of ['u8', 'u16', 'u32', 'u64', 's8', 's16', 's32', 's64', 'x8', 'x16', 'x32', 'x64', 'char', 'symbol']) {
    assert.is(ok(`%di:${t}`).type.name, t);
  }
  assert.is(ok('+0(%di):string').type.name, 'string');
  assert.is(ok('+0(%di):ustring').type.name, 'ustring');
  assert.is(ok('\\0x1000:string').type.name, 'string');
  assert.is(ok('$comm:string').type.name, 'string');
  for (const w of ['%di:symstr', '$stack1:symstr', '+0(%di):symstr']) assert.is(ok(w).type.name, 'symstr');
  assert.is(ok('$retval:symstr', RET).type.name, 'symstr');
  rejects('%di:^u128', 'BAD_TYPE');
  rejects('%di:^', 'BAD_TYPE');
  rejects('%di:^string', 'BAD_STRING');
  rejects('%di:^ustring', 'BAD_STRING');
  assert.is(ok('@11:symstr').type.name, 'symstr'); // @ADDR ends in a dereference, which symstr takes
  rejects('\\1:^symstr', 'BAD_SYMSTRING');
  rejects('$comm:^u32', 'NEED_STRING_TYPE');
  rejects('$comm:^string[2]', 'NEED_STRING_TYPE');
  rejects('\\"x":^x8', 'NEED_STRING_TYPE');
});

test('bitfields', () => {
  const a = ok('+0(%di):b4@2/8');
  assert.is(a.type.name, 'u8');
  assert.equal(a.bitfield, { width: 4, offset: 2, container: 1 });
  assert.equal(ok('%di:b1@63/64').bitfield, { width: 1, offset: 63, container: 8 });
  assert.equal(ok('%di:b0x3@0x4/0x20').bitfield, { width: 3, offset: 4, container: 4 });
  rejects('%di:^b2@63/64', 'BAD_BITFIELD');
  rejects('%di:^b0@0/8', 'BAD_BITFIELD');
  rejects('%di:^b4/8', 'BAD_BITFIELD');
  rejects('%di:^b4@/8', 'BAD_BITFIELD');
  rejects('%di:^b4@1/12', 'BAD_TYPE');
  rejects('%di:^b4@1', 'BAD_TYPE');
});

test('arrays', () => {
  const a = ok('+0(%di):u16[4]');
  assert.is(a.count, 4);
  assert.is(a.type.name, 'u16');
  assert.is(ok('+0(%di):string[2]').count, 2);
  assert.is(ok('@jiffies:x8[64]').count, 64);
  rejects('+0(%di):u8[^65]', 'ARRAY_TOO_BIG');
  rejects('+0(%di):u8[^0]', 'BAD_ARRAY_NUM');
  rejects('+0(%di):u8[^]', 'BAD_ARRAY_NUM');
  rejects('%di:^u8[2]', 'BAD_STRING');
  // Late type errors count the type offset from the innermost dereference's argument (kernel quirk).
  rejects('+0(%di):sym^str[2]', 'BAD_STRING');
  rejects('@11:^symstr[2]', 'BAD_STRING');
});

test('argument names and lengths', () => {
  const long = 'a'.repeat(32);
  assert.is(ok(`${long}=%di`).name, long);
  rejects(`^${long}b=%di`, 'ARG_NAME_TOO_LONG');
  rejects('^=%di', 'NO_ARG_NAME');
  rejects('^1x=%di', 'BAD_ARG_NAME');
  rejects('^a-b=%di', 'BAD_ARG_NAME');
  for (const n of ['common_pid', '__probe_ip', '__probe_ret_ip', '__probe_func', 'common_type']) rejects(`^${n}=%di`, 'USED_ARG_NAME');
  rejects('x=^', 'NO_ARG_BODY');
  rejects('^' + '+123456789(' + '+1234567(+1234567(+1234567(+1234567(+1234567(@1234)))))' + ')', 'ARG_TOO_LONG');
  const exactly63 = '+0(' + '+0('.repeat(4) + '@' + '0'.repeat(63 - 3 - 12 - 1 - 5) + ')'.repeat(5);
  assert.is(exactly63.length, 63);
  assert.ok(parseProbeArgument(exactly63, 0, [], ENTRY).ok);
  rejects('^' + exactly63 + '0', 'ARG_TOO_LONG');
  rejects('name=^' + exactly63 + '0', 'ARG_TOO_LONG');
  const used = parseProbeArgument('%si', 1, [ok('arg2=%di')], ENTRY);
  assert.ok(!used.ok && used.err.code === 'USED_ARG_NAME' && used.err.offset === 0);
});

test('accepted lines read back in the kernel canonical form', () => {
  const cases: [string, string][] = [
    ['p vfs_read', 'p:kprobes/p_vfs_read_0 vfs_read'],
    ['p vfs_read+0', 'p:kprobes/p_vfs_read_0 vfs_read'],
    ['p vfs_read+0x10 %di', 'p:kprobes/p_vfs_read_16 vfs_read+16 arg1=%di'],
    ['r vfs_read $retval', 'r:kprobes/r_vfs_read_0 vfs_read arg1=$retval'],
    ['p vfs_read%return $retval:s32', 'r:kprobes/r_vfs_read_0 vfs_read arg1=$retval:s32'],
    ['r100:grp/ev vfs_read', 'r100:grp/ev vfs_read'],
    ['p:myprobe vfs_read fd=%di:u32 buf=+0(%si):string cnt=%dx', 'p:kprobes/myprobe vfs_read fd=%di:u32 buf=+0(%si):string cnt=%dx'],
    ['p  vfs_read\t%di   %si ', 'p:kprobes/p_vfs_read_0 vfs_read arg1=%di arg2=%si'],
    ['p 0xffffffff81002000 %ax', 'p:kprobes/p_0xffffffff81002000 0xffffffff81002000 arg1=%ax'],
    ['p:g/e vfs_read c=$comm n=\\"lit" i=\\-1 a=$arg2 s=@jiffies+8:u32 bf=+1(%di):b3@2/8 arr=+0(%di):x8[3] sym=%ip:symbol ss=%ip:symstr',
      'p:g/e vfs_read c=$comm n=\\"lit" i=\\-1 a=$arg2 s=@jiffies+8:u32 bf=+1(%di):b3@2/8 arr=+0(%di):x8[3] sym=%ip:symbol ss=%ip:symstr'],
    ['pxyz vfs_read', 'p:kprobes/p_vfs_read_0 vfs_read'],
    ['r endbr_func+4', 'r:kprobes/r_endbr_func_4 endbr_func+4'],
  ];
  for (const [line, want] of cases) {
    const r = parseKprobeCommand(line, fakeResolver);
    if (!r.ok || r.command.kind !== 'create') throw new Error(`${line}: ${JSON.stringify(r)}`);
    assert.is(showProbe(r.command.probe), want, line);
    // The canonical form parses back to itself.
    const again = parseKprobeCommand(want, fakeResolver);
    assert.ok(again.ok && again.command.kind === 'create' && showProbe(again.command.probe) === want, want);
  }
});

test('flags: entry, mid-function, return, address', () => {
  const flags = (line: string) => {
    const r = parseKprobeCommand(line, fakeResolver);
    if (!r.ok || r.command.kind !== 'create') throw new Error(line);
    return r.command.probe.flags;
  };
  assert.equal(flags('p vfs_read'), { ret: false, fentry: true });
  assert.equal(flags('p vfs_read+4'), { ret: false, fentry: false });
  assert.equal(flags('r vfs_read'), { ret: true, fentry: false });
  assert.equal(flags('p endbr_func+4'), { ret: false, fentry: true });
  // An address probe is neither: the kernel sets TPARG_FL_RETURN only for symbols, so even an
  // r-probe at an address cannot use $retval.
  assert.equal(flags('r 0xffffffff81002000'), { ret: false, fentry: false });
  const r = parseKprobeCommand('r 0xffffffff81002000 $retval', fakeResolver);
  assert.ok(!r.ok && r.err?.code === 'RETVAL_ON_PROBE');
});

test.run();
