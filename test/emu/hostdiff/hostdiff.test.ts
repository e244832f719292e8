// Differential test of src/emu against the host CPU : every user-mode integer instruction form, run natively and in the emulator on the same inputs.
// Default run: the committed corpus of host results (fixtures/hostdiff/corpus.jsonl.gz) replayed on the
// emulator; with gcc, a sample is also re-run natively to check the corpus still says what this CPU says.
// KTRACE_LONG=1 with gcc: fresh cases from a new seed (KTRACE_HOSTDIFF_SEED, printed) run natively and emulated.
// Regenerate the corpus: npx tsc ... && node dist-NAME/test/emu/hostdiff/regen.js [seed] [perForm]
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type CaseInput, type CaseOutput, type CorpusEntry, applyOutput, expandInput, readCorpus,
} from './corpus.js';
import { compareCase, decodeCase } from './compare.js';
import { EmuRunner } from './emurun.js';
import { EXCLUDED, FAULT_MNEMONICS, MNEMONICS, SEQ_KEYS, enumerateForms, generate, usable } from './gen.js';
import { buildNative, nativeAvailable } from './native.js';
import { CORPUS_PATH } from './regen.js';
import { wasmTier } from '../../../src/emu/wasm.js';

const LONG = process.env.KTRACE_LONG === '1';
const corpus = readCorpus(CORPUS_PATH);

interface Report { cases: number; forms: Set<string>; wrong: Map<string, string[]>; unimplemented: Map<string, string>; wasmForms: Set<string> }

/** Runs cases on the emulator and sorts disagreements into wrong results and #UD (not implemented). */
function replay(entries: { input: CaseInput; out: CaseOutput }[], compiled = false): Report {
  const emu = new EmuRunner({ compiled });
  const rep: Report = { cases: 0, forms: new Set(), wrong: new Map(), unimplemented: new Map(), wasmForms: new Set() };
  for (const { input, out } of entries) {
    const x = expandInput(input);
    const before = wasmTier.retired;
    const got = emu.run(input, x);
    if (wasmTier.retired !== before) rep.wasmForms.add(input.form);
    rep.cases++;
    rep.forms.add(input.form);
    if (got.kind === 'fault' && got.vector === 6 && (out.ok || out.vector !== 6)) {
      if (!rep.unimplemented.has(input.form)) rep.unimplemented.set(input.form, `${decodeCase(input.code).text} (${input.code}): ${got.what}`);
      continue;
    }
    const diff = compareCase(input, x, out, got);
    if (diff) {
      const list = rep.wrong.get(input.form) ?? [];
      list.push(diff);
      rep.wrong.set(input.form, list);
    }
  }
  return rep;
}

function describe(rep: Report, label: string): { wrong: string; unimpl: string } {
  const forms = [...rep.wrong.keys()];
  const nWrong = forms.reduce((a, f) => a + rep.wrong.get(f)!.length, 0);
  const wrong = forms.length === 0 ? '' :
    `${label}: ${nWrong} cases in ${forms.length} forms disagree with the host CPU.\n` +
    `forms: ${forms.join(' ')}\n\n` +
    forms.slice(0, 40).map((f) => rep.wrong.get(f)![0]).join('\n\n') +
    (forms.length > 40 ? `\n\n(first case of the first 40 forms shown)` : '');
  const un = [...rep.unimplemented.entries()];
  const unimpl = un.length === 0 ? '' :
    `${label}: ${un.length} forms raise #UD in the emulator but run on the host:\n` + un.map(([f, w]) => `  ${f}: ${w}`).join('\n');
  return { wrong, unimpl };
}

// The corpus replay is shared by the tests below; run it once.
let corpusReport: Report | null = null;
function corpusRun(): Report {
  if (!corpusReport) {
    // the default run replays every other case and the first of each form (every form runs), KTRACE_LONG=1 all
    const seen = new Set<string>();
    const entries = corpus.entries.filter((e, i) => {
      const first = !seen.has(e.form);
      seen.add(e.form);
      return LONG || first || i % 2 === 0;
    });
    corpusReport = replay(entries.map((e: CorpusEntry) => ({ input: e, out: e.out })));
    const faults = entries.filter((e) => !e.out.ok).length;
    console.log(`\nNOTE hostdiff corpus: ${corpusReport.cases} cases over ${corpusReport.forms.size} instruction forms ` +
      `(${faults} fault on the host: #DE, #PF, #GP, #UD, #BP), host ${String(corpus.header.cpu)}; ` +
      `${corpusReport.wrong.size} forms disagree, ${corpusReport.unimplemented.size} forms #UD`);
  }
  return corpusReport;
}

test('generator: deterministic, one source of forms, covers every mnemonic the issue lists', () => {
  const a = generate(7, 2), b = generate(7, 2);
  assert.equal(a.cases, b.cases, 'same seed must give the same cases');
  assert.not.equal(generate(8, 2).cases.map((c) => c.code), a.cases.map((c) => c.code), 'another seed must give other cases');
  assert.equal(a.unencodable, [], 'every form must be encodable');
  const mnems = new Set(a.forms.map((f) => f.mnemonic));
  const missing = [...MNEMONICS, ...FAULT_MNEMONICS].filter((m) => !mnems.has(m));
  assert.equal(missing, [], 'mnemonics without any generated form');
  for (const c of a.cases) {
    const d = decodeCase(c.code);
    assert.ok(!d.text.startsWith('(bad)'), `${c.form}: ${c.code} does not decode`);
  }
  assert.ok(Object.keys(EXCLUDED).every((k) => !a.forms.some((f) => f.codeName === k)));
});

