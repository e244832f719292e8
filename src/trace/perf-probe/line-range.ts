// perf probe -L's line ranges (tools/perf/util/probe-event.c parse_line_range_desc, show_line_range and
// __show_one_line: "%7d  " before a probe-able line, 9 spaces before others; numbers relative to the
// function's declaration line for FUNC, absolute for FILE) and probe-finder.c's line walk (find_line_range;
// dwarf-aux.c die_walk_lines: is_stmt rows only; inside a function, rows of inlined code count only as the
// call line; declaration lines and inlined call sites are probe-able). `ktrace line` prints lineRangeText.
import type { Dwarf } from '../../dwarf/index.js';
import { functionRows, isReversible, pathMatches } from './lines.js';
import { perfFunctionMatches } from './find.js';
import { probePointAt } from './point.js';

/** perf's NR_ADDITIONAL_LINES: context shown after the last probe-able line of an open-ended range. */
const NR_ADDITIONAL_LINES = 2;
const INT_MAX = 0x7fffffff;

/** a + b as perf's int sums them for a line range, where an overflow (a negative sum) becomes INT_MAX. */
const int32Sum = (a: number, b: number) => { const s = (a + b) | 0; return s < 0 ? INT_MAX : s; };

export interface LineRangeSpec {
  readonly function?: string;
  readonly file?: string;
  /** Relative to the function's declaration line for FUNC, absolute for FILE. */
  readonly start: number;
  readonly end: number;
}

/** Parses perf's line range syntax: FUNC[@FILE][:START[-END|+NUM]] or FILE[:START[-END|+NUM]]. */
export function parseLineRange(text: string): { ok: true; spec: LineRangeSpec } | { ok: false; reason: string } {
  const m = /^([^:@]+)(?:@([^:]+))?(?::(\d+)(?:([-+])(\d+))?)?$/.exec(text.trim());
  if (!m) return { ok: false, reason: `bad line range '${text}' (FUNC[@FILE][:START[-END|+NUM]] or FILE[:START[-END|+NUM]])` };
  const name = m[1]!, start = m[3] !== undefined ? Number(m[3]) : 0;
  let end = INT_MAX;
  if (m[4] === '-') end = Number(m[5]);
  else if (m[4] === '+') end = start + Number(m[5]) - 1; // NUM lines from START
  if (end < start) return { ok: false, reason: `start line must be smaller than end line in '${text}'` };
  // perf tells files from functions by the '.' (or '/') a file name has.
  const isFile = /[./]/.test(name);
  if (isFile && m[2] !== undefined) return { ok: false, reason: `bad line range '${text}': FILE@FILE` };
  const spec: LineRangeSpec = isFile ? { file: name, start, end } : { function: name, start, end, ...(m[2] !== undefined ? { file: m[2] } : {}) };
  return { ok: true, spec };
}

export interface LineRange {
  readonly path: string;
  /** Lines shown: [start, end] absolute; `offset` is subtracted when printing. */
  readonly start: number;
  readonly end: number;
  readonly offset: number;
  readonly lines: readonly number[];
  readonly function?: string;
}

