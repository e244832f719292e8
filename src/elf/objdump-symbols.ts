// How `objdump -d` names an address: `<sym>` / `<sym+0x1a>` after branch targets and RIP-relative
// comments. objdump (binutils objdump.c) sorts its own symbol list (compare_symbols) and picks the
// first symbol at the closest lower address, preferring one in the section being disassembled
// (find_symbol_for_address); this differs from kallsyms' choice among aliases, so it lives apart.
import type { Image } from './image.js';
import type { Sym } from './symbols.js';
import type { Section } from './elf-file.js';
import { toU64 } from '../base/addr.js';

interface Entry {
  sym: Sym;
  /** st_value as a number ordered as the unsigned value is: (addr < 0, addr). */
  neg: number; addr: number;
  /** The comparison's per-symbol facts, computed once. */
  gnu: number; file: number; fn: number; obj: number; local: number; global: number; dot: number;
}

const unsignedCmp = (x: Entry, y: Entry) => x.neg - y.neg || x.addr - y.addr;
/** Two addresses (signed canonical numbers) compared as the unsigned values they stand for. */
const ucmp = (a: number, b: number) => (a < 0 ? 1 : 0) - (b < 0 ? 1 : 0) || a - b;

const useful = (s: Sym) => s.index !== 0 && s.name !== '' && s.type !== 'FILE' && s.type !== 'SECTION' && s.shndx !== 0 && s.shndx !== 0xfff2;

function entry(sym: Sym): Entry {
  const isFileName = sym.name.length > 2 && sym.name.charAt(sym.name.length - 2) === '.' && /[oa]$/.test(sym.name);
  return {
    sym, neg: sym.addr < 0 ? 1 : 0, addr: sym.addr,
    gnu: /gnu_compiled|gcc2_compiled/.test(sym.name) ? 1 : 0, file: isFileName ? 1 : 0,
    // BSF_FUNCTION: STT_FUNC only (bfd gives STT_GNU_IFUNC BSF_GNU_INDIRECT_FUNCTION instead).
    fn: sym.type === 'FUNC' ? 0 : 1, obj: sym.type === 'OBJECT' || sym.type === 'TLS' || sym.type === 'COMMON' ? 0 : 1,
    local: sym.bind === 'LOCAL' ? 1 : 0, global: sym.bind === 'GLOBAL' ? 0 : 1, dot: sym.name.startsWith('.') ? 1 : 0,
  };
}

