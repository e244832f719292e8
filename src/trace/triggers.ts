// Event filters and triggers of a kprobe event (kernel/trace/trace_events_trigger.c,
// trace_events_filter.c): the fields a filter or a hist key can name (the event's format fields
// plus the generic CPU/cpu/common_cpu/COMM/comm), the events/GROUP/EVENT/filter and .../trigger
// files (trigger_process_regex → event_trigger_parse / event_hist_trigger_parse, trigger_show,
// event_trigger_print), and what happens at each hit (trace_trigger_soft_disabled,
// __event_trigger_test_discard, event_triggers_call/_post_call): triggers without conditions run
// before the buffer is reserved (so traceon works while tracing is off), the others only when a
// record exists (tracing on, or the event has a filter: the buffered event), each with its own
// filter; post triggers (traceoff, stacktrace) after the event is committed; the event's filter
// discards the record but never the triggers, and kprobe_profile counts every hit either way.
import type { ProbeDef } from './kprobe-events/probe.js';
import type { ArgValue } from './kprobe-events/eval.js';
import { compileFilter, filterErrorText, filterLogEntry, type CompiledFilter, type FieldReader, type FilterField } from './filter.js';
import { histAdd, histIdentity, histMerge, histShow, histTriggerText, parseHist, type HistData, type HistSpec, type HistSymbols } from './hist.js';
import { kstrtoul } from './kprobe-events/numbers.js';
import type { ProbeError } from './kprobe-events/errors.js';
import { EINVAL, EEXIST, ENOENT } from '../base/errno.js';

export interface StoredFilter { text: string; active: boolean }
export interface StoredTrigger {
  cmd: 'traceon' | 'traceoff' | 'stacktrace' | 'hist';
  /** Remaining count; -1: unlimited. */
  count: number;
  filter?: string;
  /** hist: the attributes as written after "hist:", without the filter. */
  spec?: string;
  paused?: boolean;
  hist?: HistData;
}


/** The event's fields in format order, then the generic ones (trace_find_event_field). */
export function eventFields(p: ProbeDef): FilterField[] {
  const f: FilterField[] = [
    { name: 'common_type', size: 2, signed: false, kind: 'num' },
    { name: 'common_flags', size: 1, signed: false, kind: 'num' },
    { name: 'common_preempt_count', size: 1, signed: false, kind: 'num' },
    { name: 'common_pid', size: 4, signed: true, kind: 'num' },
  ];
  if (p.type === 'r') f.push({ name: '__probe_func', size: 8, signed: false, kind: 'num' }, { name: '__probe_ret_ip', size: 8, signed: false, kind: 'num' });
  else f.push({ name: '__probe_ip', size: 8, signed: false, kind: 'num' });
  for (const a of p.args) f.push({ name: a.name, size: a.type.size, signed: a.type.signed, kind: a.type.isString ? 'str' : 'num' });
  for (const n of ['CPU', 'cpu', 'common_cpu']) f.push({ name: n, size: 4, signed: true, kind: 'cpu' });
  for (const n of ['COMM', 'comm']) f.push({ name: n, size: 0, signed: false, kind: 'comm' });
  return f;
}

/** A recorded event as its fields read (the record the kernel's filter and hist code see). */
export interface EventRecord { id: number; cpu: number; comm: string; pid: number; ip: bigint; func?: bigint; args: readonly ArgValue[]; stack?: readonly bigint[] }

/** trace_entry.flags of a kprobe event: TRACE_FLAG_IRQS_OFF | TRACE_FLAG_HARDIRQ | TRACE_FLAG_NMI ("d.Z.."). */
const KPROBE_ENTRY_FLAGS = 0x49n;

