// perf-probe spec + DWARF → kprobe_events lines, as `perf probe -D` prints them
// (tools/perf/util/probe-finder.c convert_variable_location / convert_variable_fields /
// convert_variable_type, probe-event.c synthesize_probe_trace_command). Pure: the Dwarf is the only input.
import { derefAt, fieldAt, formatAddressExpr, DW_AT, DW_TAG, type AddressExpr, type Dwarf, type Die, type FetchPlan, type Variable } from '../../dwarf/index.js';
import { DEFAULT_GROUP, formatProbePoint, isCVarName, parseProbeSpec, type Parsed, type ProbeArg, type ProbeSpec } from './spec.js';
export { DEFAULT_GROUP };
import { resolvePoint, scopeDepthFor, type PointOptions, type ResolvedPoint } from './point.js';
import { inRanges } from './lines.js';


/**
 * perf types unsigned values x8..x64 when the kernel's tracing README lists the x types (probe-finder.c
 * convert_variable_type, probe_type_is_available(PROBE_TYPE_X)); ktrace's README does, as kernels since 4.20.
 */
const PERF_TYPES = { hex: true, anySized: true } as const;

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

/**
 * Is `p` the entry of a real (out-of-line) function, where entry values are the registers themselves?
 * Not the entry of an inlined copy: DW_OP_entry_value names the value at the entry of the subprogram
 * the code runs in (GCC describes it by the call sites of the real function), long gone by then.
 */
function atEntry(p: ResolvedPoint): boolean {
  return p.symbolOffset === 0;
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
    const loc = variableLocation(d, p, v);
    if (loc.ok) out.push({ variable: v, location: loc.value });
  }
  return out;
}

/** A variable in a probe's scope with its fetch argument there. */
export interface ScopeVar extends FetchableVar { readonly type: string | undefined }

/**
 * The variables perf sees at a probe (probe-finder.c copy_variables_cb / collect_variables_cb): from
 * the probe's scope (the probed instance: for a function probe the instance itself, even where its
 * entry lies outside its ranges), every formal parameter (with `vars`, every variable too) that has
 * a location at the address, in DIE order, descending into the lexical blocks and inlined calls that
 * contain the address, so the parameters of inlined callees at the same address come too.
 */
export function scopeVars(d: Dwarf, p: ResolvedPoint, vars: boolean): ScopeVar[] {
  const out: ScopeVar[] = [];
  walkScope(d, p, (c, variable) => {
    if (c.tag !== DW_TAG.formal_parameter && !(vars && c.tag === DW_TAG.variable)) return false;
    const v = variable();
    const loc = v && variableLocation(d, p, v);
    if (v && loc && loc.ok) {
      const t = d.fetchTypes.of(v.type, PERF_TYPES);
      out.push({ variable: v, location: loc.value, type: t.ok ? t.type : undefined });
    }
    return false;
  });
  return out;
}

/**
 * perf's walk of a probe's scope (die_find_child from the scope DIE: the probed instance, else the
 * scope find_best_scope chose, else the function at the address): each DIE in DIE order, descending
 * only into the scopes that contain the address, until `visit` returns true. `variable()` is the DIE
 * as a Variable at the address (undefined when it has no name).
 */
function walkScope(d: Dwarf, p: ResolvedPoint, visit: (die: Die, variable: () => Variable | undefined) => boolean): void {
  // The frame is the out-of-line function at the address: the probed instance itself when it is a
  // top-level function holding the address (a unit's top-level functions do not overlap, as symbolAt).
  const inst = p.instance;
  const frame = realFunction(d, p)?.die;
  const scope = inst?.die ?? p.scope ?? frame;
  if (!scope || !frame) return;
  const walk = (die: Die, depth: number): boolean => {
    if (depth > 64) return false;
    for (const c of d.children(die)) {
      let v: Variable | undefined | null = null;
      const variable = () => {
        if (v === null) {
          const name = d.name(c);
          v = name === undefined ? undefined
            : { name, die: c, kind: c.tag === DW_TAG.formal_parameter ? 'parameter' : 'local', type: d.typeOf(c), typeName: '', location: d.locationAt(c, p.address, frame), scopeDepth: depth };
        }
        return v;
      };
      if (visit(c, variable)) return true;
      if (d.ranges(c).some((r) => p.address >= r.low && p.address < r.high) && walk(c, depth + 1)) return true;
    }
    return false;
  };
  walk(scope, 0);
}

/**
 * The out-of-line function at a probe's address (scopeAt's outermost frame, perf's pf->sp_die): the
 * probed instance itself when it is a top-level function holding the address (a unit's top-level
 * functions do not overlap, as symbolAt), else the unit's scope at the address (which sorts every
 * top-level scope's ranges: a cost a function probe need not pay).
 */
