// Boot snapshots of real Linux (src/kernel/snapshot.ts with kernel/linux/platform.ts): a run restored
// from the state where /init starts is byte-identical to a cold boot. A cold boot of Linux costs about
// 30 s of CPU, so the default run boots cold once: the snapshot comes from the cache (scripts/test.mjs
// makes it first, in the run's cache shared by the Linux tests; run alone, this file makes it), and one
// run boots cold, with probes on code boot runs (refused, so the boot hits are counted) beside the probes the restored runs carry. Probes change no result
// (transparency), so the cold probed run is the reference for the restored ones. KTRACE_LONG adds the
// plain --no-snapshot comparison and a corrupt snapshot rebuilt (two more boots).
// linux-snapshots: 1 (the boot snapshots this file restores: scripts/test.mjs makes them first)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Image } from '../../src/elf/image.js';
import { FIXTURES } from '../../src/paths.js';
import { parseWorkload } from '../../src/kernel/workload/parser.js';
import { runScript, type RunOptions, type RunResult } from '../../src/kernel/session.js';
import { runResultJson } from '../../src/output/run-summary.js';
import type { Platform } from '../../src/kernel/platform.js';
import { bundledLinuxPath, LINUX_FIXTURE_DIR } from '../../src/kernel/linux/bundle.js';
import '../../src/kernel/linux/task-layout.js'; // Linux's task layout reader (kernel/task-layout.ts)
import { KprobeManager, KretprobeManager, Optimizer } from '../../src/kprobe/index.js';
import { Disassembler } from '../../src/elf/disasm.js';
import { cacheEnabled, cacheRoot, checksum } from '../../src/cache.js';

const built = existsSync(join(LINUX_FIXTURE_DIR, 'vmlinux.br'));
const image = built ? Image.load(readFileSync(bundledLinuxPath())) : undefined;
const src = readFileSync(join(FIXTURES, 'workloads', 'cat.wl'), 'utf8');
const LONG = process.env.KTRACE_LONG === '1';

interface Out { r: RunResult; json: string; booted: string; why: string; hits: string[] }
function run(snapshot: boolean, attach?: (p: Platform, hits: string[]) => void, extra: Partial<RunOptions> = {}): Out {
  let pl!: Platform;
  const hits: string[] = [];
  const r = runScript(image!, parseWorkload('cat.wl', src), {
    cpus: 1, seed: 1, maxInsns: 400_000_000, snapshot, ...extra,
    attach: (p) => { pl = p; attach?.(p, hits); },
  });
  return {
    r, json: runResultJson({ ...r, hostSeconds: 0, mips: 0 }), booted: pl.bootedFrom.kind, why: pl.bootedFrom.why, hits,
  };
}
/** The results with what probes add taken out (probes are transparent: nothing else may differ). */
const unprobed = (o: Out) => runResultJson({ ...o.r, hostSeconds: 0, mips: 0, probeInstructions: 0 });

// vfs_read (the workload's reads; boot runs none of it): an ftrace-path entry probe, which waits for
// the kernel's ftrace_init to put its nop at the site, and a kretprobe; hits with the guest clock.
function vfsProbes(p: Platform, hits: string[]): KprobeManager {
  const mgr = KprobeManager.attach(p);
  const krp = KretprobeManager.attach(p, mgr);
  Optimizer.attach(p, mgr);
  const clock = () => p.machine.cpus.map((c) => c.instret).join(',');
  assert.is(mgr.registerKprobe({ symbolName: 'vfs_read', preHandler: (_k, regs) => { hits.push(`in ${regs.ip} ${regs.si} ${clock()}`); return 0; } }), 0);
  assert.is(krp.registerKretprobe({ kp: { symbolName: 'vfs_read' }, handler: (_ri, regs) => { hits.push(`ret ${regs.ax} ${clock()}`); } }), 0);
  return mgr;
}
// ... and an int3 probe inside a function boot runs (not at its ftrace site): the run boots cold
function withBootProbe(p: Platform, hits: string[]): void {
  const mgr = vfsProbes(p, hits);
  const at = p.image.symbolAddr('vprintk_emit')!;
  const d = new Disassembler(p.image);
  const second = d.lines(at, at + 32)[1].addr; // past the ftrace site
  d.free();
  assert.is(mgr.registerKprobe({ addr: second, preHandler: () => { hits.push(`printk ${p.instructions}`); return 0; } }), 0);
}

