// perf's string filters (tools/perf/util/strfilter.c): globs combined with `!`, `&`, `|` and
// parentheses, e.g. `!_* & !*.*` (the default of `perf probe --funcs`).

export type StrFilter = (s: string) => boolean;

/** A shell glob (`*`, `?`, `[a-z]`, `[!x]`, `\` escapes) as a whole-string RegExp. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '\\' && i + 1 < glob.length) re += escape(glob[++i]!);
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) { re += '\\['; continue; }
      let body = glob.slice(i + 1, end);
      if (body.startsWith('!')) body = '^' + body.slice(1);
      re += '[' + body.replace(/\\/g, '\\\\') + ']';
      i = end;
    } else re += escape(c);
  }
  return new RegExp('^' + re + '$', 's');
}

function escape(c: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(c) ? '\\' + c : c;
}

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
    const re = globToRegExp(t);
    return (s) => re.test(s);
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
