// The CLI's door to debug info: a loaded Image's DWARF (the ELF sections are the loader), the source tree
// its file names are relative to, and perf's spelling of types (tools/perf/util/dwarf-aux.c
// die_get_typename: qualifiers dropped, `char*`, `struct file*`, arrays as pointers, `void*`).
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, normalize, resolve } from 'node:path';
import type { Image } from '../elf/image.js';
import { Dwarf, DwarfError, DW_AT, DW_TAG, type Die } from '../dwarf/index.js';
import { CliError } from './errors.js';

export interface DebugInfo {
  readonly dwarf: Dwarf;
  /** Where relative DWARF file names are resolved (the directory of the vmlinux). */
  readonly sourceRoot: string;
}

const DEBUG_SECTIONS = ['.debug_info', '.debug_abbrev'];

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

/** perf's type spelling for a variable's type DIE (dwarf-aux.c die_get_typename). */
export function perfTypeName(d: Dwarf, type: Die | undefined): string {
  const name = perfTypeInner(d, type, 0);
  return name ?? '(unknown_type)';
}

function stripQualifiers(d: Dwarf, t: Die | undefined): Die | undefined {
  for (let i = 0; t && i < 16; i++) {
    if (t.tag !== DW_TAG.const_type && t.tag !== DW_TAG.volatile_type && t.tag !== DW_TAG.restrict_type && t.tag !== DW_TAG.atomic_type) return t;
    t = d.ref(t, DW_AT.type);
  }
  return t;
}

function perfTypeInner(d: Dwarf, type: Die | undefined, depth: number): string | undefined {
  const t = stripQualifiers(d, type);
  if (!t || depth > 16) return undefined;
  if (t.tag === DW_TAG.pointer_type || t.tag === DW_TAG.array_type) {
    const inner = perfTypeInner(d, d.ref(t, DW_AT.type), depth + 1);
    // "void pointer has no type attribute" (die_get_typename_from_type).
    if (inner === undefined) return t.tag === DW_TAG.pointer_type ? 'void*' : undefined;
    return inner + '*';
  }
  if (t.tag === DW_TAG.subroutine_type) return '(function_type)';
  const n = d.str(t, DW_AT.name) ?? '';
  const prefix = t.tag === DW_TAG.union_type ? 'union ' : t.tag === DW_TAG.structure_type ? 'struct ' : t.tag === DW_TAG.enumeration_type ? 'enum ' : '';
  return prefix + n;
}
