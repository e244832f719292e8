// .debug_abbrev: abbreviation tables (DWARF 5 §7.5.3). A table is parsed once per offset, on first use.
import { DW_FORM } from './constants.js';
import { fail } from './error.js';
import type { DebugAbbrevOffset } from './offsets.js';
import { Reader } from './reader.js';

export interface AttrSpec { readonly at: number; readonly form: number; readonly implicitConst: number }
export interface Abbrev {
  readonly code: number;
  readonly tag: number;
  readonly hasChildren: boolean;
  readonly attrs: readonly AttrSpec[];
}

export class AbbrevTable {
  /** Dense array for small codes (gcc numbers them 1..N), Map fallback for sparse ones. */
  private readonly dense: (Abbrev | undefined)[] = [];
  private readonly sparse = new Map<number, Abbrev>();
  constructor(readonly offset: DebugAbbrevOffset) {}
  add(a: Abbrev): void {
    if (a.code < 65536) this.dense[a.code] = a; else this.sparse.set(a.code, a);
  }
  get(code: number): Abbrev | undefined {
    return code < 65536 ? this.dense[code] : this.sparse.get(code);
  }
}

export function parseAbbrevTable(buf: Uint8Array, offset: DebugAbbrevOffset): AbbrevTable {
  const r = new Reader(buf, '.debug_abbrev', 0);
  if (offset >= buf.length) fail('.debug_abbrev', offset, 'abbreviation table offset outside section');
  r.pos = offset;
  const table = new AbbrevTable(offset);
  // Every iteration consumes at least one byte, so the loop is bounded by the section length.
  for (;;) {
    const at = r.pos;
    const code = r.uleb();
    if (code === 0) return table;
    const tag = r.uleb();
    const children = r.u8();
    if (children > 1) fail('.debug_abbrev', r.pos - 1, `bad DW_CHILDREN value ${children}`);
    const attrs: AttrSpec[] = [];
    for (;;) {
      const name = r.uleb();
      const form = r.uleb();
      if (name === 0 && form === 0) break;
      const implicitConst = form === DW_FORM.implicit_const ? r.sleb() : 0;
      attrs.push({ at: name, form, implicitConst });
    }
    if (table.get(code)) fail('.debug_abbrev', at, `duplicate abbreviation code ${code}`);
    table.add({ code, tag, hasChildren: children === 1, attrs });
  }
}
