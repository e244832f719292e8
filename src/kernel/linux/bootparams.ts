// struct boot_params (the "zero page") for the x86 64-bit boot protocol: Documentation/x86/boot.rst
// and zero-page.rst, arch/x86/include/uapi/asm/bootparam.h. Only what a loader that enters
// startup_64 directly must fill: the setup header's identity and loader fields, the command line,
// the initrd and the e820 memory map. The offsets are checked against the kernel's own DWARF in
// test/kernel/linux/bootparams.test.ts.

/** Byte offsets in struct boot_params. */
export const ZP = {
  ext_ramdisk_image: 0x0c0, ext_ramdisk_size: 0x0c4, ext_cmd_line_ptr: 0x0c8,
  e820_entries: 0x1e8, sentinel: 0x1ef,
  hdr: 0x1f1,
  setup_sects: 0x1f1, boot_flag: 0x1fe, header: 0x202, version: 0x206,
  type_of_loader: 0x210, loadflags: 0x211, ramdisk_image: 0x218, ramdisk_size: 0x21c,
  cmd_line_ptr: 0x228, initrd_addr_max: 0x22c, cmdline_size: 0x238,
  e820_table: 0x2d0,
  size: 0x1000,
} as const;

export const E820_ENTRY_SIZE = 20;
/** E820_MAX_ENTRIES_ZEROPAGE */
export const E820_MAX = 128;
export const E820_RAM = 1, E820_RESERVED = 2;

export interface E820Entry { addr: number; size: number; type: number }

export interface BootParamsInput {
  /** Physical address of the NUL-terminated command line. */
  cmdlinePhys: number;
  cmdlineLength: number;
  initrd?: { phys: number; size: number };
  e820: E820Entry[];
}

/** The 4 KiB zero page. */
export function buildBootParams(p: BootParamsInput): Uint8Array {
  if (p.e820.length > E820_MAX) throw new RangeError(`at most ${E820_MAX} e820 entries`);
  const b = new Uint8Array(ZP.size);
  const v = new DataView(b.buffer);
  v.setUint16(ZP.boot_flag, 0xaa55, true);
  v.setUint32(ZP.header, 0x53726448, true); // "HdrS"
  v.setUint16(ZP.version, 0x020f, true);    // boot protocol 2.15 (Linux 6.1 speaks it)
  b[ZP.type_of_loader] = 0xff;              // "undefined" loader: non-zero, so the initrd is honoured
  b[ZP.loadflags] = 0x01;                   // LOADED_HIGH: the kernel is at 0x100000 or above
  v.setUint32(ZP.initrd_addr_max, 0x7fffffff, true);
  v.setUint32(ZP.cmd_line_ptr, p.cmdlinePhys >>> 0, true);
  v.setUint32(ZP.ext_cmd_line_ptr, Math.floor(p.cmdlinePhys / 2 ** 32), true);
  v.setUint32(ZP.cmdline_size, p.cmdlineLength, true);
  if (p.initrd) {
    v.setUint32(ZP.ramdisk_image, p.initrd.phys >>> 0, true);
    v.setUint32(ZP.ext_ramdisk_image, Math.floor(p.initrd.phys / 2 ** 32), true);
    v.setUint32(ZP.ramdisk_size, p.initrd.size >>> 0, true);
    v.setUint32(ZP.ext_ramdisk_size, Math.floor(p.initrd.size / 2 ** 32), true);
  }
  b[ZP.e820_entries] = p.e820.length;
  p.e820.forEach((e, i) => {
    const o = ZP.e820_table + i * E820_ENTRY_SIZE;
    v.setBigUint64(o, BigInt(e.addr), true);
    v.setBigUint64(o + 8, BigInt(e.size), true);
    v.setUint32(o + 16, e.type, true);
  });
  return b;
}
