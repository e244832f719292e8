// The query layer over the section parsers: what the CLI asks (functions by name with their inlined
// instances, the scope chain at a PC, line rows, variables with fetch plans, types). Everything is lazy
// and every cache is a named field here, so the cost of a query is visible.
import { DW_AT, DW_FORM, DW_OP, DW_TAG } from './constants.js';
import { DwarfError, fail } from './error.js';
import { FrameTable, type CfaRule } from './frame.js';
import { LineProgram, parseLineHeader, type LineRow } from './line.js';
import { locListOffset, readLoc, readLocList, type LocEntry } from './loclists.js';
import { decodeOps, planLocation, type FetchPlan, type PlanContext } from './op.js';
import { lineOffset, type DebugInfoOffset } from './offsets.js';
import { rangesContain, readRanges, readRngList, rngListOffset, type Range, type RangeContext } from './ranges.js';
import { Sections, type SectionLoader } from './sections.js';
import { addrAt, lineStrAt, strAt, strOffsetAt } from './str.js';
import { FetchTypes, TypeGraph, type TypeResolver } from './types.js';
import { buildNameTable, nameNeedles, NameTable, scanSection, skimUnit, type FunctionNames, type SkimContext } from './names.js';
import { parseAbbrevTable, type Abbrev } from './abbrev.js';
import { Reader } from './reader.js';
import { abbrevOffset } from './offsets.js';
import { parseAranges } from './aranges.js';
import { attrIndex, formOf, HeaderWalker, makeAbbrevCache, walkUnitHeaders, Unit, type AttrRaw, type Die, type TreeStore, type UnitHeader, type UnitHeaderList } from './unit.js';

export interface DwarfOptions {
  /** Virtual address of .eh_frame (its pointers are pc-relative). */
  readonly ehFrameAddress?: number;
  /** Unit headers known already (a persistent index), instead of walking .debug_info's. */
  readonly unitHeaders?: () => UnitHeaderList | undefined;
  /** Sections of a ranged loader above this many bytes are read in windows, not whole (default 1 MiB). */
  readonly pagedAbove?: number;
  /** Above this .debug_info size, a function name without a name table is found by a scan (default 16 MiB). */
  readonly skimAllLimit?: number;
  /** false: find a PC's unit from the units' own ranges only, ignoring .debug_aranges (tests compare both). */
  readonly useAranges?: boolean;
  /** Function name → defining units, known already (a persistent index); else skimmed on first use. */
  readonly names?: () => FunctionNames | undefined;
  /** Called once when a name table has been built here (the CLI saves it in its index). */
  readonly onNameTable?: (t: NameTable) => void;
  /** .debug_aranges as an AddressIndex, known already (a persistent index); else parsed on first use. */
  readonly aranges?: () => AddressIndex | undefined;
  /** Source file path → the units whose line tables list it (a persistent index); else each unit's table is read. */
  readonly files?: () => FileIndex | undefined;
  /** Big units' decoded trees kept across runs (a persistent index); else each is walked. */
  readonly trees?: TreeStore;
}

/**
 * Which units' line tables list which source files: `paths[k]` is listed by units `units[k]` (indexes in
 * units()); `always` are units whose table can gain files while running (DWARF < 5: DW_LNE_define_file).
 */
export interface FileIndex {
  readonly paths: readonly string[];
  readonly units: readonly Uint32Array[];
  readonly always: Uint32Array;
}

/**
 * Address ranges → unit indexes, sorted by start (then end), searched by bisection: the first range in
 * that order holding a PC names its unit (`maxHigh[i]`: the largest end among ranges 0..i).
 */
export interface AddressIndex {
  readonly low: Float64Array;
  readonly high: Float64Array;
  readonly unit: Uint32Array;
}

/** The AddressIndex of sorted ranges. */
export function addressIndex(ranges: readonly { low: number; high: number; unit: number }[]): AddressIndex {
  const n = ranges.length, low = new Float64Array(n), high = new Float64Array(n), unit = new Uint32Array(n);
  for (let i = 0; i < n; i++) { const r = ranges[i]!; low[i] = r.low; high[i] = r.high; unit[i] = r.unit; }
  return { low, high, unit };
}

/** The index of the first range (in sorted order) holding pc, or -1; `maxHigh` is the running maximum of `high`. */
function searchAddress(ix: AddressIndex, maxHigh: Float64Array, pc: number): number {
  // k: how many ranges start at or before pc.
  let lo = 0, hi = ix.low.length;
  while (lo < hi) { const m = (lo + hi) >>> 1; if (ix.low[m]! <= pc) lo = m + 1; else hi = m; }
  const k = lo;
  // The first i whose running maximum end passes pc: there high[i] itself passes pc.
  lo = 0; hi = k;
  while (lo < hi) { const m = (lo + hi) >>> 1; if (maxHigh[m]! > pc) hi = m; else lo = m + 1; }
  return lo < k ? lo : -1;
}

function runningMax(high: Float64Array): Float64Array {
  const out = new Float64Array(high.length);
  let m = -Infinity;
  for (let i = 0; i < high.length; i++) { if (high[i]! > m) m = high[i]!; out[i] = m; }
  return out;
}

/** A .debug_info up to this size is skimmed whole for a name table; a larger one is scanned per name. */
const SKIM_ALL_LIMIT = 16 << 20;

/** One concrete instance of a function: an out-of-line body or one inlined copy. */
export interface FunctionInstance {
  readonly name: string;
  readonly die: Die;
  readonly kind: 'function' | 'inline';
  readonly ranges: readonly Range[];
  /** Where execution enters (DW_AT_entry_pc, else the lowest range start). */
  readonly entryPc: number;
  /** For inlined copies: the call site. */
  readonly callFile?: string;
  readonly callLine?: number;
  readonly declFile?: string;
  readonly declLine?: number;
  readonly external: boolean;
}

/** A scope in the chain at a PC, outermost (the concrete function) first. */
export interface ScopeFrame {
  readonly die: Die;
  readonly kind: 'function' | 'inline' | 'block';
  /** Function name for function/inline frames. */
  readonly name?: string;
  readonly ranges: readonly Range[];
}

export interface Variable {
  readonly name: string;
  readonly die: Die;
  readonly kind: 'parameter' | 'local' | 'global';
  readonly type: Die | undefined;
  readonly typeName: string;
  /** How to fetch it at the PC asked for. */
  readonly location: FetchPlan;
  /** Depth of the declaring scope in the chain (0 = the function). */
  readonly scopeDepth: number;
}

/** A line-table row with its file resolved. */
export interface LineEntry {
  readonly unit: Unit;
  readonly row: LineRow;
  readonly path: string;
}

const MAX_ORIGIN_CHAIN = 16;

export class Dwarf implements TypeResolver {
  readonly sections: Sections;
  readonly types: TypeGraph;
  readonly fetchTypes: FetchTypes;
  readonly addrSize: number = 8;
  // Explicit caches (each filled on first use).
  private unitsCache: Unit[] | null = null;
  private readonly abbrevs: (off: number) => import('./abbrev.js').AbbrevTable;
  private readonly lineCache = new Map<Unit, LineProgram | null>();
  private readonly rangeCache = new Map<Die, Range[]>();
  private functionIndex: Map<string, FunctionInstance[]> | null = null;
  private nameIndexCache: Map<string, Die[]> | null = null;
  private unitRangeIndex: { low: number; high: number; unit: Unit }[] | null = null;
  private frameTables: FrameTable[] | null = null;
  private namesCache: FunctionNames | undefined;
  private builtNames: NameTable | undefined;
  private readonly scanned = new Map<string, Unit[]>();
  private arangesIndex: { ix: AddressIndex; maxHigh: Float64Array } | null | undefined;

