// src/elf public surface.
export { Image } from './image.js';
export { openImage } from './open.js';
export { ElfError } from './errors.js';
export type { ElfHeader, Section, Segment } from './elf-file.js';
export type { Sym, SymType, SymBind } from './symbols.js';
export type { KallsymsEntry, SymbolAt, Kallsyms } from './kallsyms.js';
export type { BlacklistEntry, ExTableEntry, Range } from './kernel-sections.js';
