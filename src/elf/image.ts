// An x86-64 vmlinux image: ELF structure, symbols, the kernel's symbol lookups and its
// kprobe-relevant tables. Bytes come from a ByteSource (a file read at offsets, or memory): opening
// reads the headers only; the symbol table and each section are read when first asked for.
import { rangesMeet } from '../base/ranges.js';
import { ElfError } from './errors.js';
import { parseElfFile, type ElfHeader, type Section, type Segment, PT_LOAD, SHF_ALLOC, SHF_EXECINSTR, SHT_NOBITS } from './elf-file.js';
import type { ByteSource } from './source.js';
import { parseSymbols, RawSymbols, type Sym } from './symbols.js';
import { Kallsyms, type SymbolAt } from './kallsyms.js';
import {
  blacklistAddresses, bugSites, exceptionTable, jumpLabelSites, kprobeBlacklist, mcountSites, patchedTextSites,
  smpLockSites, staticCallSites, symbolRange, bootPatchedRanges,
  type BlacklistEntry, type ExTableEntry, type Range,
} from './kernel-sections.js';

/** Sections up to this size are read whole on first use; larger ones in the parts asked for. */
const SMALL_SECTION = 1 << 20;

/**
 * The symbol table's orders, from a persistent index (src/cli/symbol-index.ts): with them a query on a
 * big image decodes only the symbols it looks at, not all of .symtab. Each is a list of .symtab indexes.
 */
/** The kernel tables register_kprobe's checks read (kernel-sections.ts), as Image keeps them. */
export interface KprobeTables {
  readonly blacklist: readonly BlacklistEntry[];
  readonly mcount: readonly number[];
  /** patchedTextSites: address → why. */
  readonly patched: ReadonlyMap<number, string>;
  /** smpLockSites (alternatives_text_reserved's .smp_locks). */
  readonly smpLocks: readonly number[];
}

export interface SymbolOrders {
  /** Symbols with a name, sorted by name (JavaScript string order), then index. */
  readonly byName: Uint32Array;
  /** `Image.functions`, in its order. */
  readonly functions: Uint32Array;
  /** The largest function size (at least 1), as `functionAt` bounds its walk. */
  readonly maxFunctionSize: number;
  /** objdump's sorted symbol list (src/elf/objdump-symbols.ts). */
  readonly objdump: Uint32Array;
  /** `perf probe --funcs`' symbols, sorted by name, then address (src/trace/perf-probe/funcs.ts). */
  readonly perf: Uint32Array;
  /** /proc/kallsyms' symbols, in its order (src/elf/kallsyms.ts kallsymsOrder). */
  readonly kallsyms: Uint32Array;
  /** Their addresses as kallsyms.ts orderKey values (else read from each entry when kallsyms is built). */
  readonly kallsymsKeys?: Float64Array;
  /** Their names (the index keeps them as one text: no symbol decoded to list them). */
  readonly perfNames?: () => string[];
}

export class Image {
  readonly source: ByteSource;
  readonly header: ElfHeader;
  readonly sections: readonly Section[];
  /** PT_LOAD program headers. */
  readonly segments: readonly Segment[];
  private symbolsCache: readonly Sym[] | undefined;
  private kallsymsCache: Kallsyms | undefined;
  private endCache: number | undefined;
  private functionsCache: readonly Sym[] | undefined;
  private readonly alloc: Section[];
  private globalByNameCache: Map<string, Sym> | undefined;
  private textRangesCache: Range[] | undefined;
  private cache = new Map<string, unknown>();
  private rawCache: RawSymbols | undefined;
  private ordersCache: SymbolOrders | undefined;
  private readonly oneSymbol = new Map<number, Sym>();

  private constructor(input: Uint8Array | ByteSource) {
    const f = parseElfFile(input);
    this.source = f.source;
    this.header = f.header;
    this.sections = f.sections;
    this.segments = f.segments.filter((s) => s.type === PT_LOAD);
    this.alloc = f.sections.filter((s) => s.flags & SHF_ALLOC && s.size > 0).sort((a, b) => a.addr - b.addr);
    // A file without a symbol table is refused at once, as before (its contents are read on first use).
    if (!f.sections.some((s) => s.type === 2)) parseSymbols(f.sections);
  }

