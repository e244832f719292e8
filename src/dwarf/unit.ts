// .debug_info: unit headers (DWARF 5 §7.5.1, DWARF 2-4 §7.5.1.1) and debugging information entries.
// Headers are cheap to walk; a unit's DIE tree is decoded only when something asks for it, and then
// kept (an explicit per-unit cache) as a flat pre-order array: children of entry i are the following
// entries up to `subtreeEnd`, which makes scope walks and sibling skips index arithmetic.
import { type Abbrev, type AbbrevTable, type AttrSpec } from './abbrev.js';
import { DW_AT, DW_FORM, DW_UT } from './constants.js';
import { fail } from './error.js';
import { infoOffset, type DebugInfoOffset } from './offsets.js';
import { Reader } from './reader.js';

export interface UnitHeader {
  readonly offset: DebugInfoOffset;
  /** Offset one past the unit's last byte. */
  readonly end: number;
  readonly version: number;
  readonly unitType: number;
  readonly addrSize: number;
  readonly offsetSize: 4 | 8;
  readonly abbrevOffset: number;
  readonly firstDieOffset: number;
}

/** Unit headers in .debug_info order: an array, or a table read from an index (UnitHeaderTable). */
export interface UnitHeaderList {
  readonly length: number;
  at(i: number): UnitHeader | undefined;
}

/** UnitHeaderTable's words per header: offset, end, version, unitType, addrSize, offsetSize, abbrevOffset, firstDieOffset. */
export const HEADER_WORDS = 8;

/**
 * Unit headers kept as the words of a persistent index (HEADER_WORDS a header), each made an object
 * when first asked for: a query reaches a few of a distribution kernel's ~2,200 units.
 */
export class UnitHeaderTable implements UnitHeaderList {
  private readonly objs: (UnitHeader | undefined)[] = [];
  constructor(private readonly words: Float64Array, readonly length: number) {}
  at(i: number): UnitHeader | undefined {
    if (!(i >= 0 && i < this.length)) return undefined;
    let h = this.objs[i];
    if (!h) {
      const f = this.words, j = i * HEADER_WORDS;
      h = this.objs[i] = { offset: f[j]! as DebugInfoOffset, end: f[j + 1]!, version: f[j + 2]!, unitType: f[j + 3]!, addrSize: f[j + 4]!,
        offsetSize: f[j + 5] === 8 ? 8 : 4, abbrevOffset: f[j + 6]!, firstDieOffset: f[j + 7]! };
    }
    return h;
  }
}

/** Walks the unit headers of .debug_info (no DIEs decoded). */
export function parseUnitHeaders(info: Uint8Array): UnitHeader[] {
  return walkUnitHeaders(info.length, (off, len) => info.subarray(off, off + len));
}

/** The longest unit header: 64-bit initial length, DWARF 5 type unit (signature and type offset). */
const MAX_UNIT_HEADER = 40;

/** Walks the unit headers of a .debug_info of `size` bytes, reading only each header's bytes. */
export function walkUnitHeaders(size: number, read: (offset: number, length: number) => Uint8Array): UnitHeader[] {
  const w = new HeaderWalker(size);
  w.finish(read);
  return w.headers;
}

/**
 * The unit headers of a .debug_info of `size` bytes, taken from bytes a caller reads anyway (a scan of
 * the section in chunks: `feed`), the rest read by `finish` (a header that straddles two chunks, or
 * all of them when nothing was fed): the same headers as walkUnitHeaders, with no read per unit.
 */
export class HeaderWalker {
  readonly headers: UnitHeader[] = [];
  /** Offset of the next unit header to parse. */
  private next = 0;
  constructor(private readonly size: number) {}
  /** Bytes [at, at + buf.length) of the section; chunks come in order. */
  feed(at: number, buf: Uint8Array, read: (offset: number, length: number) => Uint8Array): void {
    const end = at + buf.length;
    while (this.next < this.size && this.next < end) {
      const n = Math.min(MAX_UNIT_HEADER, this.size - this.next);
      const win = this.next >= at && this.next + n <= end ? buf.subarray(this.next - at, this.next - at + n) : read(this.next, n);
      this.take(win);
    }
  }
  finish(read: (offset: number, length: number) => Uint8Array): void {
    while (this.next < this.size) this.take(read(this.next, Math.min(MAX_UNIT_HEADER, this.size - this.next)));
  }
  private take(win: Uint8Array): void {
    const h = parseUnitHeader(win, this.next, this.size);
    this.headers.push(h);
    this.next = h.end;
  }
}

