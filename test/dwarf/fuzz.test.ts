// Fuzzing the DWARF reader: seeded mutations of the test programs' debug sections, then every query the
// CLI makes. The only exception allowed out is DwarfError; every loop in src/dwarf is bounded by its input,
// and each case's work is capped (a fixed number of queries), so a hang shows up as a stuck test run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Dwarf, DwarfError, evaluate, formatAddressExpr, type EvalContext } from '../../src/dwarf/index.js';
import { loadTarget, targetIds } from './fixtures.js';
import { LONG } from './oracle.js';

const SECTIONS = ['.debug_info', '.debug_abbrev', '.debug_line', '.debug_str', '.debug_line_str', '.debug_loclists',
  '.debug_loc', '.debug_rnglists', '.debug_ranges', '.debug_frame', '.eh_frame', '.debug_addr', '.debug_str_offsets'];

/** xorshift32: deterministic across runs and machines. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return (n: number) => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x % n; };
}

function mutate(src: Uint8Array, rand: (n: number) => number): Uint8Array {
  const b = new Uint8Array(src);
  const kind = rand(5);
  const n = 1 + rand(8);
  for (let i = 0; i < n && b.length; i++) {
    const at = rand(b.length);
    if (kind === 0) b[at] ^= 1 << rand(8);
    else if (kind === 1) b[at] = rand(256);
    else if (kind === 2) b[at] = [0, 0xff, 0x7f, 0x80][rand(4)]!;
    else if (kind === 3) return b.subarray(0, at); // truncation
    else { for (let j = 0; j < 4 && at + j < b.length; j++) b[at + j] = 0xff; }
  }
  return b;
}

/** Everything a CLI session would ask, with a fixed cap on how many functions are queried. */
function workload(d: Dwarf): number {
  let work = 0;
  for (const u of d.units()) { work += u.dies().length; const lp = d.lineProgram(u); if (lp) work += lp.rows().length; }
  let q = 0;
  for (const [name, list] of d.functions()) {
    for (const f of list) {
      if (++q > 40) return work;
      d.scopeAt(f.entryPc);
      for (const v of d.variablesAt(f.entryPc, { externs: q % 5 === 0 })) {
        work++;
        d.types.scalarKind(v.type); d.types.size(v.type); d.types.members(v.type); d.types.member(v.type, 'f_pos');
        if (v.location.kind === 'memory') formatAddressExpr(v.location.address);
        const loc = d.locationOf(v.die);
        const exprs = loc ? ('expr' in loc ? [loc.expr] : loc.list.map((e) => e.expr)) : [];
        // Some valid expressions are outside the evaluator (typed-stack ops): that is a DwarfError too.
        for (const e of exprs) { try { evaluate(e, fakeCpu(d), 1000); } catch (err) { if (!(err instanceof DwarfError)) throw err; } }
      }
      d.cfaAt(f.entryPc);
      d.lineAt(f.entryPc);
    }
    if (q % 8 === 0) d.addressesForLine('fs.c', 20 + (name.length % 40));
  }
  return work;
}

function fakeCpu(d: Dwarf): EvalContext {
  return {
    addrSize: d.addrSize, offsetSize: 4,
    readRegister: (r) => BigInt(r) * 0x1000n, readMemory: (a, s) => BigInt.asUintN(s * 8, a ^ 0x5an),
    frameBase: () => 0x7000n, callFrameCfa: () => 0x8000n, entryValue: () => 42n,
  };
}

// The fixture kernel and the kernel-shaped program (DWARF 4 and 5); SQLite only under KTRACE_LONG=1 (size).
const targets = targetIds().filter((id) => LONG || !id.startsWith('sqlite')).map(loadTarget);
const CASES = LONG ? 3000 : 300;

test(`${CASES} seeded mutations of the debug sections raise nothing but DwarfError`, () => {
  let dwarfErrors = 0, clean = 0, cases = 0;
  for (const t of targets) {
    const base = new Map(SECTIONS.map((s) => [s, t.sections.get(s)?.bytes]).filter((e): e is [string, Uint8Array] => !!e[1]?.length));
    const names = [...base.keys()];
    // SQLite's sections are ~4 MB (a case parses all of them): it gets a small share.
    const big = targets.filter((x) => x.id.startsWith('sqlite')).length;
    const per = t.id.startsWith('sqlite') ? 50 : Math.ceil((CASES - 50 * big) / (targets.length - big));
    for (let i = 0; i < per; i++) {
      const seed = 0x9e3779b9 ^ (i * 2654435761) ^ t.id.length;
      const rand = rng(seed);
      const victim = names[rand(names.length)]!;
      const mutated = new Map(base);
      mutated.set(victim, mutate(base.get(victim)!, rand));
      if (rand(4) === 0) { const v2 = names[rand(names.length)]!; mutated.set(v2, mutate(mutated.get(v2)!, rand)); }
      const d = new Dwarf((n) => mutated.get(n), { ehFrameAddress: t.sections.get('.eh_frame')?.addr });
      cases++;
      try { workload(d); clean++; } catch (e) {
        if (e instanceof DwarfError) { dwarfErrors++; continue; }
        assert.unreachable(`${t.id} case ${i} (seed ${seed >>> 0}, ${victim}): ${(e as Error).stack}`);
      }
    }
  }
  console.log(`NOTE fuzz: ${cases} cases, ${dwarfErrors} DwarfError, ${clean} parsed cleanly`);
  assert.ok(dwarfErrors > 0 && clean > 0);
});

test('the unmutated sections run the whole workload without error', () => {
  for (const t of targets) assert.ok(workload(t.dwarf()) > 100);
});

test.run();
