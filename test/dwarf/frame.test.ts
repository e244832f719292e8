// Call frame information against readelf --debug-dump=frames-interp: for every row readelf decodes, the CFA
// rule and the register rules at that address are the same (.debug_frame of the kernel-shaped program,
// .eh_frame of SQLite).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dwarfRegName, FrameTable, type RegisterRule } from '../../src/dwarf/index.js';
import { loadTarget, targetIds } from './fixtures.js';
import { FIXTURES, LONG, hasTool, parseFramesInterp, readGz, run } from './oracle.js';
import { writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const tools = hasTool('readelf');

function cell(rule: RegisterRule | undefined): string {
  if (!rule) return 'u';
  switch (rule.kind) {
    case 'undefined': return 'u';
    case 'same-value': return 's';
    case 'offset': return `c${rule.offset >= 0 ? '+' : ''}${rule.offset}`;
    case 'val-offset': return `v${rule.offset >= 0 ? '+' : ''}${rule.offset}`;
    case 'register': return dwarfRegName(rule.reg);
    case 'expression': return 'exp';
    case 'val-expression': return 'vexp';
  }
}

for (const id of targetIds()) {
  const t = loadTarget(id);
  if (t.stale && !tools) { console.log(`SKIP ${id}: ELF changed since its frames oracle was made and readelf is missing`); continue; }
  test(`${id}: CFA and register rules equal readelf's decoded frame tables`, () => {
    let text: string;
    if (tools && (LONG || t.stale)) {
      const p = join(tmpdir(), `ktrace-dwarf-frames-${process.pid}.elf`);
      writeFileSync(p, t.bytes);
      try { text = run('readelf', ['-W', '--debug-dump=frames-interp', p]); } finally { unlinkSync(p); }
    } else text = readGz(`${FIXTURES}${id}.frames.txt.gz`);
    const fdes = parseFramesInterp(text);
    assert.ok(fdes.length > 3, `${fdes.length} FDEs`);
    const tables = new Map<string, FrameTable>();
    for (const name of ['.debug_frame', '.eh_frame']) {
      const s = t.sections.get(name);
      if (s?.bytes.length) tables.set(name, new FrameTable(s.bytes, name as '.debug_frame' | '.eh_frame', { sectionAddress: s.addr }));
    }
    let rows = 0, bad = 0, first = '';
    const regNum = new Map<string, number>();
    for (let r = 0; r < 17; r++) regNum.set(dwarfRegName(r), r);
    regNum.set('ra', 16);
    for (const f of fdes) {
      const table = tables.get(f.section)!;
      const low = Number(BigInt.asIntN(64, f.low));
      const fde = table.fdeFor(low);
      if (!fde || BigInt.asUintN(64, BigInt(fde.high)) !== f.high) { bad++; first ||= `FDE ${f.low.toString(16)}: ours ${fde ? fde.high.toString(16) : 'missing'}`; continue; }
      for (const row of f.rows) {
        rows++;
        const pc = Number(BigInt.asIntN(64, row.loc));
        const u = table.unwindRowAt(pc)!;
        const cfa = u.cfa.kind === 'reg-offset' ? `${dwarfRegName(u.cfa.reg)}${u.cfa.offset >= 0 ? '+' : ''}${u.cfa.offset}` : 'exp';
        const cells = [cfa, ...f.columns.map((c) => cell(u.rules.get(regNum.get(c) ?? Number(c.replace(/^r/, '')))))];
        if (cells.join(' ') !== row.cells.join(' ')) { bad++; first ||= `${f.section} ${row.loc.toString(16)}: readelf ${row.cells.join(' ')} ours ${cells.join(' ')}`; }
      }
    }
    assert.is(bad, 0, first);
    console.log(`NOTE ${id}: ${fdes.length} FDEs, ${rows} CFI rows equal readelf`);
  });
}

test.run();
