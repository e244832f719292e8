// What `ktrace run` prints about probe events: the per-event hit/miss table, bpftrace-style
// power-of-two histograms (bpftrace's hist(): "[lo, hi)" buckets with K/M/G... suffixes, the count,
// and a 52-column bar of '@'), and the NDJSON event objects. Pure: typed values in, text out.
import { group } from './run-summary.js';
import { plain, type Styler } from './tty.js';
import type { ArgValue } from '../trace/kprobe-events/eval.js';
import type { ProbeArg } from '../trace/kprobe-events/fetch.js';

export interface ProbeCount { event: string; hits: number; misses: number }

/** "EVENT  HITS  MISSES" with one row per event; hits/misses as kprobe_profile counts them. */
export function renderProbeTable(rows: readonly ProbeCount[], style: Styler = plain): string {
  if (rows.length === 0) return '';
  const w = Math.max(5, ...rows.map((r) => r.event.length));
  const hw = Math.max(4, ...rows.map((r) => group(r.hits).length));
  const mw = Math.max(6, ...rows.map((r) => group(r.misses).length));
  let s = `${'EVENT'.padEnd(w)}  ${'HITS'.padStart(hw)}  ${'MISSES'.padStart(mw)}\n`;
  for (const r of rows) s += `${style('cyan', r.event.padEnd(w))}  ${group(r.hits).padStart(hw)}  ${r.misses ? style('red', group(r.misses).padStart(mw)) : group(r.misses).padStart(mw)}\n`;
  return s;
}

const SUFFIX = ['', 'K', 'M', 'G', 'T', 'P', 'E'];

/** bpftrace's label for 2^n: 1024 → "1K", 2^20 → "1M". */
function powerLabel(n: number): string {
  const unit = Math.floor(n / 10);
  return `${2 ** (n - unit * 10)}${SUFFIX[unit]}`;
}

/** Bucket index: -1 for negatives, 0 for 0, 1 for 1, k+1 for [2^k, 2^(k+1)). */
export function log2Bucket(v: bigint): number {
  if (v < 0n) return -1;
  if (v === 0n) return 0;
  return v.toString(2).length; // 1 → 1, 2..3 → 2, 4..7 → 3
}

function bucketLabel(b: number): string {
  if (b === -1) return '(..., 0)';
  if (b === 0) return '[0]';
  if (b === 1) return '[1]';
  return `[${powerLabel(b - 1)}, ${powerLabel(b)})`;
}

/** Power-of-two bucket counts, keyed by log2Bucket: what a live view accumulates value by value. */
export type Log2Counts = Map<number, number>;

export function addToLog2(counts: Log2Counts, v: bigint): void {
  const b = log2Bucket(v);
  counts.set(b, (counts.get(b) ?? 0) + 1);
}

/** Rows from the lowest to the highest non-empty bucket (empty ones between included), bpftrace's labels. */
export function log2Rows(counts: ReadonlyMap<number, number>): { label: string; count: number }[] {
  if (counts.size === 0) return [];
  const keys = [...counts.keys()];
  const lo = Math.min(...keys), hi = Math.max(...keys);
  const rows = [];
  for (let b = lo; b <= hi; b++) rows.push({ label: bucketLabel(b), count: counts.get(b) ?? 0 });
  return rows;
}

/**
 * A power-of-two histogram of signed 64-bit values, bpftrace's layout: buckets from the lowest to
 * the highest non-empty one, "%-16s %8d |%-52s|" with the bar scaled to the largest count.
 */
export function renderHist(title: string, values: readonly bigint[]): string {
  const counts: Log2Counts = new Map();
  for (const v of values) addToLog2(counts, v);
  return renderLog2Hist(title, counts);
}

/** renderHist from bucket counts accumulated as the values came (addToLog2). */
export function renderLog2Hist(title: string, counts: ReadonlyMap<number, number>, style: Styler = plain): string {
  if (counts.size === 0) return `${title}\n(no values)\n`;
  const rows = log2Rows(counts);
  const max = Math.max(...rows.map((r) => r.count));
  let s = `${title}\n`;
  for (const { label, count } of rows) {
    const bar = '@'.repeat(Math.floor((count * 52) / max));
    s += `${label.padEnd(16)} ${String(count).padStart(8)} |${style('green', bar)}${' '.repeat(52 - bar.length)}|\n`;
  }
  return s;
}

/** A return value as text: errno names for -1..-4095, pointers (below the int range) in hex. */
export function retvalText(v: bigint, errnoName: (v: number) => string): string {
  if (v >= -4095n && v < 0n) return errnoName(Number(v));
  if (v < -0x80000000n) return '0x' + BigInt.asUintN(64, v).toString(16);
  return v.toString();
}

/**
 * A return probe's return values with their counts, most frequent first (at most `max` rows, then
 * how many more); negative values in the errno range by name (-EAGAIN), as the run summary shows
 * system call results; kernel pointers in hex.
 */
export function renderRetvals(event: string, counts: ReadonlyMap<bigint, number>, errnoName: (v: number) => string, max = 10): string {
  const sorted = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const rows = sorted.slice(0, max).map(([v, n]) => [retvalText(v, errnoName), group(n)] as const);
  const w = Math.max(5, ...rows.map((r) => r[0].length));
  const cw = Math.max(5, ...rows.map((r) => r[1].length));
  let s = `${event} returned:\n  ${'VALUE'.padEnd(w)}  ${'COUNT'.padStart(cw)}\n`;
  for (const [v, n] of rows) s += `  ${v.padEnd(w)}  ${n.padStart(cw)}\n`;
  if (sorted.length > max) {
    const rest = sorted.slice(max).reduce((t, [, n]) => t + n, 0);
    s += `  ... ${sorted.length - max} more values (${group(rest)} returns)\n`;
  }
  return s;
}

