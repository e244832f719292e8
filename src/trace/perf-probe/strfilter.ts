// perf's string filters (tools/perf/util/strfilter.c): globs combined with `!`, `&`, `|` and
// parentheses, e.g. `!_* & !*.*` (the default of `perf probe --funcs`). Globs match as perf's
// strglobmatch does (src/trace/glob.ts).
import { globMatcher } from '../glob.js';

export type StrFilter = (s: string) => boolean;

/** Parses a filter; returns an error message for a malformed one. */
export function parseStrFilter(text: string): { ok: true; filter: StrFilter } | { ok: false; reason: string } {
  const toks = text.match(/\s*([!&|()]|[^!&|()\s]+)/g)?.map((t) => t.trim()) ?? [];
  let pos = 0;
  const peek = () => toks[pos];
  function or(): StrFilter {
    let l = and();
    while (peek() === '|') { pos++; const a = l, b = and(); l = (s) => a(s) || b(s); }
    return l;
  }
  function and(): StrFilter {
    let l = not();
    while (peek() === '&') { pos++; const a = l, b = not(); l = (s) => a(s) && b(s); }
    return l;
  }
  function not(): StrFilter {
    if (peek() === '!') { pos++; const f = not(); return (s) => !f(s); }
    return atom();
  }
  function atom(): StrFilter {
    const t = toks[pos++];
    if (t === '(') {
      const f = or();
      if (toks[pos++] !== ')') throw new Error('missing )');
      return f;
    }
    if (t === undefined || '&|)'.includes(t)) throw new Error(t === undefined ? 'unexpected end' : `unexpected '${t}'`);
    return globMatcher(t);
  }
  try {
    if (toks.length === 0) return { ok: false, reason: 'empty filter' };
    const f = or();
    if (pos !== toks.length) throw new Error(`unexpected '${toks[pos]}'`);
    return { ok: true, filter: f };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
}

/**
 * perf probe's DEFAULT_FUNC_FILTER (6.1, builtin-probe.c): hide names starting with `_` and PLT entries.
 * Compiler clones (`foo.cold`, `foo.constprop.0`) and `.L`-less local labels (`.slowpath`) are listed:
 * perf 6.1 lists them on Debian's vmlinux (test/trace/perf-probe/perf-oracle-real.test.ts).
 */
export const DEFAULT_FUNC_FILTER = '!_* & !*@plt';
