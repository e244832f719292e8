// Location lists: .debug_loclists (DWARF 5 §2.6.2, §7.29) and .debug_loc (DWARF 4 §2.6.2).
import { DW_LLE } from './constants.js';
import { listOffset, listReader, walkList4, walkList5, type RangeContext } from './ranges.js';

/** One location list entry: where the expression applies ([low, high), or always when `isDefault`). */
export interface LocEntry {
  readonly low: number;
  readonly high: number;
  readonly expr: Uint8Array;
  readonly isDefault?: boolean;
}

export function readLocList(buf: Uint8Array, offset: number, ctx: RangeContext): LocEntry[] {
  const r = listReader(buf, '.debug_loclists', offset, 'location list');
  const out: LocEntry[] = [];
  const expr = () => r.bytes(r.uleb());
  walkList5(r, ctx, DW_LLE, 'location list', (low, high) => out.push({ low, high, expr: expr() }), (kind) => {
    if (kind === DW_LLE.default_location) { out.push({ low: 0, high: 0, expr: expr(), isDefault: true }); return true; }
    // gcc's -gvariable-location-views=incompat5 form: the view numbers precede the next entry.
    if (kind === DW_LLE.GNU_view_pair) { r.uleb(); r.uleb(); return true; }
    return false;
  });
  return out;
}

/** DW_FORM_loclistx: offset of list `index` in the unit's offset table at `base`. */
export function locListOffset(buf: Uint8Array, base: number, index: number, offsetSize: 4 | 8): number {
  return listOffset(buf, '.debug_loclists', base, index, offsetSize, 'location list');
}

/** A DWARF 2-4 location list at `offset` of .debug_loc. */
export function readLoc(buf: Uint8Array, offset: number, ctx: RangeContext): LocEntry[] {
  const r = listReader(buf, '.debug_loc', offset, 'location list');
  const out: LocEntry[] = [];
  walkList4(r, ctx, (low, high) => out.push({ low, high, expr: r.bytes(r.u16()) }));
  return out;
}
