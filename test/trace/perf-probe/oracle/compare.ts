// What the perf oracles (perf-oracle.test.ts on the fixture, perf-oracle-real.test.ts on Debian's
// vmlinux) share: a recorded perf case, ktrace's answer to it through the perf-probe modules, and the
// normalization that makes the two comparable.
import type { Dwarf } from '../../../../src/dwarf/index.js';
import type { DebugInfo } from '../../../../src/debuginfo/open.js';
import { compilePerfProbe } from '../../../../src/trace/perf-probe/compile.js';
import { availableVars, formatAvailableVars } from '../../../../src/trace/perf-probe/vars.js';
import { parseProbeSpec } from '../../../../src/trace/perf-probe/spec.js';
import { lineRangeText } from '../../../../src/trace/perf-probe/line-range.js';
import { functionRows, reverseLine } from '../../../../src/trace/perf-probe/lines.js';

/** `alternatives`: other answers perf gave for the same case on another run (its -L is not deterministic). */
export interface Case { mode: 'D' | 'V' | 'L'; spec: string; stdout: string; ok: boolean; alternatives?: string[]; crashed?: string }

export interface Sources {
  /** The source lines of a DWARF path, or undefined when the file is missing. */
  readSource: (p: string) => string[] | undefined;
  /** A function symbol's address (perf's fallback for a function without a body in the DWARF). */
  symbol: (name: string) => number | undefined;
  /** The ELF function symbol holding an address (how perf names probe addresses). */
  elfSymbol?: (addr: number) => { name: string; addr: number } | undefined;
  /** The function symbols named NAME (where perf puts return probes). */
  functionSymbols?: (name: string) => readonly number[];
  /** The first symbol named NAME in perf's kernel map (code labels too). */
  mapSymbol?: (name: string) => number | undefined;
}

export function ktraceOutput(info: DebugInfo, c: Case, s: Sources): { stdout: string; ok: boolean } {
  const d = info.dwarf;
  try {
    if (c.mode === 'D') {
      const r = compilePerfProbe(d, [c.spec], { readSource: s.readSource, taken: () => false, symbol: s.symbol, ...(s.elfSymbol ? { elfSymbol: s.elfSymbol } : {}), ...(s.functionSymbols ? { functionSymbols: s.functionSymbols } : {}), ...(s.mapSymbol ? { mapSymbol: s.mapSymbol } : {}) });
      return r.ok ? { stdout: r.value.map((e) => e.line + '\n').join(''), ok: true } : { stdout: '', ok: false };
    }
    if (c.mode === 'V') {
      const p = parseProbeSpec([c.spec]);
      if (!p.ok) return { stdout: '', ok: false };
      const av = availableVars(d, p.value.point, { readSource: s.readSource, symbol: s.symbol, ...(s.elfSymbol ? { elfSymbol: s.elfSymbol } : {}), ...(s.mapSymbol ? { mapSymbol: s.mapSymbol } : {}) });
      return av.ok ? { stdout: formatAvailableVars(av.value), ok: true } : { stdout: '', ok: false };
    }
    const r = lineRangeText(d, c.spec, (p) => s.readSource(p) ?? [], (p) => p, s.mapSymbol ?? s.symbol);
    return r.ok ? { stdout: r.text, ok: true } : { stdout: '', ok: false };
  } catch {
    return { stdout: '', ok: false };
  }
}

/**
 * perf -L names the file by the path it read (the -s directory + the DWARF path): compare the basename.
 * perf -V: perf 6.1 spells "(unknown_type)" what it cannot name: a pointer to void (at any depth) and
 * an anonymous struct, union or enum; perf since 6.7 (dwarf-aux.c die_get_typename: "void pointer has
 * no type attribute") and ktrace spell them "void*", "void**", "struct ". Both sides are respelled
 * "(unknown_type)"; the lines of a site are a sorted list, so they are sorted again after.
 */
export function normalize(d: Dwarf, c: Case, s: string): string {
  if (c.mode === 'L') {
    const undecided = undecidedLines(d, c.spec);
    return s.replace(/^<(?:([^@>]*)@)?[^>]*\/([^/>]+):(\d+)>$/m, '<$1@$2:$3>')
      .replace(/^ {0,6}(\d+)  /gm, (m, n: string) => (undecided.has(Number(n)) ? ' '.repeat(9) : m));
  }
  if (c.mode !== 'V') return s;
  const out: string[] = [];
  let vars: string[] = [];
  const flush = () => { out.push(...vars.sort()); vars = []; };
  for (const l of s.split('\n')) {
    if (l.startsWith('\t\t') && l !== '\t\t(No matched variables)') vars.push(l.replace(/^\t\t(?:void\*+|(?:struct|union|enum) )\t/, '\t\t(unknown_type)\t'));
    else { flush(); out.push(l); }
  }
  flush();
  return out.join('\n');
}

/**
 * -L lines perf 6.1 decides on stack garbage: line_range_walk_cb reads back a line's address with
 * cu_find_lineinfo into the uninitialized __lineno/__fname, which stay unset where no statement row
 * sits at the address (an inlined call's entry). perf then lists such a line on some runs and not on
 * others (seen for sock_put's sk_free call and pipe_read's pipe_copy_out call between two runs of
 * the generator); ktrace lists it (an unset answer does not refuse a line). For FUNC specs: the
 * relative numbers of lines that no walked address reads back as itself, and some address reads back
 * as nothing.
 */
export function undecidedLines(d: Dwarf, spec: string): Set<number> {
  const out = new Set<number>();
  if (!/^[A-Za-z_]\w*$/.test(spec)) return out;
  const decided = new Set<number>();
  for (const f of d.functionsByName(spec)) {
    if (f.declLine === undefined) continue;
    for (const r of functionRows(d, f)) {
      if (r.path !== f.declFile) continue;
      const back = reverseLine(d, r.address);
      if (back === undefined) out.add(r.line - f.declLine);
      else if (back.line === r.line && back.path === r.path) decided.add(r.line - f.declLine);
    }
  }
  for (const n of decided) out.delete(n);
  return out;
}

/** Does ktrace's answer agree with perf's (normalized; any of perf's alternative answers)? */
export function agrees(d: Dwarf, c: Case, k: { stdout: string; ok: boolean }): boolean {
  return k.ok === c.ok && (!c.ok || [c.stdout, ...c.alternatives ?? []].some((o) => normalize(d, c, k.stdout) === normalize(d, c, o)));
}

/** A difference, as the oracle tests print it. */
export function describe(c: Case, k: { stdout: string; ok: boolean }): string {
  const key = `${c.mode} ${c.spec}`;
  const body = `\n  perf:   ${c.stdout.trim().replace(/\n/g, '\n          ')}\n  ktrace: ${k.stdout.trim().replace(/\n/g, '\n          ')}`;
  return k.ok !== c.ok ? `${key}: perf ${c.ok ? 'succeeds' : 'fails'}, ktrace ${k.ok ? 'succeeds' : 'fails'}${body}` : `${key}:${body}`;
}
