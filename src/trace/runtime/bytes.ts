// A FIFO of byte entries in flat buffers (no object per entry): what the streaming merge and the
// trace ring buffer hold. Keeping entries as bytes rather than strings or objects keeps a long
// run's garbage young (the garbage collector then frees it at once, and memory stays flat).

import { hasRawBytes, textBytes } from '../../base/text.js';

export class ByteFifo {
  data = Buffer.allocUnsafe(1 << 16);
  private dStart = 0;
  private dEnd = 0;
  ts = new Float64Array(1024);
  off = new Int32Array(1024);
  len = new Int32Array(1024);
  seq = new Float64Array(1024);
  head = 0;
  tail = 0;
  /** Bytes held. */
  bytes = 0;

  get size(): number { return this.tail - this.head; }

  /** An entry of text: its UTF-8, with bytes escaped by `bytesText` (src/base/text.ts) written as themselves. */
  push(text: string, ts = 0, seq = 0): void {
    if (hasRawBytes(text)) { this.pushBytes(textBytes(text), ts, seq); return; }
    const n = Buffer.byteLength(text);
    if (this.dEnd + n > this.data.length) this.makeRoom(n);
    this.data.write(text, this.dEnd);
    this.add(n, ts, seq);
  }

  pushBytes(b: Uint8Array, ts = 0, seq = 0): void {
    const n = b.length;
    if (this.dEnd + n > this.data.length) this.makeRoom(n);
    this.data.set(b, this.dEnd);
    this.add(n, ts, seq);
  }

  private add(n: number, ts: number, seq: number): void {
    if (this.tail === this.ts.length) this.entryRoom();
    const t = this.tail++;
    this.ts[t] = ts; this.off[t] = this.dEnd; this.len[t] = n; this.seq[t] = seq;
    this.dEnd += n;
    this.bytes += n;
  }

  /** Drop the oldest entry. */
  shift(): void {
    this.bytes -= this.len[this.head]!;
    this.head++;
    if (this.head === this.tail) { this.head = this.tail = 0; this.dStart = this.dEnd = 0; }
    else this.dStart = this.off[this.head]!;
  }

  /** The oldest entry's bytes (a view: valid until the next push). */
  first(): Buffer { return this.data.subarray(this.off[this.head]!, this.off[this.head]! + this.len[this.head]!); }

  private makeRoom(n: number): void {
    const live = this.dEnd - this.dStart;
    let size = this.data.length;
    while (live + n > size / 2) size *= 2;
    const d = size === this.data.length ? this.data : Buffer.allocUnsafe(size);
    this.data.copy(d, 0, this.dStart, this.dEnd);
    const shift = this.dStart;
    for (let i = this.head; i < this.tail; i++) this.off[i]! -= shift;
    this.data = d;
    this.dStart = 0;
    this.dEnd = live;
  }

  private entryRoom(): void {
    const live = this.tail - this.head;
    const size = live * 2 > this.ts.length ? this.ts.length * 2 : this.ts.length;
    const move = <T extends Float64Array | Int32Array>(a: T, make: (n: number) => T): T => {
      if (size === a.length) { a.copyWithin(0, this.head, this.tail); return a; }
      const b = make(size);
      b.set(a.subarray(this.head, this.tail));
      return b;
    };
    this.ts = move(this.ts, (k) => new Float64Array(k));
    this.off = move(this.off, (k) => new Int32Array(k));
    this.len = move(this.len, (k) => new Int32Array(k));
    this.seq = move(this.seq, (k) => new Float64Array(k));
    this.tail = live;
    this.head = 0;
  }
}

/** A growing output buffer of bytes, taken whole by `take`. */
export class ByteSink {
  private buf = Buffer.allocUnsafe(1 << 16);
  length = 0;
  append(b: Buffer): void {
    if (this.length + b.length > this.buf.length) {
      let size = this.buf.length * 2;
      while (this.length + b.length > size) size *= 2;
      const n = Buffer.allocUnsafe(size);
      this.buf.copy(n, 0, 0, this.length);
      this.buf = n;
    }
    b.copy(this.buf, this.length);
    this.length += b.length;
  }
  /** The bytes so far (a copy), and empty again. */
  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.length));
    this.length = 0;
    if (this.buf.length > 1 << 22) this.buf = Buffer.allocUnsafe(1 << 16);
    return out;
  }
}
