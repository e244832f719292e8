import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Memory, PERM_R, PERM_W, PERM_X, PERM_U, PAGE_PROBE, PF_P, PF_W, PF_U, PF_I } from '../../src/emu/memory.js';
import { VEC_GP, VEC_PF } from '../../src/base/x86.js';
import { EmuError } from '../../src/emu/addr.js';
import { toAddr } from '../../src/base/addr.js';
import { faultOf } from './util.js';

const K = toAddr(0xffff888000000000n);

function mem(): Memory { const m = new Memory(); m.map(K, 0x3000, PERM_R | PERM_W); return m; }

test('map: zero-filled pages with permissions; unmap removes them', () => {
  const m = mem();
  assert.is(m.permsAt(K), PERM_R | PERM_W);
  assert.is(m.permsAt(K + 0x2fff), PERM_R | PERM_W);
  assert.is(m.permsAt(K + 0x3000), 0);
  assert.is(m.read64(K + 8), 0n);
  m.unmap(K + 0x1000, 0x1000);
  assert.is(m.permsAt(K + 0x1000), 0);
  assert.throws(() => m.read8(K + 0x1000), (e: unknown) => e instanceof EmuError);
  assert.throws(() => m.map(K + 1, 0x1000, PERM_R), /page-aligned/);
});

test('host accessors: little-endian, 64-bit as bigint, across page boundaries', () => {
  const m = mem();
  m.write64(K + 0xffc, 0x1122334455667788n);
  assert.is(m.read32(K + 0xffc), 0x55667788);
  assert.is(m.read32(K + 0x1000), 0x11223344);
  assert.is(m.read64(K + 0xffc), 0x1122334455667788n);
  assert.is(m.read16(K + 0xfff), 0x4455);
  m.write64(K, -1n);
  assert.is(m.read64(K), 0xffffffffffffffffn);
  m.writeBytes(K + 0x1ffe, new TextEncoder().encode('hi there\0'));
  assert.is(m.readCString(K + 0x1ffe, 64), 'hi there');
  assert.is(m.readCString(K + 0x1ffe, 2), 'hi');
  // a host write to an unmapped range fails before changing anything
  assert.throws(() => m.writeBytes(K + 0x2ffe, new Uint8Array([1, 2, 3, 4])), (e: unknown) => e instanceof EmuError);
  assert.is(m.read16(K + 0x2ffe), 0);
});

test('guest reads and writes: every width, aligned and unaligned, across pages', () => {
  const m = mem();
  m.w64(K + 0xffd, 0xdeadbeef, 0x01234567);
  assert.is(m.r64(K + 0xffd), 0xdeadbeef); assert.is(m.hi, 0x01234567);
  assert.is(m.r32(K + 0xfff), 0x4567dead);
  assert.is(m.read64(K + 0xffd), 0x01234567deadbeefn);
  m.w16(K + 0xfff, 0xabcd);
  assert.is(m.r8(K + 0xfff), 0xcd); assert.is(m.r8(K + 0x1000), 0xab);
  assert.is(m.r16(K + 0xfff), 0xabcd);
  m.w32(K + 6, 0xffffffff);
  assert.is(m.r32(K + 6), 0xffffffff);
  m.w8(K + 1, 0x1ff);
  assert.is(m.r8(K + 1), 0xff);
});

test('#PF error codes: not present, write to read-only, user to supervisor, fetch from NX; CR2 = address', () => {
  const m = mem();
  m.map(K + 0x10000, 0x1000, PERM_R);
  m.map(K + 0x20000, 0x1000, PERM_R | PERM_W | PERM_U);
  let f = faultOf(m.cur, () => m.r32(K + 0x5000));
  assert.equal(f, { vector: VEC_PF, err: 0, addr: K + 0x5000 });
  assert.is(m.cur.cr2, K + 0x5000);
  f = faultOf(m.cur, () => m.w8(K + 0x10004, 1));
  assert.equal(f, { vector: VEC_PF, err: PF_P | PF_W, addr: K + 0x10004 });
  f = faultOf(m.cur, () => m.translate(K, 2));
  assert.equal(f, { vector: VEC_PF, err: PF_P | PF_I, addr: K });
  m.setUser(1);
  f = faultOf(m.cur, () => m.r8(K));
  assert.equal(f, { vector: VEC_PF, err: PF_P | PF_U, addr: K });
  assert.is(faultOf(m.cur, () => m.w32(K + 0x20000, 5)), null);
  f = faultOf(m.cur, () => m.w8(K + 0x30000, 1));
  assert.equal(f, { vector: VEC_PF, err: PF_W | PF_U, addr: K + 0x30000 });
  m.setUser(0);
  // supervisor may read and write user pages (no SMAP on ktrace-pc)
  assert.is(m.r32(K + 0x20000), 5);
});

