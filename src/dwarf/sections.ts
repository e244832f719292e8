// The loader boundary (gimli's `Dwarf::load` closure): the object-file format stays outside src/dwarf.
// A section is fetched from the loader at most once, the first time a parser needs it whole. A ranged
// loader also gives sizes and byte ranges, so .debug_info (160 MB in a distribution kernel) is read a
// unit at a time and never whole.
import { DwarfError, type SectionName } from './error.js';

export interface RangedLoader {
  /** The whole section, or undefined when the file has none. */
  section(name: string): Uint8Array | undefined;
  /** The section's size in bytes (0 when missing), without reading it. */
  size(name: string): number;
  /** `length` bytes at `offset` of the section. */
  read(name: string, offset: number, length: number): Uint8Array;
  /** The same into a caller's buffer (scans reuse one); returns the filled part. */
  readInto?(name: string, offset: number, length: number, into: Uint8Array): Uint8Array;
}

export type SectionLoader = ((name: string) => Uint8Array | undefined) | RangedLoader;

const EMPTY = new Uint8Array(0);

/** Sections up to this size are read whole; larger ones (of a ranged loader) in pages and windows. */
const WHOLE_LIMIT = 1 << 20;
const PAGE = 1 << 16;

export class Sections {
  private readonly cache = new Map<string, Uint8Array>();
  private readonly ranged: RangedLoader | undefined;
  /** `pagedAbove`: sections of a ranged loader larger than this are read in pages and windows (tests lower it). */
  constructor(private readonly loader: SectionLoader, private readonly pagedAbove = WHOLE_LIMIT) {
    this.ranged = typeof loader === 'function' ? undefined : loader;
  }
  /** The section's bytes, or an empty array when the file has none. */
  get(name: SectionName | string): Uint8Array {
    let b = this.cache.get(name);
    if (!b) { b = (this.ranged ? this.ranged.section(name) : (this.loader as (n: string) => Uint8Array | undefined)(name)) ?? EMPTY; this.cache.set(name, b); }
    return b;
  }
  /** Whether the section is in memory (read whole, or the loader holds everything). */
  loaded(name: string): boolean { return !this.ranged || this.cache.has(name); }
  size(name: SectionName | string): number {
    const b = this.cache.get(name);
    if (b) return b.length;
    return this.ranged ? this.ranged.size(name) : this.get(name).length;
  }
  /** `length` bytes at `offset`: a view when the section is in memory, else read from the file. */
  read(name: SectionName | string, offset: number, length: number): Uint8Array {
    const b = this.cache.get(name);
    if (b || !this.ranged) {
      const all = b ?? this.get(name);
      return all.subarray(offset, offset + length);
    }
    return this.ranged.read(name, offset, length);
  }
  /** As read, but may fill and return part of `scratch` instead of allocating (valid until the next call). */
  readInto(name: SectionName | string, offset: number, length: number, scratch: Uint8Array): Uint8Array {
    if (this.ranged?.readInto && !this.cache.has(name)) return this.ranged.readInto(name, offset, length, scratch);
    return this.read(name, offset, length);
  }
  has(name: SectionName | string): boolean { return this.size(name) > 0; }

  /** Whether the section is read in pieces (a big section of a file) rather than whole. */
  private paged(name: string): boolean {
    return !!this.ranged && !this.cache.has(name) && this.ranged.size(name) > this.pagedAbove;
  }

  /** [offset, offset+length) clipped to the section's end: from a cached 64 KiB page when it fits in one. */
  span(name: SectionName | string, offset: number, length: number): Uint8Array {
    const size = this.size(name);
    const end = Math.min(size, offset + length);
    if (!(offset >= 0 && offset < end)) return EMPTY;
    if (!this.paged(name)) return this.get(name).subarray(offset, end);
    const p0 = Math.floor(offset / PAGE);
    if (Math.floor((end - 1) / PAGE) !== p0) return this.ranged!.read(name, offset, end - offset);
    let pages = this.pages.get(name);
    if (!pages) this.pages.set(name, (pages = new Map()));
    let page = pages.get(p0);
    if (!page) { page = this.ranged!.read(name, p0 * PAGE, Math.min(PAGE, size - p0 * PAGE)); pages.set(p0, page); }
    return page.subarray(offset - p0 * PAGE, end - p0 * PAGE);
  }
  private readonly pages = new Map<string, Map<number, Uint8Array>>();

  /**
   * Runs `parse(buf, at)` on the data at `offset`: the whole section (at = offset) when it is in memory
   * or small; else a window starting there (at = 0), grown eightfold while the parse runs out of bytes
   * (a DwarfError) and the window is not yet at the section's end. Errors name section offsets.
   */
  windowed<T>(name: SectionName, offset: number, initial: number, parse: (buf: Uint8Array, at: number) => T): T {
    if (!this.paged(name)) return parse(this.get(name), offset);
    const size = this.size(name);
    if (!(offset >= 0 && offset < size)) return parse(EMPTY, offset);
    for (let len = Math.max(16, initial); ; len *= 8) {
      const w = this.span(name, offset, len);
      try {
        return parse(w, 0);
      } catch (e) {
        if (!(e instanceof DwarfError)) throw e;
        if (offset + w.length >= size) throw e.section === name ? new DwarfError(name, e.offset + offset, e.reason) : e;
      }
    }
  }
}
