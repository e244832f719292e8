// Hist triggers (kernel/trace/trace_events_hist.c): "hist:keys=K[,K...][:vals=V,...][:sort=S[,S]]
// [:size=N][:pause|:cont|:clear] [if FILTER]" written to events/GROUP/EVENT/trigger, and the
// events/GROUP/EVENT/hist file in the kernel's format: "# event histogram", the trigger info line
// (event_hist_trigger_print), one "{ key: value, ... } hitcount: N  val: N" line per entry sorted
// as tracing_map_sort_entries sorts them, and the Totals. Key modifiers: .hex, .sym, .sym-offset,
// .execname (common_pid), .log2, .buckets=N; vals are summed. Errors go to error_log under
// "hist:GROUP:EVENT" with the kernel's messages (hist_err, positions by err_pos in "hist:CMD").
// Pure: fields and records in, text out; the entries are plain data so the state can keep them.
import type { FilterField, FieldReader } from './filter.js';
import { kstrtoul } from './kprobe-events/numbers.js';

export const HIST_ERRORS = {
  TRIGGER_EEXIST: 'Hist trigger already exists',
  TRIGGER_ENOENT_CLEAR: "Can't clear or continue a nonexistent hist trigger",
  BAD_FIELD_MODIFIER: 'Invalid field modifier',
  FIELD_NOT_FOUND: "Couldn't find field",
  INVALID_SORT_MODIFIER: 'Invalid sort modifier',
  EMPTY_SORT_FIELD: 'Empty sort field',
  TOO_MANY_SORT_FIELDS: 'Too many sort fields (Max = 2)',
  INVALID_SORT_FIELD: 'Sort field must be a key or a val',
} as const;

type Flag = 'hex' | 'sym' | 'sym-offset' | 'execname' | 'log2' | 'buckets';

export interface HistField {
  /** The event field (undefined: hitcount, or common_cpu / common_timestamp). */
  field?: FilterField;
  name: string;
  flag?: Flag;
  buckets?: number;
  special?: 'hitcount' | 'cpu' | 'timestamp' | 'stacktrace';
}

export interface HistSpec {
  keys: HistField[];
  /** Sum fields after hitcount. */
  vals: HistField[];
  sort: { index: number; descending: boolean }[];
  /** Map size (a power of two, default 2048). */
  size: number;
  filter?: string;
}

export interface HistError { message: string; pos: number }

/** The entries and counters of one hist trigger: keys and sums as decimal strings (JSON-able). */
export interface HistData { hits: number; drops: number; entries: { key: string[]; sums: string[]; comm?: string }[] }

/** Parse one field with its modifier (parse_field / create_hist_field). */
function parseField(text: string, fields: readonly FilterField[], isKey: boolean, cmd: string): HistField | HistError {
  const dot = text.indexOf('.');
  const name = dot < 0 ? text : text.slice(0, dot);
  const mod = dot < 0 ? undefined : text.slice(dot + 1);
  const errpos = (s: string) => Math.max(0, cmd.indexOf(s));
  let flag: Flag | undefined, buckets: number | undefined;
  if (mod !== undefined) {
    if (mod === 'hex' || mod === 'sym' || mod === 'sym-offset' || mod === 'log2') flag = mod;
    else if (mod === 'execname' && name === 'common_pid') flag = 'execname';
    else if (mod.startsWith('bucket')) {
      const m = /^buckets?=(.*)$/.exec(mod);
      const v = m ? kstrtoul(m[1]!, 0) : undefined;
      if (!v || !v.ok || v.value === 0n) return { message: HIST_ERRORS.BAD_FIELD_MODIFIER, pos: errpos(mod) };
      flag = 'buckets'; buckets = Number(v.value);
    } else return { message: HIST_ERRORS.BAD_FIELD_MODIFIER, pos: errpos(mod) };
  }
  if (name === 'common_timestamp') return { name, flag, special: 'timestamp' };
  if (isKey && name === 'stacktrace' && mod === undefined) return { name, special: 'stacktrace' };
  if (name === 'common_cpu') return { name, flag, special: 'cpu' };
  const field = fields.find((f) => f.name === name);
  if (!field || field.kind === 'comm') return { message: HIST_ERRORS.FIELD_NOT_FOUND, pos: errpos(name) };
  if (field.kind === 'cpu') return { name: 'common_cpu', flag, special: 'cpu' };
  if (!isKey && field.kind === 'str') return { message: HIST_ERRORS.FIELD_NOT_FOUND, pos: errpos(name) };
  return { field, name, flag, buckets };
}

