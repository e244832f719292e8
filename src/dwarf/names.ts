// Which units define a function of a given name, without decoding every DIE of the kernel.
// A skim walks each unit's top-level entries only (gcc gives every entry with children a DW_AT_sibling,
// so a structure's members or a function's body are jumped over), and notes the names of the
// subprograms that are definitions: an out-of-line body (low_pc/ranges/entry_pc) or an abstract
// inline instance (DW_AT_inline), whose inlined copies live in the same unit. A unit is then searched
// by name only if the skim listed the name there (perf's dwarf_getfuncs walks the same top level).
// The result serializes to a compact, sorted table that is searched in place (no Map of every name).
import { DW_AT, DW_FORM, DW_TAG } from './constants.js';
import { fail } from './error.js';
import { formSkipKind, K_BLOCK, K_BLOCK1, K_BLOCK2, K_BLOCK4, K_INDIRECT, K_STRING, K_ULEB, type UnitHeader } from './unit.js';
import { decodeUtf8 } from './reader.js';

/** What a skim needs besides the unit's bytes. */
export interface SkimContext {
  /** Runs `parse(buf, at)` over .debug_abbrev data at `offset` (a window of it, or all of it with at = offset). */
  abbrevs<T>(offset: number, parse: (buf: Uint8Array, at: number) => T): T;
  /** The name a DW_FORM_strx* index stands for in this unit (DWARF 5 string offsets). */
  strx(h: UnitHeader, index: number, strOffsetsBase: number): string;
}

/** A defined function's name as found: a .debug_str offset (resolved once per offset later) or a string. */
export type SkimName = number | string;

// Special attribute sizes in a flat abbreviation (non-negative: that many bytes).
const V_ULEB = K_ULEB, V_STRING = K_STRING, V_BLOCK1 = K_BLOCK1, V_BLOCK2 = K_BLOCK2, V_BLOCK4 = K_BLOCK4, V_BLOCK = K_BLOCK, V_INDIRECT = K_INDIRECT, V_DATA16 = -8;
// Flat abbreviation layout: [tag, hasChildren, attrCount, fixedSize (-1 when variable), hasSibling, (at, form, size, implicitConst)*].
const A_HEAD = 5, A_ATTR = 4;

function sizeOfForm(form: number, addrSize: number, offSize: number, version: number): number {
  const k = formSkipKind(form, addrSize, offSize, version);
  if (k <= -100) return fail('.debug_abbrev', 0, `unknown attribute form 0x${form.toString(16)}`);
  return k > 8 ? V_DATA16 : k;
}

/** An abbreviation table decoded into flat arrays for one unit's sizes. */
interface FlatAbbrevs { readonly a: Int32Array; readonly index: Int32Array }

