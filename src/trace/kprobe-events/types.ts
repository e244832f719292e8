// The fetch types table (kernel/trace/trace_probe.c probe_fetch_types, find_fetch_type): name,
// stored size, signedness, the print format and the name the event's format file shows.
export type TypeName =
  | 'u8' | 'u16' | 'u32' | 'u64' | 's8' | 's16' | 's32' | 's64' | 'x8' | 'x16' | 'x32' | 'x64'
  | 'char' | 'symbol' | 'string' | 'ustring' | 'symstr';

export interface FetchType {
  name: TypeName;
  /** Bytes in the event record (strings store a u32 __data_loc). */
  size: 1 | 2 | 4 | 8;
  signed: boolean;
  /** A string type (stored out of line as __data_loc). */
  isString: boolean;
  /** The print format (PRINT_TYPE_FMT_NAME), as the event's print fmt shows it. */
  fmt: string;
  /** The field type in the event's format file. */
  fmttype: string;
}

const t = (name: TypeName, size: 1 | 2 | 4 | 8, signed: boolean, fmt: string, fmttype: string, isString = false): FetchType =>
  ({ name, size, signed, isString, fmt, fmttype });

export const FETCH_TYPES: Readonly<Record<TypeName, FetchType>> = {
  string: t('string', 4, true, '\\"%s\\"', '__data_loc char[]', true),
  ustring: t('ustring', 4, true, '\\"%s\\"', '__data_loc char[]', true),
  symstr: t('symstr', 4, true, '\\"%s\\"', '__data_loc char[]', true),
  u8: t('u8', 1, false, '%u', 'u8'),
  u16: t('u16', 2, false, '%u', 'u16'),
  u32: t('u32', 4, false, '%u', 'u32'),
  u64: t('u64', 8, false, '%Lu', 'u64'),
  s8: t('s8', 1, true, '%d', 's8'),
  s16: t('s16', 2, true, '%d', 's16'),
  s32: t('s32', 4, true, '%d', 's32'),
  s64: t('s64', 8, true, '%Ld', 's64'),
  x8: t('x8', 1, false, '0x%x', 'u8'),
  x16: t('x16', 2, false, '0x%x', 'u16'),
  x32: t('x32', 4, false, '0x%x', 'u32'),
  x64: t('x64', 8, false, '0x%Lx', 'u64'),
  char: t('char', 1, false, "'%c'", 'u8'),
  symbol: t('symbol', 8, false, '%pS', 'u64'),
};

/** The type of an argument written without ":TYPE" (DEFAULT_FETCH_TYPE: x64 on a 64-bit kernel). */
export const DEFAULT_TYPE = FETCH_TYPES.x64;

/**
 * find_fetch_type: a type name, or a bitfield "b<width>@<offset>/<size>" whose container size picks
 * u8/u16/u32/u64. undefined for anything else.
 */
export function findFetchType(name: string | undefined): FetchType | undefined {
  if (name === undefined) return DEFAULT_TYPE;
  if (name[0] === 'b') {
    const slash = name.indexOf('/');
    if (slash < 0) return undefined;
    const sizeText = name.slice(slash + 1);
    const n = parseContainerSize(sizeText);
    switch (n) {
      case 8n: return FETCH_TYPES.u8;
      case 16n: return FETCH_TYPES.u16;
      case 32n: return FETCH_TYPES.u32;
      case 64n: return FETCH_TYPES.u64;
      default: return undefined;
    }
  }
  return Object.prototype.hasOwnProperty.call(FETCH_TYPES, name) ? FETCH_TYPES[name as TypeName] : undefined;
}

import { kstrtoul } from './numbers.js';
function parseContainerSize(s: string): bigint | undefined {
  const r = kstrtoul(s, 0);
  return r.ok ? r.value : undefined;
}
