// Kernel tables that kprobes and ftrace read out of the image: the NOKPROBE_SYMBOL blacklist,
// the .kprobes.text/.entry.text areas, __mcount_loc fentry sites, the exception table, and the sites of
// text the kernel patches itself (jump labels, static calls, BUG()/WARN(), SMP lock prefixes).
// Tables are found by the linker-script symbols that bound them, as the kernel finds them, and
// fall back to the input section of the same name.
import type { Kallsyms } from './kallsyms.js';
import type { Section } from './elf-file.js';
import { hex16 } from '../base/addr.js';
import { mergeRanges } from '../base/ranges.js';

/** What these tables are read through: the parts of an image they need (`Image` in image.ts is one;
 *  naming the parts, not the class, keeps image.ts, which builds its tables from here, out of a cycle). */
export interface KernelImage {
  readonly kallsyms: Kallsyms;
  symbolAddr(name: string): number | undefined;
  sectionByName(name: string): Section | undefined;
  isText(addr: number): boolean;
  read(addr: number, len: number): Uint8Array | undefined;
  readAddrs(addr: number, count: number): number[];
}

export interface Range {
  start: number;
  /** Exclusive. */
  end: number;
}

export interface BlacklistEntry extends Range {
  /** The symbol name the kernel prints in debugfs kprobes/blacklist. */
  name: string;
  /** Where it came from: a NOKPROBE_SYMBOL() entry, or one function of a blacklisted area. */
  source: 'NOKPROBE_SYMBOL' | '.kprobes.text' | '.entry.text';
}

export interface ExTableEntry {
  /** Address of the faulting instruction. */
  insn: number;
  /** Where execution resumes. */
  fixup: number;
  /** The handler type and its data (arch/x86/include/asm/extable_fixup_types.h), 0 in old kernels. */
  data: number;
}

/** The [start, stop) of a table bounded by `startSym`/`stopSym`, else the section called `section`. */
export function tableRange(img: KernelImage, startSym: string, stopSym: string, section: string): Range | undefined {
  const a = img.symbolAddr(startSym), b = img.symbolAddr(stopSym);
  if (a !== undefined && b !== undefined && b >= a) return { start: a, end: b };
  const s = img.sectionByName(section);
  if (s && s.addr !== 0) return { start: s.addr, end: s.addr + s.size };
  return undefined;
}

/** A [start, end) area bounded by two symbols (e.g. __kprobes_text_start/__kprobes_text_end). */
export function symbolRange(img: KernelImage, startSym: string, endSym: string): Range | undefined {
  const a = img.symbolAddr(startSym), b = img.symbolAddr(endSym);
  return a !== undefined && b !== undefined && b >= a ? { start: a, end: b } : undefined;
}

/** The unsigned long entries of _kprobe_blacklist (the addresses NOKPROBE_SYMBOL() recorded). */
export function blacklistAddresses(img: KernelImage): number[] {
  const r = tableRange(img, '__start_kprobe_blacklist', '__stop_kprobe_blacklist', '_kprobe_blacklist');
  return r ? img.readAddrs(r.start, (r.end - r.start) >>> 3) : [];
}

/**
 * kernel/kprobes.c populate_kprobe_blacklist: each recorded address becomes [addr, addr + size)
 * with the kallsyms size (to the next symbol), if it is kernel text; then the .kprobes.text area and, on x86
 * (arch_populate_kprobe_blacklist), .entry.text add one entry per function inside them.
 * Addresses without a symbol are skipped, as the kernel skips them.
 */
export function kprobeBlacklist(img: KernelImage): BlacklistEntry[] {
  const ks = img.kallsyms, out: BlacklistEntry[] = [];
  // kprobe_add_ksym_blacklist: end = entry + size even when entry is not a symbol start.
  for (const a of blacklistAddresses(img)) {
    const at = img.isText(a) ? ks.lookup(a) : undefined;
    if (!at) continue;
    out.push({ start: a, end: a + at.size, name: at.entry.name, source: 'NOKPROBE_SYMBOL' });
  }
  const areas: [BlacklistEntry['source'], Range | undefined][] = [
    ['.kprobes.text', symbolRange(img, '__kprobes_text_start', '__kprobes_text_end')],
    ['.entry.text', symbolRange(img, '__entry_text_start', '__entry_text_end')],
  ];
  for (const [source, area] of areas) {
    if (!area) continue;
    // kprobe_add_area_blacklist: walk the area symbol by symbol.
    for (let a = area.start; a < area.end;) {
      const at = img.isText(a) ? ks.lookup(a) : undefined;
      if (!at || at.size <= 0) break;
      const end = a + at.size;
      out.push({ start: a, end, name: at.entry.name, source });
      a = end;
    }
  }
  return out;
}

