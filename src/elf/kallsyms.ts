// The kernel's view of the symbol table: which symbols /proc/kallsyms holds, in which order, and
// how an address is named (%pS). Follows scripts/kallsyms.c (is_ignored_symbol, compare_symbols,
// with CONFIG_KALLSYMS_ALL), scripts/mksysmap, and kernel/kallsyms.c (get_symbol_pos,
// kallsyms_lookup_name, sprint_symbol).
import type { Sym } from './symbols.js';
import { hex0x, hex16, toU64 } from '../base/addr.js';

export interface KallsymsEntry {
  addr: number;
  /** Unsigned 64-bit address, for sorting and display. */
  value: bigint;
  type: string;
  name: string;
  sym: Sym;
}

export interface SymbolAt {
  entry: KallsymsEntry;
  /** Bytes from the symbol's start. */
  offset: number;
  /** The kernel's symbol size: distance to the next higher symbol address (not st_size). */
  size: number;
}

// scripts/kallsyms.c is_ignored_symbol (the x86-relevant parts) and scripts/mksysmap.
const IGNORED_NAMES = new Set(['kallsyms_addresses', 'kallsyms_offsets', 'kallsyms_relative_base', 'kallsyms_num_syms',
  'kallsyms_names', 'kallsyms_markers', 'kallsyms_token_table', 'kallsyms_token_index', 'kallsyms_seqs_of_names',
  '_SDA_BASE_', '_SDA2_BASE_']);
const IGNORED_PREFIXES = ['$', '.L', '__crc_', '__kstrtab_', '__kstrtabns_', '__efistub_', '__kvm_nvhe_', '__AArch64ADRPThunk_', '__ARMV5PILongThunk_', '__ARMV7PILongThunk_', '__ThumbV7PILongThunk_', '__LA25Thunk_', '__microLA25Thunk_', '__typeid__'];

function isIgnored(s: Sym): boolean {
  const t = s.nmType;
  if (t === '' || t === 'U' || t === 'u' || t === 'N' || t === 'n' || t === 'w' || t === 'v' || t === 'a' || t === 'A' || t === '?') return true;
  if (s.name === '' || IGNORED_NAMES.has(s.name)) return true;
  for (const p of IGNORED_PREFIXES) if (s.name.startsWith(p)) return true;
  return false;
}

// scripts/kallsyms.c may_be_linker_script_provide_symbol.
function linkerProvided(n: string): boolean {
  if (n.length < 8 || !n.startsWith('__')) return false;
  return n.startsWith('__start_') || n.startsWith('__stop_') || n.startsWith('__end_') || n.endsWith('_start') || n.endsWith('_end');
}
function leadingUnderscores(n: string): number {
  let i = 0;
  while (n.charCodeAt(i) === 95) i++;
  return i;
}
function cmpStr(a: string, b: string): number { return a < b ? -1 : a > b ? 1 : 0; }

/**
 * Kallsyms from a persistent index (src/cli/symbol-index.ts): the .symtab indexes in kallsyms order,
 * the entries' decoded one at a time when looked at.
 */
export interface KallsymsOrder {
  readonly order: Uint32Array;
  /** .symtab entry i. */
  sym(i: number): Sym;
  /** .symtab entry i's address, without decoding it. */
  addr(i: number): number;
  /** The symbols named `name`. */
  named(name: string): readonly Sym[];
  /** kallsymsKeys of the entries in `order` (a persistent index keeps them): else read from each entry. */
  readonly keys?: Float64Array;
}

export class Kallsyms {
  private entriesCache: KallsymsEntry[] | undefined;
  private readonly one = new Map<number, KallsymsEntry>();
  private readonly addrs: Float64Array;
  private byNameCache: Map<string, KallsymsEntry> | undefined;
  private readonly end: number;
  private readonly indexed: KallsymsOrder | undefined;
  /** Symbols the running kernel adds above the image (kprobes' kretprobe trampoline): name → entry and size. */
  private readonly runtime = new Map<string, { entry: KallsymsEntry; size: number }>();