function flatAbbrevs(buf: Uint8Array, offset: number, h: UnitHeader): FlatAbbrevs {
  if (offset >= buf.length) fail('.debug_abbrev', offset, 'abbreviation table offset outside section');
  let p = offset;
  const uleb = (): number => {
    let r = 0, mul = 1;
    for (let i = 0; ; i++) {
      if (p >= buf.length) fail('.debug_abbrev', p, 'truncated LEB128');
      const b = buf[p++]!;
      r += (b & 0x7f) * mul;
      if (!(b & 0x80)) return r;
      mul *= 128;
      if (i > 10) fail('.debug_abbrev', p, 'LEB128 longer than 10 bytes');
    }
  };
  const sleb = (): number => {
    let r = 0, mul = 1, b = 0;
    for (let i = 0; ; i++) {
      if (p >= buf.length) fail('.debug_abbrev', p, 'truncated LEB128');
      b = buf[p++]!;
      r += (b & 0x7f) * mul;
      mul *= 128;
      if (!(b & 0x80)) break;
      if (i > 10) fail('.debug_abbrev', p, 'LEB128 longer than 10 bytes');
    }
    return b & 0x40 ? r - mul : r;
  };
  let a = new Int32Array(4096), n = 0;
  let index = new Int32Array(256).fill(-1);
  for (;;) {
    const code = uleb();
    if (code === 0) break;
    const tag = uleb();
    const children = buf[p++];
    if (children === undefined || children > 1) fail('.debug_abbrev', p - 1, `bad DW_CHILDREN value ${children}`);
    if (code >= 1 << 20) fail('.debug_abbrev', p, `abbreviation code ${code} too large for a skim`);
    if (code >= index.length) { const g = new Int32Array(Math.max(code + 1, index.length * 2)).fill(-1); g.set(index); index = g; }
    if (index[code] !== -1) fail('.debug_abbrev', p, `duplicate abbreviation code ${code}`);
    const head = n;
    if (n + A_HEAD > a.length) { const g = new Int32Array(a.length * 2); g.set(a); a = g; }
    n += A_HEAD;
    let count = 0, fixed = 0, sibling = 0;
    for (;;) {
      const at = uleb(), form = uleb();
      if (at === 0 && form === 0) break;
      const implicitConst = form === DW_FORM.implicit_const ? sleb() : 0;
      const size = sizeOfForm(form, h.addrSize, h.offsetSize, h.version);
      if (size < 0 || fixed < 0) fixed = -1; else fixed += size;
      if (at === DW_AT.sibling) sibling = 1;
      if (n + A_ATTR > a.length) { const g = new Int32Array(a.length * 2); g.set(a); a = g; }
      a[n] = at; a[n + 1] = form; a[n + 2] = size; a[n + 3] = implicitConst | 0;
      n += A_ATTR; count++;
    }
    a[head] = tag; a[head + 1] = children; a[head + 2] = count; a[head + 3] = fixed; a[head + 4] = sibling;
    index[code] = head;
  }
  return { a, index };
}

/** Walks one unit's bytes; `pos`/`end` are positions in `bytes` (unit-relative). */
class Skim {
  pos = 0;
  strOffsetsBase = 0;
  /** Start of the last DW_FORM_string value read. */
  strStart = 0;
  readonly end: number;
  readonly base: number;
  constructor(readonly bytes: Uint8Array, readonly h: UnitHeader, readonly ab: FlatAbbrevs) {
    this.base = h.offset;
    this.end = h.end - h.offset;
  }
  bad(why: string): never { return fail('.debug_info', this.base + this.pos, why); }
  uleb(): number {
    const b = this.bytes;
    let r = 0, mul = 1, p = this.pos;
    for (let i = 0; ; i++) {
      if (p >= this.end) { this.pos = p; this.bad('truncated LEB128'); }
      const x = b[p++]!;
      r += (x & 0x7f) * mul;
      if (!(x & 0x80)) { this.pos = p; return r; }
      mul *= 128;
      if (i > 10) { this.pos = p; this.bad('LEB128 longer than 10 bytes'); }
    }
  }
  fixed(n: number): number {
    const p = this.pos, b = this.bytes;
    if (p + n > this.end) this.bad('truncated unit');
    this.pos = p + n;
    switch (n) {
      case 0: return 0;
      case 1: return b[p]!;
      case 2: return b[p]! | (b[p + 1]! << 8);
      case 4: return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 0x1000000;
      default: { let v = 0; for (let i = n - 1; i >= 0; i--) v = v * 256 + b[p + i]!; return v; }
    }
  }
  skip(n: number): void {
    this.pos += n;
    if (this.pos > this.end) this.bad('truncated unit');
  }
  /** One attribute value: a number for fixed-size and LEB128 forms (what a skim reads), else -1 after skipping. */
  value(size: number, form: number, implicitConst: number): number {
    if (size >= 0) {
      if (form === DW_FORM.implicit_const) return implicitConst;
      if (form === DW_FORM.flag_present) return 1;
      return this.fixed(size);
    }
    switch (size) {
      case V_ULEB: return this.uleb();
      case V_STRING: {
        const b = this.bytes;
        let p = this.pos;
        this.strStart = p;
        while (p < this.end && b[p] !== 0) p++;
        if (p >= this.end) this.bad('unterminated string');
        this.pos = p + 1;
        return -1;
      }
      case V_DATA16: this.skip(16); return -1;
      case V_BLOCK1: { const n = this.fixed(1); this.skip(n); return -1; }
      case V_BLOCK2: { const n = this.fixed(2); this.skip(n); return -1; }
      case V_BLOCK4: { const n = this.fixed(4); this.skip(n); return -1; }
      case V_BLOCK: { const n = this.uleb(); this.skip(n); return -1; }
      case V_INDIRECT: {
        const f = this.uleb();
        if (f === DW_FORM.indirect) this.bad('DW_FORM_indirect chain');
        return this.value(sizeOfForm(f, this.h.addrSize, this.h.offsetSize, this.h.version), f, 0);
      }
      default: return this.bad('bad form size');
    }
  }
  skipAttrs(p: number, count: number): void {
    const a = this.ab.a;
    for (let i = 0, q = p + A_HEAD; i < count; i++, q += A_ATTR) {
      const size = a[q + 2]!;
      if (size >= 0 && a[q + 1] !== DW_FORM.implicit_const) this.skip(size); else if (size < 0) this.value(size, a[q + 1]!, 0);
    }
  }
}

