// perf-probe spec + DWARF → kprobe_events lines, as `perf probe -D` prints them
// (tools/perf/util/probe-finder.c convert_variable_location / convert_variable_fields /
// convert_variable_type, probe-event.c synthesize_probe_trace_command). Pure: the Dwarf is the only input.
import { derefAt, fieldAt, formatAddressExpr, DW_AT, DW_TAG, type AddressExpr, type Dwarf, type Die, type FetchPlan, type Variable } from '../../dwarf/index.js';
import { formatProbePoint, parseProbeSpec, type Parsed, type ProbeArg, type ProbeSpec } from './spec.js';
import { resolvePoint, scopeDepthFor, type PointOptions, type ResolvedPoint } from './point.js';

export const DEFAULT_GROUP = 'probe';

/** A variable a kprobe can fetch at a point: its fetch argument text (`%di`, `+16(%sp)`). */
export interface FetchableVar {
  readonly variable: Variable;
  readonly location: string;
}

/**
 * A static variable's storage as perf spells it: `@NAME+OFFS` instead of the absolute address
 * (probe-finder.c convert_variable_location "make @varname", probe-event.c synthesize_probe_trace_arg).
 */
export interface StaticBase { readonly name: string; readonly address: number }

function formatAddress(a: AddressExpr, base: StaticBase | undefined): string {
  if (a.kind === 'absolute' && base) { const off = a.address - base.address; return `@${base.name}${off >= 0 ? '+' : ''}${off}`; }
  if (a.kind === 'deref') return `${a.offset >= 0 ? '+' : ''}${a.offset}(${formatAddress(a.base, base)})`;
  return formatAddressExpr(a);
}

/** The static base of a variable located by DW_OP_addr, for `@NAME` spelling. */
export function staticBase(v: Variable): StaticBase | undefined {
  const l = v.location;
  return l.kind === 'memory' && l.address.kind === 'absolute' ? { name: v.name, address: l.address.address } : undefined;
}

/** The kprobe fetch argument for a plan at `pc`, or why there is none. */
export function planToFetchArg(plan: FetchPlan, atEntry: boolean, base?: StaticBase): Parsed<string> {
  switch (plan.kind) {
    case 'register':
      return plan.regName ? { ok: true, value: `%${plan.regName}` } : { ok: false, reason: `DWARF register ${plan.reg} has no pt_regs name` };
    case 'memory': return { ok: true, value: formatAddress(plan.address, base) };
    case 'entry-value':
      // The value the register had at entry: only at the entry itself is that the register.
      if (atEntry && plan.regName) return { ok: true, value: `%${plan.regName}` };
      return { ok: false, reason: 'the value is only known at the function entry (DW_OP_entry_value)' };
    case 'optimized-out': return { ok: false, reason: 'optimized out' };
    case 'constant': return { ok: false, reason: 'the value is a constant, not stored anywhere' };
    case 'implicit': return { ok: false, reason: 'the value is implicit, not stored anywhere' };
    case 'composite': return { ok: false, reason: 'the value is split into pieces' };
    default: return { ok: false, reason: plan.reason };
  }
}

/** Is `p` a function's entry (where entry values are the registers themselves)? */
function atEntry(p: ResolvedPoint): boolean {
  return p.symbolOffset === 0 || (p.instance !== undefined && p.address === p.instance.entryPc);
}

/**
 * Variables visible at a resolved point, as perf collects them (collect_variables_cb): those of the probed
 * function instance and the scopes inside it that contain the address (the whole chain for line probes),
 * only those with a location a kprobe can fetch there. `externs` adds the unit's global variables.
 */
export function fetchableVars(d: Dwarf, p: ResolvedPoint, opts: { externs?: boolean } = {}): FetchableVar[] {
  const depth = scopeDepthFor(d, p);
  const out: FetchableVar[] = [];
  for (const v of d.variablesAt(p.address, { externs: opts.externs ?? false })) {
    if (v.kind !== 'global' && v.scopeDepth < depth) continue;
    const loc = planToFetchArg(v.location, atEntry(p), staticBase(v));
    if (loc.ok) out.push({ variable: v, location: loc.value });
  }
  return out;
}

export interface CompiledEvent {
  readonly group: string;
  readonly event: string;
  readonly point: ResolvedPoint;
  readonly retprobe: boolean;
  /** The kprobe_events line. */
  readonly line: string;
}

