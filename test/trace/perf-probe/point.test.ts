import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { probePointAt, resolvePoint, scopeDepthFor, symbolAt } from '../../../src/trace/perf-probe/point.js';
import { compilePerfProbe } from '../../../src/trace/perf-probe/compile.js';
import { functionRows, reverseLine } from '../../../src/trace/perf-probe/lines.js';
import { elfSymbolLookup, functionSymbolsLookup } from '../../../src/trace/perf-probe/funcs.js';
import { fixtureDwarf, readSource } from './fixture.js';
import { DW_TAG } from '../../../src/dwarf/index.js';
import { fixtureImage } from '../../elf/fixture.js';

const d = fixtureDwarf().dwarf;

test('function points: every instance, SYM+OFF agrees with the ELF symbol table', () => {
  const img = fixtureImage();
  const r = resolvePoint(d, { function: 'rw_verify_area', offset: 0, retprobe: false });
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.is(r.value.length, 3);
  for (const p of r.value) {
    const sym = img.functionAt(p.address)!;
    assert.is(sym.name, p.symbol);
    assert.is(p.address - sym.addr, p.symbolOffset);
    assert.ok(scopeDepthFor(d, p) >= 0);
  }
  const ret = resolvePoint(d, { function: 'rw_verify_area', offset: 0, retprobe: true });
  assert.ok(ret.ok && ret.value.length === 1 && ret.value[0]!.symbol === 'rw_verify_area');
  // The return probe names the function's own symbol: with the kernel's symbol table it must be there
  // (a body kept only as a clone, foo.isra.0, is refused as perf does).
  const symbol = (n: string) => img.functionNamed(n)?.addr;
  const withSyms = resolvePoint(d, { function: 'rw_verify_area', offset: 0, retprobe: true }, { symbol });
  assert.ok(withSyms.ok && withSyms.value[0]!.symbol === 'rw_verify_area');
  const cloneOnly = resolvePoint(d, { function: 'rw_verify_area', offset: 0, retprobe: true }, { symbol: (n) => (n === 'rw_verify_area' ? undefined : symbol(n)) });
  assert.equal(cloneOnly, { ok: false, reason: 'Failed to find symbol rw_verify_area in kernel' });
});

test("perf's alternative point: a symbol with no DWARF function of its name, at a function's entry, is that function", () => {
  const img = fixtureImage();
  const entry = img.functionNamed('vfs_read')!.addr;
  // An alias as SYSCALL_DEFINE0 makes (__x64_sys_getpid at __do_sys_getpid): a name the DWARF lacks, at vfs_read's entry.
  const symbol = (n: string) => (n === 'alias_of_vfs_read' ? entry : n === 'inside_vfs_read' ? entry + 1 : img.functionNamed(n)?.addr);
  const sites = (r: ReturnType<typeof resolvePoint>) => (r.ok ? r.value.map((p) => `${p.symbol}+${p.symbolOffset}`) : [r.reason]);
  const want = resolvePoint(d, { function: 'vfs_read', offset: 0, retprobe: false });
  assert.ok(want.ok);
  for (const [opts, ok] of [[{ symbol, alternative: true }, true], [{ symbol, alternative: true, needsDwarf: true }, true], [{ symbol, needsDwarf: true }, false]] as const) {
    const r = resolvePoint(d, { function: 'alias_of_vfs_read', offset: 0, retprobe: false }, opts);
    if (ok) assert.equal(sites(r), sites(want), JSON.stringify(opts));
    else assert.equal(r, { ok: false, reason: "Probe point 'alias_of_vfs_read' not found." });
  }
  // FUNC:RLN and +OFFS carry over; a symbol inside a function is that function's line there (probePointAt),
  // and where that line has no probe address, the name is not found.
  assert.equal(sites(resolvePoint(d, { function: 'alias_of_vfs_read', offset: 0, line: 2, retprobe: false }, { symbol, alternative: true })),
    sites(resolvePoint(d, { function: 'vfs_read', offset: 0, line: 2, retprobe: false })));
  assert.equal(resolvePoint(d, { function: 'inside_vfs_read', offset: 0, retprobe: false }, { symbol, alternative: true, needsDwarf: true }),
    { ok: false, reason: "Probe point 'inside_vfs_read' not found." });
});

test("perf's alternative point inside a function (a foo.cold symbol): that function's line at the address", () => {
  const img = fixtureImage();
  const f = d.functionsByName('vfs_read').find((x) => x.kind === 'function')!;
  // A line start inside vfs_read's own code (not an inlined callee's) that reads back as itself.
  const row = functionRows(d, f).find((r) => r.address > f.entryPc && r.path === f.declFile && reverseLine(d, r.address)?.line === r.line
    && d.scopeAt(r.address).every((s) => s.kind !== 'inline'))!;
  assert.ok(row, 'a line of vfs_read');
  const rel = row.line - f.declLine!;
  assert.equal(probePointAt(d, row.address), { function: 'vfs_read', file: f.declFile, line: rel, offset: 0 });
  assert.equal(probePointAt(d, f.entryPc), { function: 'vfs_read', file: f.declFile, line: 0, offset: 0 });
  const symbol = (n: string) => (n === 'vfs_read.cold' ? row.address : img.functionNamed(n)?.addr);
  const sites = (r: ReturnType<typeof resolvePoint>) => (r.ok ? r.value.map((p) => p.address) : [r.reason]);
  assert.equal(sites(resolvePoint(d, { function: 'vfs_read.cold', offset: 0, retprobe: false }, { symbol, alternative: true })),
    sites(resolvePoint(d, { function: 'vfs_read', file: f.declFile!, line: rel, offset: 0, retprobe: false })));
});

