// perf itself as the oracle: what `perf probe` (linux-perf, recorded by oracle/generate.mjs into
// oracle/perf.json.gz) prints for the fixture kernel, against ktrace's perf-probe modules: -D (the
// kprobe_events lines a spec compiles to: compile.ts), -V (available variables: vars.ts), -L
// (probe-able lines: lines.ts, `ktrace line`) and -F (`ktrace funcs`). Every function of the fixture
// and a list of hand-picked specs; perf failing must mean ktrace failing and the reverse. Where
// ktrace deliberately differs, the case is in EXCEPTIONS with the reason.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fixtureDwarf, readSource } from './fixture.js';
import { elfSymbolLookup, functionSymbolsLookup, mapSymbolLookup, perfFunctionNames } from '../../../src/trace/perf-probe/funcs.js';
import { FIXTURE, fixtureImage } from '../../elf/fixture.js';
import { createHash } from 'node:crypto';
import { agrees, describe, ktraceOutput as ktraceAnswer, type Case } from './oracle/compare.js';

const oracle = JSON.parse(gunzipSync(readFileSync(new URL('../../../../test/trace/perf-probe/oracle/perf.json.gz', import.meta.url))).toString('utf8')) as { perf: string; vmlinuxSha256: string; funcs: string[]; cases: Case[] };

/**
 * Where ktrace differs from perf 6.1 on purpose: "MODE SPEC" → why.
 */
const EXCEPTIONS: Record<string, string> = {
  // perf 6.1 checks a probe address against _stext.._etext only on this path; startup_64 sits at
  // _text, before _stext, and ktrace (like the kernel's kprobe_events) takes it.
  'D startup_64%return $retval': 'perf refuses a return probe before _stext',
  // perf 6.1's verify_representive_line reads back the line at the address into uninitialized
  // locals (as line_range_walk_cb, see undecidedLines): no statement row sits at one of smpboot.c:18's
  // addresses, and perf refused it with "Please try to probe at ...smpboot.c:32764 instead" (a line
  // the file does not have: stack garbage). ktrace probes it.
  'D arch/x86/kernel/smpboot.c:18': 'perf refuses it after reading an uninitialized line number (32764)',
  'V arch/x86/kernel/smpboot.c:18': 'the same line, refused the same way',
};

const info = fixtureDwarf();
const image = fixtureImage();
const functionNames = new Set(image.functions.map((f) => f.name));
const symbol = (name: string) => image.functions.find((f) => f.name === name)?.addr;
const d = info.dwarf;

const ktraceOutput = (c: Case) => ktraceAnswer(info, c, { readSource, symbol, elfSymbol: elfSymbolLookup(image), functionSymbols: functionSymbolsLookup(image), mapSymbol: mapSymbolLookup(image) });

/**
 * perf names some addresses after a data symbol (init_stack, pcpu_hot, lkdtm_zero, free_count) or a
 * section label (__entry_text_start, __init_begin): it maps debuginfo addresses through the running
 * host kernel's relocation, not the fixture's. ktrace names the function, as kallsyms would on the
 * fixture kernel. A case is such an artifact when perf puts a probe on a name that is no function.
 */
const perfRelocationArtifact = (c: Case) => [...c.stdout.matchAll(/^[pr]:\S+ (\S+?)\+\d+/gm), ...c.stdout.matchAll(/@<(\S+?)\+\d+>/g)].some((m) => !functionNames.has(m[1]!));

const sample = oracle.cases;
const artifacts = sample.filter(perfRelocationArtifact).length;

test('the oracle was recorded on this fixture vmlinux', () => {
  const sha = createHash('sha256').update(readFileSync(FIXTURE)).digest('hex');
  assert.is(oracle.vmlinuxSha256, sha, 'fixtures/vmlinux changed: run node test/trace/perf-probe/oracle/generate.mjs where perf is installed');
});

test(`${oracle.perf}: -D, -V and -L agree with perf on ${sample.length} cases (${Object.keys(EXCEPTIONS).length} listed exceptions, ${artifacts} with perf's relocation artifact, ${sample.filter((c) => c.alternatives).length} where perf's runs disagree)`, () => {
  const bad: string[] = [];
  for (const c of sample) {
    const key = `${c.mode} ${c.spec}`;
    if (EXCEPTIONS[key] || perfRelocationArtifact(c)) continue;
    const k = ktraceOutput(c);
    if (!agrees(d, c, k)) bad.push(describe(c, k));
  }
  assert.is(bad.length, 0, `${bad.length} of ${sample.length} differ:\n${bad.slice(0, process.env.KTRACE_ORACLE_ALL ? bad.length : 40).join('\n')}`);
});

test('-F: ktrace funcs lists the functions perf lists', () => {
  assert.equal(perfFunctionNames(image), oracle.funcs);
});

test('the exceptions are still real (each still differs from perf)', () => {
  const agreeing: string[] = [];
  for (const key of Object.keys(EXCEPTIONS)) {
    const c = oracle.cases.find((x) => `${x.mode} ${x.spec}` === key);
    assert.ok(c, `${key}: not in the oracle`);
    const k = ktraceOutput(c!);
    // Compared as the main test compares (normalized, perf's alternative answers accepted).
    if (agrees(d, c!, k)) agreeing.push(key);
  }
  assert.equal(agreeing, [], `these now agree with perf: drop their exceptions`);
});

test.run();
