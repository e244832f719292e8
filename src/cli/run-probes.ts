// `ktrace run`'s probe side: choose the events (-e patterns, -a specs, else all defined), check they
// can run, register them on the platform through the attach hook, collect events, and fold the
// results back into the state directory (kprobe_profile counters, the trace buffer).
import type { Image } from '../elf/image.js';
import type { Platform } from '../kernel/platform.js';
import { probesOf, type ProbeDef } from '../trace/kprobe-events/probe.js';
import type { TraceEvent } from '../trace/runtime/probes.js';
import type { StateFile } from './state/store.js';
import type { Tracing, MachineSession } from './tracing.js';
import { CliError } from './errors.js';
import { BUFFER_SIZE_KB, cpuOfLine, TraceRing, traceEntries } from '../trace/runtime/ring.js';

export interface RunSelection {
  /** The state the run uses: the stored one plus -a events. */
  state: StateFile;
  /** Selected events, "group/event". */
  selected: string[];
  /** -a events that exist only for this run. */
  temporary: Set<string>;
  /** The stored events' generations when the run began ("group/event" → n). */
  gens: Record<string, number>;
  /** Every probe of the state the run uses (stored and -a). */
  probes: readonly ProbeDef[];
}

/** Resolves -e patterns and -a specs against the stored state (no machine yet). */
/**
 * A perf spec through the kernel's debug info (perf's path, as `ktrace add` takes it): its
 * kprobe_events lines, or undefined for a raw kprobe_events line or a kernel without debug info.
 */
export type SpecLines = (spec: string, taken: (group: string, event: string) => boolean) => string[] | undefined;

export async function selectEvents(t: Tracing, image: Image, stored: StateFile, patterns: string[], specs: string[], specLines?: SpecLines): Promise<RunSelection> {
  const { addProbe, addLines, compileSpec, eventMatcher } = await import('../trace/runtime/probe-events.js');
  const { showProbe } = await import('../trace/kprobe-events/show.js');
  const session = t.light(image, stored);
  for (const r of session.replayErrors) throw replayError(r);
  const ev = session.events;
  const storedKeys = new Set(ev.events().map((e) => `${e.group}/${e.event}`));
  const fromSpecs: string[] = [];
  for (const spec of specs) {
    // A spec identical to a defined event reuses it; otherwise it is added (with a _N suffix on a clash).
    const viaDwarf = specLines?.(spec, () => false);
    const c = viaDwarf ? undefined : compileSpec([spec], () => false, false);
    const lines = viaDwarf ?? (c?.ok ? [c.line] : undefined);
    if (lines?.length) {
      const probe = /^[pr][0-9]*:([^/\s]+)\/(\S+)/.exec(lines[0]!);
      const existing = probe ? ev.probes.filter((p) => p.group === probe[1] && p.event === probe[2]) : [];
      if (existing.length) {
        const trial = t.light(image, { ...stored, kprobeEvents: '', enabled: [] });
        if (lines.every((l) => trial.events.write(l + '\n') > 0) && trial.events.probes.map(showProbe).join() === existing.map(showProbe).join()) {
          fromSpecs.push(`${existing[0]!.group}/${existing[0]!.event}`);
          continue;
        }
      }
    }
    const taken = (g: string, e: string) => ev.events().some((x) => x.group === g && x.event === e);
    // The compile picks each event's first free name: when none of the names it picked with nothing taken
    // is taken, it picks the same ones again (no second pass through the DWARF)
    const free = viaDwarf?.every((l) => { const m = /^[pr][0-9]*:([^/\s]+)\/(\S+)/.exec(l); return m !== null && !taken(m[1]!, m[2]!); });
    const r = viaDwarf ? addLines(session, free ? viaDwarf : specLines!(spec, taken)!, true) : addProbe(session, [spec], true);
    if (!r.ok) throw new CliError(`run: -a ${spec}: ${r.message.replace(/\n$/, '')}`);
    for (const a of r.added) if (!fromSpecs.includes(`${a.group}/${a.event}`)) fromSpecs.push(`${a.group}/${a.event}`);
  }
  const all = ev.events().map((e) => `${e.group}/${e.event}`);
  // As in the kernel: the enabled events, plus -e matches and -a probes for this run.
  const ms = patterns.map(eventMatcher);
  const byPattern = ev.events().filter((e) => ms.some((m) => m(e.group, e.event))).map((e) => `${e.group}/${e.event}`);
  for (const p of patterns) {
    if (!ev.events().some((e) => eventMatcher(p)(e.group, e.event))) throw new CliError(`run: -e ${p}: no event matches (see \`ktrace list\`)`);
  }
  const enabled = new Set(stored.enabled);
  const selected = all.filter((k) => enabled.has(k) || byPattern.includes(k) || fromSpecs.includes(k));
  const temporary = new Set(all.filter((k) => !storedKeys.has(k)));
  const state = { ...stored, ...session.snapshot() };
  return { state, selected, temporary, probes: ev.probes, gens: Object.fromEntries(Object.entries(state.gens ?? {}).filter(([k]) => storedKeys.has(k))) };
}

