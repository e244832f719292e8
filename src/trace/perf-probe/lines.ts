// The source lines of a function as perf walks them (tools/perf/util/dwarf-aux.c die_walk_lines on a
// subprogram): is_stmt rows inside the function's ranges; a row inside inlined code counts only when it is
// the inlined call's own call line; plus the declaration line at the entry and the call line of each
// directly inlined call at its entry.
import { DW_TAG, type Dwarf, type Die, type FunctionInstance } from '../../dwarf/index.js';

export interface FunctionRow {
  readonly address: number;
  readonly path: string;
  readonly line: number;
}

export function functionRows(d: Dwarf, f: FunctionInstance): FunctionRow[] {
  const out: FunctionRow[] = [];
  if (f.declFile !== undefined && f.declLine !== undefined) out.push({ address: f.entryPc, path: f.declFile, line: f.declLine });
  for (const c of directInlines(d, f.die)) {
    const fi = d.functionInstance(c);
    if (fi && fi.callFile !== undefined && fi.callLine !== undefined) out.push({ address: fi.entryPc, path: fi.callFile, line: fi.callLine });
  }
  const lp = d.lineProgram(f.die.unit);
  if (!lp) return out;
  let prevLine = -1, prevFile = -1;
  for (const row of lp.rows()) {
    if (row.endSequence) { prevLine = -1; prevFile = -1; continue; }
    const starts = row.line !== prevLine || row.file !== prevFile;
    prevLine = row.line; prevFile = row.file;
    if (!row.isStmt || !starts || !inRanges(f.ranges, row.address)) continue;
    const path = lp.filePath(row.file);
    const chain = d.scopeAt(row.address);
    const at = chain.findIndex((s) => s.die === f.die);
    const top = at >= 0 ? chain.slice(at + 1).find((s) => s.kind === 'inline') : undefined;
    if (top) {
      const fi = d.functionInstance(top.die);
      if (!fi || fi.callFile !== path || fi.callLine !== row.line) continue;
    }
    out.push({ address: row.address, path, line: row.line });
  }
  return out;
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

/** perf's lazy matching (util/string.c strlazymatch): a glob where white space is ignored on both sides. */
export function lazyMatch(pattern: string, text: string): boolean {
  const p = pattern.replace(/\s+/g, ''), t = text.replace(/\s+/g, '');
  let re = '^';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') { const j = p.indexOf(']', i + 1); if (j < 0) re += '\\['; else { re += '[' + p.slice(i + 1, j).replace(/^!/, '^').replace(/\\/g, '\\\\') + ']'; i = j; } }
    else if (c === '\\' && i + 1 < p.length) { re += p[i + 1]!.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'); i++; }
    else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(re + '$').test(t);
}
