// Tiny exact ELF64 symbol-table reader for the emulator tests (src/elf is the real one; the emulator
// tests stay independent of it). Returns name -> st_value for every named symbol.
export interface ElfSym { name: string; value: bigint; size: number; func: boolean; }
export function elfSymbols(file: Uint8Array): Map<string, bigint> {
  return new Map(elfSymbolList(file).map((s) => [s.name, s.value]));
}
export function elfSymbolList(file: Uint8Array): ElfSym[] {
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const shoff = Number(dv.getBigUint64(40, true)), shentsize = dv.getUint16(58, true), shnum = dv.getUint16(60, true);
  const sec = (i: number) => {
    const o = shoff + i * shentsize;
    return { type: dv.getUint32(o + 4, true), offset: Number(dv.getBigUint64(o + 24, true)), size: Number(dv.getBigUint64(o + 32, true)), link: dv.getUint32(o + 40, true), entsize: Number(dv.getBigUint64(o + 56, true)) };
  };
  const out: ElfSym[] = [];
  for (let i = 0; i < shnum; i++) {
    const s = sec(i);
    if (s.type !== 2) continue; // SHT_SYMTAB
    const str = sec(s.link);
    for (let o = s.offset; o < s.offset + s.size; o += s.entsize) {
      const nameOff = dv.getUint32(o, true);
      if (!nameOff) continue;
      let e = str.offset + nameOff;
      let name = '';
      while (file[e]) name += String.fromCharCode(file[e++]);
      out.push({ name, value: dv.getBigUint64(o + 8, true), size: Number(dv.getBigUint64(o + 16, true)), func: (file[o + 4] & 15) === 2 });
    }
  }
  return out;
}
