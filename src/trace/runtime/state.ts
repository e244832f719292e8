// The persistent part of the emulated tracefs, as plain JSON-able data: what a real kernel keeps
// between two `echo ... >> kprobe_events` (event definitions, enable flags, the kprobes/enabled knob,
// kprobe_profile counters, the trace ring buffer, error_log). The CLI stores it in its state
// directory; this layer only converts between it and live objects.
import type { LoggedError } from '../kprobe-events/error-log.js';
import type { StoredFilter, StoredTrigger } from '../triggers.js';

export interface StoredError { code: string; subsystem: string; message: string; command: string; pos: number; tsNs: string }

export interface TraceState {
  /** kprobe_events as the kernel prints it (canonical lines). */
  kprobeEvents: string;
  /** Enabled events, "group/event". */
  enabled: string[];
  /**
   * Events that were ever enabled (or armed for a trigger) since they were created, "group/event"
   * (EVENT_FILE_FL_WAS_ENABLED; absent in older state files: the enabled ones). Removing one empties the trace.
   */
  wasEnabled?: string[];
  /** /sys/kernel/debug/kprobes/enabled. */
  kprobesEnabled: boolean;
  /** /proc/sys/debug/kprobes-optimization (absent in older state files: on, the kernel's default). */
  kprobesOptimization?: boolean;
  /** kprobe_profile counters per probe, keyed by its kprobe_events line: [hits, misses]. */
  profile: Record<string, [number, number]>;
  /** Trace event ids ("group/event" → id), assigned once per event like the kernel's dynamic ids. */
  ids: Record<string, number>;
  /** The trace buffer's event lines (no header), and how many entries it holds / were ever written. */
  trace: string;
  traceEntries: number;
  traceWritten: number;
  /** error_log entries, oldest first. */
  errorLog: StoredError[];
  /** Emulated local_clock() of the last run's end: error_log timestamps between runs. */
  clockNs: string;
  /** CPUs of the last run (the trace header's #P). */
  cpus: number;
  /** events/GROUP/EVENT/filter per "group/event" (absent: none). */
  filters?: Record<string, StoredFilter>;
  /** events/GROUP/EVENT/trigger per "group/event", in the trigger file's order (hist data included). */
  triggers?: Record<string, StoredTrigger[]>;
  /** tracing_on (absent: on). */
  tracingOn?: boolean;
  /** options/sym-offset (absent: off, the kernel's default). */
  symOffset?: boolean;
  /**
   * Each event's generation, "group/event" → n: a new number whenever an event of that name is
   * created, so a run folds its counts only into the events it ran with, not into one deleted and
   * re-added meanwhile.
   */
  gens?: Record<string, number>;
  /** The next generation number. */
  nextGen?: number;
}

export function emptyTraceState(): TraceState {
  return { kprobeEvents: '', enabled: [], kprobesEnabled: true, profile: {}, ids: {}, trace: '', traceEntries: 0,
    traceWritten: 0, errorLog: [], clockNs: '0', cpus: 0 };
}

/** The first id the fixture kernel gives a dynamic event (after its static events, as __register_event does). */
export const FIRST_EVENT_ID = 1500;

/** The state with its trace buffer emptied (tracing_reset_online_cpus: entries and overruns reset). */
export function clearedTrace<T extends TraceState>(s: T): T {
  return { ...s, trace: '', traceEntries: 0, traceWritten: 0 };
}

/** Does a trigger arm this event (its soft mode: removing the event is -EBUSY until the trigger goes)? */
export function hasTriggers(s: Pick<TraceState, 'triggers'>, group: string, event: string): boolean {
  return (s.triggers?.[`${group}/${event}`]?.length ?? 0) > 0;
}

export function toStoredErrors(entries: readonly LoggedError[]): StoredError[] {
  return entries.map((e) => ({ code: e.code, subsystem: e.subsystem, message: e.message, command: e.command, pos: e.pos, tsNs: String(e.tsNs) }));
}

export function fromStoredErrors(entries: readonly StoredError[]): LoggedError[] {
  return entries.map((e) => ({ ...e, tsNs: BigInt(e.tsNs) }) as LoggedError);
}