/** A stored event the kernel refuses (saved before `add` checked what register_kprobe refuses), with why. */
function replayError(r: { line: string; errno: number; reason?: string }): CliError {
  return new CliError(`run: the stored event '${r.line}' cannot be registered on this kernel (${r.errno}${r.reason ? `: ${r.reason}` : ''}); remove it with \`ktrace del\``);
}

export interface ProbeRun {
  attach: (p: Platform) => void;
  /** Available once the platform is attached. */
  session(): MachineSession | undefined;
  events: TraceEvent[];
}

/** The attach hook: register the selection's events, enable exactly the selected ones. */
export function probeRun(t: Tracing, sel: RunSelection, onEvent: (e: TraceEvent) => void, keepEvents: boolean,
  stackOf?: (p: ProbeDef) => boolean): ProbeRun {
  let ms: MachineSession | undefined;
  const events: TraceEvent[] = [];
  const attach = t.attach({ ...sel.state, enabled: [] }, (m) => {
    ms = m;
    for (const r of m.session.replayErrors) throw replayError(r);
    for (const k of sel.selected) {
      const i = k.indexOf('/');
      const rc = m.session.events.setEnabled(k.slice(0, i), k.slice(i + 1), true);
      if (rc) throw new CliError(`run: cannot enable ${k.replace('/', ':')} (${rc})`);
    }
    // Only a session without the kretprobe layer leaves return probes unregistered: never silently.
    const r = m.runtime.returnProbes[0];
    if (r) throw new CliError(`run: ${r.group}:${r.event}: return probes need the kretprobe layer, which this session lacks`);
    m.runtime.onEvent = (e) => { if (keepEvents) events.push(e); onEvent(e); };
    m.runtime.stackOf = stackOf;
  });
  return { attach, session: () => ms, events };
}

/**
 * Is the stored event `key` still the one the run began with (its generation unchanged)? Without
 * generations (a state written before them) the kprobe_events line alone decides.
 */
export function sameGeneration(s: StateFile, gens: Record<string, number> | undefined, key: string): boolean {
  const then = gens?.[key], now = s.gens?.[key];
  return then === undefined || now === undefined || then === now;
}

/**
 * The stored events a run enabled (its selection) count as once enabled (EVENT_FILE_FL_WAS_ENABLED),
 * so removing one later empties the trace; only events that still exist.
 */
export function markEnabledOnce(s: StateFile, keys: readonly string[]): StateFile {
  const live = new Set(probesOf(s.kprobeEvents).map((p) => `${p.group}/${p.event}`));
  const add = keys.filter((k) => live.has(k));
  return add.length ? { ...s, wasEnabled: [...new Set([...(s.wasEnabled ?? []), ...add])] } : s;
}

