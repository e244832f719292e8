// Decoded instructions in their stored form (the code cache's entry: kernel/code-cache.ts): one byte buffer of
// records sorted by address, each read into an OpRecord only when the run meets its address. A JSON array of
// records cost a real Linux run ~100 ms of parsing and as much again of garbage collection for its ~23,000
// ops, most of which a run never looks at; this form costs one pass over the buffer that makes nothing.
//
// A record: f64 ip, u8 n, u8 fault (0; for bytes that do not decode: DecodeCache's `bad` | 4 when the next
// page was fetchable), its n bytes, u8 len (n unless it is a fault), u16 code, u16 mn, u8 flow, i8 cc, u8 nops, per operand
// (u8 kind, u16 reg, i8 rg, u8 rh, u16 osz, u32 imlo, u32 imhi), u8 flags (1 mem, 2 target, 4 lock,
// 8 shape), [mem: i8 base, i8 index, u8 scale, f64 disp, f64 abs (NaN: none), u8 seg, u16 size, u8 addr32],
// [f64 target], u8 rep, u32 fread, u32 fwrite, i32 stackInc, u8 strSeg, u32 facts, [shape: u8 probe,
// u32 shape index, u16 count, f64 nums..., u16 consts]. The encoder refuses a value its field cannot hold
// exactly (the caller then writes no entry), so a record reads back as the very record that was written.
import type { OpRecord, OpShape } from './decode.js';

const F_MEM = 1, F_TARGET = 2, F_LOCK = 4, F_SHAPE = 8;
/** The fault values a record may carry: bad 1 (bytes run into a page it may not fetch) or 2 (invalid), | 4
 *  when the next page was fetchable. */
const FAULTS = new Set([1, 2, 5, 6]);

/** A packed array of n zeros (literals up to 15: `new Array(n)` would be holey, and push grows by steps). */
function sized(n: number): number[] {
  switch (n) {
    case 0: return [];
    case 1: return [0];
    case 2: return [0, 0];
    case 3: return [0, 0, 0];
    case 4: return [0, 0, 0, 0];
    case 5: return [0, 0, 0, 0, 0];
    case 6: return [0, 0, 0, 0, 0, 0];
    case 7: return [0, 0, 0, 0, 0, 0, 0];
    case 8: return [0, 0, 0, 0, 0, 0, 0, 0];
    default: { const a: number[] = []; for (let i = 0; i < n; i++) a.push(0); return a; }
  }
}

class Writer {
  buf = new Uint8Array(1 << 16);
  dv = new DataView(this.buf.buffer);
  n = 0;
  room(k: number): void {
    if (this.n + k <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.n + k));
    b.set(this.buf.subarray(0, this.n));
    this.buf = b; this.dv = new DataView(b.buffer);
  }
  private fits(v: number, lo: number, hi: number): number {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`op record field ${v} outside [${lo}, ${hi}]`);
    return v;
  }
  u8(v: number): void { this.room(1); this.buf[this.n++] = this.fits(v, 0, 255); }
  i8(v: number): void { this.room(1); this.dv.setInt8(this.n++, this.fits(v, -128, 127)); }
  u16(v: number): void { this.room(2); this.dv.setUint16(this.n, this.fits(v, 0, 0xffff), true); this.n += 2; }
  u32(v: number): void { this.room(4); this.dv.setUint32(this.n, this.fits(v, 0, 0xffffffff), true); this.n += 4; }
  i32(v: number): void { this.room(4); this.dv.setInt32(this.n, this.fits(v, -0x80000000, 0x7fffffff), true); this.n += 4; }
  f64(v: number): void { this.room(8); this.dv.setFloat64(this.n, v, true); this.n += 8; }
  raw(b: Uint8Array): void { this.room(b.length); this.buf.set(b, this.n); this.n += b.length; }
}

