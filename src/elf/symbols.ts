// .symtab entries (gABI "Symbol Table") and the type letters `nm` gives them
// (binutils bfd/syms.c bfd_decode_symclass, coff_section_type, decode_section_type).
import { ElfError } from './errors.js';
import { type Section, SHT_NOBITS, SHT_SYMTAB, SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE } from './elf-file.js';

export type SymType = 'NOTYPE' | 'OBJECT' | 'FUNC' | 'SECTION' | 'FILE' | 'COMMON' | 'TLS' | 'IFUNC' | 'OTHER';
export type SymBind = 'LOCAL' | 'GLOBAL' | 'WEAK' | 'UNIQUE' | 'OTHER';

export const SHN_UNDEF = 0, SHN_ABS = 0xfff1, SHN_COMMON = 0xfff2;

export interface Sym {
  /** Index in .symtab. */
  readonly index: number;
  readonly name: string;
  /** st_value as a signed canonical number, and exactly. */
  readonly addr: number;
  readonly value: bigint;
  readonly size: number;
  readonly type: SymType;
  readonly bind: SymBind;
  /** st_shndx: section index, or SHN_UNDEF / SHN_ABS / SHN_COMMON. */
  readonly shndx: number;
  /** The letter `nm` prints for it ('T', 't', 'D', 'b', 'R', 'W', 'A', ...); '' for symbols nm does not list. */
  nmType: string;
}

const latin1 = new TextDecoder('latin1'), utf8 = new TextDecoder('utf-8');
const TYPES: SymType[] = ['NOTYPE', 'OBJECT', 'FUNC', 'SECTION', 'FILE', 'COMMON', 'TLS'];
const BINDS: SymBind[] = ['LOCAL', 'GLOBAL', 'WEAK'];
const STT_GNU_IFUNC = 10, STB_GNU_UNIQUE = 10;
const SYM = 24;
/** Names decoded one by one before the whole string table is decoded at once. */
const LOOKUPS_ALONE = 256;

/** Reads .symtab. Throws ElfError when there is none (a stripped file) or it is corrupt. */
export function parseSymbols(sections: Section[]): Sym[] {
  const raw = new RawSymbols(sections, { all: true });
  const out: Sym[] = new Array(raw.count);
  for (let i = 0; i < raw.count; i++) out[i] = raw.sym(i);
  return out;
}

/** Entries per page of .symtab read from a file (24 bytes each: pages of 6 KiB). */
const PAGE_SYMS = 256;
/** Bytes per page of .strtab read from a file. */
const STR_PAGE = 4096;
/** Tables up to this size are read whole (as a section up to 1 MiB is: src/elf/image.ts SMALL_SECTION). */
const WHOLE_BELOW = 1 << 20;

/**
 * .symtab's entries decoded one at a time when asked for (a persistent index's orders then name the few
 * a query needs, instead of every symbol becoming an object). A section not in memory is read in pages
 * as entries and names are asked for (a distribution kernel's .symtab and .strtab are 5 MB, of which a
 * warm `disasm` reads a few pages); all of .strtab once many names are.
 */
export class RawSymbols {
  readonly count: number;
  private readonly symtab: Section;
  private readonly strtab: Section;
  /** The whole of .symtab when in memory, else pages of it. */
  private whole: DataView | undefined;
  private readonly pages = new Map<number, DataView>();
  private strBytes: Uint8Array | undefined;
  private readonly strPages = new Map<number, Uint8Array>();
  /** The whole string table decoded (latin1: string index == byte offset), once many names are asked for. */
  private strs: string | undefined;
  private ascii = true;
  /** Names decoded one at a time before that (a warm query with an index asks for a few). */
  private looked = 0;
  private readonly symtabOffset: number;
  private readonly letters = new Map<number, string>();
  /** `all`: every entry will be asked for (parseSymbols): .symtab is read whole at once. `wholeBelow`:
   *  tables up to this size are read whole (tests lower it). */
  constructor(private readonly sections: Section[], { all = false, wholeBelow = WHOLE_BELOW }: { all?: boolean; wholeBelow?: number } = {}) {
    const symtab = sections.find((s) => s.type === SHT_SYMTAB);
    if (!symtab) throw new ElfError('no symbol table (.symtab): the file is stripped; ktrace needs an unstripped vmlinux');
    if (symtab.link >= sections.length) throw new ElfError(`corrupt: .symtab string table index ${symtab.link} out of range`);
    const strtab = sections[symtab.link]!;
    if (strtab.type === SHT_NOBITS) throw new ElfError('corrupt: .symtab string table has no contents');
    this.symtab = symtab;
    this.strtab = strtab;
    this.symtabOffset = symtab.offset;
    // A small table, or one read already, is taken whole.
    if (all || symtab.loaded || symtab.size <= wholeBelow) { const b = symtab.bytes; this.whole = new DataView(b.buffer, b.byteOffset, b.byteLength); }
    if (strtab.loaded || strtab.size <= wholeBelow) this.strBytes = strtab.bytes;
    this.count = Math.floor(symtab.size / SYM);
  }