/**
 * The names of the function definitions in one unit. `bytes` are the unit's bytes (position p of
 * .debug_info at bytes[p - h.offset]). Names found through DW_AT_abstract_origin/specification to an
 * entry of the same unit are followed (up to 8 hops).
 */
export function skimUnit(bytes: Uint8Array, h: UnitHeader, ctx: SkimContext, out: SkimName[]): void {
  const ab = ctx.abbrevs(h.abbrevOffset, (buf, at) => flatAbbrevs(buf, at, h));
  const s = new Skim(bytes, h, ab);
  const a = ab.a, index = ab.index;
  s.pos = h.firstDieOffset - s.base;
  let depth = 0;
  const pending: number[] = [];
  const abbrevAt = (code: number): number => {
    const p = code < index.length ? index[code]! : -1;
    if (p < 0) s.bad(`unknown abbreviation code ${code}`);
    return p;
  };
  const nameValue = (form: number, v: number): SkimName | undefined => {
    if (form === DW_FORM.strp) return v;
    if (form === DW_FORM.string) return decodeUtf8(bytes, s.strStart, s.pos - 1);
    if (form === DW_FORM.strx || form === DW_FORM.strx1 || form === DW_FORM.strx2 || form === DW_FORM.strx3 || form === DW_FORM.strx4 || form === DW_FORM.GNU_str_index) {
      return ctx.strx(h, v, s.strOffsetsBase);
    }
    return undefined;
  };
  /** Decodes the entry at unit position `at` for its name (following references). */
  const nameAt = (at: number, hops: number): SkimName | undefined => {
    if (hops > 8 || at <= 0 || at >= s.end) return undefined;
    s.pos = at;
    const p = abbrevAt(s.uleb());
    let ref = -1;
    for (let i = 0, q = p + A_HEAD; i < a[p + 2]!; i++, q += A_ATTR) {
      const at2 = a[q]!, form = a[q + 1]!;
      const v = s.value(a[q + 2]!, form, a[q + 3]!);
      if (at2 === DW_AT.name) return nameValue(form, v);
      if ((at2 === DW_AT.abstract_origin || at2 === DW_AT.specification) && isLocalRef(form)) ref = v;
    }
    return ref >= 0 ? nameAt(ref, hops + 1) : undefined;
  };

  while (s.pos < s.end) {
    const code = s.uleb();
    if (code === 0) { if (depth > 0) depth--; continue; }
    const p = abbrevAt(code);
    const tag = a[p]!, children = a[p + 1]!, count = a[p + 2]!, fixed = a[p + 3]!;
    if (depth === 0) {
      // The unit entry: its string offsets base, for strx names.
      for (let i = 0, q = p + A_HEAD; i < count; i++, q += A_ATTR) {
        const v = s.value(a[q + 2]!, a[q + 1]!, a[q + 3]!);
        if (a[q] === DW_AT.str_offsets_base && v >= 0) s.strOffsetsBase = v;
      }
      if (children) depth = 1;
      continue;
    }
    if (tag === DW_TAG.subprogram) {
      let state = 0, name: SkimName | undefined, ref = -1, sibling = -1;
      for (let i = 0, q = p + A_HEAD; i < count; i++, q += A_ATTR) {
        const form = a[q + 1]!;
        const v = s.value(a[q + 2]!, form, a[q + 3]!);
        switch (a[q]) {
          case DW_AT.name: name = nameValue(form, v); if (name !== undefined) state |= ST_NAME; break;
          case DW_AT.declaration: if (v !== 0) state |= ST_DECL; break;
          case DW_AT.low_pc: case DW_AT.ranges: case DW_AT.entry_pc: case DW_AT.inline: state |= ST_CODE; break;
          case DW_AT.abstract_origin: case DW_AT.specification: if (isLocalRef(form)) { ref = v; state |= ST_REF; } break;
          case DW_AT.sibling: if (isLocalRef(form)) sibling = v; break;
        }
      }
      if ((state & ST_CODE) && !(state & ST_DECL)) {
        if (state & ST_NAME) out.push(name!);
        else if (state & ST_REF) pending.push(ref);
      }
      if (children) { if (sibling > s.pos && sibling <= s.end) s.pos = sibling; else depth++; }
      continue;
    }
    if (children && a[p + 4]) {
      let sibling = -1;
      for (let i = 0, q = p + A_HEAD; i < count; i++, q += A_ATTR) {
        const form = a[q + 1]!;
        const v = s.value(a[q + 2]!, form, a[q + 3]!);
        if (a[q] === DW_AT.sibling && isLocalRef(form)) sibling = v;
      }
      if (sibling > s.pos && sibling <= s.end) s.pos = sibling; else depth++;
      continue;
    }
    if (fixed >= 0) s.skip(fixed); else s.skipAttrs(p, count);
    if (children) depth++;
  }
  for (const ref of pending) {
    const n = nameAt(ref, 0);
    if (n !== undefined) out.push(n);
  }
}