export function recordReader(r: EventRecord): FieldReader {
  return (f) => {
    switch (f.name) {
      case 'common_type': return BigInt(r.id);
      case 'common_flags': return KPROBE_ENTRY_FLAGS;
      case 'common_preempt_count': return 0n;
      case 'common_pid': return BigInt(r.pid);
      case '__probe_ip': return r.ip;
      case '__probe_func': return r.func ?? 0n;
      case '__probe_ret_ip': return r.ip;
    }
    if (f.kind === 'cpu') return BigInt(r.cpu);
    if (f.kind === 'comm') return r.comm;
    const a = r.args.find((x) => x.arg.name === f.name);
    if (!a) return 0n;
    const v = Array.isArray(a.value) ? a.value[0] : a.value;
    if (!v) return 0n;
    if (v.kind === 'str') return v.text;
    if (f.kind === 'str') return '';
    return v.kind === 'num' ? v.value : 0n;
  };
}

// ---- events/GROUP/EVENT/filter ----

export type FilterWrite = { ok: true; stored: StoredFilter | undefined } | { ok: false; errno: number; stored: StoredFilter; log: ProbeError };

/** apply_event_filter: "0" clears; a bad filter is kept as its error text (and disabled). */
export function writeEventFilter(text: string, probe: ProbeDef): FilterWrite {
  if (text.trim() === '0') return { ok: true, stored: undefined };
  const r = compileFilter(text, eventFields(probe));
  if (r.ok) return { ok: true, stored: { text: r.filter.text, active: true } };
  return { ok: false, errno: r.errno, stored: { text: filterErrorText(r), active: false }, log: filterLogEntry(r) as unknown as ProbeError };
}

export function readEventFilter(f: StoredFilter | undefined): string {
  return f ? `${f.text}\n` : 'none\n';
}

// ---- events/GROUP/EVENT/trigger ----

/** The trigger commands ktrace implements, in the kernel's registration order. */
export const AVAILABLE_TRIGGERS = ['traceon', 'traceoff', 'stacktrace', 'hist'];

/** trigger_show: the available commands when there is no trigger, else each trigger's line. */
export function readTriggers(list: readonly StoredTrigger[] | undefined, probe: ProbeDef): string {
  if (!list?.length) return `# Available triggers:\n#${AVAILABLE_TRIGGERS.map((t) => ` ${t}`).join('')}\n`;
  return list.map((t) => triggerLine(t, probe)).join('');
}

function triggerLine(t: StoredTrigger, probe: ProbeDef): string {
  if (t.cmd === 'hist') {
    const p = parseHist(t.spec! + (t.filter ? ` if ${t.filter}` : ''), eventFields(probe));
    return p.ok ? histTriggerText(p.spec, !!t.paused) : `hist:${t.spec}\n`;
  }
  return `${t.cmd}${t.count === -1 ? ':unlimited' : `:count=${t.count}`}${t.filter ? ` if ${t.filter}` : '\n'}${t.filter ? '\n' : ''}`;
}

const ONOFF = (c: string) => (c === 'traceon' || c === 'traceoff' ? 'onoff' : c);

export type TriggerWrite = { errno: number; list: StoredTrigger[]; log?: ProbeError };

/**
 * A write to the trigger file (event_trigger_regex_write after open: `truncate` is O_TRUNC, which
 * removes the hist triggers). Returns the new list, 0 or a negative errno, and an error_log entry
 * for hist errors (loc "hist:GROUP:EVENT").
 */