  constructor(loader: SectionLoader, private readonly options: DwarfOptions = {}) {
    this.sections = new Sections(loader, options.pagedAbove);
    this.abbrevs = makeAbbrevCache((off) => this.sections.windowed('.debug_abbrev', off, 16 << 10, (b, at) => parseAbbrevTable(b, abbrevOffset(at))));
    this.types = new TypeGraph(this);
    this.fetchTypes = new FetchTypes(this.types, this);
  }

  // ------------------------------------------------------------------ units and attributes

  /** Every unit, in .debug_info order (each made on first use: a kernel has thousands, a query needs a few). */
  units(): Unit[] {
    if (!this.unitsCache) {
      const n = this.unitCount(), out: Unit[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = this.unit(i)!;
      this.unitsCache = out;
    }
    return this.unitsCache;
  }
  /** How many units .debug_info has. */
  unitCount(): number { return this.unitHeaders().length; }
  /** Unit i (in .debug_info order), made when first asked for; undefined outside the list. */
  unit(i: number): Unit | undefined {
    const hs = this.unitHeaders();
    if (!(i >= 0 && i < hs.length)) return undefined;
    return this.unitObjs[i] ??= new Unit(hs.at(i)!, this.readInfo, this.abbrevs, this.options.trees);
  }
  private unitHeaders(): UnitHeaderList {
    return this.headerList ??= this.options.unitHeaders?.() ?? walkUnitHeaders(this.sections.size('.debug_info'), this.readInfo);
  }
  private unitsFrom(headers: UnitHeaderList): void {
    this.headerList = headers;
    this.unitObjs = [];
    this.unitsCache = null;
  }
  private headerList: UnitHeaderList | null = null;
  private unitObjs: (Unit | undefined)[] = [];
  private readonly readInfo = (off: number, len: number): Uint8Array => this.sections.read('.debug_info', off, len);

  /** Function name → units that define it (skimmed from every unit unless given by the options). */
  nameTable(): NameTable {
    if (!this.builtNames) {
      const given = this.options.names?.();
      if (given instanceof NameTable) return (this.builtNames = given);
      this.builtNames = buildNameTable({
        headers: Array.from({ length: this.unitHeaders().length }, (_, i) => this.unitHeaders().at(i)!),
        abbrevs: (off, parse) => this.sections.windowed('.debug_abbrev', off, 16 << 10, parse),
        strx: (h, i) => this.strx(this.unitContaining(h.offset)!, i),
        str: (o) => this.debugStr(o),
        unitBytes: (h, scratch) => this.sections.readInto('.debug_info', h.offset, h.end - h.offset, scratch),
      });
      this.options.onNameTable?.(this.builtNames);
    }
    return this.builtNames;
  }

  /**
   * The units holding a definition (body or abstract inline instance) of function `name`: from the name
   * table when there is one (given, or cheap to skim: a small .debug_info); else only the units whose
   * bytes mention the name are skimmed (a scan of .debug_info in chunks, for a first query on a big image).
   */
  unitsDefining(name: string): Unit[] {
    let table = this.namesCache ?? this.builtNames ?? this.options.names?.();
    if (!table && (this.sections.loaded('.debug_info') || this.sections.size('.debug_info') <= (this.options.skimAllLimit ?? SKIM_ALL_LIMIT) || this.sections.has('.debug_str_offsets'))) table = this.nameTable();
    // A table that cannot tell (a damaged part of a cached one) is passed over: the scan below finds the units.
    const listed = table?.units(name);
    if (table && listed) {
      this.namesCache = table;
      return listed.map((i) => this.unit(i)!).filter((u) => u !== undefined);
    }
    let found = this.scanned.get(name);
    if (!found) {
      // The scan reads all of .debug_info: the unit headers are taken from its chunks (no read per unit)
      // unless the units are known already.
      const size = this.sections.size('.debug_info');
      const read = (off: number, len: number) => this.sections.read('.debug_info', off, len);
      const walker = this.headerList || this.options.unitHeaders?.() ? undefined : new HeaderWalker(size);
      // The offset size of the string references to look for: the first unit's (its header's first word).
      const first = this.headerList ? undefined : size >= 4 ? read(0, 4) : undefined;
      const offsetSize = this.headerList?.at(0)?.offsetSize
        ?? (first && first[0] === 0xff && first[1] === 0xff && first[2] === 0xff && first[3] === 0xff ? 8 : 4);
      const hits = scanSection(size, nameNeedles(name, this.sections.get('.debug_str'), offsetSize),
        (off, len, scratch) => this.sections.readInto('.debug_info', off, len, scratch), undefined, walker && ((at, b) => walker.feed(at, b, read)));
      if (walker) { walker.finish(read); this.unitsFrom(walker.headers); }
      const candidates: Unit[] = [];
      for (const at of hits) { const u = this.unitContaining(at); if (u && candidates[candidates.length - 1] !== u) candidates.push(u); }
      found = [];
      const ctx: SkimContext = {
        abbrevs: (off, parse) => this.sections.windowed('.debug_abbrev', off, 16 << 10, parse),
        strx: (h: UnitHeader, i: number) => this.strx(this.unitContaining(h.offset)!, i),
      };
      for (const u of [...new Set(candidates)]) {
        const names: (number | string)[] = [];
        skimUnit(u.bytes, u.header, ctx, names);
        if (names.some((n) => (typeof n === 'number' ? this.debugStr(n) : n) === name)) found.push(u);
      }
      this.scanned.set(name, found);
    }
    return found;
  }

  /** The unit containing a .debug_info offset. */
  unitContaining(offset: number): Unit | undefined {
    const i = this.unitIndexContaining(offset);
    return i < 0 ? undefined : this.unit(i);
  }

  /** The index (in units()) of the unit containing a .debug_info offset, or -1. */
  unitIndexContaining(offset: number): number {
    const hs = this.unitHeaders();
    let lo = 0, hi = hs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1, h = hs.at(mid)!;
      if (offset < h.offset) hi = mid - 1;
      else if (offset >= h.end) lo = mid + 1;
      else return mid;
    }
    return -1;
  }

  dieAt(offset: DebugInfoOffset | number): Die | undefined {
    return this.unitContaining(offset)?.dieAt(offset);
  }

  /** Direct children of a DIE. */
  children(die: Die): Die[] {
    const u = die.unit;
    const out: Die[] = [];
    for (let i = die.index + 1; i < die.subtreeEnd; i = u.endAt(i)) out.push(u.die(i));
    return out;
  }

  parent(die: Die): Die | undefined { return die.parent >= 0 ? die.unit.die(die.parent) : undefined; }

  has(die: Die, at: number): boolean { return attrIndex(die, at) >= 0; }

  raw(die: Die, at: number): { form: number; value: AttrRaw } | undefined {
    const i = attrIndex(die, at);
    return i < 0 ? undefined : { form: formOf(die, i), value: die.values[i]! };
  }

