// Finding a function's instances by name without naming every DIE of the kernel: only the units that
// define NAME (Dwarf.unitsDefining: an out-of-line body or an abstract inline instance there, found by
// a skim of each unit's top level or a persistent index) are decoded and searched.
import type { Dwarf, FunctionInstance } from '../../dwarf/index.js';

/** Every concrete instance named `name` (out-of-line bodies and inlined copies), as functionsByName gives. */
export function findFunctions(d: Dwarf, name: string): FunctionInstance[] {
  const out: FunctionInstance[] = [];
  for (const u of d.unitsDefining(name)) {
    for (const die of d.functionsNamedIn(u, name)) {
      const fi = d.functionInstance(die);
      if (fi) out.push(fi);
    }
  }
  return out;
}