function writeRecord(w: Writer, r: OpRecord, shapeIndex: (text: string) => number): void {
  const nops = r[6], fault = r[25] ?? 0;
  w.f64(r[0]); w.u8(r[21].length); w.u8(fault);
  if (fault === 0 ? r[21].length !== r[1] : r[1] !== 1 || !FAULTS.has(fault)) throw new RangeError('op record: bytes and length differ');
  for (const b of r[21]) w.u8(b);
  w.u8(r[1]); w.u16(r[2]); w.u16(r[3]); w.u8(r[4]); w.i8(r[5]); w.u8(nops);
  for (const a of [r[7], r[8], r[9], r[10], r[11], r[12], r[13]]) if (a.length !== nops) throw new RangeError('op record: operand arrays and count differ');
  for (let k = 0; k < nops; k++) { w.u8(r[7][k]); w.u16(r[8][k]); w.i8(r[9][k]); w.u8(r[10][k]); w.u16(r[11][k]); w.u32(r[12][k]); w.u32(r[13][k]); }
  const M = r[14], sh = r[24];
  w.u8((M ? F_MEM : 0) | (r[15] !== null ? F_TARGET : 0) | (r[17] ? F_LOCK : 0) | (sh !== undefined ? F_SHAPE : 0));
  if (M) { w.i8(M[0]); w.i8(M[1]); w.u8(M[2]); w.f64(M[3]); w.f64(M[4] === null ? NaN : M[4]); w.u8(M[5]); w.u16(M[6]); w.u8(M[7] ? 1 : 0); }
  if (r[15] !== null) w.f64(r[15]);
  w.u8(r[16]); w.u32(r[18]); w.u32(r[19]); w.i32(r[20]); w.u8(r[22]); w.u32(r[23]);
  if (sh !== undefined) {
    w.u8(sh[0]); w.u32(shapeIndex(sh[1])); w.u16(sh[2].length);
    for (const x of sh[2]) w.f64(x);
    w.u16(sh[3]);
  }
}

/** Ops of earlier runs, by address (DecodeCache.preload): several records may share an address (the
 *  versions of its bytes). */
export class OpTable {
  /** Each record's address and offset in the buffer (offs has one more entry: the end). */
  readonly ips: Float64Array;
  readonly offs: Uint32Array;
  private readonly dv: DataView;
  /** Records read so far (the same object each time: a shape learned for it is kept with it). */
  private readonly recs: (OpRecord | undefined)[];

  private constructor(readonly blob: Uint8Array, readonly shapes: readonly string[], ips: Float64Array, offs: Uint32Array) {
    this.ips = ips; this.offs = offs;
    this.dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    this.recs = new Array(ips.length);
  }

  get size(): number { return this.ips.length; }

  /** The table of a buffer written by encodeOps, or null when it is not one (records cut short, fields out
   *  of range, addresses out of order): every record is walked once, so reading one later cannot fail. */
  static read(blob: Uint8Array, shapes: readonly string[]): OpTable | null {
    const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    const ips: number[] = [], offs: number[] = [];
    let p = 0;
    try {
      while (p < blob.length) {
        const ip = dv.getFloat64(p, true);
        if (!Number.isSafeInteger(ip) || (ips.length > 0 && ip < ips[ips.length - 1])) return null;
        ips.push(ip); offs.push(p);
        const n = dv.getUint8(p + 8), fault = dv.getUint8(p + 9);
        let q = p + 10 + n;
        const len = dv.getUint8(q); q += 1;
        if (n < 1 || n > 15 || (fault === 0 ? len !== n : len !== 1 || !FAULTS.has(fault))) return null;
        const nops = dv.getUint8(q + 6); q += 7 + 15 * nops;
        const flags = dv.getUint8(q); q += 1;
        if (flags & F_MEM) q += 23;
        if (flags & F_TARGET) q += 8;
        q += 18;
        if (flags & F_SHAPE) {
          if (dv.getUint32(q + 1, true) >= shapes.length) return null;
          q += 7 + 8 * dv.getUint16(q + 5, true) + 2;
        }
        if (q > blob.length) return null;
        p = q;
      }
    } catch { return null; }
    offs.push(p);
    return new OpTable(blob, shapes, Float64Array.from(ips), Uint32Array.from(offs));
  }

  /** Records (an earlier run's, or made now: tests) as a table. */
  static of(records: readonly OpRecord[], shapes: string[] = []): OpTable {
    const t = OpTable.read(encodeOps(records, shapes), shapes);
    if (t === null) throw new Error('OpTable.of: records do not encode');
    return t;
  }

  /** The index of the first record at `ip`, or -1. */
  first(ip: number): number {
    const a = this.ips;
    let lo = 0, hi = a.length;
    while (lo < hi) { const m = (lo + hi) >>> 1; if (a[m] < ip) lo = m + 1; else hi = m; }
    return lo < a.length && a[lo] === ip ? lo : -1;
  }
  /** How many bytes record i holds (its instruction's length, unless it is a fault), and byte k of them. */
  nbytes(i: number): number { return this.blob[this.offs[i] + 8]; }
  byte(i: number, k: number): number { return this.blob[this.offs[i] + 10 + k]; }
  /** Record i's fault (OpRecord[25]): 0 for an instruction that decoded. */
  fault(i: number): number { return this.blob[this.offs[i] + 9]; }
  /** Record i's bytes (a view). */
  bytesOf(i: number): Uint8Array { const o = this.offs[i] + 10; return this.blob.subarray(o, o + this.blob[o - 2]); }
  /** Has record i been read (its object may carry a shape learned in this run)? */
  isRead(i: number): boolean { return this.recs[i] !== undefined; }

