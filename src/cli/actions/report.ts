// ktrace report (commands/report.ts): the summary and tables of a saved run, rendered as the live run rendered them.
import type { GlobalArgs } from '../options.js';
import * as report from '../../output/trace-report.js';
import { CliError, EXIT_USAGE } from '../errors.js';
import { formatResult } from '../../kernel/workload/syscalls.js';
import { Aggregation, parseAgg, renderAggregation } from '../../output/aggregate.js';
import { renderRunSummary, runResultFromJson } from '../../output/run-summary.js';
import { colorEnabled, styler } from '../../output/tty.js';
import { out, sysMessage } from '../../output/write.js';
import { parseHistSpec } from '../commands/run.js';
import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';

export interface ReportArgs extends GlobalArgs { file: string; hist?: string[]; agg?: string[]; 'per-cpu': boolean; console: boolean; timing: boolean }

const asList = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);

export async function reportRun(args: ReportArgs): Promise<void> {
  const file = args.file;
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
