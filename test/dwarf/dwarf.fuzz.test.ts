// Fuzzing the DWARF reader on a real kernel's unit (test/elf/real: fs/read_write.c's DWARF 5 out of
// Debian's 6.1 vmlinux): seeded mutations of one or two of its debug sections, then what the CLI asks
// through the perf-probe layer (add -D with $params, %return $retval, a source line and named
// variables, vars, line, the CFA and line of each entry). Each case ends in a result (the perf-probe
// layer's refusals are results) or a one-line DwarfError, writes nothing, and finishes within a time
// bound (run in a worker: test/fuzz.ts). 400 cases by default, 100,000 with
// KTRACE_LONG=1 (the same cases, more of them).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Dwarf, DwarfError } from '../../src/dwarf/index.js';
import { Image } from '../../src/elf/image.js';
import { compilePerfProbe } from '../../src/trace/perf-probe/compile.js';
import { availableVars, formatAvailableVars } from '../../src/trace/perf-probe/vars.js';
import { parseProbeSpec } from '../../src/trace/perf-probe/spec.js';
import { findLineRange, parseLineRange } from '../../src/trace/perf-probe/line-range.js';
import { fuzz, isMainThread, mutateBytes, byteRng, serveFuzz, type FuzzTarget } from '../fuzz.js';
import { realUnitBytes, REAL_UNIT_META, UNIT_FUNCTIONS } from '../elf/real/unit.js';

// A case parses the whole unit (12,578 DIEs; ~15 ms of CPU): the default run is a smaller sample.
const CASES = process.env.KTRACE_LONG === '1' ? 100_000 : 400;
const SECTIONS = ['.debug_info', '.debug_abbrev', '.debug_line', '.debug_str', '.debug_line_str', '.debug_loclists', '.debug_rnglists', '.debug_frame', '.debug_aranges'];

/** The queries of one CLI session on function f; returns how much it found. */
function session(d: Dwarf, img: Image, f: string): number {
  const symbol = (n: string) => img.functions.find((s) => s.name === n)?.addr;
  let work = 0;
  for (const spec of [`${f} $params`, `${f}%return $retval`, `${f}:3`, `${f} count file->f_pos buf`]) {
    const r = compilePerfProbe(d, [spec], { symbol, taken: () => false });
    if (r.ok) work += r.value.length;
  }
  const p = parseProbeSpec([f]);
  if (p.ok) { const av = availableVars(d, p.value.point, {}); if (av.ok) work += formatAvailableVars(av.value).length; }
  const lr = parseLineRange(`${f}:1-20`);
  if (lr.ok) { const r = findLineRange(d, lr.spec); if (!('error' in r)) work += r.lines.length; }
  for (const fn of d.functionsByName(f)) { d.cfaAt(fn.entryPc); d.lineAt(fn.entryPc); work++; }
  return work;
}

function target(): FuzzTarget {
  const img = Image.load(realUnitBytes());
  const base = new Map(SECTIONS.map((s) => [s, img.sectionByName(s)!.bytes] as const));
  return {
    run(i) {
      const rand = byteRng(0x2545f491 ^ Math.imul(i, 2654435761));
      const mutated = new Map(base);
      const victim = SECTIONS[rand(SECTIONS.length)]!;
      mutated.set(victim, mutateBytes(base.get(victim)!, rand));
      if (rand(4) === 0) { const v2 = SECTIONS[rand(SECTIONS.length)]!; mutated.set(v2, mutateBytes(mutated.get(v2)!, rand)); }
      const d = new Dwarf((n) => mutated.get(n));
      // One of the unit's functions a case, in turn.
      session(d, img, UNIT_FUNCTIONS[i % UNIT_FUNCTIONS.length]!);
    },
    expected: (e) => e instanceof DwarfError,
  };
}

if (isMainThread) {
  test(`${CASES} mutations of ${REAL_UNIT_META.unit}'s DWARF 5 (${REAL_UNIT_META.from}): a result or a one-line DwarfError, no output, no hang`, async () => {
    const r = await fuzz(import.meta.url, CASES, 10_000);
    console.log(`NOTE dwarf fuzz: ${r.cases} cases, ${r.results} results, ${r.errors} DwarfError, ${r.hangs.length} hangs, ${r.failures.length} failures, ${(r.ms / 1000).toFixed(1)} s`);
    assert.equal([...r.hangs, ...r.failures].slice(0, 20), [], `${r.hangs.length} hangs, ${r.failures.length} failures`);
    assert.ok(r.results > 0 && r.errors > 0, 'the mutations reach both outcomes');
  });

  test('the unmutated unit answers every query of the session', () => {
    const img = Image.load(realUnitBytes());
    const d = new Dwarf((n) => img.sectionByName(n)?.bytes);
    for (const f of UNIT_FUNCTIONS) assert.ok(session(d, img, f) > 3, f);
    const r = compilePerfProbe(d, ['vfs_read count file->f_pos'], { taken: () => false });
    assert.ok(r.ok && /^p:probe\/vfs_read vfs_read\+0 count=%dx:x64 f_pos=\+\d+\(%di\):s64$/.test(r.value[0]!.line), r.ok ? r.value[0]!.line : r.reason);
  });

  test.run();
} else {
  serveFuzz(target);
}
