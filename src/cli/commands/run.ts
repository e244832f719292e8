// ktrace run [WORKLOAD] [-e PATTERN...] [-a SPEC...]: boot the kernel, trace the selected probe
// events (the enabled ones, plus -e matches and -a probes) while a workload of user tasks runs, report.
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
  filter?: string[];
  stack: boolean;
  duration?: string;
  summary: boolean;
  handlers?: string;
  'show-list': boolean;
  output?: string;
  'per-cpu': boolean;
  agg?: string[];
}

/**
 * The shortest timer period a run accepts, in instructions. The fixture kernel's tick (interrupt
 * entry, timer bookkeeping, the scheduler, iret) costs a couple of hundred instructions: at a
 * period of 100 the CPUs never leave it (a livelock toward the budget), at 300 the default workload
 * needs four times its instructions; from 1000 on the overhead stays near a tenth.
 */
export const MIN_TIMER_PERIOD = 1000;

/** "10ms", "500us", "2s", "1.5ms", "100ns": emulated nanoseconds (a usage error otherwise). */
export function parseDuration(text: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(ns|us|ms|s)$/.exec(text.trim());
  const ns = m ? Number(m[1]) * { ns: 1, us: 1e3, ms: 1e6, s: 1e9 }[m[2] as 'ns' | 'us' | 'ms' | 's'] : NaN;
  if (!Number.isFinite(ns) || ns <= 0) throw new CliError(`run: --duration ${text}: expected a time such as 10ms, 500us or 2s`, EXIT_USAGE);
  return Math.round(ns);
}

const asList = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);

const options = {
  cpus: { alias: 'c', type: 'number' as const, describe: 'emulated CPUs (1-8; default 2; real Linux: 1-4, default 1)' },
  seed: { alias: 's', type: 'number' as const, default: 1, describe: 'seed for timer jitter and scheduling' },
  'max-insns': { type: 'number' as const, default: 2_000_000_000, describe: 'instruction budget: a runaway kernel ends cleanly here' },
  'timer-period': { type: 'number' as const, describe: 'timer interrupt period in instructions (default 100000; 0: none; at least 1000)' },
  event: { alias: 'e', type: 'string' as const, array: true, describe: 'trace the events matching GROUP:EVENT (globs; repeatable; in addition to the enabled ones)' },
  add: { alias: 'a', type: 'string' as const, array: true, describe: 'a probe for this run only, as `ktrace add` takes it (repeatable)' },
  trace: { type: 'boolean' as const, default: false, describe: 'stream the trace lines to stdout as events happen' },
  hist: { type: 'string' as const, array: true, describe: 'power-of-two histogram of an argument: NAME or EVENT:NAME (repeatable)' },
  filter: { type: 'string' as const, array: true, describe: "EVENT:EXPR: record only the hits EXPR accepts, for this run (the kernel's event filter: 'count > 100 && comm == \"cat\"')" },
  stack: { alias: 'g', type: 'boolean' as const, default: false, describe: "print each event's kernel stack after it (' => func+off/size' lines)" },
  duration: { type: 'string' as const, describe: 'stop after this much emulated time: 10ms, 500us, 2s (the run ends cleanly, exit 0)' },
  summary: { type: 'boolean' as const, default: false, describe: 'print the summary and tables even when stdout is not a terminal' },
  json: { type: 'boolean' as const, default: false, describe: 'NDJSON: one object per event, then the summary object' },
  console: { type: 'boolean' as const, default: true, describe: 'include the kernel console in the summary (--no-console hides it)' },
  timing: { type: 'boolean' as const, default: true, describe: 'print host time and MIPS (--no-timing for byte-identical output)' },
  snapshot: { type: 'boolean' as const, default: true, describe: 'start from the cached boot snapshot when the run allows it (--no-snapshot boots cold; same output)' },
  list: { type: 'boolean' as const, default: false, describe: 'list the bundled workloads' },
  handlers: { type: 'string' as const, describe: 'a module whose exports declare kprobes, kretprobes and their handlers (README "Handler scripts")' },
  'show-list': { type: 'boolean' as const, default: false, describe: 'after the run, print /sys/kernel/debug/kprobes/list as the run left it (stderr)' },
  output: { alias: 'o', type: 'string' as const, describe: 'also write the events to FILE: NDJSON (events, then the summary: `ktrace report FILE`) when it ends in .json or .ndjson, trace text otherwise; written whole or not at all' },
  'per-cpu': { type: 'boolean' as const, default: false, describe: 'add a table of the events each CPU recorded to the summary' },
  agg: { type: 'string' as const, array: true, describe: "bpftrace-style aggregation: [EVENT:]count|sum(ARG)|avg(ARG)|min(ARG)|max(ARG) by comm|pid|cpu|ARG (repeatable), e.g. 'sum(count) by comm'" },
};