  /** A constant-class attribute as an unsigned number. */
  udata(die: Die, at: number): number | undefined {
    const a = this.raw(die, at);
    if (!a) return undefined;
    if (typeof a.value === 'number') return a.value;
    if (typeof a.value === 'bigint') return Number(a.value);
    return undefined;
  }

  /** A constant-class attribute as a signed number (data1/2/4/8 sign-extended, as gdb does for bounds). */
  sdata(die: Die, at: number): number | undefined {
    const a = this.raw(die, at);
    if (!a) return undefined;
    const v = a.value;
    switch (a.form) {
      case DW_FORM.data1: return typeof v === 'number' && v >= 0x80 ? v - 0x100 : (v as number);
      case DW_FORM.data2: return typeof v === 'number' && v >= 0x8000 ? v - 0x10000 : (v as number);
      case DW_FORM.data4: return typeof v === 'number' && v >= 0x80000000 ? v - 0x100000000 : (v as number);
      case DW_FORM.data8: return typeof v === 'bigint' ? Number(BigInt.asIntN(64, v)) : (v as number);
      default: return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined;
    }
  }

  /**
   * An array bound: data1/2/4 are unsigned (gcc writes `char buf[256]`'s upper bound 255 as data1), data8 and
   * sdata signed (`int a[0]` has upper bound 0xffffffffffffffff, i.e. -1), as gdb reads them.
   */
  bound(die: Die, at: number): number | undefined {
    const a = this.raw(die, at);
    if (!a) return undefined;
    if (a.form === DW_FORM.data1 || a.form === DW_FORM.data2 || a.form === DW_FORM.data4 || a.form === DW_FORM.udata) return this.udata(die, at);
    return this.sdata(die, at);
  }

  str(die: Die, at: number): string | undefined {
    const a = this.raw(die, at);
    if (!a) return undefined;
    const u = die.unit;
    switch (a.form) {
      case DW_FORM.string: return a.value as string;
      case DW_FORM.strp: return this.debugStr(a.value as number);
      case DW_FORM.line_strp: return lineStrAt(this.sections.get('.debug_line_str'), a.value as number);
      case DW_FORM.strx: case DW_FORM.strx1: case DW_FORM.strx2: case DW_FORM.strx3: case DW_FORM.strx4:
      case DW_FORM.GNU_str_index:
        return this.strx(u, a.value as number);
      default: return undefined;
    }
  }

  strx(u: Unit, index: number): string {
    const base = u.strOffsetsBase || (u.version >= 5 ? (u.header.offsetSize === 8 ? 16 : 8) : 0);
    const off = strOffsetAt(this.sections.get('.debug_str_offsets'), base, index, u.header.offsetSize);
    return this.debugStr(off);
  }

  /** The .debug_str string at an offset (read in pages when the section is big). */
  debugStr(offset: number): string {
    let v = this.strCache.get(offset);
    if (v === undefined) this.strCache.set(offset, (v = this.sections.windowed('.debug_str', offset, 256, (b, at) => strAt(b, at))));
    return v;
  }
  private readonly strCache = new Map<number, string>();

  addrx(u: Unit, index: number): number {
    const base = u.addrBase || (u.version >= 5 ? (u.header.offsetSize === 8 ? 16 : 8) : 0);
    return addrAt(this.sections.get('.debug_addr'), base, index, u.header.addrSize);
  }

  /** A reference attribute resolved to its DIE (unit-local or DW_FORM_ref_addr). */
  ref(die: Die, at: number): Die | undefined {
    const a = this.raw(die, at);
    if (!a || typeof a.value !== 'number') return undefined;
    switch (a.form) {
      case DW_FORM.ref1: case DW_FORM.ref2: case DW_FORM.ref4: case DW_FORM.ref8: case DW_FORM.ref_udata:
        return die.unit.dieAt(a.value) ?? this.badRef(die, a.value);
      case DW_FORM.ref_addr: return this.dieAt(a.value) ?? this.badRef(die, a.value);
      default: return undefined;
    }
  }
  private badRef(die: Die, target: number): never {
    return fail('.debug_info', die.offset, `reference to 0x${target.toString(16)}, which is not a DIE`);
  }

  /** An address-class attribute (DW_FORM_addr or an .debug_addr index). */
  address(die: Die, at: number): number | undefined {
    const a = this.raw(die, at);
    if (!a || typeof a.value !== 'number') return undefined;
    switch (a.form) {
      case DW_FORM.addr: return a.value;
      case DW_FORM.addrx: case DW_FORM.addrx1: case DW_FORM.addrx2: case DW_FORM.addrx3: case DW_FORM.addrx4:
      case DW_FORM.GNU_addr_index:
        return this.addrx(die.unit, a.value);
      default: return undefined;
    }
  }

  memberOffset(die: Die): number | undefined {
    const a = this.raw(die, DW_AT.data_member_location);
    if (!a) return undefined;
    if (a.value instanceof Uint8Array) {
      // DWARF 2 style: DW_OP_plus_uconst N.
      const b = a.value;
      if (b.length >= 2 && b[0] === 0x23) {
        let v = 0, mul = 1;
        for (let i = 1; i < b.length && i < 11; i++) { v += (b[i]! & 0x7f) * mul; mul *= 128; if (!(b[i]! & 0x80)) break; }
        return v;
      }
      return undefined;
    }
    return this.udata(die, DW_AT.data_member_location);
  }

  /** The DIE's name, following DW_AT_abstract_origin / DW_AT_specification (bounded). */
  name(die: Die): string | undefined {
    if (die.name !== null) return die.name;
    let d: Die | undefined = die, n: string | undefined;
    for (let i = 0; d && i < MAX_ORIGIN_CHAIN; i++) {
      // An origin's name is known once found (inlined copies share a few abstract origins).
      if (d.name !== null) { n = d.name; break; }
      n = this.str(d, DW_AT.name);
      if (n !== undefined) break;
      d = this.ref(d, DW_AT.abstract_origin) ?? this.ref(d, DW_AT.specification);
    }
    die.name = n;
    return n;
  }

  /**
   * The concrete functions of unit `u` named `name` (subprograms and inlined copies with code whose
   * name() is `name`), in DIE order. An ASCII name is matched on the raw bytes: each entry's own
   * DW_AT_name (inline, .debug_str or .debug_line_str bytes) or, without one, the entry its
   * DW_AT_abstract_origin / DW_AT_specification names, as name() follows them; only entries that can be
   * concrete functions or their origins are looked at, and no DIE is decoded. Anything the raw path does
   * not cover (indexed strings, references to other units, DW_FORM_indirect, a long or cyclic chain)
   * is answered by name() itself.
   */
  functionsNamedIn(u: Unit, name: string): Die[] {
    const out: Die[] = [];
    // eslint-disable-next-line no-control-regex
    const raw = /^[\x01-\x7f]*$/.test(name) ? this.rawNameMatcher(u, name) : undefined;
    // A plain loop over the tree's columns (a cold process runs it in V8's interpreter): whether an
    // abbreviation gives code is known per code.
    const { n, tag: tags, code: codes } = u.columns();
    const withCode = new Int8Array(1024); // per code below 1024: 0 unknown, 1 code, 2 none
    for (let i = 0; i < n; i++) {
      const tag = tags[i];
      if (tag !== DW_TAG.subprogram && tag !== DW_TAG.inlined_subroutine) continue;
      const c = codes[i]!;
      let w = c < 1024 ? withCode[c]! : 0;
      if (w === 0) { w = hasCode(u.abbrevAt(i)) ? 1 : 2; if (c < 1024) withCode[c] = w; }
      if (w === 2) continue;
      const r = raw ? raw(i) : undefined;
      if (r === false) continue;
      const die = u.die(i);
      if (r === true) { if (die.name === null) die.name = name; out.push(die); } else if (this.name(die) === name) out.push(die);
    }
    return out;
  }

