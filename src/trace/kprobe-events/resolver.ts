// What the kprobe_events parser needs to know about kernel symbols, and nothing more: the checks
// trace_kprobe.c makes while parsing (validate_probe_symbol, kprobe_on_func_entry). Resolution of
// @SYM fetch arguments happens at registration (resolveSymbolArg), as in the kernel.

export interface SymbolResolver {
  /** kallsyms_lookup_name: the address (signed canonical number) of the first symbol of that name. */
  lookup(name: string): number | undefined;
  /** number_of_same_symbols: how many kallsyms entries carry this name. */
  count(name: string): number;
  /**
   * The arch's on_func_entry answer (arch/x86 arch_adjust_kprobe_addr): is symAddr+offset the
   * function's entry? On x86 that is offset 0, or 0/4 after an ENDBR64.
   */
  isFunctionEntry(symAddr: number, offset: number): boolean;
  /** Is this module loaded? The fixture kernel has none; absent means no modules. */
  hasModule?(name: string): boolean;
}

/** The slice of src/elf's Image the adapter uses (structural, so tests can fake it). */
export interface ImageLike {
  lookupName(name: string): number | undefined;
  /** number_of_same_symbols over /proc/kallsyms (Kallsyms.count). */
  kallsyms: { count(name: string): number };
  read(addr: number, len: number): Uint8Array | undefined;
}

/** A resolver over an ELF Image (kallsyms names, ENDBR64 detection from the image bytes). */
export function imageResolver(image: ImageLike): SymbolResolver {
  return {
    lookup: (name) => image.lookupName(name),
    count: (name) => image.kallsyms.count(name),
    isFunctionEntry(symAddr, offset) {
      const b = image.read(symAddr, 4);
      const endbr = b !== undefined && b[0] === 0xf3 && b[1] === 0x0f && b[2] === 0x1e && b[3] === 0xfa;
      return endbr ? offset === 0 || offset === 4 : offset === 0;
    },
  };
}