  /** The view holding entry i and the entry's offset in it. */
  private at(i: number): [DataView, number] {
    if (this.whole) return [this.whole, i * SYM];
    const p = Math.floor(i / PAGE_SYMS);
    let v = this.pages.get(p);
    if (!v) {
      const from = p * PAGE_SYMS * SYM, b = this.symtab.slice(from, Math.min(PAGE_SYMS * SYM, this.count * SYM - from));
      this.pages.set(p, (v = new DataView(b.buffer, b.byteOffset, b.byteLength)));
    }
    return [v, (i - p * PAGE_SYMS) * SYM];
  }

  /** st_value of entry i as a signed canonical number (no checks: for orders an index has validated). */
  addr(i: number): number {
    const [dv, o] = this.at(i);
    return dv.getInt32(o + 12, true) * 4294967296 + dv.getUint32(o + 8, true);
  }

  size(i: number): number {
    const [dv, o] = this.at(i);
    return dv.getUint32(o + 20, true) * 4294967296 + dv.getUint32(o + 16, true);
  }

  /** The name's bytes at `off` of .strtab (to its NUL or the table's end), from pages when not in memory. */
  private nameBytes(off: number): Uint8Array {
    if (this.strBytes) {
      let end = this.strBytes.indexOf(0, off);
      if (end < 0) end = this.strBytes.length;
      return this.strBytes.subarray(off, end);
    }
    const size = this.strtab.size, parts: Uint8Array[] = [];
    for (let p = Math.floor(off / STR_PAGE), from = off; from < size; p++) {
      let page = this.strPages.get(p);
      if (!page) this.strPages.set(p, (page = this.strtab.slice(p * STR_PAGE, Math.min(STR_PAGE, size - p * STR_PAGE))));
      const part = page.subarray(from - p * STR_PAGE);
      const nul = part.indexOf(0);
      if (nul >= 0) { parts.push(part.subarray(0, nul)); break; }
      parts.push(part);
      from = (p + 1) * STR_PAGE;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  name(i: number): string {
    const [dv, o] = this.at(i);
    const nameOff = dv.getUint32(o, true);
    if (nameOff >= this.strtab.size && nameOff !== 0) throw new ElfError(`corrupt: symbol ${i} name offset 0x${nameOff.toString(16)} outside .strtab`, this.symtabOffset + i * SYM);
    if (this.strs === undefined && ++this.looked > LOOKUPS_ALONE) {
      // Decode the whole string table once; latin1 keeps string index == byte offset, and the rare
      // non-ASCII name is re-decoded as UTF-8.
      this.strBytes ??= this.strtab.bytes;
      this.strs = latin1.decode(this.strBytes);
      this.ascii = !/[^\x00-\x7f]/.test(this.strs);
    }
    if (this.strs === undefined) {
      // One name from the bytes: the same text (a name with a byte above 0x7f is UTF-8, else latin1 is ASCII).
      const b = this.nameBytes(nameOff);
      return b.some((x) => x > 0x7f) ? utf8.decode(b) : latin1.decode(b);
    }
    let end = this.strs.indexOf('\0', nameOff);
    if (end < 0) end = this.strs.length;
    const name = this.strs.slice(nameOff, end);
    return !this.ascii && /[^\x00-\x7f]/.test(name) ? utf8.decode(this.strBytes!.subarray(nameOff, end)) : name;
  }

  /** Entry i as parseSymbols gives it. */
  sym(i: number): Sym {
    const [dv, o] = this.at(i);
    const info = dv.getUint8(o + 4), shndx = dv.getUint16(o + 6, true);
    const name = this.name(i);
    const sizeHi = dv.getUint32(o + 20, true);
    if (sizeHi >= 0x200000) throw new ElfError(`corrupt: st_size 0x${dv.getBigUint64(o + 16, true).toString(16)} is too large`, this.symtabOffset + i * SYM + 16);
    const size = sizeHi * 4294967296 + dv.getUint32(o + 16, true);
    const t = info & 0xf, b = info >> 4;
    const type: SymType = t === STT_GNU_IFUNC ? 'IFUNC' : TYPES[t] ?? 'OTHER';
    const bind: SymBind = b === STB_GNU_UNIQUE ? 'UNIQUE' : BINDS[b] ?? 'OTHER';
    // addr from the two halves: exact for canonical addresses, and no BigInt per symbol (value is lazy).
    const sym = new SymEntry(i, name, this.addr(i), size, type, bind, shndx);
    sym.nmType = i === 0 ? '' : nmLetter(sym, this.sections, this.letters);
    return sym;
  }
}

/** A symbol as parsed: st_value's BigInt form is made only when asked for. */
class SymEntry implements Sym {
  nmType = '';
  private big: bigint | undefined;
  constructor(readonly index: number, readonly name: string, readonly addr: number, readonly size: number,
    readonly type: SymType, readonly bind: SymBind, readonly shndx: number) {}
  get value(): bigint { return (this.big ??= BigInt.asUintN(64, BigInt(this.addr))); }
}

// coff_section_type (binutils >= 2.37): only MSVC section names decide the letter by name, when
// followed by NUL, '.', '$' or a digit; everything else goes by the section flags. (Older nm also
// matched .init/.text/.data/... by name, which made .init.data symbols 't'.)
const NAMED: [string, string][] = [['.drectve', 'i'], ['.edata', 'e'], ['.idata', 'i'], ['.pdata', 'p']];

function sectionLetter(s: Section): string {
  for (const [prefix, c] of NAMED) {
    if (s.name.startsWith(prefix)) {
      const next = s.name.charAt(prefix.length);
      if (next === '' || '.$0123456789'.includes(next)) return c;
    }
  }
  // decode_section_type over the BFD flags ELF sections get (bfd/elf.c _bfd_elf_make_section_from_shdr).
  const alloc = (s.flags & SHF_ALLOC) !== 0, contents = s.type !== SHT_NOBITS;
  if (s.flags & SHF_EXECINSTR) return 't';
  if (alloc && contents) return s.flags & SHF_WRITE ? 'd' : 'r';
  if (!contents) return 'b';
  if (/^(\.debug|\.gnu\.linkonce\.wi\.|\.zdebug|\.line|\.stab)/.test(s.name)) return 'N';
  if (!(s.flags & SHF_WRITE)) return 'n';
  return '?';
}

/** bfd_decode_symclass for an ELF symbol; '' for the FILE and SECTION symbols nm leaves out. */
export function nmLetter(sym: Sym, sections: Section[], cache?: Map<number, string>): string {
  if (sym.type === 'FILE' || sym.type === 'SECTION') return '';
  if (sym.shndx === SHN_COMMON || sym.type === 'COMMON') return 'C';
  if (sym.shndx === SHN_UNDEF) return sym.bind === 'WEAK' ? (sym.type === 'OBJECT' ? 'v' : 'w') : 'U';
  if (sym.type === 'IFUNC') return 'i';
  if (sym.bind === 'WEAK') return sym.type === 'OBJECT' ? 'V' : 'W';
  if (sym.bind === 'UNIQUE') return 'u';
  if (sym.bind !== 'LOCAL' && sym.bind !== 'GLOBAL') return '?';
  let c: string;
  if (sym.shndx === SHN_ABS) c = 'a';
  else {
    let l = cache?.get(sym.shndx);
    if (l === undefined) {
      const s = sections[sym.shndx];
      l = s ? sectionLetter(s) : '?';
      cache?.set(sym.shndx, l);
    }
    if (l === '?') return '?';
    c = l;
  }
  return sym.bind === 'GLOBAL' ? c.toUpperCase() : c;
}
