// Probe point → probe addresses with debuginfo (tools/perf/util/probe-finder.c find_probe_point_by_func,
// find_probe_point_by_line, find_probe_point_lazy): a function probe goes on every concrete instance,
// the out-of-line body and each inlined copy (probe_point_inline_cb), which the raw kprobe interface
// cannot do by itself; a line probe on every address where that line begins; a lazy pattern on the
// lines of the function whose source text matches.
import { DW_AT, DW_TAG, type Dwarf, type Die, type FunctionInstance } from '../../dwarf/index.js';
import type { Parsed, ProbePoint } from './spec.js';
import { functionRows, inRanges, lazyMatch, pathMatches, reverseLine, unitHasFile, unitRows } from './lines.js';
import { findFunctions } from './find.js';
import { hex16 } from '../../base/addr.js';

export interface ResolvedPoint {
  readonly address: number;
  /** The out-of-line function containing the address, and the offset from its entry (SYM+OFFS). */
  readonly symbol: string;
  readonly symbolOffset: number;
  /** The function instance the probe was asked on (function probes); variables come from its scope inward. */
  readonly instance?: FunctionInstance;
  /** Source line the probe is on (line and lazy probes). */
  readonly line?: number;
  readonly path?: string;
  /**
   * SRC:LINE and SRC;PTN: the scope perf picks at the address (find_best_scope), which names the event
   * and is where variables are looked up from.
   */
  readonly scope?: Die;
  readonly scopeName?: string;
  /**
   * How perf's kprobe_events line names the address when the ELF symbol there is not the DWARF function
   * (probe-event.c post_process_probe_trace_point: the kernel map's symbol holding it, a compiler clone
   * such as foo.part.0 or a foo.cold part).
   */
  readonly probeAt?: { readonly symbol: string; readonly offset: number };
  /**
   * How perf -V names the address when it differs from symbol+symbolOffset (probe-finder.c
   * convert_to_trace_point: a real function without an entry address, one split into DW_AT_ranges such
   * as a hot body and a .cold part, is named by the ELF symbol holding the address).
   */
  readonly listedAt?: { readonly symbol: string; readonly offset: number };
}

export interface PointOptions {
  /** The source lines of a DWARF file path (for lazy patterns), or undefined when missing. */
  readonly readSource?: (path: string) => readonly string[] | undefined;
  /** A function symbol's address from the ELF symbol table (perf's fallback when the debug info has no body). */
  readonly symbol?: (name: string) => number | undefined;
  /** The probe needs debug info (perf_probe_event_need_dwarf: -V, or an argument naming a variable,
   *  $params or $vars): a function the DWARF lacks is not found, with no plain fallback to `symbol`. */
  readonly needsDwarf?: boolean;
  /** perf --no-inlines: functions declared inline (an abstract DIE) are not searched, their out-of-line copies included. */
  readonly noInlines?: boolean;
  /** perf --max-probes N: more addresses than this for one spec is an error (default MAX_PROBES). */
  readonly maxProbes?: number;
  /**
   * perf's retry with an alternative point (probe-event.c find_alternative_probe_point) when the debug
   * info has no function FUNC: FUNC's symbol address, as the DWARF function there. perf retries -V and
   * a probe without arguments (with any, its debuginfo search fails outright).
   */
  readonly alternative?: boolean;
  /**
   * The addresses of the function symbols named `name` in perf's kernel map (STT_FUNC of .text), in
   * address order: a return probe is placed on these (probe-event.c find_probe_trace_events_from_map).
   */
  readonly functionSymbols?: (name: string) => readonly number[];
  /**
   * The first symbol named `name` in perf's kernel map, code labels included (find_alternative_probe_point's
   * lookup; else `symbol`).
   */
  readonly mapSymbol?: (name: string) => number | undefined;
  /** The ELF function symbol holding an address (perf's kernel map), for naming addresses as perf does. */
  readonly elfSymbol?: (addr: number) => { readonly name: string; readonly addr: number } | undefined;
}

/**
 * find_alternative_probe_point: for FUNC[+OFFS][:RLN] with no DWARF function FUNC, FUNC's symbol
 * address as a probe point (debuginfo__find_probe_point, probePointAt), with the offset and relative
 * line added: a symbol that aliases a function (SYSCALL_DEFINE0's __x64_sys_getpid is __do_sys_getpid)
 * becomes that function; a compiler's part of one (foo.cold) a line or offset of that function.
 */