/** The unit header at `offset` (`win`: its first bytes, up to MAX_UNIT_HEADER) of a .debug_info of `size` bytes. */
function parseUnitHeader(win: Uint8Array, offset: number, size: number): UnitHeader {
  const r = new Reader(win, '.debug_info', 0, win.length, offset);
  const [length, offsetSize] = r.initialLength();
  const bodyStart = offset + r.pos;
  if (length > size - bodyStart) fail('.debug_info', offset, `unit length 0x${length.toString(16)} runs past the section`);
  const end = bodyStart + length;
  const h = new Reader(win, '.debug_info', r.pos, Math.min(win.length, end - offset), offset);
  const version = h.u16();
  if (version < 2 || version > 5) fail('.debug_info', offset, `unsupported DWARF version ${version}`);
  let unitType: number = DW_UT.compile, addrSize: number, abbrev: number;
  if (version >= 5) {
    unitType = h.u8(); addrSize = h.u8(); abbrev = h.offset(offsetSize);
    if (unitType === DW_UT.skeleton || unitType === DW_UT.split_compile) h.skip(8); // dwo_id
    else if (unitType === DW_UT.type || unitType === DW_UT.split_type) { h.skip(8); h.offset(offsetSize); }
    else if (unitType !== DW_UT.compile && unitType !== DW_UT.partial) fail('.debug_info', offset, `unknown unit type ${unitType}`);
  } else {
    abbrev = h.offset(offsetSize); addrSize = h.u8();
  }
  if (addrSize !== 4 && addrSize !== 8) fail('.debug_info', offset, `unsupported address size ${addrSize}`);
  return { offset: infoOffset(offset), end, version, unitType, addrSize, offsetSize, abbrevOffset: abbrev, firstDieOffset: offset + h.pos };
}

/** Bytes a form occupies when that doesn't depend on the data (DWARF 5 §7.5.6), else -1. */
export function fixedFormSize(form: number, addrSize: number, offsetSize: number, version: number): number {
  switch (form) {
    case DW_FORM.flag_present: case DW_FORM.implicit_const: return 0;
    case DW_FORM.data1: case DW_FORM.ref1: case DW_FORM.flag: case DW_FORM.strx1: case DW_FORM.addrx1: return 1;
    case DW_FORM.data2: case DW_FORM.ref2: case DW_FORM.strx2: case DW_FORM.addrx2: return 2;
    case DW_FORM.strx3: case DW_FORM.addrx3: return 3;
    case DW_FORM.data4: case DW_FORM.ref4: case DW_FORM.strx4: case DW_FORM.addrx4: case DW_FORM.ref_sup4: return 4;
    case DW_FORM.data8: case DW_FORM.ref8: case DW_FORM.ref_sig8: case DW_FORM.ref_sup8: return 8;
    case DW_FORM.data16: return 16;
    case DW_FORM.addr: return addrSize;
    case DW_FORM.strp: case DW_FORM.line_strp: case DW_FORM.sec_offset: case DW_FORM.strp_sup:
    case DW_FORM.GNU_ref_alt: case DW_FORM.GNU_strp_alt: return offsetSize;
    case DW_FORM.ref_addr: return version <= 2 ? addrSize : offsetSize;
    default: return -1;
  }
}

export type AttrRaw = number | bigint | string | Uint8Array;

/**
 * One DIE. Its structure (tag, place in the tree) is decoded when the unit's tree is walked; attribute
 * values are decoded only when first read (most DIEs of a big unit are never looked at).
 */
export class Die {
  private vals: AttrRaw[] | null = null;
  private frms: number[] | null = null;
  /** Dwarf.name's answer once known (null: not yet looked up). */
  name: string | undefined | null = null;
  constructor(
    readonly unit: Unit,
    readonly index: number,
    readonly offset: DebugInfoOffset,
    readonly tag: number,
    readonly depth: number,
    /** Index of the parent entry in unit.dies, -1 for the root. */
    readonly parent: number,
    readonly abbrev: Abbrev,
    /** Offset of the first attribute value in .debug_info. */
    readonly attrOffset: number,
  ) {}
  /** Index one past the last descendant (the unit's tree is decoded on first use). */
  get subtreeEnd(): number { return this.unit.endAt(this.index); }
  get specs(): readonly AttrSpec[] { return this.abbrev.attrs; }
  /** Raw attribute values, in abbreviation order. */
  get values(): readonly AttrRaw[] { if (!this.vals) this.decode(); return this.vals!; }
  /** Actual forms when DW_FORM_indirect was used, else null (use the abbreviation's). */
  get forms(): readonly number[] | null { if (!this.vals) this.decode(); return this.frms; }
  private decode(): void {
    const out = this.unit.decodeAttributes(this);
    this.vals = out.values; this.frms = out.forms;
  }
}

