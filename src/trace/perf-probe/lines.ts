// The source lines of a function or a unit as perf walks them (tools/perf/util/dwarf-aux.c
// die_walk_lines). On a function (-L, FUNC;PTN): is_stmt rows inside the function's ranges; a row inside
// inlined code counts only when it is the inlined call's own call line; then the declaration line at the
// entry and the call line of each directly inlined call at its entry. On a unit (SRC:LINE, SRC;PTN):
// every is_stmt row, then for each function of the unit its declaration line and, through every nested
// inlined call, the call line and the callee's declaration line at the call's entry.
import { DW_TAG, type Dwarf, type Die, type FunctionInstance, type Unit } from '../../dwarf/index.js';
import type { LineProgram } from '../../dwarf/line.js';

export interface FunctionRow {
  readonly address: number;
  readonly path: string;
  readonly line: number;
}

/**
 * In perf's walk order (dwarf-aux.c die_walk_lines on a function instance): the is_stmt rows inside
 * the instance, except rows of inlined code (the innermost inlined call there) unless the row is that
 * call's own line or the inlined function is this one again; then __die_walk_funclines (not
 * recursive): the declaration line at the entry (of an inlined copy too: the callers check that the
 * line reads back at that address, which at an inlined copy's entry it seldom does), and for each
 * inlined call directly inside, its call line at the call's entry.
 */
export function functionRows(d: Dwarf, f: FunctionInstance): FunctionRow[] {
  const out: FunctionRow[] = [];
  const entries: FunctionRow[] = [];
  if (f.declFile !== undefined && f.declLine !== undefined) entries.push({ address: f.entryPc, path: f.declFile, line: f.declLine });
  for (const c of directInlines(d, f.die)) {
    const fi = d.functionInstance(c, { empty: true });
    if (!fi) continue;
    if (fi.callFile !== undefined && fi.callLine) entries.push({ address: fi.entryPc, path: fi.callFile, line: fi.callLine });
  }
  const lp = d.lineProgram(f.die.unit);
  if (!lp) return entries;
  for (const row of lp.rows()) {
    if (row.endSequence || !row.isStmt || !inRanges(f.ranges, row.address)) continue;
    const path = lp.filePath(row.file);
    // A top-level function holding the row is where scopeAt's chain starts (a unit's top-level
    // functions do not overlap, as symbolAt): the chain from it, without sorting the unit's scopes.
    const chain = f.kind === 'function' && f.die.depth === 1 ? d.scopesFrom(f.die, row.address) : d.scopeAt(row.address);
    const at = chain.findIndex((s) => s.die === f.die);
    const inner = at >= 0 ? chain.slice(at + 1).reverse().find((s) => s.kind === 'inline') : undefined;
    if (inner) {
      const fi = d.functionInstance(inner.die);
      const ownCall = fi !== undefined && fi.callFile === f.declFile && fi.callLine === row.line;
      const itself = fi !== undefined && fi.declFile === f.declFile && fi.declLine === f.declLine;
      if (!ownCall && !itself) continue;
    }
    out.push({ address: row.address, path, line: row.line });
  }
  return [...out, ...entries];
}

/**
 * perf's walk of a whole unit (die_walk_lines on the CU): every is_stmt row in address order (as libdw
 * sorts them), then for each function of the unit in DIE order (dwarf_getfuncs, __die_walk_culines_cb)
 * its declaration line at its entry and, through all its descendants (recursive), each inlined call's
 * call line and the callee's declaration line at the call's entry.
 */
export function unitRows(d: Dwarf, u: Unit): FunctionRow[] {
  const lp = d.lineProgram(u);
  const root = u.root();
  if (!lp || !root) return [];
  const out: FunctionRow[] = [];
  for (const r of sortedRows(lp)) if (r.isStmt) out.push({ address: r.address, path: lp.filePath(r.file), line: r.line });
  const walk = (die: Die, depth: number) => {
    if (depth > 64) return;
    for (const c of d.children(die)) {
      if (c.tag === DW_TAG.inlined_subroutine) {
        const fi = d.functionInstance(c, { empty: true });
        if (fi && fi.callFile !== undefined && fi.callLine) {
          out.push({ address: fi.entryPc, path: fi.callFile, line: fi.callLine });
          if (fi.declFile !== undefined && fi.declLine !== undefined) out.push({ address: fi.entryPc, path: fi.declFile, line: fi.declLine });
        }
      }
      walk(c, depth + 1);
    }
  };
  for (const sp of d.children(root)) {
    if (sp.tag !== DW_TAG.subprogram) continue;
    const fi = d.functionInstance(sp);
    if (fi && fi.declFile !== undefined && fi.declLine !== undefined) out.push({ address: fi.entryPc, path: fi.declFile, line: fi.declLine });
    walk(sp, 0);
  }
  return out;
}

/** Does the unit's line table list the file (perf's cu_find_realpath found it there)? */
export function unitHasFile(d: Dwarf, u: Unit, path: string): boolean {
  const lp = d.lineProgram(u);
  if (!lp) return false;
  const n = lp.header.files.length;
  const first = lp.header.version >= 5 ? 0 : 1;
  for (let i = first; i < first + n; i++) if (lp.filePath(i) === path) return true;
  return false;
}

export function inRanges(rs: readonly { low: number; high: number }[], a: number): boolean {
  for (const r of rs) if (a >= r.low && a < r.high) return true;
  return false;
}

/** Inlined subroutines directly in a function (through lexical blocks, not into other inlined code). */
export function directInlines(d: Dwarf, fn: Die): Die[] {
  const out: Die[] = [];
  const walk = (die: Die, depth: number) => {
    if (depth > 64) return;
    for (const c of d.children(die)) {
      if (c.tag === DW_TAG.inlined_subroutine) out.push(c);
      else if (c.tag === DW_TAG.lexical_block) walk(c, depth + 1);
    }
  };
  walk(fn, 0);
  return out;
}

