// src/base public surface: the vocabulary every layer shares (docs/ARCHITECTURE.md, "Shared vocabulary").
// It imports nothing of the project, so elf/, dwarf/ and emu/ as well as the layers above may use it.
export * from './addr.js';
export * from './errno.js';
export * from './ranges.js';
export * from './x86.js';
