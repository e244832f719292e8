// The type graph (DWARF 5 §5): C names as gdb/perf print them (`struct file *`, `const char *`), sizes,
// signedness and member lookup for `file->f_pos` chains. Works on DIEs through a small resolver interface
// so it knows nothing about sections.
import { DW_AT, DW_ATE, DW_TAG } from './constants.js';
import type { Die } from './unit.js';

export interface TypeResolver {
  readonly addrSize: number;
  ref(die: Die, at: number): Die | undefined;
  str(die: Die, at: number): string | undefined;
  udata(die: Die, at: number): number | undefined;
  sdata(die: Die, at: number): number | undefined;
  bound(die: Die, at: number): number | undefined;
  has(die: Die, at: number): boolean;
  /** DW_AT_data_member_location as a constant (also the DWARF 2 DW_OP_plus_uconst form). */
  memberOffset(die: Die): number | undefined;
  children(die: Die): Die[];
}

const MAX_CHAIN = 64; // typedef/cv chains longer than this are cycles in malformed input

export type ScalarKind =
  | { readonly kind: 'int'; readonly bytes: number; readonly signed: boolean; readonly isChar: boolean; readonly isBool: boolean }
  | { readonly kind: 'float'; readonly bytes: number }
  | { readonly kind: 'pointer'; readonly bytes: number; readonly pointee: Die | undefined }
  | { readonly kind: 'enum'; readonly bytes: number; readonly signed: boolean }
  | { readonly kind: 'aggregate'; readonly bytes: number | undefined; readonly tag: number }
  | { readonly kind: 'void' };

export interface Member {
  readonly name: string;
  readonly die: Die;
  readonly type: Die | undefined;
  /** Byte offset from the start of the outermost structure (anonymous members already added in). */
  readonly offset: number;
  /** For bitfields: width and bit offset from the start of the containing structure (DW_AT_data_bit_offset). */
  readonly bitSize?: number;
  readonly bitOffset?: number;
}

export class TypeGraph {
  constructor(private readonly r: TypeResolver) {}

  /** Strips typedefs and const/volatile/restrict/atomic qualifiers. */
  strip(t: Die | undefined): Die | undefined {
    for (let i = 0; t && i < MAX_CHAIN; i++) {
      if (t.tag === DW_TAG.typedef || t.tag === DW_TAG.const_type || t.tag === DW_TAG.volatile_type
        || t.tag === DW_TAG.restrict_type || t.tag === DW_TAG.atomic_type) t = this.r.ref(t, DW_AT.type);
      else return t;
    }
    return t && isQualifier(t.tag) ? undefined : t;
  }

  /** Size in bytes, or undefined for void / incomplete types. */
  size(t: Die | undefined, depth = 0): number | undefined {
    if (!t || depth > MAX_CHAIN) return undefined;
    const bs = this.r.udata(t, DW_AT.byte_size);
    if (bs !== undefined) return bs;
    switch (t.tag) {
      case DW_TAG.pointer_type: case DW_TAG.reference_type: case DW_TAG.rvalue_reference_type: return this.r.addrSize;
      case DW_TAG.typedef: case DW_TAG.const_type: case DW_TAG.volatile_type: case DW_TAG.restrict_type:
      case DW_TAG.atomic_type: case DW_TAG.enumeration_type:
        return this.size(this.r.ref(t, DW_AT.type), depth + 1);
      case DW_TAG.array_type: {
        const el = this.size(this.r.ref(t, DW_AT.type), depth + 1);
        if (el === undefined) return undefined;
        let n = 1;
        for (const d of this.dimensions(t)) { if (d === undefined) return undefined; n *= d; }
        return n * el;
      }
      default: return undefined;
    }
  }

  /** Element counts of an array type's dimensions (undefined = flexible/unknown). */
  dimensions(t: Die): (number | undefined)[] {
    const dims: (number | undefined)[] = [];
    for (const c of this.r.children(t)) {
      if (c.tag !== DW_TAG.subrange_type && c.tag !== DW_TAG.enumeration_type) continue;
      const count = this.r.udata(c, DW_AT.count);
      if (count !== undefined) { dims.push(count); continue; }
      const ub = this.r.bound(c, DW_AT.upper_bound);
      const lb = this.r.bound(c, DW_AT.lower_bound) ?? 0;
      dims.push(ub === undefined ? undefined : ub - lb + 1);
    }
    return dims;
  }

