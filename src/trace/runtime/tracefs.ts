// The tracefs (and kprobes debugfs) files of a TraceSession in the virtual file tree, as
// Documentation/trace/kprobetrace.rst describes them:
//   /sys/kernel/tracing/{kprobe_events, kprobe_profile, error_log, README, trace, events/enable,
//   events/GROUP/enable, events/GROUP/EVENT/{enable,format,id}}
//   /sys/kernel/debug/kprobes/{list, blacklist, enabled} and /proc/sys/debug/kprobes-optimization
//   when a KprobeManager is given.
// The events/ subtree follows kprobe_events: it is rebuilt after each write there.
import type { Kprobe, KprobeManager } from '../../kprobe/kprobes.js';
import { renderOptimizationSysctl, writeOptimizationSysctl } from '../../kprobe/optimizer.js';
import { renderKprobeBlacklist, renderKprobeList, renderKprobesEnabled, writeKprobesEnabled, KPROBES_DEBUGFS } from '../../kprobe/debugfs.js';
import { traceHeader, eventFormat } from '../kprobe-events/format.js';
import { README } from '../kprobe-events/readme.js';
import { showKprobeProfile } from '../kprobe-events/show.js';
import { type Result, type Vfs } from '../vfs.js';
import type { TraceSession } from './session.js';
import { cpuOfLine, traceEntries } from './ring.js';
import { readEventFilter, readHist, readTriggers, writeEventFilter, writeTrigger } from '../triggers.js';
import type { HistSymbols } from '../hist.js';
import { EINVAL } from '../../base/errno.js';

export const TRACEFS = '/sys/kernel/tracing';
/** The sysctl (kernel/kprobes.c debug_kprobes_optimization). */
export const KPROBES_OPTIMIZATION = '/proc/sys/debug/kprobes-optimization';

const OK: Result = { ok: true };
const NO_SYMBOLS: HistSymbols = { noOffset: () => undefined, withOffset: (a) => '0x' + a.toString(16) };
const err = (errno: number): Result => ({ ok: false, errno: errno < 0 ? errno : -errno });

