import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ObjdumpSymbols, objdumpHex } from '../../src/elf/objdump-symbols.js';
import { fixtureImage, FIXTURE } from './fixture.js';
import { Image } from '../../src/elf/image.js';
import { FileSource } from '../../src/elf/source.js';
import { buildSymbolOrders } from '../../src/cli/symbol-index.js';

const img = fixtureImage();
const syms = new ObjdumpSymbols(img);

test('labels: <sym>, <sym+0xoff>, the section being disassembled preferred', () => {
  const f = img.functions.find((s) => s.name === 'vfs_read')!;
  const text = img.sectionAt(f.addr);
  assert.is(syms.label(f.addr, text), ' <vfs_read>');
  assert.is(syms.label(f.addr + 0x1a, text), ' <vfs_read+0x1a>');
});

test('a FUNC symbol wins over a NOTYPE alias at the same address (objdump compare_symbols)', () => {
  const stext = img.symbol('_stext')!;
  const first = img.functions.find((f) => f.addr === stext.addr);
  if (!first) { console.log('SKIP no function at _stext'); return; }
  assert.is(syms.find(stext.addr, img.sectionAt(stext.addr))!.type, 'FUNC');
});

test('objdumpHex drops leading zeros', () => {
  assert.is(objdumpHex(-0x7f000000), 'ffffffff81000000');
  assert.is(objdumpHex(0x1000), '1000');
  assert.is(objdumpHex(0), '0');
});

// With a persistent index's order (a big image), a lookup in the group found last answers from it:
// every address of the image's symbols and around them, in an order that walks in and out of groups,
// labels as the full sorted list does.
test("labels through the index's order equal the full list's, lookups in any order", () => {
  const indexed = Image.load(new FileSource(FIXTURE));
  indexed.useSymbolOrders(buildSymbolOrders(Image.load(new FileSource(FIXTURE))));
  const fast = new ObjdumpSymbols(indexed), full = new ObjdumpSymbols(img);
  const addrs = [...new Set(img.symbols.flatMap((s) => [s.addr - 1, s.addr, s.addr + 1, s.addr + Math.max(1, s.size)]))];
  addrs.push(0, 1, -1, Math.min(...img.symbols.map((s) => s.addr)) - 0x10);
  const seq = [...addrs, ...addrs.slice().reverse(), ...addrs.filter((_, i) => i % 3 === 0)];
  for (const a of seq) {
    const sec = img.sectionAt(a);
    assert.is(fast.label(a, sec), full.label(a, sec), objdumpHex(a));
  }
  assert.not.ok(indexed.symbolsLoaded, 'the indexed image decoded only the symbols it looked at');
});

test.run();
