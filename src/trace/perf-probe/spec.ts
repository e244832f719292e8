// perf probe's probe definition with debuginfo (tools/perf/Documentation/perf-probe.txt "PROBE SYNTAX",
// probe-event.c parse_perf_probe_point / parse_perf_probe_arg):
//   [[GROUP:]EVENT=]FUNC[@SRC][:RLN|+OFFS|%return|;PTN] [ARG ...]
//   [[GROUP:]EVENT=]SRC:ALN [ARG ...]      [[GROUP:]EVENT=]SRC;PTN [ARG ...]
//   ARG: [NAME=]VAR[->FIELD|.FIELD|[N]]...[:TYPE] | $params | $vars | $retval | kernel fetch args
// Pure: text in, a typed description out; expected failures are values.

import { visibleMessage } from '../../visible.js';

export interface ProbePoint {
  readonly function?: string;
  readonly file?: string;
  /** Line relative to the function (FUNC:RLN) or absolute (SRC:ALN). */
  readonly line?: number;
  readonly offset: number;
  readonly retprobe: boolean;
  /** Lazy line pattern (FUNC;PTN), a glob matched against source lines. */
  readonly lazy?: string;
}

export type Field = { readonly kind: 'arrow' | 'dot'; readonly name: string } | { readonly kind: 'index'; readonly index: number };

export interface ProbeArg {
  /** As written. */
  readonly text: string;
  readonly name?: string;
  /** A C variable name, or a raw kernel fetch argument / special ($params, $vars, $retval, %reg...). */
  readonly var: string;
  readonly fields: readonly Field[];
  readonly type?: string;
}

export interface ProbeSpec {
  readonly group?: string;
  readonly event?: string;
  readonly point: ProbePoint;
  readonly args: readonly ProbeArg[];
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function isCVarName(s: string): boolean { return /^[A-Za-z_]/.test(s); }

/** Parses a spec given as words (or one string with spaces). A failure's reason is one visible line. */
export function parseProbeSpec(words: readonly string[]): Parsed<ProbeSpec> {
  const r = parseSpecWords(words);
  return r.ok ? r : { ok: false, reason: visibleMessage(r.reason) };
}

function parseSpecWords(words: readonly string[]): Parsed<ProbeSpec> {
  const all = words.flatMap((w) => w.trim().split(/\s+/)).filter((w) => w !== '');
  if (all.length === 0) return { ok: false, reason: 'no probe point given' };
  let head = all[0]!;
  let group: string | undefined, event: string | undefined;
  // EVENT= only before the point: a '=' inside a lazy pattern belongs to the pattern.
  const semi = head.indexOf(';');
  const eq = head.indexOf('=');
  if (eq >= 0 && (semi < 0 || eq < semi)) {
    const lhs = head.slice(0, eq);
    const colon = lhs.indexOf(':');
    if (colon >= 0) group = lhs.slice(0, colon);
    event = lhs.slice(colon + 1);
    if (group !== undefined && !IDENT.test(group)) return { ok: false, reason: `invalid group name '${group}'` };
    if (!IDENT.test(event)) return { ok: false, reason: `invalid event name '${event}': must follow the rules of C identifiers` };
    head = head.slice(eq + 1);
  }
  const point = parsePoint(head);
  if (!point.ok) return point;
  const args: ProbeArg[] = [];
  for (const a of all.slice(1)) {
    const p = parseArg(a);
    if (!p.ok) return p;
    args.push(p.value);
  }
  return { ok: true, value: { ...(group !== undefined ? { group } : {}), ...(event !== undefined ? { event } : {}), point: point.value, args } };
}

function parsePoint(text: string): Parsed<ProbePoint> {
  let rest = text, lazy: string | undefined;
  const semi = rest.indexOf(';');
  if (semi >= 0) { lazy = rest.slice(semi + 1); rest = rest.slice(0, semi); if (!lazy) return { ok: false, reason: 'empty lazy pattern after ;' }; }
  let retprobe = false, offset = 0, line: number | undefined;
  const ret = rest.indexOf('%return');
  if (ret >= 0) {
    if (rest.slice(ret) !== '%return') return { ok: false, reason: `unexpected '${rest.slice(ret + 7)}' after %return` };
    retprobe = true; rest = rest.slice(0, ret);
  }
  const plus = rest.indexOf('+');
  if (plus >= 0) {
    const o = /^(0x[0-9a-fA-F]+|[0-9]+)$/.exec(rest.slice(plus + 1));
    if (!o) return { ok: false, reason: `an offset (decimal or 0x hex) was expected after '+' in '${text}'` };
    offset = Number(o[1]); rest = rest.slice(0, plus);
  }
  const colon = rest.indexOf(':');
  if (colon >= 0) {
    const l = /^[0-9]+$/.exec(rest.slice(colon + 1));
    if (!l) return { ok: false, reason: `a line number was expected after ':' in '${text}'` };
    line = Number(l[0]); rest = rest.slice(0, colon);
  }
  let fn: string | undefined, file: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) { fn = rest.slice(0, at); file = rest.slice(at + 1); if (!file) return { ok: false, reason: `a source file was expected after '@' in '${text}'` }; }
  else if (/[./]/.test(rest)) file = rest; // perf: a name with '.' or '/' is a source file
  else fn = rest;
  if (fn !== undefined && !IDENT.test(fn)) return { ok: false, reason: `'${fn}' is not a function name` };
  if (fn === undefined && line === undefined && lazy === undefined) return { ok: false, reason: `a source file needs :LINE or ;PATTERN ('${text}')` };
  if ((offset && (line !== undefined || lazy !== undefined)) || (line !== undefined && lazy !== undefined)) return { ok: false, reason: `+OFFS, :LINE and ;PATTERN exclude each other ('${text}')` };
  if (retprobe && (line !== undefined || lazy !== undefined || fn === undefined)) return { ok: false, reason: `%return needs a function entry ('${text}')` };
  return { ok: true, value: { ...(fn !== undefined ? { function: fn } : {}), ...(file !== undefined ? { file } : {}), ...(line !== undefined ? { line } : {}), offset, retprobe, ...(lazy !== undefined ? { lazy } : {}) } };
}