/** Per-probe hits and misses of the run. */
export function probeCounts(ms: MachineSession): { probe: ProbeDef; hits: number; misses: number }[] {
  return ms.session.events.probes.filter((p) => ms.runtime.kprobes.has(p))
    .map((p) => ({ probe: p, hits: ms.runtime.hits.get(p) ?? 0, misses: ms.runtime.misses(p) }));
}

/**
 * Fold a run's counters and trace entries into the stored state (under the lock). The trace goes
 * into the stored ring buffer (per-CPU, buffer_size_kb each, the oldest overwritten): `lines` are
 * the run's entries in trace order, or the run's own ring (what it kept of them, and how many it
 * wrote).
 */
export function foldRun(s: StateFile, counts: { probe: ProbeDef; hits: number; misses: number }[], lines: readonly string[] | TraceRing,
  cpus: number, emulatedNs: number, showProbe: (p: ProbeDef) => string, gens?: Record<string, number>): StateFile {
  const profile = { ...s.profile };
  const stored = new Set(s.kprobeEvents.split('\n'));
  for (const c of counts) {
    const k = showProbe(c.probe);
    if (!stored.has(k)) continue; // a -a event of this run only
    if (!sameGeneration(s, gens, `${c.probe.group}/${c.probe.event}`)) continue; // deleted and re-added meanwhile
    const old = profile[k] ?? [0, 0];
    profile[k] = [old[0] + c.hits, old[1] + c.misses];
  }
  const run = Array.isArray(lines) ? lines as readonly string[] : (lines as TraceRing).lines();
  let kept = foldTrace(s.trace, run);
  if (!kept) {
    const ring = TraceRing.of(s.trace);
    for (const l of run) ring.push(l);
    kept = { text: ring.text(), entries: ring.entries };
  }
  const written = Array.isArray(lines) ? lines.length : (lines as TraceRing).written;
  const clock = BigInt(s.clockNs) + BigInt(emulatedNs);
  return { ...s, profile, trace: kept.text, traceEntries: kept.entries, traceWritten: s.traceWritten + written, cpus, clockNs: String(clock) };
}

/** String.prototype.isWellFormed (Node 20; not in the TypeScript library this project targets). */
const isWellFormed = (t: string): boolean => (t as unknown as { isWellFormed(): boolean }).isWellFormed();

/**
 * What a TraceRing holds after the stored trace's entries and then the run's were pushed (each CPU keeps
 * its newest entries within its buffer: the longest run of them, counted from the newest, whose bytes fit),
 * worked out on the strings: the ring's own way stores each entry as bytes and decodes it back, ~40 ms
 * for a 700 KB trace. Undefined when some text is not well-formed (bytes escaped by base/text.ts, which
 * the ring stores as themselves): the ring decides then.
 */
export function foldTrace(stored: string, run: readonly string[], bytesPerCpu = BUFFER_SIZE_KB * 1024): { text: string; entries: number } | undefined {
  if (!isWellFormed(stored) || !run.every(isWellFormed)) return undefined;
  const all = traceEntries(stored);
  for (const l of run) all.push(l);
  const used = new Map<number, number>();
  const keep = new Uint8Array(all.length);
  let entries = 0;
  for (let i = all.length - 1; i >= 0; i--) {
    const cpu = cpuOfLine(all[i]!), n = Buffer.byteLength(all[i]!);
    const u = used.get(cpu) ?? 0;
    if (u + n > bytesPerCpu) { used.set(cpu, Infinity); continue; } // this CPU's older entries are gone too
    used.set(cpu, u + n);
    keep[i] = 1;
    entries++;
  }
  let text = '';
  if (entries === all.length) text = stored + run.join('');
  else for (let i = 0; i < all.length; i++) if (keep[i]) text += all[i];
  return { text, entries };
}
