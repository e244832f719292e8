// bpftrace-style aggregations of probe events by a key (`run --agg 'sum(count) by comm'`): count,
// sum, avg, min and max of a numeric argument (or $retval) per value of comm, pid, cpu or an
// argument, per event. The same accumulator runs live (ktrace run) and over a saved run (ktrace
// report), so both print the same maps. Printed as bpftrace prints a map: `@[key]: value`, sorted by
// value, then key.

import { globMatcher } from '../trace/glob.js';

export type AggFunc = 'count' | 'sum' | 'avg' | 'min' | 'max';

export interface AggSpec {
  text: string;
  /** Matches "group:event" names (from an EVENT or GROUP:EVENT glob), or undefined for every event that has the fields. */
  event?: { test(name: string): boolean };
  func: AggFunc;
  /** The argument the function reads ($retval for a return probe's value); undefined for count. */
  arg?: string;
  /** comm, pid, cpu, or an argument's name. */
  key: string;
}

/** One recorded event, as the live run and a saved NDJSON event both give it. */
export interface AggRecord {
  event: string;
  comm: string;
  pid: number;
  cpu: number;
  /** Numeric arguments (and $retval) as bigint; others as their text. */
  value(name: string): bigint | string | undefined;
}

/** GROUP:EVENT globs match the whole name, EVENT globs the part after the group (perf's glob rules). */
function eventMatcher(pattern: string): { test(name: string): boolean } {
  const match = globMatcher(pattern);
  return pattern.includes(':') ? { test: match } : { test: (name) => match(name.slice(name.indexOf(':') + 1)) };
}

/** Parses `[EVENT:]FUNC[(ARG)] by KEY`; throws an Error with what is wrong. */
export function parseAgg(text: string): AggSpec {
  const m = /^\s*(?:([\w*?[\]]+(?::[\w*?[\]]+)?):)?(count|sum|avg|min|max)(?:\(\s*(\$?\w+)\s*\))?\s+by\s+(\$?\w+)\s*$/.exec(text);
  if (!m) throw new Error(`expected [EVENT:]FUNC[(ARG)] by KEY, FUNC one of count, sum, avg, min, max; KEY comm, pid, cpu or an argument (e.g. 'sum(count) by comm')`);
  const func = m[2] as AggFunc;
  const arg = m[3] === 'retval' ? '$retval' : m[3];
  if (func === 'count' && arg !== undefined) throw new Error('count takes no argument');
  if (func !== 'count' && arg === undefined) throw new Error(`${func} needs an argument: ${func}(NAME)`);
  const event = m[1] === undefined ? undefined : eventMatcher(m[1]);
  return { text, func, key: m[4] === 'retval' ? '$retval' : m[4]!, ...(arg !== undefined ? { arg } : {}), ...(event ? { event } : {}) };
}

interface Cell { n: number; sum: bigint; min: bigint; max: bigint }

export class Aggregation {
  /** event → key text → cell */
  readonly maps = new Map<string, Map<string, Cell>>();
  constructor(readonly spec: AggSpec) {}

  add(r: AggRecord): void {
    const s = this.spec;
    if (s.event && !s.event.test(r.event)) return;
    const key = s.key === 'comm' ? r.comm : s.key === 'pid' ? String(r.pid) : s.key === 'cpu' ? String(r.cpu) : r.value(s.key);
    if (key === undefined) return;
    let v = 0n;
    if (s.arg !== undefined) {
      const x = r.value(s.arg);
      if (typeof x !== 'bigint') return;
      v = x;
    }
    let m = this.maps.get(r.event);
    if (!m) this.maps.set(r.event, (m = new Map()));
    const k = String(key);
    const c = m.get(k);
    if (!c) m.set(k, { n: 1, sum: v, min: v, max: v });
    else { c.n++; c.sum += v; if (v < c.min) c.min = v; if (v > c.max) c.max = v; }
  }

  /** Each event's rows, [key, value], sorted by value then key (as bpftrace prints a map). */
  rows(): { event: string; rows: [string, bigint][] }[] {
    const f = this.spec.func;
    return [...this.maps].map(([event, m]) => {
      const rows = [...m].map(([k, c]) => [k, f === 'count' ? BigInt(c.n) : f === 'sum' ? c.sum : f === 'min' ? c.min : f === 'max' ? c.max : c.sum / BigInt(c.n)] as [string, bigint]);
      rows.sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      return { event, rows };
    });
  }
}

/** `@sum(count)[comm] (probe:vfs_read):` then `@[init]: 4864` lines, one block per event. */
export function renderAggregation(a: Aggregation): string {
  const s = a.spec;
  const name = `@${s.func}${s.arg !== undefined ? `(${s.arg})` : '()'}[${s.key}]`;
  const blocks = a.rows();
  if (blocks.length === 0) return `${name}: no event recorded a value\n`;
  return blocks.map((b) => `${name} (${b.event}):\n${b.rows.map(([k, v]) => `@[${k}]: ${v}`).join('\n')}\n`).join('\n');
}
