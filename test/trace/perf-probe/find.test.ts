import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DW_AT, DW_TAG, Dwarf, type FunctionInstance } from '../../../src/dwarf/index.js';
import { findFunctions } from '../../../src/trace/perf-probe/find.js';
import { fixtureImage } from '../../elf/fixture.js';

test('findFunctions finds what functionsByName finds, empty copies included and the inlined copies perf calls redundant left out, for every function name of the fixture', () => {
  const img = fixtureImage();
  const load = (n: string) => img.sectionByName(n)?.bytes;
  const full = new Dwarf(load), fast = new Dwarf(load);
  const names = [...full.nameIndex().keys()];
  assert.ok(names.length > 100 && names.includes('vfs_read') && names.includes('rw_verify_area'));
  // dwarf-aux.c __die_walk_instances_cb: an inlined copy called from its own declaration line and file
  // (SYSCALL_DEFINEn's __do_sys_X inside __se_sys_X) is skipped.
  const redundant = (f: FunctionInstance) => {
    const o = full.ref(f.die, DW_AT.abstract_origin);
    return f.die.tag === DW_TAG.inlined_subroutine && o !== undefined && full.udata(f.die, DW_AT.call_line) === full.udata(o, DW_AT.decl_line)
      && full.udata(f.die, DW_AT.call_file) === full.udata(o, DW_AT.decl_file);
  };
  let skipped = 0;
  for (const n of names) {
    // Copies with empty code (low_pc == high_pc) too: perf probes their entry address (die_is_func_instance).
    const all = (full.nameIndex().get(n) ?? []).map((d) => full.functionInstance(d, { empty: true })).filter((f) => f !== undefined);
    skipped += all.filter(redundant).length;
    const want = all.filter((f) => !redundant(f)).map((f) => f.die.offset).sort();
    const got = findFunctions(fast, n).map((f) => f.die.offset).sort();
    assert.equal(got, want, n);
  }
  assert.ok(skipped >= 5, `redundant copies in the fixture: ${skipped}`);
  assert.equal(findFunctions(fast, 'no_such_function'), []);
  // A name that is only a suffix of others (merged .debug_str tails) finds nothing extra.
  assert.equal(findFunctions(fast, 'read').map((f) => f.name), full.functionsByName('read').map((f) => f.name));
});

test.run();
