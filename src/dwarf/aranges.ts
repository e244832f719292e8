// .debug_aranges (DWARF 5 §6.1.2): address ranges → the unit that covers them. Lets a PC find its unit
// without decoding every unit's root and range list.
import { fail } from './error.js';
import { Reader } from './reader.js';

export interface ARange { readonly low: number; readonly high: number; readonly unitOffset: number }

/** Every range of every set, sorted by start address. Throws DwarfError on malformed input. */
export function parseAranges(buf: Uint8Array): ARange[] {
  const out: ARange[] = [];
  const r = new Reader(buf, '.debug_aranges');
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  while (r.remaining > 0) {
    const start = r.pos;
    const [length, offsetSize] = r.initialLength();
    if (length > r.remaining) fail('.debug_aranges', start, `set length 0x${length.toString(16)} runs past the section`);
    const end = r.pos + length;
    const s = new Reader(buf, '.debug_aranges', r.pos, end);
    const version = s.u16();
    if (version !== 2) fail('.debug_aranges', start, `unsupported .debug_aranges version ${version}`);
    const unitOffset = s.offset(offsetSize);
    const addrSize = s.u8(), segSize = s.u8();
    if (addrSize !== 8 && addrSize !== 4) fail('.debug_aranges', start, `unsupported address size ${addrSize}`);
    if (segSize !== 0) fail('.debug_aranges', start, 'segmented addresses are not supported');
    // Tuples start at a multiple of twice the address size from the set's start.
    const tupleAlign = 2 * addrSize;
    const rel = s.pos - start;
    s.pos += (tupleAlign - (rel % tupleAlign)) % tupleAlign;
    // The tuples straight from a DataView (a distribution kernel has thousands): addresses in the signed
    // canonical form Reader.address gives.
    for (let p = s.pos; end - p >= tupleAlign; p += tupleAlign) {
      const low = addrSize === 8 ? canonical64(dv, p) : dv.getUint32(p, true);
      const len = addrSize === 8 ? canonical64(dv, p + 8) : dv.getUint32(p + 4, true);
      if (low === 0 && len === 0) break;
      if (len > 0) out.push({ low, high: low + len, unitOffset });
    }
    r.pos = end;
  }
  // Usually in order already (sets in link order): sorted only when not.
  const before = (a: ARange, b: ARange) => a.low - b.low || a.high - b.high;
  for (let i = 1; i < out.length; i++) if (before(out[i - 1]!, out[i]!) > 0) return out.sort(before);
  return out;
}

/** A 64-bit little-endian value as Reader.u64 reads it (signed canonical form). */
function canonical64(dv: DataView, p: number): number {
  const lo = dv.getUint32(p, true), hi = dv.getUint32(p + 4, true);
  return (hi >= 0x80000000 ? hi - 4294967296 : hi) * 4294967296 + lo;
}