/** Bytes read to decode a unit's root DIE alone (its attributes are a few dozen bytes). */
const ROOT_WINDOW = 1024;

/** Bound on DIE nesting: deeper trees are malformed (or hostile), not C. */
const MAX_DEPTH = 512;
/** The most entries a stored tree may claim (a unit has fewer entries than bytes). */
const MAX_TREE = 1 << 28;

/**
 * A unit's DIE tree as columns (one typed-array slot per entry, pre-order): what a walk needs (tag,
 * place in the tree, offset, abbreviation) without an object per entry. Die objects are made on demand.
 */
export interface UnitTree {
  readonly n: number;
  /** Offsets relative to the unit's start: of the entry, and of its first attribute value. */
  readonly off: Uint32Array;
  readonly attr: Uint32Array;
  readonly code: Uint32Array;
  readonly tag: Int32Array;
  readonly parent: Int32Array;
  readonly end: Int32Array;
  readonly depth: Uint16Array;
}

/**
 * Decoded trees kept across runs (src/debuginfo/index-cache.ts keeps them in the cache): a big unit's
 * walk takes a cold process ~15 ms for 10,000 entries, its columns read back in a few. The store holds
 * encodeTree's bytes; `load` gets the unit's bytes to check the entry against (the cache stores their
 * CRC-32), and what it returns is rebuilt and checked against the unit (decodeTree) before use: an
 * entry that does not fit is walked anew and saved.
 */
export interface TreeStore {
  /** Units smaller than this many bytes are walked, never stored. */
  readonly minBytes: number;
  load(h: UnitHeader, bytes: Uint8Array): Uint8Array | undefined;
  save(h: UnitHeader, bytes: Uint8Array, tree: Uint8Array): void;
}

/**
 * A tree as bytes: n, then the columns the others follow from (off, attr, code, parent: 4 bytes each
 * per entry; tags come from the abbreviations, ends and depths from the parents).
 */
export function encodeTree(t: UnitTree): Uint8Array {
  const n = t.n;
  const out = new Uint8Array(4 + n * 16);
  new DataView(out.buffer).setUint32(0, n, true);
  let at = 4;
  for (const col of [t.off, t.attr, t.code, t.parent]) {
    out.set(new Uint8Array(col.buffer, col.byteOffset, n * 4), at);
    at += n * 4;
  }
  return out;
}

/**
 * The tree of encodeTree's bytes for this unit, or undefined when they cannot be its tree: entries
 * in order inside the unit, each a child of an open entry whose abbreviation has children (pre-order),
 * the root first, codes of the unit's abbreviation table. Tags, subtree ends and depths are rebuilt
 * here, so that an accepted tree is one the walk could have made of some bytes (never an index outside
 * the unit); that they are these bytes' is the store's CRC-32.
 */
export function decodeTree(b: Uint8Array, h: UnitHeader, unitLength: number, abbrevs: AbbrevTable): UnitTree | undefined {
  if (b.length < 4) return undefined;
  const n = new DataView(b.buffer, b.byteOffset, b.length).getUint32(0, true);
  if (n < 1 || n > MAX_TREE || b.length !== 4 + n * 16) return undefined;
  const copy = b.buffer.slice(b.byteOffset + 4, b.byteOffset + b.length);
  const off = new Uint32Array(copy, 0, n), attr = new Uint32Array(copy, 4 * n, n), code = new Uint32Array(copy, 8 * n, n), parent = new Int32Array(copy, 12 * n, n);
  const tag = new Int32Array(n), end = new Int32Array(n), depth = new Uint16Array(n);
  const stack = new Int32Array(MAX_DEPTH + 1);
  let sp = 0;
  if (off[0] !== h.firstDieOffset - h.offset || parent[0] !== -1) return undefined;
  for (let i = 0; i < n; i++) {
    const o = off[i]!, a = attr[i]!, p = parent[i]!;
    if (!(a > o && a <= unitLength) || (i > 0 && !(o > off[i - 1]!))) return undefined;
    const ab = abbrevs.get(code[i]!);
    if (!ab) return undefined;
    tag[i] = ab.tag;
    if (i > 0) {
      // Close the open entries after the parent: their subtrees end here.
      while (sp > 0 && stack[sp - 1] !== p) end[stack[--sp]!] = i;
      if (sp === 0) return undefined;
    } else if (sp !== 0) return undefined;
    depth[i] = sp;
    if (ab.hasChildren) {
      if (sp >= MAX_DEPTH) return undefined;
      stack[sp++] = i;
    } else end[i] = i + 1;
    if (i > 0 && sp > 0 && stack[0] !== 0) return undefined;
  }
  while (sp > 0) end[stack[--sp]!] = n;
  return { n, off, attr, code, tag, parent, end, depth };
}

