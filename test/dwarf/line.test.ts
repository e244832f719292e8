// src/dwarf/line.ts: the rows themselves are compared with readelf's decoded lines in dwarf.test.ts;
// here LineProgram.statementAt (each sequence bisected) against its definition: every row but the
// sequence ends, stably sorted by address, searched as perf's cu_getsrc_die reads libdw's rows.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LineProgram, sortedRows, statementInSorted, type LineRow } from '../../src/dwarf/line.js';
import { loadTarget, targetIds } from './fixtures.js';
import { fixtureImage } from '../elf/fixture.js';
import { Dwarf } from '../../src/dwarf/index.js';
import { imageLoader } from '../../src/debuginfo/open.js';

/** The definition (line.ts's fallback for programs whose sequences go back): all rows sorted, then searched. */
const sorted = new WeakMap<LineProgram, LineRow[]>();
function reference(lp: LineProgram, addr: number): LineRow | undefined {
  let rows = sorted.get(lp);
  if (!rows) sorted.set(lp, (rows = sortedRows(lp.rows())));
  return statementInSorted(rows, addr);
}

function check(name: string, d: Dwarf): number {
  let n = 0;
  for (const u of d.units()) {
    const lp = d.lineProgram(u);
    if (!lp) continue;
    // Every row address, one below and one above it, and a row's address in the middle of two.
    const addrs = new Set<number>();
    const rows = lp.rows();
    rows.forEach((r, i) => { addrs.add(r.address); addrs.add(r.address - 1); addrs.add(r.address + 1); if (i) addrs.add(Math.floor((r.address + rows[i - 1]!.address) / 2)); });
    for (const a of addrs) {
      assert.is(lp.statementAt(a), reference(lp, a), `${name} unit 0x${u.header.offset.toString(16)} at 0x${a.toString(16)}`);
      n++;
    }
  }
  return n;
}

test('statementAt is the first statement row at the address in libdw order (else the last row below it, when a statement row): every row address of every target and of the fixture kernel', () => {
  let n = 0;
  for (const id of targetIds()) n += check(id, loadTarget(id).dwarf());
  n += check('fixture kernel', new Dwarf(imageLoader(fixtureImage())));
  assert.ok(n > 1000, `${n} addresses`);
});

test('a program whose sequence goes back in address is searched over its sorted rows', () => {
  const h = { version: 5, addrSize: 8, minInstLength: 1, maxOpsPerInst: 1, defaultIsStmt: true, lineBase: -5, lineRange: 14, opcodeBase: 13 };
  // set_address 0x1000, copy (line 1), advance_pc 0x10, copy, set_address 0x1008, advance_line 4, negate_stmt, copy, end_sequence.
  const prog = [0, 9, 2, 0x00, 0x10, 0, 0, 0, 0, 0, 0, 1, 2, 0x10, 1, 0, 9, 2, 0x08, 0x10, 0, 0, 0, 0, 0, 0, 3, 4, 6, 1, 0, 1, 1];
  const lp = new LineProgram({ ...h, offset: 0 as never, standardOpcodeLengths: [0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1], dirs: [], files: [], programStart: 0, programEnd: prog.length }, Uint8Array.from(prog));
  const rows = lp.rows();
  assert.equal(rows.map((r) => r.address), [0x1000, 0x1010, 0x1008, 0x1008]);
  for (const a of [0xfff, 0x1000, 0x1004, 0x1008, 0x100c, 0x1010, 0x1020]) assert.is(lp.statementAt(a), reference(lp, a), `0x${a.toString(16)}`);
  assert.is(lp.statementAt(0x100c), undefined, 'the last row below is not a statement row');
});

test.run();
