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
import { functionRows, reverseLine } from '../../../src/trace/perf-probe/lines.js';
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
 * perf -V: perf 6.1 spells "(unknown_type)" what it cannot name: a pointer to void (at any depth) and
 * an anonymous struct, union or enum; perf since 6.7 (dwarf-aux.c die_get_typename: "void pointer has
 * no type attribute") and ktrace spell them "void*", "void**", "struct ". Both sides are respelled
 * "(unknown_type)"; the lines of a site are a sorted list, so they are sorted again after.
 */
function normalize(c: Case, s: string): string {
  if (c.mode === 'L') {
    const undecided = undecidedLines(c.spec);
    return s.replace(/^<(?:([^@>]*)@)?[^>]*\/([^/>]+):(\d+)>$/m, '<$1@$2:$3>')
      .replace(/^ {0,6}(\d+)  /gm, (m, n: string) => (undecided.has(Number(n)) ? ' '.repeat(9) : m));
  }
  if (c.mode !== 'V') return s;
  const out: string[] = [];
  let vars: string[] = [];
  const flush = () => { out.push(...vars.sort()); vars = []; };
  for (const l of s.split('\n')) {
    if (l.startsWith('\t\t') && l !== '\t\t(No matched variables)') vars.push(l.replace(/^\t\t(?:void\*+|(?:struct|union|enum) )\t/, '\t\t(unknown_type)\t'));
    else { flush(); out.push(l); }
  }
  flush();
  return out.join('\n');
}

/**
 * perf names some addresses after a data symbol (init_stack, pcpu_hot, lkdtm_zero, free_count) or a
 * section label (__entry_text_start, __init_begin): it maps debuginfo addresses through the running
 * host kernel's relocation, not the fixture's. ktrace names the function, as kallsyms would on the
 * fixture kernel. A case is such an artifact when perf puts a probe on a name that is no function.
 */
const perfRelocationArtifact = (c: Case) => [...c.stdout.matchAll(/^[pr]:\S+ (\S+?)\+\d+/gm), ...c.stdout.matchAll(/@<(\S+?)\+\d+>/g)].some((m) => !functionNames.has(m[1]!));

/**
 * -L lines perf 6.1 decides on stack garbage: line_range_walk_cb reads back a line's address with
 * cu_find_lineinfo into the uninitialized __lineno/__fname, which stay unset where no statement row
 * sits at the address (an inlined call's entry). perf then lists such a line on some runs and not on
 * others (seen for sock_put's sk_free call and pipe_read's pipe_copy_out call between two runs of
 * the generator); ktrace lists it (an unset answer does not refuse a line). For FUNC specs: the
 * relative numbers of lines that no walked address reads back as itself, and some address reads back
 * as nothing.
 */
function undecidedLines(spec: string): Set<number> {
  const out = new Set<number>();
  if (!/^[A-Za-z_]\w*$/.test(spec)) return out;
  const decided = new Set<number>();
  for (const f of d.functionsByName(spec)) {
    if (f.declLine === undefined) continue;
    for (const r of functionRows(d, f)) {
      if (r.path !== f.declFile) continue;
      const back = reverseLine(d, r.address);
      if (back === undefined) out.add(r.line - f.declLine);
      else if (back.line === r.line && back.path === r.path) decided.add(r.line - f.declLine);
    }
  }
  for (const n of decided) out.delete(n);
  return out;
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