/** Does a DWARF path name the file the user wrote (equal, or a suffix at a '/' boundary)? */
export function pathMatches(path: string, want: string): boolean {
  const norm = (s: string) => s.replace(/^(\.\/)+/, '').replace(/\/(\.\/)+/g, '/');
  const p = norm(path), w = norm(want);
  return p === w || p.endsWith('/' + w);
}

/**
 * perf's lazy matching (util/string.c strlazymatch): a glob (`*`, `?`, `[...]` with ranges and `!`,
 * `\\` escapes) where white space is ignored on both sides. Matched as __match_glob does, but with
 * the last `*` backtracked to instead of recursing per star: time linear in the text per pattern
 * position, whatever the pattern (`*a*a*a...` or a thousand stars).
 */
export function lazyMatch(pattern: string, text: string): boolean {
  const p = pattern.replace(/\s+/g, ''), t = text.replace(/\s+/g, '');
  let pi = 0, ti = 0, starP = -1, starT = 0;
  while (ti < t.length) {
    if (p[pi] === '*') {
      while (p[pi] === '*') pi++;
      if (pi === p.length) return true; // a tail wildcard matches all
      starP = pi; starT = ti;
      continue;
    }
    const next = pi < p.length ? globAtom(p, pi, t[ti]!) : -1;
    if (next >= 0) { pi = next; ti++; continue; }
    if (starP < 0) return false;
    pi = starP; ti = ++starT;
  }
  while (p[pi] === '*') pi++;
  return pi === p.length;
}

/** Where the pattern goes on when its atom at `i` matches `c`; -1 when it does not. */
function globAtom(p: string, i: number, c: string): number {
  const a = p[i]!;
  if (a === '?') return i + 1;
  if (a === '[') return charClass(p, i + 1, c);
  if (a === '\\') return p[i + 1] === c ? i + 2 : -1;
  return a === c ? i + 1 : -1;
}

/** perf's __match_charclass from just after `[`: the index after `]` when `c` is in the class, else -1
 *  (a range in reverse order or a class without `]` match nothing). */
function charClass(p: string, i: number, c: string): number {
  let complement = false;
  if (p[i] === '!') { complement = true; i++; }
  if (i >= p.length) return -1;
  let matched = false;
  if (p[i++] === c) matched = true; // the first character is literal (`[]]`)
  else {
    while (i < p.length && p[i] !== ']') {
      if (p[i] === '-' && i + 1 < p.length && p[i + 1] !== ']') {
        if (p[i - 1]! <= c && c <= p[i + 1]!) { matched = true; break; }
        if (p[i - 1]! > p[i + 1]!) return -1;
        i += 2;
      } else if (p[i++] === c) { matched = true; break; }
    }
    if (!matched && i >= p.length) return -1;
  }
  while (i < p.length && p[i] !== ']') i++;
  if (i >= p.length) return -1;
  return complement !== matched ? i + 1 : -1;
}

interface SortedRow { readonly address: number; readonly isStmt: boolean; readonly line: number; readonly file: number }
const byAddress = new WeakMap<LineProgram, SortedRow[]>();

/** A unit's rows sorted by address (stable: rows at one address keep their order), as libdw keeps them. */
function sortedRows(lp: LineProgram): SortedRow[] {
  let rows = byAddress.get(lp);
  if (!rows) {
    rows = lp.rows().filter((r) => !r.endSequence).map((r) => ({ address: r.address, isStmt: r.isStmt, line: r.line, file: r.file }));
    rows.sort((a, b) => a.address - b.address);
    byAddress.set(lp, rows);
  }
  return rows;
}

/**
 * The line perf says an address is on (probe-finder.c cu_find_lineinfo): a real function's entry is
 * its declaration line; otherwise the first is_stmt row at the address (cu_getsrc_die). perf lists a
 * line (-L) or probes it (FUNC:RLN, SRC:LINE) only where this gives the line back ("reversible").
 */
export function reverseLine(d: Dwarf, addr: number, within?: FunctionInstance): { path: string; line: number } | undefined {
  // The top-level scope at addr: `within` itself when it is a top-level function holding addr (a unit's
  // top-level functions do not overlap, as symbolAt), without sorting every top-level scope of the unit.
  const own = within !== undefined && within.kind === 'function' && within.die.depth === 1 && inRanges(within.ranges, addr);
  const top = own ? { kind: 'function', die: within.die } : d.scopeAt(addr)[0];
  if (top && top.kind === 'function') {
    const fi = d.functionInstance(top.die);
    if (fi && fi.entryPc === addr && fi.declFile !== undefined && fi.declLine !== undefined) return { path: fi.declFile, line: fi.declLine };
  }
  // The unit holding addr: that function's own when it holds it (no address index needed: a cold query
  // would parse .debug_aranges for it).
  const u = own ? within.die.unit : d.unitAt(addr);
  const lp = u && d.lineProgram(u);
  if (!lp) return undefined;
  // The rows at addr (else the last below it) in libdw's address order: LineProgram.statementAt.
  const row = lp.statementAt(addr);
  return row && { path: lp.filePath(row.file), line: row.line };
}

/** Is `line` of `path` what perf reads back at `addr` (`within`: a function known to hold addr, as reverseLine)? */
export function isReversible(d: Dwarf, addr: number, path: string, line: number, within?: FunctionInstance): boolean {
  const r = reverseLine(d, addr, within);
  return r === undefined || (r.line === line && r.path === path);
}
