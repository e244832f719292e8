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

/** Walks the unit headers of .debug_info (no DIEs decoded). */
export function parseUnitHeaders(info: Uint8Array): UnitHeader[] {
  return walkUnitHeaders(info.length, (off, len) => info.subarray(off, off + len));
}

/** The longest unit header: 64-bit initial length, DWARF 5 type unit (signature and type offset). */
const MAX_UNIT_HEADER = 40;

/** Walks the unit headers of a .debug_info of `size` bytes, reading only each header's bytes. */
export function walkUnitHeaders(size: number, read: (offset: number, length: number) => Uint8Array): UnitHeader[] {
  const out: UnitHeader[] = [];
  for (let offset = 0; offset < size;) {
    const win = read(offset, Math.min(MAX_UNIT_HEADER, size - offset));
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
    out.push({ offset: infoOffset(offset), end, version, unitType, addrSize, offsetSize, abbrevOffset: abbrev, firstDieOffset: offset + h.pos });
    offset = end;
  }
  return out;
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
  constructor(
    readonly unit: Unit,
    readonly index: number,
    readonly offset: DebugInfoOffset,
    readonly tag: number,
    readonly depth: number,
    /** Index of the parent entry in unit.dies, -1 for the root. */
    readonly parent: number,
    /** Index one past the last descendant. */
    public subtreeEnd: number,
    readonly abbrev: Abbrev,
    /** Offset of the first attribute value in .debug_info. */
    readonly attrOffset: number,
  ) {}
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

export class Unit {
  private diesCache: Die[] | null = null;
  private rootCache: Die | undefined;
  private offsetsCache: Float64Array | null = null;
  /** Per abbreviation code: total size of its attributes when all forms are fixed-size, else -1. */
  private readonly fixedSizes: number[] = [];
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
  constructor(readonly header: UnitHeader, private readonly fetch: (offset: number, length: number) => Uint8Array, private readonly abbrevs: (off: number) => AbbrevTable) {}

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

  /** All DIEs in pre-order (tree decoded on first call, then cached; attribute values stay lazy). */
  dies(): Die[] {
    if (this.diesCache) return this.diesCache;
    const h = this.header;
    const table = this.abbrevs(h.abbrevOffset);
    const base: number = h.offset;
    const r = new Reader(this.bytes, '.debug_info', h.firstDieOffset - base, h.end - base, base);
    const dies: Die[] = [];
    const stack: number[] = []; // indexes of open parents
    // Each iteration consumes at least one byte: bounded by the unit length.
    while (r.remaining > 0) {
      const offset = base + r.pos;
      const code = r.uleb();
      if (code === 0) {
        // A null entry closes the innermost open sibling chain; trailing padding past the root is ignored.
        const closed = stack.pop();
        if (closed !== undefined) dies[closed]!.subtreeEnd = dies.length;
        continue;
      }
      const ab = table.get(code);
      if (!ab) fail('.debug_info', offset, `unknown abbreviation code ${code}`);
      const attrOffset = base + r.pos;
      let fixed = code < 65536 ? this.fixedSizes[code] : -1;
      if (fixed === undefined) { fixed = this.fixedSize(ab); this.fixedSizes[code] = fixed; }
      if (fixed >= 0) r.skip(fixed);
      else for (const spec of ab.attrs) this.skipValue(r, spec.form);
      const parent = stack.length ? stack[stack.length - 1]! : -1;
      // The root may already exist (root() decodes it alone): the tree keeps that object.
      const die = dies.length === 0 && this.rootCache ? this.rootCache
        : new Die(this, dies.length, infoOffset(offset), ab.tag, stack.length, parent, dies.length + 1, ab, attrOffset);
      dies.push(die);
      if (ab.hasChildren) {
        if (stack.length >= MAX_DEPTH) fail('.debug_info', offset, 'DIE tree nested too deeply');
        stack.push(die.index);
      }
      if (dies.length === 1) this.readUnitAttributes(die);
    }
    for (const open of stack) dies[open]!.subtreeEnd = dies.length;
    this.diesCache = dies;
    return dies;
  }

  /** Decodes a DIE's attribute values (called by Die on first access). */
  decodeAttributes(die: Die): { values: AttrRaw[]; forms: number[] | null } {
    const ab = die.abbrev;
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

  /** Bytes a form occupies when that doesn't depend on the data, else -1. */
  private formSize(form: number): number {
    const h = this.header;
    return fixedFormSize(form, h.addrSize, h.offsetSize, h.version);
  }

  private fixedSize(ab: Abbrev): number {
    let n = 0;
    for (const s of ab.attrs) { const k = this.formSize(s.form); if (k < 0) return -1; n += k; }
    return n;
  }

  private skipValue(r: Reader, form: number): void {
    const k = this.formSize(form);
    if (k >= 0) { r.skip(k); return; }
    switch (form) {
      case DW_FORM.sdata: case DW_FORM.udata: case DW_FORM.strx: case DW_FORM.addrx: case DW_FORM.loclistx:
      case DW_FORM.rnglistx: case DW_FORM.GNU_addr_index: case DW_FORM.GNU_str_index: case DW_FORM.ref_udata:
        r.uleb(); return;
      case DW_FORM.string: {
        const b = r.buf;
        let p = r.pos;
        while (p < r.end && b[p] !== 0) p++;
        if (p >= r.end) fail('.debug_info', r.origin + r.pos, 'unterminated string');
        r.pos = p + 1;
        return;
      }
      case DW_FORM.block1: r.skip(r.u8()); return;
      case DW_FORM.block2: r.skip(r.u16()); return;
      case DW_FORM.block4: r.skip(r.u32()); return;
      case DW_FORM.block: case DW_FORM.exprloc: r.skip(r.uleb()); return;
      case DW_FORM.indirect: this.skipValue(r, this.indirectForm(r)); return;
      default: fail('.debug_info', r.origin + r.pos, `unknown attribute form 0x${form.toString(16)}`);
    }
  }

  /**
   * The unit DIE (compile_unit / partial_unit / type_unit). Decoded alone when the tree is not: finding
   * the unit of an address needs only each unit's root (its ranges), not every DIE of every unit.
   */
  root(): Die | undefined {
    if (this.diesCache) return this.diesCache[0];
    if (this.rootCache) return this.rootCache;
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
    const die = new Die(this, 0, infoOffset(offset), ab.tag, 0, -1, 1, ab, base + r.pos);
    this.readUnitAttributes(die);
    this.rootCache = die;
    return die;
  }

  /** The DIE at an absolute .debug_info offset inside this unit. */
  dieAt(offset: number): Die | undefined {
    const dies = this.dies();
    if (!this.offsetsCache) {
      const a = new Float64Array(dies.length);
      for (let i = 0; i < dies.length; i++) a[i] = dies[i]!.offset;
      this.offsetsCache = a;
    }
    const offs = this.offsetsCache;
    let lo = 0, hi = offs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1, v = offs[mid]!;
      if (v === offset) return dies[mid];
      if (v < offset) lo = mid + 1; else hi = mid - 1;
    }
    return undefined;
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