/**
 * %ax as the function's return value: a 32-bit int when the upper half is its sign extension or zero
 * (functions returning int leave the upper half so), else the 64-bit value, signed.
 */
export function returnValue(ax: bigint): bigint {
  const hi = (ax >> 32n) & 0xffffffffn;
  const lo32 = BigInt.asIntN(32, ax);
  if (hi === 0n || (hi === 0xffffffffn && lo32 < 0n)) return lo32 >= 0n || hi === 0xffffffffn ? lo32 : BigInt.asUintN(32, ax);
  return BigInt.asIntN(64, ax);
}

/** A fetch arg a histogram can count: a scalar number (not a string, an array or a symbol). */
export function isNumericArg(a: ProbeArg): boolean {
  return !a.type.isString && !a.count && a.type.name !== 'symbol';
}

/** A recorded arg's value as a number, signed as its type says; undefined when not numeric or faulted. */
export function argNumber(a: ArgValue): bigint | undefined {
  if (!isNumericArg(a.arg) || Array.isArray(a.value) || a.value.kind !== 'num' || a.value.fault) return undefined;
  return a.arg.type.signed ? BigInt.asIntN(a.arg.type.size * 8, a.value.value) : a.value.value;
}

/** What `ktrace run` prints after the run summary about its events, live or from a saved run (`ktrace report`). */
export interface ProbeReport {
  /** Hits and misses per event, as kprobe_profile counts them. */
  rows: readonly ProbeCount[];
  /** Return values per return-probe event ("group:event" → value → count). */
  retvals: ReadonlyMap<string, ReadonlyMap<bigint, number>>;
  /** --hist histograms: the field and its counts per event. */
  hists: readonly { arg: string; counts: ReadonlyMap<string, ReadonlyMap<number, number>> }[];
  /** --per-cpu: recorded events per event and CPU. */
  perCpu?: { cpus: number; counts: ReadonlyMap<string, readonly number[]> };
  /** printk lines of a handler module (run --handlers), with the module's name. */
  printk?: { module: string; lines: readonly string[] };
  /** Hist triggers' text for the run (the kernel's hist format), per event. */
  triggerHists: readonly { event: string; text: string }[];
  /** --agg maps, rendered (aggregate.ts). */
  aggs?: readonly string[];
}

/** "EVENT  CPU0  CPU1 ..." with the events each CPU recorded (run --per-cpu). */
export function renderPerCpuTable(cpus: number, counts: ReadonlyMap<string, readonly number[]>, style: Styler = plain): string {
  if (counts.size === 0) return '';
  const names = [...counts.keys()];
  const w = Math.max(5, ...names.map((n) => n.length));
  const heads = Array.from({ length: cpus }, (_, i) => `CPU${i}`);
  const cw = heads.map((h, i) => Math.max(h.length, ...names.map((n) => group(counts.get(n)![i] ?? 0).length)));
  let s = `${'EVENT'.padEnd(w)}  ${heads.map((h, i) => h.padStart(cw[i]!)).join('  ')}\n`;
  for (const n of names) s += `${style('cyan', n.padEnd(w))}  ${heads.map((_, i) => group(counts.get(n)![i] ?? 0).padStart(cw[i]!)).join('  ')}\n`;
  return s;
}

/** The tables after the run summary: hits and misses, per CPU, return values, histograms, printk, hist triggers. */
export function renderProbeReport(r: ProbeReport, errnoName: (v: number) => string, style: Styler = plain): string {
  // Events in the hit table's order, whatever order their values came in.
  const rank = (ev: string) => { const i = r.rows.findIndex((x) => x.event === ev); return i < 0 ? r.rows.length : i; };
  const ordered = <T>(m: ReadonlyMap<string, T>) => new Map([...m].sort((a, b) => rank(a[0]) - rank(b[0]) || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
  r = { ...r, retvals: ordered(r.retvals), hists: r.hists.map((h) => ({ ...h, counts: ordered(h.counts) })), ...(r.perCpu ? { perCpu: { ...r.perCpu, counts: ordered(r.perCpu.counts) } } : {}) };
  let text = '';
  if (r.rows.length) text += '\n' + renderProbeTable(r.rows, style);
  if (r.perCpu && r.perCpu.counts.size) text += '\nrecorded events per CPU:\n' + renderPerCpuTable(r.perCpu.cpus, r.perCpu.counts, style);
  for (const [ev, m] of r.retvals) text += '\n' + renderRetvals(ev, m, errnoName);
  for (const h of r.hists) {
    if (h.counts.size === 0) text += `\n@${h.arg}: no event recorded a value\n`;
    for (const [ev, c] of h.counts) text += '\n' + renderLog2Hist(`@${h.arg}[${ev}]:`, c, style);
  }
  for (const a of r.aggs ?? []) text += '\n' + a;
  if (r.printk?.lines.length) text += `\nprintk (${r.printk.module}):\n${r.printk.lines.join('\n')}\n`;
  for (const t of r.triggerHists) text += `\n${t.event} hist (this run):\n` + t.text;
  return text;
}