export interface CompileOptions extends PointOptions {
  /** Is GROUP/EVENT already defined? (perf then picks EVENT_1, EVENT_2, ...) */
  readonly taken?: (group: string, event: string) => boolean;
}

/** Compiles `[[GROUP:]EVENT=]POINT [ARG...]` to one kprobe_events line per probe address. */
export function compilePerfProbe(d: Dwarf, words: readonly string[] | ProbeSpec, opts: CompileOptions = {}): Parsed<CompiledEvent[]> {
  const parsed: Parsed<ProbeSpec> = Array.isArray(words) ? parseProbeSpec(words as readonly string[]) : { ok: true, value: words as ProbeSpec };
  if (!parsed.ok) return parsed;
  const spec = parsed.value, pp = spec.point;
  const points = resolvePoint(d, pp, opts);
  if (!points.ok) return points;
  const group = spec.group ?? DEFAULT_GROUP;
  const events: CompiledEvent[] = [];
  const used = new Set<string>();
  for (const p of points.value) {
    const args: string[] = [];
    for (const a of spec.args) {
      const r = compileArg(d, p, a, pp.retprobe);
      if (!r.ok) return { ok: false, reason: `${formatProbePoint(pp)} (${p.symbol}+${p.symbolOffset}): ${r.reason}` };
      args.push(...r.value);
    }
    const base = spec.event ?? baseName(pp, p);
    let event = base;
    for (let i = 1; used.has(event) || opts.taken?.(group, event); i++) event = `${base}_${i}`;
    used.add(event);
    const head = `${pp.retprobe ? 'r' : 'p'}:${group}/${event} ${p.symbol}+${p.symbolOffset}`;
    events.push({ group, event, point: p, retprobe: pp.retprobe, line: [head, ...args].join(' ') });
  }
  return { ok: true, value: events };
}

/** perf's event name: the function's (or, for SRC:LINE, the symbol's), `_L<line>` for lines, `__return`. */
function baseName(pp: ProbeSpec['point'], p: ResolvedPoint): string {
  let n = (pp.function ?? p.symbol).replace(/[^A-Za-z0-9_]/g, '_');
  if (pp.retprobe) n += '__return';
  else if (pp.line !== undefined || pp.lazy !== undefined) n += `_L${pp.function !== undefined && pp.line !== undefined ? pp.line : p.line}`;
  else if (pp.offset) n += `_${pp.offset}`;
  return n;
}

