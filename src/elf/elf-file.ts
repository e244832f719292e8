// ELF64 little-endian x86-64 file structure: header, section headers, program headers
// (System V gABI, "ELF Header", "Sections", "Program Header").
// Only the headers are read when a file is opened: a section's bytes are read the first time something
// asks for them (`bytes`), or in part (`slice`), so a 600 MB vmlinux costs what its queries touch.
// Every address, size and offset comes from the exact Reader (64-bit fields are not rounded through
// doubles); names come from the section name table.
import { ElfError } from './errors.js';
import { Reader } from './reader.js';
import { toAddr } from '../base/addr.js';
import { bytesSource, type ByteSource } from './source.js';

export const EM_X86_64 = 62;
export const SHT_PROGBITS = 1, SHT_SYMTAB = 2, SHT_STRTAB = 3, SHT_NOBITS = 8;
export const SHF_WRITE = 0x1, SHF_ALLOC = 0x2, SHF_EXECINSTR = 0x4;
export const PT_LOAD = 1;
export const PF_X = 1, PF_W = 2, PF_R = 4;

export interface ElfHeader {
  /** e_type: 2 = ET_EXEC, 1 = ET_REL, 3 = ET_DYN. */
  type: number;
  machine: number;
  entry: number;
  entryBig: bigint;
  shnum: number;
  phnum: number;
  shstrndx: number;
}

export interface Section {
  index: number;
  name: string;
  /** sh_type number (SHT_*) and elfy's lower-case name for it ('progbits', 'nobits', ...). */
  type: number;
  typeName: string;
  flags: number;
  addr: number;
  addrBig: bigint;
  size: number;
  offset: number;
  addralign: number;
  entsize: number;
  link: number;
  info: number;
  /** The section's file bytes (read on first use, then kept); empty for SHT_NOBITS, whose memory is zero-filled. */
  readonly bytes: Uint8Array;
  /** Whether `bytes` has been read (or the file is in memory anyway). */
  readonly loaded: boolean;
  /** `length` bytes at offset `at` of the section, without reading the rest of it. */
  slice(at: number, length: number): Uint8Array;
}

export interface Segment {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  vaddrBig: bigint;
  filesz: number;
  memsz: number;
  align: number;
}

export interface ElfFile {
  header: ElfHeader;
  sections: Section[];
  segments: Segment[];
  source: ByteSource;
}

class FileSection implements Section {
  name = '';
  typeName = '';
  private cached: Uint8Array | undefined;
  constructor(
    private readonly source: ByteSource,
    readonly index: number, readonly type: number, readonly flags: number, readonly addr: number, readonly addrBig: bigint,
    readonly size: number, readonly offset: number, readonly addralign: number, readonly entsize: number,
    readonly link: number, readonly info: number,
  ) {}
  private get fileSize(): number { return this.type === SHT_NOBITS || this.type === 0 ? 0 : this.size; }
  get loaded(): boolean { return this.cached !== undefined || this.source.whole !== undefined; }
  get bytes(): Uint8Array {
    return (this.cached ??= this.fileSize === 0 ? new Uint8Array(0) : this.source.read(this.offset, this.size));
  }
  slice(at: number, length: number): Uint8Array {
    if (!(at >= 0 && length >= 0 && at + length <= this.fileSize)) {
      throw new ElfError(`read of 0x${length.toString(16)} bytes at 0x${at.toString(16)} is outside section ${this.name || this.index} (0x${this.fileSize.toString(16)} bytes)`);
    }
    if (this.cached || this.source.whole) return this.bytes.subarray(at, at + length);
    return this.source.read(this.offset + at, length);
  }
}

const TYPE_NAMES: Record<number, string> = {
  0: 'null', 1: 'progbits', 2: 'symtab', 3: 'strtab', 4: 'rela', 5: 'hash', 6: 'dynamic', 7: 'note', 8: 'nobits', 9: 'rel',
  10: 'shlib', 11: 'dynsym', 14: 'init_array', 15: 'fini_array', 16: 'preinit_array', 17: 'group', 18: 'symtab_shndx',
};

const latin1 = new TextDecoder('latin1'), utf8 = new TextDecoder('utf-8');

const EHDR = 64, SHDR = 64, PHDR = 56;

