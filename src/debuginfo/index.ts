// src/debuginfo public surface: an image's DWARF as the tools open it (with the persistent index in the
// cache, the source tree, one-line DebugInfoErrors). Above src/elf and src/dwarf, below src/kernel.
export { openDwarf, imageLoader, hasDebugInfo, symbolLookup, withDwarf, readSourceLines, sourceReader, sourcePath, realSourcePath, displayPath, buildIndex, buildFileIndex, DebugInfoError, type DebugInfo, type OpenOptions } from './open.js';
export { loadIndex, saveIndex, loadFileIndex, saveFileIndex, BACKGROUND_LIMIT, type DebugIndex } from './index-cache.js';