  /** Record i as an OpRecord (made on first use, then the same object). */
  record(i: number): OpRecord {
    const known = this.recs[i];
    if (known !== undefined) return known;
    const dv = this.dv, b = this.blob;
    let q = this.offs[i];
    const ip = dv.getFloat64(q, true), n = b[q + 8], fault = b[q + 9];
    const bytes = sized(n);
    for (let k = 0; k < n; k++) bytes[k] = b[q + 10 + k];
    q += 10 + n;
    const len = b[q++];
    const code = dv.getUint16(q, true), mn = dv.getUint16(q + 2, true), flow = b[q + 4], cc = dv.getInt8(q + 5), nops = b[q + 6];
    q += 7;
    // arrays of their exact length (a record is made for nearly every op a run meets: ~23,000 on Linux)
    const kind = sized(nops), reg = sized(nops), rg = sized(nops), rh = sized(nops), osz = sized(nops), imlo = sized(nops), imhi = sized(nops);
    for (let k = 0; k < nops; k++, q += 15) {
      kind[k] = b[q]; reg[k] = dv.getUint16(q + 1, true); rg[k] = dv.getInt8(q + 3); rh[k] = b[q + 4];
      osz[k] = dv.getUint16(q + 5, true); imlo[k] = dv.getUint32(q + 7, true); imhi[k] = dv.getUint32(q + 11, true);
    }
    const flags = b[q++];
    let mem: OpRecord[14] = null, target: number | null = null;
    if (flags & F_MEM) {
      const abs = dv.getFloat64(q + 11, true);
      mem = [dv.getInt8(q), dv.getInt8(q + 1), b[q + 2], dv.getFloat64(q + 3, true), Number.isNaN(abs) ? null : abs, b[q + 19], dv.getUint16(q + 20, true), b[q + 22] === 1];
      q += 23;
    }
    if (flags & F_TARGET) { target = dv.getFloat64(q, true); q += 8; }
    const rep = b[q], fread = dv.getUint32(q + 1, true), fwrite = dv.getUint32(q + 5, true), stackInc = dv.getInt32(q + 9, true);
    const strSeg = b[q + 13], facts = dv.getUint32(q + 14, true);
    q += 18;
    const r: OpRecord = [ip, len, code, mn, flow, cc, nops, kind, reg, rg, rh, osz, imlo, imhi, mem, target, rep, (flags & F_LOCK) !== 0,
      fread, fwrite, stackInc, bytes, strSeg, facts];
    if (flags & F_SHAPE) {
      const probe = b[q], idx = dv.getUint32(q + 1, true), n = dv.getUint16(q + 5, true);
      q += 7;
      const nums = sized(n);
      for (let k = 0; k < n; k++, q += 8) nums[k] = dv.getFloat64(q, true);
      const shape: OpShape = [probe, this.shapes[idx], nums, dv.getUint16(q, true)];
      r[24] = shape;
    }
    if (fault !== 0) r[25] = fault;
    return (this.recs[i] = r);
  }
}

/**
 * Records as a table's buffer, sorted by address (stable: the order given among one address's versions).
 * An item is a record, or record i of a table whose shapes start `shapes` (copied as it is, unless it
 * was read: then its object, which may carry a shape learned since). New shapes are appended to `shapes`.
 */
export function encodeOps(items: readonly (OpRecord | readonly [OpTable, number])[], shapes: string[]): Uint8Array {
  const index = new Map<string, number>();
  shapes.forEach((s, i) => { if (!index.has(s)) index.set(s, i); });
  const shapeIndex = (text: string) => {
    let i = index.get(text);
    if (i === undefined) { i = shapes.length; shapes.push(text); index.set(text, i); }
    return i;
  };
  const ipOf = (x: OpRecord | readonly [OpTable, number]) => (x.length === 2 ? x[0].ips[x[1]] : (x as OpRecord)[0]);
  const order = items.map((_, k) => k).sort((a, b) => ipOf(items[a]) - ipOf(items[b]) || a - b);
  const w = new Writer();
  for (const k of order) {
    const x = items[k];
    if (x.length === 2) {
      const [t, i] = x as readonly [OpTable, number];
      if (!t.isRead(i)) {
        for (let s = 0; s < t.shapes.length; s++) if (shapes[s] !== t.shapes[s]) throw new Error('encodeOps: a table record with other shapes');
        w.raw(t.blob.subarray(t.offs[i], t.offs[i + 1]));
        continue;
      }
      writeRecord(w, t.record(i), shapeIndex);
    } else writeRecord(w, x as OpRecord, shapeIndex);
  }
  return w.buf.slice(0, w.n);
}