const ST_NAME = 1, ST_DECL = 2, ST_CODE = 4, ST_REF = 8;

function isLocalRef(form: number): boolean {
  return form === DW_FORM.ref1 || form === DW_FORM.ref2 || form === DW_FORM.ref4 || form === DW_FORM.ref8 || form === DW_FORM.ref_udata;
}

// ---------------------------------------------------------------------------------------------- the table

/**
 * Function name → indexes of the units that define it, as a sorted table searched in place:
 *   u32 count, u32 nameOffsets[count+1], u32 listOffsets[count+1], name bytes (UTF-8, sorted), unit lists
 *   (LEB128 deltas of ascending unit indexes).
 */
/**
 * What a query needs of a function-name index: the units defining a name (ascending indexes). A table
 * read in parts from a cache (src/debuginfo/index-cache.ts) answers undefined when it cannot tell (a
 * damaged part): the caller then finds the units without it.
 */
export interface FunctionNames {
  units(name: string): number[] | undefined;
}

/** A unit list as NameTable stores it (ascending unit indexes as LEB128 deltas) in b[p, e). */
export function decodeUnitList(b: Uint8Array, p: number, e: number): number[] {
  const out: number[] = [];
  let prev = 0;
  while (p < e) {
    let v = 0, mul = 1, byte: number;
    do { byte = b[p++]!; v += (byte & 0x7f) * mul; mul *= 128; } while (byte & 0x80 && p < e);
    prev += v;
    out.push(prev);
  }
  return out;
}

