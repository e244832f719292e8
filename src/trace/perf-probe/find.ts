// Finding a function's instances by name without naming every DIE of the kernel: only the units that
// define NAME (Dwarf.unitsDefining: an out-of-line body or an abstract inline instance there, found by
// a skim of each unit's top level or a persistent index) are decoded and searched.
import { DW_TAG, hasCode, type Dwarf, type FunctionInstance } from '../../dwarf/index.js';

/** Every concrete instance named `name` (out-of-line bodies and inlined copies), as functionsByName gives. */
export function findFunctions(d: Dwarf, name: string): FunctionInstance[] {
  const out: FunctionInstance[] = [];
  for (const u of d.unitsDefining(name)) {
    for (let i = 0, n = u.count; i < n; i++) {
      const tag = u.tagAt(i);
      if (tag !== DW_TAG.subprogram && tag !== DW_TAG.inlined_subroutine) continue;
      if (!hasCode(u.abbrevAt(i))) continue;
      const die = u.die(i);
      if (d.name(die) !== name) continue;
      const fi = d.functionInstance(die);
      if (fi) out.push(fi);
    }
  }
  return out;
}
