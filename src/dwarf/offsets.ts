// Branded offset types (gimli's DebugInfoOffset, DebugLineOffset, ...): a number that remembers which
// section it points into, so a .debug_line offset can't be passed where a .debug_info one is expected.

declare const brand: unique symbol;
type Branded<B extends string> = number & { readonly [brand]: B };

export type DebugInfoOffset = Branded<'debug_info'>;
export type DebugAbbrevOffset = Branded<'debug_abbrev'>;
export type DebugLineOffset = Branded<'debug_line'>;
export type DebugStrOffset = Branded<'debug_str'>;
export type DebugLineStrOffset = Branded<'debug_line_str'>;
export type DebugAddrBase = Branded<'debug_addr_base'>;
export type DebugStrOffsetsBase = Branded<'debug_str_offsets_base'>;
export type DebugRngListsOffset = Branded<'debug_rnglists'>;
export type DebugRangesOffset = Branded<'debug_ranges'>;
export type DebugLocListsOffset = Branded<'debug_loclists'>;
export type DebugLocOffset = Branded<'debug_loc'>;
export type DebugFrameOffset = Branded<'debug_frame'>;

export const infoOffset = (n: number) => n as DebugInfoOffset;
export const abbrevOffset = (n: number) => n as DebugAbbrevOffset;
export const lineOffset = (n: number) => n as DebugLineOffset;
