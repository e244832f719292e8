// The kprobe_events file as a whole: the ordered probe list, writes (create, append, delete,
// truncate), reads, enable state and error_log entries, following trace_kprobe.c
// (trace_kprobe_create_internal → register_trace_kprobe → __register_trace_kprobe) and
// trace_dynevent.c. The kprobes themselves live behind KprobeBackend, so this stays pure logic:
// the caller plugs in the kprobe layer (register/enable) and the emulated clock.
import { ErrorLog } from './error-log.js';
import { type ProbeError } from './errors.js';
import { resolveProbeSymbols } from './eval.js';
import { parseKprobeCommand, type ProbeDef } from './probe.js';
import { applyDelete, checkRegister, registrationError, releaseAll } from './register.js';
import type { SymbolResolver } from './resolver.js';
import { showKprobeEvents } from './show.js';
import { writeCommands } from './write.js';
import { ENOENT } from '../../base/errno.js';

export interface KprobeBackend {
  /**
   * register_kprobe / register_kretprobe for a probe whose @SYM arguments are resolved. The kprobe
   * starts disabled (KPROBE_FLAG_DISABLED) unless `enabled`. 0 or a negative errno (-EILSEQ: not an
   * instruction boundary, -ENOENT: no such symbol, -EINVAL: not probeable, ...).
   */
  register(probe: ProbeDef, enabled: boolean): number;
  /** unregister_kprobe / unregister_kretprobe. */
  unregister(probe: ProbeDef): void;
  /** enable_kprobe / disable_kprobe (or the kretprobe forms). 0 or a negative errno. */
  setEnabled(probe: ProbeDef, on: boolean): number;
  /** Why the last register() failed, when the kprobe layer says more than the errno (errno positive). */
  readonly refusal?: { errno: number; reason: string } | undefined;
}

export interface KprobeEventsOptions {
  resolver: SymbolResolver;
  backend: KprobeBackend;
  /** local_clock() for error_log timestamps (emulated time, ns). */
  now(): bigint;
  errorLog?: ErrorLog;
  /** A non-kprobe trace event with this group/name exists (EVENT_EXIST). */
  otherEventExists?(group: string, event: string): boolean;
  /** Is this module loaded? (a probe on a missing module's symbol waits for it, unregistered) */
  hasModule?(name: string): boolean;
  /**
   * Is the event armed in soft mode by a trigger? (__ftrace_event_enable_disable with soft_disable sets
   * EVENT_FILE_FL_ENABLED, so probe_remove_event_call refuses its removal with -EBUSY as for an enabled one.)
   */
  softEnabled?(group: string, event: string): boolean;
  /**
   * The trace buffer is to be emptied: a write removed an event that was ever enabled
   * (probe_remove_event_call sets tr->clear_trace for EVENT_FILE_FL_WAS_ENABLED, and the write
   * ends in tracing_reset_all_online_cpus).
   */
  onClearTrace?(): void;
}

const key = (group: string, event: string) => `${group}/${event}`;

export class KprobeEvents {
  readonly errorLog: ErrorLog;
  private list: ProbeDef[] = [];
  private readonly enabledEvents = new Set<string>();
  /** Events that were ever enabled (EVENT_FILE_FL_WAS_ENABLED: set on enable, never cleared while the event exists). */
  private readonly wasEnabledEvents = new Set<string>();
  /** tr->clear_trace: an event removed by the current write was ever enabled. */
  private clearTrace = false;
  /** Probes the kprobe layer accepted (a missing module's probe is defined but not registered). */
  private readonly registered = new Set<ProbeDef>();

  constructor(private readonly opts: KprobeEventsOptions) {
    this.errorLog = opts.errorLog ?? new ErrorLog();
  }

  /** Defined probes, in kprobe_events order (several may share one event). */
  get probes(): readonly ProbeDef[] {
    return this.list;
  }

  /** The events (group/event), in order of first definition. */
  events(): { group: string; event: string; probes: ProbeDef[] }[] {
    const out = new Map<string, { group: string; event: string; probes: ProbeDef[] }>();
    for (const p of this.list) {
      const k = key(p.group, p.event);
      if (!out.has(k)) out.set(k, { group: p.group, event: p.event, probes: [] });
      out.get(k)!.probes.push(p);
    }
    return [...out.values()];
  }

  isEnabled(group: string, event: string): boolean {
    return this.enabledEvents.has(key(group, event));
  }

  /** Is the event file enabled, for real or in a trigger's soft mode (its removal is -EBUSY)? */
  private busy(group: string, event: string): boolean {
    return this.isEnabled(group, event) || (this.opts.softEnabled?.(group, event) ?? false);
  }

  /** Was the event ever enabled (or armed in soft mode for a trigger) since it was created? */
  wasEnabled(group: string, event: string): boolean {
    return this.wasEnabledEvents.has(key(group, event));
  }

  /**
   * Mark an event as once enabled: restoring a stored session, or a trigger attached (its soft
   * mode enables the event file, __ftrace_event_enable_disable with soft_disable, setting WAS_ENABLED too).
   */
  markWasEnabled(group: string, event: string): void {
    if (this.list.some((p) => p.group === group && p.event === event)) this.wasEnabledEvents.add(key(group, event));
  }