export function writeTrigger(list: readonly StoredTrigger[], written: string, probe: ProbeDef, truncate = false): TriggerWrite {
  let out = truncate ? list.filter((t) => t.cmd !== 'hist') : [...list];
  // event_trigger_regex_write: no bytes is no command; otherwise the stripped text is one (an
  // empty one, `echo > trigger`, is -EINVAL after the open's O_TRUNC took the hist triggers).
  if (written === '') return { errno: 0, list: out };
  const buf = written.trim();
  if (buf === '') return { errno: -EINVAL, list: out };
  const m = /^([^: \t]*)(?:[: \t]\s*([\s\S]*))?$/.exec(buf)!;
  const glob = m[1]!;
  const next = m[2] === undefined || m[2] === '' ? undefined : m[2];
  const remove = glob.startsWith('!');
  const name = remove ? glob.slice(1) : glob;
  const fields = eventFields(probe);
  if (name === 'traceon' || name === 'traceoff' || name === 'stacktrace') {
    // event_trigger_separate_filter: an optional count, then "if FILTER".
    let param: string | undefined, filter: string | undefined;
    if (next !== undefined) {
      if (!/^[0-9]/.test(next)) filter = next;
      else {
        const sp = next.search(/[ \t]/);
        param = sp < 0 ? next : next.slice(0, sp);
        if (sp >= 0) { const f = next.slice(sp + 1).replace(/^\s+/, ''); filter = f || undefined; }
      }
    }
    if (remove) {
      out = out.filter((t) => ONOFF(t.cmd) !== ONOFF(name));
      return { errno: 0, list: out };
    }
    let count = -1;
    if (param !== undefined) {
      const num = param.split(':')[0]!;
      const v = num === '' ? undefined : kstrtoul(num, 0);
      if (!v || !v.ok) return { errno: -EINVAL, list: out };
      count = Number(v.value);
    }
    let filterText: string | undefined;
    if (filter !== undefined) {
      const sp = /^(\S*)[ \t]?([\s\S]*)$/.exec(filter)!;
      if (sp[1] !== 'if' || !/[ \t]/.test(filter.slice(2, 3))) return { errno: -EINVAL, list: out };
      // The filter is compiled without set_str: no error_log entry, the errno passes through.
      const c = compileFilter(sp[2]!, fields);
      if (!c.ok) return { errno: c.errno, list: out };
      filterText = sp[2]!;
    }
    if (out.some((t) => ONOFF(t.cmd) === ONOFF(name))) return { errno: -EEXIST, list: out };
    out.unshift({ cmd: name, count, ...(filterText !== undefined ? { filter: filterText } : {}) });
    return { errno: 0, list: out };
  }
  if (name === 'hist') {
    if (next === undefined) return { errno: -EINVAL, list: out };
    const cmd = `hist:${next}`;
    const loc = `hist:${probe.group}:${probe.event}`;
    const log = (message: string, pos: number): ProbeError => ({ code: 'HIST_ERR', subsystem: loc, message, command: cmd, pos } as unknown as ProbeError);
    const p = parseHist(next, fields);
    if (!p.ok) return { errno: -EINVAL, list: out, ...(p.error ? { log: log(p.error.message, p.error.pos) } : {}) };
    const spec = p.spec;
    if (spec.filter !== undefined) {
      const c = compileFilter(spec.filter, fields);
      if (!c.ok) return { errno: c.errno, list: out };
    }
    const id = histIdentity(spec);
    const attrs = next.replace(/[ \t]if[ \t][\s\S]*$/, '').trim().split(':').filter((a) => !['pause', 'cont', 'continue', 'clear'].includes(a)).join(':');
    const found = out.findIndex((t) => t.cmd === 'hist' && sameHist(t, fields, id));
    if (remove) {
      if (found >= 0) out.splice(found, 1);
      return { errno: 0, list: out };
    }
    if (p.control) {
      if (found < 0) return { errno: -ENOENT, list: out, log: log("Can't clear or continue a nonexistent hist trigger", 0) };
      const t = { ...out[found]! };
      if (p.control === 'pause') t.paused = true;
      else if (p.control === 'cont') t.paused = false;
      else t.hist = { hits: 0, drops: 0, entries: [] };
      out[found] = t;
      return { errno: 0, list: out };
    }
    if (found >= 0) return { errno: -EEXIST, list: out, log: log('Hist trigger already exists', 0) };
    out.push({ cmd: 'hist', count: -1, spec: attrs, ...(spec.filter !== undefined ? { filter: spec.filter } : {}), hist: { hits: 0, drops: 0, entries: [] } });
    return { errno: 0, list: out };
  }
  return { errno: -EINVAL, list: out };
}

