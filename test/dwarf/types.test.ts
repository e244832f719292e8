// The type graph on the kernel-shaped test program, DWARF 4 and DWARF 5 alike. Expected values are gdb's
// (`ptype/o struct inode`, `whatis`, `print &((struct file *)0)->f_pos`) on the same binaries.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DW_AT, DW_TAG, derefAt, formatAddressExpr, type Die, type Dwarf } from '../../src/dwarf/index.js';
import { loadTarget } from './fixtures.js';

function structType(d: Dwarf, name: string): Die {
  for (const u of d.units()) for (const die of u.dies()) {
    if (die.tag === DW_TAG.structure_type && d.str(die, DW_AT.name) === name && !d.has(die, DW_AT.declaration)) return die;
  }
  throw new Error(`no struct ${name}`);
}

for (const id of ['kfake-dwarf4', 'kfake-dwarf5']) {
  const d = loadTarget(id).dwarf();

  test(`${id}: member offsets, anonymous unions and sizes (gdb ptype/o)`, () => {
    const file = structType(d, 'file'), inode = structType(d, 'inode');
    assert.is(d.types.member(file, 'f_pos')!.offset, 0x28);
    assert.is(d.types.name(d.types.member(file, 'f_pos')!.type), 'loff_t');
    const qstr = d.types.member(file, 'f_name')!;
    assert.is(qstr.offset + d.types.member(qstr.type, 'len')!.offset, 0x3c); // through anonymous union + struct
    assert.is(qstr.offset + d.types.member(qstr.type, 'hash_len')!.offset, 0x38);
    assert.is(d.types.size(inode), 88);
    assert.is(d.types.member(inode, 'i_list')!.offset + d.types.member(d.types.member(inode, 'i_list')!.type, 'prev')!.offset, 0x28);
    assert.is(d.types.member(inode, 'i_matrix')!.offset, 64);
    assert.is(d.types.size(d.types.member(inode, 'i_matrix')!.type), 24);
  });

  test(`${id}: bitfields (DW_AT_data_bit_offset in DWARF 5, DW_AT_bit_offset in DWARF 4)`, () => {
    const inode = structType(d, 'inode');
    const bits = ['i_state', 'i_dirty', 'i_delta'].map((n) => d.types.member(inode, n)!);
    assert.equal(bits.map((m) => [m.bitOffset, m.bitSize, m.offset]), [[128, 3, 16], [131, 1, 16], [132, 12, 16]]);
    assert.equal(d.types.scalarKind(bits[2]!.type), { kind: 'int', bytes: 4, signed: true, isChar: false, isBool: false });
  });

  test(`${id}: C type names as gdb whatis prints them`, () => {
    const file = structType(d, 'file'), inode = structType(d, 'inode');
    const t = (s: Die, m: string) => d.types.name(d.types.member(s, m)!.type);
    assert.is(t(file, 'f_op'), 'const struct file_operations *');
    assert.is(t(file, 'f_flags'), 'volatile unsigned int');
    assert.is(t(inode, 'i_matrix'), 'int [2][3]');
    assert.is(t(inode, 'i_name'), 'char [16]');
    const fops = d.types.member(file, 'f_op')!.type;
    const read = d.types.member(d.types.scalarKind(fops).kind === 'pointer' ? (d.types.scalarKind(fops) as { pointee: Die }).pointee : fops, 'read')!;
    assert.is(d.types.name(read.type), 'ssize_t (*)(struct file *, char *, size_t, loff_t *)');
    assert.is(d.types.name(d.types.member(d.types.member(file, 'f_name')!.type, 'name')!.type), 'const unsigned char *');
  });

  test(`${id}: kprobe fetch types, bitfield fetches, arrays and return types`, () => {
    const file = structType(d, 'file'), inode = structType(d, 'inode');
    const ft = (s: Die, m: string, o = {}) => d.fetchTypes.of(d.types.member(s, m)!.type, o);
    assert.equal(ft(file, 'f_pos'), { ok: true, type: 's64' });
    assert.equal(ft(file, 'f_flags'), { ok: true, type: 'u32' });
    assert.equal(ft(file, 'f_flags', { hex: true }), { ok: true, type: 'x32' });
    assert.equal(ft(file, 'f_write_hint'), { ok: true, type: 's32' }); // enum with a negative enumerator
    assert.equal(ft(inode, 'i_mode'), { ok: true, type: 'u16' });
    assert.equal(ft(file, 'f_inode'), { ok: true, type: 'u64' });
    assert.equal(ft(inode, 'i_name', { string: true }), { ok: true, type: 'string' });
    assert.is(ft(inode, 'i_list').ok, false);
    const [vfs] = d.functionsByName('vfs_read');
    const buf = d.variablesAt(vfs!.entryPc).find((v) => v.name === 'buf')!;
    assert.equal(d.fetchTypes.of(buf.type, { string: true }), { ok: true, type: 'string' });
    // i_delta: 12 bits at bit 132 of struct inode, in the 4-byte unit at offset 16 (gdb ptype/o: "16: 4").
    assert.equal(d.fetchTypes.bitfield(d.types.member(inode, 'i_delta')!), { offset: 16, type: 'b12@4/32' });
    const arr = d.types.array(d.types.member(inode, 'i_matrix')!.type)!;
    assert.equal([d.types.name(arr.element), arr.elementSize, arr.dims], ['int', 4, [2, 3]]);
    assert.is(d.types.name(d.returnType(vfs!)), 'ssize_t');
    assert.is(d.returnType(d.functionsByName('_start')[0]!), undefined);
    const lines = d.linesIn(vfs!.ranges);
    const fsc = [...lines.entries()].find(([p]) => p.endsWith('/fs.c'))![1];
    assert.ok(fsc.has(42) && fsc.has(44) && !fsc.has(60), [...fsc].join(','));
  });

  test(`${id}: vfs_read's parameters, types and fetch plans at its entry`, () => {
    const [fn] = d.functionsByName('vfs_read');
    const vars = d.variablesAt(fn!.entryPc);
    assert.equal(vars.filter((v) => v.kind === 'parameter').map((v) => `${v.typeName} ${v.name} ${v.location.kind === 'register' ? '%' + v.location.regName : v.location.kind}`),
      ['struct file * file %di', 'char * buf %si', 'size_t count %dx', 'loff_t * pos %cx']);
    // `file->f_pos`, as perf probe compiles it for kprobe_events: +40(%di):s64.
    const file = vars.find((v) => v.name === 'file')!;
    const fpos = d.types.member(d.types.scalarKind(file.type).kind === 'pointer' ? (d.types.scalarKind(file.type) as { pointee: Die }).pointee : undefined, 'f_pos')!;
    const plan = derefAt(file.location, fpos.offset);
    assert.is(plan.kind === 'memory' ? `${formatAddressExpr(plan.address)}:${(d.fetchTypes.of(fpos.type) as { type: string }).type}` : plan.kind, '+40(%di):s64');
    const count = vars.find((v) => v.name === 'count')!;
    assert.equal(d.types.scalarKind(count.type), { kind: 'int', bytes: 8, signed: false, isChar: false, isBool: false });
    const g = d.variablesAt(fn!.entryPc, { externs: true }).filter((v) => v.kind === 'global').map((v) => v.name);
    assert.ok(g.includes('fdtable') && g.includes('jiffies'), g.join(','));
  });

  test(`${id}: inlined instances, scope chain and line queries`, () => {
    const inl = d.functionsByName('file_inode');
    assert.ok(inl.length >= 1 && inl.every((f) => f.kind === 'inline' && f.declFile?.endsWith('include/fs.h') && f.declLine === 51));
    assert.ok(inl.some((f) => f.callFile?.endsWith('fs.c') && f.callLine === 46));
    const chain = d.scopeAt(inl.find((f) => f.callLine === 46)!.entryPc).map((s) => s.kind + (s.name ? ':' + s.name : ''));
    assert.equal(chain, ['function:vfs_read', 'block', 'inline:file_inode']);
    const addrs = d.addressesForLine('fs.c', 42); // `if (!rw_verify_area(file, pos, count))`
    assert.ok(addrs.length >= 1);
    assert.ok(addrs.every((a) => d.scopeAt(a)[0]?.name === 'vfs_read'));
    assert.ok(d.lineRows('include/fs.h', 51, 53).length > 0);
    // gdb `info line *ADDR`: "Line 56 of fs.c starts at ksys_read", "Line 60 of include/fs.h" at vfs_read+18.
    assert.is(d.lineAt(d.functionsByName('ksys_read')[0]!.entryPc)!.row.line, 56);
    const at = d.lineAt(d.functionsByName('vfs_read')[0]!.entryPc + 18)!;
    assert.is(`${at.path.slice(at.path.indexOf('include/'))}:${at.row.line}`, 'include/fs.h:60');
  });
}

test.run();
