// ktrace report FILE (perf report for a `ktrace run --output FILE.ndjson`): the run summary and the
// event tables from a saved run. The hit/miss table and the run's own numbers come from the saved
// summary object; return values, histograms and the per-CPU table are counted again from the saved
// events, so `--hist` and `--per-cpu` also work on a run recorded without them.
import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../options.js';
import { CliError, EXIT_USAGE } from '../errors.js';
import type { FastCommand } from '../fastargs.js';

interface Args extends GlobalArgs { file: string; hist?: string[]; agg?: string[]; 'per-cpu': boolean; console: boolean; timing: boolean }

const options = {
  hist: { type: 'string' as const, array: true, describe: "power-of-two histogram of a numeric argument or '$retval': NAME or EVENT:NAME (added to the run's own)" },
  'per-cpu': { type: 'boolean' as const, default: false, describe: 'the table of the events each CPU recorded' },
  agg: { type: 'string' as const, array: true, describe: "bpftrace-style aggregation, as run --agg: 'sum(count) by comm' (added to the run's own)" },
  console: { type: 'boolean' as const, default: true, describe: 'include the kernel console (--no-console hides it)' },
  timing: { type: 'boolean' as const, default: true, describe: 'print the saved host time and MIPS (--no-timing hides them)' },
};

const asList = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);