export class NameTable implements FunctionNames {
  private readonly dv: DataView;
  private readonly count: number;
  private readonly namesAt: number;
  private readonly listsAt: number;
  private readonly nameBytesAt: number;
  private readonly listBytesAt: number;
  constructor(readonly bytes: Uint8Array) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.length < 4) throw new Error('name table truncated');
    this.count = this.dv.getUint32(0, true);
    this.namesAt = 4;
    this.listsAt = this.namesAt + 4 * (this.count + 1);
    this.nameBytesAt = this.listsAt + 4 * (this.count + 1);
    if (this.nameBytesAt > bytes.length) throw new Error('name table truncated');
    this.listBytesAt = this.nameBytesAt + this.nameOffset(this.count);
    if (this.listBytesAt > bytes.length || this.listBytesAt + this.listOffset(this.count) !== bytes.length) throw new Error('name table inconsistent');
  }
  get size(): number { return this.count; }
  private nameOffset(i: number): number { return this.dv.getUint32(this.namesAt + 4 * i, true); }
  private listOffset(i: number): number { return this.dv.getUint32(this.listsAt + 4 * i, true); }

  /** Unit indexes defining `name` (ascending), or [] when none does. */
  units(name: string): number[] {
    const want = Buffer.from(name, 'utf8');
    const b = this.bytes;
    let lo = 0, hi = this.count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const s = this.nameBytesAt + this.nameOffset(mid), e = this.nameBytesAt + this.nameOffset(mid + 1);
      const c = compareBytes(b, s, e, want);
      if (c === 0) return this.list(mid);
      if (c < 0) lo = mid + 1; else hi = mid - 1;
    }
    return [];
  }

  /** Entry i's name (UTF-8) and its unit list (ascending deltas as LEB128), as stored: for re-encoding. */
  entry(i: number): { name: Uint8Array; list: Uint8Array } {
    return {
      name: this.bytes.subarray(this.nameBytesAt + this.nameOffset(i), this.nameBytesAt + this.nameOffset(i + 1)),
      list: this.bytes.subarray(this.listBytesAt + this.listOffset(i), this.listBytesAt + this.listOffset(i + 1)),
    };
  }

  private list(i: number): number[] {
    const b = this.bytes;
    return decodeUnitList(b, this.listBytesAt + this.listOffset(i), this.listBytesAt + this.listOffset(i + 1));
  }

  /** Builds the table from name → unit indexes. */
  static build(map: Map<string, number[]>): NameTable {
    const names = [...map.keys()].map((n) => Buffer.from(n, 'utf8')).sort(Buffer.compare);
    const count = names.length;
    const lists: number[] = [];
    const nameOffs = new Uint32Array(count + 1), listOffs = new Uint32Array(count + 1);
    let nameLen = 0;
    for (let i = 0; i < count; i++) {
      nameOffs[i] = nameLen; nameLen += names[i]!.length;
      listOffs[i] = lists.length;
      const units = [...new Set(map.get(names[i]!.toString('utf8'))!)].sort((a, b) => a - b);
      let prev = 0;
      for (const u of units) {
        let v = u - prev; prev = u;
        do { let byte = v & 0x7f; v = Math.floor(v / 128); if (v) byte |= 0x80; lists.push(byte); } while (v);
      }
    }
    nameOffs[count] = nameLen; listOffs[count] = lists.length;
    const out = Buffer.alloc(4 + 8 * (count + 1) + nameLen + lists.length);
    out.writeUInt32LE(count, 0);
    Buffer.from(nameOffs.buffer).copy(out, 4);
    Buffer.from(listOffs.buffer).copy(out, 4 + 4 * (count + 1));
    let p = 4 + 8 * (count + 1);
    for (const n of names) { n.copy(out, p); p += n.length; }
    Buffer.from(lists).copy(out, p);
    return new NameTable(out);
  }
}

function compareBytes(b: Uint8Array, s: number, e: number, want: Uint8Array): number {
  const n = Math.min(e - s, want.length);
  for (let i = 0; i < n; i++) {
    const d = b[s + i]! - want[i]!;
    if (d !== 0) return d;
  }
  return (e - s) - want.length;
}

/** Everything buildNameTable reads. */
export interface NameSource extends SkimContext {
  readonly headers: readonly UnitHeader[];
  /** The unit's bytes; `scratch` may be used (and returned) to avoid an allocation per unit. */
  unitBytes(h: UnitHeader, scratch: Uint8Array): Uint8Array;
  /** A .debug_str string. */
  str(offset: number): string;
}

