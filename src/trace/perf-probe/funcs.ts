// perf probe --funcs (-F): the functions a probe can name (tools/perf/util/symbol-elf.c dso__load_sym for
// which symbols perf's kernel map holds, dso__fprintf_symbols_by_name for the order), through perf's
// string filter (strfilter.ts). `ktrace funcs` prints these lists.
import type { Image } from '../../elf/image.js';
import type { Sym } from '../../elf/symbols.js';
import { DEFAULT_FUNC_FILTER, parseStrFilter } from './strfilter.js';

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
export function perfFunctionNameList(img: Image, order: Uint32Array): string[] {
  return Array.from(order, (i) => img.symbolNameAt(i));
}

/** perf's by-name order: name, then address. */
export function sortPerfFunctions(syms: Sym[]): Sym[] {
  return syms.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.addr - b.addr));
}

/**
 * The function symbol holding an address, as perf names a probe address by its kernel map
 * (probe-event.c post_process_probe_trace_point; PointOptions.elfSymbol).
 */
export function elfSymbolLookup(img: Image): (addr: number) => { name: string; addr: number } | undefined {
  return (addr) => { const s = img.functionAt(addr); return s && { name: s.name, addr: s.addr }; };
}

/**
 * The first symbol named `name` in perf's kernel map (perfFunctionSymbols: functions and code labels
 * of .text), as find_alternative_probe_point looks a name up (PointOptions.mapSymbol).
 */
export function mapSymbolLookup(img: Image): (name: string) => number | undefined {
  return (name) => img.symbolsNamed(name).find((s) => (s.type === 'FUNC' || s.type === 'IFUNC' || s.type === 'NOTYPE')
    && s.shndx > 0 && s.shndx < 0xff00 && img.sections[s.shndx]?.name === '.text')?.addr;
}

/** The addresses of the function symbols of .text named `name`, ascending (PointOptions.functionSymbols). */
export function functionSymbolsLookup(img: Image): (name: string) => number[] {
  return (name) => img.symbolsNamed(name).filter((s) => s.type === 'FUNC' && s.shndx > 0 && s.shndx < 0xff00 && img.sections[s.shndx]?.name === '.text')
    .map((s) => s.addr).sort((a, b) => a - b);
}

/** `perf probe --funcs`'s list with its default filter. */
export function perfFunctionNames(img: Image): string[] {
  const f = parseStrFilter(DEFAULT_FUNC_FILTER);
  if (!f.ok) throw new Error(f.reason);
  return perfFunctionList(img, f.filter).map((s) => s.name);
}