test('non-canonical addresses raise #GP, not #PF', () => {
  const m = mem();
  const f = faultOf(m.cur, () => m.r32(0x800000000000));
  assert.is(f!.vector, VEC_GP);
  assert.is(faultOf(m.cur, () => m.w64(-0x800000000001, 0, 0))!.vector, VEC_GP);
});

test('a page-crossing write that faults on its second page changes nothing', () => {
  const m = mem();
  m.map(K + 0x10000, 0x1000, PERM_R | PERM_W);
  m.map(K + 0x11000, 0x1000, PERM_R);
  const f = faultOf(m.cur, () => m.w64(K + 0x10ffc, 0x11111111, 0x22222222));
  assert.equal(f, { vector: VEC_PF, err: PF_P | PF_W, addr: K + 0x11000 });
  assert.is(m.read32(K + 0x10ffc), 0);
});

test('TLB: unmap and protect take effect for addresses already cached', () => {
  const m = mem();
  m.w32(K + 0x100, 7);
  assert.is(m.r32(K + 0x100), 7); // now in the read and write TLBs
  m.protect(K, 0x1000, PERM_R);
  assert.is(faultOf(m.cur, () => m.w32(K + 0x100, 8))!.err, PF_P | PF_W);
  assert.is(m.r32(K + 0x100), 7);
  m.unmap(K, 0x1000);
  assert.is(faultOf(m.cur, () => m.r32(K + 0x100))!.err, 0);
  // user and supervisor TLBs are separate: a supervisor fill does not let user code in
  m.map(K, 0x1000, PERM_R | PERM_W);
  m.r32(K);
  m.setUser(1);
  assert.is(faultOf(m.cur, () => m.r32(K))!.err, PF_P | PF_U);
});

test('PAGE_PROBE is a page flag reported by permsAt', () => {
  const m = mem();
  m.map(K + 0x40000, 0x1000, PERM_R | PERM_X | PAGE_PROBE);
  assert.ok(m.permsAt(K + 0x40010) & PAGE_PROBE);
});

test('writes to pages holding decoded code reach the code cache (stores and writeBytes)', () => {
  const m = mem();
  const seen: number[] = [];
  m.codeCache = { invalidatePage: (p) => { seen.push(p.base); p.ops = null; } };
  const p = m.page(K + 0x1000)!;
  p.ops = [];
  m.unWrite(p.base);
  m.w32(K + 0x1010, 1);
  assert.equal(seen, [K + 0x1000]);
  assert.is(m.smc, 1);
  p.ops = []; m.unWrite(p.base);
  m.writeBytes(K + 0x1ff0, new Uint8Array(32));
  assert.equal(seen, [K + 0x1000, K + 0x1000]);
  // plain data pages are not reported
  m.w32(K + 0x10, 1);
  assert.is(seen.length, 2);
});

test('pages get their own bytes only when first written: 32 MiB of RAM costs what is touched', () => {
  const m = new Memory();
  m.map(K, 32 << 20, PERM_R | PERM_W);
  assert.is(m.residentBytes, 0);
  assert.is(m.r32(K + 0x12340), 0); // guest read fills the read TLB with the shared zero page
  m.w32(K + 0x12340, 0xfeedface);   // the write gives the page its own buffer
  assert.is(m.r32(K + 0x12340), 0xfeedface);
  assert.is(m.r32(K + 0x13340), 0);
  m.writeBytes(K + 0x200000, Uint8Array.of(1));
  assert.is(m.residentBytes, 2 * 4096);
  assert.is(m.read8(K + 0x200000), 1);
});