  /** Parses an ELF64 x86-64 image with a symbol table. Throws ElfError (only) for unusable input. */
  static load(input: Uint8Array | ByteSource, opts: { eager?: boolean } = {}): Image {
    return Image.guard(() => {
      const img = new Image(input);
      // In-memory images are validated whole at once (the fuzz tests rely on every error surfacing here).
      if (opts.eager ?? input instanceof Uint8Array) void img.symbols;
      return img;
    });
  }

  /** Runs f, turning a bounds or DataView error from input we failed to validate into an ElfError. */
  static guard<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof ElfError) throw e;
      if (e instanceof RangeError || e instanceof TypeError) throw new ElfError(`corrupt ELF: ${e.message}`, undefined, { cause: e });
      throw e;
    }
  }

  /** Every .symtab entry, in file order (index 0 is the null symbol); read on first use. */
  get symbols(): readonly Sym[] {
    return (this.symbolsCache ??= Image.guard(() => parseSymbols(this.sections as Section[])));
  }

  /** Orders of the symbol table from a persistent index (validated by its key and fingerprint). */
  useSymbolOrders(o: SymbolOrders): void {
    this.ordersCache = o;
  }

  get symbolOrders(): SymbolOrders | undefined { return this.ordersCache; }

  /** Whether every symbol has been decoded (`symbols` was asked for). */
  get symbolsLoaded(): boolean { return this.symbolsCache !== undefined; }

  /** The number of .symtab entries. */
  get symbolCount(): number { return this.symbolsCache ? this.symbolsCache.length : this.raw.count; }

  private get raw(): RawSymbols {
    return (this.rawCache ??= Image.guard(() => new RawSymbols(this.sections as Section[])));
  }

  /** .symtab entry i (decoded alone unless every symbol is). */
  symbolAtIndex(i: number): Sym {
    if (this.symbolsCache) return this.symbolsCache[i]!;
    let s = this.oneSymbol.get(i);
    if (!s) this.oneSymbol.set(i, (s = Image.guard(() => this.raw.sym(i))));
    return s;
  }

  /** Entry i's name without decoding the rest of it. */
  symbolNameAt(i: number): string {
    return this.symbolsCache ? this.symbolsCache[i]!.name : this.raw.name(i);
  }

  /** Entry i's address without decoding it. */
  symbolAddrAt(i: number): number {
    return this.symbolsCache ? this.symbolsCache[i]!.addr : this.raw.addr(i);
  }

  /** Every symbol named `name`, in .symtab order (by the name order when there is one). */
  symbolsNamed(name: string): Sym[] {
    const o = this.ordersCache;
    if (!o || this.symbolsCache) return this.symbols.filter((s) => s.name === name && s.name !== '');
    let lo = 0, hi = o.byName.length;
    while (lo < hi) { const m = (lo + hi) >>> 1; if (this.raw.name(o.byName[m]!) < name) lo = m + 1; else hi = m; }
    const out: Sym[] = [];
    for (let k = lo; k < o.byName.length && this.raw.name(o.byName[k]!) === name; k++) out.push(this.symbolAtIndex(o.byName[k]!));
    return out;
  }

  /** The first of `functions` named `name`. */
  functionNamed(name: string): Sym | undefined {
    if (!this.ordersCache || this.functionsCache) return this.functions.find((f) => f.name === name);
    let best: Sym | undefined;
    for (const s of this.symbolsNamed(name)) {
      if (s.type !== 'FUNC' || s.shndx === 0 || s.shndx >= 0xff00) continue;
      if (!best || s.addr < best.addr || (s.addr === best.addr && s.index < best.index)) best = s;
    }
    return best;
  }

  /** File bytes at an offset (segments, for loading the kernel into memory). */
  fileBytes(offset: number, length: number): Uint8Array {
    return this.source.read(offset, length);
  }

  private get globalByName(): Map<string, Sym> {
    if (this.globalByNameCache) return this.globalByNameCache;
    const m = new Map<string, Sym>();
    for (const s of this.symbols) {
      if (s.name === '' || s.type === 'FILE' || s.type === 'SECTION' || s.shndx === 0) continue;
      const prev = m.get(s.name);
      if (!prev || (prev.bind === 'LOCAL' && s.bind !== 'LOCAL')) m.set(s.name, s);
    }
    return (this.globalByNameCache = m);
  }

  /** FUNC symbols with a section, sorted by address (then by symbol index). */
  get functions(): readonly Sym[] {
    return (this.functionsCache ??= this.symbols.filter((s) => s.type === 'FUNC' && s.shndx !== 0 && s.shndx < 0xff00)
      .sort((a, b) => a.addr - b.addr || a.index - b.index));
  }

  private get end(): number {
    if (this.endCache === undefined) {
      const end = this.symbolAddr('_end') ?? this.alloc.reduce((m, s) => Math.max(m, s.addr + s.size), -Infinity);
      this.endCache = Number.isFinite(end) ? end : 0;
    }
    return this.endCache;
  }

  private get textRanges(): Range[] {
    if (!this.textRangesCache) {
      // kernel/extable.c is_kernel_text / is_kernel_inittext; without the linker-script symbols,
      // every executable allocated section counts as text.
      const text = symbolRange(this, '_stext', '_etext'), init = symbolRange(this, '_sinittext', '_einittext');
      this.textRangesCache = text ? [text, ...(init ? [init] : [])]
        : this.alloc.filter((s) => s.flags & SHF_EXECINSTR).map((s) => ({ start: s.addr, end: s.addr + s.size }));
    }
    return this.textRangesCache;
  }

  /** The /proc/kallsyms view: order, name and address lookups (built on first use). */
  get kallsyms(): Kallsyms {
    if (this.kallsymsCache) return this.kallsymsCache;
    const o = this.ordersCache;
    return (this.kallsymsCache = o && !this.symbolsCache
      ? new Kallsyms({ order: o.kallsyms, sym: (i) => this.symbolAtIndex(i), addr: (i) => this.symbolAddrAt(i), named: (n) => this.symbolsNamed(n), keys: o.kallsymsKeys }, this.end)
      : new Kallsyms(this.symbols, this.end));
  }

  sectionByName(name: string): Section | undefined {
    if (!this.byName) {
      this.byName = new Map();
      // The first section of a name, as a linear search finds it.
      for (const s of this.sections) if (!this.byName.has(s.name)) this.byName.set(s.name, s);
    }
    return this.byName.get(name);
  }
  private byName: Map<string, Section> | undefined;

  /** The allocated section holding addr. */
  sectionAt(addr: number): Section | undefined {
    for (const s of this.alloc) if (addr >= s.addr && addr < s.addr + s.size) return s;
    return undefined;
  }

  /** A symbol by name: a global one if there is one, else the first local (for linker-script and table symbols). */
  symbol(name: string): Sym | undefined {
    if (this.ordersCache && !this.globalByNameCache) {
      // globalByName's choice: the first non-local symbol of the name, else the first local one.
      let first: Sym | undefined;
      for (const s of this.symbolsNamed(name)) {
        if (s.type === 'FILE' || s.type === 'SECTION' || s.shndx === 0) continue;
        if (s.bind !== 'LOCAL') return s;
        first ??= s;
      }
      return first;
    }
    return this.globalByName.get(name);
  }

  symbolAddr(name: string): number | undefined {
    return this.symbol(name)?.addr;
  }

  /** kallsyms_lookup_name: address of the first symbol of that name in kallsyms order. */
  lookupName(name: string): number | undefined {
    return this.kallsyms.lookupName(name)?.addr;
  }

  /** Address → covering symbol, offset and (kallsyms) size. */
  lookupAddr(addr: number): SymbolAt | undefined {
    return this.kallsyms.lookup(addr);
  }

  /** The kernel's %pS text: `vfs_read+0x1a/0x80`. */
  formatAddr(addr: number): string {
    return this.kallsyms.format(addr);
  }

  /** The FUNC symbol whose [addr, addr+size) holds addr (the lowest-index one on ties). */
  functionAt(addr: number): Sym | undefined {
    const o = this.ordersCache;
    if (o && !this.functionsCache) {
      const n = o.functions.length, at = (k: number) => this.symbolAddrAt(o.functions[k]!);
      let lo = 0, hi = n - 1, best = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        if (at(mid) <= addr) { best = mid; lo = mid + 1; } else hi = mid - 1;
      }
      for (let i = best; i >= 0 && addr - at(i) < o.maxFunctionSize; i--) {
        const f = this.symbolAtIndex(o.functions[i]!);
        if (addr >= f.addr && addr < f.addr + Math.max(f.size, 1)) {
          while (i > 0 && at(i - 1) === f.addr) {
            const g = this.symbolAtIndex(o.functions[i - 1]!);
            if (!(addr < g.addr + Math.max(g.size, 1))) break;
            i--;
          }
          return this.symbolAtIndex(o.functions[i]!);
        }
      }
      return undefined;
    }
    const fs = this.functions;
    let lo = 0, hi = fs.length - 1, best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (fs[mid]!.addr <= addr) { best = mid; lo = mid + 1; } else hi = mid - 1;
    }
    // Functions do not nest, but aliases share an address: walk back over the candidates at
    // lower-or-equal addresses until one covers addr; stop once none can (sizes are bounded by
    // the largest function).
    for (let i = best; i >= 0 && addr - fs[i]!.addr < this.maxFunctionSize; i--) {
      const f = fs[i]!;
      if (addr >= f.addr && addr < f.addr + Math.max(f.size, 1)) {
        while (i > 0 && fs[i - 1]!.addr === f.addr && addr < fs[i - 1]!.addr + Math.max(fs[i - 1]!.size, 1)) i--;
        return fs[i]!;
      }
    }
    return undefined;
  }

  private get maxFunctionSize(): number {
    return this.memo('maxfn', () => this.ordersCache?.maxFunctionSize ?? this.functions.reduce((m, f) => Math.max(m, f.size, 1), 1));
  }

  /** Kernel text: [_stext, _etext) and [_sinittext, _einittext). */
  isText(addr: number): boolean {
    for (const r of this.textRanges) if (addr >= r.start && addr < r.end) return true;
    return false;
  }

  /** len bytes of the loaded image at addr (a view; zeros for NOBITS), or undefined if not all mapped by one section. */
  read(addr: number, len: number): Uint8Array | undefined {
    const s = this.sectionAt(addr);
    if (!s || addr + len > s.addr + s.size) return undefined;
    if (s.type === SHT_NOBITS) return new Uint8Array(len);
    const o = addr - s.addr;
    // A big section not read yet: read just the bytes asked for (disassembling one function of .text).
    if (!s.loaded && s.size > SMALL_SECTION) return s.slice(o, len);
    return s.bytes.subarray(o, o + len);
  }

  /** count little-endian u64 values at addr, as canonical addresses. */
  readAddrs(addr: number, count: number): number[] {
    const b = this.read(addr, count * 8);
    if (!b) return [];
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength), out: number[] = new Array(count);
    for (let i = 0; i < count; i++) out[i] = Number(dv.getBigInt64(i * 8, true));
    return out;
  }

  private memo<T>(key: string, f: () => T): T {
    if (!this.cache.has(key)) this.cache.set(key, f());
    return this.cache.get(key) as T;
  }

  /** Raw NOKPROBE_SYMBOL addresses from _kprobe_blacklist. */
  get blacklistAddresses(): readonly number[] { return this.memo('bla', () => blacklistAddresses(this)); }
  /** The kernel's kprobe blacklist (populate_kprobe_blacklist + x86 .entry.text). */
  get kprobeBlacklist(): readonly BlacklistEntry[] { return this.memo('kbl', () => kprobeBlacklist(this)); }
  get kprobesText(): Range | undefined { return this.memo('kpt', () => symbolRange(this, '__kprobes_text_start', '__kprobes_text_end')); }
  get entryText(): Range | undefined { return this.memo('ent', () => symbolRange(this, '__entry_text_start', '__entry_text_end')); }
  get initRange(): Range | undefined { return this.memo('init', () => symbolRange(this, '__init_begin', '__init_end')); }
  /** [_stext, _etext). */
  get text(): Range | undefined { return this.memo('text', () => symbolRange(this, '_stext', '_etext')); }
  /** [_sdata, _edata). */
  get data(): Range | undefined { return this.memo('data', () => symbolRange(this, '_sdata', '_edata')); }
  /** __mcount_loc fentry call sites, in table order. */
  get mcountSites(): readonly number[] { return this.memo('mc', () => mcountSites(this)); }
  get exceptionTable(): readonly ExTableEntry[] { return this.memo('ex', () => exceptionTable(this)); }
  /** __jump_table sites, .static_call_sites, __bug_table `ud2`s, .smp_locks `lock` prefixes. */
  get jumpLabelSites(): readonly Range[] { return this.memo('jl', () => jumpLabelSites(this)); }
  get staticCallSites(): readonly number[] { return this.memo('sc', () => staticCallSites(this)); }
  get bugSites(): readonly number[] { return this.memo('bug', () => bugSites(this)); }
  get smpLockSites(): ReadonlySet<number> { return this.memo('smpl', () => new Set(smpLockSites(this))); }
  /** Does [start, end) meet text Linux rewrites once at boot (bootPatchedRanges: alternatives, SMP lock prefixes)? */
  bootPatchMeets(start: number, end: number): boolean {
    return rangesMeet(this.memo('bpr', () => bootPatchedRanges(this)), start, end);
  }
  /** The tables register_kprobe's checks read (kprobeBlacklist, mcountSites, patchedTextSites), read now when not yet. */
  get kprobeTables(): KprobeTables {
    return { blacklist: this.kprobeBlacklist, mcount: this.mcountSites, patched: this.memo('ptxmap', () => patchedTextSites(this)), smpLocks: [...this.smpLockSites] };
  }
  /** Those tables from a persistent index (src/cli/symbol-index.ts), instead of reading them from the image. */
  useKprobeTables(t: KprobeTables): void {
    this.cache.set('kbl', t.blacklist);
    this.cache.set('mc', t.mcount);
    this.cache.set('ptxmap', t.patched);
    this.cache.set('smpl', new Set(t.smpLocks));
  }
  /** Why register_kprobe refuses `addr` as text the kernel patches itself (patchedTextSites), or undefined. */
  patchedText(addr: number): string | undefined {
    // the map of every site byte when the kprobe tables' cache entry gave it (useKprobeTables), else
    // patchedTextSites' answers from the sites sorted, searched (building that map took ~35 ms)
    const map = this.cache.get('ptxmap') as ReadonlyMap<number, string> | undefined;
    if (map !== undefined) return map.get(addr);
    const t = this.memo('ptx', () => {
      const byStart = (xs: number[]) => Float64Array.from(xs).sort();
      const jl = [...this.jumpLabelSites].sort((a, b) => a.start - b.start);
      return { jlStart: Float64Array.from(jl, (r) => r.start), jlEnd: Float64Array.from(jl, (r) => r.end), sc: byStart([...this.staticCallSites]), bug: byStart([...this.bugSites]) };
    });
    /** The first index whose start is > addr. */
    const upper = (xs: Float64Array) => { let lo = 0, hi = xs.length; while (lo < hi) { const m = (lo + hi) >>> 1; if (xs[m]! <= addr) lo = m + 1; else hi = m; } return lo; };
    // A site holds addr when it starts at most its length (5 bytes at most) before it.
    for (let k = upper(t.jlStart) - 1; k >= 0 && t.jlStart[k]! > addr - 5; k--) if (addr < t.jlEnd[k]!) return 'in a jump label site (jump_label_text_reserved)';
    const c = upper(t.sc) - 1;
    if (c >= 0 && addr < t.sc[c]! + 5) return 'in a static call site (static_call_text_reserved)';
    const b = upper(t.bug) - 1;
    if (b >= 0 && t.bug[b] === addr) return 'a BUG()/WARN() site (find_bug)';
    return undefined;
  }

  /** True when addr is inside a blacklisted range (kernel/kprobes.c within_kprobe_blacklist). */
  inKprobeBlacklist(addr: number): boolean {
    for (const e of this.kprobeBlacklist) if (addr >= e.start && addr < e.end) return true;
    return false;
  }
}