function histSpecOf(t: StoredTrigger, fields: readonly FilterField[]): HistSpec | undefined {
  const p = parseHist(t.spec! + (t.filter ? ` if ${t.filter}` : ''), fields);
  return p.ok ? p.spec : undefined;
}

function sameHist(t: StoredTrigger, fields: readonly FilterField[], id: string): boolean {
  const s = histSpecOf(t, fields);
  return s !== undefined && histIdentity(s) === id;
}

/** events/GROUP/EVENT/hist: every hist trigger's histogram (hist_show). */
export function readHist(list: readonly StoredTrigger[] | undefined, probe: ProbeDef, sym: HistSymbols): string {
  const fields = eventFields(probe);
  let s = '', n = 0;
  for (const t of list ?? []) {
    if (t.cmd !== 'hist') continue;
    const spec = histSpecOf(t, fields);
    if (spec) s += histShow(spec, t.hist ?? { hits: 0, drops: 0, entries: [] }, !!t.paused, sym, n++);
  }
  return s;
}

// ---- at each hit ----

interface LiveTrigger { stored: StoredTrigger; filter?: CompiledFilter; hist?: HistSpec; data?: HistData; startCount: number }
interface LiveEvent { probe: ProbeDef; filter?: CompiledFilter; triggers: LiveTrigger[]; cond: boolean }

/** What one hit produced: whether its record goes into the trace, and whether a stack entry follows it. */
export interface HitOutcome { record: boolean; stack: boolean }

/**
 * The filters and triggers of a run's events, live: built from the stored ones (plus run-only
 * filters), fed each hit, folded back into the state afterwards (hist data and counts merged
 * into the triggers that still exist, tracing_on as the run left it).
 */
export class TriggerRuntime {
  tracingOn: boolean;
  readonly startTracingOn: boolean;
  private readonly events = new Map<string, LiveEvent>();

  constructor(state: { filters?: Record<string, StoredFilter>; triggers?: Record<string, StoredTrigger[]>; tracingOn?: boolean },
    probes: readonly ProbeDef[], runFilters: ReadonlyMap<string, CompiledFilter> = new Map()) {
    this.tracingOn = this.startTracingOn = state.tracingOn !== false;
    for (const p of probes) {
      const key = `${p.group}/${p.event}`;
      if (this.events.has(key)) continue;
      const fields = eventFields(p);
      const sf = state.filters?.[key];
      let filter = runFilters.get(key);
      if (!filter && sf?.active) { const c = compileFilter(sf.text, fields); if (c.ok) filter = c.filter; }
      const triggers: LiveTrigger[] = (state.triggers?.[key] ?? []).map((t) => {
        const f = t.filter !== undefined ? compileFilter(t.filter, fields) : undefined;
        const hist = t.cmd === 'hist' ? histSpecOf(t, fields) : undefined;
        return { stored: t, ...(f?.ok ? { filter: f.filter } : {}), ...(hist ? { hist, data: { hits: 0, drops: 0, entries: [] } } : {}), startCount: t.count };
      });
      const cond = triggers.some((t) => t.filter || t.stored.cmd !== 'traceon');
      this.events.set(key, { probe: p, filter, triggers, cond });
    }
  }

  /** Does this event's hit need its kernel stack (a stacktrace trigger)? */
  wantsStack(key: string): boolean {
    return this.events.get(key)?.triggers.some((t) => t.stored.cmd === 'stacktrace' || t.hist?.keys.some((k) => k.special === 'stacktrace')) ?? false;
  }

  /** Does this event have any filter or trigger (else every hit is simply recorded while tracing is on)? */
  active(key: string): boolean {
    const e = this.events.get(key);
    return !!e && (!!e.filter || e.triggers.length > 0);
  }

