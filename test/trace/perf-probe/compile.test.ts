import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compilePerfProbe, fetchableVars, planToFetchArg, resolvePoint } from '../../../src/trace/perf-probe/index.js';
import { fixtureDwarf, readSource } from './fixture.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Image } from '../../../src/elf/image.js';
import { openDwarf } from '../../../src/debuginfo/open.js';
import { ROOT } from '../../../src/paths.js';
import { fixtureImage } from '../../elf/fixture.js';

const KFAKE = join(ROOT, 'fixtures', 'dwarf', 'kfake');

const d = fixtureDwarf().dwarf;
const lines = (spec: string) => {
  const r = compilePerfProbe(d, [spec], { readSource });
  if (!r.ok) throw new Error(r.reason);
  return r.value.map((e) => e.line);
};
const error = (spec: string) => {
  const r = compilePerfProbe(d, [spec], { readSource });
  assert.not.ok(r.ok, spec);
  return r.ok ? '' : r.reason;
};

// vfs_read(struct file *file, char __user *buf, size_t count, loff_t *pos): the SysV ABI puts them in
// %di, %si, %dx, %cx; struct file's f_pos is at 32 (f_op, f_inode, f_dentry: 3*8, f_flags, f_mode: 2*4).
// Unsigned values are x8..x64, as perf types them when the kernel's README lists the x types.
test('vfs_read parameters by name, with DWARF types (perf probe -D)', () => {
  assert.equal(lines('vfs_read count buf'), ['p:probe/vfs_read vfs_read+0 count=%dx:x64 buf=%si:x64']);
  assert.equal(lines('vfs_read $params'), ['p:probe/vfs_read vfs_read+0 file=%di:x64 buf=%si:x64 count=%dx:x64 pos=%cx:x64']);
  assert.equal(lines('vfs_read file->f_pos file->f_mode'), ['p:probe/vfs_read vfs_read+0 f_pos=+32(%di):s64 f_mode=+28(%di):x32']);
  assert.equal(lines('vfs_read buf:string n=count:s32'), ['p:probe/vfs_read vfs_read+0 buf_string=+0(%si):string n=%dx:s32']);
  assert.equal(lines('grp:ev=vfs_read@fs/read_write.c pos'), ['p:grp/ev vfs_read+0 pos=%cx:x64']);
  assert.equal(lines('vfs_read %di $arg2 +0(%si):u8'), ['p:probe/vfs_read vfs_read+0 %di $arg2 +0(%si):u8']);
});

test('return probes: $retval as the kernel fetches it, typed only when asked', () => {
  assert.equal(lines('vfs_read%return $retval'), ['r:probe/vfs_read__return vfs_read+0 $retval']);
  assert.equal(lines('myev=vfs_read%return'), ['r:probe/myev__return vfs_read+0']);
  assert.equal(lines('vfs_read%return ret=$retval:x64'), ['r:probe/vfs_read__return vfs_read+0 ret=$retval:x64']);
  assert.match(error('vfs_read%return count'), /only \$retval/);
  assert.match(error('vfs_read $retval'), /only available at a return probe/);
});

test('an inlined function is probed at every inlined copy and its out-of-line body', () => {
  const rw = lines('rw_verify_area count');
  assert.equal(rw.length, 3);
  const where = rw.map((l) => l.split(' ')[1]).sort();
  assert.equal(where, ['rw_verify_area+0', 'vfs_read+49', 'vfs_write+50']);
  // One event name for all: kprobe_events appends each address to the event (multiprobe).
  assert.equal(rw.map((l) => l.split(' ')[0]!.split('/')[1]), ['rw_verify_area', 'rw_verify_area', 'rw_verify_area']);
  // In vfs_read the copy's count is vfs_read's count, still in %dx at the call.
  assert.ok(rw.includes('p:probe/rw_verify_area vfs_read+49 count=%dx:x64'), rw.join('\n'));
  // A return probe needs a real return: only the out-of-line body.
  assert.equal(lines('rw_verify_area%return $retval'), ['r:probe/rw_verify_area__return rw_verify_area+0 $retval']);
  // With an earlier event of that name: an error, or with force the first free NAME_N for every address.
  const taken = (g: string, e: string) => g === 'probe' && e === 'rw_verify_area';
  const again = compilePerfProbe(d, ['rw_verify_area'], { taken });
  assert.ok(!again.ok && /already exists/.test(again.reason));
  const forced = compilePerfProbe(d, ['rw_verify_area'], { taken, force: true });
  assert.equal(forced.ok && forced.value.map((e) => e.event), ['rw_verify_area_1', 'rw_verify_area_1', 'rw_verify_area_1']);
});