// How a form's value is skipped (Unit.plans, names.ts's skim): a fixed size in bytes (>= 0), or one
// of these kinds; -100 - form for a form DWARF does not define.
export const K_ULEB = -1, K_STRING = -2, K_BLOCK1 = -3, K_BLOCK2 = -4, K_BLOCK4 = -5, K_BLOCK = -6, K_INDIRECT = -7;

function skipKind(form: number, h: UnitHeader): number {
  return formSkipKind(form, h.addrSize, h.offsetSize, h.version);
}

/** How a form's value is skipped in a unit of this address size, offset size and version (see K_ULEB). */
export function formSkipKind(form: number, addrSize: number, offsetSize: number, version: number): number {
  const k = fixedFormSize(form, addrSize, offsetSize, version);
  if (k >= 0) return k;
  switch (form) {
    case DW_FORM.sdata: case DW_FORM.udata: case DW_FORM.strx: case DW_FORM.addrx: case DW_FORM.loclistx:
    case DW_FORM.rnglistx: case DW_FORM.GNU_addr_index: case DW_FORM.GNU_str_index: case DW_FORM.ref_udata: return K_ULEB;
    case DW_FORM.string: return K_STRING;
    case DW_FORM.block1: return K_BLOCK1;
    case DW_FORM.block2: return K_BLOCK2;
    case DW_FORM.block4: return K_BLOCK4;
    case DW_FORM.block: case DW_FORM.exprloc: return K_BLOCK;
    case DW_FORM.indirect: return K_INDIRECT;
    default: return -100 - form;
  }
}

export class Unit {
  private treeCache: UnitTree | null = null;
  /** Die objects made so far, by entry index (one object per entry: identity is stable). */
  private dieObjs: (Die | undefined)[] = [];
  private diesCache: Die[] | null = null;
  private rootCache: Die | undefined;
  /** Per abbreviation code: [fixed total size or -1, then per-attribute skip kinds] (see skipKind). */
  private readonly plans: (Int32Array | undefined)[] = [];
  /** Attributes of the unit DIE that other sections need (DWARF 5 §3.1.1). */
  strOffsetsBase = 0;
  addrBase = 0;
  rnglistsBase = 0;
  loclistsBase = 0;
  baseAddress = 0;
  private bytesCache: Uint8Array | undefined;
  /** The unit's first bytes, read to decode the root alone. */
  private rootWindow: Uint8Array | undefined;
  /**
   * `fetch` reads bytes of .debug_info at an absolute offset: the unit's own bytes are read when the
   * unit is first decoded (a query reads the units it needs, not the section).
   */
  constructor(readonly header: UnitHeader, private readonly fetch: (offset: number, length: number) => Uint8Array, private readonly abbrevs: (off: number) => AbbrevTable,
    private readonly trees?: TreeStore) {}

  /** The unit's bytes; position p of .debug_info is bytes[p - header.offset]. */
  get bytes(): Uint8Array {
    if (!this.bytesCache) {
      const b = this.fetch(this.header.offset, this.header.end - this.header.offset);
      if (b.length !== this.header.end - this.header.offset) fail('.debug_info', this.header.offset, 'unit bytes could not be read');
      this.bytesCache = b;
    }
    return this.bytesCache;
  }
  /** Whether the unit's bytes have been read. */
  get read(): boolean { return this.bytesCache !== undefined; }

  get offset(): DebugInfoOffset { return this.header.offset; }
  get version(): number { return this.header.version; }

