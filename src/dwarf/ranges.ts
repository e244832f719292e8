// Address ranges: .debug_rnglists (DWARF 5 §2.17.3, §7.25) and .debug_ranges (DWARF 4 §2.17.3).
import { DW_RLE } from './constants.js';
import { fail } from './error.js';
import { Reader } from './reader.js';

/** A half-open address range [low, high). */
export interface Range { readonly low: number; readonly high: number }

export interface RangeContext {
  readonly addrSize: number;
  readonly offsetSize: 4 | 8;
  /** The unit's base address (DW_AT_low_pc of the unit DIE). */
  readonly baseAddress: number;
  /** Resolves a .debug_addr index (DW_RLE_*x forms). */
  readonly addrx: (index: number) => number;
}

/** A DWARF 5 range list at `offset` of .debug_rnglists. Empty ranges are dropped. */
export function readRngList(buf: Uint8Array, offset: number, ctx: RangeContext): Range[] {
  const r = new Reader(buf, '.debug_rnglists', 0);
  if (offset < 0 || offset >= buf.length) fail('.debug_rnglists', offset, 'range list offset outside section');
  r.pos = offset;
  const out: Range[] = [];
  let base = ctx.baseAddress;
  // Each entry consumes at least one byte: bounded by the section length.
  for (;;) {
    const kind = r.u8();
    switch (kind) {
      case DW_RLE.end_of_list: return out;
      case DW_RLE.base_addressx: base = ctx.addrx(r.uleb()); break;
      case DW_RLE.startx_endx: push(out, ctx.addrx(r.uleb()), ctx.addrx(r.uleb())); break;
      case DW_RLE.startx_length: { const s = ctx.addrx(r.uleb()); push(out, s, s + r.uleb()); break; }
      case DW_RLE.offset_pair: { const a = r.uleb(), b = r.uleb(); push(out, base + a, base + b); break; }
      case DW_RLE.base_address: base = r.address(ctx.addrSize); break;
      case DW_RLE.start_end: { const s = r.address(ctx.addrSize); push(out, s, r.address(ctx.addrSize)); break; }
      case DW_RLE.start_length: { const s = r.address(ctx.addrSize); push(out, s, s + r.uleb()); break; }
      default: fail('.debug_rnglists', r.pos - 1, `unknown range list entry 0x${kind.toString(16)}`);
    }
  }
}

/** DW_FORM_rnglistx: the offset of list `index` of the unit's offset table at `base` (§7.29). */
export function rngListOffset(buf: Uint8Array, base: number, index: number, offsetSize: 4 | 8): number {
  const at = base + index * offsetSize;
  if (!Number.isSafeInteger(at) || at + offsetSize > buf.length) fail('.debug_rnglists', at, `range list index ${index} outside table`);
  return base + new Reader(buf, '.debug_rnglists', at).offset(offsetSize);
}

/** A DWARF 2-4 range list at `offset` of .debug_ranges. */
export function readRanges(buf: Uint8Array, offset: number, ctx: RangeContext): Range[] {
  const r = new Reader(buf, '.debug_ranges', 0);
  if (offset < 0 || offset >= buf.length) fail('.debug_ranges', offset, 'range list offset outside section');
  r.pos = offset;
  const out: Range[] = [];
  let base = ctx.baseAddress;
  const maxAddr = ctx.addrSize === 8 ? -1 : 0xffffffff; // all-ones in canonical form
  for (;;) {
    const a = r.address(ctx.addrSize), b = r.address(ctx.addrSize);
    if (a === 0 && b === 0) return out;
    if (a === maxAddr) { base = b; continue; } // base address selection entry
    push(out, base + a, base + b);
  }
}

function push(out: Range[], low: number, high: number): void {
  if (high > low) out.push({ low, high });
}

export function rangesContain(ranges: readonly Range[], pc: number): boolean {
  for (const r of ranges) if (pc >= r.low && pc < r.high) return true;
  return false;
}
