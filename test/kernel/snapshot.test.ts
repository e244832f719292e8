// Boot snapshots (src/kernel/snapshot.ts): a run restored from the cached state where /init starts must
// be byte-identical to a cold boot, probes (and the kprobe optimizer's delayed work) included; a probe in
// code boot executed boots cold; a corrupt snapshot is detected and rebuilt.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Image } from '../../src/elf/image.js';
import { DEFAULT_VMLINUX, FIXTURES } from '../../src/paths.js';
import { parseWorkload } from '../../src/kernel/workload/parser.js';
import { runScript, type RunOptions, type RunResult } from '../../src/kernel/session.js';
import { runResultJson } from '../../src/output/run-summary.js';
import type { Platform } from '../../src/kernel/platform.js';
import { KprobeManager, KretprobeManager, Optimizer } from '../../src/kprobe/index.js';
import { blockSources } from '../../src/emu/compile.js';
import { builtBootPrint, computeBootPrint } from '../../src/kernel/snapshot.js';

const image = Image.load(readFileSync(DEFAULT_VMLINUX));
const src = readFileSync(join(FIXTURES, 'workloads', 'default.wl'), 'utf8');
const cache = mkdtempSync(join(tmpdir(), 'ktrace-snap-'));
process.env.XDG_CACHE_HOME = cache;
delete process.env.KTRACE_NO_CACHE;

interface Out { json: string; booted: string; why: string; hits: string[] }
function run(cpus: number, snapshot: boolean, attach?: (p: Platform, hits: string[]) => void, extra: Partial<RunOptions> = {}): Out {
  let pl!: Platform;
  const hits: string[] = [];
  const r: RunResult = runScript(image, parseWorkload('default.wl', src), {
    cpus, seed: 1, maxInsns: 200_000_000, snapshot, ...extra,
    attach: (p) => { pl = p; attach?.(p, hits); },
  });
  return { json: runResultJson({ ...r, hostSeconds: 0, mips: 0 }), booted: pl.bootedFrom.kind, why: pl.bootedFrom.why, hits };
}
const snapshots = () => readdirSync(join(cache, 'ktrace', 'snapshot')).filter((f) => !f.includes('.tmp-'));

test('the default workload restored from the snapshot is byte-identical to a cold boot (1, 2, 4 CPUs)', () => {
  for (const cpus of [1, 2, 4]) {
    const cold = run(cpus, false);
    assert.is(cold.booted, 'cold');
    const first = run(cpus, true);   // makes the snapshot, then restores it
    const second = run(cpus, true);  // from the cache
    assert.is(first.booted, 'snapshot', first.why);
    assert.is(second.booted, 'snapshot', second.why);
    assert.is(first.json, cold.json);
    assert.is(second.json, cold.json);
  }
  assert.ok(snapshots().length >= 3);
});

test('the block sources the snapshot boot generated are forgotten: the code entry keeps the run\'s only', () => {
  const noEntry = () => { blockSources.map.clear(); rmSync(join(cache, 'ktrace', 'code'), { recursive: true, force: true }); };
  noEntry(); // every source is generated (none comes from a code entry)
  const learned = blockSources.learned;
  const first = run(1, true, undefined, { seed: 7 }); // boots to make the snapshot, then runs from it
  assert.is(first.booted, 'snapshot', first.why);
  const made = [...blockSources.map.keys()].sort();
  noEntry();
  const before = blockSources.learned;
  const second = run(1, true, undefined, { seed: 7 }); // from the cache: generates the run's sources only
  assert.is(second.json, first.json);
  assert.equal(made, [...blockSources.map.keys()].sort());
  assert.ok(before - learned > blockSources.learned - before + 20, `boot + run learned ${before - learned}, the run ${blockSources.learned - before}`);
});

// vfs_read runs only after /init: entry and return probes, jump-optimized by the delayed worker during
// boot in a cold run (the replayed worker must do the same), hits recorded with CPU, RIP and clock.
function vfsProbes(p: Platform, hits: string[]): void {
  const mgr = KprobeManager.attach(p);
  const krp = KretprobeManager.attach(p, mgr);
  const opt = Optimizer.attach(p, mgr);
  const clock = () => p.machine.cpus.map((c) => c.instret + '/' + c.probeInstret).join(',');
  assert.is(mgr.registerKprobe({ symbolName: 'vfs_read', preHandler: (_k, regs) => { hits.push(`in ${regs.ip} ${regs.di} ${clock()}`); return 0; } }), 0);
  assert.is(krp.registerKretprobe({ kp: { symbolName: 'vfs_read' }, handler: (_ri, regs) => { hits.push(`ret ${regs.ax} ${clock()}`); } }), 0);
  p.sliceHooks.push(() => hits.push(`worker ${clock()} ${JSON.stringify(opt.stats)}`));
}

test('probes outside boot code: restored and identical, the optimizer\'s delayed work included', () => {
  for (const cpus of [1, 2]) {
    const cold = run(cpus, false, vfsProbes);
    const warm = run(cpus, true, vfsProbes);
    assert.is(warm.booted, 'snapshot', warm.why);
    assert.ok(cold.hits.some((h) => h.startsWith('ret ')), 'vfs_read returned');
    assert.equal(warm.hits, cold.hits);
    assert.is(warm.json, cold.json);
  }
});

test('a probe in code boot executed boots cold, with identical results', () => {
  const onPrintk = (p: Platform, hits: string[]) => {
    const mgr = KprobeManager.attach(p);
    assert.is(mgr.registerKprobe({ symbolName: 'printk', preHandler: (_k, regs) => { hits.push(`printk ${regs.ip}`); return 0; } }), 0);
  };
  const cold = run(2, false, onPrintk), warm = run(2, true, onPrintk);
  assert.is(warm.booted, 'cold');
  assert.match(warm.why, 'boot executed');
  assert.ok(cold.hits.length > 5, 'printk is hit during boot');
  assert.equal(warm.hits, cold.hits);
  assert.is(warm.json, cold.json);
});

test('a budget that ends during boot boots cold', () => {
  const cold = run(1, false, undefined, { maxInsns: 5000 }), warm = run(1, true, undefined, { maxInsns: 5000 });
  assert.is(warm.booted, 'cold');
  assert.is(warm.json, cold.json);
});

test('a corrupt snapshot is detected and rebuilt; results stay identical', () => {
  const good = run(1, true);
  assert.is(good.booted, 'snapshot');
  // a saved page (checked as restore reads it), the head (the state, checked when the entry is opened)
  for (const at of [(n: number) => n - 100, () => 200]) {
    for (const f of snapshots()) {
      const path = join(cache, 'ktrace', 'snapshot', f);
      const b = readFileSync(path);
      b[at(b.length)] ^= 0xff;
      writeFileSync(path, b);
    }
    const again = run(1, true);
    assert.is(again.booted, 'snapshot', again.why); // rebuilt on the spot
    assert.is(again.json, good.json);
    assert.is(run(1, true).json, good.json);
  }
});

test("the snapshots' key names the build by the fingerprint `npm run build` wrote: the modules' own", () => {
  const built = builtBootPrint();
  if (built === undefined) { console.log('SKIP boot fingerprint: dist/src/kernel/fingerprint.json is missing or stale (a build without `npm run build`)'); return; }
  assert.is(built, computeBootPrint());
});

test.after(() => { rmSync(cache, { recursive: true, force: true }); });
test.run();