function alternativePoint(d: Dwarf, pp: ProbePoint, opts: PointOptions): ProbePoint | undefined {
  if (!opts.alternative || pp.function === undefined || pp.file !== undefined || pp.lazy !== undefined || pp.retprobe) return undefined;
  const at = (opts.mapSymbol ?? opts.symbol)?.(pp.function);
  const r = at !== undefined && at !== 0 ? probePointAt(d, at) : undefined;
  if (!r || r.function === pp.function || (r.function === undefined && r.file === undefined)) return undefined;
  const line = r.line + (pp.line ?? 0);
  // No function there: perf's point is the address's FILE:LINE.
  if (r.function === undefined) return { file: r.file, line, offset: 0, retprobe: false };
  return { ...pp, function: r.function, file: r.file, offset: r.offset + pp.offset, ...(line ? { line } : {}) };
}

/** die_entrypc: DW_AT_entry_pc, else DW_AT_low_pc, else the first range's start. */
function dieEntryPc(d: Dwarf, die: Die): number | undefined {
  return d.address(die, DW_AT.entry_pc) ?? d.address(die, DW_AT.low_pc) ?? d.ranges(die)[0]?.low;
}

/**
 * The probe point perf names an address by (probe-finder.c debuginfo__find_probe_point): in the real
 * function there, line 0 at its entry; at an inlined copy's entry, the call's line (and file) relative
 * to the function the walk is in; inside inlined code, the line relative to the innermost inlined
 * function's declaration; a line of another file than that function's declaration (as the walk left it)
 * falls back to an offset from the real function's entry. Outside every function: the address's line
 * and file, with no function (undefined when there is no line either).
 */
export function probePointAt(d: Dwarf, addr: number): { function: string | undefined; file: string | undefined; line: number; offset: number } | undefined {
  const chain = d.scopeAt(addr);
  const top = chain[0];
  const at = reverseLine(d, addr);
  if (!top || top.kind !== 'function') return at ? { function: undefined, file: at.path, line: at.line, offset: 0 } : undefined;
  let lineno = at?.line ?? 0;
  let spdie = top.die, func = d.name(spdie);
  const basefunc = func, baseaddr = dieEntryPc(d, spdie);
  const decl = d.declaration(spdie);
  let baseline = decl.line;
  if (func === undefined || baseaddr === undefined || baseline === undefined) return undefined;
  let fname = decl.file;
  if (addr === baseaddr) lineno = baseline;
  else {
    // die_find_top_inlinefunc, step by step: the outermost inlined copy below the current scope.
    for (const f of chain.slice(1)) {
      if (f.kind !== 'inline') continue;
      if (dieEntryPc(d, f.die) === addr) {
        lineno = d.udata(f.die, DW_AT.call_line) ?? 0;
        fname = d.fileName(f.die.unit, d.udata(f.die, DW_AT.call_file));
        break;
      }
      const n = d.name(f.die), l = d.declaration(f.die).line;
      if (n === undefined || l === undefined) break;
      func = n; baseline = l; spdie = f.die;
    }
    if (d.declaration(spdie).file !== fname) lineno = 0;
  }
  if (lineno) return { function: func, file: fname, line: lineno - baseline, offset: 0 };
  return { function: basefunc!, file: fname, line: 0, offset: addr - baseaddr };
}

/**
 * The out-of-line function whose code holds `pc` and its entry. `hint`: an out-of-line instance at the
 * unit's top level whose ranges hold pc is that function (a unit's top-level functions do not overlap),
 * found without sorting the unit's scopes.
 */
export function symbolAt(d: Dwarf, pc: number, hint?: FunctionInstance): { name: string; entry: number; die: Die } | undefined {
  if (hint && hint.kind === 'function' && hint.die.depth === 1 && inRanges(hint.ranges, pc)) return { name: hint.name, entry: hint.entryPc, die: hint.die };
  const top = d.scopeAt(pc)[0];
  if (!top || top.kind !== 'function') return undefined;
  const fi = d.functionInstance(top.die);
  if (!fi) return undefined;
  return { name: fi.name, entry: fi.entryPc, die: top.die };
}