/** --hist NAME or EVENT:NAME: the event pattern (matched against "group:event") and the field. */
export function parseHistSpec(h: string): { spec: string; re?: RegExp; arg: string; retval: boolean } {
  const c = h.lastIndexOf(':');
  const event = c >= 0 ? h.slice(0, c) : undefined;
  const re = event === undefined ? undefined : new RegExp(`^(?:[^:]*:)?${event.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  const arg = c >= 0 ? h.slice(c + 1) : h;
  const retval = arg === '$retval' || arg === 'retval';
  return { spec: h, re, arg: retval ? '$retval' : arg, retval };
}


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
    .example("$0 run -a 'vfs_read%return $retval' --hist '$retval'", "a histogram of a return probe's values")
    .example("$0 run -a 'vfs_read count=%dx:u64' --filter 'vfs_read:count >= 256'", "only the hits the kernel's filter grammar accepts")
    .example('$0 run -a vfs_read -g --trace', "each event's kernel stack")
    .example('$0 run --duration 10ms', 'stop after 10 ms of emulated time')
    .example('$0 run pipe-pingpong --cpus 4 --seed 7', 'a bundled workload, 4 CPUs, another seed')
    .example('$0 run my.wl --json | jq .syscalls', 'your own script, results as JSON')
    .example('$0 run cat --handlers probes.mjs', 'handlers from a module: count, read memory, print into the trace')
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
    const durationNs = args.duration === undefined ? undefined : parseDuration(args.duration);
    const script = loadWorkload(args.workload);
    const { loadBootableIndexed } = await import('../image.js');
    const image = await loadBootableIndexed(args.vmlinux, 'run');
    // A big image's (real Linux's) tables that register_kprobe's checks read, from the cache (symbol-index.ts)
    const { SYMBOL_INDEX_MIN } = await import('../load-image.js');
    const si = image.source.size >= SYMBOL_INDEX_MIN ? await import('../symbol-index.js') : undefined;
    const kprobeTablesCached = si?.useKprobeTables(image, args.vmlinux) ?? true;
    const { isLinuxImage } = await import('../../kernel/linux/bundle.js');
    const linux = isLinuxImage(image);
    const cpus = args.cpus ?? (linux ? 1 : 2);
    if (linux && cpus > 4) throw new CliError('run: real Linux runs on 1 to 4 CPUs (its CONFIG_NR_CPUS)', EXIT_USAGE);
    // Linux's task layout comes from its DWARF: that reader is loaded only for it (kernel/task-layout.ts)
    if (linux) await import('../../kernel/linux/task-layout.js');
    const { runScriptAsync } = await import('../../kernel/session.js');
    const { renderRunSummary, runResultJson, failureLine } = await import('../../output/run-summary.js');
    const { startProgress } = await import('../../output/progress.js');
    const { stateDir } = await import('../state/dir.js');
    const store = await import('../state/store.js');
    const { loadTracing } = await import('../tracing.js');
    const rp = await import('../run-probes.js');
    const report = await import('../../output/trace-report.js');
    const { traceEventJson } = await import('../../output/trace-json.js');
    const { wellFormed, wellFormedJson } = await import('../../base/text.js');
    const { showProbe } = await import('../../trace/kprobe-events/show.js');
    const { histShow, histTriggerText } = await import('../../trace/hist.js');

    const dir = stateDir(args.state);
    const stored = store.loadState(dir, args.vmlinux);
    const t = await loadTracing({ machine: true, canProbe: true });
    // -a SPEC goes through the debug info when the kernel has it, as `ktrace add` does.
    let specLines: import('../run-probes.js').SpecLines | undefined;
    if (asList(args.add).length) {
      const compile = (await import('../../trace/perf-probe/spec-compiler.js')).specCompiler(image, args.vmlinux, { background: (await import('../debug-index.js')).buildInBackground });
      if (compile) specLines = (spec, taken) => compile([spec], { taken, force: true, command: `run: -a ${spec}`, warn: (t) => { process.stderr.write(t); } });
    }
    const sel = await rp.selectEvents(t, image, stored, asList(args.event), asList(args.add), specLines);
    if (!kprobeTablesCached && sel.probes.length) si!.saveKprobeTables(image, args.vmlinux);
    const hm = args.handlers !== undefined ? await (await import('../handlers.js')).loadHandlers(args.handlers) : undefined;
    const tracing = sel.selected.length > 0 || hm !== undefined;
    // --hist NAME or EVENT:NAME: a numeric argument, or $retval / retval of a return probe. A name
    // no selected event has is an error before the run.
    const selProbes = sel.selected.flatMap((k) => sel.probes.filter((p) => `${p.group}/${p.event}` === k));
    const hists = asList(args.hist).map((h) => {
      const { re, arg, retval } = parseHistSpec(h);
      const event = h.lastIndexOf(':') >= 0 ? h.slice(0, h.lastIndexOf(':')) : undefined;
      const fits = selProbes.filter((p) => (!re || re.test(`${p.group}:${p.event}`))
        && (retval ? p.type === 'r' : p.args.some((a) => a.name === arg && report.isNumericArg(a))));
      if (!fits.length) {
        const what = retval ? 'no selected return probe' : `no selected event has a numeric argument '${arg}'`;
        throw new CliError(`run: --hist ${h}: ${what}${event ? ` (event ${event})` : ''}; see \`ktrace list\``, EXIT_USAGE);
      }
      return { spec: h, re, arg: retval ? '$retval' : arg, retval, counts: new Map<string, import('../../output/trace-report.js').Log2Counts>() };
    });
    // --agg: bpftrace's count/sum/avg/min/max by a key; its fields must exist in a selected event.
    const { Aggregation, parseAgg, renderAggregation } = await import('../../output/aggregate.js');
    const aggs = asList(args.agg).map((text) => {
      let spec: import('../../output/aggregate.js').AggSpec;
      try { spec = parseAgg(text); } catch (e) { throw new CliError(`run: --agg ${text}: ${(e as Error).message}`, EXIT_USAGE); }
      const has = (p: import('../../trace/kprobe-events/probe.js').ProbeDef, name: string, numeric: boolean) =>
        name === '$retval' ? p.type === 'r' : p.args.some((a) => a.name === name && (!numeric || report.isNumericArg(a)));
      const fits = selProbes.filter((p) => (!spec.event || spec.event.test(`${p.group}:${p.event}`))
        && (spec.arg === undefined || has(p, spec.arg, true)) && (['comm', 'pid', 'cpu'].includes(spec.key) || has(p, spec.key, false)));
      if (!fits.length) throw new CliError(`run: --agg ${text}: no selected event has ${spec.arg !== undefined ? `a numeric '${spec.arg}'${['comm', 'pid', 'cpu'].includes(spec.key) ? '' : ' and '}` : ''}${['comm', 'pid', 'cpu'].includes(spec.key) ? '' : `an argument '${spec.key}'`}; see \`ktrace list\``, EXIT_USAGE);
      return new Aggregation(spec);
    });
    // --filter EVENT:EXPR: the kernel's event filter for this run (overriding a stored one).
    const { compileFilter, filterErrorText } = await import('../../trace/filter.js');
    const { TriggerRuntime, eventFields } = await import('../../trace/triggers.js');
    const runFilters = new Map<string, import('../../trace/filter.js').CompiledFilter>();
    for (const f of asList(args.filter)) {
      // EVENT or GROUP:EVENT, then ':' and the expression.
      const two = /^[\w*?[\]]+:[\w*?[\]]+:/.exec(f);
      const c = two ? two[0].length - 1 : f.indexOf(':');
      if (c <= 0) throw new CliError(`run: --filter ${f}: expected EVENT:EXPR`, EXIT_USAGE);
      const ev = f.slice(0, c), expr = f.slice(c + 1);
      const { eventMatcher } = await import('../../trace/runtime/probe-events.js');
      const m = eventMatcher(ev);
      const targets = sel.selected.filter((k) => m(k.slice(0, k.indexOf('/')), k.slice(k.indexOf('/') + 1)));
      if (!targets.length) throw new CliError(`run: --filter ${f}: no selected event matches ${ev}`, EXIT_USAGE);
      for (const k of targets) {
        const probe = sel.probes.find((p) => `${p.group}/${p.event}` === k)!;
        const r = compileFilter(expr, eventFields(probe));
        if (!r.ok) throw new CliError(`run: --filter ${k.replace('/', ':')}: ${filterErrorText(r).split('\n').reverse().join('\n  ').replace(/^parse_error: /, '')}`, EXIT_USAGE);
        runFilters.set(k, r.filter);
      }
    }
    // An event with triggers runs them even while disabled (the kernel's soft mode: its probe is
    // armed, its records discarded).
    const soft = new Set(Object.entries(sel.state.triggers ?? {}).filter(([k, l]) => l.length && !sel.selected.includes(k)).map(([k]) => k));
    const triggers = new TriggerRuntime(sel.state, [...selProbes, ...sel.probes.filter((p) => soft.has(`${p.group}/${p.event}`))], runFilters);
    const symOffset = args.stack || sel.state.symOffset === true;
    const tty = process.stdout.isTTY === true;
    const mode = args.json ? 'json' : args.trace ? 'trace' : (!tty && tracing && !args.summary && args.output === undefined) ? 'pipe' : 'summary';
    // --output FILE: NDJSON by extension, else the trace text; opened before the boot so a bad path fails at once.
    const fileJson = args.output !== undefined && /\.(nd)?json$/i.test(args.output);
    const file = args.output !== undefined ? new (await import('../../output/write.js')).AtomicFile(args.output, (m) => new CliError(`run: --output ${args.output}: ${m}`)) : undefined;
    const withJson = mode === 'json' || fileJson;
    const fileSink = file ? new (await import('../../trace/runtime/bytes.js')).ByteSink() : undefined;
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
      if (withJson) {
        // The event's text is its trace line, NUL (no fetched string holds one), its JSON object.
        const nul = bytes.indexOf(0);
        const text = bytes.subarray(0, nul), json = bytes.subarray(nul + 1);
        ring.pushBytes(cpu, text);
        if (mode === 'json') sink.append(json); else if (mode !== 'summary') sink.append(text);
        fileSink?.append(fileJson ? json : text);
        return;
      }
      ring.pushBytes(cpu, bytes);
      if (mode !== 'summary') sink.append(bytes);
      fileSink?.append(bytes);
    });
    // On a terminal (or --color=always) the trace's event names are coloured; files and pipes get the kernel's bytes.
    const { colorEnabled: colorOn, styler: mkStyler, colorTrace } = await import('../../output/tty.js');
    const traceStyle = mode === 'trace' && colorOn(process.stdout) ? mkStyler(true) : undefined;
    const writeChunk = () => {
      if (sink.length) outBytes(traceStyle ? Buffer.from(colorTrace(sink.take().toString('latin1'), traceStyle), 'latin1') : sink.take());
      if (fileSink?.length) file!.write(fileSink.take());
    };
    // --per-cpu: recorded events per event and CPU.
    const perCpu = new Map<string, number[]>();
    let events = 0;
    const retvals = new Map<string, Map<bigint, number>>();
    const { formatStackEntry } = await import('../../trace/kprobe-events/format.js');
    const { imageSymbolizer } = await import('../../trace/runtime/context.js');
    const sym = imageSymbolizer(image);
    const onEvent = (e: import('../../trace/runtime/probes.js').TraceEvent) => {
      const key = `${e.probe.group}/${e.probe.event}`;
      const o = triggers.hit(key, { id: sel.state.ids[key] ?? 0, cpu: e.cpu, comm: e.comm, pid: e.pid, ip: e.ip, func: e.func, args: e.args, stack: e.stack }, e.tsNs, soft.has(key));
      const stackText = (o.stack || (args.stack && o.record)) && e.stack
        ? formatStackEntry({ comm: e.comm, pid: e.pid, cpu: e.cpu, tsNs: e.tsNs, flags: { irqsOff: true, nmi: true, hardirq: true } }, e.stack, sym, symOffset) : undefined;
      if (o.record) {
        events++;
        const name = `${e.probe.group}:${e.probe.event}`;
        if (args['per-cpu']) {
          let c = perCpu.get(name);
          if (!c) perCpu.set(name, (c = []));
          c[e.cpu] = (c[e.cpu] ?? 0) + 1;
        }
        if (aggs.length) {
          const value = (n: string): bigint | string | undefined => {
            if (n === '$retval') return e.retval === undefined ? undefined : report.returnValue(e.retval);
            const a = e.args.find((x) => x.arg.name === n);
            if (!a) return undefined;
            return report.argNumber(a) ?? (!Array.isArray(a.value) && a.value.kind === 'str' ? a.value.text : undefined);
          };
          for (const g of aggs) g.add({ event: name, comm: e.comm, pid: e.pid, cpu: e.cpu, value });
        }
        if (e.retval !== undefined) {
          let m = retvals.get(name);
          if (!m) retvals.set(name, (m = new Map()));
          const v = report.returnValue(e.retval);
          m.set(v, (m.get(v) ?? 0) + 1);
        }
        for (const h of hists) {
          if (h.re && !h.re.test(name)) continue;
          let v: bigint | undefined;
          if (h.retval) v = e.retval === undefined ? undefined : report.returnValue(e.retval);
          else { const a = e.args.find((x) => x.arg.name === h.arg); v = a && report.argNumber(a); }
          if (v === undefined) continue;
          let c = h.counts.get(name);
          if (!c) h.counts.set(name, (c = new Map()));
          report.addToLog2(c, v);
        }
        const stack = args.stack && e.stack ? e.stack.map((a) => sym.withOffset(a)) : undefined;
        merger.push(e.cpu, Number(e.tsNs), withJson ? e.line + '\0' + traceEventJson(e, sym, stack) + '\n' : e.line);
      }
      if (stackText) merger.push(e.cpu, Number(e.tsNs), withJson ? stackText + '\0' : stackText);
    };
    const pr = rp.probeRun(t, { ...sel, selected: [...sel.selected, ...soft] }, onEvent, false, (p) => args.stack || triggers.wantsStack(`${p.group}/${p.event}`));

    // The first SIGINT or SIGTERM ends the run (what was gathered is still reported); a second one
    // exits at once. A reader that goes away (`| head`) ends it quietly.
    let interrupted = false, readerGone = false, durationReached = false;
    let stop!: () => void;
    const stopped = new Promise<void>((r) => { stop = r; });
    const onSignal = (sig: NodeJS.Signals) => {
      // A second signal exits at once: --output's temporary file goes (FILE stays as it was).
      if (interrupted && !readerGone) { file?.abort(); process.exit(sig === 'SIGINT' ? 130 : 143); }
      interrupted = true;
      stop();
    };
    onStdoutClosed(() => { readerGone = true; interrupted = true; stop(); });
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const progress = await startProgress(process.stderr, `booting ${script.file}`);
    let result: import("../../kernel/session.js").RunResult;
    try {
      result = await runScriptAsync(image, script, {
        cpus, seed: args.seed, maxInsns: args['max-insns'], timerPeriod: tp,
        // --duration is checked between slices: slices of about a twentieth of it (at 1 ns an instruction).
        ...(durationNs !== undefined ? { slice: Math.max(1000, Math.min(1_000_000, Math.floor(durationNs / 20))) } : {}),
        snapshot: args.snapshot, imageKey: args.snapshot ? (await import('../../cache.js')).imageKey(args.vmlinux) : undefined,
        shouldStop: () => {
          const ms = pr.session();
          if (durationNs !== undefined && ms && ms.platform.emulatedNs >= durationNs) durationReached = true;
          return interrupted || durationReached;
        },
        onProgress: (p) => {
          progress.update(`${script.file}: ${(p.instructions / 1e6).toFixed(1)}M instructions, ${p.syscalls} system calls, ${events} events`);
          const ms = pr.session();
          if (!ms || merger.pending === 0) return undefined;
          merger.flush(clockWatermark(ms.platform.machine.cpus));
          writeChunk();
          return drained(stopped);
        },
        attach: hm ? (p) => {
          pr.attach(p);
          // trace_printk lines stream with the events (NDJSON: {"type":"print"})
          hm.attach(pr.session()!, (cpu, ts, line) => {
            events++;
            merger.push(cpu, Number(ts), withJson ? line + '\0' + JSON.stringify({ type: 'print', cpu, ts: Number(ts), line: wellFormed(line.replace(/\n$/, '')) }) + '\n' : line);
          });
        } : pr.attach,
      });
    } catch (e) {
      file?.abort();
      throw e;
    } finally {
      progress.stop();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    try {
      merger.flush();
      writeChunk();
    } catch (e) { file?.abort(); throw e; }
    const ms = pr.session();
    const handlerReport = hm?.finish();
    if (args['show-list'] && ms) {
      const { renderKprobeList } = await import('../../kprobe/debugfs.js');
      process.stderr.write(`/sys/kernel/debug/kprobes/list after the run:\n${renderKprobeList(ms.mgr, ms.krm.typeOf)}`);
    }
    const counts = ms ? rp.probeCounts(ms) : [];
    if (ms && counts.length + sel.state.kprobeEvents.length > 0) {
      store.updateState(dir, args.vmlinux, (s) => {
        const next = rp.foldRun(s, counts, ring, cpus, result.emulatedNs, showProbe, sel.gens);
        const f = triggers.fold(next.triggers, next.tracingOn, (k) => !sel.temporary.has(k) && rp.sameGeneration(next, sel.gens, k));
        return { state: { ...rp.markEnabledOnce(next, sel.selected.filter((k) => !sel.temporary.has(k) && rp.sameGeneration(next, sel.gens, k))), triggers: f.triggers, tracingOn: f.tracingOn }, result: undefined };
      });
    }
    // A run ended by --duration: a clean end, said as such.
    if (durationReached && result.end.kind === 'interrupted' && !readerGone) {
      result = { ...result, end: { kind: 'duration', limitNs: durationNs! } as never, exitCode: result.failures.length ? 1 : 0 };
    }
    // One row per event (an event's probes add up).
    const rows: { event: string; hits: number; misses: number }[] = [];
    for (const c of counts) {
      if (!sel.selected.includes(`${c.probe.group}/${c.probe.event}`)) continue;
      const name = `${c.probe.group}:${c.probe.event}`;
      const row = rows.find((r) => r.event === name);
      if (row) { row.hits += c.hits; row.misses += c.misses; } else rows.push({ event: name, hits: c.hits, misses: c.misses });
    }
    const triggerHists = sel.selected.flatMap((k) => triggers.hists(k).map((x) => ({ event: k.replace('/', ':'), trigger: histTriggerText(x.spec, !!x.stored.paused).trimEnd(), text: histShow(x.spec, x.data, !!x.stored.paused, sym) })));
    const cpusOf = (ev: string) => Array.from({ length: cpus }, (_, i) => perCpu.get(ev)?.[i] ?? 0);
    const summaryJson = () => {
      const summary = JSON.parse(runResultJson(result, { timing: args.timing, console: args.console }));
      const rv = Object.fromEntries([...retvals].map(([ev, m]) => [ev, Object.fromEntries([...m].map(([v, n]) => [v.toString(), n]))]));
      const histograms = hists.flatMap((h) => [...h.counts].map(([ev, c]) => ({ event: ev, field: h.arg, buckets: report.log2Rows(c) })));
      // What `ktrace report` needs to rebuild the tables from the events: the --hist specs and which
      // arguments of each event are numbers.
      const numeric = Object.fromEntries(selProbes.map((p) => [`${p.group}:${p.event}`, [...(p.type === 'r' ? ['$retval'] : []), ...p.args.filter((a) => report.isNumericArg(a)).map((a) => a.name)]]));
      const aggregations = aggs.flatMap((g) => g.rows().map((b) => ({ agg: g.spec.text, event: b.event, rows: b.rows.map(([k, v]) => [k, v.toString()]) })));
      // JSON holds Unicode text: bytes that are not UTF-8 (in hist keys, say) show as U+FFFD.
      return JSON.stringify({ type: 'summary', ...summary, probes: rows, retvals: rv, histograms, histSpecs: hists.map((h) => h.spec), numericArgs: numeric,
        ...(aggs.length ? { aggSpecs: aggs.map((g) => g.spec.text), aggregations } : {}),
        ...(args['per-cpu'] ? { perCpu: Object.fromEntries([...perCpu.keys()].map((ev) => [ev, cpusOf(ev)])) } : {}),
        ...(handlerReport?.log.length ? { printk: { module: args.handlers, lines: handlerReport.log } } : {}),
        ...(triggerHists.length ? { hist: triggerHists } : {}) }, wellFormedJson) + '\n';
    };
    if (file) {
      if (fileJson) file.write(summaryJson());
      file.commit();
    }
    if (mode === 'json') {
      out(summaryJson());
    } else if (mode !== 'pipe') {
      const { formatResult } = await import('../../kernel/workload/syscalls.js');
      const { colorEnabled, styler } = await import('../../output/tty.js');
      const style = styler(colorEnabled(mode === 'trace' ? process.stderr : process.stdout));
      const text = renderRunSummary(result, { console: args.console, timing: args.timing }) + report.renderProbeReport({
        rows, retvals, hists, triggerHists, aggs: aggs.map(renderAggregation),
        ...(args['per-cpu'] ? { perCpu: { cpus, counts: new Map([...perCpu.keys()].map((ev) => [ev, cpusOf(ev)])) } } : {}),
        ...(handlerReport?.log.length ? { printk: { module: args.handlers!, lines: handlerReport.log } } : {}),
      }, formatResult, style);
      if (mode === 'trace') process.stderr.write(text); else out(text);
    }
    if (handlerReport && (mode === 'pipe' || mode === 'json') && handlerReport.log.length) process.stderr.write(handlerReport.log.join('\n') + '\n');
    for (const e of handlerReport?.errors ?? []) process.stderr.write(`ktrace: run: --handlers: ${e}\n`);
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
