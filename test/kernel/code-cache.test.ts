// Decoded instructions kept across runs (src/kernel/code-cache.ts): a run that takes its ops from the
// cache decodes nothing again, generates no code (single instructions, blocks), and ends byte-identically
// to runs without it; a corrupt entry is rebuilt.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Image } from '../../src/elf/image.js';
import { DEFAULT_VMLINUX, FIXTURES } from '../../src/paths.js';
import { parseWorkload } from '../../src/kernel/workload/parser.js';
import { runScript } from '../../src/kernel/session.js';
import { runResultJson } from '../../src/output/run-summary.js';
import type { Platform } from '../../src/kernel/platform.js';
import { pageGet, shapeLog, toRecord, type Op, type OpRecord } from '../../src/emu/decode.js';
import { blockSources } from '../../src/emu/compile.js';
import { builtFingerprint, computeFingerprint, jitState } from '../../src/kernel/code-cache.js';
import { readCache, writeCache } from '../../src/cache.js';
import { Disassembler } from '../../src/elf/disasm.js';
import { blockPrint, type Machine } from '../../src/emu/machine.js';
import type { Block } from '../../src/emu/decode.js';

const image = Image.load(readFileSync(DEFAULT_VMLINUX));
const src = readFileSync(join(FIXTURES, 'workloads', 'default.wl'), 'utf8');
const cache = mkdtempSync(join(tmpdir(), 'ktrace-code-'));
process.env.XDG_CACHE_HOME = cache;
delete process.env.KTRACE_NO_CACHE;

function run(): { json: string; decoded: number; reused: number; machine: Machine } {
  let pl!: Platform;
  const r = runScript(image, parseWorkload('default.wl', src), { cpus: 2, seed: 1, maxInsns: 200_000_000, snapshot: false, attach: (p) => { pl = p; } });
  return { json: runResultJson({ ...r, hostSeconds: 0, mips: 0 }), decoded: pl.machine.decoder.decoded, reused: pl.machine.decoder.reused, machine: pl.machine };
}
/** The blocks of a machine's pages that start where they are listed (each block once). */
function blocksOf(m: Machine): Block[] {
  const out: Block[] = [];
  for (const pg of m.mem.allPages()) if (pg.blist && pg.blocks) for (const b of pg.blist) if (pageGet(pg.blocks, b.ips[0] - pg.base) === b) out.push(b);
  return out;
}
/** The results of the first (cold) run: every later run must end the same. */
let coldJson = '';
const entries = () => readdirSync(join(cache, 'ktrace', 'code')).filter((f) => !f.includes('.tmp-')).sort();

