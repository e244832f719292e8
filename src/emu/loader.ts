// Load an ELF file's PT_LOAD segments into Memory. The ELF parser is elsewhere (src/elf); this takes the
// program headers as plain data, so the emulator knows nothing of the file format.
import { EmuError } from './addr.js';
import { hex0x, toAddr } from '../base/addr.js';
import { Memory, PAGE_SIZE, PERM_R, PERM_W, PERM_X, PERM_U } from './memory.js';

export interface LoadSegment { vaddr: bigint; memsz: number; filesz: number; offset: number; flags: number; }
// ELF p_flags (System V ABI): PF_X 1, PF_W 2, PF_R 4
export const PF_X = 1, PF_W = 2, PF_R = 4;

export interface LoadOptions { user?: boolean; }

/**
 * Map every segment's pages (supervisor-only unless opts.user) with the union of the permissions of the
 * segments that share a page, copy p_filesz bytes from the file and leave the rest of p_memsz zero (.bss).
 */
export function loadSegments(mem: Memory, segs: LoadSegment[], file: Uint8Array, opts: LoadOptions = {}): void {
  const perms = new Map<number, number>();
  for (const s of segs) {
    if (s.filesz > s.memsz) throw new EmuError(`segment at 0x${s.vaddr.toString(16)}: filesz > memsz`);
    if (s.offset + s.filesz > file.length) throw new EmuError(`segment at 0x${s.vaddr.toString(16)}: file too short`);
    if (s.memsz === 0) continue;
    const start = toAddr(s.vaddr);
    const p = PERM_R | (s.flags & PF_W ? PERM_W : 0) | (s.flags & PF_X ? PERM_X : 0) | (opts.user ? PERM_U : 0);
    for (let a = start - (start & 4095); a < start + s.memsz; a += PAGE_SIZE) perms.set(a, (perms.get(a) ?? 0) | p);
  }
  for (const [a, p] of [...perms].sort((x, y) => x[0] - y[0])) {
    if (mem.permsAt(a) !== 0) throw new EmuError(`loadSegments: page ${hex0x(a)} is already mapped`);
    mem.map(a, PAGE_SIZE, p);
  }
  for (const s of segs) if (s.filesz > 0) mem.writeBytes(toAddr(s.vaddr), file.subarray(s.offset, s.offset + s.filesz));
}

/** Minimal exact ELF64 program-header reader (for tests and tools that have no parser at hand). */
export function readLoadSegments(file: Uint8Array): { entry: bigint; segments: LoadSegment[] } {
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (dv.getUint32(0, false) !== 0x7f454c46 || file[4] !== 2 || file[5] !== 1) throw new EmuError('not a little-endian ELF64 file');
  const entry = dv.getBigUint64(24, true), phoff = Number(dv.getBigUint64(32, true));
  const phentsize = dv.getUint16(54, true), phnum = dv.getUint16(56, true);
  const segments: LoadSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    if (dv.getUint32(o, true) !== 1) continue; // PT_LOAD
    segments.push({
      flags: dv.getUint32(o + 4, true), offset: Number(dv.getBigUint64(o + 8, true)), vaddr: dv.getBigUint64(o + 16, true),
      filesz: Number(dv.getBigUint64(o + 32, true)), memsz: Number(dv.getBigUint64(o + 40, true)),
    });
  }
  return { entry, segments };
}
