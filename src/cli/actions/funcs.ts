// ktrace funcs (commands/funcs.ts): perf probe --funcs's list of the image's functions.
import type { GlobalArgs } from '../options.js';
import { CliError, EXIT_USAGE } from '../errors.js';
import { loadImage, SYMBOL_INDEX_MIN } from '../load-image.js';
import { DEFAULT_FUNC_FILTER, parseStrFilter } from '../../trace/perf-probe/strfilter.js';
import { perfFunctionList } from '../../trace/perf-probe/funcs.js';
import { hex0x } from '../../base/addr.js';
import { out } from '../../output/write.js';

export interface FuncsArgs extends GlobalArgs {
  filter?: string;
  all: boolean;
  json: boolean;
}

export async function funcs(args: FuncsArgs): Promise<void> {
  if (args.all && args.filter !== undefined) throw new CliError('funcs: give either a FILTER or --all', EXIT_USAGE);
  const parsed = parseStrFilter(args.all ? '*' : args.filter ?? DEFAULT_FUNC_FILTER);
  if (!parsed.ok) throw new CliError(`funcs: bad filter '${args.filter}': ${parsed.reason}`, EXIT_USAGE);
  const img = loadImage(args.vmlinux);
  // A big image's names alone from their cache entry (or its symbol index): no symbol decoded whole;
  // --json lists the symbols through the symbol index's order.
  const si = img.source.size >= SYMBOL_INDEX_MIN ? await import('../symbol-index.js') : undefined;
  const all = si && !args.json ? await si.perfFunctionNames(img, args.vmlinux) : undefined;
  if (si && args.json) await si.attachSymbolIndex(img, args.vmlinux);
  // Blacklisted functions are listed too, as perf lists them.
  const list = args.json || !all ? perfFunctionList(img, parsed.filter) : [];
  const names = all ? all.filter(parsed.filter) : list.map((s) => s.name);
  if (args.json) {
    out(JSON.stringify(list.map((s) => ({ name: s.name, addr: hex0x(s.addr), size: s.size }))) + '\n');
  } else {
    out(names.length ? names.join('\n') + '\n' : '');
  }
  if (names.length === 0) process.stderr.write(`ktrace: funcs: no function matches '${args.filter ?? DEFAULT_FUNC_FILTER}'\n`);
}