test('a run from the code cache decodes nothing again, makes the ops iced decodes, and ends byte-identically to runs without it', () => {
  const cold = run();
  coldJson = cold.json;
  assert.ok(cold.decoded > 1000, `decoded ${cold.decoded}`);
  assert.is(cold.reused, 0);
  assert.is(entries().length, 1);
  const learned = shapeLog.learned, blocks = blockSources.learned;
  assert.ok(learned > 100, `shapes learned ${learned}`);
  assert.ok(blocks > 50, `block sources learned ${blocks}`);
  blockSources.map.clear(); // as in a new process: block sources come from the entry only
  const warm = run();
  assert.is(warm.decoded, 0, 'every instruction came from the cache');
  assert.is(shapeLog.learned, learned, 'and every single-instruction function source');
  assert.is(warm.reused, cold.decoded);
  assert.is(warm.json, cold.json);
  // the blocks the cold run compiled are compiled when built (the entry names them: Machine.hotHint)
  const compiled = blocksOf(cold.machine).filter((b) => b.fn !== null && b.valid);
  assert.ok(compiled.length > 20, `${compiled.length} blocks compiled`);
  const hint = warm.machine.hotHint!;
  const log = cold.machine.compiledLog;
  assert.equal([...hint.keys()].sort(), [...new Set(log.filter((_, i) => i % 2 === 0))].sort(), 'every block the cold run compiled');
  assert.ok(compiled.every((b) => hint.get(b.ips[0]) === blockPrint(b.ops)));
  const hinted = blocksOf(warm.machine).filter((b) => hint.get(b.ips[0]) === blockPrint(b.ops) && b.valid);
  assert.ok(hinted.length > 20 && hinted.every((b) => b.fn !== null), `${hinted.length} hinted blocks built`);
  assert.is(cold.machine.hotHint, null);
  // compiled alone when built, they take no other blocks along: the warm run compiles what the cold one did
  assert.is(blockSources.learned, blocks, 'every compiled block source came from the entry');
  assert.equal(blocksOf(warm.machine).filter((b) => b.fn !== null && b.valid).map((b) => b.ips[0]).sort(), compiled.map((b) => b.ips[0]).sort());
  // the warm run compiled the entry's sources as one script and left V8's code of it for the next run
  assert.is(jitState(), 'compiled');
  assert.equal(entries().map((f) => f.endsWith('.v8')), [false, true]);
  blockSources.map.clear();
  const cached = run();
  assert.is(jitState(), 'cached');
  assert.is(cached.decoded, 0);
  assert.is(cached.json, cold.json);
  process.env.KTRACE_NO_CACHE = '1';
  let off: ReturnType<typeof run>;
  try {
    off = run();
    assert.is(off.reused, 0);
    assert.is(off.json, cold.json);
  } finally { delete process.env.KTRACE_NO_CACHE; }
  // the ops the cached run made from the entry are the ops iced decoded without it, field for field (an
  // op as a record, without its shape, learned as the run goes, or its function)
  const plain = (o: Op): string => JSON.stringify([toRecord({ ...o, shape: null, fn: null }), o.bad, o.faultAddr, o.probe]);
  const opsOf = (m: Machine): Map<number, string> => {
    const out = new Map<number, string>();
    for (const pg of m.mem.allPages()) if (pg.ops) for (const o of pg.ops.flat()) if (o !== undefined) out.set(o.ip, plain(o));
    return out;
  };
  const made = opsOf(cached.machine), decoded = opsOf(off.machine);
  assert.ok(made.size > 1000, `${made.size} ops`);
  assert.equal([...made.keys()].sort(), [...decoded.keys()].sort());
  for (const [ip, o] of made) assert.is(o, decoded.get(ip), `op at ${ip}`);
  // and the entry reads back as written: its records, as the cached run would write them again, are the
  // uncached run's (shapes aside)
  const recs = (l: OpRecord[]) => l.map((r) => JSON.stringify(r.slice(0, 24))).sort();
  assert.equal(recs(cached.machine.decoder.records(true)!), recs(off.machine.decoder.records()!));
});