let cold: Out | undefined;
test('a probe on code boot runs boots cold and counts its boot hits; no boot WARNING from an early ftrace probe', () => {
  if (!image) { console.log('SKIP fixtures/linux/vmlinux.br not built yet'); return; }
  if (!cacheEnabled()) { console.log('SKIP the cache is off (KTRACE_NO_CACHE): no boot snapshot'); return; }
  // The code entries serve runs from the snapshot: a cold boot must not add its ~100,000 records of boot code
  // to them (an entry ~5x larger, every later run ~4x slower). This run goes in a copy of the cache's
  // snapshots and code entries, where no other test file writes meanwhile, and leaves those entries as they were.
  const shared = cacheRoot(), own = mkdtempSync(join(tmpdir(), 'ktrace-cold-'));
  for (const kind of ['snapshot', 'code']) if (existsSync(join(shared, kind))) cpSync(join(shared, kind), join(own, 'ktrace', kind), { recursive: true });
  const codeDir = join(own, 'ktrace', 'code');
  // (V8's compiled code of an entry's script, NAME.v8, is left out: one that another test file's process wrote
  // for an older version of its entry is stale, and reading it rightly removes it)
  const code = () => (existsSync(codeDir) ? readdirSync(codeDir).filter((n) => !n.includes('.tmp-') && !n.endsWith('.v8')).sort() : [])
    .map((n) => `${n} ${checksum(readFileSync(join(codeDir, n)))}`).join('\n');
  const before = code(), saved = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = own;
  try {
    cold = run(true, withBootProbe);
  } finally {
    if (saved === undefined) delete process.env.XDG_CACHE_HOME; else process.env.XDG_CACHE_HOME = saved;
  }
  assert.is(code(), before, 'the code entries are as they were');
  // a snapshot made there (this file run alone) serves the runs below
  const ownSnap = join(own, 'ktrace', 'snapshot'), sharedSnap = join(shared, 'snapshot');
  for (const n of existsSync(ownSnap) ? readdirSync(ownSnap).filter((f) => !f.includes('.tmp-')) : []) {
    if (existsSync(join(sharedSnap, n))) continue;
    mkdirSync(sharedSnap, { recursive: true });
    cpSync(join(ownSnap, n), join(sharedSnap, `${n}.tmp-${process.pid}`));
    renameSync(join(sharedSnap, `${n}.tmp-${process.pid}`), join(sharedSnap, n));
  }
  rmSync(own, { recursive: true, force: true });
  assert.is(cold.booted, 'cold');
  assert.match(cold.why, 'code boot executed');
  assert.is(cold.r.end.kind, 'poweroff', cold.r.console.slice(-2000));
  assert.equal(cold.r.failures, []);
  assert.not.match(cold.r.console, 'WARNING', 'the kernel\'s ftrace_init found its call sites as it left them');
  const printk = cold.hits.filter((h) => h.startsWith('printk '));
  assert.ok(printk.length > 100, `vprintk_emit hit during boot (${printk.length})`);
  assert.ok(cold.hits.filter((h) => h.startsWith('in ')).length === cold.r.syscalls.read.count, 'one vfs_read hit per read');
});

test('restored from the snapshot: byte-identical results and identical vfs_read hits', () => {
  if (!image || !cold) return;
  const warm = run(true, vfsProbes);
  assert.is(warm.booted, 'snapshot', warm.why);
  const vfs = (o: Out) => o.hits.filter((h) => !h.startsWith('printk '));
  assert.equal(vfs(warm), vfs(cold));
  assert.is(unprobed(warm), unprobed(cold));
  assert.ok(warm.r.probeInstructions > 0);
  const plain = run(true);
  assert.is(plain.booted, 'snapshot', plain.why);
  assert.is(plain.r.probeInstructions, 0);
  assert.is(unprobed(plain), unprobed(cold));
});

test('--no-snapshot gives the same output as the snapshot (test:long: one more boot)', () => {
  if (!image || !cold || !LONG) return;
  const a = run(false, vfsProbes), b = run(true, vfsProbes);
  assert.is(a.booted, 'cold');
  assert.is(b.booted, 'snapshot', b.why);
  assert.is(b.json, a.json);
  assert.equal(b.hits, a.hits);
});

test('a corrupt Linux snapshot is detected and rebuilt (test:long: one more boot)', () => {
  if (!image || !cold || !LONG) return;
  const cache = mkdtempSync(join(tmpdir(), 'ktrace-snap-linux-'));
  const saved = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = cache;
  try {
    // the expanded kernel stays where it is: only the snapshot goes to the new cache
    const good = run(true);
    assert.is(good.booted, 'snapshot', good.why);
    const dir = join(cache, 'ktrace', 'snapshot');
    for (const f of readdirSync(dir).filter((n) => !n.includes('.tmp-'))) {
      const b = readFileSync(join(dir, f));
      b[b.length - 5000] ^= 0xff;
      writeFileSync(join(dir, f), b);
    }
    const again = run(true);
    assert.is(again.booted, 'snapshot', again.why);
    assert.is(again.json, good.json);
  } finally {
    if (saved === undefined) delete process.env.XDG_CACHE_HOME; else process.env.XDG_CACHE_HOME = saved;
    rmSync(cache, { recursive: true, force: true });
  }
});

test.run();
