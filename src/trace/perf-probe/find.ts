// Finding a function's instances by name as perf 6.1 does (tools/perf/util/probe-finder.c
// probe_point_search_cb and line_range_search_cb over dwarf_getfuncs; dwarf-aux.c die_walk_instances),
// without naming every DIE of the kernel: only the units that define NAME (Dwarf.unitsDefining: an
// out-of-line body or an abstract inline instance there, found by a skim of each unit's top level or a
// persistent index) are decoded and searched.
import { DW_AT, DW_TAG, type Dwarf, type Die, type FunctionInstance, type Unit } from '../../dwarf/index.js';
import { pathMatches } from './lines.js';

/**
 * What perf finds for NAME in one unit: the first definition of NAME there (`def`, in DIE order: an
 * out-of-line body, or an abstract inline instance) and the instances probed for it: the body itself,
 * or every concrete instance whose DW_AT_abstract_origin is `def` (inlined copies with an entry
 * address, empty ones included, and out-of-line copies), less the redundant ones.
 */
export interface UnitMatch {
  readonly unit: Unit;
  readonly def: Die;
  readonly declFile: string | undefined;
  readonly declLine: number | undefined;
  readonly instances: FunctionInstance[];
}

/**
 * Per unit that defines `name` (unit order), perf's match there (probe_point_search_cb): dwarf_getfuncs
 * gives the unit's subprograms in DIE order; the first named `name` that is a definition
 * (die_is_func_def: no DW_AT_declaration, and DW_AT_inline or an entry address) declared in `file`
 * (when given) is the match, and no other subprogram of the unit is looked at. A definition with an
 * entry address (die_is_func_instance) is probed itself; an abstract one through its instances
 * (die_walk_instances), where an inlined copy whose call line and file are the function's own
 * declaration line and file (GCC's copy of a function nested in itself) is skipped as redundant.
 */
export function perfFunctionMatches(d: Dwarf, name: string, file?: string): UnitMatch[] {
  const out: UnitMatch[] = [];
  for (const u of d.unitsDefining(name)) {
    const concrete = d.functionsNamedIn(u, name);
    // The candidates in DIE order: bodies and the abstract DIEs the concrete instances refer to; a unit
    // with no concrete instance is looked through at its top level (an abstract DIE with no copy).
    const candidates = new Map<number, Die>();
    const origins = new Map<Die, Die | undefined>();
    for (const c of concrete) {
      if (c.tag === DW_TAG.subprogram) candidates.set(c.index, c);
      const o = d.ref(c, DW_AT.abstract_origin);
      origins.set(c, o);
      if (o && o.unit === u && o.tag === DW_TAG.subprogram) candidates.set(o.index, o);
    }
    if (candidates.size === 0) {
      const root = u.root();
      for (const c of root ? d.children(root) : []) if (c.tag === DW_TAG.subprogram && d.name(c) === name) candidates.set(c.index, c);
    }
    for (const def of [...candidates.keys()].sort((a, b) => a - b).map((i) => candidates.get(i)!)) {
      if (d.has(def, DW_AT.declaration)) continue;
      const instance = isFuncInstance(d, def);
      if (!instance && !d.has(def, DW_AT.inline)) continue;
      // (the declaration's file name reads the unit's line table: only when a file is asked for, or declFile is)
      let decl = file !== undefined ? d.declaration(def) : undefined;
      if (file !== undefined && (decl!.file === undefined || !pathMatches(decl!.file, file))) continue;
      const instances: FunctionInstance[] = [];
      if (instance) {
        const fi = d.functionInstance(def, { empty: true });
        if (fi && fi.entryPc !== 0) instances.push(fi);
      } else {
        const declLine = d.udata(def, DW_AT.decl_line), declFile = d.udata(def, DW_AT.decl_file);
        for (const c of concrete) {
          if (origins.get(c) !== def) continue;
          if (c.tag === DW_TAG.inlined_subroutine && d.udata(c, DW_AT.call_line) === declLine && d.udata(c, DW_AT.call_file) === declFile) continue;
          const fi = d.functionInstance(c, { empty: true });
          if (fi) instances.push(fi);
        }
      }
      out.push({ unit: u, def, get declFile() { return (decl ??= d.declaration(def)).file; }, get declLine() { return (decl ??= d.declaration(def)).line; }, instances });
      break;
    }
  }
  return out;
}

/** die_is_func_instance: an entry address (DW_AT_entry_pc, DW_AT_low_pc) or DW_AT_ranges. */
function isFuncInstance(d: Dwarf, die: Die): boolean {
  return d.has(die, DW_AT.entry_pc) || d.has(die, DW_AT.low_pc) || d.has(die, DW_AT.ranges);
}

/** Every instance perf probes for `name` (in `file`, when given): perfFunctionMatches' instances, unit by unit. */
export function findFunctions(d: Dwarf, name: string, file?: string): FunctionInstance[] {
  return perfFunctionMatches(d, name, file).flatMap((m) => m.instances);
}
