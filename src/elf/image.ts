// An x86-64 vmlinux image: ELF structure, symbols, the kernel's symbol lookups and its
// kprobe-relevant tables. Bytes in, typed values out; no file I/O here.
import { ElfError } from './errors.js';
import { parseElfFile, type ElfHeader, type Section, type Segment, PT_LOAD, SHF_ALLOC, SHF_EXECINSTR, SHT_NOBITS } from './elf-file.js';
import { parseSymbols, type Sym } from './symbols.js';
import { Kallsyms, type SymbolAt } from './kallsyms.js';
import {
  blacklistAddresses, exceptionTable, kprobeBlacklist, mcountSites, symbolRange,
  type BlacklistEntry, type ExTableEntry, type Range,
} from './kernel-sections.js';

export class Image {
  readonly bytes: Uint8Array;
  readonly header: ElfHeader;
  readonly sections: readonly Section[];
  /** PT_LOAD program headers. */
  readonly segments: readonly Segment[];
  /** Every .symtab entry, in file order (index 0 is the null symbol). */
  readonly symbols: readonly Sym[];
  private kallsymsCache: Kallsyms | undefined;
  private readonly end: number;
  /** FUNC symbols with a section, sorted by address (then by symbol index). */
  readonly functions: readonly Sym[];
  private readonly alloc: Section[];
  private readonly globalByName = new Map<string, Sym>();
  private readonly textRanges: Range[];
  private cache = new Map<string, unknown>();

  private constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    const f = parseElfFile(bytes);
    this.header = f.header;
    this.sections = f.sections;
    this.segments = f.segments.filter((s) => s.type === PT_LOAD);
    this.symbols = parseSymbols(bytes, f.sections);
    this.alloc = f.sections.filter((s) => s.flags & SHF_ALLOC && s.size > 0).sort((a, b) => a.addr - b.addr);
    for (const s of this.symbols) {
      if (s.name === '' || s.type === 'FILE' || s.type === 'SECTION' || s.shndx === 0) continue;
      const prev = this.globalByName.get(s.name);
      if (!prev || (prev.bind === 'LOCAL' && s.bind !== 'LOCAL')) this.globalByName.set(s.name, s);
    }
    this.functions = this.symbols.filter((s) => s.type === 'FUNC' && s.shndx !== 0 && s.shndx < 0xff00)
      .sort((a, b) => a.addr - b.addr || a.index - b.index);
    const end = this.symbolAddr('_end') ?? this.alloc.reduce((m, s) => Math.max(m, s.addr + s.size), -Infinity);
    this.end = Number.isFinite(end) ? end : 0;
    // kernel/extable.c is_kernel_text / is_kernel_inittext; without the linker-script symbols,
    // every executable allocated section counts as text.
    const text = symbolRange(this, '_stext', '_etext'), init = symbolRange(this, '_sinittext', '_einittext');
    this.textRanges = text ? [text, ...(init ? [init] : [])]
      : this.alloc.filter((s) => s.flags & SHF_EXECINSTR).map((s) => ({ start: s.addr, end: s.addr + s.size }));
  }

  /** Parses an ELF64 x86-64 image with a symbol table. Throws ElfError (only) for unusable input. */
  static load(bytes: Uint8Array): Image {
    try {
      return new Image(bytes);
    } catch (e) {
      if (e instanceof ElfError) throw e;
      // A bounds or DataView error from input we failed to validate is still bad input, not a crash.
      if (e instanceof RangeError || e instanceof TypeError) throw new ElfError(`corrupt ELF: ${e.message}`, undefined, { cause: e });
      throw e;
    }
  }

  /** The /proc/kallsyms view: order, name and address lookups (built on first use). */
  get kallsyms(): Kallsyms {
    return (this.kallsymsCache ??= new Kallsyms(this.symbols, this.end));
  }

  sectionByName(name: string): Section | undefined {
    return this.sections.find((s) => s.name === name);
  }

  /** The allocated section holding addr. */
  sectionAt(addr: number): Section | undefined {
    for (const s of this.alloc) if (addr >= s.addr && addr < s.addr + s.size) return s;
    return undefined;
  }

  /** A symbol by name: a global one if there is one, else the first local (for linker-script and table symbols). */
  symbol(name: string): Sym | undefined {
    return this.globalByName.get(name);
  }

  symbolAddr(name: string): number | undefined {
    return this.globalByName.get(name)?.addr;
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
    return this.memo('maxfn', () => this.functions.reduce((m, f) => Math.max(m, f.size, 1), 1));
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

  /** True when addr is inside a blacklisted range (kernel/kprobes.c within_kprobe_blacklist). */
  inKprobeBlacklist(addr: number): boolean {
    for (const e of this.kprobeBlacklist) if (addr >= e.start && addr < e.end) return true;
    return false;
  }
}
