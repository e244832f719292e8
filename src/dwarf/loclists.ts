// Location lists: .debug_loclists (DWARF 5 §2.6.2, §7.29) and .debug_loc (DWARF 4 §2.6.2).
import { DW_LLE } from './constants.js';
import { fail } from './error.js';
import type { RangeContext } from './ranges.js';
import { Reader } from './reader.js';

/** One location list entry: where the expression applies ([low, high), or always when `isDefault`). */
export interface LocEntry {
  readonly low: number;
  readonly high: number;
  readonly expr: Uint8Array;
  readonly isDefault?: boolean;
}

export function readLocList(buf: Uint8Array, offset: number, ctx: RangeContext): LocEntry[] {
  const r = new Reader(buf, '.debug_loclists', 0);
  if (offset < 0 || offset >= buf.length) fail('.debug_loclists', offset, 'location list offset outside section');
  r.pos = offset;
  const out: LocEntry[] = [];
  let base = ctx.baseAddress;
  const expr = () => r.bytes(r.uleb());
  for (;;) {
    const kind = r.u8();
    switch (kind) {
      case DW_LLE.end_of_list: return out;
      case DW_LLE.base_addressx: base = ctx.addrx(r.uleb()); break;
      case DW_LLE.startx_endx: { const s = ctx.addrx(r.uleb()), e = ctx.addrx(r.uleb()); out.push({ low: s, high: e, expr: expr() }); break; }
      case DW_LLE.startx_length: { const s = ctx.addrx(r.uleb()); const l = r.uleb(); out.push({ low: s, high: s + l, expr: expr() }); break; }
      case DW_LLE.offset_pair: { const a = r.uleb(), b = r.uleb(); out.push({ low: base + a, high: base + b, expr: expr() }); break; }
      case DW_LLE.default_location: out.push({ low: 0, high: 0, expr: expr(), isDefault: true }); break;
      case DW_LLE.base_address: base = r.address(ctx.addrSize); break;
      case DW_LLE.start_end: { const s = r.address(ctx.addrSize), e = r.address(ctx.addrSize); out.push({ low: s, high: e, expr: expr() }); break; }
      case DW_LLE.start_length: { const s = r.address(ctx.addrSize), l = r.uleb(); out.push({ low: s, high: s + l, expr: expr() }); break; }
      // gcc's -gvariable-location-views=incompat5 form: the view numbers precede the next entry.
      case DW_LLE.GNU_view_pair: r.uleb(); r.uleb(); break;
      default: fail('.debug_loclists', r.pos - 1, `unknown location list entry 0x${kind.toString(16)}`);
    }
  }
}

/** DW_FORM_loclistx: offset of list `index` in the unit's offset table at `base`. */
export function locListOffset(buf: Uint8Array, base: number, index: number, offsetSize: 4 | 8): number {
  const at = base + index * offsetSize;
  if (!Number.isSafeInteger(at) || at + offsetSize > buf.length) fail('.debug_loclists', at, `location list index ${index} outside table`);
  return base + new Reader(buf, '.debug_loclists', at).offset(offsetSize);
}

/** A DWARF 2-4 location list at `offset` of .debug_loc. */
export function readLoc(buf: Uint8Array, offset: number, ctx: RangeContext): LocEntry[] {
  const r = new Reader(buf, '.debug_loc', 0);
  if (offset < 0 || offset >= buf.length) fail('.debug_loc', offset, 'location list offset outside section');
  r.pos = offset;
  const out: LocEntry[] = [];
  let base = ctx.baseAddress;
  const maxAddr = ctx.addrSize === 8 ? -1 : 0xffffffff;
  for (;;) {
    const a = r.address(ctx.addrSize), b = r.address(ctx.addrSize);
    if (a === 0 && b === 0) return out;
    if (a === maxAddr) { base = b; continue; }
    const e = r.bytes(r.u16());
    out.push({ low: base + a, high: base + b, expr: e });
  }
}
