// One error type for every malformed-input case in the DWARF reader (gimli's `read::Error` idea):
// it names the section and the byte offset where decoding went wrong, so a bad vmlinux gives a
// precise message instead of a TypeError/RangeError from deep inside a parser.

export type SectionName =
  | '.debug_abbrev' | '.debug_info' | '.debug_str' | '.debug_line_str' | '.debug_str_offsets'
  | '.debug_addr' | '.debug_rnglists' | '.debug_ranges' | '.debug_loclists' | '.debug_loc'
  | '.debug_line' | '.debug_frame' | '.eh_frame' | '.debug_aranges' | 'expression';

export class DwarfError extends Error {
  override readonly name = 'DwarfError';
  constructor(readonly section: SectionName, readonly offset: number, readonly reason: string) {
    super(`${section}+0x${offset.toString(16)}: ${reason}`);
  }
}

/** Throws a DwarfError; `never` lets callers use it in expressions. */
export function fail(section: SectionName, offset: number, reason: string): never {
  throw new DwarfError(section, offset, reason);
}