  /** `end`: where the last symbol ends (the kernel uses _end with KALLSYMS_ALL). */
  constructor(symbols: readonly Sym[] | KallsymsOrder, end: number) {
    this.end = end;
    if (!Array.isArray(symbols)) {
      const o = symbols as KallsymsOrder;
      this.indexed = o;
      if (o.keys && o.keys.length === o.order.length) { this.addrs = o.keys; return; }
      this.addrs = new Float64Array(o.order.length);
      for (let i = 0; i < o.order.length; i++) this.addrs[i] = orderKey(o.addr(o.order[i]!));
      return;
    }
    const kept = kallsymsOrder(symbols as readonly Sym[]);
    this.entriesCache = kept.map(entryOf);
    this.addrs = new Float64Array(kept.length);
    // Lookups follow unsigned order, where user-half addresses sort before kernel ones (signed
    // numbers would not): search over an order-preserving key that stays exact (see orderKey).
    for (let i = 0; i < kept.length; i++) this.addrs[i] = orderKey(kept[i]!.addr);
  }

  /** In /proc/kallsyms order. */
  get entries(): readonly KallsymsEntry[] {
    if (!this.entriesCache) this.entriesCache = Array.from({ length: this.addrs.length }, (_, k) => this.entry(k));
    return this.entriesCache;
  }

  private entry(k: number): KallsymsEntry {
    if (this.entriesCache) return this.entriesCache[k]!;
    let e = this.one.get(k);
    if (!e) this.one.set(k, (e = entryOf(this.indexed!.sym(this.indexed!.order[k]!))));
    return e;
  }

  /** kallsyms_lookup_name: the first symbol of that name in kallsyms order (locals included). */
  lookupName(name: string): KallsymsEntry | undefined {
    return this.imageLookupName(name) ?? this.runtime.get(name)?.entry;
  }

  /**
   * A symbol of code the running kernel placed outside the image (the kretprobe trampoline on a kprobes
   * page): named by lookups and %pS, listed after the image's symbols. Same name again: moved.
   */
  addRuntime(name: string, addr: number, size: number, type = 't'): void {
    const sym = { name, addr, value: toU64(addr), size, nmType: type } as unknown as Sym;
    this.runtime.set(name, { entry: { addr, value: toU64(addr), type, name, sym }, size });
  }
  /** Does the image itself define `name` (not a runtime symbol)? */
  inImage(name: string): boolean { return this.imageLookupName(name) !== undefined; }
  /** The runtime symbols' kallsyms lines. */
  runtimeText(): string {
    let out = '';
    for (const { entry } of this.runtime.values()) out += `${hex16(entry.value)} ${entry.type} ${entry.name}\n`;
    return out;
  }

  /** number_of_same_symbols: how many of the image's kallsyms entries carry this name. */
  count(name: string): number {
    if (this.indexed && !this.entriesCache) return this.positionsNamed(name).length;
    if (!this.countCache) {
      this.countCache = new Map();
      for (const e of this.entries) this.countCache.set(e.name, (this.countCache.get(e.name) ?? 0) + 1);
    }
    return this.countCache.get(name) ?? 0;
  }
  private countCache: Map<string, number> | undefined;

  /** Kallsyms positions of the symbols named `name` (indexed form: no entry decoded but theirs): each
   *  one's among the entries at its address (a binary search of the keys). */
  private positionsNamed(name: string): number[] {
    const o = this.indexed!, xs = this.addrs;
    const out: number[] = [];
    for (const s of o.named(name)) {
      const key = orderKey(s.addr);
      let lo = 0, hi = xs.length;
      while (lo < hi) { const m = (lo + hi) >>> 1; if (xs[m]! < key) lo = m + 1; else hi = m; }
      for (let k = lo; k < xs.length && xs[k] === key; k++) if (o.order[k] === s.index) { out.push(k); break; }
    }
    return out;
  }