test('mapFrames: pages on shared buffers are aliases; guest and host writes through one show in the other', () => {
  const m = new Memory();
  const phys = new Uint8Array(3 * 4096);
  const frames = [0, 1, 2].map((i) => phys.subarray(i * 4096, (i + 1) * 4096));
  const lo = 0x100000, hi = toAddr(0xffff888000000000n);
  m.mapFrames(lo, PERM_R | PERM_W, frames);
  m.mapFrames(hi, PERM_R, frames);
  m.w32(lo + 4096 + 8, 0xdeadbeef);
  assert.is(m.r32(hi + 4096 + 8), 0xdeadbeef, 'guest store seen through the alias');
  assert.is(phys[4096 + 8], 0xef, 'and in the backing buffer');
  m.writeBytes(lo + 2 * 4096 - 2, Uint8Array.of(1, 2, 3, 4));
  assert.equal(Array.from(m.readBytes(hi + 2 * 4096 - 2, 4)), [1, 2, 3, 4], 'host write across a page boundary');
  const f = faultOf(m.cur, () => m.w8(hi, 1));
  assert.is(f?.vector, VEC_PF, 'each alias keeps its own permissions');
  assert.throws(() => m.mapFrames(0x200000, PERM_R, [new Uint8Array(100)]), (e: Error) => e instanceof EmuError);
});

test('allocPhysical: frames in the arena take the TLB fast path, and stay aliases of each other', () => {
  const m = new Memory();
  const phys = m.allocPhysical(2 * 4096);
  assert.is(phys.buffer, m.U8.buffer, 'physical RAM is a region of the arena');
  const lo = 0x100000, hi = toAddr(0xffff888000000000n);
  m.mapPhysical(lo, PERM_R | PERM_W, phys.subarray(0, 4096), 0);
  m.mapPhysical(hi, PERM_R | PERM_W, phys.subarray(0, 4096), 0);
  assert.is(m.r32(hi + 16), 0); // fills the read TLB of the alias
  m.w32(lo + 16, 0x12345678);   // fills the write TLB of the other
  assert.is(m.r32(hi + 16), 0x12345678, 'a store through one alias is read through the other');
  assert.is(phys[16], 0x78);
  // a guest store hitting in the write TLB lands at the page's arena offset
  m.w64(lo + 4000, 0xa1b2c3d4, 0x01020304);
  assert.is(m.D.getUint32(phys.byteOffset + 4004, true), 0x01020304);
  assert.throws(() => m.allocPhysical(100), (e: Error) => e instanceof EmuError);
});

test('the arena: a read of a never-written page sees zeros until the first write, slots of unmapped pages come back zeroed', () => {
  const m = new Memory(16 * 4096);
  m.map(K, 0x2000, PERM_R | PERM_W);
  // both privilege levels' read TLBs see the page as the shared zero page
  assert.is(m.r64(K + 8), 0);
  m.setUser(1); m.setUser(0);
  m.writeBytes(K + 8, Uint8Array.of(7)); // a host write materializes the page: stale zero-page entries go
  assert.is(m.r8(K + 8), 7, 'read TLB entry filled before the write sees the new bytes');
  const p = m.page(K)!;
  assert.is(m.U8[p.off + 8], 7);
  m.unmap(K, 0x2000);
  m.map(K, 0x1000, PERM_R | PERM_W);
  m.w8(K + 9, 1); // reuses the released slot
  assert.is(m.page(K)!.off, p.off, 'slot reused');
  assert.is(m.r8(K + 8), 0, 'and zeroed');
  // a full arena says so in one line
  const small = new Memory(3 * 4096);
  small.map(K, 0x4000, PERM_R | PERM_W);
  small.w8(K, 1); small.w8(K + 0x1000, 1);
  assert.throws(() => small.w8(K + 0x2000, 1), /arena exhausted/);
});

test.run();