  /** functionsNamedIn's byte matcher for unit u: entry index → whether name() is `name`, undefined when it cannot tell. */
  private rawNameMatcher(u: Unit, name: string): (i: number) => boolean | undefined {
    const want = new Uint8Array(name.length);
    for (let k = 0; k < name.length; k++) want[k] = name.charCodeAt(k);
    const b = u.bytes, base: number = u.header.offset, offsetSize = u.header.offsetSize;
    // Per abbreviation code: the places of DW_AT_name, DW_AT_abstract_origin and DW_AT_specification.
    const places = new Map<number, Int32Array>();
    const placesOf = (i: number): Int32Array => {
      const c = u.codeAt(i);
      let p = places.get(c);
      if (!p) {
        const attrs = u.abbrevAt(i).attrs;
        p = new Int32Array([-1, -1, -1]);
        for (let k = 0; k < attrs.length; k++) {
          const at = attrs[k]!.at;
          if (at === DW_AT.name && p[0]! < 0) p[0] = k;
          else if (at === DW_AT.abstract_origin && p[1]! < 0) p[1] = k;
          else if (at === DW_AT.specification && p[2]! < 0) p[2] = k;
        }
        places.set(c, p);
      }
      return p;
    };
    const equalAt = (bytes: Uint8Array, at: number): boolean => {
      if (at < 0 || at + want.length >= bytes.length) return false;
      for (let k = 0; k < want.length; k++) if (bytes[at + k] !== want[k]) return false;
      return bytes[at + want.length] === 0;
    };
    const strAtOffset = (section: '.debug_str' | '.debug_line_str', off: number): boolean | undefined => {
      const w = this.sections.span(section, off, want.length + 1);
      // Outside the section, or unterminated before its end: name() reports it.
      if (w.length < want.length + 1) return w.indexOf(0) >= 0 ? false : undefined;
      return equalAt(w, 0);
    };
    const offsetAt = (pos: number): number => (offsetSize === 8 ? readU32(b, pos) + readU32(b, pos + 4) * 0x100000000 : readU32(b, pos));
    // A reference attribute's target entry in this unit; -1 when absent or not a reference; undefined: ask name().
    const target = (i: number, k: number): number | undefined => {
      if (k < 0) return -1;
      const pos = u.attrPos(i, k);
      if (pos < 0) return undefined;
      let off: number;
      switch (u.abbrevAt(i).attrs[k]!.form) {
        case DW_FORM.ref1: off = b[pos]!; break;
        case DW_FORM.ref2: off = b[pos]! | (b[pos + 1]! << 8); break;
        case DW_FORM.ref4: off = readU32(b, pos); break;
        case DW_FORM.ref8: off = readU32(b, pos) + readU32(b, pos + 4) * 0x100000000; break;
        case DW_FORM.ref_udata: { let v = 0, m = 1, byte = 0, p = pos; do { byte = b[p++]!; v += (byte & 0x7f) * m; m *= 128; } while (byte & 0x80 && p < b.length); off = v; break; }
        case DW_FORM.ref_addr: return undefined;
        default: return -1;
      }
      const j = u.indexAt(base + off);
      return j < 0 ? undefined : j;
    };
    // 0: not known, 1: named `name`, 2: not, 3: being looked at (a cycle: name() decides); `steps`: how
    // many entries of the chain name() reads from there (an answer holds only within its bound).
    const memo = new Uint8Array(u.count), steps = new Uint8Array(u.count);
    const SLOW = 4;
    const look = (i: number, depth: number): number => {
      const m = memo[i]!;
      if (m === 1 || m === 2) return depth + steps[i]! <= MAX_ORIGIN_CHAIN ? m : SLOW;
      if (m === 3 || depth >= MAX_ORIGIN_CHAIN) return SLOW;
      memo[i] = 3;
      let t = -1;
      const p = placesOf(i);
      let r: number = SLOW;
      let own: boolean | undefined | null = null; // null: no DW_AT_name of a string form
      if (p[0]! >= 0) {
        const pos = u.attrPos(i, p[0]!);
        const form = u.abbrevAt(i).attrs[p[0]!]!.form;
        if (pos < 0) own = undefined;
        else if (form === DW_FORM.string) own = equalAt(b, pos);
        else if (form === DW_FORM.strp) own = strAtOffset('.debug_str', offsetAt(pos));
        else if (form === DW_FORM.line_strp) own = strAtOffset('.debug_line_str', offsetAt(pos));
        else if (isStrForm(form)) own = undefined;
      }
      if (own === true) r = 1;
      else if (own === false) r = 2;
      else if (own === null) {
        // No name of its own: name() goes on to the abstract origin, else the specification.
        let to = target(i, p[1]!);
        if (to === -1) to = target(i, p[2]!);
        if (to !== undefined) t = to;
        r = to === undefined ? SLOW : to === -1 ? 2 : look(to, depth + 1);
      }
      memo[i] = r === SLOW ? 0 : r;
      steps[i] = r === SLOW ? 0 : t >= 0 ? 1 + steps[t]! : 1;
      return r;
    };
    return (i) => { const r = look(i, 0); return r === 1 ? true : r === 2 ? false : undefined; };
  }

  /** An attribute looked up on the DIE or, failing that, its abstract origin / specification chain. */
  private origin<T>(die: Die, get: (d: Die) => T | undefined): T | undefined {
    let d: Die | undefined = die;
    for (let i = 0; d && i < MAX_ORIGIN_CHAIN; i++) {
      const v = get(d);
      if (v !== undefined) return v;
      d = this.ref(d, DW_AT.abstract_origin) ?? this.ref(d, DW_AT.specification);
    }
    return undefined;
  }

  typeOf(die: Die): Die | undefined { return this.origin(die, (d) => this.ref(d, DW_AT.type)); }

  /** Where a DIE is declared (DW_AT_decl_file/decl_line, from its abstract origin or specification too). */
  declaration(die: Die): { file: string | undefined; line: number | undefined } {
    return { file: this.fileName(die.unit, this.origin(die, (x) => this.udata(x, DW_AT.decl_file))), line: this.origin(die, (x) => this.udata(x, DW_AT.decl_line)) };
  }

  rangeContext(u: Unit): RangeContext {
    return { addrSize: u.header.addrSize, offsetSize: u.header.offsetSize, baseAddress: this.unitBase(u), addrx: (i) => this.addrx(u, i) };
  }
  private unitBase(u: Unit): number {
    const root = u.root();
    return root ? this.address(root, DW_AT.low_pc) ?? 0 : 0;
  }

