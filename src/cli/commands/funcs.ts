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
  all: { alias: 'a', type: 'boolean', default: false, describe: 'no filter: include _* names' },
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

/**
 * The symbols `perf probe --funcs` lists through `filter`, sorted by name (then address): one entry a
 * symbol, so a name several static functions share is listed as often (dso__fprintf_symbols_by_name
 * prints every symbol of the by-name array).
 */
export function perfFunctionList(img: Image, filter: (name: string) => boolean): Sym[] {
  const order = img.symbolsLoaded ? undefined : img.symbolOrders?.perf;
  if (order) {
    // A persistent index's order (src/cli/symbol-index.ts): only the names are decoded for the filter.
    const out: Sym[] = [];
    for (const i of order) if (filter(img.symbolNameAt(i))) out.push(img.symbolAtIndex(i));
    return out;
  }
  return sortPerfFunctions(perfFunctionSymbols(img).filter((s) => filter(s.name)));
}

/** The names of an index's perf order. */
function perfFunctionNameList(img: Image, order: Uint32Array): string[] {
  return Array.from(order, (i) => img.symbolNameAt(i));
}

/** Images this big have a symbol index (src/cli/symbol-index.ts SYMBOL_INDEX_MIN; the module is loaded only for them). */
export const BIG_IMAGE = 64 << 20;

/** perf's by-name order: name, then address. */
export function sortPerfFunctions(syms: Sym[]): Sym[] {
  return syms.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.addr - b.addr));
}

/** `perf probe --funcs`'s list with its default filter. */
export function perfFunctionNames(img: Image): string[] {
  const f = parseStrFilter(DEFAULT_FUNC_FILTER);
  if (!f.ok) throw new Error(f.reason);
  return perfFunctionList(img, f.filter).map((s) => s.name);
}

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
    const { loadImage } = await import('../load-image.js');
    const { out } = await import('../../output/write.js');
    if (args.all && args.filter !== undefined) throw new CliError('funcs: give either a FILTER or --all', EXIT_USAGE);
    const parsed = parseStrFilter(args.all ? '*' : args.filter ?? DEFAULT_FUNC_FILTER);
    if (!parsed.ok) throw new CliError(`funcs: bad filter '${args.filter}': ${parsed.reason}`, EXIT_USAGE);
    const img = loadImage(args.vmlinux);
    if (img.source.size >= BIG_IMAGE) await (await import('../symbol-index.js')).attachSymbolIndex(img, args.vmlinux);
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
