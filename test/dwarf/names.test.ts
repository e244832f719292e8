// The name → units table (skim of each unit's top level) and the paths that replace reading whole
// sections: on the fixture kernel, a reader that reads every section in windows and finds functions by
// scanning for their names, and one using a name table decoded from its serialized form, give exactly
// the answers of the reader over whole in-memory sections.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Dwarf } from '../../src/dwarf/index.js';
import { NameTable, scanSection, nameNeedles } from '../../src/dwarf/names.js';
import { imageLoader } from '../../src/debuginfo/open.js';
import { availableVars, findFunctions, parseProbeSpec, formatAvailableVars } from '../../src/trace/perf-probe/index.js';
import { fixtureImage } from '../elf/fixture.js';

const img = fixtureImage();
const whole = () => new Dwarf((n) => img.sectionByName(n)?.bytes);
// Every section in windows of a ranged loader, names by scan, PCs by the units' own ranges.
const windowed = () => new Dwarf(imageLoader(img), { pagedAbove: 0, skimAllLimit: 0, useAranges: false });

const key = (d: Dwarf, name: string) => findFunctions(d, name).map((f) => `${f.die.offset}:${f.kind}:${f.entryPc}:${JSON.stringify(f.ranges)}`).sort();

test('the skimmed name table lists, for every function, the units of all its instances', () => {
  const d = whole();
  const all = d.functions();
  assert.ok(all.size > 100);
  for (const [name, fns] of all) {
    if (name === '<anonymous>') continue;
    const units = new Set(d.unitsDefining(name));
    for (const f of fns) assert.ok(units.has(f.die.unit), `${name}: unit at 0x${f.die.unit.offset.toString(16)} listed`);
  }
  assert.equal(d.unitsDefining('no_such_function_anywhere'), []);
});

test('a windowed reader that scans for names finds the same instances and variables as the whole-section reader', () => {
  const a = whole(), b = windowed();
  const names = [...a.nameIndex().keys()].filter((n) => n !== '<anonymous>');
  for (const n of names) assert.equal(key(b, n), key(a, n), n);
  // perf -V text at every function: locations, types and scopes read through windows and pages.
  for (const n of names.slice(0, 400)) {
    const pp = parseProbeSpec([n]);
    if (!pp.ok) continue;
    const va = availableVars(a, pp.value.point), vb = availableVars(b, pp.value.point);
    assert.equal(vb.ok, va.ok, n);
    if (va.ok && vb.ok) assert.is(formatAvailableVars(vb.value), formatAvailableVars(va.value), n);
  }
});

test('a name table survives its serialized form, and a damaged one is refused', () => {
  const d = whole();
  const t = d.nameTable();
  const copy = new NameTable(Buffer.from(t.bytes));
  const fromCopy = new Dwarf((n) => img.sectionByName(n)?.bytes, { names: () => copy });
  for (const n of ['vfs_read', 'rw_verify_area', 'kernel_clone', 'no_such']) assert.equal(key(fromCopy, n), key(d, n), n);
  assert.throws(() => new NameTable(Buffer.from(t.bytes).subarray(0, t.bytes.length - 3)));
  assert.throws(() => new NameTable(new Uint8Array(2)));
  const built = NameTable.build(new Map([['b', [3, 1]], ['a', [2]], ['ab', [7, 7, 9]]]));
  assert.equal([built.units('a'), built.units('ab'), built.units('b'), built.units('c')], [[2], [7, 9], [1, 3], []]);
});

test('scanSection finds needles across chunk boundaries exactly once', () => {
  const data = new Uint8Array(1000);
  const needle = Buffer.from('abc\0');
  // Chunks of 100: occurrences straddling 100, 200 and 300, one at a chunk's start, one at the end.
  const at = [0, 97, 198, 299, 400, 500, 996];
  for (const a of at) data.set(needle, a);
  assert.equal(scanSection(data.length, [needle], (o, l) => data.subarray(o, o + l), 100), at);
  // A needle longer than the fast search's 7 bytes (searched by its first 7, the rest compared): its
  // prefix alone, or the prefix with another tail, is not a hit; straddling chunks it is found once.
  const long = Buffer.from('do_sys_openat2\0');
  const d2 = new Uint8Array(1000);
  const at2 = [0, 90, 195, 400, 985];
  for (const a of at2) d2.set(long, a);
  d2.set(Buffer.from('do_sys_open\0'), 600);
  d2.set(Buffer.from('do_sys_openat3\0'), 700);
  d2.set(Buffer.from('do_sys_openat2x'), 800);
  d2.set(Buffer.from('do_sys_'), 300);
  for (const chunk of [16, 100, 1000]) {
    assert.equal(scanSection(d2.length, [long, Buffer.from('_open\0')], (o, l) => d2.subarray(o, o + l), chunk), [...at2, 606].sort((a, b) => a - b), `chunks of ${chunk}`);
  }
  const str = new Uint8Array(Buffer.from('xabc\0abc\0'));
  assert.equal(nameNeedles('abc', str).length, 3, 'the inline name and both places of abc\\0 in .debug_str');
});

test.run();
