// Time order across CPUs while a run streams, as trace_pipe reads the per-CPU ring buffers
// (ring_buffer_iter / peek_next_entry: the oldest head among the CPUs, ties to the lower CPU).
// The CPUs run in quanta, so events arrive grouped by CPU; each CPU's own events arrive in its
// clock order (a CPU's clock never goes back). An event is released once no CPU can still record
// an earlier one: its timestamp is below the watermark, the least clock of the CPUs that may still
// run. What is released is then in exactly the order a stable sort of the whole run by (ts, cpu)
// gives. The lookahead is bounded: past `limit` held events the oldest are released anyway (order
// is then kept among what was held; a CPU lagging by more than that could come out later).

export interface Timed { cpu: number; tsNs: bigint }

export class TraceMerger<E extends Timed> {
  private readonly queues: E[][] = [];
  private readonly heads: number[] = [];
  private held = 0;
  /** Events released before their CPUs' clocks had passed them (the lookahead bound was hit). */
  forced = 0;

  constructor(private readonly emit: (e: E) => void, readonly limit = 1 << 16) {}

  get pending(): number { return this.held; }

  push(e: E): void {
    while (this.queues.length <= e.cpu) { this.queues.push([]); this.heads.push(0); }
    this.queues[e.cpu]!.push(e);
    if (++this.held > this.limit) {
      const before = this.held;
      this.release(undefined, this.held - (this.limit >> 1));
      this.forced += before - this.held;
    }
  }

  /** Release every held event recorded before `watermarkNs` (every one when undefined). */
  flush(watermarkNs?: bigint): void {
    this.release(watermarkNs, Infinity);
  }

  private release(watermark: bigint | undefined, max: number): void {
    const qs = this.queues, heads = this.heads;
    for (let n = 0; n < max && this.held > 0; n++) {
      let best = -1;
      let bestTs = 0n;
      for (let c = 0; c < qs.length; c++) {
        const q = qs[c]!;
        if (heads[c]! >= q.length) continue;
        const ts = q[heads[c]!]!.tsNs;
        if (best < 0 || ts < bestTs) { best = c; bestTs = ts; }
      }
      if (watermark !== undefined && bestTs >= watermark) break;
      const q = qs[best]!;
      const e = q[heads[best]!]!;
      heads[best]!++;
      this.held--;
      if (heads[best]! === q.length) { q.length = 0; heads[best] = 0; }
      else if (heads[best]! >= 4096 && heads[best]! * 2 >= q.length) { q.splice(0, heads[best]); heads[best] = 0; }
      this.emit(e);
    }
  }
}

/**
 * The watermark of a machine: the least clock among the CPUs that can still record events. A CPU
 * that is not running (not started, or halted for good) records nothing; when none runs, everything
 * may go.
 */
export function clockWatermark(cpus: readonly { online: boolean; clock(): number }[]): bigint | undefined {
  let min = Infinity;
  for (const c of cpus) if (c.online) min = Math.min(min, c.clock());
  return min === Infinity ? undefined : BigInt(min);
}
