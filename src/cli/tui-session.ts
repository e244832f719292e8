// The TUI's controller: a live tracing session that the screen (src/output/tui/app.tsx) drives
// through the TuiController interface. It boots the kernel with the state directory's events armed,
// runs the emulator in host-time-bounded turns between the event loop's other work (keys, repaints),
// applies each key's operation both to the stored state (as the one-liners would, under the state
// lock) and to the running kernel, and folds a run's counters and trace lines into the state when the
// run restarts or the screen closes. No terminal here: tests drive the controller directly.
import type { Image } from '../elf/image.js';
import type { Script } from '../kernel/workload/ast.js';
import type { Platform } from '../kernel/platform.js';
import type { WorkloadRunner } from '../kernel/workload/runner.js';
import type { Kprobe, ProbePoint } from '../kprobe/kprobes.js';
import type { TuiController, TuiModel, Histogram } from '../output/tui/app.js';
import { prepare } from '../kernel/session.js';
import * as store from './state/store.js';
import { loadTracing, type MachineSession } from './tracing.js';
import * as rp from './run-probes.js';
import { showProbe } from '../trace/kprobe-events/show.js';
import { probeTags, writeKprobesEnabled } from '../kprobe/debugfs.js';
import { writeOptimizationSysctl } from '../kprobe/optimizer.js';
import { addProbe, addLines, type AddResult } from '../trace/runtime/probe-events.js';
import { specCompiler } from '../trace/perf-probe/spec-compiler.js';
import { DebugInfoError } from '../debuginfo/open.js';
import { buildInBackground } from './debug-index.js';
import * as report from '../output/trace-report.js';
import { byTraceTime } from '../trace/runtime/probes.js';
import { formatResult } from '../kernel/workload/syscalls.js';
import { CliError } from './errors.js';
import { TriggerRuntime, writeEventFilter } from '../trace/triggers.js';

export interface TuiSessionOptions {
  image: Image;
  /** -k as given (the state directory records which image its events belong to). */
  vmlinux: string;
  /** The state directory. */
  dir: string;
  script: Script;
  cpus: number;
  seed: number;
  maxInsns: number;
  /** Host milliseconds of emulation per event-loop turn: short enough that keys answer quickly. */
  turnMs: number;
}

export interface TuiSession {
  ctl: TuiController;
  /** Boot and start running (turns scheduled with setImmediate). */
  start(): void;
  /** Fold the current run's counters and trace lines into the state directory, as after `ktrace run`. */
  fold(): void;
}

