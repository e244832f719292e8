// An image's debug info as the tools use it: a loaded Image's DWARF (the ELF sections are the loader),
// with its persistent index (index-cache.ts), the source tree its file names are relative to, and the
// source files themselves. Its failures are DebugInfoErrors: one line, which the CLI prints as
// `ktrace: <message>`.
import { accessSync, constants, readFileSync } from 'node:fs';
import { dirname, isAbsolute, normalize, resolve } from 'node:path';
import type { Image } from '../elf/image.js';
import { FileSource } from '../elf/source.js';
import { BACKGROUND_LIMIT, loadFileIndex, loadIndex, saveFileIndex, saveIndex, treeStore, type DebugIndex } from './index-cache.js';
import { Dwarf, DwarfError, type RangedLoader, type SectionName } from '../dwarf/index.js';

/** A user-facing failure of the debug info (none, malformed, a source file missing): one line, exit 1 from the CLI. */
export class DebugInfoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DebugInfoError';
  }
}

export interface OpenOptions {
  /** perf's -s/--source DIR. */
  source?: string;
  /**
   * Starts a background build of a large image's index (the CLI's src/cli/debug-index.ts
   * buildInBackground); without it a large image's queries scan until an index is in the cache.
   */
  background?: (vmlinuxPath: string) => void;
}

export interface DebugInfo {
  readonly dwarf: Dwarf;
  /** Where relative DWARF file names are resolved (the directory of the vmlinux). */
  readonly sourceRoot: string;
  /** perf's -s/--source DIR: the source tree DWARF paths are looked up under (realSourcePath). */
  readonly sourcePrefix?: string;
}

const DEBUG_SECTIONS = ['.debug_info', '.debug_abbrev'];

/** Does the image carry DWARF (perf then resolves every probe with it)? */
export function hasDebugInfo(image: Image): boolean {
  return DEBUG_SECTIONS.every((s) => sectionSize(image, s) > 0);
}

function sectionSize(image: Image, name: string): number {
  const s = image.sectionByName(name);
  return !s || s.type === 8 /* SHT_NOBITS */ || s.type === 0 ? 0 : s.size;
}

/** The DWARF reader's view of an image: whole sections when asked, byte ranges of the big ones. */
export function imageLoader(image: Image): RangedLoader {
  const loader: RangedLoader = {
    section: (name) => image.sectionByName(name)?.bytes,
    size: (name) => sectionSize(image, name),
    read: (name, offset, length) => {
      const s = image.sectionByName(name);
      if (!s) throw new DwarfError('.debug_info', offset, `no section ${name}`);
      try {
        return s.slice(offset, length);
      } catch (e) {
        throw new DwarfError(name as SectionName, offset, (e as Error).message);
      }
    },
    readInto: (name, offset, length, into) => {
      const s = image.sectionByName(name);
      const src = image.source;
      if (!s || s.loaded || !(src instanceof FileSource) || length > into.length || offset + length > sectionSize(image, name)) {
        return loader.read(name, offset, length);
      }
      return src.readInto(into, s.offset + offset, length);
    },
  };
  return loader;
}

/** A function symbol's address from the ELF symbol table (perf-probe PointOptions.symbol). */
export function symbolLookup(image: Image): (name: string) => number | undefined {
  return (name) => image.functionNamed(name)?.addr;
}

/** Opens the DWARF of a loaded image; a vmlinux without debug info is a DebugInfoError. */
export function openDwarf(image: Image, vmlinuxPath: string, opts: OpenOptions = {}): DebugInfo {
  for (const s of DEBUG_SECTIONS) {
    const sec = image.sectionByName(s);
    if (!sec || sectionSize(image, s) === 0) {
      throw new DebugInfoError(`${vmlinuxPath}: no debug info (no ${s} section): build the kernel with CONFIG_DEBUG_INFO`);
    }
  }
  return { dwarf: dwarfOf(image, vmlinuxPath, opts.background), sourceRoot: dirname(resolve(vmlinuxPath)), ...(opts.source !== undefined ? { sourcePrefix: opts.source } : {}) };
}

/**
 * The image's Dwarf with its persistent index (index-cache.ts): loaded when valid; otherwise built by
 * the first query that needs function names (small images) or in the background (large ones, when the
 * caller gives `background`), the query meanwhile scanning for the name it needs. KTRACE_NO_CACHE=1: no
 * index at all.
 */
