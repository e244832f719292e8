// perf's spelling of a variable's type (tools/perf/util/dwarf-aux.c die_get_typename): qualifiers
// dropped, no space before '*' (`char*`, `struct file*`), arrays shown as pointers, `void*` for a pointer
// without a target type, `(function_type)` for function pointers.
import { DW_AT, DW_TAG, type Dwarf, type Die } from '../../dwarf/index.js';

export function perfTypeName(d: Dwarf, type: Die | undefined): string {
  const name = perfTypeInner(d, type, 0);
  return name ?? '(unknown_type)';
}

function stripQualifiers(d: Dwarf, t: Die | undefined): Die | undefined {
  for (let i = 0; t && i < 16; i++) {
    if (t.tag !== DW_TAG.const_type && t.tag !== DW_TAG.volatile_type && t.tag !== DW_TAG.restrict_type && t.tag !== DW_TAG.atomic_type) return t;
    t = d.ref(t, DW_AT.type);
  }
  return t;
}

function perfTypeInner(d: Dwarf, type: Die | undefined, depth: number): string | undefined {
  const t = stripQualifiers(d, type);
  if (!t || depth > 16) return undefined;
  if (t.tag === DW_TAG.pointer_type || t.tag === DW_TAG.array_type) {
    const inner = perfTypeInner(d, d.ref(t, DW_AT.type), depth + 1);
    // "void pointer has no type attribute" (die_get_typename_from_type).
    if (inner === undefined) return t.tag === DW_TAG.pointer_type ? 'void*' : undefined;
    return inner + '*';
  }
  if (t.tag === DW_TAG.subroutine_type) return '(function_type)';
  const n = d.str(t, DW_AT.name) ?? '';
  const prefix = t.tag === DW_TAG.union_type ? 'union ' : t.tag === DW_TAG.structure_type ? 'struct ' : t.tag === DW_TAG.enumeration_type ? 'enum ' : '';
  return prefix + n;
}