  /** All DIEs in pre-order (an object for each: prefer count/die(i)/tagAt(i) for walks of a big unit). */
  dies(): Die[] {
    if (this.diesCache) return this.diesCache;
    const n = this.count;
    const out: Die[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.die(i);
    this.diesCache = out;
    return out;
  }

  /** How many DIEs the unit has (the tree is decoded on first use). */
  get count(): number { return this.tree().n; }
  /** Entry i's tag, place in the tree and offsets, without making its Die. */
  tagAt(i: number): number { return this.tree().tag[i]!; }
  /** Index one past the last descendant of entry i. */
  endAt(i: number): number { return this.tree().end[i]!; }
  parentAt(i: number): number { return this.tree().parent[i]!; }
  depthAt(i: number): number { return this.tree().depth[i]!; }
  /** Entry i's abbreviation (its attribute list), without making its Die. */
  abbrevAt(i: number): Abbrev { return this.abbrevs(this.header.abbrevOffset).get(this.tree().code[i]!)!; }

  /** Entry i as a Die (made once, then the same object). */
  die(i: number): Die {
    let d = this.dieObjs[i];
    if (d) return d;
    const t = this.tree();
    if (!(i >= 0 && i < t.n)) fail('.debug_info', this.header.offset, `DIE index ${i} outside the unit`);
    const base: number = this.header.offset;
    if (i === 0 && this.rootCache) {
      d = this.rootCache;
    } else {
      d = new Die(this, i, infoOffset(base + t.off[i]!), t.tag[i]!, t.depth[i]!, t.parent[i]!,
        this.abbrevs(this.header.abbrevOffset).get(t.code[i]!)!, base + t.attr[i]!);
    }
    this.dieObjs[i] = d;
    return d;
  }

  /** The index of the entry at an absolute .debug_info offset inside this unit, or -1. */
  indexAt(offset: number): number {
    const t = this.tree();
    const rel = offset - this.header.offset;
    const offs = t.off;
    let lo = 0, hi = t.n - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1, v = offs[mid]!;
      if (v === rel) return mid;
      if (v < rel) lo = mid + 1; else hi = mid - 1;
    }
    return -1;
  }

  /** The DIE at an absolute .debug_info offset inside this unit. */
  dieAt(offset: number): Die | undefined {
    const i = this.indexAt(offset);
    return i < 0 ? undefined : this.die(i);
  }

  /** The tree's columns (tag and abbreviation code per entry, pre-order), for plain loops over a big unit. */
  columns(): { readonly n: number; readonly tag: Int32Array; readonly code: Uint32Array } { return this.tree(); }

  /** Entry i's abbreviation code (its key in the unit's abbreviation table). */
  codeAt(i: number): number { return this.tree().code[i]!; }

  /**
   * Where entry i's attribute number k (in its abbreviation's order) starts, relative to the unit's
   * bytes (`bytes[pos]`), from the abbreviation's skip plan, without decoding the attributes before it;
   * -1 when one of them is DW_FORM_indirect (decode the DIE instead).
   */
  attrPos(i: number, k: number): number {
    const t = this.tree();
    const c = t.code[i]!;
    const p = this.plan(c, this.abbrevs(this.header.abbrevOffset).get(c)!);
    const b = this.bytes;
    let pos = t.attr[i]!;
    for (let j = 1; j <= k; j++) {
      const kind = p[j]!;
      if (kind >= 0) { pos += kind; continue; }
      if (kind === K_INDIRECT) return -1;
      if (kind === K_STRING) { const z = b.indexOf(0, pos); pos = z < 0 ? b.length : z + 1; continue; }
      let len = 0;
      if (kind === K_BLOCK1) len = 1 + b[pos]!;
      else if (kind === K_BLOCK2) len = 2 + (b[pos]! | (b[pos + 1]! << 8));
      else if (kind === K_BLOCK4) len = 4 + (b[pos]! | (b[pos + 1]! << 8) | (b[pos + 2]! << 16)) + b[pos + 3]! * 0x1000000;
      else {
        // K_ULEB, K_BLOCK: a LEB128 (the value, or the block's length).
        let v = 0, m = 1, byte = 0;
        do { byte = b[pos++]!; v += (byte & 0x7f) * m; m *= 128; } while (byte & 0x80 && pos < b.length);
        if (kind === K_BLOCK) pos += v;
        continue;
      }
      pos += len;
    }
    return pos;
  }