/** One argument: [NAME=]EXPR[:TYPE]. A failure's reason is one visible line. */
export function parseProbeArg(text: string): Parsed<ProbeArg> {
  const r = parseArg(text);
  return r.ok ? r : { ok: false, reason: visibleMessage(r.reason) };
}

function parseArg(text: string): Parsed<ProbeArg> {
  let s = text, name: string | undefined, type: string | undefined;
  const eq = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(s);
  if (eq) { name = eq[1]; s = s.slice(eq[0].length); }
  // The type follows the last ':' (not inside brackets).
  const colon = s.lastIndexOf(':');
  if (colon >= 0 && !s.slice(colon).includes(']') && !s.slice(colon).includes(')')) { type = s.slice(colon + 1); s = s.slice(0, colon); if (!type) return { ok: false, reason: `empty type in '${text}'` }; }
  if (!s) return { ok: false, reason: `empty argument '${text}'` };
  const base = { text, ...(name !== undefined ? { name } : {}), ...(type !== undefined ? { type } : {}) };
  if (!isCVarName(s)) return { ok: true, value: { ...base, var: s, fields: [] } };
  const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s)!;
  const fields: Field[] = [];
  let rest = s.slice(m[0].length);
  while (rest) {
    let f: RegExpExecArray | null;
    if ((f = /^->([A-Za-z_][A-Za-z0-9_]*)/.exec(rest))) fields.push({ kind: 'arrow', name: f[1]! });
    else if ((f = /^\.([A-Za-z_][A-Za-z0-9_]*)/.exec(rest))) fields.push({ kind: 'dot', name: f[1]! });
    else if ((f = /^\[([0-9]+)\]/.exec(rest))) fields.push({ kind: 'index', index: Number(f[1]) });
    else return { ok: false, reason: `bad field reference '${rest}' in '${text}' (expected ->FIELD, .FIELD or [N])` };
    rest = rest.slice(f[0].length);
  }
  return { ok: true, value: { ...base, var: m[0], fields } };
}

/** perf's description of a probe point (probe-event.c synthesize_perf_probe_point). */
export function formatProbePoint(pp: ProbePoint): string {
  let s = '';
  if (pp.function !== undefined) {
    s = pp.function;
    if (pp.offset) s += `+${pp.offset}`;
    else if (pp.line !== undefined) s += `:${pp.line}`;
    else if (pp.retprobe) s += '%return';
  }
  if (pp.file !== undefined) {
    let f = pp.file;
    if (f.length > 30) { const cut = f.indexOf('/', f.length - 30); f = cut >= 0 ? f.slice(cut + 1) : f.slice(f.length - 30); }
    s += `@${f}`;
    if (pp.function === undefined && pp.line !== undefined) s += `:${pp.line}`;
  }
  // (perf leaves a lazy pattern out.)
  return s;
}