  /** Address ranges of a DIE with code (low_pc/high_pc or DW_AT_ranges); empty when it has none. */
  ranges(die: Die): Range[] {
    let r = this.rangeCache.get(die);
    if (r) return r;
    r = [];
    const low = this.address(die, DW_AT.low_pc);
    const hi = this.raw(die, DW_AT.high_pc);
    if (low !== undefined && hi) {
      // DWARF 4+: a constant-class high_pc is the length (§2.17.2).
      const high = hi.form === DW_FORM.addr || (hi.form >= DW_FORM.addrx1 && hi.form <= DW_FORM.addrx4) || hi.form === DW_FORM.addrx
        ? this.address(die, DW_AT.high_pc)! : low + (this.udata(die, DW_AT.high_pc) ?? 0);
      if (high > low) r = [{ low, high }];
    } else if (this.has(die, DW_AT.ranges)) {
      const a = this.raw(die, DW_AT.ranges)!;
      const u = die.unit;
      const ctx = this.rangeContext(u);
      if (u.version >= 5) {
        const S = '.debug_rnglists';
        let off = a.value as number;
        if (a.form === DW_FORM.rnglistx) {
          const base = u.rnglistsBase || 12, os = u.header.offsetSize;
          off = this.sections.windowed(S, base, (off + 1) * os, (b, at) => rngListOffset(b, at, a.value as number, os) - at) + base;
        }
        r = this.sections.windowed(S, off, 512, (b, at) => readRngList(b, at, ctx));
      } else {
        r = readRanges(this.sections.get('.debug_ranges'), a.value as number, ctx);
      }
    } else if (low !== undefined) {
      r = [{ low, high: low + 1 }];
    }
    this.rangeCache.set(die, r);
    return r;
  }

  /** DW_AT_location (or frame base) as a single expression or a location list. */
  locationOf(die: Die, at: number = DW_AT.location): { expr: Uint8Array } | { list: LocEntry[] } | undefined {
    const a = this.raw(die, at);
    if (!a) return undefined;
    if (a.value instanceof Uint8Array) return { expr: a.value };
    if (typeof a.value !== 'number') return undefined;
    const u = die.unit;
    const ctx = this.rangeContext(u);
    if (u.version >= 5) {
      const S = '.debug_loclists', index = a.value;
      let off = a.value;
      if (a.form === DW_FORM.loclistx) {
        const base = u.loclistsBase || 12, os = u.header.offsetSize;
        off = this.sections.windowed(S, base, (index + 1) * os, (b, at) => locListOffset(b, at, index, os) - at) + base;
      }
      return { list: this.sections.windowed(S, off, 512, (b, at) => readLocList(b, at, ctx)) };
    }
    return { list: readLoc(this.sections.get('.debug_loc'), a.value, ctx) };
  }

  // ------------------------------------------------------------------ lines

  /** The unit's line program (header parsed on first use, rows on first `rows()`). */
  lineProgram(u: Unit): LineProgram | undefined {
    if (this.lineCache.has(u)) return this.lineCache.get(u) ?? undefined;
    const root = u.root();
    const off = root ? this.udata(root, DW_AT.stmt_list) : undefined;
    let lp: LineProgram | null = null;
    if (root && off !== undefined) {
      const S = '.debug_line';
      // The program's extent from its initial length, then exactly those bytes (a window of a big section).
      const total = this.sections.windowed(S, off, 12, (b, at) => { const r = new Reader(b, S, at); const [len] = r.initialLength(); return r.pos - at + len; });
      const compDir = this.str(root, DW_AT.comp_dir) ?? '';
      lp = this.sections.windowed(S, off, total, (buf, at) => new LineProgram(parseLineHeader(buf, lineOffset(at), compDir, {
        str: (o) => this.debugStr(o),
        lineStr: (o) => lineStrAt(this.sections.get('.debug_line_str'), o),
        strx: (i) => this.strx(u, i),
      }, u.header.addrSize), buf));
    }
    this.lineCache.set(u, lp);
    return lp ?? undefined;
  }

  /** A file index from DW_AT_decl_file/DW_AT_call_file resolved through the unit's line table. */
  fileName(u: Unit, index: number | undefined): string | undefined {
    if (index === undefined) return undefined;
    return this.lineProgram(u)?.filePath(index);
  }

  /**
   * The units whose line table may list a file `match` accepts, in unit order: from the file index when
   * there is one (no line table read), else every unit.
   */
  unitsMayHaveFile(match: (path: string) => boolean): Unit[] {
    const fi = this.options.files?.();
    if (!fi) return this.units();
    const set = new Set<number>(fi.always);
    fi.paths.forEach((p, k) => { if (match(p)) for (const i of fi.units[k]!) set.add(i); });
    return [...set].sort((a, b) => a - b).map((i) => this.unit(i)!);
  }

  /** The file index of this DWARF: every unit's line table read (for a persistent index). */
  fileIndex(): FileIndex {
    const byPath = new Map<string, number[]>();
    const always: number[] = [];
    this.units().forEach((u, i) => {
      const lp = this.lineProgram(u);
      if (!lp) return;
      if (lp.header.version < 5) { always.push(i); return; }
      for (let f = 0; f < lp.header.files.length; f++) {
        const p = lp.filePath(f);
        let l = byPath.get(p);
        if (!l) byPath.set(p, (l = []));
        if (l[l.length - 1] !== i) l.push(i);
      }
    });
    const paths = [...byPath.keys()].sort();
    return { paths, units: paths.map((p) => Uint32Array.from(byPath.get(p)!)), always: Uint32Array.from(always) };
  }

  /** Rows (excluding end_sequence) whose file matches `file` (full path, or a suffix at a '/' boundary). */
  lineRows(file: string, fromLine = 0, toLine = Infinity): LineEntry[] {
    const out: LineEntry[] = [];
    for (const u of this.unitsMayHaveFile((p) => fileMatches(p, file))) {
      const lp = this.lineProgram(u);
      if (!lp || !this.mayHaveFile(lp, file)) continue;
      const matches = new Map<number, string | null>();
      for (const row of lp.rows()) {
        if (row.endSequence || row.line < fromLine || row.line > toLine) continue;
        let path = matches.get(row.file);
        if (path === undefined) { const p = lp.filePath(row.file); path = fileMatches(p, file) ? p : null; matches.set(row.file, path); }
        if (path !== null) out.push({ unit: u, row, path });
      }
    }
    return out;
  }

  /** Units whose line table may have rows of `file` (see mayHaveFile), in unit order. */
  unitsWithFile(match: (path: string) => boolean): Unit[] {
    return this.unitsMayHaveFile(match).filter((u) => { const lp = this.lineProgram(u); return lp !== undefined && this.mayHaveFile(lp, match); });
  }

  /** The concrete function instances of one unit (out-of-line bodies and inlined copies), in DIE order. */
  unitFunctions(u: Unit): FunctionInstance[] {
    const out: FunctionInstance[] = [];
    for (let i = 0, n = u.count; i < n; i++) {
      const tag = u.tagAt(i);
      if (tag !== DW_TAG.subprogram && tag !== DW_TAG.inlined_subroutine) continue;
      const fi = this.functionInstance(u.die(i));
      if (fi) out.push(fi);
    }
    return out;
  }

  /**
   * Whether a line program can have rows of `file`: its header lists it (DWARF 5 has no
   * DW_LNE_define_file, so the header is the whole list; older programs are decoded to be sure).
   */
  private mayHaveFile(lp: LineProgram, match: string | ((path: string) => boolean)): boolean {
    if (lp.header.version < 5) return true;
    const n = lp.header.files.length;
    for (let i = 0; i < n; i++) {
      const p = lp.filePath(i);
      if (typeof match === 'string' ? fileMatches(p, match) : match(p)) return true;
    }
    return false;
  }