  /** What a probe fetch needs to know about a value of this type. */
  scalarKind(type: Die | undefined): ScalarKind {
    const t = this.strip(type);
    if (!t) return { kind: 'void' };
    const bytes = this.size(t);
    switch (t.tag) {
      case DW_TAG.base_type: {
        const enc = this.r.udata(t, DW_AT.encoding) ?? 0;
        if (enc === DW_ATE.float || enc === DW_ATE.complex_float) return { kind: 'float', bytes: bytes ?? 0 };
        const signed = enc === DW_ATE.signed || enc === DW_ATE.signed_char;
        return {
          kind: 'int', bytes: bytes ?? 0, signed,
          isChar: enc === DW_ATE.signed_char || enc === DW_ATE.unsigned_char || enc === DW_ATE.UTF,
          isBool: enc === DW_ATE.boolean,
        };
      }
      case DW_TAG.pointer_type: case DW_TAG.reference_type: case DW_TAG.rvalue_reference_type:
        return { kind: 'pointer', bytes: bytes ?? this.r.addrSize, pointee: this.r.ref(t, DW_AT.type) };
      case DW_TAG.enumeration_type: {
        const under = this.r.ref(t, DW_AT.type);
        let signed: boolean;
        if (under) { const k = this.scalarKind(under); signed = k.kind === 'int' && k.signed; }
        else signed = this.r.children(t).some((e) => (this.r.sdata(e, DW_AT.const_value) ?? 0) < 0);
        return { kind: 'enum', bytes: bytes ?? 4, signed };
      }
      default: return { kind: 'aggregate', bytes, tag: t.tag };
    }
  }

  /** The type's C spelling, as gdb's `ptype`/perf's `-V` show it. */
  name(t: Die | undefined): string {
    return this.declarator(t, '', 0).trim();
  }

