// ktrace line FUNC|FILE:LINE[-LINE] (perf probe -L): the source with the lines a probe can be placed on
// numbered, the rest indented (src/trace/perf-probe/line-range.ts).
import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../options.js';
import type { LineArgs as Args } from '../actions/line.js';
import type { FastCommand } from '../fastargs.js';

const options = {
  source: { alias: 's', type: 'string' as const, describe: 'source tree the debug info\'s paths are looked up under, as perf probe -s (leading directories dropped until found)' },
};

const handler = async (args: Args) => (await import('../actions/line.js')).line(args);

const command: CommandModule<GlobalArgs, Args> = {
  command: 'line <range>',
  describe: 'show source lines where probes can be placed (perf probe -L)',
  builder: (y) => y.positional('range', { type: 'string', demandOption: true, describe: 'FUNC[@FILE][:START[-END|+NUM]] or FILE[:START[-END|+NUM]]' })
    .options(options)
    .example('$0 line vfs_read', 'the function, lines numbered from its declaration')
    .example('$0 line vfs_read:2-6', 'lines 2..6 of the function')
    .example('$0 line fs/read_write.c:20-30', 'absolute lines of a file')
    .example('$0 line -s /usr/src/linux vfs_read', 'with the kernel sources elsewhere (a distribution kernel)'),
  handler,
};
export default command;
export const fast: FastCommand[] = [{ command: 'line <range>', options, handler }];
