import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseElfFile, SHT_SYMTAB } from '../../src/elf/elf-file.js';
import { parseSymbols, RawSymbols, SHN_ABS, SHN_UNDEF } from '../../src/elf/symbols.js';
import { ElfError } from '../../src/elf/errors.js';
import { FIXTURE, fixtureBytes, oracle, oracleStale, live, parseReadelfSyms, parseNm } from './fixture.js';
import { openImage } from '../../src/elf/open.js';

function symbols() {
  const b = fixtureBytes();
  return parseSymbols(parseElfFile(b).sections);
}

function ndx(shndx: number): string {
  return shndx === SHN_UNDEF ? 'UND' : shndx === SHN_ABS ? 'ABS' : shndx === 0xfff2 ? 'COM' : String(shndx);
}

function checkReadelf(text: string, label: string) {
  const want = parseReadelfSyms(text), got = symbols();
  assert.ok(want.length > 100, `${label}: parsed readelf -s`);
  assert.is(got.length, want.length, `${label}: symbol count`);
  for (const w of want) {
    const s = got[w.num]!;
    assert.equal({ value: s.value, size: s.size, type: s.type, bind: s.bind, ndx: ndx(s.shndx), name: s.name },
      { value: w.value, size: w.size, type: w.type, bind: w.bind, ndx: w.ndx, name: w.name }, `${label}: symbol ${w.num} ${w.name}`);
    assert.is(BigInt.asUintN(64, BigInt(s.addr)), s.value, `${label}: ${w.name} canonical number is exact`);
  }
}

function checkNm(text: string, label: string) {
  const want = parseNm(text);
  // nm lists every symbol but the null, FILE and SECTION ones; compare as multisets of lines.
  const mine = symbols().filter((s) => s.nmType !== '').map((s) => `${s.shndx === SHN_UNDEF ? '' : s.value.toString(16).padStart(16, '0')} ${s.nmType} ${s.name}`).sort();
  const theirs = want.map((w) => `${w.value === undefined ? '' : w.value.toString(16).padStart(16, '0')} ${w.type} ${w.name}`).sort();
  assert.ok(theirs.length > 100, `${label}: parsed nm`);
  assert.equal(mine, theirs, `${label}: nm letters, addresses and names`);
}

test('a file\'s .symtab and .strtab read in pages give every entry as the whole table does, names across page ends included', () => {
  const whole = parseSymbols(parseElfFile(fixtureBytes()).sections);
  const paged = new RawSymbols(openImage(FIXTURE).sections as never, { wholeBelow: 0 });
  assert.is(paged.count, whole.length);
  // In an order that jumps between pages (every 7th, wrapping), then all.
  const n = whole.length, order = Array.from({ length: n }, (_, k) => (k * 7) % n);
  for (const i of [...order, ...whole.keys()]) {
    const a = whole[i]!, b = paged.sym(i);
    assert.equal([b.name, b.addr, b.size, b.type, b.bind, b.shndx, b.nmType], [a.name, a.addr, a.size, a.type, a.bind, a.shndx, a.nmType], `symbol ${i}`);
    assert.is(paged.addr(i), a.addr);
    assert.is(paged.size(i), a.size);
  }
  // Names from .strtab's pages (a table decodes all of .strtab after 256 names: a fresh one per 200).
  for (let c = 0; c < n; c += 200) {
    const fresh = new RawSymbols(openImage(FIXTURE).sections as never, { wholeBelow: 0 });
    for (let i = c; i < Math.min(n, c + 200); i++) assert.is(fresh.name(i), whole[i]!.name, `name ${i}`);
  }
});

test('every symbol (value, size, type, binding, section, name) equals readelf -sW (committed oracle)', () => {
  const stale = oracleStale();
  if (stale) assert.unreachable(stale);
  checkReadelf(oracle('readelf-s'), 'oracle');
});

test('every symbol letter and address equals nm (committed oracle)', () => {
  const stale = oracleStale();
  if (stale) assert.unreachable(stale);
  checkNm(oracle('nm-n'), 'oracle');
});

test('readelf -sW and nm, live when binutils is installed', () => {
  const r = live('readelf', ['-sW']), n = live('nm', ['-n']);
  if (r === undefined || n === undefined) { console.log('SKIP live readelf/nm: binutils not installed'); return; }
  checkReadelf(r, 'live');
  checkNm(n, 'live');
});

test('the fixture has the symbols the kernel-facing code relies on', () => {
  const byName = new Map(symbols().map((s) => [s.name, s]));
  for (const n of ['_stext', '_etext', '_sdata', '_edata', 'vfs_read', 'kprobe_target', 'entry_SYSCALL_64']) assert.ok(byName.has(n), n);
  assert.is(byName.get('vfs_read')!.type, 'FUNC');
  assert.is(byName.get('vfs_read')!.nmType, 'T');
});

test('names decoded one at a time (a warm query\'s few) equal the whole string table\'s (after many lookups)', () => {
  const sections = parseElfFile(fixtureBytes()).sections;
  const up = new RawSymbols(sections), down = new RawSymbols(sections);
  const n = up.count;
  assert.ok(n > 2 * 256, 'enough symbols for both paths (256 names alone, then the table)');
  const a = Array.from({ length: n }, (_, i) => up.name(i));
  const b: string[] = [];
  for (let i = n - 1; i >= 0; i--) b[i] = down.name(i);
  // `up` decoded the low indexes alone and the rest from the table; `down` the other way round.
  assert.equal(a, b);
  assert.equal(a, symbols().map((s) => s.name));
});

test('a stripped image (no .symtab) is one clear ElfError', () => {
  const b = new Uint8Array(fixtureBytes());
  const f = parseElfFile(b);
  const symtab = f.sections.find((s) => s.type === SHT_SYMTAB)!;
  const dv = new DataView(b.buffer);
  const shoff = Number(dv.getBigUint64(40, true));
  dv.setUint32(shoff + symtab.index * 64 + 4, 0, true); // SHT_NULL: as if stripped
  try {
    parseSymbols(parseElfFile(b).sections);
    assert.unreachable('expected ElfError');
  } catch (e) {
    assert.instance(e, ElfError);
    assert.match((e as Error).message, /stripped/);
  }
});

test.run();
