// Debug-info queries as users wait for them: `ktrace vars vfs_read` as a whole process on the fixture,
// and the variables of one function of a large real program (the SQLite amalgamation built with
// -g -O2, its debug sections committed under fixtures/dwarf) from a fresh reader, unzip included.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../../src/paths.js';
import { loadTarget } from '../../test/dwarf/fixtures.js';
import { median, printTable } from '../lib/tools.js';
import type { Section } from './section.js';

export const dwarf: Section = {
  name: 'dwarf',
  description: 'ktrace vars vfs_read (whole process) and one SQLite function\'s variables from a fresh reader (median of --runs, default 7)',
  run(opts) {
    const runs = Math.max(1, Number(opts.runs ?? 7));
    const bin = join(ROOT, 'bin', 'ktrace');
    const walls: number[] = [];
    let ok = true;
    for (let i = 0; i < runs; i++) {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(process.execPath, [bin, 'vars', 'vfs_read'], { encoding: 'utf8' });
      walls.push(Number(process.hrtime.bigint() - t0) / 1e9);
      if (r.status !== 0 || !r.stdout.includes('Available variables at vfs_read')) { ok = false; console.log(`vars failed: ${r.stderr.trim()}`); break; }
    }
    const big: number[] = [];
    let nvars = 0;
    for (let i = 0; i < runs; i++) {
      const t0 = process.hrtime.bigint();
      const t = loadTarget('sqlite3');
      const d = t.dwarf();
      const fn = d.functionsByName('sqlite3VdbeExec')[0];
      if (!fn) { ok = false; console.log('sqlite3VdbeExec not found'); break; }
      nvars = d.variablesAt(fn.entryPc).length;
      big.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    printTable(['query', 'median s', 'target s'], [
      ['ktrace vars vfs_read (fixture, whole process)', walls.length ? median(walls).toFixed(3) : '-', '0.300'],
      [`sqlite3VdbeExec: ${nvars} variables (fresh reader, in process)`, big.length ? median(big).toFixed(3) : '-', '1.000'],
    ]);
    return ok;
  },
};