  /** The skip plan of an abbreviation (made once per code). */
  private plan(code: number, ab: Abbrev): Int32Array {
    let p = code < 1 << 20 ? this.plans[code] : undefined;
    if (p) return p;
    const h = this.header, attrs = ab.attrs;
    p = new Int32Array(attrs.length + 1);
    let fixed = 0;
    for (let k = 0; k < attrs.length; k++) {
      const kind = skipKind(attrs[k]!.form, h);
      if (kind <= -100) fail('.debug_info', h.offset, `unknown attribute form 0x${(-100 - kind).toString(16)}`);
      p[k + 1] = kind;
      if (kind < 0 || fixed < 0) fixed = -1; else fixed += kind;
    }
    p[0] = fixed;
    if (code < 1 << 20) this.plans[code] = p;
    return p;
  }

  /** Walks the unit's entries once into columns (no object per entry). */
  private tree(): UnitTree {
    if (this.treeCache) return this.treeCache;
    const store = this.trees, h = this.header;
    if (store && h.end - h.offset >= store.minBytes) {
      const bytes = this.bytes;
      const stored = store.load(h, bytes);
      const t = stored && decodeTree(stored, h, bytes.length, this.abbrevs(h.abbrevOffset));
      if (t) {
        // The root as the walk makes it (its attributes give the unit's bases for the other entries).
        if (!this.rootCache) this.root();
        return (this.treeCache = t);
      }
      const walked = this.walkTree();
      store.save(h, bytes, encodeTree(walked));
      return walked;
    }
    return this.walkTree();
  }

  /** Decodes the tree from the unit's bytes (see tree()). */
  private walkTree(): UnitTree {
    const h = this.header;
    const table = this.abbrevs(h.abbrevOffset);
    const base: number = h.offset;
    const b = this.bytes;
    const end = h.end - base;
    let cap = Math.max(64, Math.min(1 << 22, (end >> 3) + 16));
    let off = new Uint32Array(cap), attr = new Uint32Array(cap), code = new Uint32Array(cap);
    let tag = new Int32Array(cap), parent = new Int32Array(cap), sub = new Int32Array(cap), depth = new Uint16Array(cap);
    const stack = new Int32Array(MAX_DEPTH + 1);
    let sp = 0, n = 0;
    let pos = h.firstDieOffset - base;
    const bad = (at: number, why: string): never => fail('.debug_info', base + at, why);
    // Each iteration consumes at least one byte: bounded by the unit length.
    while (pos < end) {
      const at = pos;
      // The abbreviation code (ULEB128).
      let c = 0, mul = 1, byte = 0;
      do {
        if (pos >= end) bad(at, 'truncated LEB128');
        byte = b[pos++]!;
        c += (byte & 0x7f) * mul; mul *= 128;
        if (pos - at > 16) bad(at, 'LEB128 longer than 16 bytes');
      } while (byte & 0x80);
      if (c === 0) {
        // A null entry closes the innermost open sibling chain; trailing padding past the root is ignored.
        if (sp > 0) sub[stack[--sp]!] = n;
        continue;
      }
      const ab = table.get(c);
      if (!ab) bad(at, `unknown abbreviation code ${c}`);
      if (n === cap) {
        cap *= 2;
        const g32 = (a: Uint32Array) => { const x = new Uint32Array(cap); x.set(a); return x; };
        const gi = (a: Int32Array) => { const x = new Int32Array(cap); x.set(a); return x; };
        off = g32(off); attr = g32(attr); code = g32(code); tag = gi(tag); parent = gi(parent); sub = gi(sub);
        const d = new Uint16Array(cap); d.set(depth); depth = d;
      }
      off[n] = at; attr[n] = pos; code[n] = c; tag[n] = ab!.tag; parent[n] = sp > 0 ? stack[sp - 1]! : -1; sub[n] = n + 1; depth[n] = sp;
      const p = this.plan(c, ab!);
      if (p[0]! >= 0) {
        pos += p[0]!;
        if (pos > end) bad(at, `truncated: attributes run past the unit`);
      } else {
        for (let k = 1; k < p.length; k++) {
          let kind = p[k]!;
          if (kind === K_INDIRECT) {
            const r = new Reader(b, '.debug_info', pos, end, base);
            kind = skipKind(this.indirectForm(r), h);
            if (kind <= -100) bad(r.pos, `unknown attribute form 0x${(-100 - kind).toString(16)}`);
            pos = r.pos;
          }
          if (kind >= 0) { pos += kind; if (pos > end) bad(at, 'truncated: attributes run past the unit'); continue; }
          if (kind === K_STRING) {
            while (pos < end && b[pos] !== 0) pos++;
            if (pos >= end) bad(at, 'unterminated string');
            pos++;
            continue;
          }
          let len = 0;
          if (kind === K_BLOCK1) { if (pos + 1 > end) bad(pos, 'truncated block'); len = b[pos]!; pos += 1; }
          else if (kind === K_BLOCK2) { if (pos + 2 > end) bad(pos, 'truncated block'); len = b[pos]! | (b[pos + 1]! << 8); pos += 2; }
          else if (kind === K_BLOCK4) { if (pos + 4 > end) bad(pos, 'truncated block'); len = (b[pos]! | (b[pos + 1]! << 8) | (b[pos + 2]! << 16)) + b[pos + 3]! * 0x1000000; pos += 4; }
          const s = pos;
          if (kind === K_ULEB || kind === K_BLOCK) {
            let v = 0, m = 1;
            do {
              if (pos >= end) bad(s, 'truncated LEB128');
              byte = b[pos++]!;
              v += (byte & 0x7f) * m; m *= 128;
              if (pos - s > 16) bad(s, 'LEB128 longer than 16 bytes');
            } while (byte & 0x80);
            if (kind === K_ULEB) continue;
            len = v;
          }
          pos += len;
          if (pos > end) bad(s, `truncated: need ${len} bytes`);
        }
      }
      if (ab!.hasChildren) {
        if (sp >= MAX_DEPTH) bad(at, 'DIE tree nested too deeply');
        stack[sp++] = n;
      }
      n++;
      if (n === 1 && !this.rootCache) this.root();
    }
    while (sp > 0) sub[stack[--sp]!] = n;
    this.treeCache = { n, off, attr, code, tag, parent, end: sub, depth };
    return this.treeCache;
  }