/** perf's names for a probe address beside the DWARF function's (ResolvedPoint.probeAt, listedAt). */
function elfNames(d: Dwarf, address: number, sym: { name: string; entry: number; die: Die }, opts: PointOptions): Pick<ResolvedPoint, 'probeAt' | 'listedAt'> {
  if (!opts.elfSymbol) return {};
  // Only a compiler's copy (a clone: DW_AT_abstract_origin, no name of its own) or a part of a function
  // other than its first range (foo.cold) can sit under another ELF name: any other function is its
  // symbol, and the symbol table is not read for it.
  const first = d.ranges(sym.die)[0];
  if (!d.has(sym.die, DW_AT.abstract_origin) && (!first || (address >= first.low && address < first.high))) return {};
  const elf = opts.elfSymbol(address);
  if (!elf || (elf.name === sym.name && elf.addr === sym.entry)) return {};
  const at = { symbol: elf.name, offset: address - elf.addr };
  // dwarf_entrypc: DW_AT_entry_pc or DW_AT_low_pc; a function given by DW_AT_ranges alone has none.
  const entry = d.has(sym.die, DW_AT.entry_pc) || d.has(sym.die, DW_AT.low_pc);
  return { probeAt: at, ...(entry ? {} : { listedAt: at }) };
}

/** perf's limit on the addresses one spec may probe (probe_conf.max_probes, MAX_PROBES). */
export const MAX_PROBES = 128;

export function resolvePoint(d: Dwarf, pp: ProbePoint, opts: PointOptions = {}): Parsed<ResolvedPoint[]> {
  const r = resolveAll(d, pp, opts);
  const max = opts.maxProbes ?? MAX_PROBES;
  if (r.ok && r.value.length > max) return { ok: false, reason: `Too many( > ${max}) probe point found.` };
  return r;
}