/**
 * The attributes after "hist:" (parse_hist_trigger_attrs, create_hist_data): the spec, an
 * error (message and position in "hist:" + text, for error_log), or a bare errno (-EINVAL with no
 * log entry, as the kernel gives for a missing keys= or an unknown word).
 */
export function parseHist(text: string, fields: readonly FilterField[]):
  { ok: true; spec: HistSpec; control?: 'pause' | 'cont' | 'clear' } | { ok: false; error?: HistError } {
  const cmd = 'hist:' + text;
  // The filter: " if " after whitespace (event_hist_trigger_parse).
  let filter: string | undefined, attrs = text;
  const m = /[ \t]if[ \t]/.exec(text);
  if (m) { filter = text.slice(m.index + 4).trim(); attrs = text.slice(0, m.index).trim(); }
  let keysStr: string | undefined, valsStr: string | undefined, sortStr: string | undefined, size = 2048;
  let control: 'pause' | 'cont' | 'clear' | undefined;
  for (const a of attrs.split(':')) {
    if (a.includes('=')) {
      const p = /^(keys?|vals?|values|sort|size|name|clock)=(.*)$/.exec(a);
      if (!p) return { ok: false }; // variables are not implemented
      if (p[1] === 'key' || p[1] === 'keys') keysStr = p[2];
      else if (p[1] === 'sort') sortStr = p[2];
      else if (p[1] === 'size') {
        const v = kstrtoul(p[2]!, 0);
        if (!v.ok || v.value < 128n || v.value > 131072n) return { ok: false };
        size = 2 ** Math.ceil(Math.log2(Number(v.value)));
      } else if (p[1] === 'name' || p[1] === 'clock') return { ok: false }; // named triggers and clocks: not implemented
      else valsStr = p[2];
    } else if (a === 'pause') control = 'pause';
    else if (a === 'cont' || a === 'continue') control = 'cont';
    else if (a === 'clear') control = 'clear';
    else return { ok: false };
  }
  if (!keysStr) return { ok: false };
  const keys: HistField[] = [];
  for (const k of keysStr.split(',')) {
    if (k === '') return { ok: false };
    const f = parseField(k, fields, true, cmd);
    if ('message' in f) return { ok: false, error: f };
    keys.push(f);
  }
  if (keys.length > 3) return { ok: false };
  const vals: HistField[] = [];
  for (const v of (valsStr ?? '').split(',')) {
    if (v === '' || v === 'hitcount') continue;
    const f = parseField(v, fields, false, cmd);
    if ('message' in f) return { ok: false, error: f };
    vals.push(f);
  }
  // Fields by index as the kernel numbers them: 0 hitcount, then vals, then keys.
  const all = [{ name: 'hitcount', special: 'hitcount' } as HistField, ...vals, ...keys];
  const sort: HistSpec['sort'] = [];
  if (sortStr !== undefined) {
    const parts = sortStr.split(',');
    if (parts.length > 2) return { ok: false, error: { message: HIST_ERRORS.TOO_MANY_SORT_FIELDS, pos: Math.max(0, cmd.indexOf(sortStr)) } };
    for (const s of parts) {
      if (s === '') return { ok: false, error: { message: HIST_ERRORS.EMPTY_SORT_FIELD, pos: Math.max(0, cmd.indexOf('sort=')) } };
      const dot = s.indexOf('.');
      const name = dot < 0 ? s : s.slice(0, dot);
      const mod = dot < 0 ? undefined : s.slice(dot + 1);
      let descending = false;
      if (mod !== undefined) {
        if (mod === 'descending') descending = true;
        else if (mod !== 'ascending') return { ok: false, error: { message: HIST_ERRORS.INVALID_SORT_MODIFIER, pos: Math.max(0, cmd.indexOf(mod)) } };
      }
      const index = all.findIndex((f) => f.name === name);
      if (index < 0) return { ok: false, error: { message: HIST_ERRORS.INVALID_SORT_FIELD, pos: Math.max(0, cmd.indexOf(name)) } };
      sort.push({ index, descending });
    }
  } else sort.push({ index: 0, descending: false });
  return { ok: true, spec: { keys, vals, sort, size, filter }, control };
}

