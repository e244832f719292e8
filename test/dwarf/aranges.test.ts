// .debug_aranges: a PC's unit from the range table is the unit whose own ranges hold it, for every
// function entry and every row address of the fixture kernel.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Dwarf } from '../../src/dwarf/index.js';
import { parseAranges } from '../../src/dwarf/aranges.js';
import { DwarfError } from '../../src/dwarf/error.js';
import { fixtureImage } from '../elf/fixture.js';

const img = fixtureImage();
const load = (n: string) => img.sectionByName(n)?.bytes;

test('unitAt agrees with the aranges given as an index (as a persistent index gives them)', () => {
  const a = new Dwarf(load), ix = a.addressIndex()!;
  const c = new Dwarf(load, { aranges: () => ix }), b = new Dwarf(load, { useAranges: false });
  for (const f of img.functions) {
    for (const pc of [f.addr, f.addr + Math.max(0, f.size - 1), f.addr - 1, f.addr + f.size]) assert.is(c.unitAt(pc)?.offset, b.unitAt(pc)?.offset, f.name);
  }
});

test('unitAt agrees with and without .debug_aranges', () => {
  const a = new Dwarf(load), b = new Dwarf(load, { useAranges: false });
  assert.ok(img.sectionByName('.debug_aranges'), 'the fixture has .debug_aranges');
  let n = 0;
  for (const f of img.functions) {
    for (const pc of [f.addr, f.addr + Math.max(0, f.size - 1), f.addr - 1]) {
      assert.is(a.unitAt(pc)?.offset, b.unitAt(pc)?.offset, `${f.name} 0x${pc.toString(16)}`);
      n++;
    }
  }
  assert.ok(n > 300);
});

test('malformed .debug_aranges is a DwarfError', () => {
  const good = load('.debug_aranges')!;
  assert.ok(parseAranges(good).length > 10);
  const bad = new Uint8Array(good); bad[4] = 9; // version
  assert.throws(() => parseAranges(bad), (e: unknown) => e instanceof DwarfError);
  assert.throws(() => parseAranges(good.subarray(0, 7)), (e: unknown) => e instanceof DwarfError);
});

test.run();