  /** C declarator printing: `inner` is what goes where the declared name would be. */
  private declarator(t: Die | undefined, inner: string, depth: number): string {
    if (depth > MAX_CHAIN) return `<cycle>${inner}`;
    if (!t) return `void${inner ? ' ' + inner.trimStart() : ''}`.replace(/ \(/, ' (');
    const named = (prefix: string) => {
      const n = this.r.str(t, DW_AT.name);
      const base = n ? `${prefix}${n}` : `${prefix}<anonymous>`;
      return inner ? `${base} ${inner.trimStart()}` : base;
    };
    switch (t.tag) {
      case DW_TAG.base_type: case DW_TAG.typedef: case DW_TAG.unspecified_type: return named('');
      case DW_TAG.structure_type: return named('struct ');
      case DW_TAG.union_type: return named('union ');
      case DW_TAG.enumeration_type: return named('enum ');
      case DW_TAG.class_type: return named('class ');
      case DW_TAG.pointer_type: case DW_TAG.reference_type: case DW_TAG.rvalue_reference_type: {
        const star = t.tag === DW_TAG.pointer_type ? '*' : t.tag === DW_TAG.reference_type ? '&' : '&&';
        const target = this.r.ref(t, DW_AT.type);
        const needsParens = target && (target.tag === DW_TAG.subroutine_type || target.tag === DW_TAG.array_type);
        return this.declarator(target, needsParens ? `(${star}${inner.trimStart()})` : `${star}${inner.trimStart()}`, depth + 1);
      }
      case DW_TAG.const_type: case DW_TAG.volatile_type: case DW_TAG.restrict_type: case DW_TAG.atomic_type: {
        const q = t.tag === DW_TAG.const_type ? 'const' : t.tag === DW_TAG.volatile_type ? 'volatile' : t.tag === DW_TAG.restrict_type ? 'restrict' : '_Atomic';
        const target = this.r.ref(t, DW_AT.type);
        const st = target && this.peelQualifiers(target, depth + 1);
        if (st && (st.tag === DW_TAG.pointer_type)) return this.declarator(target, ` ${q}${inner ? ' ' + inner.trimStart() : ''}`, depth + 1);
        // `const char`: qualifier in front of the base type.
        const rest = this.declarator(target, inner, depth + 1);
        return `${q} ${rest}`;
      }
      case DW_TAG.array_type: {
        const dims = this.dimensions(t).map((d) => `[${d ?? ''}]`).join('') || '[]';
        const core = inner ? `${inner.trimStart()}${dims}` : dims;
        return this.declarator(this.r.ref(t, DW_AT.type), inner ? core : ` ${core}`, depth + 1).replace(/  +/g, ' ');
      }
      case DW_TAG.subroutine_type: {
        const params: string[] = [];
        for (const c of this.r.children(t)) {
          if (c.tag === DW_TAG.formal_parameter) params.push(this.declarator(this.r.ref(c, DW_AT.type), '', depth + 1).trim());
          else if (c.tag === DW_TAG.unspecified_parameters) params.push('...');
        }
        const proto = this.r.has(t, DW_AT.prototyped);
        const plist = params.length ? params.join(', ') : proto ? 'void' : '';
        return this.declarator(this.r.ref(t, DW_AT.type), `${inner.trimStart()}(${plist})`, depth + 1);
      }
      default: return named('');
    }
  }

  private peelQualifiers(t: Die, depth: number): Die | undefined {
    let cur: Die | undefined = t;
    for (let i = depth; cur && i < MAX_CHAIN && isQualifier(cur.tag); i++) cur = this.r.ref(cur, DW_AT.type);
    return cur;
  }

  /** Members of a struct/union (after stripping typedefs), in declaration order, anonymous ones unflattened. */
  members(type: Die | undefined): Member[] {
    const t = this.strip(type);
    if (!t || (t.tag !== DW_TAG.structure_type && t.tag !== DW_TAG.union_type && t.tag !== DW_TAG.class_type)) return [];
    const out: Member[] = [];
    for (const c of this.r.children(t)) {
      if (c.tag !== DW_TAG.member) continue;
      const mt = this.r.ref(c, DW_AT.type);
      const offset = this.r.memberOffset(c) ?? 0;
      const bitSize = this.r.udata(c, DW_AT.bit_size);
      let m: Member = { name: this.r.str(c, DW_AT.name) ?? '', die: c, type: mt, offset };
      if (bitSize !== undefined) {
        let bitOffset = this.r.udata(c, DW_AT.data_bit_offset);
        if (bitOffset === undefined) {
          // DWARF 2-4 DW_AT_bit_offset counts from the most significant bit of the storage unit
          // (DW_AT_byte_size, default: the member type's size); on little-endian x86-64 that converts as below.
          const unitBytes = this.r.udata(c, DW_AT.byte_size) ?? this.size(mt) ?? 0;
          const legacy = this.r.udata(c, DW_AT.bit_offset) ?? 0;
          bitOffset = offset * 8 + unitBytes * 8 - legacy - bitSize;
        }
        m = { ...m, offset: Math.floor(bitOffset / 8), bitSize, bitOffset };
      }
      out.push(m);
    }
    return out;
  }

  /** Finds a member by name, looking through anonymous struct/union members (C11). Offsets are cumulative. */
  member(type: Die | undefined, name: string, depth = 0): Member | undefined {
    if (depth > MAX_CHAIN) return undefined;
    for (const m of this.members(type)) {
      if (m.name === name) return m;
      if (m.name === '') {
        const inner = this.member(m.type, name, depth + 1);
        if (inner) {
          return {
            ...inner, offset: m.offset + inner.offset,
            ...(inner.bitOffset !== undefined ? { bitOffset: inner.bitOffset + m.offset * 8 } : {}),
          };
        }
      }
    }
    return undefined;
  }

  /** Element type and dimensions of an array type (after typedefs). */
  array(type: Die | undefined): ArrayInfo | undefined {
    const t = this.strip(type);
    if (!t || t.tag !== DW_TAG.array_type) return undefined;
    const element = this.r.ref(t, DW_AT.type);
    return { element, elementSize: this.size(element), dims: this.dimensions(t) };
  }

  /** Enumerators of an enum type as [name, value]. */
  enumerators(type: Die | undefined): [string, number][] {
    const t = this.strip(type);
    if (!t || t.tag !== DW_TAG.enumeration_type) return [];
    return this.r.children(t).filter((c) => c.tag === DW_TAG.enumerator)
      .map((c) => [this.r.str(c, DW_AT.name) ?? '', this.r.sdata(c, DW_AT.const_value) ?? 0]);
  }
}

/** A kprobe_events fetch type (Documentation/trace/kprobetrace.rst "Types"), or why there is none. */
export type FetchType = { readonly ok: true; readonly type: string } | { readonly ok: false; readonly reason: string };

export interface FetchTypeOptions {
  /** `char *` (and arrays of char) as `string`, as perf probe does for `VAR:string`. */
  readonly string?: boolean;
  /** Unsigned integers and pointers as x8..x64 instead of u8..u64. */
  readonly hex?: boolean;
  /**
   * perf probe's rule for everything else (probe-finder.c convert_variable_type): floats, structures,
   * unions and arrays with a DW_AT_byte_size are read as an unsigned number of that size, cut down to
   * 64 bits; without one (GCC gives arrays none) the type is '' (no type: the kernel's default).
   */
  readonly anySized?: boolean;
}

export interface ArrayInfo { readonly element: Die | undefined; readonly elementSize: number | undefined; readonly dims: (number | undefined)[] }

export interface BitfieldFetch {
  /** Byte offset of the container to read, from the start of the structure. */
  readonly offset: number;
  /** `b<width>@<bit offset>/<container bits>`. */
  readonly type: string;
}

export class FetchTypes {
  constructor(private readonly g: TypeGraph, private readonly r: TypeResolver) {}

