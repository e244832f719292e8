// How `objdump -d` names an address: `<sym>` / `<sym+0x1a>` after branch targets and RIP-relative
// comments. objdump (binutils objdump.c) sorts its own symbol list (compare_symbols) and picks the
// first symbol at the closest lower address, preferring one in the section being disassembled
// (find_symbol_for_address); this differs from kallsyms' choice among aliases, so it lives apart.
import type { Image } from './image.js';
import type { Sym } from './symbols.js';
import type { Section } from './elf-file.js';
import { toU64 } from './addr.js';

interface Entry { sym: Sym; value: bigint; }

export class ObjdumpSymbols {
  private readonly sorted: Entry[];

  constructor(img: Image) {
    // remove_useless_symbols: no names, no FILE/SECTION (BSF_DEBUGGING/BSF_SECTION_SYM), no undefined/common.
    const syms = img.symbols.filter((s) => s.index !== 0 && s.name !== '' && s.type !== 'FILE' && s.type !== 'SECTION'
      && s.shndx !== 0 && s.shndx !== 0xfff2);
    const isFileName = (s: Sym) => s.name.length > 2 && s.name.charAt(s.name.length - 2) === '.' && /[oa]$/.test(s.name);
    this.sorted = syms.map((sym) => ({ sym, value: sym.value })).sort((x, y) => {
      const a = x.sym, b = y.sym;
      if (x.value !== y.value) return x.value < y.value ? -1 : 1;
      const ag = /gnu_compiled|gcc2_compiled/.test(a.name), bg = /gnu_compiled|gcc2_compiled/.test(b.name);
      if (ag !== bg) return ag ? 1 : -1;
      const af = isFileName(a), bf = isFileName(b);
      if (af !== bf) return af ? 1 : -1;
      // BSF_FUNCTION: STT_FUNC only (bfd gives STT_GNU_IFUNC BSF_GNU_INDIRECT_FUNCTION instead).
      const afn = a.type === 'FUNC', bfn = b.type === 'FUNC';
      if (afn !== bfn) return afn ? -1 : 1;
      const aob = a.type === 'OBJECT' || a.type === 'TLS' || a.type === 'COMMON', bob = b.type === 'OBJECT' || b.type === 'TLS' || b.type === 'COMMON';
      if (aob !== bob) return aob ? -1 : 1;
      const al = a.bind === 'LOCAL', bl = b.bind === 'LOCAL';
      if (al !== bl) return al ? 1 : -1;
      const agl = a.bind === 'GLOBAL', bgl = b.bind === 'GLOBAL';
      if (agl !== bgl) return agl ? -1 : 1;
      if (a.size !== b.size) return a.size > b.size ? -1 : 1;
      const ad = a.name.startsWith('.'), bd = b.name.startsWith('.');
      if (ad !== bd) return ad ? 1 : -1;
      return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
    });
  }

  /** find_symbol_for_address for an executable (no HAS_RELOC): `sec` is the section being disassembled. */
  find(addr: number, sec: Section | undefined): Sym | undefined {
    const v = toU64(addr), xs = this.sorted;
    if (xs.length === 0) return undefined;
    let lo = 0, hi = xs.length - 1, best = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (xs[mid]!.value <= v) { best = mid; lo = mid + 1; } else hi = mid - 1;
    }
    let place = best;
    while (place > 0 && xs[place - 1]!.value === xs[place]!.value) place--;
    for (let i = place; i < xs.length && xs[i]!.value === xs[place]!.value; i++) {
      if (sec && xs[i]!.sym.shndx === sec.index) return xs[i]!.sym;
    }
    return xs[place]!.sym;
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
