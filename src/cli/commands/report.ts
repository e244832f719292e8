// ktrace report FILE (perf report for a `ktrace run --output FILE.ndjson`): the run summary and the
// event tables from a saved run. The hit/miss table and the run's own numbers come from the saved
// summary object; return values, histograms and the per-CPU table are counted again from the saved
// events, so `--hist` and `--per-cpu` also work on a run recorded without them.
import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../options.js';
import type { ReportArgs as Args } from '../actions/report.js';
import type { FastCommand } from '../fastargs.js';

const options = {
  hist: { type: 'string' as const, array: true, describe: "power-of-two histogram of a numeric argument or '$retval': NAME or EVENT:NAME (added to the run's own)" },
  'per-cpu': { type: 'boolean' as const, default: false, describe: 'the table of the events each CPU recorded' },
  agg: { type: 'string' as const, array: true, describe: "bpftrace-style aggregation, as run --agg: 'sum(count) by comm' (added to the run's own)" },
  console: { type: 'boolean' as const, default: true, describe: 'include the kernel console (--no-console hides it)' },
  timing: { type: 'boolean' as const, default: true, describe: 'print the saved host time and MIPS (--no-timing hides them)' },
};

const handler = async (args: Args) => (await import('../actions/report.js')).reportRun(args);

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
