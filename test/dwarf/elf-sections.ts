// Test scaffolding: a tiny exact ELF64 little-endian section reader (the real ELF layer is src/elf, which
// src/dwarf must not depend on). Returns each section's bytes and address by name.
export interface ElfSection { readonly name: string; readonly addr: number; readonly bytes: Uint8Array }

export function elfSections(file: Uint8Array): Map<string, ElfSection> {
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (dv.getUint32(0) !== 0x7f454c46 || file[4] !== 2 || file[5] !== 1) throw new Error('not an ELF64 little-endian file');
  const shoff = Number(dv.getBigUint64(0x28, true));
  const shentsize = dv.getUint16(0x3a, true), shnum = dv.getUint16(0x3c, true), shstrndx = dv.getUint16(0x3e, true);
  const hdr = (i: number) => {
    const o = shoff + i * shentsize;
    return {
      name: dv.getUint32(o, true), type: dv.getUint32(o + 4, true),
      addr: Number(BigInt.asIntN(64, dv.getBigUint64(o + 0x10, true))),
      offset: Number(dv.getBigUint64(o + 0x18, true)), size: Number(dv.getBigUint64(o + 0x20, true)),
    };
  };
  const strtab = hdr(shstrndx);
  const out = new Map<string, ElfSection>();
  for (let i = 1; i < shnum; i++) {
    const h = hdr(i);
    let e = strtab.offset + h.name;
    while (file[e] !== 0) e++;
    const name = new TextDecoder().decode(file.subarray(strtab.offset + h.name, e));
    const bytes = h.type === 8 /* SHT_NOBITS */ ? new Uint8Array(0) : file.subarray(h.offset, h.offset + h.size);
    out.set(name, { name, addr: h.addr, bytes });
  }
  return out;
}