/** The probe-able lines of a range (probe-finder.c find_line_range). */
export function findLineRange(d: Dwarf, spec: LineRangeSpec, opts: { fileKnown?: (path: string) => void; /** perf's map lookup by name (funcs.ts mapSymbolLookup), for the alternative range. */ symbol?: (name: string) => number | undefined } = {}): LineRange | { error: string } {
  if (spec.function !== undefined) {
    const matches = perfFunctionMatches(d, spec.function, spec.file);
    if (matches.length === 0) {
      // perf retries at the probe point of the symbol's address (get_alternative_line_range): a function
      // and a line in it, or a file's line outside every function; the range keeps its length.
      const at = spec.file === undefined ? opts.symbol?.(spec.function) : undefined;
      const alt = at !== undefined && at !== 0 ? probePointAt(d, at) : undefined;
      if (alt && alt.function !== spec.function && (alt.function !== undefined || alt.file !== undefined)) {
        const start = alt.line + spec.start, end = spec.end === INT_MAX ? INT_MAX : start + spec.end - spec.start;
        const next: LineRangeSpec = alt.function !== undefined ? { function: alt.function, ...(alt.file !== undefined ? { file: alt.file } : {}), start, end } : { file: alt.file!, start, end };
        return findLineRange(d, next, { ...opts, symbol: undefined });
      }
      return { error: `Failed to find the function '${spec.function}' in the debug info` };
    }
    const first = matches[0]!;
    if (!first.declFile || first.declLine === undefined) return { error: `${spec.function} has no declaration line in the debug info` };
    // The source is needed to show the lines: perf looks for it before walking them (a missing file fails fast).
    opts.fileKnown?.(first.declFile);
    // debuginfo__find_line_range: unit by unit until one has lines. Each unit's match sets the range
    // anew from the range the last one left (line_range_search_cb stores lno_s/lno_e back into lr->start
    // and lr->end): a later unit's range starts past the sum of the earlier declaration lines.
    let start = spec.start, end = spec.end;
    for (const m of matches) {
      if (!m.declFile || m.declLine === undefined) continue;
      const file = m.declFile, offset = m.declLine;
      const lo = int32Sum(offset, start), hi = int32Sum(offset, end);
      start = lo; end = hi;
      // An abstract definition with no instance in its unit: die_walk_instances' -ENOENT ends the search.
      if (m.instances.length === 0) break;
      const set = new Set<number>();
      for (const f of m.instances) {
        for (const r of functionRows(d, f)) if (r.path === file && r.line >= lo && r.line <= hi && isReversible(d, r.address, r.path, r.line, f)) set.add(r.line);
      }
      if (set.size) return { path: file, start: lo, end: hi, offset, lines: [...set].sort((a, b) => a - b), function: spec.function };
    }
    return { error: 'Source line is not found.' };
  }
  const want = spec.file!;
  const byPath = new Map<string, Set<number>>();
  const add = (p: string | undefined, l: number | undefined) => {
    if (p === undefined || l === undefined || l < spec.start || l > spec.end || !pathMatches(p, want)) return;
    let s = byPath.get(p);
    if (!s) byPath.set(p, (s = new Set()));
    s.add(l);
  };
  for (const e of d.lineRows(want.replace(/^(\.\/)+/, ''), spec.start, spec.end)) {
    if (e.row.isStmt && isReversible(d, e.row.address, e.path, e.row.line)) add(e.path, e.row.line);
  }
  // Declaration and call lines of the functions of the units that have the file (their line tables list
  // it): the same lines as walking every function of the kernel, without decoding every unit.
  const fns = d.unitsWithFile((p) => pathMatches(p, want)).flatMap((u) => d.unitFunctions(u));
  for (const f of fns) {
    if (f.kind === 'function') { if (f.declFile !== undefined && f.declLine !== undefined && isReversible(d, f.entryPc, f.declFile, f.declLine)) add(f.declFile, f.declLine); }
    else if (f.callFile !== undefined && f.callLine !== undefined && isReversible(d, f.entryPc, f.callFile, f.callLine)) add(f.callFile, f.callLine);
  }
  if (byPath.size === 0) return { error: 'Source line is not found.' };
  if (byPath.size > 1) return { error: `'${want}' matches several source files: ${[...byPath.keys()].join(', ')}` };
  const [path, set] = [...byPath][0]!;
  return { path, start: spec.start, end: spec.end, offset: 0, lines: [...set].sort((a, b) => a - b) };
}

/** The text perf probe -L prints for a range (show_line_range). */
export function formatLineRange(lr: LineRange, source: readonly string[], displayPath: string): string {
  const out: string[] = [];
  out.push(lr.function !== undefined ? `<${lr.function}@${displayPath}:${lr.start - lr.offset}>` : `<${displayPath}:${lr.start}>`);
  const marked = new Set(lr.lines);
  const last = lr.lines[lr.lines.length - 1]!;
  const end = lr.end === INT_MAX ? last + 1 + NR_ADDITIONAL_LINES : lr.end;
  for (let l = Math.max(lr.start, 1); l <= end && l <= source.length; l++) {
    const text = source[l - 1]!;
    out.push(marked.has(l) ? `${String(l - lr.offset).padStart(7)}  ${text}` : `         ${text}`);
  }
  return out.join('\n') + '\n';
}

/**
 * What perf probe -L prints for RANGE: the text, or the reason it fails (`usage`: the range itself is
 * malformed). `readSource` gives a DWARF path's lines (it may throw, e.g. a file not found); `display`
 * how the path is shown in the header.
 */
export function lineRangeText(d: Dwarf, text: string, readSource: (p: string) => readonly string[], display: (p: string) => string,
  symbol?: (name: string) => number | undefined): { ok: true; text: string } | { ok: false; reason: string; usage?: true } {
  const p = parseLineRange(text);
  if (!p.ok) return { ok: false, reason: p.reason, usage: true };
  let early: { path: string; lines: readonly string[] } | undefined;
  const lr = findLineRange(d, p.spec, { fileKnown: (path) => { early = { path, lines: readSource(path) }; }, ...(symbol ? { symbol } : {}) });
  if ('error' in lr) return { ok: false, reason: lr.error };
  const src = early && early.path === lr.path ? early.lines : readSource(lr.path);
  if (lr.lines[0]! > src.length) return { ok: false, reason: `source file ${display(lr.path)} has only ${src.length} lines: is it the one the kernel was built from?` };
  return { ok: true, text: formatLineRange(lr, src, display(lr.path)) };
}
