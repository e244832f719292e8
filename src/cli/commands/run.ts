// ktrace run [WORKLOAD] [-e PATTERN...] [-a SPEC...]: boot the kernel, trace the selected probe
// events (all defined ones by default) while a workload of user tasks runs, report.
// Output: on a terminal the run summary, then a hit/miss table per event (and --hist histograms);
// --trace streams ftrace lines as events happen; --json prints NDJSON events and a summary object;
// piped with events selected, the default is the trace text (trace_pipe style), so `| grep` works.
import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../options.js';
import { CliError, EXIT_USAGE } from '../errors.js';
import type { FastCommand } from '../fastargs.js';

interface Args extends GlobalArgs {
  workload: string;
  cpus?: number;
  seed: number;
  'max-insns': number;
  'timer-period'?: number;
  json: boolean;
  console: boolean;
  timing: boolean;
  snapshot: boolean;
  list: boolean;
  event?: string[];
  add?: string[];
  trace: boolean;
  hist?: string[];
  summary: boolean;
}

/**
 * The shortest timer period a run accepts, in instructions. The fixture kernel's tick (interrupt
 * entry, timer bookkeeping, the scheduler, iret) costs a couple of hundred instructions: at a
 * period of 100 the CPUs never leave it (a livelock toward the budget), at 300 the default workload
 * needs four times its instructions; from 1000 on the overhead stays near a tenth.
 */
export const MIN_TIMER_PERIOD = 1000;

const asList = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);

const options = {
  cpus: { alias: 'c', type: 'number' as const, describe: 'emulated CPUs (1-8; default 2, and 1 on real Linux)' },
  seed: { alias: 's', type: 'number' as const, default: 1, describe: 'seed for timer jitter and scheduling' },
  'max-insns': { type: 'number' as const, default: 2_000_000_000, describe: 'instruction budget: a runaway kernel ends cleanly here' },
  'timer-period': { type: 'number' as const, describe: 'timer interrupt period in instructions (default 100000; 0: none; at least 1000)' },
  event: { alias: 'e', type: 'string' as const, array: true, describe: 'trace the events matching GROUP:EVENT (globs; repeatable; default: all defined)' },
  add: { alias: 'a', type: 'string' as const, array: true, describe: 'a probe for this run only, as `ktrace add` takes it (repeatable)' },
  trace: { type: 'boolean' as const, default: false, describe: 'stream the trace lines to stdout as events happen' },
  hist: { type: 'string' as const, array: true, describe: 'power-of-two histogram of an argument: NAME or EVENT:NAME (repeatable)' },
  summary: { type: 'boolean' as const, default: false, describe: 'print the summary and tables even when stdout is not a terminal' },
  json: { type: 'boolean' as const, default: false, describe: 'NDJSON: one object per event, then the summary object' },
  console: { type: 'boolean' as const, default: true, describe: 'include the kernel console in the summary (--no-console hides it)' },
  timing: { type: 'boolean' as const, default: true, describe: 'print host time and MIPS (--no-timing for byte-identical output)' },
  snapshot: { type: 'boolean' as const, default: true, describe: 'start from the cached boot snapshot when the run allows it (--no-snapshot boots cold; same output)' },
  list: { type: 'boolean' as const, default: false, describe: 'list the bundled workloads' },
};