test('corpus: matches the current generator (regenerate it when forms change)', () => {
  const want = new Set([...enumerateForms().map((f) => f.key), ...SEQ_KEYS]);
  const have = new Set(corpus.entries.map((e) => e.form));
  const stale = [...have].filter((f) => !want.has(f));
  const uncovered = [...want].filter((f) => !have.has(f));
  assert.equal(stale, [], 'corpus forms the generator no longer makes');
  assert.equal(uncovered, [], 'generator forms missing from the corpus: run regen.js');
  for (const e of corpus.entries.slice(0, 200)) {
    if (!e.out.ok) continue;
    const s = applyOutput(expandInput(e), e.out);
    assert.is(s.regs.length, 16);
  }
});

test('corpus: still what this host CPU computes (sample re-run natively)', () => {
  const avail = nativeAvailable();
  if (!avail.ok) { console.log(`\nSKIP hostdiff native re-run: ${avail.reason}`); return; }
  const step = LONG ? 1 : 17;
  const sample = corpus.entries.filter((_, i) => i % step === 0);
  const native = buildNative();
  try {
    const outs = native.run(sample);
    const bad: string[] = [];
    sample.forEach((e, i) => {
      const o = outs[i], c = e.out;
      const sameEnd = c.ok && o.ok ||
        !c.ok && !o.ok && c.vector === o.vector && c.rip === o.rip && c.err === o.err && c.addr === o.addr;
      const m = ~decodeCase(c.ok ? e.code : e.code.slice(0, 2 * c.rip)).undefinedFlags;
      const x = expandInput(e);
      const a = applyOutput(x, c), b = applyOutput(x, o);
      if (!sameEnd || (a.flags & m) !== (b.flags & m) || a.regs.some((v, j) => v !== b.regs[j]) || a.data.some((v, j) => v !== b.data[j])) {
        bad.push(`${e.form} ${e.code}: corpus ${JSON.stringify(e.out)} host ${JSON.stringify(o)}`);
      }
    });
    console.log(`\nNOTE hostdiff native re-run: ${sample.length} corpus cases on this host`);
    assert.equal(bad.slice(0, 10), [], `${bad.length} corpus cases differ from this host`);
  } finally {
    native.dispose();
  }
});

test('emulator: every instruction form in the corpus gives the host\'s registers, flags and memory', () => {
  const { wrong } = describe(corpusRun(), 'corpus');
  if (wrong) assert.unreachable(wrong);
});

test('emulator: no form in the corpus raises #UD (all are implemented)', () => {
  const { unimpl } = describe(corpusRun(), 'corpus');
  if (unimpl) assert.unreachable(unimpl);
});

test('compiled blocks and the WebAssembly tier (forced): every form in the corpus gives the host\'s results', () => {
  // every case's block compiled on its first entry and entered as a wasm region at once (a wasm compile
  // per case: the slow part of this file); the default run replays a sample, every 3rd case but at most
  // 2 of each form (every form still runs), KTRACE_LONG=1 all of them
  const perForm = new Map<string, number>();
  const entries = corpus.entries.filter((e, i) => {
    if (LONG) return true;
    if (i % 3 !== 0) return false;
    const k = perForm.get(e.form) ?? 0;
    perForm.set(e.form, k + 1);
    return k < 2;
  }).map((e: CorpusEntry) => ({ input: e, out: e.out }));
  const js = describe(replay(entries, true), 'compiled blocks');
  if (js.wrong) assert.unreachable(js.wrong);
  const saved = { ...wasmTier };
  wasmTier.on = true; wasmTier.hot = 1; wasmTier.maxRegion = 8;
  const before = wasmTier.retired;
  let forms: Set<string>;
  try {
    const r = replay(entries, true);
    forms = r.wasmForms;
    const rep = describe(r, 'wasm tier');
    if (rep.wrong) assert.unreachable(rep.wrong);
    if (rep.unimpl) assert.unreachable(rep.unimpl);
  } finally { Object.assign(wasmTier, { on: saved.on, hot: saved.hot, maxRegion: saved.maxRegion }); }
  const ran = wasmTier.retired - before;
  console.log(`\nNOTE hostdiff wasm tier: ${entries.length} cases, ${forms.size} forms ran in WebAssembly (${ran} instructions)`);
  // the forms the tier translates (mov, movzx/movsx, lea, add/sub/cmp/and/or/xor/test, neg/not, shifts and
  // rotates by constants, imul, push/pop, jcc, jmp, call/ret): well over a hundred in the corpus
  assert.ok(forms.size >= 100, `only ${forms.size} forms ran in WebAssembly`);
});

test('emulator vs host on fresh cases (KTRACE_LONG=1)', () => {
  if (!LONG) { console.log('\nSKIP hostdiff fresh cases: set KTRACE_LONG=1'); return; }
  const avail = nativeAvailable();
  if (!avail.ok) { console.log(`\nSKIP hostdiff fresh cases: ${avail.reason}`); return; }
  const seed = Number(process.env.KTRACE_HOSTDIFF_SEED ?? (Date.now() % 0x7fffffff));
  const perForm = Number(process.env.KTRACE_HOSTDIFF_PER_FORM ?? 64);
  const { cases } = generate(seed, perForm);
  const native = buildNative();
  let outs: CaseOutput[];
  try { outs = native.run(cases); } finally { native.dispose(); }
  const rep = replay(cases.map((c, i) => ({ input: c, out: outs[i] })).filter((e) => usable(e.input, e.out)));
  console.log(`\nNOTE hostdiff fresh: seed ${seed} (KTRACE_HOSTDIFF_SEED=${seed} repeats it), ${rep.cases} cases over ${rep.forms.size} forms`);
  const { wrong, unimpl } = describe(rep, `seed ${seed}`);
  if (wrong || unimpl) assert.unreachable([wrong, unimpl].filter(Boolean).join('\n\n'));
});

test.run();