  isRegistered(p: ProbeDef): boolean {
    return this.registered.has(p);
  }

  /** Reading kprobe_events. */
  read(): string {
    return showKprobeEvents(this.list);
  }

  /**
   * A write(2) of `text` (trace_parse_run_command); `truncate` is opening with O_TRUNC first
   * (`>` rather than `>>`). Returns the byte count or a negative errno; lines before a failing one
   * stay applied, as in the kernel.
   */
  write(text: string, truncate = false): number {
    try {
      if (truncate) {
        const r = releaseAll(this.list, (g, e) => this.busy(g, e));
        if (r.errno) return r.errno;
        const before = this.list;
        for (const p of before) this.dropProbe(p);
        this.list = [];
        this.eventsRemoved(before);
      }
      for (const step of writeCommands(text)) {
        if (!step.ok) return step.errno;
        const rc = this.command(step.line);
        if (rc) return rc;
      }
      return Buffer.byteLength(text);
    } finally {
      // dyn_event_release / dyn_events_release_all end in tracing_reset_all_online_cpus, whatever the result.
      if (this.clearTrace) { this.clearTrace = false; this.opts.onClearTrace?.(); }
    }
  }

  /** The events of `before` that no probe defines any more are gone (trace_remove_event_call): clear_trace if one was ever enabled. */
  private eventsRemoved(before: readonly ProbeDef[]): void {
    for (const p of before) {
      const k = key(p.group, p.event);
      if (this.list.some((q) => q.group === p.group && q.event === p.event)) continue;
      if (this.wasEnabledEvents.delete(k)) this.clearTrace = true;
    }
  }

  /** One command line (create_or_delete_trace_kprobe): 0 or a negative errno. */
  command(line: string): number {
    const r = parseKprobeCommand(line, this.opts.hasModule ? { ...this.opts.resolver, hasModule: this.opts.hasModule } : this.opts.resolver);
    if (!r.ok) return this.fail(r.errno, r.log);
    const c = r.command;
    if (c.kind === 'none') return 0;
    if (c.kind === 'delete') {
      const before = this.list;
      const d = applyDelete(before, c.spec, (g, e) => this.busy(g, e));
      for (const p of before) if (!d.remaining.includes(p)) this.dropProbe(p);
      this.list = d.remaining;
      this.eventsRemoved(before);
      return d.errno;
    }
    return this.create(c.probe);
  }

  /** Enable or disable an event (events/GROUP/EVENT/enable): every probe of it. */
  setEnabled(group: string, event: string, on: boolean): number {
    const k = key(group, event);
    const probes = this.list.filter((p) => p.group === group && p.event === event);
    if (probes.length === 0) return -ENOENT;
    if (this.enabledEvents.has(k) === on) return 0;
    const done: ProbeDef[] = [];
    for (const p of probes) {
      if (!this.registered.has(p)) continue; // a gone probe is skipped (trace_kprobe_has_gone)
      const rc = this.opts.backend.setEnabled(p, on);
      if (rc && on) {
        // Failed to enable one of them: roll back all (enable_trace_kprobe).
        for (const q of done) this.opts.backend.setEnabled(q, false);
        return rc;
      }
      done.push(p);
    }
    if (on) { this.enabledEvents.add(k); this.wasEnabledEvents.add(k); } else this.enabledEvents.delete(k);
    return 0;
  }

  private fail(errno: number, log: readonly ProbeError[]): number {
    const t = this.opts.now();
    for (const e of log) this.errorLog.add(e, t);
    return errno;
  }

  private dropProbe(p: ProbeDef): void {
    if (this.registered.delete(p)) this.opts.backend.unregister(p);
    if (!this.list.some((o) => o !== p && o.group === p.group && o.event === p.event)) this.enabledEvents.delete(key(p.group, p.event));
  }

  private create(parsed: ProbeDef): number {
    const d = checkRegister(this.list, parsed, this.opts.otherEventExists);
    if (!d.ok) return this.fail(d.errno, [d.err]);
    // __register_trace_kprobe: resolve @SYM arguments, then register the kprobe.
    let rc: number;
    let probe = parsed;
    const res = resolveProbeSymbols(parsed, this.opts.resolver);
    if (!res.ok) rc = res.errno;
    else if (probe.symbol !== undefined && this.moduleMissing(probe.symbol)) rc = -ENOENT; // kallsyms has no MOD:SYM yet
    else {
      probe = res.probe;
      rc = this.opts.backend.register(probe, d.kind === 'append' && this.isEnabled(probe.group, probe.event));
    }
    if (rc === -ENOENT && probe.symbol !== undefined && this.moduleMissing(probe.symbol)) {
      // "This probe might be able to register after target module is loaded. Continue."
      this.list.push(probe);
      return 0;
    }
    if (rc) {
      const err = registrationError(probe, rc);
      return this.fail(rc, err ? [err] : []);
    }
    this.registered.add(probe);
    this.list.push(probe);
    return 0;
  }

  /** trace_kprobe_module_exist is false: "MOD:SYM" whose module is not loaded. */
  private moduleMissing(symbol: string): boolean {
    const c = symbol.indexOf(':');
    return c >= 0 && !(this.opts.hasModule?.(symbol.slice(0, c)) ?? false);
  }
}