/** hist_field_print: "name[.flag][=buckets]". */
function fieldText(f: HistField): string {
  return (f.special === 'cpu' ? 'common_cpu' : f.name) + (f.flag ? `.${f.flag}` : '') + (f.buckets ? `=${f.buckets}` : '');
}

/** event_hist_trigger_print: the trigger file's line (and the hist file's "trigger info"). */
export function histTriggerText(spec: HistSpec, paused: boolean): string {
  const all = [{ name: 'hitcount', special: 'hitcount' } as HistField, ...spec.vals, ...spec.keys];
  const sort = spec.sort.map((s) => (s.index === 0 ? 'hitcount' : fieldText(all[s.index]!)) + (s.descending ? '.descending' : '')).join(',');
  return `hist:keys=${spec.keys.map(fieldText).join(',')}:vals=${['hitcount', ...spec.vals.map(fieldText)].join(',')}:sort=${sort}:size=${spec.size}`
    + (spec.filter ? ` if ${spec.filter}` : '') + (paused ? ' [paused]' : ' [active]') + '\n';
}

/** The identity of a trigger for EEXIST and for pause/cont/clear/remove (hist_trigger_match). */
export function histIdentity(spec: HistSpec): string {
  return histTriggerText({ ...spec }, false);
}

/** ilog2(roundup_pow_of_two(v)) */
function log2Key(v: bigint): bigint {
  if (v <= 1n) return 0n;
  return BigInt((v - 1n).toString(2).length);
}

/** HIST_STACKTRACE_DEPTH */
const STACK_DEPTH = 16;

function rawValue(f: HistField, read: FieldReader, tsNs: bigint, cpu: number, stack?: readonly bigint[]): bigint | string {
  if (f.special === 'cpu') return BigInt(cpu);
  if (f.special === 'stacktrace') return (stack ?? []).slice(0, STACK_DEPTH).map((a) => a.toString(16)).join(',');
  if (f.special === 'timestamp') return f.flag === undefined ? tsNs : tsNs / 1000n;
  const v = read(f.field!);
  if (typeof v === 'string') return v;
  // hist_field_<type>: the field's value, sign-extended into a u64 for signed types.
  const bits = Math.min(8, Math.max(1, f.field!.size)) * 8;
  return BigInt.asUintN(64, f.field!.signed ? BigInt.asIntN(bits, v) : BigInt.asUintN(bits, v));
}

/** The entries of a HistData by key (built on first use, kept in step by histAdd). */
const INDEX = new WeakMap<HistData, Map<string, HistData['entries'][number]>>();

/** event_hist_trigger: one hit into the data (a full map drops the new key). */
export function histAdd(spec: HistSpec, data: HistData, read: FieldReader, ctx: { tsNs: bigint; cpu: number; comm: string; stack?: readonly bigint[] }): void {
  const key = spec.keys.map((k) => {
    let v = rawValue(k, read, ctx.tsNs, ctx.cpu, ctx.stack);
    if (typeof v === 'string') return v;
    if (k.flag === 'log2') v = log2Key(v);
    else if (k.flag === 'buckets') v = (v / BigInt(k.buckets!)) * BigInt(k.buckets!);
    return v.toString();
  });
  const id = key.join('\0');
  let idx = INDEX.get(data);
  if (!idx || idx.size !== data.entries.length) INDEX.set(data, (idx = new Map(data.entries.map((x) => [x.key.join('\0'), x]))));
  let e = idx.get(id);
  data.hits++;
  if (!e) {
    if (data.entries.length >= spec.size) { data.drops++; return; }
    e = { key, sums: ['0', ...spec.vals.map(() => '0')], ...(spec.keys.some((k) => k.flag === 'execname') ? { comm: ctx.comm } : {}) };
    data.entries.push(e);
    idx.set(id, e);
  }
  e.sums[0] = String(BigInt(e.sums[0]!) + 1n);
  spec.vals.forEach((v, i) => {
    const x = rawValue(v, read, ctx.tsNs, ctx.cpu);
    if (typeof x !== 'string') e!.sums[i + 1] = String(BigInt.asUintN(64, BigInt(e!.sums[i + 1]!) + x));
  });
}

