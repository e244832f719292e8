// Probe events as perf probe handles them on a session (the probe-event commands add, del, list,
// enable, disable, run -e/-a and the TUI share them): event patterns, the perf-style listing of a
// defined probe, and adding a spec or its compiled lines to the session with the kernel's error_log
// message and a caret on failure.
import type { ProbeDef } from '../kprobe-events/probe.js';
import { globMatcher } from '../glob.js';

/**
 * perf probe's event filter: "GROUP:EVENT" globs, or "EVENT" alone for any group (perf accepts
 * GROUP/EVENT too, as the kernel spells it).
 */
export function eventMatcher(pattern: string): (group: string, event: string) => boolean {
  const sep = pattern.search(/[:/]/);
  const g = sep >= 0 ? globMatcher(pattern.slice(0, sep)) : () => true;
  const e = globMatcher(sep >= 0 ? pattern.slice(sep + 1) : pattern);
  return (group, event) => g(group) && e(event);
}

export interface ProbeListing {
  group: string;
  event: string;
  /** The probe point as perf shows it: "vfs_read", "vfs_read+16", "vfs_read%return", "0xffffffff8100..." */
  place: string;
  /** Arguments as shown after "with": names, or NAME=FETCHARG. */
  args: string[];
}

/** How perf shows a defined probe: the place ("vfs_read+16", "vfs_read%return") and its args. */
export function listing(p: ProbeDef): ProbeListing {
  let place: string;
  if (p.symbol === undefined) place = `0x${(p.addr ?? 0n).toString(16)}`;
  else place = p.symbol + (p.offset ? `+${p.offset}` : '');
  if (p.type === 'r') place += '%return';
  const args = p.args.map((a, i) => (a.name === `arg${i + 1}` ? a.comm : `${a.name}=${a.comm}`));
  return { group: p.group, event: p.event, place, args };
}

import type { TraceSession } from './session.js';
import { isRawKprobeLine, kprobeEventsLine, parsePerfProbe, eventName } from '../perf-probe.js';
import { strerror } from '../../base/errno.js';
import { visibleColumns, visibleText } from '../../visible.js';

/** A spec (or kprobe_events command) with a caret under column `pos`, indented like error_log. */
export function caretLines(text: string, pos: number, indent = '  '): string {
  return `${indent}${text}\n${indent}${' '.repeat(Math.max(0, pos))}^\n`;
}

export type AddResult =
  | { ok: true; line: string; added: ProbeListing[] }
  | { ok: false; message: string };

/** The kprobe_events line a spec compiles to (perf probe -D), or a syntax error with a caret. */
export function compileSpec(words: readonly string[], taken: (group: string, event: string) => boolean, force: boolean): AddResult {
  const joined = words.join(' ');
  if (isRawKprobeLine(joined)) return { ok: true, line: joined.trim(), added: [] };
  const r = parsePerfProbe(words);
  if (!r.ok) return { ok: false, message: `${visibleText(r.message)}\n${caretLines(visibleColumns(r.text), r.pos)}` };
  const p = r.probe;
  const base = p.event;
  const name = eventName(base, (e) => taken(p.group, e), force);
  if (name === undefined) {
    return { ok: false, message: `event "${p.group}:${base}" already exists.\n  Hint: remove it with \`ktrace del ${p.group}:${base}\`, or add a duplicate with -f (force).` };
  }
  return { ok: true, line: kprobeEventsLine({ ...p, event: name }), added: [] };
}

/**
 * Adds one probe (perf spec or raw kprobe_events line) to a session. On failure the message is
 * the kernel's error_log entry for it, with the command and a caret.
 */
export function addProbe(session: TraceSession, words: readonly string[], force: boolean): AddResult {
  const ev = session.events;
  const taken = (g: string, e: string) => ev.events().some((x) => x.group === g && x.event === e);
  const c = compileSpec(words, taken, force);
  if (!c.ok) return c;
  const before = new Set(ev.probes);
  const logged = ev.errorLog.entries.length;
  const errorsBefore = ev.errorLog.entries[logged - 1];
  const rc = ev.write(c.line + '\n');
  if (rc < 0) {
    const last = ev.errorLog.entries[ev.errorLog.entries.length - 1];
    // register_kprobe's refusal: the errno, as the failed write returns it, and the kprobe layer's reason (`ktrace why`).
    // The input is shown back with its invisible characters made visible (the caret's column kept).
    const why = session.backend.refusal?.reason;
    if (last && last !== errorsBefore) {
      const detail = why && last.code === 'FAIL_REG_PROBE' ? `: ${strerror(rc)}: ${why}` : '';
      return { ok: false, message: `${last.message}${detail}
${caretLines(visibleColumns(last.command), last.pos)}` };
    }
    return { ok: false, message: `${visibleText(c.line)}: ${strerror(rc)}${why ? `: ${why}` : ''}` };
  }
  const added = ev.probes.filter((p) => !before.has(p)).map(listing);
  return { ok: true, line: c.line, added };
}

/**
 * Adds the kprobe_events lines a perf spec compiled to (perf probe's debuginfo path), stopping at the
 * first the kernel refuses. The caller keeps all or nothing of the events; the session holds the
 * refused line's error_log entry either way.
 */
export function addLines(session: TraceSession, lines: readonly string[], force: boolean): AddResult {
  const added: ProbeListing[] = [];
  for (const line of lines) {
    const res = addProbe(session, [line], force);
    if (!res.ok) return res;
    added.push(...res.added);
  }
  return { ok: true, line: lines.join('\n'), added };
}
