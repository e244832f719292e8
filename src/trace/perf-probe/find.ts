// Finding a function's instances by name without naming every DIE of the kernel: `Dwarf.functionsByName`
// resolves the name of every subprogram and inlined copy (following abstract origins), which costs as
// much as parsing the DIEs again. A unit can only hold a DIE named NAME if its bytes mention NAME:
// inline (DW_FORM_string) or as an offset into .debug_str (DW_FORM_strp) of a place where NAME\0 is
// (the linker merges strings, suffixes included). Only those units are searched by name. With string
// offset tables (DW_FORM_strx, DWARF 5 split forms) there is no such shortcut: every unit is searched.
import { DW_AT, DW_TAG, type Dwarf, type FunctionInstance } from '../../dwarf/index.js';

function asBuffer(b: Uint8Array): Buffer { return Buffer.from(b.buffer, b.byteOffset, b.byteLength); }

/** Every concrete instance named `name` (out-of-line bodies and inlined copies), as functionsByName gives. */
export function findFunctions(d: Dwarf, name: string): FunctionInstance[] {
  const info = asBuffer(d.sections.get('.debug_info'));
  const str = asBuffer(d.sections.get('.debug_str'));
  const nameZ = Buffer.from(name + '\0', 'utf8');
  const needles: Buffer[] = [nameZ];
  for (let at = str.indexOf(nameZ); at >= 0; at = str.indexOf(nameZ, at + 1)) {
    const n4 = Buffer.alloc(4); n4.writeUInt32LE(at >>> 0);
    needles.push(n4);
  }
  const shortcut = !d.sections.has('.debug_str_offsets');
  const out: FunctionInstance[] = [];
  for (const u of d.units()) {
    if (shortcut) {
      const lo = u.offset, hi = u.header.end;
      let hit = false;
      for (const n of needles) { const i = info.indexOf(n, lo); if (i >= 0 && i + n.length <= hi) { hit = true; break; } }
      if (!hit) continue;
    }
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