  /** Decodes a DIE's attribute values (called by Die on first access). */
  decodeAttributes(die: Die): { values: AttrRaw[]; forms: number[] | null } {
    const base: number = this.header.offset;
    if (!this.bytesCache && die.index === 0 && this.rootWindow && this.rootWindow.length < this.header.end - base) {
      // The root decoded from the unit's first bytes; if its attributes run past them, read the unit.
      try { return this.decodeAttributesIn(die, this.rootWindow); } catch { /* fall through to the whole unit */ }
    }
    return this.decodeAttributesIn(die, this.bytes);
  }

  private decodeAttributesIn(die: Die, bytes: Uint8Array): { values: AttrRaw[]; forms: number[] | null } {
    const ab = die.abbrev;
    const base: number = this.header.offset;
    const r = new Reader(bytes, '.debug_info', die.attrOffset - base, Math.min(bytes.length, this.header.end - base), base);
    const values: AttrRaw[] = new Array(ab.attrs.length);
    let forms: number[] | null = null;
    for (let i = 0; i < ab.attrs.length; i++) {
      const spec = ab.attrs[i]!;
      let form = spec.form;
      if (form === DW_FORM.indirect) {
        form = this.indirectForm(r);
        if (!forms) forms = ab.attrs.map((s) => s.form);
        forms[i] = form;
      }
      values[i] = this.readValue(r, form, spec);
    }
    return { values, forms };
  }

  private indirectForm(r: Reader): number {
    let form: number = DW_FORM.indirect;
    for (let guard = 0; form === DW_FORM.indirect; guard++) {
      if (guard > 8) fail('.debug_info', r.origin + r.pos, 'DW_FORM_indirect chain');
      form = r.uleb();
    }
    return form;
  }

  /**
   * The unit DIE (compile_unit / partial_unit / type_unit). Decoded alone when the tree is not: finding
   * the unit of an address needs only each unit's root (its ranges), not every DIE of every unit.
   */
  root(): Die | undefined {
    if (this.rootCache) return this.rootCache;
    if (this.treeCache) return this.treeCache.n > 0 ? this.die(0) : undefined;
    const h = this.header;
    const base: number = h.offset;
    // The root alone: read just the start of the unit when its bytes are not in memory yet.
    const bytes = this.bytesCache ?? (this.rootWindow ??= this.fetch(h.offset, Math.min(ROOT_WINDOW, h.end - h.offset)));
    const r = new Reader(bytes, '.debug_info', h.firstDieOffset - base, Math.min(bytes.length, h.end - base), base);
    if (r.remaining <= 0) return undefined;
    const offset = base + r.pos;
    const code = r.uleb();
    if (code === 0) return undefined;
    const ab = this.abbrevs(h.abbrevOffset).get(code);
    if (!ab) fail('.debug_info', offset, `unknown abbreviation code ${code}`);
    const die = new Die(this, 0, infoOffset(offset), ab.tag, 0, -1, ab, base + r.pos);
    this.readUnitAttributes(die);
    this.rootCache = die;
    return die;
  }