/** debugfs kprobes/blacklist (kernel/kprobes.c kprobe_blacklist_seq_show, as root sees it): `0xSTART-0xEND\tNAME`. */
export function blacklistText(entries: readonly BlacklistEntry[]): string {
  let out = '';
  for (const e of entries) out += `0x${hex16(e.start)}-0x${hex16(e.end)}\t${e.name}\n`;
  return out;
}

/** __mcount_loc: the u64 call-site addresses -mrecord-mcount recorded, in table order. */
export function mcountSites(img: KernelImage): number[] {
  const r = tableRange(img, '__start_mcount_loc', '__stop_mcount_loc', '__mcount_loc');
  return r ? img.readAddrs(r.start, (r.end - r.start) >>> 3) : [];
}

/**
 * __ex_table in the x86 relative format (arch/x86/include/asm/extable.h: struct exception_table_entry
 * { int insn, fixup, data; }): insn and fixup are offsets from the field's own address.
 */
export function exceptionTable(img: KernelImage): ExTableEntry[] {
  const r = tableRange(img, '__start___ex_table', '__stop___ex_table', '__ex_table');
  if (!r) return [];
  const n = Math.floor((r.end - r.start) / 12);
  const b = img.read(r.start, n * 12);
  if (!b) return [];
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: ExTableEntry[] = [];
  for (let i = 0; i < n; i++) {
    const at = r.start + i * 12;
    out.push({ insn: at + dv.getInt32(i * 12, true), fixup: at + 4 + dv.getInt32(i * 12 + 4, true), data: dv.getInt32(i * 12 + 8, true) });
  }
  return out;
}

// ---- text the kernel patches itself, where register_kprobe refuses a probe (check.ts)

/** s32 offsets, each from its own address (the x86-64 relative tables), as addresses: entry + *entry. */
function relative32(img: KernelImage, r: Range | undefined, stride: number, field = 0): number[] {
  if (!r) return [];
  const n = Math.floor((r.end - r.start) / stride);
  const b = img.read(r.start, n * stride);
  if (!b) return [];
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength), out: number[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = r.start + i * stride + field + dv.getInt32(i * stride + field, true);
  return out;
}

/**
 * __jump_table (CONFIG_JUMP_LABEL; struct jump_entry { s32 code, target; long key; }, relative): each
 * site's [code, code + size), the size arch_jump_entry_size decodes at the site (a 2-byte `jmp rel8` or
 * `66 90`, else the 5-byte `jmp rel32` or nop). Empty when the kernel has no jump labels.
 */
export function jumpLabelSites(img: KernelImage): Range[] {
  const codes = relative32(img, tableRange(img, '__start___jump_table', '__stop___jump_table', '__jump_table'), 16);
  const op = byteReader(img);
  return codes.map((code) => {
    const b = op(code);
    return { start: code, end: code + (b === 0xeb || b === 0x66 ? 2 : 5) };
  });
}

const BLOCK = 4096;
/**
 * One byte of the image at a time, read in aligned 4 KiB blocks: a big image's text is read in the
 * parts asked for, and a read a byte was a system call each (Debian's 5,980 jump labels: ~80 ms).
 * A block that crosses a section's end is read byte by byte.
 */
function byteReader(img: KernelImage): (addr: number) => number | undefined {
  const blocks = new Map<number, Uint8Array | null>();
  return (addr) => {
    const base = addr - (((addr % BLOCK) + BLOCK) % BLOCK);
    let b = blocks.get(base);
    if (b === undefined) blocks.set(base, (b = img.read(base, BLOCK) ?? null));
    return b ? b[addr - base] : img.read(addr, 1)?.[0];
  };
}

