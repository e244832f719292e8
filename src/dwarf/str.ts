// .debug_str, .debug_line_str, .debug_str_offsets (DWARF 5 §7.26) and .debug_addr (§7.27).
import { fail } from './error.js';
import { Reader, stringAt } from './reader.js';

export function strAt(debugStr: Uint8Array, offset: number): string {
  return stringAt(debugStr, '.debug_str', offset);
}
export function lineStrAt(debugLineStr: Uint8Array, offset: number): string {
  return stringAt(debugLineStr, '.debug_line_str', offset);
}
/** The .debug_str offset of string index `index` of a unit whose table starts at `base`. */
export function strOffsetAt(strOffsets: Uint8Array, base: number, index: number, offsetSize: 4 | 8): number {
  const at = base + index * offsetSize;
  if (!Number.isSafeInteger(at) || at + offsetSize > strOffsets.length) fail('.debug_str_offsets', at, `string index ${index} outside table`);
  const r = new Reader(strOffsets, '.debug_str_offsets', at);
  return r.offset(offsetSize);
}
/** Address index `index` of a unit whose .debug_addr table starts at `base`. */
export function addrAt(debugAddr: Uint8Array, base: number, index: number, addrSize: number): number {
  const at = base + index * addrSize;
  if (!Number.isSafeInteger(at) || at + addrSize > debugAddr.length) fail('.debug_addr', at, `address index ${index} outside table`);
  return new Reader(debugAddr, '.debug_addr', at).address(addrSize);
}
