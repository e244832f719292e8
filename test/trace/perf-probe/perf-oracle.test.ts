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
import { compilePerfProbe } from '../../../src/trace/perf-probe/compile.js';
import { availableVars, formatAvailableVars } from '../../../src/trace/perf-probe/vars.js';
import { parseProbeSpec } from '../../../src/trace/perf-probe/spec.js';
import { showLineRange } from '../../../src/cli/commands/line.js';
import { perfFunctionNames } from '../../../src/cli/commands/funcs.js';
import { FIXTURE, fixtureImage } from '../../elf/fixture.js';
import { createHash } from 'node:crypto';

/** `alternatives`: other answers perf gave for the same case on another run (its -L is not deterministic). */
interface Case { mode: 'D' | 'V' | 'L'; spec: string; stdout: string; ok: boolean; alternatives?: string[] }
const oracle = JSON.parse(gunzipSync(readFileSync(new URL('../../../../test/trace/perf-probe/oracle/perf.json.gz', import.meta.url))).toString('utf8')) as { perf: string; vmlinuxSha256: string; funcs: string[]; cases: Case[] };

/**
 * Where ktrace differs from perf 6.1 on purpose: "MODE SPEC" → why.
 */
const EXCEPTIONS: Record<string, string> = {
  // perf 6.1 checks a probe address against _stext.._etext only on this path; startup_64 sits at
  // _text, before _stext, and ktrace (like the kernel's kprobe_events) takes it.
  'D startup_64%return $retval': 'perf refuses a return probe before _stext',
  // perf 6.1's line_range_walk_cb checks that a line reads back at its address with cu_find_lineinfo
  // into the uninitialized locals __lineno/__fname, which stay unset when no statement row sits at the
  // address (here: an inlined call's entry). Whether perf lists the line then depends on stack garbage
  // (it does for sock_put's sk_free call, not for these). ktrace takes the evident intent (an unset
  // answer, -ENOENT, does not refuse the line) and lists them.
  'L ip_rcv': 'line 8, the ip_fast_csum call: no statement row at the inlined call\'s entry',
  'L vsnprintf': 'lines 30 and 43, the skip_atoi calls: no statement row at the inlined calls\' entries',
  // SRC;PTN: the same probes; perf orders the declaration and inlined-call lines of the whole unit after
  // the line rows in DIE order, ktrace function by function.
  'D read_write.c;*count*': 'the same probes in another order',
};

/**
 * perf names some addresses after a data symbol (init_stack, pcpu_hot) or a section label
 * (__entry_text_start): it maps debuginfo addresses through the running host kernel's relocation,
 * not the fixture's. ktrace names the function, as kallsyms would on the fixture kernel.
 */
const perfRelocationArtifact = (c: Case) => /(?:^|\s)(?:init_stack|pcpu_hot|__entry_text_start)\+\d+/m.test(c.stdout);

const info = fixtureDwarf();
const image = fixtureImage();
const symbol = (name: string) => image.functions.find((f) => f.name === name)?.addr;
const d = info.dwarf;

function ktraceOutput(c: Case): { stdout: string; ok: boolean } {
  try {
    if (c.mode === 'D') {
      const r = compilePerfProbe(d, [c.spec], { readSource, taken: () => false, symbol });
      return r.ok ? { stdout: r.value.map((e) => e.line + '\n').join(''), ok: true } : { stdout: '', ok: false };
    }
    if (c.mode === 'V') {
      const p = parseProbeSpec([c.spec]);
      if (!p.ok) return { stdout: '', ok: false };
      const av = availableVars(d, p.value.point, { readSource });
      return av.ok ? { stdout: formatAvailableVars(av.value), ok: true } : { stdout: '', ok: false };
    }
    return { stdout: showLineRange(info, c.spec, (p) => readSource(p) ?? [], (p) => p), ok: true };
  } catch {
    return { stdout: '', ok: false };
  }
}

/**
 * perf -L names the file by the path it read (the -s directory + the DWARF path): compare the basename.
 * perf -V: perf 6.1 spells a pointer to void "(unknown_type)"; perf since 6.7 (dwarf-aux.c
 * die_get_typename: "void pointer has no type attribute") and ktrace spell it "void*". The lines of a
 * site are a sorted list, so they are sorted again after the respelling.
 */
function normalize(c: Case, s: string): string {
  if (c.mode === 'L') return s.replace(/^<(?:([^@>]*)@)?[^>]*\/([^/>]+):(\d+)>$/m, '<$1@$2:$3>');
  if (c.mode !== 'V') return s;
  const out: string[] = [];
  let vars: string[] = [];
  const flush = () => { out.push(...vars.sort()); vars = []; };
  for (const l of s.split('\n')) {
    if (l.startsWith('\t\t') && l !== '\t\t(No matched variables)') vars.push(l.replace('\t\t(unknown_type)\t', '\t\tvoid*\t'));
    else { flush(); out.push(l); }
  }
  flush();
  return out.join('\n');
}

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
    if (k.ok !== c.ok) { bad.push(`${key}: perf ${c.ok ? 'succeeds' : 'fails'}, ktrace ${k.ok ? 'succeeds' : 'fails'}\n  perf:   ${c.stdout.trim().replace(/\n/g, '\n          ')}\n  ktrace: ${k.stdout.trim().replace(/\n/g, '\n          ')}`); continue; }
    if (c.ok && ![c.stdout, ...c.alternatives ?? []].some((o) => normalize(c, k.stdout) === normalize(c, o))) bad.push(`${key}:\n  perf:   ${c.stdout.trim().replace(/\n/g, '\n          ')}\n  ktrace: ${k.stdout.trim().replace(/\n/g, '\n          ')}`);
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
    if (k.ok === c!.ok && (!c!.ok || [c!.stdout, ...c!.alternatives ?? []].some((o) => normalize(c!, k.stdout) === normalize(c!, o)))) agreeing.push(key);
  }
  assert.equal(agreeing, [], `these now agree with perf: drop their exceptions`);
});

test.run();
