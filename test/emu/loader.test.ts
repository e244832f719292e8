import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Memory, PERM_R, PERM_W, PERM_X } from '../../src/emu/memory.js';
import { loadSegments, readLoadSegments, PF_R, PF_W, PF_X } from '../../src/emu/loader.js';
import { EmuError } from '../../src/emu/addr.js';
import { toAddr } from '../../src/base/addr.js';
import { ROOT } from '../../src/paths.js';

const BASE = 0xffffffff81000000n;

test('segments: file bytes copied, bss zeroed, shared pages get the union of permissions', () => {
  const file = new Uint8Array(0x3000);
  file.fill(0xaa, 0x1000, 0x1800); file.fill(0xbb, 0x2000, 0x2100);
  const mem = new Memory();
  loadSegments(mem, [
    { vaddr: BASE, memsz: 0x800, filesz: 0x800, offset: 0x1000, flags: PF_R | PF_X },
    { vaddr: BASE + 0x800n, memsz: 0x1900, filesz: 0x100, offset: 0x2000, flags: PF_R | PF_W },
  ], file);
  const a = toAddr(BASE);
  assert.is(mem.read8(a), 0xaa); assert.is(mem.read8(a + 0x7ff), 0xaa);
  assert.is(mem.read8(a + 0x800), 0xbb); assert.is(mem.read8(a + 0x8ff), 0xbb);
  assert.is(mem.read8(a + 0x900), 0); assert.is(mem.read8(a + 0x20ff), 0);
  assert.is(mem.permsAt(a), PERM_R | PERM_X | PERM_W);
  assert.is(mem.permsAt(a + 0x1000), PERM_R | PERM_W);
  assert.is(mem.permsAt(a + 0x3000), 0);
  assert.throws(() => loadSegments(new Memory(), [{ vaddr: BASE, memsz: 0x10, filesz: 0x20, offset: 0, flags: PF_R }], file), (e: unknown) => e instanceof EmuError);
});

test('readLoadSegments reads the fixture kernel program headers exactly', () => {
  const p = join(ROOT, 'fixtures', 'vmlinux');
  if (!existsSync(p)) { console.log('SKIP fixture program headers: fixtures/vmlinux is missing'); return; }
  const file = new Uint8Array(readFileSync(p));
  const { entry, segments } = readLoadSegments(file);
  assert.is(entry, BASE);
  assert.is(segments[0].vaddr, BASE);
  assert.ok(segments[0].flags & PF_X);
  const mem = new Memory();
  loadSegments(mem, segments, file);
  assert.equal(mem.readBytes(toAddr(BASE), 16), file.subarray(segments[0].offset, segments[0].offset + 16));
  assert.throws(() => readLoadSegments(new Uint8Array(64)), (e: unknown) => e instanceof EmuError);
});

test.run();
