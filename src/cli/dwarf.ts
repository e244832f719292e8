// The CLI's door to debug info: a loaded Image's DWARF (the ELF sections are the loader), the source tree
// its file names are relative to, and the source files themselves.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, normalize, resolve } from 'node:path';
import type { Image } from '../elf/image.js';
import { Dwarf, DwarfError } from '../dwarf/index.js';
import { CliError } from './errors.js';
import { compilePerfProbe } from '../trace/perf-probe/compile.js';
import { isRawKprobeLine } from '../trace/perf-probe.js';
import { visibleMessage } from '../visible.js';

export interface DebugInfo {
  readonly dwarf: Dwarf;
  /** Where relative DWARF file names are resolved (the directory of the vmlinux). */
  readonly sourceRoot: string;
}

const DEBUG_SECTIONS = ['.debug_info', '.debug_abbrev'];

/** Does the image carry DWARF (perf then resolves every probe with it)? */
export function hasDebugInfo(image: Image): boolean {
  return DEBUG_SECTIONS.every((s) => (image.sectionByName(s)?.bytes.length ?? 0) > 0);
}

/** A function symbol's address from the ELF symbol table (perf-probe PointOptions.symbol). */
export function symbolLookup(image: Image): (name: string) => number | undefined {
  return (name) => image.functions.find((f) => f.name === name)?.addr;
}

/** Opens the DWARF of a loaded image; a vmlinux without debug info is a one-line CliError. */
export function openDwarf(image: Image, vmlinuxPath: string): DebugInfo {
  for (const s of DEBUG_SECTIONS) {
    const sec = image.sectionByName(s);
    if (!sec || sec.bytes.length === 0) {
      throw new CliError(`${vmlinuxPath}: no debug info (no ${s} section): build the kernel with CONFIG_DEBUG_INFO`);
    }
  }
  const eh = image.sectionByName('.eh_frame');
  const dwarf = new Dwarf((name) => image.sectionByName(name)?.bytes, eh ? { ehFrameAddress: eh.addr } : {});
  return { dwarf, sourceRoot: dirname(resolve(vmlinuxPath)) };
}

/** Runs a DWARF query, turning a DwarfError (malformed debug info) into a one-line CliError. */
export function withDwarf<T>(vmlinuxPath: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof DwarfError) throw new CliError(`${vmlinuxPath}: bad debug info: ${e.message}`);
    throw e;
  }
}

/** A DWARF file name as shown to users: normalized, `./` dropped. */
export function displayPath(p: string): string {
  return normalize(p);
}

/** The source file for a DWARF path (relative names resolve against the vmlinux's directory). */
export function sourcePath(info: DebugInfo, p: string): string {
  return isAbsolute(p) ? p : resolve(info.sourceRoot, p);
}

/** A source reader for lazy patterns (perf-probe PointOptions.readSource): undefined when the file is missing. */
export function sourceReader(info: DebugInfo): (p: string) => string[] | undefined {
  return (p) => { try { return readSourceLines(info, p); } catch { return undefined; } };
}

/** The lines of a source file, or a CliError naming the file the debug info refers to. */
export function readSourceLines(info: DebugInfo, p: string): string[] {
  const full = sourcePath(info, p);
  let text: string;
  try {
    text = readFileSync(full, 'utf8');
  } catch {
    throw new CliError(`source file ${displayPath(p)} not found (looked for ${full})`);
  }
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/**
 * perf probe's debuginfo path, which perf takes whenever the kernel has DWARF: a perf-probe spec
 * compiled into one kprobe_events line per probe address (an inlined function gets one per inlined
 * copy, all under one event name), as `perf probe -D` shows them. A failure is a one-line CliError
 * ("already exists" with the hint to delete or force).
 */
export function perfSpecLines(info: DebugInfo, image: Image, vmlinuxPath: string, words: readonly string[],
  opts: { taken: (group: string, event: string) => boolean; force: boolean; command: string }): string[] {
  const r = withDwarf(vmlinuxPath, () => compilePerfProbe(info.dwarf, words, { readSource: sourceReader(info), taken: opts.taken, force: opts.force, symbol: symbolLookup(image) }));
  if (!r.ok) {
    const m = /^event "(.*)" already exists\.$/.exec(r.reason);
    throw new CliError(`${opts.command}: ${visibleMessage(r.reason)}${m ? `\n  Hint: remove it with \`ktrace del ${m[1]}\`, or add a duplicate with -f (force).` : ''}`);
  }
  return r.value.map((e) => e.line);
}

/** The kprobe_events lines of a perf spec, given which event names are taken (perfSpecLines' options). */
export type SpecCompiler = (words: readonly string[], opts: { taken: (group: string, event: string) => boolean; force: boolean; command: string }) => string[] | undefined;

/**
 * How `add`, `run -a` and the TUI's add prompt take a spec, as perf does: a raw kprobe_events line goes
 * to the kernel as written (undefined here), a perf spec through the debug info (perfSpecLines).
 * Undefined when the kernel has no debug info; its DWARF is opened at the first spec that needs it.
 */
export function specCompiler(image: Image, vmlinuxPath: string): SpecCompiler | undefined {
  if (!hasDebugInfo(image)) return undefined;
  let info: DebugInfo | undefined;
  return (words, opts) => (isRawKprobeLine(words.join(' ')) ? undefined : perfSpecLines(info ??= openDwarf(image, vmlinuxPath), image, vmlinuxPath, words, opts));
}