  /** The fetch type for a value of `type`. */
  of(type: Die | undefined, opts: FetchTypeOptions = {}): FetchType {
    const k = this.g.scalarKind(type);
    const bits = (bytes: number) => bytes * 8;
    const okWidth = (bytes: number) => bytes === 1 || bytes === 2 || bytes === 4 || bytes === 8;
    switch (k.kind) {
      case 'int': case 'enum':
        if (!okWidth(k.bytes)) return { ok: false, reason: `${k.bytes}-byte integers have no fetch type` };
        return { ok: true, type: `${k.signed ? 's' : opts.hex ? 'x' : 'u'}${bits(k.bytes)}` };
      case 'pointer': {
        if (opts.string && this.isChar(k.pointee)) return { ok: true, type: 'string' };
        return { ok: true, type: `${opts.hex ? 'x' : 'u'}${bits(k.bytes)}` };
      }
      case 'void': return { ok: false, reason: 'void has no value' };
      case 'float': {
        if (opts.anySized) return this.sized(type, opts);
        return { ok: false, reason: 'floating-point values have no fetch type' };
      }
      default: {
        const t = this.g.strip(type);
        if (opts.string && t && t.tag === DW_TAG.array_type && this.isChar(this.r.ref(t, DW_AT.type))) return { ok: true, type: 'string' };
        if (opts.anySized) return this.sized(type, opts);
        return { ok: false, reason: 'structures, unions and arrays are not scalar: fetch a member or element' };
      }
    }
  }

  /**
   * perf's size is the DW_AT_byte_size of the type itself (dwarf_bytesize, no sum over an array's
   * elements); without one perf leaves the argument untyped (type ''), the kernel's default.
   */
  private sized(type: Die | undefined, opts: FetchTypeOptions): FetchType {
    const t = this.g.strip(type);
    const bytes = t ? this.r.udata(t, DW_AT.byte_size) : undefined;
    if (!bytes || bytes <= 0) return { ok: true, type: '' };
    return { ok: true, type: `${opts.hex ? 'x' : 'u'}${Math.min(64, bytes * 8)}` };
  }

  /** How to fetch a bitfield member: read its container and extract the bits. */
  bitfield(m: Member): BitfieldFetch | undefined {
    if (m.bitSize === undefined || m.bitOffset === undefined) return undefined;
    const bytes = this.g.size(m.type) ?? 4;
    const start = Math.floor(m.bitOffset / (bytes * 8)) * bytes;
    return { offset: start, type: `b${m.bitSize}@${m.bitOffset - start * 8}/${bytes * 8}` };
  }

  private isChar(t: Die | undefined): boolean {
    const k = this.g.scalarKind(t);
    return k.kind === 'int' && k.isChar && k.bytes === 1;
  }
}

function isQualifier(tag: number): boolean {
  return tag === DW_TAG.const_type || tag === DW_TAG.volatile_type || tag === DW_TAG.restrict_type || tag === DW_TAG.atomic_type;
}