function realFunction(d: Dwarf, p: ResolvedPoint): { readonly die: Die; readonly kind: string } | undefined {
  const inst = p.instance;
  if (inst && inst.kind === 'function' && inst.die.depth === 1 && inRanges(inst.ranges, p.address)) return { die: inst.die, kind: 'function' };
  return d.scopeAt(p.address)[0];
}

/**
 * $params / $vars as perf expands them (expand_probe_args): the names of the scope's variables that have
 * a location there, duplicates included, each then fetched as an argument of that name is (find_variable:
 * the first variable of the name in the scope, so an inlined callee's parameter named as an outer one is
 * fetched and typed as the outer one).
 */
function expandSpecial(d: Dwarf, p: ResolvedPoint, vars: boolean): string[] {
  return scopeVars(d, p, vars).flatMap((v) => {
    const name = v.variable.name;
    const r = compileArg(d, p, { text: name, var: name, fields: [] }, false);
    return r.ok ? r.value : [`${name}=${v.location}${v.type ? `:${v.type}` : ''}`];
  });
}

/** A variable's fetch argument at a point: an immediate for DW_AT_const_value, the entry fuzz for parameters. */
function variableLocation(d: Dwarf, p: ResolvedPoint, v: Variable): Parsed<string> {
  // A DW_AT_const_value is fetched as an immediate (convert_variable_location: "\\%ld").
  if (v.location.kind === 'constant' && d.has(v.die, DW_AT.const_value)) return { ok: true, value: `\\${v.location.value}` };
  const { plan, base } = perfPlan(d, p, v);
  const loc = planToFetchArg(plan, atEntry(p), base);
  if (!loc.ok && v.kind === 'parameter') return afterEntry(d, p, v) ?? loc;
  return loc;
}

/**
 * The location perf reads for a variable at a point: the whole expression where ktrace can fetch it,
 * else its first operation alone (convert_variable_location handles op[0] only: `DW_OP_addr X;
 * DW_OP_stack_value` is then the memory at X, named after the variable, and `DW_OP_breg6 -56;
 * DW_OP_deref` the stack slot).
 */
function perfPlan(d: Dwarf, p: ResolvedPoint, v: Variable): { plan: FetchPlan; base: StaticBase | undefined } {
  let plan = v.location;
  if (plan.kind === 'entry-value' && atEntry(p)) plan = { kind: 'register', reg: plan.reg, regName: plan.regName };
  const base = staticBase(v);
  if (planToFetchArg(plan, atEntry(p), base).ok) return { plan, base };
  const first = d.firstOpLocationAt(v.die, p.address, realFunction(d, p)?.die);
  if (!first) return { plan, base };
  const firstBase = first.kind === 'memory' && first.address.kind === 'absolute' ? { name: v.name, address: first.address.address } : undefined;
  return planToFetchArg(first, atEntry(p), firstBase).ok ? { plan: first, base: firstBase } : { plan, base };
}

/**
 * A parameter without a location at the very entry: "fuzzed by fentry mcount", perf takes its
 * location at the first address of the function that has one (convert_variable_location). Only at
 * the entry of the real (out-of-line) function around the address (pf->sp_die: dwarf_entrypc, i.e.
 * DW_AT_entry_pc or DW_AT_low_pc), searching up to its DW_AT_high_pc: at the entry of an inlined copy
 * the parameters have no location, as perf reports.
 */
function afterEntry(d: Dwarf, p: ResolvedPoint, v: Variable): Parsed<string> | undefined {
  const loc = d.locationOf(v.die);
  if (!loc || !('list' in loc)) return undefined;
  const real = realFunction(d, p);
  if (!real || real.kind !== 'function') return undefined;
  const entry = d.address(real.die, DW_AT.entry_pc) ?? d.address(real.die, DW_AT.low_pc);
  if (entry !== p.address || !d.has(real.die, DW_AT.high_pc)) return undefined;
  const high = Math.max(...d.ranges(real.die).map((r) => r.high));
  let first: number | undefined;
  for (const e of loc.list) if (!e.isDefault && e.low > p.address && e.low <= high && (first === undefined || e.low < first)) first = e.low;
  if (first === undefined) return undefined;
  const r = planToFetchArg(d.locationAt(v.die, first, real.die), false, staticBase(v));
  return r.ok ? r : undefined;
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
  /** Is GROUP/EVENT already defined? (with `force`, perf then picks EVENT_1, EVENT_2, ...) */
  readonly taken?: (group: string, event: string) => boolean;
  /** perf probe -f: add a duplicate under a free EVENT_N name instead of failing. */
  readonly force?: boolean;
}