/** Skims every unit (see skimUnit) into a NameTable. */
export function buildNameTable(src: NameSource): NameTable {
  // (name id, unit index) pairs; ids per .debug_str offset or inline string.
  const idOfOffset = new Map<number, number>(), idOfString = new Map<string, number>();
  const keys: SkimName[] = [];
  let pairs = new Int32Array(1 << 16), n = 0;
  let scratch: Uint8Array = new Uint8Array(1 << 20);
  const names: SkimName[] = [];
  src.headers.forEach((h, ui) => {
    const len = h.end - h.offset;
    if (len > scratch.length) scratch = new Uint8Array(Math.max(len, scratch.length * 2));
    const bytes = src.unitBytes(h, scratch);
    names.length = 0;
    skimUnit(bytes, h, src, names);
    for (const k of names) {
      let id = typeof k === 'number' ? idOfOffset.get(k) : idOfString.get(k);
      if (id === undefined) {
        id = keys.length; keys.push(k);
        if (typeof k === 'number') idOfOffset.set(k, id); else idOfString.set(k, id);
      }
      if (n + 2 > pairs.length) { const g = new Int32Array(pairs.length * 2); g.set(pairs); pairs = g; }
      pairs[n++] = id; pairs[n++] = ui;
    }
  });
  const byName = new Map<string, number[]>();
  const nameOf = keys.map((k) => (typeof k === 'number' ? src.str(k) : k));
  for (let i = 0; i < n; i += 2) {
    const name = nameOf[pairs[i]!]!;
    let l = byName.get(name);
    if (!l) byName.set(name, (l = []));
    if (l[l.length - 1] !== pairs[i + 1]) l.push(pairs[i + 1]!);
  }
  return NameTable.build(byName);
}

/**
 * The offsets in a section where any of `needles` occurs, reading it in chunks (never whole):
 * `read(offset, length, scratch)` fills part of scratch. Chunks overlap so no occurrence is split.
 * `onChunk` sees each chunk's bytes (valid during the call), in order.
 */
export function scanSection(size: number, needles: readonly Uint8Array[], read: (offset: number, length: number, scratch: Uint8Array) => Uint8Array, chunk = 8 << 20,
  onChunk?: (at: number, bytes: Uint8Array) => void): number[] {
  const hits: number[] = [];
  if (needles.length === 0) return hits;
  const overlap = Math.max(...needles.map((n) => n.length)) - 1;
  const scratch = Buffer.allocUnsafe(Math.min(chunk, size) + overlap);
  for (let at = 0; at < size; at += chunk) {
    const len = Math.min(chunk + overlap, size - at);
    const b = read(at, len, scratch);
    onChunk?.(at, b);
    const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    for (const n of needles) {
      // Searched by its first SHORT_NEEDLE bytes, the rest compared at each hit: Buffer.indexOf finds a
      // needle of up to 7 bytes by a memchr-driven scan, a longer one (NAME\0) by Boyer-Moore-Horspool,
      // which the NULs that fill .debug_info slow to a sixth of the speed (measured on Debian's vmlinux).
      const find = n.length > SHORT_NEEDLE ? n.subarray(0, SHORT_NEEDLE) : n;
      // An occurrence starting in the overlap belongs to the next chunk.
      for (let i = buf.indexOf(find); i >= 0 && i < chunk; i = buf.indexOf(find, i + 1)) {
        if (find === n || (i + n.length <= buf.length && sameBytes(buf, i, n))) hits.push(at + i);
      }
    }
  }
  return hits.sort((a, b) => a - b);
}

/** The longest needle Buffer.indexOf searches by its fast path (see scanSection). */
const SHORT_NEEDLE = 7;

function sameBytes(buf: Uint8Array, at: number, n: Uint8Array): boolean {
  for (let k = SHORT_NEEDLE; k < n.length; k++) if (buf[at + k] !== n[k]) return false;
  return true;
}

/** The needles a unit naming `name` must contain: the name inline, or a .debug_str offset of it (4 bytes). */
export function nameNeedles(name: string, debugStr: Uint8Array, offsetSize: 4 | 8 = 4): Uint8Array[] {
  const nameZ = Buffer.from(name + '\0', 'utf8');
  const needles: Uint8Array[] = [nameZ];
  for (const at of stringOffsets(debugStr, name)) {
    const n = Buffer.alloc(offsetSize);
    if (offsetSize === 8) n.writeBigUInt64LE(BigInt(at)); else n.writeUInt32LE(at >>> 0);
    needles.push(n);
  }
  return needles;
}

/** Every offset of a string section where NAME\0 is (the linker merges strings: a suffix of a longer one included). */
export function stringOffsets(section: Uint8Array, name: string): number[] {
  return scanSection(section.length, [Buffer.from(name + '\0', 'utf8')], (o, l) => section.subarray(o, o + l), Math.max(1, section.length));
}
