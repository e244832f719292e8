import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Dwarf } from '../../../src/dwarf/index.js';
import { findFunctions } from '../../../src/trace/perf-probe/find.js';
import { fixtureImage } from '../../elf/fixture.js';

test('findFunctions finds exactly what functionsByName finds, for every function name of the fixture', () => {
  const img = fixtureImage();
  const load = (n: string) => img.sectionByName(n)?.bytes;
  const full = new Dwarf(load), fast = new Dwarf(load);
  const names = [...full.nameIndex().keys()];
  assert.ok(names.length > 100 && names.includes('vfs_read') && names.includes('rw_verify_area'));
  for (const n of names) {
    const want = full.functionsByName(n).map((f) => f.die.offset).sort();
    const got = findFunctions(fast, n).map((f) => f.die.offset).sort();
    assert.equal(got, want, n);
  }
  assert.equal(findFunctions(fast, 'no_such_function'), []);
  // A name that is only a suffix of others (merged .debug_str tails) finds nothing extra.
  assert.equal(findFunctions(fast, 'read').map((f) => f.name), full.functionsByName('read').map((f) => f.name));
});

test.run();