  private readValue(r: Reader, form: number, spec: AttrSpec): AttrRaw {
    const h = this.header;
    switch (form) {
      case DW_FORM.addr: return r.address(h.addrSize);
      case DW_FORM.data1: case DW_FORM.ref1: case DW_FORM.flag: case DW_FORM.strx1: case DW_FORM.addrx1:
        return form === DW_FORM.ref1 ? h.offset + r.u8() : r.u8();
      case DW_FORM.data2: case DW_FORM.ref2: case DW_FORM.strx2: case DW_FORM.addrx2:
        return form === DW_FORM.ref2 ? h.offset + r.u16() : r.u16();
      case DW_FORM.strx3: case DW_FORM.addrx3: return r.u24();
      case DW_FORM.data4: case DW_FORM.ref4: case DW_FORM.strx4: case DW_FORM.addrx4: case DW_FORM.ref_sup4:
        return form === DW_FORM.ref4 ? h.offset + r.u32() : r.u32();
      case DW_FORM.data8: return r.u64big();
      case DW_FORM.ref8: return h.offset + r.u64();
      case DW_FORM.ref_sig8: return r.u64big();
      case DW_FORM.ref_sup8: return r.u64();
      case DW_FORM.data16: return r.bytes(16);
      case DW_FORM.sdata: return r.sleb();
      case DW_FORM.udata: case DW_FORM.strx: case DW_FORM.addrx: case DW_FORM.loclistx: case DW_FORM.rnglistx:
      case DW_FORM.GNU_addr_index: case DW_FORM.GNU_str_index:
        return r.uleb();
      case DW_FORM.ref_udata: return h.offset + r.uleb();
      case DW_FORM.string: return r.cstr();
      case DW_FORM.strp: case DW_FORM.line_strp: case DW_FORM.sec_offset: case DW_FORM.strp_sup:
      case DW_FORM.GNU_ref_alt: case DW_FORM.GNU_strp_alt:
        return r.offset(h.offsetSize);
      // DWARF 2 wrote DW_FORM_ref_addr with address size; DWARF 3+ with offset size.
      case DW_FORM.ref_addr: return h.version <= 2 ? r.address(h.addrSize) : r.offset(h.offsetSize);
      case DW_FORM.block1: return r.bytes(r.u8());
      case DW_FORM.block2: return r.bytes(r.u16());
      case DW_FORM.block4: return r.bytes(r.u32());
      case DW_FORM.block: case DW_FORM.exprloc: return r.bytes(r.uleb());
      case DW_FORM.flag_present: return 1;
      case DW_FORM.implicit_const: return spec.implicitConst;
      default: return fail('.debug_info', r.origin + r.pos, `unknown attribute form 0x${form.toString(16)}`);
    }
  }

  private readUnitAttributes(root: Die): void {
    for (let i = 0; i < root.specs.length; i++) {
      const at = root.specs[i]!.at, v = root.values[i];
      if (typeof v !== 'number') continue;
      if (at === DW_AT.str_offsets_base) this.strOffsetsBase = v;
      else if (at === DW_AT.addr_base || at === DW_AT.GNU_addr_base) this.addrBase = v;
      else if (at === DW_AT.rnglists_base) this.rnglistsBase = v;
      else if (at === DW_AT.loclists_base) this.loclistsBase = v;
      else if (at === DW_AT.low_pc && formOf(root, i) === DW_FORM.addr) this.baseAddress = v;
    }
  }
}

export function formOf(die: Die, i: number): number { return die.forms ? die.forms[i]! : die.specs[i]!.form; }

/** Index of attribute `at` in the DIE, or -1. */
export function attrIndex(die: Die, at: number): number {
  const s = die.specs;
  for (let i = 0; i < s.length; i++) if (s[i]!.at === at) return i;
  return -1;
}

export function makeAbbrevCache(parse: (off: number) => AbbrevTable): (off: number) => AbbrevTable {
  const cache = new Map<number, AbbrevTable>();
  return (off) => {
    let t = cache.get(off);
    if (!t) { t = parse(off); cache.set(off, t); }
    return t;
  };
}