/** Adds another run's data for the same trigger (counts and sums; new keys up to the size). */
export function histMerge(spec: HistSpec, into: HistData, from: HistData): void {
  into.hits += from.hits;
  into.drops += from.drops;
  for (const e of from.entries) {
    const id = JSON.stringify(e.key);
    const t = into.entries.find((x) => JSON.stringify(x.key) === id);
    if (!t) {
      if (into.entries.length >= spec.size) { into.drops += Number(e.sums[0]); continue; }
      into.entries.push({ ...e, key: [...e.key], sums: [...e.sums] });
    } else t.sums = t.sums.map((s, i) => String(BigInt.asUintN(64, BigInt(s) + BigInt(e.sums[i] ?? '0'))));
  }
}

export interface HistSymbols { noOffset(addr: bigint): string | undefined; withOffset(addr: bigint): string }

function keyText(k: HistField, v: string, comm: string | undefined, sym: HistSymbols): string {
  const name = k.special === 'cpu' ? 'common_cpu' : k.name;
  // hist_trigger_stacktrace_print: one "%pS" per line, indented by nine
  if (k.special === 'stacktrace') return 'stacktrace:\n' + (v ? v.split(',') : []).map((a) => `${' '.repeat(9)}${sym.withOffset(BigInt('0x' + a))}\n`).join('');
  if (k.field?.kind === 'str') return `${name}: ${v.padEnd(50)}`;
  const u = BigInt(v);
  switch (k.flag) {
    case 'hex': return `${name}: ${u.toString(16)}`;
    case 'sym': return `${name}: [${u.toString(16)}] ${(sym.noOffset(u) ?? '0x' + u.toString(16)).padEnd(45)}`;
    case 'sym-offset': return `${name}: [${u.toString(16)}] ${sym.withOffset(u).padEnd(55)}`;
    case 'execname': return `${name}: ${(comm ?? '').padEnd(16)}[${v.padStart(10)}]`;
    case 'log2': return `${name}: ~ 2^${v.padEnd(2)}`;
    case 'buckets': return `${name}: ~ ${v}-${u + BigInt(k.buckets!) - 1n}`;
    default: return `${name}: ${v.padStart(10)}`;
  }
}

function cmpKey(k: HistField, a: string, b: string): number {
  if (k.field?.kind === 'str' || k.special === 'stacktrace') return a < b ? -1 : a > b ? 1 : 0;
  let x = BigInt(a), y = BigInt(b);
  if (k.field?.signed && !k.flag) { x = BigInt.asIntN(64, x); y = BigInt.asIntN(64, y); }
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The sorted entries (tracing_map_sort_entries), ties broken by the keys in order. */
export function histSorted(spec: HistSpec, data: HistData): HistData['entries'] {
  const nv = spec.vals.length + 1;
  const cmpField = (idx: number, a: HistData['entries'][number], b: HistData['entries'][number]) => {
    if (idx < nv) { const x = BigInt(a.sums[idx]!), y = BigInt(b.sums[idx]!); return x < y ? -1 : x > y ? 1 : 0; }
    return cmpKey(spec.keys[idx - nv]!, a.key[idx - nv]!, b.key[idx - nv]!);
  };
  return [...data.entries].sort((a, b) => {
    for (const s of spec.sort) { const c = cmpField(s.index, a, b); if (c) return s.descending ? -c : c; }
    for (let i = 0; i < spec.keys.length; i++) { const c = cmpKey(spec.keys[i]!, a.key[i]!, b.key[i]!); if (c) return c; }
    return 0;
  });
}

/** hist_trigger_show: one trigger's part of the hist file (n: its place among the event's hist triggers). */
export function histShow(spec: HistSpec, data: HistData, paused: boolean, sym: HistSymbols, n = 0): string {
  let s = (n > 0 ? '\n\n' : '') + '# event histogram\n#\n# trigger info: ' + histTriggerText(spec, paused) + '#\n\n';
  const entries = histSorted(spec, data);
  for (const e of entries) {
    const multiline = spec.keys.some((k) => k.special === 'stacktrace');
    s += '{ ' + spec.keys.map((k, i) => keyText(k, e.key[i]!, e.comm, sym)).join(', ') + (multiline ? '' : ' ') + '}';
    s += ` hitcount: ${e.sums[0]!.padStart(10)}`;
    spec.vals.forEach((v, i) => {
      const x = BigInt(e.sums[i + 1]!);
      s += `  ${v.name}: ${(v.flag === 'hex' ? x.toString(16) : x.toString()).padStart(10)}`;
    });
    s += '\n';
  }
  return s + `\nTotals:\n    Hits: ${data.hits}\n    Entries: ${entries.length}\n    Dropped: ${data.drops}\n`;
}