/** objdump's compare_symbols. */
function compare(x: Entry, y: Entry): number {
  const c = unsignedCmp(x, y);
  if (c !== 0) return c;
  const a = x.sym, b = y.sym;
  if (x.gnu !== y.gnu) return x.gnu - y.gnu;
  if (x.file !== y.file) return x.file - y.file;
  if (x.fn !== y.fn) return x.fn - y.fn;
  if (x.obj !== y.obj) return x.obj - y.obj;
  if (x.local !== y.local) return x.local - y.local;
  if (x.global !== y.global) return x.global - y.global;
  if (a.size !== b.size) return a.size > b.size ? -1 : 1;
  if (x.dot !== y.dot) return x.dot - y.dot;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Lookups answered by a scan before the whole list is sorted (one function's targets need a few dozen). */
const SCAN_LOOKUPS = 256;

export class ObjdumpSymbols {
  /** remove_useless_symbols' survivors, in symbol-table order. */
  private readonly syms: readonly Sym[];
  private sortedCache: Entry[] | undefined;
  private lookups = 0;

  /** With a persistent index's order (Image.symbolOrders): symbols are decoded only where looked up. */
  private readonly order: Uint32Array | undefined;

  constructor(private readonly img: Image) {
    this.order = img.symbolsLoaded ? undefined : img.symbolOrders?.objdump;
    // remove_useless_symbols: no names, no FILE/SECTION (BSF_DEBUGGING/BSF_SECTION_SYM), no undefined/common.
    this.syms = this.order ? [] : img.symbols.filter(useful);
  }

  /** The .symtab indexes of objdump's sorted list (for a persistent index). */
  static order(img: Image): Uint32Array {
    return Uint32Array.from(img.symbols.filter(useful).map(entry).sort(compare), (e) => e.sym.index);
  }

  /** The last group found in the index's order and the addresses it answers: [from, to) in unsigned order (to undefined: no end). */
  private lastGroup: { from: number; to: number | undefined; group: Entry[] } | undefined;

  /** group() over the index's order: the run of symbols at the highest address <= addr. */
  private groupInOrder(order: Uint32Array, addr: number): Entry[] {
    if (order.length === 0) return [];
    // A function's own branch targets fall in the group of its start: asked once, not once a branch.
    const last = this.lastGroup;
    if (last && ucmp(last.from, addr) <= 0 && (last.to === undefined || ucmp(addr, last.to) < 0)) return last.group;
    const at = (k: number) => this.img.symbolAddrAt(order[k]!);
    let lo = 0, hi = order.length - 1, best = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (ucmp(at(mid), addr) <= 0) { best = mid; lo = mid + 1; } else hi = mid - 1;
    }
    const a = at(best);
    let place = best;
    while (place > 0 && at(place - 1) === a) place--;
    let end = place;
    while (end < order.length && at(end) === a) end++;
    const group = Array.from(order.subarray(place, end), (i) => entry(this.img.symbolAtIndex(i)));
    // Below the first symbol the group is the first one's (the sorted list's first): only that address answers it.
    if (ucmp(addr, a) >= 0) this.lastGroup = { from: a, to: end < order.length ? at(end) : undefined, group };
    return group;
  }

  private get sorted(): Entry[] {
    return (this.sortedCache ??= this.syms.map(entry).sort(compare));
  }

  /** The symbols at the highest address <= addr, in objdump's order (its sorted list's run there). */
  private group(addr: number): Entry[] {
    if (this.order) return this.groupInOrder(this.order, addr);
    if (this.sortedCache || ++this.lookups > SCAN_LOOKUPS) {
      const xs = this.sorted;
      if (xs.length === 0) return [];
      const key = { neg: addr < 0 ? 1 : 0, addr } as Entry;
      let lo = 0, hi = xs.length - 1, best = 0;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        if (unsignedCmp(xs[mid]!, key) <= 0) { best = mid; lo = mid + 1; } else hi = mid - 1;
      }
      let place = best;
      while (place > 0 && xs[place - 1]!.addr === xs[place]!.addr) place--;
      let end = place;
      while (end < xs.length && xs[end]!.addr === xs[place]!.addr) end++;
      return xs.slice(place, end);
    }
    // A scan: the highest address <= addr in unsigned order (else, as the sorted list's first, the lowest).
    const neg = addr < 0 ? 1 : 0;
    let bestNeg = -1, best = 0, lowNeg = 2, low = 0;
    for (const s of this.syms) {
      const sn = s.addr < 0 ? 1 : 0, sa = s.addr;
      if (sn < lowNeg || (sn === lowNeg && sa < low)) { lowNeg = sn; low = sa; }
      if (sn > neg || (sn === neg && sa > addr)) continue;
      if (sn > bestNeg || (sn === bestNeg && sa > best)) { bestNeg = sn; best = sa; }
    }
    const at = bestNeg >= 0 ? best : low;
    if (lowNeg === 2) return [];
    return this.syms.filter((s) => s.addr === at).map(entry).sort(compare);
  }

  /** find_symbol_for_address for an executable (no HAS_RELOC): `sec` is the section being disassembled. */
  find(addr: number, sec: Section | undefined): Sym | undefined {
    const g = this.group(addr);
    if (g.length === 0) return undefined;
    for (const e of g) if (sec && e.sym.shndx === sec.index) return e.sym;
    return g[0]!.sym;
  }

  /** objdump_print_addr_with_sym's `<...>` part for addr (with the leading space). */
  label(addr: number, sec: Section | undefined): string {
    const sym = this.find(addr, sec), v = toU64(addr);
    if (!sym) {
      if (!sec) return '';
      return ' <' + sec.name + rel(v, sec.addrBig) + '>';
    }
    return ' <' + sym.name + rel(v, sym.value) + '>';
  }
}

function rel(v: bigint, base: bigint): string {
  if (v === base) return '';
  return v > base ? '+0x' + (v - base).toString(16) : '-0x' + (base - v).toString(16);
}

/** objdump_print_value with skip_zeroes: hex without leading zeros (at least one digit). */
export function objdumpHex(addr: number): string {
  return toU64(addr).toString(16);
}