  private imageLookupName(name: string): KallsymsEntry | undefined {
    if (this.indexed && !this.entriesCache) {
      const ks = this.positionsNamed(name);
      return ks.length ? this.entry(Math.min(...ks)) : undefined;
    }
    if (!this.byNameCache) {
      this.byNameCache = new Map();
      for (const e of this.entries) if (!this.byNameCache.has(e.name)) this.byNameCache.set(e.name, e);
    }
    return this.byNameCache.get(name);
  }

  private unkey(k: number): number {
    return k < 0 ? k + 4503599627370496 : k - 4503599627370496;
  }

  /** get_symbol_pos: the first alias at the highest symbol address <= addr, with offset and size. */
  lookup(addr: number): SymbolAt | undefined {
    if (this.runtime.size) {
      for (const { entry, size } of this.runtime.values()) if (addr >= entry.addr && addr < entry.addr + size) return { entry, offset: addr - entry.addr, size };
    }
    const a = orderKey(addr), xs = this.addrs;
    if (xs.length === 0 || a < xs[0]! || a >= orderKey(this.end)) return undefined;
    let lo = 0, hi = xs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (xs[mid]! <= a) lo = mid; else hi = mid - 1;
    }
    while (lo > 0 && xs[lo - 1] === xs[lo]) lo--;
    let next = orderKey(this.end);
    for (let i = lo + 1; i < xs.length; i++) if (xs[i]! > xs[lo]!) { next = xs[i]!; break; }
    const entry = this.entry(lo);
    // Keys are exact offsets within one half of the address space; across halves (a user-half
    // symbol followed by kernel text) take the distance from the 64-bit values.
    const size = (next < 0) === (xs[lo]! < 0) ? next - xs[lo]! : Number(toU64(this.unkey(next)) - entry.value);
    return { entry, offset: a - xs[lo]!, size };
  }

  /** The kernel's %pS: `name+0xoff/0xsize`, or the raw `0x...` address when no symbol covers it. */
  format(addr: number): string {
    const at = this.lookup(addr);
    if (!at) return '0x' + hex16(addr);
    return `${at.entry.name}+${hex0x(at.offset)}/${hex0x(at.size)}`;
  }

  /** /proc/kallsyms text: `%016lx %c %s` per line (kernel/kallsyms.c s_show, core kernel symbols). */
  text(): string {
    let out = '';
    for (const e of this.entries) out += `${hex16(e.value)} ${e.type} ${e.name}\n`;
    return out;
  }
}

const entryOf = (s: Sym): KallsymsEntry => ({ addr: s.addr, value: s.value, type: s.nmType, name: s.name, sym: s });

/** The symbols /proc/kallsyms holds, in its order (scripts/kallsyms.c: read_map, sort_symbols). */
export function kallsymsOrder(symbols: readonly Sym[]): Sym[] {
  const kept = symbols.filter((s) => !isIgnored(s));
  // The order scripts/kallsyms sees: `nm -n` (unsigned address, then name).
  kept.sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : cmpStr(a.name, b.name)));
  const seq = new Map<Sym, number>();
  kept.forEach((s, i) => seq.set(s, i));
  const weak = (s: Sym) => (s.nmType === 'W' || s.nmType === 'w' ? 1 : 0);
  kept.sort((a, b) => {
    if (a.value !== b.value) return a.value < b.value ? -1 : 1;
    return weak(a) - weak(b)
      || (linkerProvided(a.name) ? 1 : 0) - (linkerProvided(b.name) ? 1 : 0)
      || leadingUnderscores(a.name) - leadingUnderscores(b.name)
      || seq.get(a)! - seq.get(b)!;
  });
  return kept;
}

/**
 * Signed canonical address → a number ordered like the unsigned address. The unsigned value itself
 * does not fit a double exactly (kernel addresses are near 2^64), so shift each half by 2^52 instead:
 * user [0, 2^47) → [-2^52, ..), kernel [-2^47, 0) → [.., 2^52). Differences of keys are exact.
 */
export function orderKey(a: number): number {
  return a < 0 ? a + 4503599627370496 : a - 4503599627370496;
}