test('a warm start in a new process loads no iced-x86 (all its instructions come from the entry)', () => {
  const mod = (p: string) => JSON.stringify(new URL(p, import.meta.url).href);
  const child = `
    import { readFileSync } from 'node:fs';
    const { Image } = await import(${mod('../../src/elf/image.js')});
    const { parseWorkload } = await import(${mod('../../src/kernel/workload/parser.js')});
    const { runScript } = await import(${mod('../../src/kernel/session.js')});
    const { icedLoaded } = await import(${mod('../../src/emu/iced.js')});
    const image = Image.load(readFileSync(${JSON.stringify(DEFAULT_VMLINUX)}));
    let pl;
    runScript(image, parseWorkload('default.wl', ${JSON.stringify(src)}), { cpus: 2, seed: 1, maxInsns: 200_000_000, snapshot: false, attach: (p) => { pl = p; } });
    console.log(JSON.stringify({ decoded: pl.machine.decoder.decoded, iced: icedLoaded() }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', child], { env: { ...process.env, XDG_CACHE_HOME: cache }, encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout), { decoded: 0, iced: false });
});

test("probes' instruction work (decode, relocation, the optimizer's function analysis, detours) comes from the entry too: no iced, same results", () => {
  // vfs_read's entry (an ftrace-path probe), a kretprobe on it, and kprobe_target's second instruction (an
  // int3, then an optimized probe: the workload's selftest calls run it)
  const d = new Disassembler(image);
  const second = d.lines(image.symbolAddr('kprobe_target')!, image.symbolAddr('kprobe_target')! + 32)[1].addr;
  d.free();
  const mod = (p: string) => JSON.stringify(new URL(p, import.meta.url).href);
  const child = `
    import { readFileSync } from 'node:fs';
    const { Image } = await import(${mod('../../src/elf/image.js')});
    const { parseWorkload } = await import(${mod('../../src/kernel/workload/parser.js')});
    const { runScript } = await import(${mod('../../src/kernel/session.js')});
    const { runResultJson } = await import(${mod('../../src/output/run-summary.js')});
    const { KprobeManager, KretprobeManager, Optimizer } = await import(${mod('../../src/kprobe/index.js')});
    const { icedLoaded } = await import(${mod('../../src/emu/iced.js')});
    const image = Image.load(readFileSync(${JSON.stringify(DEFAULT_VMLINUX)}));
    const hits = [];
    const r = runScript(image, parseWorkload('default.wl', ${JSON.stringify(src)}), { cpus: 2, seed: 1, maxInsns: 200_000_000, snapshot: false, attach: (p) => {
      const mgr = KprobeManager.attach(p), krp = KretprobeManager.attach(p, mgr);
      const opt = Optimizer.attach(p, mgr);
      const clock = () => p.machine.cpus.map((c) => c.instret).join(',');
      for (const k of [{ symbolName: 'vfs_read' }, { addr: ${second} }]) {
        if (mgr.registerKprobe({ ...k, preHandler: (_k, regs) => { hits.push(k.addr ?? 0, String(regs.si), clock()); return 0; } }) !== 0) throw new Error('register');
      }
      if (krp.registerKretprobe({ kp: { symbolName: 'vfs_read' }, handler: (_ri, regs) => { hits.push('ret', String(regs.ax), clock()); } }) !== 0) throw new Error('kretprobe');
      p.sliceHooks.push(() => { if (opt.stateOf(${second}) === 'optimized') hits.push('optimized'); });
    } });
    console.log(JSON.stringify({ json: runResultJson({ ...r, hostSeconds: 0, mips: 0 }), hits, iced: icedLoaded() }));`;
  const own = mkdtempSync(join(tmpdir(), 'ktrace-code-probes-'));
  const go = () => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', child], { env: { ...process.env, XDG_CACHE_HOME: own }, encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as { json: string; hits: unknown[]; iced: boolean };
  };
  const cold = go();
  assert.ok(cold.hits.includes('optimized') && cold.hits.includes('ret'), 'hits on every probe path');
  const warm = go();
  assert.is(warm.iced, false, 'a warm probed run loads no iced-x86');
  assert.equal(warm.hits, cold.hits);
  assert.is(warm.json, cold.json);
  rmSync(own, { recursive: true, force: true });
});

test('a corrupt V8 code entry is not used, and is written again; results unchanged', () => {
  const path = join(cache, 'ktrace', 'code', entries().find((f) => f.endsWith('.v8'))!);
  const good = readFileSync(path);
  const bad = Buffer.from(good);
  bad[bad.length - 10] ^= 0xff;
  writeFileSync(path, bad);
  blockSources.map.clear();
  const r = run();
  assert.is(jitState(), 'compiled');
  assert.is(r.decoded, 0);
  assert.ok(readFileSync(path).length > 0, 'written again');
  const again = run();
  assert.is(jitState(), 'cached');
  assert.is(again.json, r.json);
});

test('a corrupt entry reads as absent and is rebuilt', () => {
  const path = join(cache, 'ktrace', 'code', entries().find((f) => !f.endsWith('.v8'))!);
  const good = readFileSync(path);
  const bad = Buffer.from(good);
  bad[bad.length - 10] ^= 0xff;
  writeFileSync(path, bad);
  const r = run();
  assert.is(r.reused, 0);
  assert.ok(r.decoded > 1000);
  assert.ok(readFileSync(path).equals(good), 'rewritten as it was');
  assert.is(run().decoded, 0);
});

test('an entry whose records name operand tables it lacks reads as absent (checksum and all valid): decoded again, same results', () => {
  const name = entries().find((f) => !f.endsWith('.v8'))!;
  const path = join(cache, 'ktrace', 'code', name);
  const good = readFileSync(path);
  const meta = JSON.parse(good.toString('utf8', 12, 12 + good.readUInt32LE(8))) as { key: string };
  const p = JSON.parse(readCache('code', name, meta.key)!.toString('utf8')) as { kinds: unknown[]; forms: unknown[]; mems: unknown[]; bytes: unknown[]; ops: number[][] };
  // the packed form: far fewer distinct instruction kinds, operand tuples, memory operands and byte strings
  // than records, and addresses as differences from the record before (sorted: none negative)
  assert.ok(p.forms.length > 10 && p.forms.length * 4 < p.ops.length, `${p.forms.length} tuples, ${p.ops.length} records`);
  assert.ok(p.kinds.length > 10 && p.kinds.length * 4 < p.ops.length, `${p.kinds.length} kinds`);
  assert.ok(p.mems.length * 2 < p.ops.length && p.bytes.length < p.ops.length);
  assert.ok(p.ops.slice(1).every((o) => o[0] >= 0));
  p.forms.pop();
  writeCache('code', name, meta.key, Buffer.from(JSON.stringify(p)));
  const r = run();
  assert.is(r.reused, 0);
  assert.ok(r.decoded > 1000);
  assert.is(r.json, coldJson);
  assert.is(run().decoded, 0, 'rewritten whole');
});

test('the fingerprint the build wrote is the one the sources hash to, and is not used when a file it covers is newer', () => {
  const emu = new URL('../../src/emu/', import.meta.url).pathname;
  const built = builtFingerprint(emu, []);
  if (built === undefined) console.log('SKIP built fingerprint: dist/src/emu/fingerprint.json is missing or stale (a build without `npm run build`)');
  else assert.is(built, computeFingerprint());
  // a directory of its own: the print is used only while nothing it covers is newer
  const dir = mkdtempSync(join(tmpdir(), 'ktrace-print-'));
  try {
    writeFileSync(join(dir, 'a.js'), 'x');
    writeFileSync(join(dir, 'fingerprint.json'), JSON.stringify({ fingerprint: 'ab'.repeat(12) }));
    const other = join(dir, 'other');
    writeFileSync(other, 'y');
    const t = Date.now() / 1000;
    utimesSync(join(dir, 'a.js'), t - 20, t - 20); utimesSync(other, t - 20, t - 20); utimesSync(join(dir, 'fingerprint.json'), t - 10, t - 10);
    assert.is(builtFingerprint(dir, [other]), 'ab'.repeat(12));
    utimesSync(other, t, t);
    assert.is(builtFingerprint(dir, [other]), undefined, 'a covered file is newer');
    utimesSync(other, t - 20, t - 20); utimesSync(join(dir, 'a.js'), t, t);
    assert.is(builtFingerprint(dir, [other]), undefined, 'a module is newer');
    utimesSync(join(dir, 'a.js'), t - 20, t - 20);
    writeFileSync(join(dir, 'fingerprint.json'), '{"fingerprint":"not hex"}');
    utimesSync(join(dir, 'fingerprint.json'), t - 10, t - 10);
    assert.is(builtFingerprint(dir, [other]), undefined, 'not a fingerprint');
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test.after(() => rmSync(cache, { recursive: true, force: true }));
test('an entry forgets what several runs in a row that wrote it did not use (it does not grow with every workload for ever)', () => {
  // each run in a new process's state: block sources come from the entry only
  const runOf = (text: string) => {
    blockSources.map.clear();
    let pl!: Platform;
    const r = runScript(image, parseWorkload('t.wl', text), { cpus: 1, seed: 1, maxInsns: 200_000_000, snapshot: false, attach: (p) => { pl = p; } });
    assert.equal(r.failures, []);
    return { json: runResultJson({ ...r, hostSeconds: 0, mips: 0 }), decoded: pl.machine.decoder.decoded };
  };
  rmSync(join(cache, 'ktrace', 'code'), { recursive: true, force: true }); // this test's entry from scratch
  const entry = () => readFileSync(join(cache, 'ktrace', 'code', entries().find((f) => !f.endsWith('.v8'))!));
  const opener = 'fd = openat "/etc/motd"\nexpect fd >= 3\nclose fd\n';
  const first = runOf(opener);
  // runs that each learn something (so each writes the entry) and never open a file
  const others = ['p = getpid\n', 'p = getppid\n', 'p = gettid\n', 'sched_yield\n', 't = buf 16\nr = clock_gettime 1 t\nexpect r == 0\n',
    'p = buf 8\nr = pipe2 p\nexpect r == 0\n', 's = socket 2 1 0\nexpect s >= 3\n'];
  let before = entry();
  for (const [i, text] of others.entries()) {
    runOf(text);
    const after = entry();
    assert.not.equal(after, before, `run ${i + 1} learned something and wrote the entry`);
    before = after;
    if (i === others.length - 2) {
      // six writing runs without the opener's code: it is still there (the rerun decodes nothing, writes nothing)
      const again = runOf(opener);
      assert.is(again.decoded, 0);
      assert.is(again.json, first.json);
      assert.equal(entry(), before);
    }
  }
  // the seventh: what only the opener ran is gone, decoded again (and the results are the same)
  const last = runOf(opener);
  assert.ok(last.decoded > 0, `decoded ${last.decoded}`);
  assert.is(last.json, first.json);
});

test.run();