  /** One hit; `soft`: the event is not enabled, only armed for its triggers (SOFT_DISABLED). */
  hit(key: string, rec: EventRecord, tsNs: bigint, soft = false): HitOutcome {
    const e = this.events.get(key);
    if (!e) return { record: this.tracingOn, stack: false };
    const read = recordReader(rec);
    const post: LiveTrigger[] = [];
    if (!e.cond) for (const t of e.triggers) this.fire(t, read, rec, tsNs);
    // A record exists when the ring buffer takes it, or in the buffered event of a filtered or
    // soft-disabled event (trace_event_buffer_lock_reserve).
    const haveRec = this.tracingOn || !!e.filter || soft;
    if (e.cond && haveRec) {
      for (const t of e.triggers) {
        if (t.stored.paused) continue;
        if (t.filter && !t.filter.match(read)) continue;
        if (t.stored.cmd === 'traceoff' || t.stored.cmd === 'stacktrace') { post.push(t); continue; }
        this.fire(t, read, rec, tsNs);
      }
    }
    const record = haveRec && !soft && (!e.filter || e.filter.match(read)) && this.tracingOn;
    let stack = false;
    for (const t of post) {
      if (t.stored.cmd === 'stacktrace') {
        if (t.stored.count === 0) continue;
        if (t.stored.count !== -1) t.stored = { ...t.stored, count: t.stored.count - 1 };
        if (this.tracingOn) stack = true;
      } else this.fire(t, read, rec, tsNs);
    }
    return { record, stack };
  }

  private fire(t: LiveTrigger, read: FieldReader, rec: EventRecord, tsNs: bigint): void {
    const s = t.stored;
    if (s.paused) return;
    if (s.cmd === 'hist') { histAdd(t.hist!, t.data!, read, { tsNs, cpu: rec.cpu, comm: rec.comm, stack: rec.stack }); return; }
    if (s.cmd === 'traceon' || s.cmd === 'traceoff') {
      const on = s.cmd === 'traceon';
      if (s.count === 0 || this.tracingOn === on) return;
      if (s.count !== -1) t.stored = { ...s, count: s.count - 1 };
      this.tracingOn = on;
    }
  }

  /** The live hist data of an event's hist triggers (for a summary), with their specs. */
  hists(key: string): { spec: HistSpec; data: HistData; stored: StoredTrigger }[] {
    return (this.events.get(key)?.triggers ?? []).filter((t) => t.hist).map((t) => ({ spec: t.hist!, data: t.data!, stored: t.stored }));
  }

  /**
   * The run folded into `triggers` as the state holds them now (under the lock): for each event in
   * `keep` (the run's events that are still the same events), each trigger the run had that still
   * exists (same command, spec and filter) gets the run's hist entries and counts down by what the
   * run consumed. Returns the new triggers and tracing_on.
   */
  fold(triggers: Record<string, StoredTrigger[]> | undefined, tracingOn: boolean | undefined, keep: (key: string) => boolean):
    { triggers: Record<string, StoredTrigger[]>; tracingOn: boolean } {
    const out: Record<string, StoredTrigger[]> = { ...(triggers ?? {}) };
    for (const [key, e] of this.events) {
      if (!keep(key) || !out[key]) continue;
      const fields = eventFields(e.probe);
      out[key] = out[key]!.map((st) => {
        const live = e.triggers.find((t) => t.stored.cmd === st.cmd && t.stored.spec === st.spec && t.stored.filter === st.filter);
        if (!live) return st;
        let next = st;
        if (live.data && live.data.hits) {
          const spec = histSpecOf(st, fields);
          if (spec) {
            const into: HistData = st.hist ? { hits: st.hist.hits, drops: st.hist.drops, entries: st.hist.entries.map((x) => ({ ...x, key: [...x.key], sums: [...x.sums] })) } : { hits: 0, drops: 0, entries: [] };
            histMerge(spec, into, live.data);
            next = { ...next, hist: into };
          }
        }
        const used = live.startCount === -1 ? 0 : live.startCount - live.stored.count;
        if (used && st.count !== -1) next = { ...next, count: Math.max(0, st.count - used) };
        return next;
      });
    }
    return { triggers: out, tracingOn: this.tracingOn !== this.startTracingOn ? this.tracingOn : tracingOn !== false };
  }
}
