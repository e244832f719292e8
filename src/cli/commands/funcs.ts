// ktrace funcs [FILTER]: the functions a probe can name, like `perf probe --funcs`.
import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../options.js';
import { CliError, EXIT_USAGE } from '../errors.js';
import { DEFAULT_FUNC_FILTER, parseStrFilter } from '../strfilter.js';
import type { FastCommand } from '../fastargs.js';
import type { Image } from '../../elf/image.js';
import type { Sym } from '../../elf/symbols.js';

interface Args extends GlobalArgs {
  filter?: string;
  all: boolean;
  json: boolean;
}

const options = {
  all: { alias: 'a', type: 'boolean', default: false, describe: 'no filter: include _* names and .cold/.constprop clones' },
  json: { type: 'boolean', default: false, describe: 'print a JSON array of {name, addr, size}' },
} as const;

/**
 * The symbols perf's kernel map holds (util/symbol-elf.c dso__load_sym): functions (STT_FUNC,
 * STT_GNU_IFUNC) and code labels (STT_NOTYPE, like entry_SYSCALL_64_after_hwframe), of the .text
 * section only: symbols of other sections (.init.text) go to maps of their own, which --funcs does not list.
 */
export function perfFunctionSymbols(img: Image): Sym[] {
  return img.symbols.filter((s) => s.name !== '' && (s.type === 'FUNC' || s.type === 'IFUNC' || s.type === 'NOTYPE')
    && s.shndx > 0 && s.shndx < 0xff00 && img.sections[s.shndx]?.name === '.text');
}

/** `perf probe --funcs`'s list with its default filter: each name once, sorted. */
export function perfFunctionNames(img: Image): string[] {
  const f = parseStrFilter(DEFAULT_FUNC_FILTER);
  if (!f.ok) throw new Error(f.reason);
  return [...new Set(perfFunctionSymbols(img).map((s) => s.name).filter(f.filter))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

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
    for (const f of perfFunctionSymbols(img)) if (!byName.has(f.name) && parsed.filter(f.name)) byName.set(f.name, f);
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