async function handler(args: Args): Promise<void> {
  const { createReadStream, statSync } = await import('node:fs');
  const { createInterface } = await import('node:readline');
  const { parseHistSpec } = await import('./run.js');
  const report = await import('../../output/trace-report.js');
  const { renderRunSummary, runResultFromJson } = await import('../../output/run-summary.js');
  const { formatResult } = await import('../../kernel/workload/syscalls.js');
  const { out } = await import('../../output/write.js');
  const { colorEnabled, styler } = await import('../../output/tty.js');
  const file = args.file;
  const { sysMessage } = await import('../../output/write.js');
  let st: import('node:fs').Stats;
  try { st = statSync(file); } catch (e) { throw new CliError(`report: ${file}: ${sysMessage(e)}`); }
  if (st.isDirectory()) throw new CliError(`report: ${file}: Is a directory`);
  // Counted from the events as they stream by; the summary object is the last line.
  const retvals = new Map<string, Map<bigint, number>>();
  const perCpu = new Map<string, number[]>();
  /** Every numeric argument's power-of-two counts, "event\0arg" (and "event\0$retval"): which ones are shown is known at the end. */
  const log2 = new Map<string, Map<number, number>>();
  const count = (key: string, v: bigint) => { let c = log2.get(key); if (!c) log2.set(key, (c = new Map())); report.addToLog2(c, v); };
  // --agg needs to know which arguments are numbers (the summary, the last line): a first pass finds it.
  const { Aggregation, parseAgg, renderAggregation } = await import('../../output/aggregate.js');
  let aggs: InstanceType<typeof Aggregation>[] = [];
  let numericFirst: Record<string, string[]> = {};
  const aggTexts = asList(args.agg);
  {
    let last: string | undefined;
    for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) if (line.startsWith('{"type":"summary"')) last = line;
    const first = last ? JSON.parse(last) as Record<string, unknown> : {};
    numericFirst = (first.numericArgs ?? {}) as Record<string, string[]>;
    aggs = [...asList(first.aggSpecs), ...aggTexts].map((t) => {
      try { return new Aggregation(parseAgg(t)); } catch (e) { throw new CliError(`report: --agg ${t}: ${(e as Error).message}`, EXIT_USAGE); }
    });
  }
  let summary: Record<string, unknown> | undefined;
  let lineNo = 0;
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of rl) {
    lineNo++;
    if (line.trim() === '') continue;
    let o: Record<string, unknown>;
    try { o = JSON.parse(line); } catch {
      if (lineNo === 1) throw new CliError(`report: ${file}: not a saved run (NDJSON); \`ktrace run --output FILE.ndjson\` writes one (a text trace has no summary to report)`);
      throw new CliError(`report: ${file}:${lineNo}: not a JSON object`);
    }
    if (summary) throw new CliError(`report: ${file}:${lineNo}: data after the summary object`);
    if (o.type === 'summary') { summary = o; continue; }
    if (o.type !== 'event') continue;
    const ev = String(o.event);
    if (typeof o.cpu === 'number') {
      let c = perCpu.get(ev);
      if (!c) perCpu.set(ev, (c = []));
      c[o.cpu] = (c[o.cpu] ?? 0) + 1;
    }
    if (o.retval !== undefined && o.retval !== null) {
      const v = BigInt(o.retval as number | string);
      let m = retvals.get(ev);
      if (!m) retvals.set(ev, (m = new Map()));
      m.set(v, (m.get(v) ?? 0) + 1);
      count(`${ev}\0$retval`, v);
    }
    const a = (o.args ?? {}) as Record<string, unknown>;
    if (aggs.length) {
      const nums = numericFirst[ev] ?? [];
      const value = (n: string): bigint | string | undefined => {
        if (n === '$retval') return o.retval === undefined || o.retval === null ? undefined : BigInt(o.retval as number | string);
        const v = a[n];
        if (nums.includes(n)) return typeof v === 'number' || typeof v === 'string' ? BigInt(v) : undefined;
        return typeof v === 'string' ? v : undefined;
      };
      for (const g of aggs) g.add({ event: ev, comm: String(o.comm), pid: Number(o.pid), cpu: Number(o.cpu), value });
    }
    for (const [name, v] of Object.entries(a)) if (typeof v === 'number' || typeof v === 'string') {
      // Counted if it looks like a number; shown only where the summary says the argument is one.
      if (typeof v === 'number' || /^(-?[0-9]+|0x[0-9a-f]+)$/.test(v)) count(`${ev}\0${name}`, BigInt(v));
    }
  }
  if (!summary) throw new CliError(`report: ${file}: no summary object at the end: not a whole \`ktrace run --output\` record`);
  let parsed: ReturnType<typeof runResultFromJson>;
  try { parsed = runResultFromJson(summary); } catch (e) { throw new CliError(`report: ${file}: ${(e as Error).message}`); }
  const numeric = (summary.numericArgs ?? {}) as Record<string, string[]>;
  const rows = (Array.isArray(summary.probes) ? summary.probes : []) as import('../../output/trace-report.js').ProbeCount[];
  const events = [...new Set([...rows.map((r) => r.event), ...Object.keys(numeric)])];
  const specs = [...asList(summary.histSpecs), ...asList(args.hist)];
  const hists = specs.map((h, i) => {
    const { re, arg, retval } = parseHistSpec(h);
    const fits = events.filter((ev) => (!re || re.test(ev)) && numeric[ev]?.includes(arg));
    if (!fits.length && i >= asList(summary!.histSpecs).length) {
      throw new CliError(`report: --hist ${h}: ${retval ? 'no return probe' : `no event has a numeric argument '${arg}'`} in ${file}`, EXIT_USAGE);
    }
    const counts = new Map<string, Map<number, number>>();
    for (const ev of fits) { const c = log2.get(`${ev}\0${arg}`); if (c) counts.set(ev, c); }
    return { arg, counts };
  });
  const printk = summary.printk as { module: string; lines: string[] } | undefined;
  const showPerCpu = args['per-cpu'] || summary.perCpu !== undefined;
  const cpus = parsed.result.cpus;
  const text = renderRunSummary(parsed.result, { console: args.console && parsed.console, timing: args.timing && parsed.timing }) + report.renderProbeReport({
    rows, retvals, hists, aggs: aggs.map(renderAggregation),
    triggerHists: (Array.isArray(summary.hist) ? summary.hist : []) as { event: string; text: string }[],
    ...(showPerCpu ? { perCpu: { cpus, counts: new Map([...perCpu].map(([ev, c]) => [ev, Array.from({ length: cpus }, (_, i) => c[i] ?? 0)])) } } : {}),
    ...(printk?.lines?.length ? { printk } : {}),
  }, formatResult, styler(colorEnabled(process.stdout)));
  out(text);
}

const command: CommandModule<GlobalArgs, Args> = {
  command: 'report <file>',
  describe: 'the summary and tables of a saved run (`ktrace run --output FILE.ndjson`), as perf report',
  builder: (y) => y.positional('file', { type: 'string', demandOption: true, describe: 'an NDJSON file written by `ktrace run --output`' })
    .options(options)
    .example("$0 run -a 'vfs_read%return $retval' -o run.ndjson", 'record a run')
    .example('$0 report run.ndjson', 'its summary, hit table and return values again')
    .example("$0 report run.ndjson --hist '$retval' --per-cpu", 'a histogram and the per-CPU table it was not recorded with') as never,
  handler,
};
export default command;
export const fast: FastCommand[] = [{ command: 'report <file>', options, handler: (a) => handler(a as Args) }];