export async function createTuiSession(o: TuiSessionOptions): Promise<TuiSession> {
  const { image, script, dir } = o;
  const compile = specCompiler(image, o.vmlinux, { background: buildInBackground });
  const t = await loadTracing({ machine: true, canProbe: true });
  const maxInsns = o.maxInsns;
  let platform!: Platform;
  let runner!: WorkloadRunner;
  let ms: MachineSession | undefined;
  let lines: { ts: bigint; cpu: number; line: string }[] = [];
  // Per event: its latest trace lines, as they arrived (CPUs run in quanta: not in time order).
  const latest = new Map<string, { ts: bigint; cpu: number; line: string }[]>();
  // Per event: its histogram fields' counts over the current run ($retval by value, args in log2 buckets).
  type Hist = { kind: 'values'; counts: Map<bigint, number>; total: number } | { kind: 'log2'; counts: Map<number, number>; total: number };
  const hists = new Map<string, Map<string, Hist>>();
  let paused = false;
  let quitting = false;
  let message: string | undefined;
  let timer: NodeJS.Immediate | undefined;
  let last = { insns: 0, t: process.hrtime.bigint(), mips: 0 };
  // The events' filters (events/GROUP/EVENT/filter) and triggers, applied to each hit as `ktrace run` does.
  let triggers = new TriggerRuntime({}, []);
  let ids: Record<string, number> = {};
  const loadTriggers = (state: import('./state/store.js').StateFile) => {
    triggers = new TriggerRuntime(state, ms?.session.events.probes ?? []);
    ids = state.ids;
  };

  const start = () => {
    // The stored state as the one-liners left it: its enabled events are armed, as in the kernel.
    const state = store.loadState(dir, o.vmlinux);
    ms = undefined;
    lines = [];
    latest.clear();
    hists.clear();
    ({ platform, runner } = prepare(image, script, {
      cpus: o.cpus, seed: o.seed, maxInsns,
      attach: t.attach(state, (m) => {
        ms = m;
        loadTriggers(state);
        m.runtime.onEvent = (e) => {
          const key = `${e.probe.group}/${e.probe.event}`;
          // Filtered out: the hit counts (kprobe_profile), nothing is recorded.
          if (!triggers.hit(key, { id: ids[key] ?? 0, cpu: e.cpu, comm: e.comm, pid: e.pid, ip: e.ip, func: e.func, args: e.args, stack: e.stack }, e.tsNs).record) return;
          lines.push({ ts: e.tsNs, cpu: e.cpu, line: e.line });
          const k = `${e.probe.group}:${e.probe.event}`;
          let l = latest.get(k);
          if (!l) latest.set(k, (l = []));
          l.push({ ts: e.tsNs, cpu: e.cpu, line: e.line });
          if (l.length > 64) l.shift();
          let h = hists.get(k);
          if (!h) hists.set(k, (h = new Map()));
          if (e.retval !== undefined) {
            let r = h.get('$retval');
            if (!r) h.set('$retval', (r = { kind: 'values', counts: new Map(), total: 0 }));
            const v = report.returnValue(e.retval);
            (r.counts as Map<bigint, number>).set(v, (r.counts.get(v as never) ?? 0) + 1);
            r.total++;
          }
          for (const a of e.args) {
            const v = report.argNumber(a);
            if (v === undefined) continue;
            let r = h.get(a.arg.name);
            if (!r) h.set(a.arg.name, (r = { kind: 'log2', counts: new Map(), total: 0 }));
            report.addToLog2(r.counts as Map<number, number>, v);
            r.total++;
          }
        };
      }),
    }));
    last = { insns: 0, t: process.hrtime.bigint(), mips: 0 };
    schedule();
  };
  // The run's counters and trace lines go to the state directory, as after `ktrace run`.
  const fold = () => {
    if (!ms) return;
    const counts = rp.probeCounts(ms);
    const sorted = [...lines].sort(byTraceTime).map((r) => r.line);
    if (counts.length === 0 && sorted.length === 0) return;
    const emulatedNs = platform.emulatedNs;
    store.updateState(dir, o.vmlinux, (s) => ({ state: rp.foldRun(s, counts, sorted, o.cpus, emulatedNs, showProbe), result: undefined }));
  };
  const turn = () => {
    timer = undefined;
    if (paused || quitting || platform.end) return;
    const t0 = Date.now();
    while (Date.now() - t0 < o.turnMs) if (platform.runSlice(maxInsns)) break;
    schedule();
  };
  const schedule = () => { if (!timer && !paused && !quitting && !platform.end) timer = setImmediate(turn); };

  const endText = (): string | undefined => {
    const e = platform.end;
    if (!e) return undefined;
    return e.kind === 'poweroff' ? `poweroff ${e.status}` : e.kind === 'stalled' ? `stalled ${e.seconds} s`
      : e.kind === 'panic' ? 'panic' : e.kind === 'fatal' ? `fatal: ${e.message}` : e.kind;
  };

  const tagsOf = (kp: Kprobe, pp: ProbePoint | undefined) => (pp ? probeTags(kp, pp) : '');
  const ctl: TuiController = {
    snapshot(): TuiModel {
      const now = process.hrtime.bigint();
      const insns = platform.instructions;
      const dt = Number(now - last.t) / 1e3; // µs
      if (dt > 200_000 || (dt > 50_000 && insns !== last.insns)) {
        last = { insns, t: now, mips: (insns - last.insns) / dt };
      }
      const events = ms?.session.events;
      const probes = (events?.probes ?? []).map((p) => {
        const kp = ms!.runtime.kprobes.get(p);
        const registered = kp !== undefined;
        return {
          name: `${p.group}:${p.event}`, type: p.type,
          where: p.symbol !== undefined ? `${p.symbol}+0x${p.offset.toString(16)}` : `0x${(p.addr ?? 0n).toString(16)}`,
          // The kprobes/list tags of the event's kprobe (report_probe), once it is registered.
          tags: kp?.addr !== undefined ? tagsOf(kp, ms!.mgr.table.get(kp.addr)) : '',
          enabled: events!.isEnabled(p.group, p.event),
          hits: registered ? ms!.runtime.hits.get(p) ?? 0 : 0,
          misses: registered ? ms!.runtime.misses(p) : 0,
        };
      });
      return {
        probes,
        machine: {
          workload: script.file, syscalls: runner.syscallsIssued, tasks: runner.live, cpus: o.cpus, instructions: insns, emulatedNs: platform.emulatedNs,
          mips: paused || platform.end ? 0 : last.mips,
          kprobesEnabled: ms ? !ms.mgr.allDisarmed : true, optimization: ms ? ms.optimizer.enabled : true,
          status: platform.end ? 'finished' : paused ? 'paused' : 'running', end: endText(),
        },
        message,
      };
    },
    togglePause() {
      if (platform.end) { message = 'the run has ended: r restarts it'; return; }
      paused = !paused; message = paused ? 'paused (p resumes)' : undefined; schedule(); },
    restart() {
      if (timer) clearImmediate(timer);
      timer = undefined;
      fold();
      paused = false;
      message = `restarted ${script.file}`;
      start();
    },
    setEnabled(name, on) {
      const i = name.indexOf(':');
      const group = name.slice(0, i), event = name.slice(i + 1);
      // As `ktrace enable|disable GROUP:EVENT` (commands/enable.ts): events/GROUP/EVENT/enable in the
      // state directory, through a light session under the state lock ...
      const rc = store.updateState(dir, o.vmlinux, (s) => {
        const session = t.light(image, s);
        const r = session.events.setEnabled(group, event, on);
        return { state: { ...s, ...session.snapshot() }, result: r };
      });
      // ... and on the running kernel, so the hits start or stop now.
      const live = ms ? ms.session.events.setEnabled(group, event, on) : 0;
      message = rc || live ? `${on ? 'enable' : 'disable'} ${name}: failed (${rc || live})` : `${on ? 'enabled' : 'disabled'} ${name}`;
    },
    deleteProbe(name) {
      const i = name.indexOf(':');
      const group = name.slice(0, i), event = name.slice(i + 1);
      // As `ktrace del GROUP:EVENT` (commands/del.ts): disabled, then removed from kprobe_events.
      const rc = store.updateState(dir, o.vmlinux, (s) => {
        const session = t.light(image, s);
        session.events.setEnabled(group, event, false);
        const r = session.events.write(`-:${group}/${event}\n`);
        return { state: r < 0 ? undefined : { ...s, ...session.snapshot() }, result: r };
      });
      if (ms) {
        ms.session.events.setEnabled(group, event, false);
        ms.session.traceCleared = false;
        ms.session.events.write(`-:${group}/${event}\n`);
        // An event that was ever enabled took the trace buffer with it, this run's lines so far included.
        if (ms.session.traceCleared) { lines = []; latest.clear(); }
      }
      message = rc < 0 ? `del ${name}: failed (${rc})` : `deleted ${name}`;
    },
    toggleKprobes() {
      if (!ms) return;
      const on = ms.mgr.allDisarmed;
      // /sys/kernel/debug/kprobes/enabled, as the tracefs file's write does (trace/runtime/tracefs.ts).
      writeKprobesEnabled(ms.mgr, on ? '1' : '0');
      store.updateState(dir, o.vmlinux, (s) => ({ state: { ...s, kprobesEnabled: on }, result: undefined }));
      message = `kprobes/enabled = ${on ? 1 : 0}`;
    },
    toggleOptimization() {
      if (!ms) return;
      const on = !ms.optimizer.enabled;
      const rc = writeOptimizationSysctl(ms.mgr, on ? '1' : '0');
      if (rc) { message = `debug.kprobes-optimization: failed (${rc})`; return; }
      store.updateState(dir, o.vmlinux, (s) => ({ state: { ...s, kprobesOptimization: on }, result: undefined }));
      message = `debug.kprobes-optimization = ${on ? 1 : 0}`;
    },
    setEventFilter(name, expr) {
      const i = name.indexOf(':');
      const group = name.slice(0, i), event = name.slice(i + 1), k = `${group}/${event}`;
      const p = t.light(image, store.loadState(dir, o.vmlinux)).events.probes.find((x) => x.group === group && x.event === event);
      if (!p) { message = `filter ${name}: no such event`; return message; }
      // As `ktrace fs write events/GROUP/EVENT/filter EXPR` (trace/runtime/tracefs.ts): '0' (or nothing) clears it; a bad
      // filter is kept as the kernel keeps it, inactive, with its error_log entry.
      const r = writeEventFilter(expr.trim() === '' ? '0' : expr, p);
      const state = store.updateState(dir, o.vmlinux, (s) => {
        const filters = { ...s.filters };
        if (r.stored) filters[k] = r.stored; else delete filters[k];
        const session = t.light(image, { ...s, filters });
        if (!r.ok) session.events.errorLog.add(r.log, session.now());
        const next = { ...s, ...session.snapshot() };
        return { state: next, result: next };
      });
      loadTriggers(state);
      if (!r.ok) { message = `filter ${name}: ${r.stored!.text.split('\n').pop()!.replace(/^parse_error: /, '')}`; return message; }
      message = r.stored ? `filter ${name}: ${r.stored.text}` : `filter ${name}: cleared`;
      return undefined;
    },
    addProbe(spec) {
      // As `ktrace add SPEC` then `ktrace enable` (commands/add.ts, enable.ts), under the state lock:
      // a perf spec through the debug info when the kernel has it, a kprobe_events line as written.
      const words = spec.split(/\s+/).filter(Boolean);
      let r: AddResult;
      try {
        r = store.updateState(dir, o.vmlinux, (s) => {
          const session = t.light(image, s);
          const taken = (g: string, e: string) => session.events.events().some((x) => x.group === g && x.event === e);
          const lines = compile?.(words, { taken, force: false, command: 'add' });
          const res = lines ? addLines(session, lines, false) : addProbe(session, words, false);
          if (res.ok) for (const a of res.added) session.events.setEnabled(a.group, a.event, true);
          // A failed add still saves its error_log entry, as `ktrace add` does.
          return { state: res.ok ? { ...s, ...session.snapshot() } : { ...s, errorLog: session.snapshot().errorLog }, result: res };
        });
      } catch (e) {
        if (!(e instanceof CliError || e instanceof DebugInfoError)) throw e;
        message = e.message.split('\n')[0]!;
        return message;
      }
      if (!r.ok) { message = `add: ${r.message.split('\n')[0]}`; return message; }
      // ... and on the running kernel.
      for (const line of r.line.split('\n')) {
        if (ms && ms.session.events.write(line + '\n') < 0) { message = `add: ${line}: cannot be registered on the running kernel`; return message; }
      }
      for (const a of r.added) ms?.session.events.setEnabled(a.group, a.event, true);
      message = `added ${r.added.map((a) => `${a.group}:${a.event}`).join(', ')}`;
      return undefined;
    },
    detail(name, field) {
      const p = ms?.session.events.probes.find((x) => `${x.group}:${x.event}` === name);
      // The fields come from the definition (so a probe that has not fired yet lists them), in its order.
      // An arg that fetches $retval is the $retval field already.
      const fields = p ? [...(p.type === 'r' ? ['$retval'] : []), ...p.args.filter((a) => report.isNumericArg(a) && a.fetch.kind !== 'retval').map((a) => a.name)] : [];
      const f = field !== undefined && fields.includes(field) ? field : fields[0];
      const h = f === undefined ? undefined : hists.get(name)?.get(f);
      let hist: Histogram | undefined;
      if (f !== undefined) {
        const rows = !h ? [] : h.kind === 'values'
          ? [...h.counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([v, count]) => ({ label: report.retvalText(v, formatResult), count }))
          : report.log2Rows(h.counts);
        hist = { field: f, kind: f === '$retval' ? 'values' : 'log2', rows, total: h?.total ?? 0 };
      }
      // Shown merged by timestamp, as the trace file merges the per-CPU buffers.
      const lines = [...latest.get(name) ?? []].sort(byTraceTime).map((r) => r.line);
      const sf = p ? store.loadState(dir, o.vmlinux).filters?.[`${p.group}/${p.event}`] : undefined;
      return { definition: p ? showProbe(p) : name, lines, fields, hist, ...(sf?.active ? { filter: sf.text } : {}) };
    },
    complete(prefix) {
      return [...new Set(image.functions.map((f) => f.name).filter((n) => n.startsWith(prefix)))].sort();
    },
    quit() {
      quitting = true;
      if (timer) clearImmediate(timer);
      timer = undefined;
    },
  };
  return { ctl, start, fold };
}