  /** Addresses where line `line` of `file` begins (is_stmt rows that start a run of that line), sorted, unique. */
  addressesForLine(file: string, line: number): number[] {
    const set = new Set<number>();
    for (const u of this.unitsMayHaveFile((p) => fileMatches(p, file))) {
      const lp = this.lineProgram(u);
      if (!lp || !this.mayHaveFile(lp, file)) continue;
      let prevLine = -1, prevFile = -1;
      for (const row of lp.rows()) {
        if (row.endSequence) { prevLine = -1; prevFile = -1; continue; }
        const starts = row.line !== prevLine || row.file !== prevFile;
        prevLine = row.line; prevFile = row.file;
        if (!row.isStmt || row.line !== line || !starts) continue;
        if (fileMatches(lp.filePath(row.file), file)) set.add(row.address);
      }
    }
    return [...set].sort((a, b) => a - b);
  }

  /**
   * The row describing `pc`: of the rows at the highest address <= pc in the sequence containing pc, the
   * last is_stmt one (else the last one) — what gdb's `info line *ADDR` reports.
   */
  lineAt(pc: number): LineEntry | undefined {
    const u = this.unitAt(pc);
    const lp = u && this.lineProgram(u);
    const row = lp?.rowAt(pc);
    return u && lp && row ? { unit: u, row, path: lp.filePath(row.file) } : undefined;
  }

  // ------------------------------------------------------------------ functions and scopes

  /** Every concrete function instance (out-of-line bodies and inlined copies), indexed by name on first use. */
  functions(): Map<string, FunctionInstance[]> {
    if (this.functionIndex) return this.functionIndex;
    const idx = new Map<string, FunctionInstance[]>();
    for (const u of this.units()) {
      for (let i = 0, n = u.count; i < n; i++) {
        const tag = u.tagAt(i);
        if (tag !== DW_TAG.subprogram && tag !== DW_TAG.inlined_subroutine) continue;
        const fi = this.functionInstance(u.die(i));
        if (!fi) continue;
        let list = idx.get(fi.name);
        if (!list) idx.set(fi.name, (list = []));
        list.push(fi);
      }
    }
    this.functionIndex = idx;
    return idx;
  }

  /**
   * Subprogram / inlined-subroutine DIEs that may have code (DW_AT_low_pc or DW_AT_ranges), by name.
   * Cheaper than `functions()`: no range lists, file names or entry PCs until a name is asked for.
   */
  nameIndex(): Map<string, Die[]> {
    if (this.nameIndexCache) return this.nameIndexCache;
    const idx = new Map<string, Die[]>();
    for (const u of this.units()) {
      for (let i = 0, n = u.count; i < n; i++) {
        const tag = u.tagAt(i);
        if (tag !== DW_TAG.subprogram && tag !== DW_TAG.inlined_subroutine) continue;
        if (!hasCode(u.abbrevAt(i))) continue;
        const d = u.die(i);
        const name = this.name(d) ?? '<anonymous>';
        let list = idx.get(name);
        if (!list) idx.set(name, (list = []));
        list.push(d);
      }
    }
    this.nameIndexCache = idx;
    return idx;
  }

  /** All concrete instances of a function: its body (if any) and every inlined copy. */
  functionsByName(name: string): FunctionInstance[] {
    if (this.functionIndex) return this.functionIndex.get(name) ?? [];
    const out: FunctionInstance[] = [];
    for (const d of this.nameIndex().get(name) ?? []) { const f = this.functionInstance(d); if (f) out.push(f); }
    return out;
  }

  /**
   * The FunctionInstance for a subprogram / inlined_subroutine DIE with code, else undefined.
   * `empty`: also an instance whose code is empty (an inlined call GCC kept as low_pc == high_pc, e.g.
   * IS_ERR folded into its caller's compare): ranges [], entered at DW_AT_entry_pc or DW_AT_low_pc, as
   * perf's die_entrypc still finds it when it lists the call's line.
   */
  functionInstance(d: Die, opts: { empty?: boolean } = {}): FunctionInstance | undefined {
    // Once per DIE (a line listing asks again for every row of a function).
    const memo = opts.empty ? this.instancesEmpty : this.instances;
    if (memo.has(d)) return memo.get(d);
    const fi = this.makeFunctionInstance(d, opts);
    memo.set(d, fi);
    return fi;
  }
  private readonly instances = new Map<Die, FunctionInstance | undefined>();
  private readonly instancesEmpty = new Map<Die, FunctionInstance | undefined>();

  private makeFunctionInstance(d: Die, opts: { empty?: boolean }): FunctionInstance | undefined {
    const ranges = this.ranges(d);
    const at = ranges.length > 0 ? ranges[0]!.low : opts.empty ? this.address(d, DW_AT.low_pc) ?? (this.raw(d, DW_AT.entry_pc)?.form === DW_FORM.addr ? this.address(d, DW_AT.entry_pc) : undefined) : undefined;
    if (at === undefined) return undefined;
    const name = this.name(d) ?? '<anonymous>';
    const u = d.unit;
    const entry = this.raw(d, DW_AT.entry_pc);
    let entryPc = at;
    for (const r of ranges) if (r.low < entryPc) entryPc = r.low;
    if (entry) {
      if (entry.form === DW_FORM.addr || entry.form === DW_FORM.addrx || (entry.form >= DW_FORM.addrx1 && entry.form <= DW_FORM.addrx4)) entryPc = this.address(d, DW_AT.entry_pc) ?? entryPc;
      else entryPc = (this.address(d, DW_AT.low_pc) ?? this.unitBase(u)) + (this.udata(d, DW_AT.entry_pc) ?? 0);
    }
    const inline = d.tag === DW_TAG.inlined_subroutine;
    // The declaration's file name needs the unit's line table: read when first asked for.
    let decl: { file: string | undefined; line: number | undefined } | undefined;
    const declared = () => (decl ??= this.declaration(d));
    return {
      name, die: d, kind: inline ? 'inline' : 'function', ranges, entryPc,
      ...(inline ? { callFile: this.fileName(u, this.udata(d, DW_AT.call_file)), callLine: this.udata(d, DW_AT.call_line) } : {}),
      get declFile() { return declared().file; },
      get declLine() { return declared().line; },
      external: this.origin(d, (x) => (this.has(x, DW_AT.external) ? true : undefined)) ?? false,
    };
  }

  /** The function's return type (DW_AT_type of the subprogram or its abstract origin); undefined = void. */
  returnType(fn: FunctionInstance | Die): Die | undefined {
    return this.typeOf('die' in fn && 'entryPc' in fn ? fn.die : (fn as Die));
  }

  /**
   * Source lines that have an is_stmt row inside `ranges` (where a probe can be placed, as perf probe -L
   * marks them), by file path.
   */
  linesIn(ranges: readonly Range[]): Map<string, Set<number>> {
    const out = new Map<string, Set<number>>();
    if (ranges.length === 0) return out;
    const u = this.unitAt(ranges[0]!.low);
    const lp = u && this.lineProgram(u);
    if (!lp) return out;
    for (const row of lp.rows()) {
      if (row.endSequence || !row.isStmt || !rangesContain(ranges, row.address)) continue;
      const path = lp.filePath(row.file);
      let set = out.get(path);
      if (!set) out.set(path, (set = new Set()));
      set.add(row.line);
    }
    return out;
  }

