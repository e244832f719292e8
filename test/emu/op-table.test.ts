// The code cache's stored form of decoded instructions (src/emu/op-table.ts): every op of the fixture
// kernel's functions, decoded by iced (some with the single-instruction shape compile.ts learns for them),
// reads back as the very record that was written; records not read are copied byte for byte on the next
// write; a buffer cut short, a shape index past the table, or a value a field cannot hold are refused.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { Image } from '../../src/elf/image.js';
import { DEFAULT_VMLINUX } from '../../src/paths.js';
import { Machine } from '../../src/emu/machine.js';
import { PAGE_SIZE, PERM_R, PERM_X } from '../../src/emu/memory.js';
import { compileOp } from '../../src/emu/compile.js';
import type { Op, OpRecord } from '../../src/emu/decode.js';
import { encodeOps, OpTable } from '../../src/emu/op-table.js';

const image = Image.load(readFileSync(DEFAULT_VMLINUX));

/** Records of every instruction of the image's functions, each 7th op with its learned shape. */
function decodeAll(): OpRecord[] {
  const m = new Machine({ cpus: 1 });
  for (const s of image.segments) {
    if (!(s.flags & 1)) continue;
    const base = s.vaddr - (s.vaddr & (PAGE_SIZE - 1));
    m.mem.map(base, Math.ceil((s.vaddr + s.memsz - base) / PAGE_SIZE) * PAGE_SIZE, PERM_R | PERM_X);
    m.mem.writeBytes(s.vaddr, image.fileBytes(s.offset, s.filesz));
  }
  const ops: Op[] = [];
  for (const f of image.functions) {
    for (let at = f.addr; at < f.addr + f.size;) {
      const run = m.decoder.decodeRun(m.mem.page(at)!, at, () => false);
      ops.push(...run);
      const last = run[run.length - 1];
      if (last.bad) break;
      at = last.next;
    }
  }
  ops.forEach((op, i) => { if (i % 7 === 0 && !op.bad) compileOp(op, false); });
  return m.decoder.records()!;
}

const recs = decodeAll();

test('records read back exactly, sorted by address; unread ones are copied as they are', () => {
  assert.ok(recs.length > 3000, `${recs.length} records`);
  assert.ok(recs.filter((r) => r[24] !== undefined).length > 300, 'with shapes');
  assert.ok(recs.some((r) => r[14] !== null && r[14][4] !== null), 'RIP-relative operands');
  assert.ok(recs.some((r) => r[15] !== null), 'branch targets');
  const shapes: string[] = [];
  const blob = encodeOps(recs, shapes);
  const t = OpTable.read(blob, shapes)!;
  assert.ok(t);
  assert.is(t.size, recs.length);
  const sorted = [...recs].sort((a, b) => a[0] - b[0]);
  for (let i = 0; i < t.size; i++) {
    assert.is(t.ips[i], sorted[i][0]);
    assert.is(t.first(sorted[i][0]), i);
    assert.is(t.nbytes(i), sorted[i][21].length);
    assert.is(t.fault(i), sorted[i][25] ?? 0);
    for (let k = 0; k < t.nbytes(i); k++) assert.is(t.byte(i, k), sorted[i][21][k]);
    if (i % 2 === 0) assert.equal(t.record(i), sorted[i]);
  }
  assert.is(t.first(sorted[0][0] - 1), -1);
  // half of them read: the next write copies the others and encodes the read ones again, to the same bytes
  const again = encodeOps(Array.from({ length: t.size }, (_, i) => [t, i] as const), [...shapes]);
  assert.ok(Buffer.from(again).equals(Buffer.from(blob)));
  // OpTable.of is the same table
  assert.ok(Buffer.from(OpTable.of(recs).blob).equals(Buffer.from(blob)));
});

test('a buffer cut short, a shape past the table or a value a field cannot hold is refused', () => {
  const shapes: string[] = [];
  const blob = encodeOps(recs, shapes);
  for (const cut of [1, 7, 30, Math.floor(blob.length / 2)]) assert.is(OpTable.read(blob.subarray(0, blob.length - cut), shapes), null, `cut ${cut}`);
  assert.is(OpTable.read(blob, shapes.slice(0, 1)), null);
  const bad = recs[0].slice() as OpRecord;
  bad[23] = -1; // facts
  assert.throws(() => encodeOps([bad], []), /outside/);
  const long = recs[0].slice() as OpRecord;
  long[21] = [...long[21], 0x90];
  assert.throws(() => encodeOps([long], []), /length/);
  const fault = recs[0].slice() as OpRecord;
  fault[25] = 3; // no such fault
  assert.throws(() => encodeOps([fault], []), /length/);
});

test.run();
