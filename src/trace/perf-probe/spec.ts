// perf probe's probe definition with debuginfo (tools/perf/Documentation/perf-probe.txt "PROBE SYNTAX",
// probe-event.c parse_perf_probe_point / parse_perf_probe_arg):
//   [[GROUP:]EVENT=]FUNC[@SRC][:RLN|+OFFS|%return|;PTN] [ARG ...]
//   [[GROUP:]EVENT=]SRC:ALN [ARG ...]      [[GROUP:]EVENT=]SRC;PTN [ARG ...]
//   ARG: [NAME=]VAR[->FIELD|.FIELD|[N]]...[:TYPE] | $params | $vars | $retval | kernel fetch args
// Pure: text in, a typed description out; expected failures are values, with the caret position in the
// spec's words joined by single spaces. The one parser of perf specs: the debuginfo path (compile.ts) and
// the one without (src/trace/perf-probe.ts) both read specs through it.

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

/** `pos`: where the caret goes in the spec's words joined by single spaces (syntax errors only). */
export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string; pos?: number };

/** perf's default event group (probe-event.c PERFPROBE_GROUP). */
export const DEFAULT_GROUP = 'probe';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** A function name as perf takes it: a C identifier, with compiler-clone suffixes (`foo.cold`, `bar.isra.0`). */
const FUNC_NAME = /^[A-Za-z_][A-Za-z0-9_.]*$/;

export function isCVarName(s: string): boolean { return /^[A-Za-z_]/.test(s); }

/** Parses a spec given as words (or one string with spaces). A failure's reason is one visible line. */
export function parseProbeSpec(words: readonly string[]): Parsed<ProbeSpec> {
  const r = parseSpecWords(words);
  return r.ok ? r : { ...r, reason: visibleMessage(r.reason) };
}

function parseSpecWords(words: readonly string[]): Parsed<ProbeSpec> {
  const all = words.flatMap((w) => w.trim().split(/\s+/)).filter((w) => w !== '');
  if (all.length === 0) return { ok: false, reason: 'no probe point given', pos: 0 };
  let head = all[0]!, at = 0;
  let group: string | undefined, event: string | undefined;
  // EVENT= only before the point: a '=' inside a lazy pattern belongs to the pattern.
  const semi = head.indexOf(';');
  const eq = head.indexOf('=');
  if (eq >= 0 && (semi < 0 || eq < semi)) {
    const lhs = head.slice(0, eq);
    const colon = lhs.indexOf(':');
    if (colon >= 0) group = lhs.slice(0, colon);
    event = lhs.slice(colon + 1);
    if (group !== undefined && !IDENT.test(group)) return { ok: false, reason: `invalid group name '${group}'`, pos: 0 };
    if (!IDENT.test(event)) return { ok: false, reason: `invalid event name '${event}': must follow the rules of C identifiers`, pos: colon + 1 };
    head = head.slice(eq + 1);
    at = eq + 1;
  }
  const point = parsePoint(head, at);
  if (!point.ok) return point;
  const args: ProbeArg[] = [];
  let pos = all[0]!.length + 1;
  for (const a of all.slice(1)) {
    const p = parseArg(a);
    if (!p.ok) return { ...p, pos };
    args.push(p.value);
    pos += a.length + 1;
  }
  return { ok: true, value: { ...(group !== undefined ? { group } : {}), ...(event !== undefined ? { event } : {}), point: point.value, args } };
}

/** The probe point; `at` is its position in the joined words (for the caret). */
function parsePoint(text: string, at: number): Parsed<ProbePoint> {
  let rest = text, lazy: string | undefined;
  const semi = rest.indexOf(';');
  if (semi >= 0) { lazy = rest.slice(semi + 1); rest = rest.slice(0, semi); if (!lazy) return { ok: false, reason: 'empty lazy pattern after ;', pos: at + semi + 1 }; }
  let retprobe = false, offset = 0, line: number | undefined;
  const ret = rest.indexOf('%return');
  if (ret >= 0) {
    if (rest.slice(ret) !== '%return') return { ok: false, reason: `unexpected '${rest.slice(ret + 7)}' after %return`, pos: at + ret + 7 };
    retprobe = true; rest = rest.slice(0, ret);
  }
  const plus = rest.indexOf('+');
  if (plus >= 0) {
    const o = /^(0x[0-9a-fA-F]+|[0-9]+)$/.exec(rest.slice(plus + 1));
    if (!o) return { ok: false, reason: `an offset (decimal or 0x hex) was expected after '+' in '${text}'`, pos: at + plus + 1 };
    offset = Number(o[1]); rest = rest.slice(0, plus);
    if (!Number.isSafeInteger(offset) || offset > 0xffffffff) return { ok: false, reason: `offset out of range in '${text}'`, pos: at + plus + 1 };
  }
  const colon = rest.indexOf(':');
  if (colon >= 0) {
    const l = /^[0-9]+$/.exec(rest.slice(colon + 1));
    if (!l) return { ok: false, reason: `a line number was expected after ':' in '${text}'`, pos: at + colon + 1 };
    line = Number(l[0]); rest = rest.slice(0, colon);
  }
  let fn: string | undefined, file: string | undefined;
  const atSign = rest.indexOf('@');
  if (atSign >= 0) { fn = rest.slice(0, atSign); file = rest.slice(atSign + 1); if (!file) return { ok: false, reason: `a source file was expected after '@' in '${text}'`, pos: at + atSign + 1 }; }
  // parse_perf_probe_point: a file spec has no '+', '@' or '%', and a '.' before its ':' or ';'.
  else if ((line !== undefined || lazy !== undefined) && !offset && !retprobe && /[./]/.test(rest)) file = rest;
  else fn = rest;
  if (fn !== undefined && atSign < 0 && !offset && !retprobe && /[/]|\.[chsS]$/.test(fn)) return { ok: false, reason: `a source file needs :LINE or ;PATTERN ('${text}')`, pos: at };
  if (fn !== undefined && !FUNC_NAME.test(fn)) {
    if (atSign < 0 && fn.includes('/')) return { ok: false, reason: `a source file needs :LINE or ;PATTERN ('${text}')`, pos: at };
    const ident = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(fn);
    if (!ident) return { ok: false, reason: `'${fn}' is not a function name`, pos: at };
    return { ok: false, reason: `unexpected '${fn.slice(ident[0].length)}' after the function name (expected +OFFS or %return)`, pos: at + ident[0].length };
  }
  if (fn === undefined && line === undefined && lazy === undefined) return { ok: false, reason: `a source file needs :LINE or ;PATTERN ('${text}')`, pos: at };
  if ((offset && (line !== undefined || lazy !== undefined)) || (line !== undefined && lazy !== undefined)) return { ok: false, reason: `+OFFS, :LINE and ;PATTERN exclude each other ('${text}')`, pos: at };
  if (retprobe && (line !== undefined || lazy !== undefined || fn === undefined)) return { ok: false, reason: `%return needs a function entry ('${text}')`, pos: at };
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
