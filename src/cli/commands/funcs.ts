// ktrace funcs [FILTER]: the functions a probe can name, like `perf probe --funcs` (src/trace/perf-probe/funcs.ts).
import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../options.js';
import { CliError, EXIT_USAGE } from '../errors.js';
import { DEFAULT_FUNC_FILTER, parseStrFilter } from '../../trace/perf-probe/strfilter.js';
import { perfFunctionList, perfFunctionNameList } from '../../trace/perf-probe/funcs.js';
import type { FastCommand } from '../fastargs.js';

interface Args extends GlobalArgs {
  filter?: string;
  all: boolean;
  json: boolean;
}

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
  handler: async (args) => {
    const { loadIndexedImage } = await import('../load-image.js');
    const { out } = await import('../../output/write.js');
    if (args.all && args.filter !== undefined) throw new CliError('funcs: give either a FILTER or --all', EXIT_USAGE);
    const parsed = parseStrFilter(args.all ? '*' : args.filter ?? DEFAULT_FUNC_FILTER);
    if (!parsed.ok) throw new CliError(`funcs: bad filter '${args.filter}': ${parsed.reason}`, EXIT_USAGE);
    const img = await loadIndexedImage(args.vmlinux);
    // Blacklisted functions are listed too, as perf lists them.
    const order = img.symbolOrders?.perf;
    const list = args.json || !order ? perfFunctionList(img, parsed.filter) : [];
    // Names alone from the index's order: no symbol decoded whole.
    const names = args.json || !order ? list.map((s) => s.name) : (img.symbolOrders!.perfNames?.() ?? perfFunctionNameList(img, order)).filter(parsed.filter);
    if (args.json) {
      const { hex0x } = await import('../../base/addr.js');
      out(JSON.stringify(list.map((s) => ({ name: s.name, addr: hex0x(s.addr), size: s.size }))) + '\n');
    } else {
      out(names.length ? names.join('\n') + '\n' : '');
    }
    if (names.length === 0) process.stderr.write(`ktrace: funcs: no function matches '${args.filter ?? DEFAULT_FUNC_FILTER}'\n`);
  },
};
export default command;
export const fast: FastCommand[] = [{ command: command.command as string, options, handler: command.handler }];
