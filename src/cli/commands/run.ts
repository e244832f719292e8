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
  cpus: number;
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

const asList = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);

const options = {
  cpus: { alias: 'c', type: 'number' as const, default: 2, describe: 'emulated CPUs (1-8)' },
  seed: { alias: 's', type: 'number' as const, default: 1, describe: 'seed for timer jitter and scheduling' },
  'max-insns': { type: 'number' as const, default: 2_000_000_000, describe: 'instruction budget: a runaway kernel ends cleanly here' },
  'timer-period': { type: 'number' as const, describe: 'timer interrupt period in instructions (default 100000)' },
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
    if (!Number.isInteger(args.cpus) || args.cpus < 1 || args.cpus > 8) throw new CliError('run: --cpus must be an integer from 1 to 8', EXIT_USAGE);
    if (!Number.isSafeInteger(args.seed)) throw new CliError('run: --seed must be an integer', EXIT_USAGE);
    if (!Number.isSafeInteger(args['max-insns']) || args['max-insns'] <= 0) throw new CliError('run: --max-insns must be a positive integer', EXIT_USAGE);
    const tp = args['timer-period'];
    if (tp !== undefined && (!Number.isSafeInteger(tp) || tp < 0)) throw new CliError('run: --timer-period must be a non-negative integer', EXIT_USAGE);
    const script = loadWorkload(args.workload);
    const { loadImage } = await import('../image.js');
    const image = loadImage(args.vmlinux);
    const { runScriptAsync } = await import('../../kernel/session.js');
    const { renderRunSummary, runResultJson } = await import('../../output/run-summary.js');
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
      return { spec: h, re, arg: c >= 0 ? h.slice(c + 1) : h, values: new Map<string, bigint[]>() };
    });
    const tty = process.stdout.isTTY === true;
    const mode = args.json ? 'json' : args.trace ? 'trace' : (!tty && tracing && !args.summary) ? 'pipe' : 'summary';
    const recorded: { ts: bigint; cpu: number; line: string }[] = [];
    const retvals = new Map<string, Map<bigint, number>>();
    const onEvent = (e: import('../../trace/runtime/probes.js').TraceEvent) => {
      recorded.push({ ts: e.tsNs, cpu: e.cpu, line: e.line });
      if (e.retval !== undefined) {
        const name = `${e.probe.group}:${e.probe.event}`;
        let m = retvals.get(name);
        if (!m) retvals.set(name, (m = new Map()));
        const v = report.returnValue(e.retval);
        m.set(v, (m.get(v) ?? 0) + 1);
      }
      if (mode === 'json') out(traceEventJson(e) + '\n');
      else if (mode === 'trace') out(e.line);
      for (const h of hists) {
        const name = `${e.probe.group}:${e.probe.event}`;
        if (h.re && !h.re.test(name)) continue;
        const a = e.args.find((x) => x.arg.name === h.arg);
        const v = a && report.argNumber(a);
        if (v === undefined) continue;
        if (!h.values.has(name)) h.values.set(name, []);
        h.values.get(name)!.push(v);
      }
    };
    const pr = rp.probeRun(t, sel, onEvent, false);

    let interrupted = false;
    const onSigint = () => { interrupted = true; };
    process.on('SIGINT', onSigint);
    const spinner = process.stderr.isTTY ? (await import('ora')).default({ text: `booting ${script.file}`, stream: process.stderr }).start() : undefined;
    let result;
    try {
      result = await runScriptAsync(image, script, {
        cpus: args.cpus, seed: args.seed, maxInsns: args['max-insns'], timerPeriod: tp,
        snapshot: args.snapshot, imageKey: args.snapshot ? (await import('../../cache.js')).imageKey(args.vmlinux) : undefined,
        shouldStop: () => interrupted,
        onProgress: spinner && ((p) => { spinner.text = `${script.file}: ${(p.instructions / 1e6).toFixed(1)}M instructions, ${p.syscalls} system calls, ${recorded.length} events`; }),
        attach: pr.attach,
      });
    } finally {
      spinner?.stop();
      process.off('SIGINT', onSigint);
    }
    // The CPUs run in quanta, so events arrive grouped by CPU; the trace file (and trace_pipe) merge
    // the per-CPU buffers by timestamp (ring_buffer_iter / peek_next_entry), as done here.
    const lines = recorded.map((r, i) => ({ ...r, i }))
      .sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : a.cpu - b.cpu || a.i - b.i)).map((r) => r.line);
    const ms = pr.session();
    const counts = ms ? rp.probeCounts(ms) : [];
    if (ms && counts.length + sel.state.kprobeEvents.length > 0) {
      store.updateState(dir, args.vmlinux, (s) => ({ state: rp.foldRun(s, counts, lines, args.cpus, result.emulatedNs, showProbe), result: undefined }));
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
    } else if (mode === 'pipe') {
      out(lines.join(''));
    } else {
      let text = renderRunSummary(result, { console: args.console, timing: args.timing });
      if (rows.length) text += '\n' + report.renderProbeTable(rows);
      if (retvals.size) {
        const { formatResult } = await import('../../kernel/workload/syscalls.js');
        for (const [ev, m] of retvals) text += '\n' + report.renderRetvals(ev, m, formatResult);
      }
      for (const h of hists) {
        if (h.values.size === 0) text += `\n@${h.arg}: no numeric argument '${h.arg}' was recorded\n`;
        for (const [ev, vals] of h.values) text += '\n' + report.renderHist(`@${h.arg}[${ev}]:`, vals);
      }
      if (mode === 'trace') process.stderr.write(text); else out(text);
    }
    process.exitCode = result.exitCode;
  },
};
export default command;
/** `ktrace run ...` without yargs (its loading and help rendering cost ~0.1 s of a short run). */
export const fast: FastCommand[] = [{
  command: 'run [workload]',
  options,
  handler: (a: Record<string, unknown>) => command.handler!({ workload: 'default', ...(a as object) } as never),
}];