/** kstrtoul(buf, 0) of an enable file write, trailing newline allowed: 0, 1 or undefined. */
function enableValue(text: string): 0 | 1 | undefined {
  const t = text.replace(/\n$/, '').trim();
  if (!/^(0x[0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.test(t)) return undefined;
  const v = Number(t);
  return v === 0 ? 0 : v === 1 ? 1 : undefined;
}

export interface TracefsOptions {
  /** The kprobe layer, for /sys/kernel/debug/kprobes/*. */
  mgr?: KprobeManager;
  /** Marks a kretprobe's entry probe "r" in the list. */
  typeOf?: (p: Kprobe) => 'k' | 'r';
  /** Called after any write that changed the session (the CLI saves the state then). */
  onChange?: () => void;
  /** Addresses to symbols, for the hist files' .sym keys. */
  sym?: HistSymbols;
}

export function addTracefs(vfs: Vfs, s: TraceSession, opts: TracefsOptions = {}): void {
  const changed = () => opts.onChange?.();
  const ev = s.events;
  vfs.mkdir(TRACEFS, 0o700);
  vfs.addFile(`${TRACEFS}/kprobe_events`, {
    mode: 0o644,
    read: () => ev.read(),
    write: (text, o) => {
      const rc = ev.write(text, o.truncate);
      rebuildEvents();
      changed();
      return rc < 0 ? err(rc) : OK;
    },
  });
  vfs.addFile(`${TRACEFS}/kprobe_profile`, { mode: 0o444, read: () => showKprobeProfile(ev.probes, (p) => s.counters(p)) });
  vfs.addFile(`${TRACEFS}/error_log`, {
    mode: 0o644,
    read: () => ev.errorLog.text(),
    // tracing_err_log_open: opening with O_TRUNC clears the log; the write itself is ignored.
    write: (_t, o) => { if (o.truncate) { ev.errorLog.clear(); changed(); } return OK; },
  });
  vfs.addFile(`${TRACEFS}/README`, { mode: 0o444, read: () => README });
  vfs.addFile(`${TRACEFS}/trace`, {
    mode: 0o644,
    read: () => traceHeader(s.state.traceEntries, s.state.traceWritten, s.state.cpus || 2) + s.state.trace,
    // Opening trace with O_TRUNC clears the ring buffer (tracing_open → tracing_reset_online_cpus).
    write: (_t, o) => {
      if (o.truncate) { s.state = { ...s.state, trace: '', traceEntries: 0, traceWritten: 0 }; changed(); }
      return OK;
    },
  });

  // trace_pipe: a consuming read (tracing_read_pipe): the entries, without the header, leave the
  // buffer as they are read. The kernel's read blocks on an empty buffer; here it returns nothing
  // (the runs that fill it are separate commands).
  vfs.addFile(`${TRACEFS}/trace_pipe`, {
    mode: 0o444,
    read: () => {
      const text = s.state.trace;
      if (text) { s.state = { ...s.state, trace: '', traceEntries: 0 }; changed(); }
      return text;
    },
  });

  // per_cpu/cpuN/{trace,trace_pipe}: one CPU's entries (tracing_open with iter->cpu_file = N). The
  // header is the whole buffer's, as print_event_info sums get_total_entries over every CPU; opening
  // trace with O_TRUNC clears that CPU only (tracing_reset_cpu), trace_pipe consumes that CPU's entries.
  const splitCpu = (cpu: number) => {
    const mine: string[] = [], rest: string[] = [];
    for (const e of traceEntries(s.state.trace)) (cpuOfLine(e) === cpu ? mine : rest).push(e);
    return { mine, rest };
  };
  const dropCpu = (cpu: number) => {
    const { mine, rest } = splitCpu(cpu);
    if (mine.length) { s.state = { ...s.state, trace: rest.join(''), traceEntries: Math.max(0, s.state.traceEntries - mine.length) }; changed(); }
    return mine.join('');
  };
  for (let cpu = 0; cpu < (s.state.cpus || 2); cpu++) {
    vfs.addFile(`${TRACEFS}/per_cpu/cpu${cpu}/trace`, {
      mode: 0o644,
      read: () => traceHeader(s.state.traceEntries, s.state.traceWritten, s.state.cpus || 2) + splitCpu(cpu).mine.join(''),
      write: (_t, o) => { if (o.truncate) dropCpu(cpu); return OK; },
    });
    vfs.addFile(`${TRACEFS}/per_cpu/cpu${cpu}/trace_pipe`, { mode: 0o444, read: () => dropCpu(cpu) });
  }

  const flagFile = (get: () => boolean, set: (on: boolean) => void) => ({
    mode: 0o644,
    read: () => (get() ? '1\n' : '0\n'),
    write: (text: string): Result => {
      // rb_simple_write / trace_options_core_write: kstrtoul, any non-zero value is on.
      const t = text.replace(/\n$/, '').trim();
      if (!/^(0x[0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.test(t)) return err(EINVAL);
      set(Number(t) !== 0);
      changed();
      return OK;
    },
  });
  vfs.addFile(`${TRACEFS}/tracing_on`, flagFile(() => s.state.tracingOn !== false, (on) => { s.state = { ...s.state, tracingOn: on }; }));
  vfs.addFile(`${TRACEFS}/options/sym-offset`, flagFile(() => !!s.state.symOffset, (on) => { s.state = { ...s.state, symOffset: on }; }));

  const enableFile = (match: (g: string, e: string) => boolean) => ({
    mode: 0o644,
    read: () => {
      const sel = ev.events().filter((e) => match(e.group, e.event));
      const on = sel.filter((e) => ev.isEnabled(e.group, e.event)).length;
      // event_enable_read / system_enable_read: 0, 1, or X for a mix.
      return on === 0 ? '0\n' : on === sel.length ? '1\n' : 'X\n';
    },
    write: (text: string): Result => {
      const v = enableValue(text);
      if (v === undefined) return err(EINVAL);
      for (const e of ev.events().filter((x) => match(x.group, x.event))) {
        const rc = ev.setEnabled(e.group, e.event, v === 1);
        if (rc) { changed(); return err(rc); }
      }
      changed();
      return OK;
    },
  });

  function rebuildEvents(): void {
    vfs.remove(`${TRACEFS}/events`);
    vfs.mkdir(`${TRACEFS}/events`);
    vfs.addFile(`${TRACEFS}/events/enable`, enableFile(() => true));
    for (const e of ev.events()) {
      const dir = `${TRACEFS}/events/${e.group}`;
      if (!vfs.lookup(`${dir}/enable`)) vfs.addFile(`${dir}/enable`, enableFile((g) => g === e.group));
      vfs.addFile(`${dir}/${e.event}/enable`, enableFile((g, n) => g === e.group && n === e.event));
      vfs.addFile(`${dir}/${e.event}/id`, { mode: 0o444, read: () => `${s.eventId(e.group, e.event)}\n` });
      vfs.addFile(`${dir}/${e.event}/format`, { mode: 0o444, read: () => eventFormat(e.probes[0]!, s.eventId(e.group, e.event)) });
      const k = `${e.group}/${e.event}`;
      const probe = e.probes[0]!;
      vfs.addFile(`${dir}/${e.event}/filter`, {
        mode: 0o644,
        read: () => readEventFilter(s.state.filters?.[k]),
        write: (text) => {
          const r = writeEventFilter(text, probe);
          const filters = { ...s.state.filters };
          if (r.stored) filters[k] = r.stored; else delete filters[k];
          s.state = { ...s.state, filters };
          if (!r.ok) ev.errorLog.add(r.log, s.now());
          changed();
          return r.ok ? OK : err(r.errno);
        },
      });
      vfs.addFile(`${dir}/${e.event}/trigger`, {
        mode: 0o644,
        read: () => readTriggers(s.state.triggers?.[k], probe),
        write: (text, o) => {
          const r = writeTrigger(s.state.triggers?.[k] ?? [], text, probe, o.truncate);
          const triggers = { ...s.state.triggers };
          if (r.list.length) triggers[k] = r.list; else delete triggers[k];
          s.state = { ...s.state, triggers };
          // A trigger arms its event in soft mode, which marks it as once enabled (EVENT_FILE_FL_WAS_ENABLED).
          if (r.list.length) ev.markWasEnabled(e.group, e.event);
          if (r.log) ev.errorLog.add(r.log, s.now());
          changed();
          return r.errno ? err(r.errno) : OK;
        },
      });
      vfs.addFile(`${dir}/${e.event}/hist`, { mode: 0o444, read: () => readHist(s.state.triggers?.[k], probe, opts.sym ?? NO_SYMBOLS) });
    }
  }
  rebuildEvents();

  const mgr = opts.mgr;
  if (mgr) {
    vfs.addFile(`${KPROBES_DEBUGFS}/list`, { mode: 0o444, read: () => renderKprobeList(mgr, opts.typeOf) });
    vfs.addFile(`${KPROBES_DEBUGFS}/blacklist`, { mode: 0o444, read: () => renderKprobeBlacklist(mgr) });
    vfs.addFile(`${KPROBES_DEBUGFS}/enabled`, {
      mode: 0o600,
      read: () => renderKprobesEnabled(mgr),
      write: (text) => {
        const rc = writeKprobesEnabled(mgr, text);
        if (rc) return err(rc);
        s.state = { ...s.state, kprobesEnabled: !mgr.allDisarmed };
        changed();
        return OK;
      },
    });
    vfs.addFile(KPROBES_OPTIMIZATION, {
      mode: 0o644,
      read: () => renderOptimizationSysctl(mgr),
      write: (text) => {
        const rc = writeOptimizationSysctl(mgr, text);
        if (rc) return err(rc);
        s.state = { ...s.state, kprobesOptimization: renderOptimizationSysctl(mgr) === '1\n' };
        changed();
        return OK;
      },
    });
  }
}
