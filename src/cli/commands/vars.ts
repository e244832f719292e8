// ktrace vars SPEC [--externs] [--no-inlines] [--max-probes N] (perf probe -V): the variables a probe can fetch at each address the
// probe point resolves to, with perf's type spelling (src/trace/perf-probe/vars.ts).
import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../options.js';
import type { VarsArgs as Args } from '../actions/vars.js';
import type { FastCommand } from '../fastargs.js';

const options = {
  externs: { type: 'boolean' as const, default: false, describe: 'also list the global variables of the compile unit' },
  source: { alias: 's', type: 'string' as const, describe: 'source tree for lazy patterns (;PTN), as perf probe -s' },
  // perf applies both to -V as to -a (probe_conf: probe_point_search_cb, and add_available_vars's
  // "Too many( > N) probe point found." once the sites exceed max_probes).
  inlines: { type: 'boolean' as const, default: true, describe: "--no-inlines: don't search inlined functions (nor the out-of-line copies of functions declared inline), as perf" },
  'max-probes': { type: 'number' as const, describe: 'how many addresses the point may resolve to (perf\'s default: 128)' },
  json: { type: 'boolean' as const, default: false, describe: 'print JSON: {point, sites: [{symbol, offset, address, vars: [{name, type, kind, location}]}]}' },
};

const handler = async (args: Args) => (await import('../actions/vars.js')).vars(args);

const command: CommandModule<GlobalArgs, Args> = {
  command: 'vars <spec>',
  describe: 'list the variables available at a probe point (perf probe -V)',
  builder: (y) => y.positional('spec', { type: 'string', demandOption: true, describe: 'FUNC[@FILE][+OFFS|:RLN|;PTN] or FILE:LINE' })
    .options(options)
    .example('$0 vars vfs_read', "vfs_read's parameters at its entry")
    .example('$0 vars vfs_read:10', 'at line 10 of the function')
    .example('$0 vars read_write.c:30 --externs', 'at a source line, with globals')
    .example('$0 vars sock_put --no-inlines', "perf's --no-inlines: not found, sock_put is declared inline")
    .example('$0 vars vfs_read --json', 'with each variable\'s fetch location (%di, +8(%sp), @sym+off)'),
  handler,
};
export default command;
export const fast: FastCommand[] = [{ command: 'vars <spec>', options, handler }];
