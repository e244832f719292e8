import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildBootParams, E820_ENTRY_SIZE, E820_RAM, ZP } from '../../../src/kernel/linux/bootparams.js';
import { bundledLinuxPath, LINUX_FIXTURE_DIR } from '../../../src/kernel/linux/bundle.js';

test('the zero page: header identity, loader, command line, initrd and e820 where boot.rst puts them', () => {
  const b = buildBootParams({
    cmdlinePhys: 0x20000, cmdlineLength: 2048, initrd: { phys: 0x3fd5000, size: 0x2a00 },
    e820: [{ addr: 0, size: 0x9fc00, type: E820_RAM }, { addr: 0x100000, size: 0x3f00000, type: E820_RAM }],
  });
  const v = new DataView(b.buffer);
  assert.is(b.length, 4096);
  assert.is(v.getUint16(ZP.boot_flag, true), 0xaa55);
  assert.is(Buffer.from(b.subarray(ZP.header, ZP.header + 4)).toString('latin1'), 'HdrS');
  assert.ok(b[ZP.type_of_loader] !== 0, 'a non-zero loader type, or the initrd is ignored');
  assert.is(v.getUint32(ZP.cmd_line_ptr, true), 0x20000);
  assert.is(v.getUint32(ZP.ramdisk_image, true), 0x3fd5000);
  assert.is(v.getUint32(ZP.ramdisk_size, true), 0x2a00);
  assert.is(b[ZP.e820_entries], 2);
  assert.is(v.getBigUint64(ZP.e820_table + E820_ENTRY_SIZE, true), 0x100000n);
  assert.is(v.getBigUint64(ZP.e820_table + E820_ENTRY_SIZE + 8, true), 0x3f00000n);
  assert.is(v.getUint32(ZP.e820_table + E820_ENTRY_SIZE + 16, true), E820_RAM);
  assert.is(b[ZP.sentinel], 0, 'sentinel 0: the kernel keeps the fields we set');
});

// Oracle: the offsets in the kernel's own DWARF, as pahole prints them.
test('ZP offsets agree with struct boot_params / setup_header in the bundled Linux DWARF (pahole)', () => {
  if (!existsSync(join(LINUX_FIXTURE_DIR, 'vmlinux.br'))) { console.log('SKIP fixtures/linux/vmlinux.br not built yet'); return; }
  let have = true;
  try { execFileSync('pahole', ['--version'], { stdio: 'ignore' }); } catch { have = false; }
  if (!have) { console.log('SKIP pahole (dwarves) is not installed: boot_params offsets not checked against the DWARF'); return; }
  const path = bundledLinuxPath();
  const offsets = (struct: string) => {
    const out = execFileSync('pahole', ['-C', struct, path], { encoding: 'utf8' });
    const m = new Map<string, number>();
    for (const line of out.split('\n')) {
      const x = /\s(\w+)(?:\[\w*\])*;\s+\/\*\s+(\d+)\s/.exec(line);
      if (x) m.set(x[1]!, Number(x[2]));
    }
    return m;
  };
  const bp = offsets('boot_params'), hdr = offsets('setup_header');
  for (const [name, off] of Object.entries(ZP)) {
    if (name === 'size') continue;
    const want = bp.get(name) ?? (hdr.has(name) ? bp.get('hdr')! + hdr.get(name)! : undefined);
    assert.is(off, want, name);
  }
});

test.run();