  /** The unit whose code covers `pc`. */
  unitAt(pc: number): Unit | undefined {
    // .debug_aranges first (no unit decoded); a PC it does not cover is looked up in the units' own ranges.
    if (this.arangesIndex === undefined) {
      const ix = this.options.useAranges === false ? null : this.addressIndex();
      this.arangesIndex = ix ? { ix, maxHigh: runningMax(ix.high) } : null;
    }
    if (this.arangesIndex) {
      const i = searchAddress(this.arangesIndex.ix, this.arangesIndex.maxHigh, pc);
      if (i >= 0) return this.unit(this.arangesIndex.ix.unit[i]!);
    }
    if (!this.unitRangeIndex) {
      const idx: { low: number; high: number; unit: Unit }[] = [];
      for (const u of this.units()) {
        const root = u.root();
        if (!root) continue;
        let rs = this.ranges(root);
        if (rs.length === 0) {
          // No unit-level ranges: use its subprograms' (gcc always emits them, but be lenient).
          rs = [];
          for (const c of this.children(root)) if (c.tag === DW_TAG.subprogram) rs.push(...this.ranges(c));
        }
        for (const r of rs) idx.push({ ...r, unit: u });
      }
      idx.sort((a, b) => a.low - b.low);
      this.unitRangeIndex = idx;
    }
    for (const e of this.unitRangeIndex) {
      if (e.low > pc) break;
      if (pc < e.high) return e.unit;
    }
    return undefined;
  }

  /** .debug_aranges as an AddressIndex (given by the options, or parsed here); null without the section. */
  addressIndex(): AddressIndex | null {
    const given = this.options.aranges?.();
    if (given) return given;
    if (!this.sections.has('.debug_aranges')) return null;
    const out: { low: number; high: number; unit: number }[] = [];
    const hs = this.unitHeaders();
    let lastOffset = -1, last = -1;
    for (const a of parseAranges(this.sections.get('.debug_aranges'))) {
      // Sets name their unit by offset; consecutive ranges mostly name the same one.
      if (a.unitOffset !== lastOffset) {
        const i = this.unitIndexContaining(a.unitOffset);
        if (i < 0 || hs.at(i)!.offset !== a.unitOffset) fail('.debug_aranges', 0, `range set names unit 0x${a.unitOffset.toString(16)}, which is not a unit`);
        lastOffset = a.unitOffset; last = i;
      }
      out.push({ low: a.low, high: a.high, unit: last });
    }
    return addressIndex(out);
  }

  /** The scope chain at `pc`: the concrete function, then inlined copies and lexical blocks, innermost last. */
  scopeAt(pc: number): ScopeFrame[] {
    const u = this.unitAt(pc);
    if (!u || u.count === 0) return [];
    // The unit's top level (thousands of entries in a kernel unit): its scopes' ranges, searched by bisection.
    const i = this.topScopeAt(u, pc);
    return i < 0 ? [] : this.scopesFrom(u.die(i), pc);
  }

  /**
   * The scope chain at `pc` from a scope that holds it: that scope, then at each level the first child
   * scope (in DIE order) holding pc, innermost last. scopeAt is this from the unit's top-level scope.
   */
  scopesFrom(top: Die, pc: number): ScopeFrame[] {
    const u = top.unit;
    const frame = (d: Die): ScopeFrame => {
      const kind = d.tag === DW_TAG.subprogram ? 'function' : d.tag === DW_TAG.inlined_subroutine ? 'inline' : 'block';
      return kind === 'block' ? { die: d, kind, ranges: this.ranges(d) } : { die: d, kind, name: this.name(d) ?? '<anonymous>', ranges: this.ranges(d) };
    };
    const chain: ScopeFrame[] = [frame(top)];
    let parent = top;
    // Descend: at each level find the child scope containing pc. Bounded by the DIE count.
    for (let guard = 0, n = u.count; guard < n; guard++) {
      let found: Die | undefined;
      for (let i = parent.index + 1; i < parent.subtreeEnd; i = u.endAt(i)) {
        const tag = u.tagAt(i);
        if (tag !== DW_TAG.subprogram && tag !== DW_TAG.inlined_subroutine && tag !== DW_TAG.lexical_block) continue;
        const c = u.die(i);
        const rs = this.ranges(c);
        if (rs.length && rangesContain(rs, pc)) { found = c; break; }
        // A lexical block without ranges just groups declarations: look inside it.
        if (c.tag === DW_TAG.lexical_block && rs.length === 0) {
          const inner = this.findScopeWithin(c, pc);
          if (inner) { found = inner; break; }
        }
      }
      if (!found) break;
      chain.push(frame(found));
      parent = found;
    }
    return chain;
  }


  /**
   * The first top-level scope (subprogram, inlined subroutine or lexical block child of the unit DIE, in
   * DIE order) whose ranges hold pc: its DIE index, or -1. The same answer as walking the children, from
   * their ranges sorted once per unit.
   */
  private topScopeAt(u: Unit, pc: number): number {
    let t = this.topScopes.get(u);
    if (!t) {
      const rs: { low: number; high: number; unit: number }[] = [];
      for (let i = 1, end = u.endAt(0); i < end; i = u.endAt(i)) {
        const tag = u.tagAt(i);
        if (tag !== DW_TAG.subprogram && tag !== DW_TAG.inlined_subroutine && tag !== DW_TAG.lexical_block) continue;
        if (!hasCode(u.abbrevAt(i))) continue;
        for (const r of this.ranges(u.die(i))) if (r.high > r.low) rs.push({ low: r.low, high: r.high, unit: i });
      }
      rs.sort((a, b) => a.low - b.low || a.high - b.high);
      const ix = addressIndex(rs);
      t = { ix, maxHigh: runningMax(ix.high) };
      this.topScopes.set(u, t);
    }
    // Every range holding pc lies before the first start past pc and after the last running maximum <= pc.
    const { ix, maxHigh } = t;
    let lo = 0, hi = ix.low.length;
    while (lo < hi) { const m = (lo + hi) >>> 1; if (ix.low[m]! <= pc) lo = m + 1; else hi = m; }
    let best = -1;
    for (let k = lo - 1; k >= 0 && maxHigh[k]! > pc; k--) {
      if (ix.high[k]! > pc && (best < 0 || ix.unit[k]! < best)) best = ix.unit[k]!;
    }
    return best;
  }
  private readonly topScopes = new Map<Unit, { ix: AddressIndex; maxHigh: Float64Array }>();

  private findScopeWithin(block: Die, pc: number): Die | undefined {
    const u = block.unit;
    for (let i = block.index + 1; i < block.subtreeEnd; i++) {
      const tag = u.tagAt(i);
      if (tag !== DW_TAG.inlined_subroutine && tag !== DW_TAG.lexical_block) continue;
      const c = u.die(i);
      if (rangesContain(this.ranges(c), pc)) return c;
    }
    return undefined;
  }

  // ------------------------------------------------------------------ call frames and locations