/** .static_call_sites (CONFIG_HAVE_STATIC_CALL_INLINE; struct static_call_site { s32 addr, key; }): the
 *  call instructions (CALL_INSN_SIZE, 5 bytes) static_call_update rewrites. */
export function staticCallSites(img: KernelImage): number[] {
  return relative32(img, tableRange(img, '__start_static_call_sites', '__stop_static_call_sites', '.static_call_sites'), 8);
}

/**
 * __bug_table (CONFIG_GENERIC_BUG_RELATIVE_POINTERS: struct bug_entry { s32 bug_addr_disp; [s32 file_disp;
 * u16 line;] u16 flags; }): the `ud2` of each BUG()/WARN(), which find_bug looks up. The entry is 12 bytes
 * with CONFIG_DEBUG_BUGVERBOSE and 8 without: the size for which nearly every entry's address is text
 * (a few may be in .exit.text, which is not: Debian's 6.1 has 2 of 8,016).
 */
export function bugSites(img: KernelImage): number[] {
  const r = tableRange(img, '__start___bug_table', '__stop___bug_table', '__bug_table');
  if (!r || r.end === r.start) return [];
  for (const stride of [12, 8]) {
    if ((r.end - r.start) % stride) continue;
    const sites = relative32(img, r, stride);
    if (sites.filter((a) => img.isText(a)).length >= sites.length * 0.95) return sites;
  }
  return [];
}

/** .smp_locks (CONFIG_SMP: s32 offsets of the `lock` prefixes alternatives_smp_lock/unlock rewrite), those in text
 *  (the section is padded to a page with zeros). */
export function smpLockSites(img: KernelImage): number[] {
  return relative32(img, tableRange(img, '__smp_locks', '__smp_locks_end', '.smp_locks'), 4).filter((a) => img.isText(a));
}

/**
 * .altinstructions (Linux 6.1 struct alt_instr { s32 instr_offset, repl_offset; u16 cpuid; u8 instrlen,
 * replacementlen; }, 12 bytes): each original instruction's [instr, instr + instrlen), which
 * apply_alternatives rewrites at boot (the replacement, or optimize_nops on the padding), those in text.
 */
export function altinstrSites(img: KernelImage): Range[] {
  const r = tableRange(img, '__alt_instructions', '__alt_instructions_end', '.altinstructions');
  if (!r || r.end <= r.start) return [];
  const n = Math.floor((r.end - r.start) / 12);
  const b = img.read(r.start, n * 12);
  if (!b) return [];
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength), out: Range[] = [];
  for (let i = 0; i < n; i++) {
    const start = r.start + i * 12 + dv.getInt32(i * 12, true), len = dv.getUint8(i * 12 + 10);
    if (len > 0 && img.isText(start)) out.push({ start, end: start + len });
  }
  return out;
}

/**
 * The text Linux rewrites once at boot, in alternative_instructions() before `alternatives_patched` is
 * set: the alternatives' original instructions and the SMP `lock` prefixes (made `ds` on one CPU). Sorted,
 * merged [start, end) byte ranges (flat), for bootPatchMeets.
 */
export function bootPatchedRanges(img: KernelImage): number[] {
  const r: [number, number][] = altinstrSites(img).map((s) => [s.start, s.end]);
  for (const a of smpLockSites(img)) r.push([a, a + 1]);
  return mergeRanges(r);
}

/**
 * check_kprobe_address_safe's rules on text the kernel patches itself, byte by byte: jump_label_text_reserved
 * (the bytes of a jump label site), static_call_text_reserved (the 5 bytes of a static call site), find_bug
 * (a BUG()/WARN() `ud2`), in the kernel's order (the first that holds is the reason).
 */
export function patchedTextSites(img: KernelImage): Map<number, string> {
  const m = new Map<number, string>();
  const put = (a: number, why: string) => { if (!m.has(a)) m.set(a, why); };
  for (const s of jumpLabelSites(img)) for (let a = s.start; a < s.end; a++) put(a, 'in a jump label site (jump_label_text_reserved)');
  for (const s of staticCallSites(img)) for (let a = s; a < s + 5; a++) put(a, 'in a static call site (static_call_text_reserved)');
  for (const a of bugSites(img)) put(a, 'a BUG()/WARN() site (find_bug)');
  return m;
}