function dwarfOf(image: Image, vmlinuxPath: string, background: ((vmlinuxPath: string) => void) | undefined): Dwarf {
  const eh = image.sectionByName('.eh_frame');
  const infoSize = sectionSize(image, '.debug_info');
  let idx: DebugIndex | undefined | null = null;
  const index = (): DebugIndex | undefined => (idx === null ? (idx = loadIndex(image, vmlinuxPath, infoSize)) : idx);
  let started = false;
  const trees = treeStore(vmlinuxPath);
  const dwarf: Dwarf = new Dwarf(imageLoader(image), {
    ...(eh ? { ehFrameAddress: eh.addr } : {}),
    ...(trees ? { trees } : {}),
    unitHeaders: () => index()?.headers,
    names: () => {
      const i = index();
      if (i) return i.names;
      if (infoSize > BACKGROUND_LIMIT && !started) { started = true; background?.(vmlinuxPath); }
      return undefined;
    },
    aranges: () => index()?.aranges ?? undefined,
    // Only a big image's (a small one reads its few line tables at once); built in the background.
    files: () => {
      if (infoSize <= BACKGROUND_LIMIT) return undefined;
      const i = index();
      const fi = i ? loadFileIndex(image, vmlinuxPath, i.headers.length) : undefined;
      if (!fi && !started) { started = true; background?.(vmlinuxPath); }
      return fi;
    },
    onNameTable: (names) => { if (!index()) saveIndex(image, vmlinuxPath, { headers: dwarf.units().map((u) => u.header), names, aranges: dwarf.addressIndex() }); },
  });
  return dwarf;
}

/** Builds and saves the image's index now (the background builder; tests). */
export function buildIndex(image: Image, vmlinuxPath: string): DebugIndex {
  const eh = image.sectionByName('.eh_frame');
  const d = new Dwarf(imageLoader(image), eh ? { ehFrameAddress: eh.addr } : {});
  const idx = { headers: d.units().map((u) => u.header), names: d.nameTable(), aranges: d.addressIndex() };
  saveIndex(image, vmlinuxPath, idx);
  return idx;
}

/** Builds and saves a big image's file index (the background builder), given its unit headers. */
export function buildFileIndex(image: Image, vmlinuxPath: string, idx: DebugIndex): void {
  const eh = image.sectionByName('.eh_frame');
  const d = new Dwarf(imageLoader(image), { ...(eh ? { ehFrameAddress: eh.addr } : {}), unitHeaders: () => idx.headers });
  saveFileIndex(image, vmlinuxPath, idx.headers.length, d.fileIndex());
}

/** Runs a DWARF query, turning a DwarfError (malformed debug info) into a one-line DebugInfoError. */
export function withDwarf<T>(vmlinuxPath: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof DwarfError) throw new DebugInfoError(`${vmlinuxPath}: bad debug info: ${e.message}`);
    throw e;
  }
}

/** A DWARF file name as shown to users: normalized, `./` dropped. */
export function displayPath(p: string): string {
  return normalize(p);
}

/** The source file for a DWARF path (relative names resolve against the vmlinux's directory; under -s DIR, realSourcePath). */
export function sourcePath(info: DebugInfo, p: string): string {
  if (info.sourcePrefix !== undefined) return realSourcePath(info.sourcePrefix, p) ?? `${info.sourcePrefix}/${p}`;
  return isAbsolute(p) ? p : resolve(info.sourceRoot, p);
}

/**
 * perf probe -s DIR (util/probe-finder.c get_real_path): DIR/PATH if readable; else PATH's leading
 * directories are dropped one at a time (a distribution's debian/build/build_amd64_none_cloud-amd64/fs/
 * read_write.c is found as DIR/fs/read_write.c) while the miss is ENOENT or ENAMETOOLONG.
 */
export function realSourcePath(prefix: string, raw: string): string | undefined {
  for (let rest: string | undefined = raw; rest !== undefined;) {
    const candidate = `${prefix}/${rest}`;
    try {
      accessSync(candidate, constants.R_OK);
      return normalize(candidate);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENAMETOOLONG') return undefined;
    }
    const slash = rest.indexOf('/', 1);
    rest = slash < 0 ? undefined : rest.slice(slash);
  }
  return undefined;
}

/** A source reader for lazy patterns (perf-probe PointOptions.readSource): undefined when the file is missing. */
export function sourceReader(info: DebugInfo): (p: string) => string[] | undefined {
  return (p) => { try { return readSourceLines(info, p); } catch { return undefined; } };
}

/** The lines of a source file, or a DebugInfoError naming the file the debug info refers to. */
export function readSourceLines(info: DebugInfo, p: string): string[] {
  const full = sourcePath(info, p);
  let text: string;
  try {
    text = readFileSync(full, 'utf8');
  } catch {
    throw new DebugInfoError(info.sourcePrefix !== undefined ? `source file ${displayPath(p)} not found under ${info.sourcePrefix} (-s)`
      : `source file ${displayPath(p)} not found (looked for ${full}; give the source tree with -s DIR)`);
  }
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines;
}
