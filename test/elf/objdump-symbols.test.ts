import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ObjdumpSymbols, objdumpHex } from '../../src/elf/objdump-symbols.js';
import { fixtureImage } from './fixture.js';

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

test.run();