/** Compiles `[[GROUP:]EVENT=]POINT [ARG...]` to one kprobe_events line per probe address. */
export function compilePerfProbe(d: Dwarf, words: readonly string[] | ProbeSpec, opts: CompileOptions = {}): Parsed<CompiledEvent[]> {
  const parsed: Parsed<ProbeSpec> = Array.isArray(words) ? parseProbeSpec(words as readonly string[]) : { ok: true, value: words as ProbeSpec };
  if (!parsed.ok) return parsed;
  const spec = parsed.value, pp = spec.point;
  // perf_probe_with_var: an argument that is a C variable, $params or $vars needs the function's debug info.
  const needsDwarf = spec.args.some((a) => isCVarName(a.var) || a.var === '$params' || a.var === '$vars');
  const points = resolvePoint(d, pp, { ...opts, ...(needsDwarf ? { needsDwarf } : {}), alternative: spec.args.length === 0 });
  if (!points.ok) return points;
  const group = spec.group ?? DEFAULT_GROUP;
  const events: CompiledEvent[] = [];
  // One name for every address of the spec: the kernel's kprobe_events appends probes to an event of
  // that name (multiprobe, "Create/append" in its README), so perf adds them all under it
  // (probe-event.c probe_trace_event__set_name leaves the namelist alone when multiprobe is supported).
  let expanded = false;
  // Each address's arguments; null where a variable is missing there (filled in below).
  const perPoint: (string[] | null)[][] = [];
  const firstMissing = new Map<number, string>();
  for (const p of points.value) {
    const args: (string[] | null)[] = [];
    for (const [i, a] of spec.args.entries()) {
      const r = compileArg(d, p, a, pp.retprobe);
      const why = r.ok ? '' : `${formatProbePoint(pp)} (${p.symbol}+${p.symbolOffset}): ${r.reason}`;
      if (!r.ok && !r.empty) return { ok: false, reason: why };
      if (!r.ok && !firstMissing.has(i)) firstMissing.set(i, why);
      args.push(r.ok ? r.value : null);
    }
    perPoint.push(args);
  }
  // perf with a kernel that takes immediates (tracing README: \imm-value, as ktrace's does) skips a
  // variable missing at some addresses and fetches the constant \deade12d there instead, typed as at the
  // first address that has it (probe-finder.c fill_empty_trace_arg); missing everywhere, it fails.
  for (const [i, why] of firstMissing) {
    const found = perPoint.find((args) => args[i] !== null)?.[i];
    if (!found) return { ok: false, reason: why };
    const typed = /^([^=]+)=.*?(:[^:]+)?$/.exec(found[0]!)!;
    for (const args of perPoint) if (args[i] === null) args[i] = [`${typed[1]}=\\deade12d${typed[2] ?? ''}`];
  }
  for (const [k, p] of points.value.entries()) {
    const args = perPoint[k]!.flatMap((x) => x!);
    // Each address is named on its own (SRC;PTN names each after its function), never suffixed
    // for the spec's own earlier addresses, only for events defined before.
    const base = (spec.event ?? baseName(pp, p)) + (pp.retprobe ? '__return' : '');
    let event = base;
    if (opts.taken?.(group, event) && !opts.force) return { ok: false, reason: `event "${group}:${base}" already exists.` };
    for (let i = 1; opts.taken?.(group, event); i++) event = `${base}_${i}`;
    const head = `${pp.retprobe ? 'r' : 'p'}:${group}/${event} ${p.probeAt?.symbol ?? p.symbol}+${p.probeAt?.offset ?? p.symbolOffset}`;
    events.push({ group, event, point: p, retprobe: pp.retprobe, line: [head, ...args].join(' ') });
    if (args.length) expanded = true;
  }
  // perf fails when $params or $vars found nothing at any of the addresses (probe-finder.c expand_probe_args).
  const special = spec.args.find((a) => a.var === '$params' || a.var === '$vars');
  if (special && !expanded) return { ok: false, reason: `Failed to find the location of the '${special.var}' variable at this address. Perhaps it has been optimized out.` };
  return { ok: true, value: events };
}

/**
 * perf's event name (probe-event.c parse_perf_probe_command, probe_trace_event__set_name): FUNC_L<RLN>
 * for FUNC:RLN, else the function's name (for SRC:LINE and SRC;PTN, that of the scope perf finds there,
 * an inlined function's too), cut at a '.' or '@' suffix (get_new_event_name); `__return` is added for
 * a return probe, to a given name too.
 */
function baseName(pp: ProbeSpec['point'], p: ResolvedPoint): string {
  if (pp.function !== undefined && pp.line && pp.lazy === undefined && !pp.offset) return `${pp.function}_L${pp.line}`;
  const n = (pp.function ?? p.scopeName ?? p.symbol).replace(/^\./, '');
  const cut = n.search(/[.@]/);
  return cut > 0 ? n.slice(0, cut) : n;
}

