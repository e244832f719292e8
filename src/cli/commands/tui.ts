// ktrace tui [WORKLOAD]: a live view of a tracing session (perf top style). The emulator runs in
// slices scheduled with setImmediate, each turn bounded in host time, so ink repaints ≥10 times a
// second and keys are answered between turns. React and ink load only here (src/output/tui/*),
// never for the one-liners.
import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../options.js';
import { CliError, EXIT_USAGE } from '../errors.js';

interface Args extends GlobalArgs {
  workload: string;
  cpus: number;
  seed: number;
  'max-insns': number;
}

/** Host milliseconds of emulation per event-loop turn: short enough that keys answer quickly. */
const TURN_MS = 20;

const command: CommandModule<GlobalArgs, Args> = {
  command: 'tui [workload]',
  describe: 'interactive view: watch the probes fire while a workload runs (hits, histograms, trace lines), change them live',
  builder: (y) => y
    .positional('workload', { type: 'string', default: 'default', describe: 'a bundled workload name or a script file' })
    .option('cpus', { alias: 'c', type: 'number', default: 2, describe: 'emulated CPUs (1-8)' })
    .option('seed', { alias: 's', type: 'number', default: 1, describe: 'seed for timer jitter and scheduling' })
    .option('max-insns', { type: 'number', default: 2_000_000_000, describe: 'instruction budget per run' })
    .example('$0 tui', 'the default workload with the defined events')
    .example('$0 tui pipe-pingpong --cpus 4', 'another workload')
    .epilog('Keys: a add (Tab completes), e/d enable/disable, x delete, h histogram field ($retval, fetch args), / filter, k kprobes/enabled, o optimization sysctl, p pause, r restart, ? help, q quit.'),
  handler: async (args) => {
    if (process.stdout.isTTY !== true || process.stdin.isTTY !== true) {
      throw new CliError('tui: needs a terminal (stdin and stdout); use `ktrace run` for a non-interactive run');
    }
    if (!Number.isInteger(args.cpus) || args.cpus < 1 || args.cpus > 8) throw new CliError('tui: --cpus must be an integer from 1 to 8', EXIT_USAGE);
    if (!Number.isSafeInteger(args.seed)) throw new CliError('tui: --seed must be an integer', EXIT_USAGE);
    if (!Number.isSafeInteger(args['max-insns']) || args['max-insns'] <= 0) throw new CliError('tui: --max-insns must be a positive integer', EXIT_USAGE);
    const { loadWorkload } = await import('../workload.js');
    const script = loadWorkload(args.workload);
    const { loadBootableImage } = await import('../image.js');
    const image = loadBootableImage(args.vmlinux, 'tui');
    const { isLinuxImage } = await import('../../kernel/linux/bundle.js');
    if (isLinuxImage(image) && args.cpus > 1) throw new CliError('tui: real Linux runs on one CPU for now (--cpus 1): starting more (MP table, INIT/SIPI, IPIs) is not implemented yet', EXIT_USAGE);
    const { prepare } = await import('../../kernel/session.js');
    const { stateDir } = await import('../state/dir.js');
    const store = await import('../state/store.js');
    const { loadTracing } = await import('../tracing.js');
    const rp = await import('../run-probes.js');
    const { showProbe } = await import('../../trace/kprobe-events/show.js');
    const { probeTags, writeKprobesEnabled } = await import('../../kprobe/debugfs.js');
    const { writeOptimizationSysctl } = await import('../../kprobe/optimizer.js');
    const { colorEnabled } = await import('../../output/tty.js');
    const { addProbe, addLines } = await import('../probe-events.js');
    const { specCompiler } = await import('../dwarf.js');
    const report = await import('../../output/trace-report.js');
    const { byTraceTime } = await import('../../trace/runtime/probes.js');
    const { formatResult } = await import('../../kernel/workload/syscalls.js');
    // ink draws only the final frame when it believes it runs under CI (is-in-ci reads CI and
    // CONTINUOUS_INTEGRATION when ink is imported); the TUI runs only on a terminal someone watches.
    delete process.env.CI;
    delete process.env.CONTINUOUS_INTEGRATION;
    const { runTui } = await import('../../output/tui/run.js');
    type Ctl = import('../../output/tui/app.js').TuiController;
    type Model = import('../../output/tui/app.js').TuiModel;
    type MS = import('../tracing.js').MachineSession;
    type Platform = import('../../kernel/platform.js').Platform;

    const dir = stateDir(args.state);
    const compile = specCompiler(image, args.vmlinux);
    const t = await loadTracing({ machine: true, canProbe: true });
    const maxInsns = args['max-insns'];
    let platform!: Platform;
    let runner!: import('../../kernel/workload/runner.js').WorkloadRunner;
    let ms: MS | undefined;
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

    const start = () => {
      // The stored state as the one-liners left it: its enabled events are armed, as in the kernel.
      const state = store.loadState(dir, args.vmlinux);
      ms = undefined;
      lines = [];
      latest.clear();
      hists.clear();
      ({ platform, runner } = prepare(image, script, {
        cpus: args.cpus, seed: args.seed, maxInsns,
        attach: t.attach(state, (m) => {
          ms = m;
          m.runtime.onEvent = (e) => {
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
      store.updateState(dir, args.vmlinux, (s) => ({ state: rp.foldRun(s, counts, sorted, args.cpus, emulatedNs, showProbe), result: undefined }));
    };
    const turn = () => {
      timer = undefined;
      if (paused || quitting || platform.end) return;
      const t0 = Date.now();
      while (Date.now() - t0 < TURN_MS) if (platform.runSlice(maxInsns)) break;
      schedule();
    };
    const schedule = () => { if (!timer && !paused && !quitting && !platform.end) timer = setImmediate(turn); };

    const endText = (): string | undefined => {
      const e = platform.end;
      if (!e) return undefined;
      return e.kind === 'poweroff' ? `poweroff ${e.status}` : e.kind === 'stalled' ? `stalled ${e.seconds} s`
        : e.kind === 'panic' ? 'panic' : e.kind === 'fatal' ? `fatal: ${e.message}` : e.kind;
    };

    const tagsOf = (kp: import('../../kprobe/kprobes.js').Kprobe, pp: import('../../kprobe/kprobes.js').ProbePoint | undefined) => (pp ? probeTags(kp, pp) : '');
    const ctl: Ctl = {
      snapshot(): Model {
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
            workload: script.file, syscalls: runner.syscallsIssued, tasks: runner.live, cpus: args.cpus, instructions: insns, emulatedNs: platform.emulatedNs,
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
        const rc = store.updateState(dir, args.vmlinux, (s) => {
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
        const rc = store.updateState(dir, args.vmlinux, (s) => {
          const session = t.light(image, s);
          session.events.setEnabled(group, event, false);
          const r = session.events.write(`-:${group}/${event}\n`);
          return { state: r < 0 ? undefined : { ...s, ...session.snapshot() }, result: r };
        });
        if (ms) {
          ms.session.events.setEnabled(group, event, false);
          ms.session.events.write(`-:${group}/${event}\n`);
        }
        message = rc < 0 ? `del ${name}: failed (${rc})` : `deleted ${name}`;
      },
      toggleKprobes() {
        if (!ms) return;
        const on = ms.mgr.allDisarmed;
        // /sys/kernel/debug/kprobes/enabled, as the tracefs file's write does (trace/runtime/tracefs.ts).
        writeKprobesEnabled(ms.mgr, on ? '1' : '0');
        store.updateState(dir, args.vmlinux, (s) => ({ state: { ...s, kprobesEnabled: on }, result: undefined }));
        message = `kprobes/enabled = ${on ? 1 : 0}`;
      },
      toggleOptimization() {
        if (!ms) return;
        const on = !ms.optimizer.enabled;
        const rc = writeOptimizationSysctl(ms.mgr, on ? '1' : '0');
        if (rc) { message = `debug.kprobes-optimization: failed (${rc})`; return; }
        store.updateState(dir, args.vmlinux, (s) => ({ state: { ...s, kprobesOptimization: on }, result: undefined }));
        message = `debug.kprobes-optimization = ${on ? 1 : 0}`;
      },
      addProbe(spec) {
        // As `ktrace add SPEC` then `ktrace enable` (commands/add.ts, enable.ts), under the state lock:
        // a perf spec through the debug info when the kernel has it, a kprobe_events line as written.
        const words = spec.split(/\s+/).filter(Boolean);
        let r: import('../probe-events.js').AddResult;
        try {
          r = store.updateState(dir, args.vmlinux, (s) => {
            const session = t.light(image, s);
            const taken = (g: string, e: string) => session.events.events().some((x) => x.group === g && x.event === e);
            const lines = compile?.(words, { taken, force: false, command: 'add' });
            const res = lines ? addLines(session, lines, false) : addProbe(session, words, false);
            if (res.ok) for (const a of res.added) session.events.setEnabled(a.group, a.event, true);
            // A failed add still saves its error_log entry, as `ktrace add` does.
            return { state: res.ok ? { ...s, ...session.snapshot() } : { ...s, errorLog: session.snapshot().errorLog }, result: res };
          });
        } catch (e) {
          if (!(e instanceof CliError)) throw e;
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
        let hist: import('../../output/tui/app.js').Histogram | undefined;
        if (f !== undefined) {
          const rows = !h ? [] : h.kind === 'values'
            ? [...h.counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([v, count]) => ({ label: report.retvalText(v, formatResult), count }))
            : report.log2Rows(h.counts);
          hist = { field: f, kind: f === '$retval' ? 'values' : 'log2', rows, total: h?.total ?? 0 };
        }
        // Shown merged by timestamp, as the trace file merges the per-CPU buffers.
        const lines = [...latest.get(name) ?? []].sort(byTraceTime).map((r) => r.line);
        return { definition: p ? showProbe(p) : name, lines, fields, hist };
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
    start();
    await runTui(ctl, { color: colorEnabled(process.stdout) });
    fold();
  },
};
export default command;
