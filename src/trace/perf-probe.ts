// perf-probe's probe definition syntax (tools/perf/Documentation/perf-probe.txt, "PROBE SYNTAX" and
// "PROBE ARGUMENT"), compiled to a kprobe_events line the way `perf probe -D` does it when there is
// no debuginfo to resolve variables (tools/perf/util/probe-event.c parse_perf_probe_point,
// parse_perf_probe_arg, synthesize_probe_trace_command):
//   [[GROUP:]EVENT=]FUNC[+OFFS|%return] [ARG ...]
//   ARG: [NAME=]%REG|@SYM[+-OFFS]|$retval|$comm|$argN|$stackN|$stack|+|-OFFS(ARG)|\IMM [:TYPE]
// The default group is "probe"; the default event name is the function's (".", "-" → "_"), with
// "__return" for a return probe (given names too). Pure: no kernel state; name clashes are
// resolved by the caller with eventName().

import { visibleMessage } from '../visible.js';

export const PERF_DEFAULT_GROUP = 'probe';

export interface PerfProbe {
  group: string;
  /** Given with EVENT= (or GROUP:EVENT=)? Otherwise derived from the function. */
  event: string;
  eventGiven: boolean;
  func: string;
  offset: number;
  ret: boolean;
  /** Arguments in kprobe_events syntax (already so: perf's are a subset without debuginfo). */
  args: string[];
}

/** A syntax error at a position of the spec text (the caret goes under `pos`). */
export interface SpecError { ok: false; message: string; text: string; pos: number }

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The event name perf gives a probe (probe-event.c get_new_event_name): the given name or the
 * function's (cut at a '.' suffix such as .isra, only C identifier characters surviving), with
 * "__return" added for a return probe; an offset does not change it.
 */
export function baseEventName(p: { func: string; offset: number; ret: boolean; event?: string; eventGiven?: boolean }): string {
  let name = p.eventGiven && p.event ? p.event : p.func.replace(/^\./, '').replace(/\..*$/, '').replace(/[^A-Za-z0-9_]/g, '_');
  if (p.ret) name += '__return';
  return name;
}

/** perf probe's duplicate handling: NAME, or with `force` the first free NAME_1, NAME_2, ... */
export function eventName(base: string, taken: (name: string) => boolean, force: boolean): string | undefined {
  if (!taken(base)) return base;
  if (!force) return undefined;
  for (let i = 1; i < 1000; i++) if (!taken(`${base}_${i}`)) return `${base}_${i}`;
  return undefined;
}

/**
 * Parses the probe point (first word) and its arguments. `words` are the command-line words after
 * `add`; the spec may also be one string with spaces (`'vfs_read fd=%di'`).
 */
export function parsePerfProbe(words: readonly string[]): { ok: true; probe: PerfProbe } | SpecError {
  const r = parsePerfWords(words);
  return r.ok ? r : { ...r, message: visibleMessage(r.message) };
}

function parsePerfWords(words: readonly string[]): { ok: true; probe: PerfProbe } | SpecError {
  const all = words.flatMap((w) => w.trim().split(/\s+/)).filter((w) => w !== '');
  const text = all.join(' ');
  const point = all[0];
  if (point === undefined) return { ok: false, message: 'no probe point given', text, pos: 0 };
  let rest = point, at = 0;
  let group = PERF_DEFAULT_GROUP, event = '', eventGiven = false;
  const eq = rest.indexOf('=');
  if (eq >= 0) {
    const lhs = rest.slice(0, eq);
    const colon = lhs.indexOf(':');
    if (colon >= 0) {
      group = lhs.slice(0, colon);
      if (!IDENT.test(group)) return { ok: false, message: `invalid group name '${group}'`, text, pos: 0 };
    }
    event = lhs.slice(colon + 1);
    if (!IDENT.test(event)) return { ok: false, message: `invalid event name '${event}': must follow the rules of C identifiers`, text, pos: colon + 1 };
    eventGiven = true;
    rest = rest.slice(eq + 1);
    at = eq + 1;
  }
  const m = /^([A-Za-z_][A-Za-z0-9_.]*)(.*)$/.exec(rest);
  if (!m) return { ok: false, message: 'a function name was expected', text, pos: at };
  const func = m[1]!;
  let suffix = m[2]!, offset = 0, ret = false;
  const sufAt = at + func.length;
  if (suffix.startsWith('%return')) {
    ret = true;
    suffix = suffix.slice(7);
    if (suffix) return { ok: false, message: `unexpected '${suffix}' after %return`, text, pos: sufAt + 7 };
  } else if (suffix.startsWith('+')) {
    const o = /^\+(0x[0-9a-fA-F]+|[0-9]+)$/.exec(suffix);
    if (!o) return { ok: false, message: 'an offset (decimal or 0x hex) was expected after +', text, pos: sufAt + 1 };
    offset = Number(o[1]);
    if (!Number.isSafeInteger(offset) || offset > 0xffffffff) return { ok: false, message: 'offset out of range', text, pos: sufAt + 1 };
  } else if (suffix.startsWith('@') || suffix.startsWith(':') || suffix.startsWith(';')) {
    return { ok: false, message: `'${suffix[0]}' (source files, lines, lazy patterns) needs perf's debuginfo support, which ktrace add does not have yet: use FUNC or FUNC+OFFS`, text, pos: sufAt };
  } else if (suffix) {
    return { ok: false, message: `unexpected '${suffix}' after the function name (expected +OFFS or %return)`, text, pos: sufAt };
  }
  const args: string[] = [];
  let pos = point.length + 1;
  for (const a of all.slice(1)) {
    const bad = checkArg(a);
    if (bad !== undefined) return { ok: false, message: bad.message, text, pos: pos + bad.at };
    args.push(a);
    pos += a.length + 1;
  }
  event = baseEventName({ func, offset, ret, event, eventGiven });
  return { ok: true, probe: { group, event, eventGiven, func, offset, ret, args } };
}

/**
 * Arguments perf passes through to the kernel unchanged without debuginfo. A bare identifier is a
 * variable name, which needs DWARF: refused with a hint (the kernel parser checks everything else).
 */
function checkArg(a: string): { message: string; at: number } | undefined {
  const eq = a.indexOf('=');
  const value = eq >= 0 && /^[A-Za-z_][A-Za-z0-9_]*$/.test(a.slice(0, eq)) ? a.slice(eq + 1) : a;
  const at = a.length - value.length;
  const head = value.split(':')[0]!;
  if (/^[A-Za-z_]/.test(head)) {
    return { at, message: `'${head}' is a variable name, which needs debuginfo that ktrace add does not resolve yet: use %REG, $argN, @SYM or +OFFS(...) (see \`ktrace fs cat README\`)` };
  }
  return undefined;
}

/** The kprobe_events line (perf probe -D): "p:probe/vfs_read vfs_read+0 fd=%di". */
export function kprobeEventsLine(p: PerfProbe): string {
  const head = `${p.ret ? 'r' : 'p'}:${p.group}/${p.event} ${p.func}+${p.offset}`;
  return [head, ...p.args].join(' ');
}

/** Is this a raw kprobe_events line rather than a perf-probe spec? */
export function isRawKprobeLine(spec: string): boolean {
  return /^(?:[pr][0-9]*[: ]|-:)/.test(spec.trimStart());
}