const command: CommandModule<GlobalArgs, Args> = {
  command: 'run [workload]',
  describe: 'boot the kernel, run a workload script against it, and trace the probe events',
  builder: (y) => y
    .positional('workload', { type: 'string', default: 'default', describe: 'a bundled workload name or a script file (see `ktrace help workload`)' })
    .options(options)
    .example('$0 run', 'run the default workload with the defined events')
    .example("$0 run -a vfs_read -a 'ksys_read fd=%di'", 'probes for this run only')
    .example('$0 run -e probe:vfs_read | grep cat', 'trace text when piped')
    .example("$0 run -a 'ksys_read count=%dx' --hist count", 'a histogram of an argument')
    .example('$0 run pipe-pingpong --cpus 4 --seed 7', 'a bundled workload, 4 CPUs, another seed')
    .example('$0 run my.wl --json | jq .syscalls', 'your own script, results as JSON')
    .example('$0 run --list', 'the bundled workloads') as never, // (the option table's inferred types are wider than Args)
  handler: async (args) => {
    const { bundledWorkloads, loadWorkload } = await import('../workload.js');
    const { out } = await import('../../output/write.js');
    if (args.list) {
      out(bundledWorkloads().join('\n') + '\n');
      return;
    }
    if (args.cpus !== undefined && (!Number.isInteger(args.cpus) || args.cpus < 1 || args.cpus > 8)) throw new CliError('run: --cpus must be an integer from 1 to 8', EXIT_USAGE);
    if (!Number.isSafeInteger(args.seed)) throw new CliError('run: --seed must be an integer', EXIT_USAGE);
    if (!Number.isSafeInteger(args['max-insns']) || args['max-insns'] <= 0) throw new CliError('run: --max-insns must be a positive integer', EXIT_USAGE);
    const tp = args['timer-period'];
    if (tp !== undefined && (!Number.isSafeInteger(tp) || tp < 0)) throw new CliError('run: --timer-period must be a non-negative integer', EXIT_USAGE);
    if (tp !== undefined && tp !== 0 && tp < MIN_TIMER_PERIOD) {
      throw new CliError(`run: --timer-period must be 0 (no timer) or at least ${MIN_TIMER_PERIOD}: the timer interrupt and the scheduler tick take hundreds of instructions, so a shorter period leaves the CPUs in the interrupt handler (an interrupt storm)`, EXIT_USAGE);
    }
    const script = loadWorkload(args.workload);
    const { loadBootableImage } = await import('../image.js');
    const image = loadBootableImage(args.vmlinux, 'run');
    const { isLinuxImage } = await import('../../kernel/linux/bundle.js');
    const linux = isLinuxImage(image);
    const cpus = args.cpus ?? (linux ? 1 : 2);
    if (linux && cpus > 1) throw new CliError('run: real Linux runs on one CPU for now (--cpus 1): starting more (MP table, INIT/SIPI, IPIs) is not implemented yet', EXIT_USAGE);
    const { runScriptAsync } = await import('../../kernel/session.js');
    const { renderRunSummary, runResultJson, failureLine } = await import('../../output/run-summary.js');
    const { startProgress } = await import('../../output/progress.js');
    const { stateDir } = await import('../state/dir.js');
    const store = await import('../state/store.js');
    const { loadTracing } = await import('../tracing.js');
    const rp = await import('../run-probes.js');
    const report = await import('../../output/trace-report.js');
    const { traceEventJson } = await import('../../output/trace-json.js');
    const { showProbe } = await import('../../trace/kprobe-events/show.js');

    const dir = stateDir(args.state);
    const stored = store.loadState(dir, args.vmlinux);
    const t = await loadTracing({ machine: true, canProbe: true });
    // -a SPEC goes through the debug info when the kernel has it, as `ktrace add` does.
    let specLines: import('../run-probes.js').SpecLines | undefined;
    if (asList(args.add).length) {
      const compile = (await import('../dwarf.js')).specCompiler(image, args.vmlinux);
      if (compile) specLines = (spec, taken) => compile([spec], { taken, force: true, command: `run: -a ${spec}` });
    }
    const sel = await rp.selectEvents(t, image, stored, asList(args.event), asList(args.add), specLines);
    const tracing = sel.selected.length > 0;
    const hists = asList(args.hist).map((h) => {
      const c = h.lastIndexOf(':');
      const event = c >= 0 ? h.slice(0, c) : undefined;
      // EVENT or GROUP:EVENT, matched against "group:event".
      const re = event === undefined ? undefined : new RegExp(`^(?:[^:]*:)?${event.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
      return { spec: h, re, arg: c >= 0 ? h.slice(c + 1) : h, counts: new Map<string, import('../../output/trace-report.js').Log2Counts>() };
    });
    const tty = process.stdout.isTTY === true;
    const mode = args.json ? 'json' : args.trace ? 'trace' : (!tty && tracing && !args.summary) ? 'pipe' : 'summary';
    const { TraceMerger, clockWatermark } = await import('../../trace/runtime/merge.js');
    const { TraceRing } = await import('../../trace/runtime/ring.js');
    const { onStdoutClosed, drained, outBytes } = await import('../../output/write.js');
    // Events stream as the run goes: merged into time order across CPUs (bounded lookahead), written
    // in one chunk per slice, and kept in a bounded ring buffer for the state's trace file. The
    // summaries count as events happen; nothing keeps the whole run's events.
    const ring = new TraceRing();
    const { ByteSink } = await import('../../trace/runtime/bytes.js');
    const sink = new ByteSink();
    const merger = new TraceMerger((cpu, bytes) => {
      if (mode === 'json') {
        // The event's text is its trace line, NUL (no fetched string holds one), its JSON object.
        const nul = bytes.indexOf(0);
        ring.pushBytes(cpu, bytes.subarray(0, nul));
        sink.append(bytes.subarray(nul + 1));
        return;
      }
      ring.pushBytes(cpu, bytes);
      if (mode !== 'summary') sink.append(bytes);
    });
    const writeChunk = () => { if (sink.length) outBytes(sink.take()); };
    let events = 0;
    const retvals = new Map<string, Map<bigint, number>>();
    const onEvent = (e: import('../../trace/runtime/probes.js').TraceEvent) => {
      events++;
      const name = `${e.probe.group}:${e.probe.event}`;
      if (e.retval !== undefined) {
        let m = retvals.get(name);
        if (!m) retvals.set(name, (m = new Map()));
        const v = report.returnValue(e.retval);
        m.set(v, (m.get(v) ?? 0) + 1);
      }
      for (const h of hists) {
        if (h.re && !h.re.test(name)) continue;
        const a = e.args.find((x) => x.arg.name === h.arg);
        const v = a && report.argNumber(a);
        if (v === undefined) continue;
        let c = h.counts.get(name);
        if (!c) h.counts.set(name, (c = new Map()));
        report.addToLog2(c, v);
      }
      merger.push(e.cpu, Number(e.tsNs), mode === 'json' ? e.line + '\0' + traceEventJson(e) + '\n' : e.line);
    };
    const pr = rp.probeRun(t, sel, onEvent, false);

    // The first SIGINT or SIGTERM ends the run (what was gathered is still reported); a second one
    // exits at once. A reader that goes away (`| head`) ends it quietly.
    let interrupted = false, readerGone = false;
    let stop!: () => void;
    const stopped = new Promise<void>((r) => { stop = r; });
    const onSignal = (sig: NodeJS.Signals) => {
      if (interrupted && !readerGone) process.exit(sig === 'SIGINT' ? 130 : 143);
      interrupted = true;
      stop();
    };
    onStdoutClosed(() => { readerGone = true; interrupted = true; stop(); });
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const progress = await startProgress(process.stderr, `booting ${script.file}`);
    let result;
    try {
      result = await runScriptAsync(image, script, {
        cpus, seed: args.seed, maxInsns: args['max-insns'], timerPeriod: tp,
        snapshot: args.snapshot, imageKey: args.snapshot ? (await import('../../cache.js')).imageKey(args.vmlinux) : undefined,
        shouldStop: () => interrupted,
        onProgress: (p) => {
          progress.update(`${script.file}: ${(p.instructions / 1e6).toFixed(1)}M instructions, ${p.syscalls} system calls, ${events} events`);
          const ms = pr.session();
          if (!ms || merger.pending === 0) return undefined;
          merger.flush(clockWatermark(ms.platform.machine.cpus));
          writeChunk();
          return drained(stopped);
        },
        attach: pr.attach,
      });
    } finally {
      progress.stop();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    merger.flush();
    writeChunk();
    const ms = pr.session();
    const counts = ms ? rp.probeCounts(ms) : [];
    if (ms && counts.length + sel.state.kprobeEvents.length > 0) {
      store.updateState(dir, args.vmlinux, (s) => ({ state: rp.foldRun(s, counts, ring, cpus, result.emulatedNs, showProbe), result: undefined }));
    }
    // One row per event (an event's probes add up).
    const rows: { event: string; hits: number; misses: number }[] = [];
    for (const c of counts) {
      if (!sel.selected.includes(`${c.probe.group}/${c.probe.event}`)) continue;
      const name = `${c.probe.group}:${c.probe.event}`;
      const row = rows.find((r) => r.event === name);
      if (row) { row.hits += c.hits; row.misses += c.misses; } else rows.push({ event: name, hits: c.hits, misses: c.misses });
    }
    if (mode === 'json') {
      const summary = JSON.parse(runResultJson(result, { timing: args.timing }));
      const rv = Object.fromEntries([...retvals].map(([ev, m]) => [ev, Object.fromEntries([...m].map(([v, n]) => [v.toString(), n]))]));
      out(JSON.stringify({ type: 'summary', ...summary, probes: rows, retvals: rv }) + '\n');
    } else if (mode !== 'pipe') {
      let text = renderRunSummary(result, { console: args.console, timing: args.timing });
      if (rows.length) text += '\n' + report.renderProbeTable(rows);
      if (retvals.size) {
        const { formatResult } = await import('../../kernel/workload/syscalls.js');
        for (const [ev, m] of retvals) text += '\n' + report.renderRetvals(ev, m, formatResult);
      }
      for (const h of hists) {
        if (h.counts.size === 0) text += `\n@${h.arg}: no numeric argument '${h.arg}' was recorded\n`;
        for (const [ev, c] of h.counts) text += '\n' + report.renderLog2Hist(`@${h.arg}[${ev}]:`, c);
      }
      if (mode === 'trace') process.stderr.write(text); else out(text);
    }
    // A failed run says why on stderr in every mode (its output may be going down a pipe).
    const failed = failureLine(result);
    if (readerGone) process.exitCode = 0;
    else {
      if (failed) process.stderr.write(`ktrace: run: ${failed}\n`);
      process.exitCode = result.exitCode;
    }
  },
};
export default command;
/** `ktrace run ...` without yargs (its loading and help rendering cost ~0.1 s of a short run). */
export const fast: FastCommand[] = [{
  command: 'run [workload]',
  options,
  handler: (a: Record<string, unknown>) => command.handler!({ workload: 'default', ...(a as object) } as never),
}];
