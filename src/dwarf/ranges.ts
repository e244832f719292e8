// Address ranges: .debug_rnglists (DWARF 5 §2.17.3, §7.25) and .debug_ranges (DWARF 4 §2.17.3).
import { DW_RLE } from './constants.js';
import { fail, type SectionName } from './error.js';
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

/** The entry codes a DWARF 5 list walk reads: .debug_rnglists' DW_RLE_* or .debug_loclists' DW_LLE_* (§7.25, §7.29). */
type ListCodes = { readonly end_of_list: number; readonly base_addressx: number; readonly startx_endx: number; readonly startx_length: number;
  readonly offset_pair: number; readonly base_address: number; readonly start_end: number; readonly start_length: number };

/** A reader at `offset` of a list section; an offset outside it is a DwarfError naming `what`. */
export function listReader(buf: Uint8Array, section: SectionName, offset: number, what: string): Reader {
  const r = new Reader(buf, section, 0);
  if (offset < 0 || offset >= buf.length) fail(section, offset, `${what} offset outside section`);
  r.pos = offset;
  return r;
}

/**
 * Walks one DWARF 5 range or location list (their bounded-entry encodings are the same but for the codes):
 * `entry(low, high)` for each bounded entry, the reader left after its bounds (a location list's
 * expression follows); `other(kind)` takes the kinds of one list type only (false: unknown, an error).
 */
export function walkList5(r: Reader, ctx: RangeContext, codes: ListCodes, what: string,
  entry: (low: number, high: number) => void, other: (kind: number) => boolean = () => false): void {
  let base = ctx.baseAddress;
  // Each entry consumes at least one byte: bounded by the section length.
  for (;;) {
    const kind = r.u8();
    switch (kind) {
      case codes.end_of_list: return;
      case codes.base_addressx: base = ctx.addrx(r.uleb()); break;
      case codes.startx_endx: { const s = ctx.addrx(r.uleb()); entry(s, ctx.addrx(r.uleb())); break; }
      case codes.startx_length: { const s = ctx.addrx(r.uleb()); entry(s, s + r.uleb()); break; }
      case codes.offset_pair: { const a = r.uleb(), b = r.uleb(); entry(base + a, base + b); break; }
      case codes.base_address: base = r.address(ctx.addrSize); break;
      case codes.start_end: { const s = r.address(ctx.addrSize); entry(s, r.address(ctx.addrSize)); break; }
      case codes.start_length: { const s = r.address(ctx.addrSize); entry(s, s + r.uleb()); break; }
      default: if (!other(kind)) fail(r.section, r.pos - 1, `unknown ${what} entry 0x${kind.toString(16)}`);
    }
  }
}

/** Walks one DWARF 2-4 list (.debug_ranges, .debug_loc): address pairs, a base address selection entry, 0/0 at the end. */
export function walkList4(r: Reader, ctx: RangeContext, entry: (low: number, high: number) => void): void {
  let base = ctx.baseAddress;
  const maxAddr = ctx.addrSize === 8 ? -1 : 0xffffffff; // all-ones in canonical form
  for (;;) {
    const a = r.address(ctx.addrSize), b = r.address(ctx.addrSize);
    if (a === 0 && b === 0) return;
    if (a === maxAddr) { base = b; continue; } // base address selection entry
    entry(base + a, base + b);
  }
}

/** DW_FORM_rnglistx / DW_FORM_loclistx: the offset of list `index` of the unit's offset table at `base` (§7.29). */
export function listOffset(buf: Uint8Array, section: SectionName, base: number, index: number, offsetSize: 4 | 8, what: string): number {
  const at = base + index * offsetSize;
  if (!Number.isSafeInteger(at) || at + offsetSize > buf.length) fail(section, at, `${what} index ${index} outside table`);
  return base + new Reader(buf, section, at).offset(offsetSize);
}

/** A DWARF 5 range list at `offset` of .debug_rnglists. Empty ranges are dropped. */
export function readRngList(buf: Uint8Array, offset: number, ctx: RangeContext): Range[] {
  const out: Range[] = [];
  walkList5(listReader(buf, '.debug_rnglists', offset, 'range list'), ctx, DW_RLE, 'range list', (low, high) => push(out, low, high));
  return out;
}

/** DW_FORM_rnglistx: the offset of list `index` of the unit's offset table at `base` (§7.29). */
export function rngListOffset(buf: Uint8Array, base: number, index: number, offsetSize: 4 | 8): number {
  return listOffset(buf, '.debug_rnglists', base, index, offsetSize, 'range list');
}

/** A DWARF 2-4 range list at `offset` of .debug_ranges. */
export function readRanges(buf: Uint8Array, offset: number, ctx: RangeContext): Range[] {
  const out: Range[] = [];
  walkList4(listReader(buf, '.debug_ranges', offset, 'range list'), ctx, (low, high) => push(out, low, high));
  return out;
}

function push(out: Range[], low: number, high: number): void {
  if (high > low) out.push({ low, high });
}

export function rangesContain(ranges: readonly Range[], pc: number): boolean {
  for (const r of ranges) if (pc >= r.low && pc < r.high) return true;
  return false;
}