/**
 * The variable perf fetches for a name (probe-finder.c find_variable, die_find_variable_at): the first
 * parameter or variable of that name with a location, a constant value or DW_AT_external, in DIE order
 * from the probe's scope inward, descending only into the scopes that contain the address (so at an
 * inlined copy the caller's variables are not found, and where a block's variable shadows one declared
 * before it, perf takes the earlier one); else a global of the unit.
 */
function findVariable(d: Dwarf, p: ResolvedPoint, name: string): Variable | undefined {
  let found: Variable | undefined;
  walkScope(d, p, (c, variable) => {
    if ((c.tag !== DW_TAG.formal_parameter && c.tag !== DW_TAG.variable) || d.name(c) !== name) return false;
    if (!d.has(c, DW_AT.external) && !d.has(c, DW_AT.location) && !d.has(c, DW_AT.const_value)) return false;
    found = variable();
    return true;
  });
  return found ?? d.variablesAt(p.address, { externs: true }).find((x) => x.kind === 'global' && x.name === name);
}

/**
 * A compiled argument, or why not; `empty`: the variable is not found or has no location at this
 * address (perf's -ENOENT, which it skips at one address when another has it: fill_empty_trace_arg).
 */
export type ArgResult = { ok: true; value: string[] } | { ok: false; reason: string; empty?: boolean };

/** One argument → zero or more fetch args (`$params`/`$vars` expand to several). */
export function compileArg(d: Dwarf, p: ResolvedPoint, a: ProbeArg, retprobe: boolean): ArgResult {
  const named = (s: string) => (a.name !== undefined ? `${a.name}=${s}` : s);
  if (a.var === '$params' || a.var === '$vars') {
    if (retprobe) return { ok: false, reason: `${a.var} cannot be fetched at a return probe` };
    if (a.name !== undefined || a.type !== undefined || a.fields.length) return { ok: false, reason: `${a.var} takes no name or type` };
    return { ok: true, value: expandSpecial(d, p, a.var === '$vars') };
  }
  if (a.var === '$retval') {
    if (!retprobe) return { ok: false, reason: '$retval is only available at a return probe (FUNC%return)' };
    // perf passes $retval through as the kernel's fetch arg, untyped unless a type is given.
    return { ok: true, value: [named(a.type !== undefined ? `$retval:${a.type}` : '$retval')] };
  }
  if (!isCVarName(a.var)) return { ok: true, value: [a.text] }; // %REG, $argN, @SYM, +OFFS(...): the kernel's syntax
  if (retprobe) return { ok: false, reason: `'${a.var}': variables cannot be fetched at a return probe (only $retval)` };
  const v = findVariable(d, p, a.var);
  if (!v) return { ok: false, reason: `Failed to find '${a.var}' in this function`, empty: true };
  const perf = perfPlan(d, p, v);
  let plan: FetchPlan = perf.plan;
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
  if (a.type === 'string' || a.type === 'ustring') {
    const st = d.types.strip(type);
    if (st && st.tag === DW_TAG.pointer_type) plan = derefAt(plan, 0); // the string is where the pointer points
    else if (!(st && st.tag === DW_TAG.array_type)) return { ok: false, reason: `${shown} is not a char pointer or array: it cannot be a string` };
    const chk = d.fetchTypes.of(type, { string: true });
    if (!chk.ok || chk.type !== 'string') return { ok: false, reason: `${shown} is not a char pointer or array: it cannot be a string` };
    fetchType = a.type;
  } else if (a.type !== undefined) {
    fetchType = a.type;
  } else if (bitType !== undefined) {
    fetchType = bitType;
  } else {
    const t = d.fetchTypes.of(type, PERF_TYPES);
    if (!t.ok) return { ok: false, reason: `${shown}: ${t.reason}` };
    fetchType = t.type;
  }
  let loc = a.fields.length === 0 && plan.kind === 'constant' && d.has(v.die, DW_AT.const_value)
    ? { ok: true as const, value: `\\${plan.value}` } : planToFetchArg(plan, atEntry(p), perf.base);
  if (!loc.ok && a.fields.length === 0 && v.kind === 'parameter' && atEntry(p)) loc = afterEntry(d, p, v) ?? loc;
  // No location at this address is "empty" (perf: -ENOENT, filled in from the other addresses).
  if (!loc.ok) return { ok: false, reason: `${shown} is not available here: ${loc.reason}`, empty: v.location.kind === 'optimized-out' };
  // perf names a field access after the last field (parse_perf_probe_arg), a plain variable after itself
  // with ':' of a type cast turned into '_' (probe-finder.c find_variable).
  const name = a.name ?? lastField ?? (a.type !== undefined && a.fields.length === 0 ? `${a.var}_${a.type}` : a.var);
  return { ok: true, value: [fetchType ? `${name}=${loc.value}:${fetchType}` : `${name}=${loc.value}`] };
}
