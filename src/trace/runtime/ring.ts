// The trace ring buffer kept in the state directory (the `trace` file): per-CPU buffers of a fixed
// size that overwrite their oldest entries when full, as the kernel's ring buffer does in its
// default overwrite mode (buffer_size_kb per CPU). The `trace` header then shows what was lost:
// "entries-in-buffer/entries-written: 15843/1068427". ktrace keeps the entries as their trace text,
// so the size counts bytes of text (the kernel counts its binary records: a real buffer of the same
// size holds more entries). Memory is bounded by the buffer size, whatever the number of events.
import { ByteFifo } from './bytes.js';
import { decodeText } from '../../base/text.js';

/** The kernel's default buffer_size_kb (trace_buf_size = 1441792 bytes per CPU). */
export const BUFFER_SIZE_KB = 1408;

/** The CPU field of a trace line ("  comm-pid     [001] d.Z.. ..."); 0 when the line has none. */
export function cpuOfLine(line: string): number {
  const m = /-\d+ +\[(\d+)\] /.exec(line);
  return m ? Number(m[1]) : 0;
}

/** A saved trace's entries in order: each line, with a stack trace entry's " => func" lines kept with its "<stack trace>" line. */
export function traceEntries(text: string): string[] {
  const out: string[] = [];
  let i = 0, entry = '';
  while (i < text.length) {
    const j = text.indexOf('\n', i);
    const end = j < 0 ? text.length : j + 1;
    const line = text.slice(i, end);
    if (entry && line.startsWith(' => ')) entry += line;
    else { if (entry) out.push(entry); entry = line; }
    i = end;
  }
  if (entry) out.push(entry);
  return out;
}

export class TraceRing {
  private readonly cpus: ByteFifo[] = [];
  private seq = 0;
  /** Entries ever pushed (entries-written). */
  written = 0;
  /** Entries overwritten because their CPU's buffer was full. */
  overwritten = 0;

  constructor(readonly bytesPerCpu = BUFFER_SIZE_KB * 1024) {}

  /** A ring holding the lines of a saved trace (in order), as if they had been pushed. */
  static of(text: string, bytesPerCpu?: number): TraceRing {
    const r = new TraceRing(bytesPerCpu);
    for (const e of traceEntries(text)) r.push(e);
    return r;
  }

  /** Add one entry (a trace line with its newline); the CPU's oldest go when it is over its size. */
  push(line: string, cpu = cpuOfLine(line)): void {
    while (this.cpus.length <= cpu) this.cpus.push(new ByteFifo());
    const b = this.cpus[cpu]!;
    b.push(line, 0, this.seq++);
    this.written++;
    while (b.bytes > this.bytesPerCpu && b.size > 0) { b.shift(); this.overwritten++; }
  }

  /** push() for a line's bytes. */
  pushBytes(cpu: number, bytes: Uint8Array): void {
    while (this.cpus.length <= cpu) this.cpus.push(new ByteFifo());
    const b = this.cpus[cpu]!;
    b.pushBytes(bytes, 0, this.seq++);
    this.written++;
    while (b.bytes > this.bytesPerCpu && b.size > 0) { b.shift(); this.overwritten++; }
  }

  /** Entries in the buffer (entries-in-buffer). */
  get entries(): number {
    let n = 0;
    for (const b of this.cpus) n += b.size;
    return n;
  }

  /** The kept entries in the order they were pushed. */
  lines(): string[] {
    const all: { seq: number; line: string }[] = [];
    for (const b of this.cpus) {
      for (let i = b.head; i < b.tail; i++) all.push({ seq: b.seq[i]!, line: decodeText(b.data, b.off[i]!, b.off[i]! + b.len[i]!) });
    }
    all.sort((a, b) => a.seq - b.seq);
    return all.map((e) => e.line);
  }

  text(): string { return this.lines().join(''); }
}
