// A live tracefs session rebuilt from TraceState: kprobe_events replayed into KprobeEvents over a
// backend (the real kprobe layer for runs and the debugfs views; a check-only one for one-liners
// that must start fast), enable flags restored, error_log and counters carried, and the state
// produced again after changes.
import { ErrorLog } from '../kprobe-events/error-log.js';
import { KprobeEvents, type KprobeBackend } from '../kprobe-events/events.js';
import { showProbe } from '../kprobe-events/show.js';
import type { ProbeDef } from '../kprobe-events/probe.js';
import type { SymbolResolver } from '../kprobe-events/resolver.js';
import { clearedTrace, FIRST_EVENT_ID, hasTriggers, fromStoredErrors, toStoredErrors, type TraceState } from './state.js';

export const eventKey = (p: { group: string; event: string }) => `${p.group}/${p.event}`;

export interface SessionOptions {
  resolver: SymbolResolver;
  backend: KprobeBackend;
  /** Emulated local_clock for error_log entries (default: the state's clockNs). */
  now?: () => bigint;
}

/** A state's ever-enabled events (an older state file has no list: its enabled events then). */
export function wasEnabledOf(s: TraceState): string[] {
  return [...new Set([...(s.wasEnabled ?? []), ...s.enabled])];
}

export class TraceSession {
  readonly events: KprobeEvents;
  /** Probes of the stored kprobe_events that the backend refused on replay (with the errno). */
  readonly replayErrors: { line: string; errno: number; reason?: string }[] = [];
  state: TraceState;
  /** The kprobe layer behind kprobe_events (its `refusal` explains a failed registration). */
  readonly backend: KprobeBackend;
  /** Emulated local_clock for error_log entries. */
  readonly now: () => bigint;
  /** A write removed an event that was ever enabled, which emptied the trace buffer. */
  traceCleared = false;

  constructor(state: TraceState, opts: SessionOptions) {
    this.backend = opts.backend;
    this.state = { ...state, profile: { ...state.profile }, ids: { ...state.ids } };
    const clock = BigInt(state.clockNs);
    this.now = opts.now ?? (() => clock);
    this.events = new KprobeEvents({
      resolver: opts.resolver, backend: opts.backend, now: this.now,
      errorLog: new ErrorLog(fromStoredErrors(state.errorLog)),
      // Removing an event that was ever enabled empties the trace buffer (Linux 6.1, trace_events.c
      // probe_remove_event_call → tracing_reset_all_online_cpus). ktrace has one buffer, the top-level
      // instance's (no instances/), so the rule is the top-level one.
      // a trigger arms its event in soft mode: removing it is -EBUSY until the trigger goes
      softEnabled: (g, e) => hasTriggers(this.state, g, e),
      onClearTrace: () => { this.state = clearedTrace(this.state); this.traceCleared = true; },
    });
    for (const line of state.kprobeEvents.split('\n')) {
      if (!line) continue;
      const before = this.events.errorLog.entries.length;
      const rc = this.events.command(line);
      if (rc) {
        this.replayErrors.push({ line, errno: rc, ...(this.backend.refusal ? { reason: this.backend.refusal.reason } : {}) });
        // Replay is not a user write: keep error_log as it was stored.
        const kept = this.events.errorLog.entries.slice(0, before);
        this.events.errorLog.clear();
        for (const e of kept) this.events.errorLog.add(e, e.tsNs);
      }
    }
    for (const k of state.enabled) {
      const i = k.indexOf('/');
      this.events.setEnabled(k.slice(0, i), k.slice(i + 1), true);
    }
    for (const k of wasEnabledOf(state)) {
      const i = k.indexOf('/');
      this.events.markWasEnabled(k.slice(0, i), k.slice(i + 1));
    }
  }

  /** The id of an event (assigned on first sight, kept while the event exists). */
  eventId(group: string, event: string): number {
    const k = `${group}/${event}`;
    let id = this.state.ids[k];
    if (id === undefined) {
      id = Math.max(FIRST_EVENT_ID - 1, ...Object.values(this.state.ids)) + 1;
      this.state.ids[k] = id;
    }
    return id;
  }

  counters(p: ProbeDef): { hits: number; misses: number } {
    const c = this.state.profile[showProbe(p)];
    return { hits: c?.[0] ?? 0, misses: c?.[1] ?? 0 };
  }

  addCounts(p: ProbeDef, hits: number, misses: number): void {
    const k = showProbe(p);
    const c = this.state.profile[k] ?? [0, 0];
    this.state.profile[k] = [c[0] + hits, c[1] + misses];
  }

  /** The state after whatever was done to the live objects. */
  snapshot(): TraceState {
    const probes = this.events.probes;
    const lines = new Set(probes.map(showProbe));
    const live = new Set(this.events.events().map(eventKey));
    const profile: TraceState['profile'] = {};
    for (const [k, v] of Object.entries(this.state.profile)) if (lines.has(k)) profile[k] = v;
    const ids: TraceState['ids'] = {};
    for (const e of this.events.events()) ids[eventKey(e)] = this.eventId(e.group, e.event);
    const enabled = this.events.events().filter((e) => this.events.isEnabled(e.group, e.event)).map(eventKey);
    const wasEnabled = this.events.events().filter((e) => this.events.wasEnabled(e.group, e.event)).map(eventKey);
    // Generations: kept for live events, a new one for an event this session created; filters and
    // triggers go with their event.
    const gens: Record<string, number> = {};
    for (const k of live) {
      if (this.state.gens?.[k] === undefined) {
        const n = this.state.nextGen ?? 1;
        this.state = { ...this.state, gens: { ...this.state.gens, [k]: n }, nextGen: n + 1 };
      }
      gens[k] = this.state.gens![k]!;
    }
    const nextGen = this.state.nextGen ?? 1;
    const keep = <T>(r: Record<string, T> | undefined) => Object.fromEntries(Object.entries(r ?? {}).filter(([k]) => live.has(k)));
    // The trace buffer is left as it is, lines of events that are gone included, until it is cleared
    // (trace opened with O_TRUNC, or a kprobe_events write removing an event that was ever enabled:
    // onClearTrace above) or consumed (trace_pipe). A run's -a probes are not kprobe_events events:
    // they live in that run only, and their going at its end clears nothing.
    return {
      ...this.state,
      kprobeEvents: this.events.read(),
      enabled, wasEnabled, profile, ids, gens, nextGen,
      filters: keep(this.state.filters), triggers: keep(this.state.triggers),
      errorLog: toStoredErrors(this.events.errorLog.entries),
    };
  }
}
