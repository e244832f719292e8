import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Image } from '../../src/elf/image.js';
import { ElfError } from '../../src/elf/errors.js';
import { fixtureBytes, fixtureImage } from './fixture.js';

const img = fixtureImage();

test('lookups by name and address agree', () => {
  const f = img.functions.find((s) => s.name === 'vfs_read')!;
  assert.is(img.lookupName('vfs_read'), f.addr);
  assert.is(img.symbol('vfs_read')!.addr, f.addr);
  assert.is(img.functionAt(f.addr + f.size - 1), f);
  assert.is(img.lookupAddr(f.addr + 3)!.entry.name, 'vfs_read');
  assert.match(img.formatAddr(f.addr + 3), /^vfs_read\+0x3\/0x[0-9a-f]+$/);
  assert.is(img.lookupName('no_such_symbol_here'), undefined);
});

test('functions are sorted by address and inside executable sections', () => {
  for (let i = 1; i < img.functions.length; i++) assert.ok(img.functions[i]!.addr >= img.functions[i - 1]!.addr);
  for (const f of img.functions) {
    const s = img.sectionAt(f.addr)!;
    assert.ok(s && s.flags & 4, `${f.name} in an executable section`);
  }
});

test('read: section bytes by address, zeros for NOBITS, undefined when unmapped', () => {
  const text = img.sectionByName('.text')!;
  assert.equal([...img.read(text.addr, 16)!], [...text.bytes.subarray(0, 16)]);
  const bss = img.sections.find((s) => s.type === 8 && s.size > 0)!;
  assert.equal([...img.read(bss.addr, 8)!], [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.is(img.read(0x1000, 4), undefined);
  assert.is(img.read(text.addr + text.size - 2, 4), undefined);
});

test('header and PT_LOAD segments', () => {
  assert.is(img.header.machine, 62);
  assert.is(img.header.type, 2);
  assert.ok(img.segments.length > 0 && img.segments.every((s) => s.type === 1));
  assert.ok(img.sectionAt(img.header.entry), 'entry point inside a section');
});

// Seeded mulberry32: the same cases every run.
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function loadOrElfError(b: Uint8Array, what: string): Image | undefined {
  try {
    const i = Image.load(b);
    // Whatever loads must also answer the derived questions without throwing.
    void i.kallsyms.text(); void i.kprobeBlacklist; void i.mcountSites; void i.exceptionTable;
    i.formatAddr(i.header.entry);
    return i;
  } catch (e) {
    if (!(e instanceof ElfError)) throw new Error(`${what}: threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
    assert.ok((e as Error).message.length > 0 && !(e as Error).message.includes('\n'), 'one-line message');
    // Found by validation, not by catching a RangeError/TypeError or an elfy exception after the fact.
    assert.is((e as ElfError).cause, undefined, `${what}: ${(e as Error).message}`);
    return undefined;
  }
}

test('fuzz: truncations and byte flips never throw anything but ElfError', () => {
  const base = fixtureBytes();
  const rand = rng(20261128);
  const n = process.env.KTRACE_LONG === '1' ? 2000 : 150;
  const dv = new DataView(base.buffer, base.byteOffset, base.byteLength);
  const shoff = Number(dv.getBigUint64(40, true));
  // Flips aimed where parsing decisions are: the ELF header, section headers, program headers.
  const hot = [[0, 64], [shoff, base.length - shoff], [64, 56 * 4]] as const;
  for (let i = 0; i < n; i++) {
    const cut = Math.floor(rand() * base.length);
    loadOrElfError(base.subarray(0, cut), `truncated at ${cut}`);
    const b = new Uint8Array(base);
    const flips = 1 + Math.floor(rand() * 4);
    for (let j = 0; j < flips; j++) {
      const [start, len] = hot[Math.floor(rand() * hot.length)]!;
      const at = start + Math.floor(rand() * len);
      b[at] = rand() < 0.5 ? b[at]! ^ (1 << Math.floor(rand() * 8)) : Math.floor(rand() * 256);
    }
    loadOrElfError(b, `flip case ${i}`);
  }
});

test.run();