/** One argument → zero or more fetch args (`$params`/`$vars` expand to several). */
export function compileArg(d: Dwarf, p: ResolvedPoint, a: ProbeArg, retprobe: boolean): Parsed<string[]> {
  const named = (s: string) => (a.name !== undefined ? `${a.name}=${s}` : s);
  if (a.var === '$params' || a.var === '$vars') {
    if (retprobe) return { ok: false, reason: `${a.var} cannot be fetched at a return probe` };
    if (a.name !== undefined || a.type !== undefined || a.fields.length) return { ok: false, reason: `${a.var} takes no name or type` };
    const out: string[] = [];
    for (const v of fetchableVars(d, p)) {
      if (a.var === '$params' && v.variable.kind !== 'parameter') continue;
      const t = d.fetchTypes.of(v.variable.type);
      if (!t.ok) continue; // perf skips what it cannot fetch
      out.push(`${v.variable.name}=${v.location}:${t.type}`);
    }
    return { ok: true, value: out };
  }
  if (a.var === '$retval') {
    if (!retprobe) return { ok: false, reason: '$retval is only available at a return probe (FUNC%return)' };
    if (a.type !== undefined) return { ok: true, value: [named(`$retval:${a.type}`)] };
    const rt = p.instance ? d.returnType(p.instance) : undefined;
    const t = rt ? d.fetchTypes.of(rt) : undefined;
    return { ok: true, value: [named(t && t.ok ? `$retval:${t.type}` : '$retval')] };
  }
  if (!/^[A-Za-z_]/.test(a.var)) return { ok: true, value: [a.text] }; // %REG, $argN, @SYM, +OFFS(...): the kernel's syntax
  if (retprobe) return { ok: false, reason: `'${a.var}': variables cannot be fetched at a return probe (only $retval)` };
  const v = d.variablesAt(p.address, { externs: true }).find((x) => x.name === a.var);
  if (!v) return { ok: false, reason: `Failed to find '${a.var}' in this function` };
  let plan: FetchPlan = v.location;
  if (plan.kind === 'entry-value' && atEntry(p)) plan = { kind: 'register', reg: plan.reg, regName: plan.regName };
  let type: Die | undefined = v.type;
  let bitType: string | undefined;
  let lastField: string | undefined;
  let arrayDim = 0; // subscripts already applied to a multi-dimensional array type
  let shown = a.var;
  for (const f of a.fields) {
    const st = d.types.strip(type);
    if (f.kind === 'index') {
      shown += `[${f.index}]`;
      if (st && st.tag === DW_TAG.pointer_type) {
        const el = d.ref(st, DW_AT.type);
        const size = d.types.size(el);
        if (size === undefined) return { ok: false, reason: `${shown}: the element size is unknown` };
        plan = derefAt(plan, f.index * size); type = el;
      } else if (st && st.tag === DW_TAG.array_type) {
        // `int m[2][3]` is one array type with two subranges: [1] steps over a row of 3 and stays an array.
        const info = d.types.array(st)!;
        if (info.elementSize === undefined) return { ok: false, reason: `${shown}: the element size is unknown` };
        let stride = info.elementSize;
        for (let k = arrayDim + 1; k < info.dims.length; k++) {
          const n = info.dims[k];
          if (n === undefined) return { ok: false, reason: `${shown}: an inner dimension is unknown` };
          stride *= n;
        }
        plan = fieldAt(plan, f.index * stride);
        if (arrayDim + 1 < info.dims.length) arrayDim++;
        else { type = info.element; arrayDim = 0; }
      } else return { ok: false, reason: `${shown}: ${a.var} is neither an array nor a pointer` };
      continue;
    }
    lastField = f.name;
    arrayDim = 0;
    let container: Die | undefined;
    if (f.kind === 'arrow') {
      if (!st || st.tag !== DW_TAG.pointer_type) return { ok: false, reason: `${shown}->${f.name}: ${shown} is not a pointer (use '.')` };
      container = d.ref(st, DW_AT.type);
    } else {
      if (st && st.tag === DW_TAG.pointer_type) return { ok: false, reason: `${shown}.${f.name}: ${shown} is a pointer (use '->')` };
      container = st;
    }
    const m = d.types.member(container, f.name);
    if (!m) return { ok: false, reason: `${f.name} is not a member of ${d.types.name(container)}` };
    const bf = d.fetchTypes.bitfield(m);
    const off = bf ? bf.offset : m.offset;
    plan = f.kind === 'arrow' ? derefAt(plan, off) : fieldAt(plan, off);
    bitType = bf?.type;
    type = m.type;
    shown += (f.kind === 'arrow' ? '->' : '.') + f.name;
  }
  let fetchType: string;
  if (a.type === 'string') {
    const st = d.types.strip(type);
    if (st && st.tag === DW_TAG.pointer_type) plan = derefAt(plan, 0); // the string is where the pointer points
    else if (!(st && st.tag === DW_TAG.array_type)) return { ok: false, reason: `${shown} is not a char pointer or array: it cannot be a string` };
    const chk = d.fetchTypes.of(type, { string: true });
    if (!chk.ok || chk.type !== 'string') return { ok: false, reason: `${shown} is not a char pointer or array: it cannot be a string` };
    fetchType = 'string';
  } else if (a.type !== undefined) {
    fetchType = a.type;
  } else if (bitType !== undefined) {
    fetchType = bitType;
  } else {
    const t = d.fetchTypes.of(type);
    if (!t.ok) return { ok: false, reason: `${shown}: ${t.reason}` };
    fetchType = t.type;
  }
  const loc = planToFetchArg(plan, atEntry(p), staticBase(v));
  if (!loc.ok) return { ok: false, reason: `${shown} is not available here: ${loc.reason}` };
  // perf names a field access after the last field (parse_perf_probe_arg), a plain variable after itself
  // with ':' of a type cast turned into '_' (probe-finder.c find_variable).
  const name = a.name ?? lastField ?? (a.type !== undefined && a.fields.length === 0 ? `${a.var}_${a.type}` : a.var);
  return { ok: true, value: [`${name}=${loc.value}:${fetchType}`] };
}
