// The loader boundary (gimli's `Dwarf::load` closure): the object-file format stays outside src/dwarf.
// A section is fetched from the loader at most once, the first time a parser needs it.
import type { SectionName } from './error.js';

export type SectionLoader = (name: string) => Uint8Array | undefined;

const EMPTY = new Uint8Array(0);

export class Sections {
  private readonly cache = new Map<string, Uint8Array>();
  constructor(private readonly loader: SectionLoader) {}
  /** The section's bytes, or an empty array when the file has none. */
  get(name: SectionName): Uint8Array {
    let b = this.cache.get(name);
    if (!b) { b = this.loader(name) ?? EMPTY; this.cache.set(name, b); }
    return b;
  }
  has(name: SectionName): boolean { return this.get(name).length > 0; }
}
