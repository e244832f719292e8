// elfy ships no types; this describes the parts src/elf/elf-file.ts uses.
declare module 'elfy' {
  interface ElfySection {
    name: string; type: string | number; flags: Record<string, boolean>;
    addr: number; off: number; size: number; link: number; info: number;
    addralign: number; entsize: number; data: Uint8Array;
  }
  interface ElfyProgram {
    type: string | number; offset: number; vaddr: number; paddr: number;
    filesz: number; memsz: number; flags: Record<string, boolean>; align: number; data: Uint8Array;
  }
  interface ElfyFile {
    class: string; endian: string; type: string; machine: string; entry: number;
    phoff: number; shoff: number; phnum: number; shnum: number; shstrndx: number;
    body: { programs: ElfyProgram[]; sections: ElfySection[] };
  }
  const elfy: { parse(buf: Uint8Array): ElfyFile };
  export default elfy;
}