  private frames(): FrameTable[] {
    if (!this.frameTables) {
      const t: FrameTable[] = [];
      if (this.sections.has('.debug_frame')) t.push(new FrameTable(this.sections.get('.debug_frame'), '.debug_frame', { addrSize: this.addrSize }));
      if (this.sections.has('.eh_frame')) t.push(new FrameTable(this.sections.get('.eh_frame'), '.eh_frame', { addrSize: this.addrSize, sectionAddress: this.options.ehFrameAddress ?? 0 }));
      this.frameTables = t;
    }
    return this.frameTables;
  }

  /** The CFA rule at `pc` from .debug_frame, falling back to .eh_frame. */
  cfaAt(pc: number): CfaRule | undefined {
    for (const t of this.frames()) {
      const row = t.unwindRowAt(pc);
      if (row) return row.cfa;
    }
    return undefined;
  }

  /** The fetch plan for a location-bearing DIE (variable, parameter) at `pc`; `frameDie` supplies DW_AT_frame_base. */
  locationAt(die: Die, pc: number, frameDie?: Die): FetchPlan {
    const cv = this.raw(die, DW_AT.const_value);
    if (cv) {
      if (cv.value instanceof Uint8Array) return { kind: 'implicit', bytes: cv.value };
      const v = this.sdata(die, DW_AT.const_value);
      if (v !== undefined) return { kind: 'constant', value: typeof cv.value === 'bigint' ? BigInt.asIntN(64, cv.value) : BigInt(v) };
    }
    const loc = this.locationOf(die);
    if (!loc) return { kind: 'optimized-out' };
    const expr = 'expr' in loc ? loc.expr : pickLoc(loc.list, pc);
    if (!expr) return { kind: 'optimized-out' };
    return planLocation(expr, this.planContext(die.unit, pc, frameDie));
  }

  /**
   * The plan of the location's first operation alone, as perf probe reads a location (probe-finder.c
   * convert_variable_location handles op[0] only: "TODO: handle more than 1 exprs"), so a value in
   * pieces is its first piece and `DW_OP_addr; DW_OP_stack_value` the address's memory.
   */
  firstOpLocationAt(die: Die, pc: number, frameDie?: Die): FetchPlan | undefined {
    const loc = this.locationOf(die);
    const expr = !loc ? undefined : 'expr' in loc ? loc.expr : pickLoc(loc.list, pc);
    if (!expr || expr.length === 0) return undefined;
    const ctx = this.planContext(die.unit, pc, frameDie);
    const ops = decodeOps(expr, ctx);
    if (ops.length < 2) return undefined;
    // libdw does not take an expression with DW_OP_GNU_uninit apart: perf reads nothing there.
    if (ops.some((o) => o.code === DW_OP.GNU_uninit)) return undefined;
    // The operations perf reads: DW_OP_addr, DW_OP_reg*, DW_OP_breg*, DW_OP_regx, DW_OP_fbreg, DW_OP_bregx.
    const c = ops[0]!.code;
    if (!(c === DW_OP.addr || (c >= DW_OP.reg0 && c <= DW_OP.bregx))) return undefined;
    return planLocation(expr.subarray(0, ops[1]!.at), ctx);
  }

  planContext(u: Unit, pc: number, frameDie?: Die): PlanContext {
    return {
      addrSize: u.header.addrSize, offsetSize: u.header.offsetSize,
      addrx: (i) => this.addrx(u, i),
      cfa: () => { const c = this.cfaAt(pc); return c && c.kind === 'reg-offset' ? { reg: c.reg, offset: c.offset } : undefined; },
      frameBase: () => {
        if (!frameDie) return undefined;
        const fb = this.locationOf(frameDie, DW_AT.frame_base);
        if (!fb) return undefined;
        const e = 'expr' in fb ? fb.expr : pickLoc(fb.list, pc);
        return e ? planLocation(e, { ...this.planContext(u, pc), frameBase: undefined }) : undefined;
      },
    };
  }

  /**
   * Variables visible at `pc`: parameters and locals of every scope in the chain, innermost first, with
   * inner declarations hiding outer ones of the same name. `externs` adds the unit's global variables.
   */
  variablesAt(pc: number, opts: { externs?: boolean } = {}): Variable[] {
    const chain = this.scopeAt(pc);
    const out: Variable[] = [];
    if (chain.length === 0) return out;
    const frameDie = chain[0]!.die;
    const seen = new Set<string>();
    for (let depth = chain.length - 1; depth >= 0; depth--) {
      const scope = chain[depth]!.die;
      for (const c of this.children(scope)) {
        if (c.tag !== DW_TAG.formal_parameter && c.tag !== DW_TAG.variable) continue;
        const v = this.variable(c, pc, frameDie, depth);
        if (!v || seen.has(v.name)) continue;
        seen.add(v.name);
        out.push(v);
      }
    }
    if (opts.externs) {
      const root = chain[0]!.die.unit.root();
      if (root) for (const c of this.children(root)) {
        if (c.tag !== DW_TAG.variable) continue;
        const v = this.variable(c, pc, frameDie, -1);
        if (v && !seen.has(v.name) && v.location.kind !== 'optimized-out') { seen.add(v.name); out.push({ ...v, kind: 'global' }); }
      }
    }
    return out;
  }

  /** Parameters and locals declared directly in a function instance (what gdb's `info scope FUNC` lists). */
  scopeVariables(fn: FunctionInstance | Die): Die[] {
    const die = 'die' in fn && 'kind' in fn && 'ranges' in fn ? (fn as FunctionInstance).die : (fn as Die);
    return this.children(die).filter((c) => c.tag === DW_TAG.formal_parameter || c.tag === DW_TAG.variable);
  }

  private variable(c: Die, pc: number, frameDie: Die, depth: number): Variable | undefined {
    const name = this.name(c);
    if (!name) return undefined;
    const type = this.typeOf(c);
    return {
      name, die: c, kind: c.tag === DW_TAG.formal_parameter ? 'parameter' : 'local', type,
      typeName: this.types.name(type), location: this.locationAt(c, pc, frameDie), scopeDepth: depth,
    };
  }
}

function readU32(b: Uint8Array, p: number): number {
  return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 0x1000000;
}

/** The forms str() reads a string from. */
function isStrForm(form: number): boolean {
  return form === DW_FORM.string || form === DW_FORM.strp || form === DW_FORM.line_strp || form === DW_FORM.strx || form === DW_FORM.strx1
    || form === DW_FORM.strx2 || form === DW_FORM.strx3 || form === DW_FORM.strx4 || form === DW_FORM.GNU_str_index;
}

/** Whether an abbreviation gives its DIE code (DW_AT_low_pc or DW_AT_ranges). */
export function hasCode(ab: Abbrev): boolean {
  for (const a of ab.attrs) if (a.at === DW_AT.low_pc || a.at === DW_AT.ranges) return true;
  return false;
}

function pickLoc(list: readonly LocEntry[], pc: number): Uint8Array | undefined {
  let dflt: Uint8Array | undefined;
  for (const e of list) {
    if (e.isDefault) { dflt = e.expr; continue; }
    if (pc >= e.low && pc < e.high) return e.expr;
  }
  return dflt;
}

function fileMatches(path: string, want: string): boolean {
  if (path === want) return true;
  if (want.startsWith('/')) return false;
  return path.endsWith('/' + want);
}

export { DwarfError };
