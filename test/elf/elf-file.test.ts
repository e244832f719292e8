import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Buffer } from 'node:buffer';
import elfy from 'elfy';
import { parseElfFile, SHT_NOBITS, PT_LOAD } from '../../src/elf/elf-file.js';
import { ElfError } from '../../src/elf/errors.js';
import { fixtureBytes, oracle, oracleStale, live, parseReadelfSections } from './fixture.js';

const FLAG_LETTERS: [number, string][] = [[0x1, 'W'], [0x2, 'A'], [0x4, 'X'], [0x10, 'M'], [0x20, 'S'], [0x40, 'I'], [0x80, 'L'], [0x200, 'G'], [0x400, 'T'], [0x800, 'C'], [0x200000, 'R'], [0x10000000, 'l'], [0x80000000, 'E']];
const TYPE_NAMES: Record<number, string> = { 0: 'NULL', 1: 'PROGBITS', 2: 'SYMTAB', 3: 'STRTAB', 4: 'RELA', 7: 'NOTE', 8: 'NOBITS', 9: 'REL', 11: 'DYNSYM', 14: 'INIT_ARRAY', 15: 'FINI_ARRAY' };

function checkSections(readelfText: string, label: string) {
  const want = parseReadelfSections(readelfText);
  const got = parseElfFile(fixtureBytes()).sections;
  assert.ok(want.length > 10, `${label}: parsed readelf output`);
  assert.is(got.length, want.length, `${label}: section count`);
  for (const w of want) {
    const s = got[w.index]!;
    const flags = FLAG_LETTERS.filter(([bit]) => s.flags & bit).map(([, c]) => c).join('');
    assert.equal(
      { name: s.name, type: TYPE_NAMES[s.type] ?? s.type, addr: s.addrBig, off: s.offset, size: s.size, es: s.entsize, flg: flags, lk: s.link, inf: s.info, al: s.addralign },
      { name: w.name, type: w.type, addr: w.addr, off: w.off, size: w.size, es: w.es, flg: w.flg, lk: w.lk, inf: w.inf, al: w.al },
      `${label}: section [${w.index}] ${w.name}`);
  }
}

test('every section header equals readelf -SW (committed oracle)', () => {
  const stale = oracleStale();
  if (stale) assert.unreachable(stale);
  checkSections(oracle('readelf-S'), 'oracle');
});

test('every section header equals readelf -SW (live, when binutils is installed)', () => {
  const text = live('readelf', ['-SW']);
  if (text === undefined) { console.log('SKIP live readelf -SW: readelf not installed'); return; }
  checkSections(text, 'live');
});

test('elfy is inexact where the exact reader is not: 64-bit addresses, ELF64 addralign/entsize, NOBITS bytes', () => {
  const bytes = new Uint8Array(fixtureBytes());
  // An entry point whose low bits a double cannot hold (doubles near 2^64 step by 2048).
  const entry = 0xffffffff81000123n;
  new DataView(bytes.buffer).setBigUint64(24, entry, true);
  const e = elfy.parse(Buffer.from(bytes.buffer));
  const f = parseElfFile(bytes);
  assert.is(f.header.entryBig, entry);
  assert.is(f.header.entry, -0x7efffedd);
  assert.is.not(BigInt(e.entry), entry, 'elfy rounds the 64-bit entry point');
  // sh_addralign/sh_entsize: elfy reads them at offsets 46/54 of the ELF64 header, not 48/56.
  const wrong = f.sections.filter((s, i) => e.body.sections[i]!.addralign !== s.addralign || e.body.sections[i]!.entsize !== s.entsize);
  assert.ok(wrong.length > 0, 'elfy misreads addralign/entsize');
  const symtab = f.sections.find((s) => s.name === '.symtab')!;
  assert.is(symtab.entsize, 24);
  assert.is.not(e.body.sections[symtab.index]!.entsize, 24);
  // NOBITS: no file bytes; elfy hands out a slice of unrelated file contents.
  const bss = f.sections.find((s) => s.type === SHT_NOBITS && s.size > 0);
  assert.ok(bss, 'fixture has a NOBITS section');
  assert.is(bss!.bytes.length, 0);
  assert.ok(e.body.sections[bss!.index]!.data.length > 0, 'elfy slices file bytes for NOBITS');
  // Section addresses: exact as bigint and as canonical numbers, whatever their low bits.
  for (const s of f.sections) assert.is(BigInt.asUintN(64, BigInt(s.addr)), s.addrBig);
});

test('PT_LOAD segments are exact and cover the allocated sections', () => {
  const f = parseElfFile(fixtureBytes());
  const loads = f.segments.filter((s) => s.type === PT_LOAD);
  assert.ok(loads.length >= 1);
  for (const s of f.sections.filter((s) => s.flags & 2 && s.size > 0)) {
    assert.ok(loads.some((p) => s.addr >= p.vaddr && s.addr + s.size <= p.vaddr + p.memsz), `${s.name} inside a PT_LOAD`);
  }
  for (const p of loads) assert.ok(p.filesz <= p.memsz);
});

function errorOf(bytes: Uint8Array): ElfError {
  try {
    parseElfFile(bytes);
  } catch (e) {
    assert.instance(e, ElfError);
    return e as ElfError;
  }
  throw new Error('expected an ElfError');
}

test('bad input: one clear ElfError each', () => {
  assert.match(errorOf(new TextEncoder().encode('#!/bin/sh\necho hi\n')).message, /not an ELF file/);
  assert.match(errorOf(new Uint8Array(0)).message, /not an ELF file/);
  const b = fixtureBytes();
  assert.match(errorOf(b.subarray(0, 40)).message, /truncated/);
  assert.match(errorOf(b.subarray(0, b.length - 100)).message, /truncated|outside the file/);
  const c32 = new Uint8Array(b); c32[4] = 1;
  assert.match(errorOf(c32).message, /32-bit/);
  const be = new Uint8Array(b); be[5] = 2;
  assert.match(errorOf(be).message, /big-endian/);
  const arm = new Uint8Array(b); new DataView(arm.buffer).setUint16(18, 183, true);
  assert.match(errorOf(arm).message, /not an x86-64 ELF \(e_machine 183, AArch64\)/);
});

test.run();