test('addresses named as perf names them: the ELF symbol there in kprobe_events lines; return probes on the symbols of the name', () => {
  const img = fixtureImage();
  const entry = img.functionNamed('rw_verify_area')!.addr;
  // The fixture has no clones: an ELF symbol of another name at the entry stands for rw_verify_area.part.0.
  const elfSymbol = (a: number) => (a === entry ? { name: 'rw_verify_area.part.0', addr: entry } : elfSymbolLookup(img)(a));
  const r = compilePerfProbe(d, ['rw_verify_area'], { elfSymbol });
  assert.ok(r.ok);
  if (!r.ok) return;
  const body = r.value.find((e) => e.point.address === entry)!;
  assert.ok(body.line.endsWith(' rw_verify_area.part.0+0'), body.line);
  // A function with an entry address (DW_AT_low_pc) keeps its DWARF name in -V (convert_to_trace_point).
  assert.is(body.point.listedAt, undefined);
  // The inlined copies' addresses keep their names (the ELF symbol there is the DWARF function).
  const plain = compilePerfProbe(d, ['rw_verify_area']);
  assert.ok(plain.ok);
  if (plain.ok) assert.equal(r.value.filter((e) => e !== body).map((e) => e.line), plain.value.filter((e) => e.point.address !== entry).map((e) => e.line));
  // FUNC%return: one probe per function symbol of the name (two static copies here), not the debug info's.
  const two = (n: string) => (n === 'rw_verify_area' ? [entry, entry + 0x40] : functionSymbolsLookup(img)(n));
  const ret = compilePerfProbe(d, ['rw_verify_area%return', '$retval'], { functionSymbols: two });
  assert.ok(ret.ok && ret.value.length === 2 && ret.value.every((e) => / rw_verify_area\+0 \$retval$/.test(e.line)), JSON.stringify(ret));
  assert.equal(compilePerfProbe(d, ['no_such_fn%return'], { functionSymbols: functionSymbolsLookup(img) }), { ok: false, reason: 'Failed to find symbol no_such_fn in kernel' });
});

test('line and lazy points; symbolAt', () => {
  const l = resolvePoint(d, { function: 'vfs_read', line: 10, offset: 0, retprobe: false });
  assert.ok(l.ok && l.value.length === 1 && l.value[0]!.line === 30 && l.value[0]!.symbolOffset === 49);
  const lazy = resolvePoint(d, { function: 'vfs_read', lazy: 'return*', offset: 0, retprobe: false }, { readSource });
  assert.ok(lazy.ok && lazy.value.map((p) => p.line).join() === '35');
  const noSrc = resolvePoint(d, { function: 'vfs_read', lazy: 'return*', offset: 0, retprobe: false });
  assert.ok(!noSrc.ok && /source file/.test(noSrc.reason));
  // SRC;PTN: the `return file->f_op->...(...)` lines of vfs_read (35) and vfs_write.
  const fl = resolvePoint(d, { file: 'fs/read_write.c', lazy: 'return file->f_op->*', offset: 0, retprobe: false }, { readSource });
  assert.ok(fl.ok, fl.ok ? '' : fl.reason);
  if (fl.ok) assert.equal(fl.value.map((p) => p.symbol).sort(), ['vfs_read', 'vfs_write']);
  const f = d.functionsByName('vfs_read')[0]!;
  const at = symbolAt(d, f.entryPc + 5);
  assert.equal(at && { name: at.name, entry: at.entry }, { name: 'vfs_read', entry: f.entryPc });
  assert.is(at?.die, f.die);
  assert.is(symbolAt(d, 0), undefined);
});

test('symbolAt with a function instance as hint: the answer of the scope walk, at every address of every function', () => {
  let n = 0;
  for (const u of d.units()) {
    for (const die of u.dies()) {
      if (die.tag !== DW_TAG.subprogram && die.tag !== DW_TAG.inlined_subroutine) continue;
      const f = d.functionInstance(die);
      if (!f) continue;
      for (const r of f.ranges) {
        for (let pc = r.low; pc < r.high; pc += Math.max(1, (r.high - r.low) >> 3)) {
          assert.equal(symbolAt(d, pc, f), symbolAt(d, pc), `${f.name} (${f.kind}) at ${pc.toString(16)}`);
          n++;
        }
      }
    }
  }
  assert.ok(n > 100, `${n} addresses`);
});

test.run();