function resolveAll(d: Dwarf, pp: ProbePoint, opts: PointOptions): Parsed<ResolvedPoint[]> {
  const out: ResolvedPoint[] = [];
  const seen = new Set<number>();
  const push = (address: number, extra: { instance?: FunctionInstance; line?: number; path?: string; scope?: Die; scopeName?: string }) => {
    if (seen.has(address)) return;
    const sym = symbolAt(d, address, extra.instance);
    if (!sym) return;
    seen.add(address);
    out.push({ address, symbol: sym.name, symbolOffset: address - sym.entry, ...extra, ...elfNames(d, address, sym, opts) });
  };
  if (pp.function !== undefined) {
    // FUNC%return: perf 6.1 does not search the debug info (try_to_find_probe_trace_events returns at
    // once, gcc #98776) but probes the entry of every function symbol of that name, one a distinct address.
    if (pp.retprobe && opts.functionSymbols && pp.lazy === undefined && !pp.line) {
      const at = [...new Set(opts.functionSymbols(pp.function))];
      if (at.length === 0) return { ok: false, reason: `Failed to find symbol ${pp.function} in kernel` };
      return { ok: true, value: at.map((a) => ({ address: a + pp.offset, symbol: pp.function!, symbolOffset: pp.offset })) };
    }
    let fns = findFunctions(d, pp.function, pp.file);
    // --no-inlines (probe_point_search_cb): a function whose DIE is an inline declaration is skipped,
    // its instances (inlined copies and the out-of-line body that refers to it) with it; nothing is then found.
    if (opts.noInlines && fns.length) {
      fns = fns.filter((f) => f.kind === 'function' && !d.has(f.die, DW_AT.abstract_origin));
      if (fns.length === 0) return { ok: false, reason: `Probe point '${pp.function}${pp.file !== undefined ? `@${pp.file}` : ''}' not found.` };
    }
    if (fns.length === 0) {
      // perf retries at the function the symbol's address is the entry of (the user's point names the event).
      const alt = alternativePoint(d, pp, opts);
      if (alt) {
        const r = resolveAll(d, alt, { ...opts, alternative: false });
        if (r.ok && r.value.length) return r;
      }
      // No body in the debug info: perf falls back to the symbol table for a plain FUNC[+OFFS][%return].
      const at = !opts.needsDwarf && pp.file === undefined && !pp.line && pp.lazy === undefined ? opts.symbol?.(pp.function) : undefined;
      if (at !== undefined) return { ok: true, value: [{ address: at + pp.offset, symbol: pp.function, symbolOffset: pp.offset }] };
      return { ok: false, reason: `Probe point '${pp.function}${pp.file !== undefined ? `@${pp.file}` : ''}' not found.` };
    }
    if (pp.retprobe) {
      // A return probe needs a real return: perf skips inlined copies (probe_point_search_cb), and
      // with none left falls back to the symbol table (find_probe_trace_events_from_map).
      fns = fns.filter((f) => f.kind === 'function');
      // The event names the function itself (r:SYM+0), which the kernel must have: a body that exists only
      // as the compiler's clone (foo.isra.0, foo.constprop.0) has no symbol foo, and perf refuses it
      // (probe-event.c: "Failed to find symbol foo in kernel").
      if (fns.length && opts.symbol && opts.symbol(pp.function) === undefined) return { ok: false, reason: `Failed to find symbol ${pp.function} in kernel` };
      if (fns.length === 0) {
        const at = opts.symbol?.(pp.function);
        if (at === undefined) return { ok: false, reason: `${pp.function} is only inlined: a return probe needs an out-of-line function` };
        return { ok: true, value: [{ address: at + pp.offset, symbol: pp.function, symbolOffset: pp.offset }] };
      }
    }
    // FUNC:0 is the function itself (perf tests pp->line for non-zero).
    if (pp.line) return functionLine(d, pp, pp.function, pp.line, push, out);
    if (pp.lazy !== undefined) {
      for (const f of fns) {
        if (f.declFile === undefined) continue;
        const src = opts.readSource?.(f.declFile);
        if (!src) return { ok: false, reason: `source file ${f.declFile} not found (needed for the pattern ';${pp.lazy}')` };
        for (const r of functionRows(d, f)) {
          if (r.path !== f.declFile) continue;
          const text = src[r.line - 1];
          if (text !== undefined && lazyMatch(pp.lazy, text)) push(r.address, { instance: f, line: r.line, path: r.path });
        }
      }
      if (out.length === 0) {
        // Nothing found and no error: perf retries at the function's symbol (probe-event.c
        // get_alternative_probe_event), a point without the pattern: FUNC@its file, i.e. its entries.
        const at = pp.file === undefined ? opts.symbol?.(pp.function) : undefined;
        const real = at !== undefined ? d.scopeAt(at)[0] : undefined;
        const file = real && real.kind === 'function' ? d.functionInstance(real.die)?.declFile : undefined;
        if (file !== undefined) return resolveAll(d, { ...pp, lazy: undefined, file }, opts);
        return { ok: false, reason: `no line of ${pp.function} matches the pattern '${pp.lazy}'` };
      }
      return { ok: true, value: out };
    }
    for (const f of fns) {
      const a = f.entryPc + pp.offset;
      if (pp.offset && !inRanges(f.ranges, a)) return { ok: false, reason: `Offset ${pp.offset} is out of ${pp.function}` };
      push(a, { instance: f });
    }
    return { ok: true, value: out };
  }
  // SRC:LINE and SRC;PTN: perf walks the lines of every unit whose file table has the file
  // (die_walk_lines on the CU: its rows, then each function's declaration and inlined-call lines) and
  // probes each address where a wanted line of that file is, in the scope find_best_scope picks there.
  const file = pp.file!;
  const paths = new Set<string>();
  for (const e of d.lineRows(file.replace(/^(\.\/)+/, ''))) paths.add(e.path);
  if (paths.size === 0) return { ok: false, reason: pp.line !== undefined ? `Probe point ${file}:${pp.line} is not found: no code for that line` : `${file} has no code in the debug info` };
  if (paths.size > 1) return { ok: false, reason: `'${file}' matches several source files: ${[...paths].join(', ')}` };
  const path = [...paths][0]!;
  let wanted: (line: number) => boolean;
  if (pp.line !== undefined) wanted = (line) => line === pp.line;
  else {
    const src = opts.readSource?.(path);
    if (!src) return { ok: false, reason: `source file ${path} not found (needed for the pattern ';${pp.lazy}')` };
    const lines = new Set<number>();
    for (let i = 0; i < src.length; i++) if (lazyMatch(pp.lazy!, src[i]!)) lines.add(i + 1);
    wanted = (line) => lines.has(line);
  }
  for (const u of d.unitsMayHaveFile((p) => p === path)) {
    if (!unitHasFile(d, u, path)) continue;
    for (const r of unitRows(d, u)) {
      if (r.path !== path || !wanted(r.line) || seen.has(r.address)) continue;
      const scope = bestScope(d, r.address, r.line, path);
      // A row outside every function (BUG()'s out-of-line code): perf gives up on the whole probe.
      if (!scope) return { ok: false, reason: `Failed to find scope of probe point (${file}:${r.line} at ${hex16(r.address)}, outside every function).` };
      push(r.address, { line: r.line, path, scope, scopeName: d.name(scope) });
    }
  }
  if (pp.line !== undefined) {
    if (out.length === 0) return { ok: false, reason: `Probe point ${file}:${pp.line} is not found: no code for that line` };
    return representative(d, out, pp.line);
  }
  if (out.length === 0) return { ok: false, reason: `no line of ${file} with code matches the pattern '${pp.lazy}'` };
  return { ok: true, value: out };
}

/**
 * FUNC:RLN as perf finds it (probe_point_search_cb, find_probe_point_by_line): in every unit, the first
 * definition of FUNC gives the file and line (its declaration line + RLN); then every address of that
 * line in the unit's walk (not only inside FUNC: a line shared by several functions, as a macro's, is
 * probed in all of them), each checked as representative, in the scope named FUNC there, else the
 * real function.
 */
