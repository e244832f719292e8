// ELF64 little-endian x86-64 file structure: header, section headers, program headers
// (System V gABI, "ELF Header", "Sections", "Program Header").
// elfy gives section names, type names, link and info (where it is exact); every address, size,
// offset, alignment and the section bytes come from the exact Reader, because elfy rounds 64-bit
// fields through doubles, reads ELF64 sh_addralign/sh_entsize at offsets 46/54 instead of 48/56,
// and slices file bytes for SHT_NOBITS sections that have none.
import { Buffer } from 'node:buffer';
import elfy from 'elfy';
import { ElfError } from './errors.js';
import { Reader } from './reader.js';
import { toAddr } from './addr.js';

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
  /** The section's file bytes (a view, no copy); empty for SHT_NOBITS, whose memory is zero-filled. */
  bytes: Uint8Array;
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
}

const EHDR = 64, SHDR = 64, PHDR = 56;

/** Parses and validates the ELF structure. Throws ElfError (only) on anything it cannot use. */
export function parseElfFile(bytes: Uint8Array): ElfFile {
  const r = new Reader(bytes);
  if (bytes.length < 4 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    throw new ElfError('not an ELF file (bad magic)', 0);
  }
  r.check(0, 16, 'ELF identification');
  if (bytes[4] === 1) throw new ElfError('32-bit ELF (ELFCLASS32): only 64-bit x86-64 kernels are supported', 4);
  if (bytes[4] !== 2) throw new ElfError(`unknown ELF class ${bytes[4]}`, 4);
  if (bytes[5] !== 1) throw new ElfError('big-endian or unknown data encoding: only little-endian x86-64 is supported', 5);
  r.check(0, EHDR, 'ELF header');
  const machine = r.u16(18);
  if (machine !== EM_X86_64) throw new ElfError(`not an x86-64 ELF (e_machine ${machine}${machineName(machine)})`, 18);
  const entryBig = r.u64(24);
  const phoff = r.size64(32, 'e_phoff'), shoff = r.size64(40, 'e_shoff');
  const phentsize = r.u16(54), phnum = r.u16(56), shentsize = r.u16(58);
  let shnum = r.u16(60), shstrndx = r.u16(62);
  if (shoff === 0) throw new ElfError('no section headers (e_shoff is 0)', 40);
  if (shentsize !== SHDR) throw new ElfError(`corrupt: e_shentsize ${shentsize}, expected ${SHDR}`, 58);
  r.check(shoff, SHDR, 'section header 0');
  // Extended numbering (gABI): the real counts live in section header 0 when they overflow 16 bits.
  if (shnum === 0) shnum = r.size64(shoff + 32, 'section count');
  if (shstrndx === 0xffff) shstrndx = r.u32(shoff + 24);
  r.check(shoff, shnum * SHDR, 'section header table');
  if (shstrndx >= shnum) throw new ElfError(`corrupt: section name table index ${shstrndx} >= ${shnum} sections`, 62);
  if (phnum !== 0) {
    if (phentsize !== PHDR) throw new ElfError(`corrupt: e_phentsize ${phentsize}, expected ${PHDR}`, 54);
    r.check(phoff, phnum * PHDR, 'program header table');
  }

  const sections: Section[] = [];
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * SHDR;
    const type = r.u32(o + 4);
    const offset = r.size64(o + 24, 'sh_offset'), size = r.size64(o + 32, 'sh_size');
    const flagsBig = r.u64(o + 8);
    const addrBig = r.u64(o + 16);
    let view: Uint8Array;
    if (type === SHT_NOBITS || type === 0) view = new Uint8Array(0);
    else {
      r.check(offset, size, `section [${i}] contents`);
      view = bytes.subarray(offset, offset + size);
    }
    sections.push({
      index: i, name: '', type, typeName: '', flags: Number(flagsBig & 0xffffffffn),
      addr: toAddr(addrBig), addrBig, size, offset,
      addralign: r.size64(o + 48, 'sh_addralign'), entsize: r.size64(o + 56, 'sh_entsize'),
      link: r.u32(o + 40), info: r.u32(o + 44), bytes: view,
    });
  }
  const shstr = sections[shstrndx]!;
  if (shstr.type !== SHT_STRTAB) throw new ElfError(`corrupt: section name table [${shstrndx}] is not a string table`, shoff + shstrndx * SHDR);

  // elfy: names and type names (exact: 32-bit fields and string lookups). Everything it might trip
  // over has been validated above; anything it still throws is reported as an ElfError.
  let ef;
  try {
    ef = elfy.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new ElfError(`corrupt ELF: ${(e as Error)?.message ?? String(e)}`, undefined, { cause: e });
  }
  const es = ef.body.sections;
  if (es.length !== shnum) throw new ElfError(`corrupt: ${es.length} sections parsed, header says ${shnum}`);
  for (let i = 0; i < shnum; i++) {
    const s = sections[i]!, e = es[i]!;
    if (s.link !== e.link || s.info !== e.info) throw new ElfError(`internal: elfy disagrees on section [${i}] link/info`);
    s.name = e.name;
    s.typeName = typeof e.type === 'string' ? e.type : `0x${s.type.toString(16)}`;
  }

  const segments: Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * PHDR;
    const vaddrBig = r.u64(o + 16);
    segments.push({
      type: r.u32(o), flags: r.u32(o + 4), offset: r.size64(o + 8, 'p_offset'),
      vaddr: toAddr(vaddrBig), vaddrBig, filesz: r.size64(o + 32, 'p_filesz'),
      memsz: r.size64(o + 40, 'p_memsz'), align: r.size64(o + 48, 'p_align'),
    });
  }
  const header: ElfHeader = { type: r.u16(16), machine, entry: toAddr(entryBig), entryBig, shnum, phnum, shstrndx };
  return { header, sections, segments };
}

function machineName(m: number): string {
  const names: Record<number, string> = { 3: ', i386', 40: ', ARM', 183: ', AArch64', 243: ', RISC-V', 8: ', MIPS', 21: ', PowerPC64' };
  return names[m] ?? '';
}