test('source lines: FUNC:RLN, SRC:LINE and FUNC;PATTERN', () => {
  // Line 10 of vfs_read is line 30, `ret = rw_verify_area(...)`: the inlined call starts at vfs_read+49.
  assert.equal(lines('vfs_read:10'), ['p:probe/vfs_read_L10 vfs_read+49']);
  // FUNC_L<RLN> names FUNC:RLN only; SRC:LINE and FUNC;PATTERN are named after the function.
  assert.equal(lines('fs/read_write.c:30 count'), ['p:probe/vfs_read vfs_read+49 count=%dx:x64']);
  assert.equal(lines('vfs_read;*f_op*').map((l) => l.split(' ').slice(0, 2).join(' ')), ['p:probe/vfs_read vfs_read+15', 'p:probe/vfs_read vfs_read+60']);
  // FUNC:0 is the function; a line whose address another line claims is refused, naming that line.
  assert.equal(lines('vfs_read:0'), ['p:probe/vfs_read vfs_read+0']);
  assert.match(error('vfs_read:1'), /sharing the address with other lines\. Please try to probe at vfs_read:0 instead/);
  assert.match(error('vfs_read:3'), /not found: no code for that line/);
  assert.match(error('vfs_read;no_such_text*'), /no line of vfs_read matches/);
});

test('arrays and globals', () => {
  // int fd[2] on the stack of __sys_socketpair.
  const [sp] = lines('__sys_socketpair fd[1]');
  assert.match(sp!, /^p:probe\/__sys_socketpair __sys_socketpair\+0 fd=-52\(%sp\):s32$/);
  // Globals as perf spells them: @NAME+OFFS (the element 3 of an unsigned long array is 24 bytes in).
  assert.equal(lines('arch_send_reschedule irq_stat_resched[3] r0=irq_stat_resched[0]'),
    ['p:probe/arch_send_reschedule arch_send_reschedule+0 irq_stat_resched=@irq_stat_resched+24:x64 r0=@irq_stat_resched+0:x64']);
});

// kfake (fixtures/dwarf/kfake): struct inode { umode_t i_mode; u16 i_opflags; u32 i_flags; loff_t i_size @8;
// u32 i_state:3, i_dirty:1; s32 i_delta:12 @16; ulong i_ino @24; list_head i_list @32; char i_name[16] @48;
// int i_matrix[2][3] @64 } (88 bytes): inodes[1] starts at 88. DWARF 4 (DW_AT_bit_offset) and 5 agree.
test('bitfields, char arrays as strings, two-dimensional arrays (kfake, DWARF 4 and 5)', () => {
  for (const v of ['4', '5']) {
    const path = join(KFAKE, `kfake-dwarf${v}`);
    const kd = openDwarf(Image.load(readFileSync(path)), path).dwarf;
    const r = compilePerfProbe(kd, ['kfake_init inodes[1].i_state inodes[1].i_dirty d=inodes[1].i_delta inodes[1].i_name:string inodes[1].i_matrix[1][2] inodes[1].i_size']);
    assert.ok(r.ok, r.ok ? '' : r.reason);
    if (!r.ok) continue;
    assert.equal(r.value.map((e) => e.line), ['p:probe/kfake_init kfake_init+0 i_state=@inodes+104:b3@0/32 i_dirty=@inodes+104:b1@3/32 d=@inodes+104:b12@4/32 i_name=@inodes+136:string i_matrix=@inodes+172:s32 i_size=@inodes+96:s64'], `DWARF ${v}`);
    // A row of a 2-D array (3 ints) is still of the array type, which has no DW_AT_byte_size: perf
    // (dwarf_bytesize) gives it no type, and the kernel reads its default.
    const row = compilePerfProbe(kd, ['kfake_init inodes[1].i_matrix[1]']);
    assert.equal(row.ok && row.value.map((e) => e.line), ['p:probe/kfake_init kfake_init+0 i_matrix=@inodes+164']);
    const gone = compilePerfProbe(kd, ['sum_matrix in->i_state']);
    // Its DIE has neither a location nor a constant value: perf's die_find_variable_at passes over it.
    assert.ok(!gone.ok && /Failed to find 'in' in this function/.test(gone.reason), 'inlined copy with its parameter folded away');
  }
});