function functionLine(d: Dwarf, pp: ProbePoint, fn: string, rel: number, push: (address: number, extra: { line?: number; path?: string; scope?: Die; scopeName?: string }) => void, out: ResolvedPoint[]): Parsed<ResolvedPoint[]> {
  let first: { path: string; line: number } | undefined;
  // Only units defining FUNC can have it among their subprograms (Dwarf.unitsDefining, in unit order).
  for (const u of d.unitsDefining(fn)) {
    const root = u.root();
    if (!root) continue;
    // dwarf_getfuncs: the unit's subprograms in DIE order; the first definition of FUNC (die_is_func_def).
    const sp = d.children(root).find((c) => c.tag === DW_TAG.subprogram && d.name(c) === fn && !d.has(c, DW_AT.declaration)
      && (d.has(c, DW_AT.inline) || d.has(c, DW_AT.low_pc) || d.has(c, DW_AT.entry_pc) || d.has(c, DW_AT.ranges)));
    const decl = sp && d.declaration(sp);
    if (!decl || decl.file === undefined || decl.line === undefined || (pp.file !== undefined && !pathMatches(decl.file, pp.file))) continue;
    const path = decl.file, line = decl.line + rel;
    first ??= { path, line };
    const start = out.length;
    for (const r of unitRows(d, u)) {
      if (r.path !== path || r.line !== line) continue;
      const scope = bestScope(d, r.address, line, path, fn);
      if (!scope) return { ok: false, reason: `Failed to find scope of probe point (${fn}:${rel} at ${hex16(r.address)}, outside every function).` };
      push(r.address, { line, path, scope, scopeName: d.name(scope) });
    }
    const checked = representative(d, out.slice(start), line, fn, decl.line);
    if (!checked.ok) return checked;
  }
  if (out.length === 0) {
    return { ok: false, reason: first ? `Probe point ${fn}:${rel} (line ${first.line} of ${first.path}) is not found: no code for that line` : `${fn} has no declaration line in the debug info` };
  }
  return { ok: true, value: out };
}

/**
 * The scope perf probes a source line in (probe-finder.c find_best_scope): of the real function and
 * the inlined copies around the address (outermost first) declared in the file, the first named `fn`
 * when a function is given, else the one declared nearest before the line; with none, the real
 * function (find_inner_scope_cb stops at the first scope it is given); undefined outside every function.
 */
export function bestScope(d: Dwarf, address: number, line: number, path: string, fn?: string): Die | undefined {
  const chain = d.scopeAt(address).filter((s) => s.kind === 'function' || s.kind === 'inline');
  let best: Die | undefined, diff = Infinity;
  for (const s of chain) {
    const fi = d.functionInstance(s.die, { empty: true });
    if (!fi || fi.declFile !== path) continue;
    if (fn !== undefined) { if (fi.name === fn) return s.die; continue; }
    if (fi.declLine !== undefined && fi.declLine < line && line - fi.declLine < diff) { diff = line - fi.declLine; best = s.die; }
  }
  return best ?? chain[0]?.die;
}

/**
 * A line probe's addresses in walk order, each checked as perf's verify_representive_line does: an
 * address another line claims (reverseLine) is refused, with the line to probe instead.
 */
function representative(d: Dwarf, pts: ResolvedPoint[], line: number, fn?: string, declLine?: number): Parsed<ResolvedPoint[]> {
  for (const p of pts) {
    const r = reverseLine(d, p.address);
    // Another line of the same file at the address: refused. A line of another file (an inlined
    // callee's) does not count (verify_representive_line: strcmp(fname, __fname) || lineno == __lineno).
    if (r && r.line !== line && (p.path === undefined || r.path === p.path)) {
      const instead = fn !== undefined && declLine !== undefined ? `${fn}:${r.line - declLine}` : `${r.path.replace(/^(\.\/)+/, '')}:${r.line}`;
      return { ok: false, reason: `This line is sharing the address with other lines. Please try to probe at ${instead} instead.` };
    }
  }
  return { ok: true, value: pts };
}

/** The DIE variables are looked up from for a point: the probed instance, else the whole scope chain. */
export function scopeDepthFor(d: Dwarf, p: ResolvedPoint): number {
  if (!p.instance) return 0;
  const chain = d.scopeAt(p.address);
  const i = chain.findIndex((s) => s.die === (p.instance!.die as Die));
  return i < 0 ? 0 : i;
}
