// The real-kernel unit: fs/read_write.c's compile unit cut out of Debian's 6.1 vmlinux by slice-unit.mjs
// (read_write.json says from which package and build-id), a standalone ELF of about 290 KB with its code,
// symbols and DWARF 5. The input of the ELF loader's and the DWARF reader's fuzz tests.
import { readFileSync } from 'node:fs';
import { brotliDecompressSync } from 'node:zlib';

export const REAL_UNIT = new URL('../../../../test/elf/real/read_write.elf.br', import.meta.url);
export const REAL_UNIT_META = JSON.parse(readFileSync(new URL('../../../../test/elf/real/read_write.json', import.meta.url), 'utf8')) as {
  unit: string; from: string; buildId: string; elfSize: number; sections: Record<string, number>;
};

let bytes: Uint8Array | undefined;
export function realUnitBytes(): Uint8Array { return (bytes ??= new Uint8Array(brotliDecompressSync(readFileSync(REAL_UNIT)))); }

/** The functions of the unit that kprobe users probe (all defined in fs/read_write.c). */
export const UNIT_FUNCTIONS = ['vfs_read', 'vfs_write', 'ksys_read', 'rw_verify_area', 'do_iter_read', 'vfs_llseek', 'generic_file_llseek', 'do_sendfile'];
