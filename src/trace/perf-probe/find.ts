// Finding a function's instances by name without naming every DIE of the kernel: only the units that
// define NAME (Dwarf.unitsDefining: an out-of-line body or an abstract inline instance there, found by
// a skim of each unit's top level or a persistent index) are decoded and searched.
import { DW_AT, DW_TAG, type Dwarf, type FunctionInstance } from '../../dwarf/index.js';

/** Every concrete instance named `name` (out-of-line bodies and inlined copies), as functionsByName gives. */
export function findFunctions(d: Dwarf, name: string): FunctionInstance[] {
  const out: FunctionInstance[] = [];
  for (const u of d.unitsDefining(name)) {
    for (const die of u.dies()) {
      if (die.tag !== DW_TAG.subprogram && die.tag !== DW_TAG.inlined_subroutine) continue;
      if (!d.has(die, DW_AT.low_pc) && !d.has(die, DW_AT.ranges)) continue;
      if (d.name(die) !== name) continue;
      const fi = d.functionInstance(die);
      if (fi) out.push(fi);
    }
  }
  return out;
}
