// Malformed .debug_info / .debug_abbrev / .debug_line input gives a DwarfError naming section and offset.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Dwarf, DwarfError } from '../../src/dwarf/index.js';
import { HeaderWalker, walkUnitHeaders } from '../../src/dwarf/unit.js';
import { fixtureImage } from '../elf/fixture.js';
import { loadTarget } from './fixtures.js';

const isErr = (section: string, offset?: number, msg?: RegExp) => (e: unknown) =>
  e instanceof DwarfError && e.section === section && (offset === undefined || e.offset === offset) && (!msg || msg.test(e.message));

const t = loadTarget('kfake-dwarf5');
const with_ = (name: string, bytes: Uint8Array) => new Dwarf((n) => (n === name ? bytes : t.sections.get(n)?.bytes));
const copy = (name: string) => new Uint8Array(t.sections.get(name)!.bytes);

test('a unit length running past .debug_info', () => {
  const info = copy('.debug_info');
  info[0] = 0xff; info[1] = 0xff; info[2] = 0; info[3] = 0;
  assert.throws(() => with_('.debug_info', info).units(), isErr('.debug_info', 0, /runs past the section/));
});

test('an unsupported DWARF version', () => {
  const info = copy('.debug_info');
  info[4] = 9;
  assert.throws(() => with_('.debug_info', info).units(), isErr('.debug_info', 0, /version 9/));
});

test('a DIE with an abbreviation code the table lacks names the DIE offset', () => {
  const info = copy('.debug_info');
  info[12] = 0x7f; // the first DIE (after the 12-byte DWARF 5 header)
  assert.throws(() => with_('.debug_info', info).units()[0]!.dies(), isErr('.debug_info', 12, /unknown abbreviation code 127/));
});

test('a truncated .debug_abbrev', () => {
  const ab = copy('.debug_abbrev').subarray(0, 5);
  assert.throws(() => with_('.debug_abbrev', ab).units()[0]!.dies(), isErr('.debug_abbrev'));
});

test('a line table with line_range 0', () => {
  const line = copy('.debug_line');
  // DWARF 5 header: length(4) version(2) addr_size(1) seg(1) header_length(4) min_inst(1) max_ops(1) default_is_stmt(1) line_base(1) line_range
  line[4 + 2 + 1 + 1 + 4 + 1 + 1 + 1 + 1] = 0;
  const d = with_('.debug_line', line);
  assert.throws(() => d.lineProgram(d.units()[0]!), isErr('.debug_line', 16, /line_range is 0/));
});

test('the intact sections parse', () => {
  const d = t.dwarf();
  assert.ok(d.units()[0]!.dies().length > 100);
  assert.ok(d.lineProgram(d.units()[0]!)!.rows().length > 100);
});

test('unit headers taken from a scan\'s chunks are the headers walked one read each, with a read only per straddling header', () => {
  const info = fixtureImage().sectionByName('.debug_info')!.bytes;
  const read = (o: number, l: number) => info.subarray(o, o + l);
  const want = walkUnitHeaders(info.length, read);
  assert.ok(want.length > 3);
  for (const chunk of [17, 64, 1000, 4096, info.length]) {
    let reads = 0;
    const w = new HeaderWalker(info.length);
    // Overlapping chunks, as scanSection gives them.
    for (let at = 0; at < info.length; at += chunk) w.feed(at, info.subarray(at, Math.min(info.length, at + chunk + 7)), (o, l) => { reads++; return read(o, l); });
    w.finish((o, l) => { reads++; return read(o, l); });
    assert.equal(w.headers, want, `chunks of ${chunk}`);
    // A header is read apart only when the first chunk reaching past its start does not hold its 40 bytes.
    const end = (k: number) => Math.min(info.length, k * chunk + chunk + 7);
    const straddling = want.filter((h) => {
      let k = 0;
      while (end(k) <= h.offset) k++;
      return !(h.offset >= k * chunk && Math.min(info.length, h.offset + 40) <= end(k));
    }).length;
    assert.is(reads, straddling, `chunks of ${chunk}`);
    if (chunk === info.length) assert.is(reads, 0);
  }
});

test.run();
