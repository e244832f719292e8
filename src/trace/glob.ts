// Glob matching as perf does it (tools/lib/string.c or tools/perf/util/string.c: strglobmatch,
// __match_glob, __match_charclass): `*` any run, `?` one character, `[abc]`, `[a-z]`, `[!x]` classes
// (the first character of a class is literal, so `[]]` matches `]`), `\` makes the next character plain.
// An unterminated class or a descending range matches nothing. Used by perf's event filters
// (`del`, `list`, `enable`, `run -e`) and string filters (`funcs`, src/trace/perf-probe/strfilter.ts).

/**
 * A whole-string matcher for `pattern`. Without classes and escapes a glob is the regular expression it
 * spells (`*` any run, `?` one character, the rest literal), which V8 matches natively: `ktrace funcs`
 * filters ~60,000 names with it, where the interpreted matcher took ~5 ms of a cold process.
 */
export function globMatcher(pattern: string): (s: string) => boolean {
  if (!/[[\\]/.test(pattern)) {
    const re = new RegExp('^' + pattern.replace(/[.+^${}()|\]\\/]/g, '\\$&').replace(/\*+/g, '.*').replace(/\?/g, '.') + '$', 's');
    return (s) => re.test(s);
  }
  return perfGlobMatcher(pattern);
}

/** perf's own matcher (__match_glob) for `pattern`: the reference, and what patterns with classes or escapes use. */
export function perfGlobMatcher(pattern: string): (s: string) => boolean {
  return (s) => matchGlob(s, 0, pattern, 0);
}

/** __match_glob: does str[si..] match pat[pi..]? */
function matchGlob(str: string, si: number, pat: string, pi: number): boolean {
  while (si < str.length && pi < pat.length && pat[pi] !== '*') {
    if (pat[pi] === '?') { si++; pi++; continue; }
    if (pat[pi] === '[') {
      const next = matchClass(pat, pi + 1, str[si]!);
      if (next < 0) return false;
      si++; pi = next;
      continue;
    }
    if (pat[pi] === '\\') pi++;
    if (pi >= pat.length || str[si++] !== pat[pi++]) return false;
  }
  if (pat[pi] === '*') {
    while (pat[pi] === '*') pi++;
    if (pi >= pat.length) return true; // a tail wild card matches all
    for (; si < str.length; si++) if (matchGlob(str, si, pat, pi)) return true;
  }
  return si >= str.length && pi >= pat.length;
}

/** __match_charclass: the index after the class's `]` when `c` matches the class at pat[p..], else -1. */
function matchClass(pat: string, p: number, c: string): number {
  let complement = false, hit = true;
  if (pat[p] === '!') { complement = true; p++; }
  if (p >= pat.length) return -1;
  if (pat[p++] !== c) {
    hit = false;
    while (p < pat.length && pat[p] !== ']') {
      if (pat[p] === '-' && p + 1 < pat.length && pat[p + 1] !== ']') { // a range
        const lo = pat[p - 1]!, hi = pat[p + 1]!;
        if (lo <= c && c <= hi) { hit = true; break; }
        if (lo > hi) return -1;
        p += 2;
      } else if (pat[p++] === c) { hit = true; break; }
    }
    if (!hit && p >= pat.length) return -1;
  }
  while (p < pat.length && pat[p] !== ']') p++; // the closing bracket
  if (p >= pat.length) return -1;
  return complement !== hit ? p + 1 : -1;
}
