// ktrace funcs [FILTER]: the functions a probe can name, like `perf probe --funcs` (src/trace/perf-probe/funcs.ts).
import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../options.js';
import { DEFAULT_FUNC_FILTER } from '../../trace/perf-probe/strfilter.js';
import type { FastCommand } from '../fastargs.js';
import type { FuncsArgs as Args } from '../actions/funcs.js';

const options = {
  all: { alias: 'a', type: 'boolean', default: false, describe: 'no filter: include _* names' },
  json: { type: 'boolean', default: false, describe: 'print a JSON array of {name, addr, size}' },
} as const;

const command: CommandModule<GlobalArgs, Args> = {
  command: 'funcs [filter]',
  describe: 'list probe-able functions (like perf probe --funcs)',
  builder: (y) => y
    .positional('filter', {
      type: 'string',
      describe: `glob filter; !, & and | combine globs as in perf (default: '${DEFAULT_FUNC_FILTER}', which hides _* names)`,
    })
    .options(options)
    .example('$0 funcs', 'all functions perf would list by default')
    .example("$0 funcs 'vfs_*'", 'functions starting with vfs_')
    .example("$0 funcs '*read* & !*_iter'", 'perf filter syntax')
    .example('$0 funcs --all | wc -l', 'count every function symbol'),
  handler: async (args) => (await import('../actions/funcs.js')).funcs(args),
};
export default command;
export const fast: FastCommand[] = [{ command: command.command as string, options, handler: command.handler }];
