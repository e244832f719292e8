// Time order across CPUs while a run streams, as trace_pipe reads the per-CPU ring buffers
// (ring_buffer_iter / peek_next_entry: the oldest head among the CPUs, ties to the lower CPU).
// The CPUs run in quanta, so events arrive grouped by CPU; each CPU's own events arrive in its
// clock order (a CPU's clock never goes back). An event is released once no CPU can still record
// an earlier one: its timestamp is below the watermark, the least clock of the CPUs that may still
// run. What is released is then in exactly the order a stable sort of the whole run by (ts, cpu)
// gives. The lookahead is bounded: past `limit` held events the oldest are released anyway (order
// is then kept among what was held; a CPU lagging by more than that could come out later).
// Events are held as their text's bytes (ByteFifo), not as objects.
import { ByteFifo } from './bytes.js';

export class TraceMerger {
  private readonly queues: ByteFifo[] = [];
  private held = 0;
  /** Events released before their CPUs' clocks had passed them (the lookahead bound was hit). */
  forced = 0;

  /** `emit` gets each event's bytes (a view valid during the call) in trace order. */
  constructor(private readonly emit: (cpu: number, bytes: Buffer) => void, readonly limit = 1 << 16) {}

  get pending(): number { return this.held; }

  /** One event of `cpu` at `tsNs` (emulated ns: exact in a double), as the text to emit. */
  push(cpu: number, tsNs: number, text: string): void {
    while (this.queues.length <= cpu) this.queues.push(new ByteFifo());
    this.queues[cpu]!.push(text, tsNs);
    if (++this.held > this.limit) {
      const before = this.held;
      this.release(Infinity, this.held - (this.limit >> 1));
      this.forced += before - this.held;
    }
  }

  /** Release every held event recorded before `watermarkNs` (every one when undefined). */
  flush(watermarkNs?: number): void {
    this.release(watermarkNs ?? Infinity, Infinity, watermarkNs === undefined);
  }

  private release(watermark: number, max: number, all = false): void {
    const qs = this.queues;
    for (let n = 0; n < max && this.held > 0; n++) {
      let best = -1;
      let bestTs = 0;
      for (let c = 0; c < qs.length; c++) {
        const q = qs[c]!;
        if (q.head === q.tail) continue;
        const ts = q.ts[q.head]!;
        if (best < 0 || ts < bestTs) { best = c; bestTs = ts; }
      }
      if (!all && bestTs >= watermark) break;
      const q = qs[best]!;
      this.emit(best, q.first());
      q.shift();
      this.held--;
    }
  }
}

/**
 * The watermark of a machine: the least clock among the CPUs that can still record events. A CPU
 * that is not running (not started, or halted for good) records nothing; when none runs, everything
 * may go.
 */
export function clockWatermark(cpus: readonly { online: boolean; clock(): number }[]): number | undefined {
  let min = Infinity;
  for (const c of cpus) if (c.online) min = Math.min(min, c.clock());
  return min === Infinity ? undefined : min;
}
