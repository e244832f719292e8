// Exact little-endian reads with bounds checks. elfy reads 64-bit fields as doubles, which loses
// the low bits of kernel addresses; every address, size and offset of src/elf comes through here.
import { ElfError } from './errors.js';

export class Reader {
  readonly bytes: Uint8Array;
  private readonly dv: DataView;
  /**
   * `bytes` hold the file's bytes from file offset `base` on (a window: the headers of a large file);
   * offsets given to every method are file offsets; `size` is the whole file's size, for bounds checks.
   */
  constructor(bytes: Uint8Array, private readonly base = 0, private readonly size = base + bytes.length) {
    this.bytes = bytes;
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get length(): number { return this.size; }

  /** Throws ElfError unless [off, off+len) lies inside the file. `what` names the structure for the message. */
  check(off: number, len: number, what: string): void {
    if (!(off >= 0 && len >= 0 && off + len <= this.size && Number.isSafeInteger(off + len))) {
      throw new ElfError(`truncated or corrupt: ${what} at file offset 0x${off.toString(16)} (+0x${len.toString(16)}) is outside the file (size 0x${this.size.toString(16)})`, off);
    }
  }
  u8(off: number): number { return this.bytes[off - this.base]!; }
  u16(off: number): number { return this.dv.getUint16(off - this.base, true); }
  u32(off: number): number { return this.dv.getUint32(off - this.base, true); }
  i32(off: number): number { return this.dv.getInt32(off - this.base, true); }
  u64(off: number): bigint { return this.dv.getBigUint64(off - this.base, true); }
  /** A 64-bit size or offset that must fit a JS number exactly. */
  size64(off: number, what: string): number {
    const v = this.dv.getBigUint64(off - this.base, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ElfError(`corrupt: ${what} 0x${v.toString(16)} is too large`, off);
    return Number(v);
  }
}
