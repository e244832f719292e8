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
import { DEFAULT_GROUP, isCVarName, parseProbeSpec } from './perf-probe/spec.js';

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
 * A perf spec as perf probe takes it without debuginfo: parsed by the one perf-spec parser
 * (perf-probe/spec.ts), then held to what needs no DWARF: FUNC[+OFFS|%return] and arguments the kernel
 * takes as they are. `words` are the command-line words after `add`; the spec may also be one string
 * with spaces (`'vfs_read fd=%di'`).
 */
export function parsePerfProbe(words: readonly string[]): { ok: true; probe: PerfProbe } | SpecError {
  const r = parsePerfWords(words);
  return r.ok ? r : { ...r, message: visibleMessage(r.message) };
}

function parsePerfWords(words: readonly string[]): { ok: true; probe: PerfProbe } | SpecError {
  const all = words.flatMap((w) => w.trim().split(/\s+/)).filter((w) => w !== '');
  const text = all.join(' ');
  const parsed = parseProbeSpec(words);
  if (!parsed.ok) return { ok: false, message: parsed.reason, text, pos: parsed.pos ?? 0 };
  const spec = parsed.value, pp = spec.point;
  const point = all[0]!;
  if (pp.function === undefined || pp.file !== undefined || pp.line !== undefined || pp.lazy !== undefined) {
    const head = point.slice(point.indexOf('=') + 1);
    const at = point.length - head.length + Math.max(0, head.search(/[@:;]/));
    const what = head[head.search(/[@:;]/)] ?? '@';
    return { ok: false, message: `'${what}' (source files, lines, lazy patterns) needs perf's debuginfo support, which ktrace add does not have yet: use FUNC or FUNC+OFFS`, text, pos: at };
  }
  const args: string[] = [];
  let pos = point.length + 1;
  for (const a of spec.args) {
    // A bare identifier is a variable name, which needs DWARF: refused with a hint (the kernel parser checks everything else).
    if (isCVarName(a.var)) {
      const at = a.name !== undefined ? a.name.length + 1 : 0;
      return { ok: false, message: `'${a.text.slice(at).split(':')[0]}' is a variable name, which needs debuginfo that ktrace add does not resolve yet: use %REG, $argN, @SYM or +OFFS(...) (see \`ktrace fs cat README\`)`, text, pos: pos + at };
    }
    args.push(a.text);
    pos += a.text.length + 1;
  }
  const func = pp.function, offset = pp.offset, ret = pp.retprobe;
  const eventGiven = spec.event !== undefined;
  const event = baseEventName({ func, offset, ret, event: spec.event ?? '', eventGiven });
  return { ok: true, probe: { group: spec.group ?? DEFAULT_GROUP, event, eventGiven, func, offset, ret, args } };
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