/** Parses and validates the ELF structure (headers only). Throws ElfError (only) on anything it cannot use. */
export function parseElfFile(input: Uint8Array | ByteSource): ElfFile {
  const src: ByteSource = input instanceof Uint8Array ? bytesSource(input) : input;
  const size = src.size;
  const head = src.read(0, Math.min(size, EHDR));
  if (size < 4 || head[0] !== 0x7f || head[1] !== 0x45 || head[2] !== 0x4c || head[3] !== 0x46) {
    throw new ElfError('not an ELF file (bad magic)', 0);
  }
  let r = new Reader(head, 0, size);
  r.check(0, 16, 'ELF identification');
  if (head[4] === 1) throw new ElfError('32-bit ELF (ELFCLASS32): only 64-bit x86-64 kernels are supported', 4);
  if (head[4] !== 2) throw new ElfError(`unknown ELF class ${head[4]}`, 4);
  if (head[5] !== 1) throw new ElfError('big-endian or unknown data encoding: only little-endian x86-64 is supported', 5);
  r.check(0, EHDR, 'ELF header');
  const machine = r.u16(18);
  if (machine !== EM_X86_64) throw new ElfError(`not an x86-64 ELF (e_machine ${machine}${machineName(machine)})`, 18);
  const entryBig = r.u64(24);
  const phoff = r.size64(32, 'e_phoff'), shoff = r.size64(40, 'e_shoff');
  const phentsize = r.u16(54), phnum = r.u16(56), shentsize = r.u16(58);
  let shnum = r.u16(60), shstrndx = r.u16(62);
  const etype = r.u16(16);
  if (shoff === 0) throw new ElfError('no section headers (e_shoff is 0)', 40);
  if (shentsize !== SHDR) throw new ElfError(`corrupt: e_shentsize ${shentsize}, expected ${SHDR}`, 58);
  r.check(shoff, SHDR, 'section header 0');
  // Extended numbering (gABI): the real counts live in section header 0 when they overflow 16 bits.
  if (shnum === 0 || shstrndx === 0xffff) {
    const s0 = new Reader(src.read(shoff, SHDR), shoff, size);
    if (shnum === 0) shnum = s0.size64(shoff + 32, 'section count');
    if (shstrndx === 0xffff) shstrndx = s0.u32(shoff + 24);
  }
  r.check(shoff, shnum * SHDR, 'section header table');
  if (shstrndx >= shnum) throw new ElfError(`corrupt: section name table index ${shstrndx} >= ${shnum} sections`, 62);
  if (phnum !== 0) {
    if (phentsize !== PHDR) throw new ElfError(`corrupt: e_phentsize ${phentsize}, expected ${PHDR}`, 54);
    r.check(phoff, phnum * PHDR, 'program header table');
  }

  r = new Reader(src.read(shoff, shnum * SHDR), shoff, size);
  const sections: FileSection[] = [];
  const nameOffsets: number[] = [];
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * SHDR;
    const type = r.u32(o + 4);
    const offset = r.size64(o + 24, 'sh_offset'), secSize = r.size64(o + 32, 'sh_size');
    const flagsBig = r.u64(o + 8);
    const addrBig = r.u64(o + 16);
    if (type !== SHT_NOBITS && type !== 0) r.check(offset, secSize, `section [${i}] contents`);
    nameOffsets.push(r.u32(o));
    sections.push(new FileSection(src, i, type, Number(flagsBig & 0xffffffffn), toAddr(addrBig), addrBig, secSize, offset,
      r.size64(o + 48, 'sh_addralign'), r.size64(o + 56, 'sh_entsize'), r.u32(o + 40), r.u32(o + 44)));
  }
  const shstr = sections[shstrndx]!;
  if (shstr.type !== SHT_STRTAB) throw new ElfError(`corrupt: section name table [${shstrndx}] is not a string table`, shoff + shstrndx * SHDR);
  const names = shstr.bytes;
  for (let i = 0; i < shnum; i++) {
    const s = sections[i]!, at = nameOffsets[i]!;
    if (at >= names.length) {
      if (at !== 0 || names.length !== 0) throw new ElfError(`corrupt: section [${i}] name offset 0x${at.toString(16)} is outside the section name table`, shoff + i * SHDR);
    } else {
      let end = at;
      while (end < names.length && names[end] !== 0) end++;
      let name = latin1.decode(names.subarray(at, end));
      if (/[^\x00-\x7f]/.test(name)) name = utf8.decode(names.subarray(at, end));
      s.name = name;
    }
    s.typeName = TYPE_NAMES[s.type] ?? `0x${s.type.toString(16)}`;
  }

  const segments: Segment[] = [];
  if (phnum !== 0) {
    const p = new Reader(src.read(phoff, phnum * PHDR), phoff, size);
    for (let i = 0; i < phnum; i++) {
      const o = phoff + i * PHDR;
      const vaddrBig = p.u64(o + 16);
      segments.push({
        type: p.u32(o), flags: p.u32(o + 4), offset: p.size64(o + 8, 'p_offset'),
        vaddr: toAddr(vaddrBig), vaddrBig, filesz: p.size64(o + 32, 'p_filesz'),
        memsz: p.size64(o + 40, 'p_memsz'), align: p.size64(o + 48, 'p_align'),
      });
    }
  }
  const header: ElfHeader = { type: etype, machine, entry: toAddr(entryBig), entryBig, shnum, phnum, shstrndx };
  return { header, sections, segments, source: src };
}

function machineName(m: number): string {
  const names: Record<number, string> = { 3: ', i386', 40: ', ARM', 183: ', AArch64', 243: ', RISC-V', 8: ', MIPS', 21: ', PowerPC64' };
  return names[m] ?? '';
}
