// ktrace funcs [FILTER]: the functions a probe can name, like `perf probe --funcs`.
import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../options.js';
import { CliError, EXIT_USAGE } from '../errors.js';
import { DEFAULT_FUNC_FILTER, parseStrFilter } from '../strfilter.js';
import type { FastCommand } from '../fastargs.js';

interface Args extends GlobalArgs {
  filter?: string;
  all: boolean;
  json: boolean;
}

const options = {
  all: { alias: 'a', type: 'boolean', default: false, describe: 'no filter: include _* names and .cold/.constprop clones' },
  json: { type: 'boolean', default: false, describe: 'print a JSON array of {name, addr, size}' },
} as const;

const command: CommandModule<GlobalArgs, Args> = {
  command: 'funcs [filter]',
  describe: 'list probe-able functions (like perf probe --funcs)',
  builder: (y) => y
    .positional('filter', {
      type: 'string',
      describe: `glob filter; !, & and | combine globs as in perf (default: '${DEFAULT_FUNC_FILTER}', which hides _* names and clones like foo.cold)`,
    })
    .options(options)
    .example('$0 funcs', 'all functions perf would list by default')
    .example("$0 funcs 'vfs_*'", 'functions starting with vfs_')
    .example("$0 funcs '*read* & !*_iter'", 'perf filter syntax')
    .example('$0 funcs --all | wc -l', 'count every function symbol'),
  handler: async (args) => {
    const { loadImage } = await import('../image.js');
    const { out } = await import('../../output/write.js');
    if (args.all && args.filter !== undefined) throw new CliError('funcs: give either a FILTER or --all', EXIT_USAGE);
    const parsed = parseStrFilter(args.all ? '*' : args.filter ?? DEFAULT_FUNC_FILTER);
    if (!parsed.ok) throw new CliError(`funcs: bad filter '${args.filter}': ${parsed.reason}`, EXIT_USAGE);
    const img = loadImage(args.vmlinux);
    // perf lists function symbols by name, each name once (dso__fprintf_symbols_by_name);
    // blacklisted functions are listed too, as perf lists them.
    const byName = new Map<string, { addr: number; size: number }>();
    for (const f of img.functions) if (!byName.has(f.name) && parsed.filter(f.name)) byName.set(f.name, f);
    const names = [...byName.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (args.json) {
      const { hex } = await import('../../elf/addr.js');
      out(JSON.stringify(names.map((n) => ({ name: n, addr: '0x' + hex(byName.get(n)!.addr), size: byName.get(n)!.size }))) + '\n');
    } else {
      out(names.length ? names.join('\n') + '\n' : '');
    }
    if (names.length === 0) process.stderr.write(`ktrace: funcs: no function matches '${args.filter ?? DEFAULT_FUNC_FILTER}'\n`);
  },
};
export default command;
export const fast: FastCommand[] = [{ command: command.command as string, options, handler: command.handler }];