test('a variable missing at some of a probe\'s addresses is fetched as the constant \\deade12d there, typed as where it is found (perf fill_empty_trace_arg)', () => {
  const r = compilePerfProbe(d, ['console_write s']);
  assert.ok(r.ok, r.ok ? '' : r.reason);
  if (!r.ok) return;
  assert.equal(r.value.map((e) => e.line), [
    'p:probe/console_write tty_console_write+36 s=%r13:x64',
    'p:probe/console_write vprintk_emit+113 s=\\deade12d:x64',
    'p:probe/console_write vprintk_emit+548 s=\\deade12d:x64',
    'p:probe/console_write console_write+0 s=%di:x64',
  ]);
  // Missing everywhere it is an error, naming the first address.
  assert.match(error('console_write no_such_var'), /console_write \(tty_console_write\+36\): Failed to find 'no_such_var'/);
});

test('a function pattern that matches no line falls back, as perf does, to the function\'s entries (every inlined copy too)', () => {
  const image = fixtureImage();
  const symbol = (n: string) => image.functions.find((f) => f.name === n)?.addr;
  const r = compilePerfProbe(d, ['sock_hold;*return*'], { readSource, symbol });
  assert.equal(r.ok && r.value.map((e) => e.line), ['p:probe/sock_hold sk_peer_detach+67', 'p:probe/sock_hold sk_peer_get+40', 'p:probe/sock_hold sock_hold+0']);
  // Without the symbol table there is nothing to fall back on.
  assert.match(error('sock_hold;*return*'), /no line of sock_hold matches the pattern/);
});

test('errors are values with perf-like reasons', () => {
  assert.match(error('no_such_function'), /Probe point 'no_such_function' not found\./);
  assert.match(error('vfs_read no_such_var'), /Failed to find 'no_such_var'/);
  assert.match(error('vfs_read file->no_such'), /no_such is not a member of struct file/);
  assert.match(error('vfs_read file.f_pos'), /is a pointer \(use '->'\)/);
  assert.match(error('vfs_read count->x'), /is not a pointer/);
  assert.match(error('vfs_read count:string'), /cannot be a string/);
  assert.match(error('vfs_read+1000'), /out of vfs_read/);
  assert.match(error('vfs_read:1+2'), /exclude each other/);
});

test('$params locations are those ktrace vars lists', () => {
  for (const fn of ['vfs_read', 'rw_verify_area', 'ksys_read']) {
    const pts = resolvePoint(d, { function: fn, offset: 0, retprobe: false });
    assert.ok(pts.ok);
    if (!pts.ok) continue;
    for (const p of pts.value) {
      const want = fetchableVars(d, p).filter((v) => v.variable.kind === 'parameter').map((v) => `${v.variable.name}=${v.location}`);
      const r = compilePerfProbe(d, { point: { function: fn, offset: 0, retprobe: false }, args: [{ text: '$params', var: '$params', fields: [] }] });
      assert.ok(r.ok);
      const ev = r.ok ? r.value.find((e) => e.point.address === p.address)! : undefined;
      assert.equal(ev!.line.split(' ').slice(2).map((a) => a.replace(/:[^:]+$/, '')), want, `${fn} at ${p.symbol}+${p.symbolOffset}`);
    }
  }
});

test('planToFetchArg: entry values only at the entry; what a kprobe cannot fetch says why', () => {
  assert.equal(planToFetchArg({ kind: 'entry-value', reg: 5, regName: 'di' }, true), { ok: true, value: '%di' });
  assert.not.ok(planToFetchArg({ kind: 'entry-value', reg: 5, regName: 'di' }, false).ok);
  assert.equal(planToFetchArg({ kind: 'optimized-out' }, true), { ok: false, reason: 'optimized out' });
  assert.equal(planToFetchArg({ kind: 'memory', address: { kind: 'reg', reg: 7, regName: 'sp', offset: -8 } }, false), { ok: true, value: '-8(%sp)' });
});

test.run();
