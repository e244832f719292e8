// Real Linux on 2 CPUs: the MP table and each CPU's local APIC (kernel/linux/lapic.ts), CPU 1 started by
// INIT and start-up IPIs at Linux's own real-mode trampoline (emu/legacy.ts), IPIs and the TSC-deadline
// timer. Runs go through the boot snapshot (the first run of a cache boots cold and makes it: about as
// much CPU as a one-CPU boot); KTRACE_LONG adds a --no-snapshot run, which must give the same bytes.
// linux-snapshots: 2 (the boot snapshots this file restores: scripts/test.mjs makes them first)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Image } from '../../../src/elf/image.js';
import { FIXTURES } from '../../../src/paths.js';
import { parseWorkload } from '../../../src/kernel/workload/parser.js';
import { runScript, type RunResult } from '../../../src/kernel/session.js';
import { runResultJson } from '../../../src/output/run-summary.js';
import type { Platform } from '../../../src/kernel/platform.js';
import type { Cpu } from '../../../src/emu/cpu.js';
import { bundledLinuxPath, LINUX_FIXTURE_DIR } from '../../../src/kernel/linux/bundle.js';
import '../../../src/kernel/linux/task-layout.js'; // Linux's task layout reader (kernel/task-layout.ts)
import type { LinuxPlatform } from '../../../src/kernel/linux/platform.js';
import { KprobeManager, KretprobeManager, Optimizer } from '../../../src/kprobe/index.js';
import { cacheEnabled } from '../../../src/cache.js';
import { Disassembler } from '../../../src/elf/disasm.js';

const built = existsSync(join(LINUX_FIXTURE_DIR, 'vmlinux.br'));
const image = built ? Image.load(readFileSync(bundledLinuxPath())) : undefined;
const LONG = process.env.KTRACE_LONG === '1';
const workload = (name: string) => parseWorkload(`${name}.wl`, readFileSync(join(FIXTURES, 'workloads', `${name}.wl`), 'utf8'));

interface Out { r: RunResult; json: string; booted: string; why: string; hits: string[]; cpus: number; ipis: Map<number, number> }
/** A run on 2 CPUs with an entry and a return probe on `fn`; each hit records its CPU and every clock. */
function run(name: string, fn: string, snapshot = true): Out {
  let pl!: Platform;
  const hits: string[] = [];
  const r = runScript(image!, workload(name), {
    cpus: 2, seed: 1, maxInsns: 400_000_000, snapshot,
    attach: (p) => {
      pl = p;
      const mgr = KprobeManager.attach(p);
      const krp = KretprobeManager.attach(p, mgr);
      Optimizer.attach(p, mgr);
      const cpu = () => (p.machine.mem.cur as Cpu).id;
      const clock = () => p.machine.cpus.map((c) => c.clock()).join(',');
      assert.is(mgr.registerKprobe({ symbolName: fn, preHandler: (_k, regs) => { hits.push(`${cpu()} in ${regs.ip} ${regs.si} ${clock()}`); return 0; } }), 0);
      assert.is(krp.registerKretprobe({ kp: { symbolName: fn }, handler: (_ri, regs) => { hits.push(`${cpu()} ret ${regs.ax} ${clock()}`); } }), 0);
    },
  });
  return { r, json: runResultJson({ ...r, hostSeconds: 0, mips: 0 }), booted: pl.bootedFrom.kind, why: pl.bootedFrom.why, hits, cpus: pl.machine.cpus.length, ipis: (pl as LinuxPlatform).ipis };
}

let first: Out | undefined;
test('2 CPUs: CPU 1 comes up through the trampoline, cat runs with vfs_read hit, and a rerun gives the same bytes', () => {
  if (!image) { console.log('SKIP fixtures/linux/vmlinux.br not built yet'); return; }
  if (!cacheEnabled()) { console.log('SKIP the cache is off (KTRACE_NO_CACHE): no boot snapshot'); return; }
  first = run('cat', 'vfs_read');
  const { r } = first;
  assert.is(r.end.kind, 'poweroff', r.console.slice(-2000));
  assert.equal(r.failures, []);
  assert.match(r.console, /found SMP MP-table at \[mem 0x000f0000-0x000f000f\]/);
  assert.match(r.console, /TSC deadline timer available/);
  assert.match(r.console, /smp: Brought up 1 node, 2 CPUs/);
  assert.match(r.console, /Run \/init as init process/);
  assert.not.match(r.console, /WARNING|BUG|Oops|Calibrating delay using timer/);
  assert.is(first.hits.filter((h) => / in /.test(h)).length, r.syscalls.read.count, 'one vfs_read hit per read');
  assert.is(first.hits.filter((h) => / ret /.test(h)).length, r.syscalls.read.count);
  const again = run('cat', 'vfs_read');
  assert.is(again.booted, 'snapshot', again.why);
  assert.is(again.json, first.json);
  assert.equal(again.hits, first.hits);
});

test('pipe-pingpong on 2 CPUs: pipe_read hit on both CPUs, every expect holds', () => {
  if (!image || !first) return;
  const o = run('pipe-pingpong', 'pipe_read');
  assert.is(o.r.end.kind, 'poweroff', o.r.console.slice(-2000));
  assert.equal(o.r.failures, []);
  const on = new Set(o.hits.map((h) => h.split(' ')[0]));
  assert.equal([...on].sort(), ['0', '1'], 'hits on CPU 0 and CPU 1');
  // a task woken on the other CPU: reschedule IPIs (vector 0xfd) from /init on
  assert.ok((o.ipis.get(0xfd) ?? 0) > 0, `reschedule IPIs: ${JSON.stringify([...o.ipis])}`);
});

test('a kprobe on a mov to or from a local APIC register: its out-of-line copy (run by the device model) single-steps to the post_handler', () => {
  if (!image || !first) return;
  // native_apic_mem_write/_read: one `mov` between the APIC's fixmap and a register; pipe-pingpong's
  // cross-CPU wakeups write the ICR (and read it, waiting for idle) and acknowledge with EOI writes.
  // The probes are registered once /init runs, as a module would be (boot runs these movs: a probe
  // armed from the first instruction would boot cold), on the int3 path with a post_handler: the copy
  // is single-stepped, the mov faults outside RAM and the platform runs it against the APIC model.
  const movs = ['native_apic_mem_write', 'native_apic_mem_read'].map((name) => {
    const sym = image!.symbol(name)!;
    const d = new Disassembler(image!);
    try {
      const l = d.lines(sym.addr, sym.addr + sym.size).find((x) => /^mov\s.*\(%r/.test(x.text) && /-0x[0-9a-f]+\(%rdi\)/.test(x.text));
      assert.ok(l, `${name}: a mov through the APIC fixmap`);
      return l!.addr;
    } finally { d.free(); }
  });
  const go = (probe: boolean) => {
    const pre = movs.map(() => 0), post = movs.map(() => 0);
    let pl!: Platform;
    const r = runScript(image!, workload('pipe-pingpong'), {
      cpus: 2, seed: 1, maxInsns: 400_000_000,
      attach: (p) => {
        pl = p;
        if (!probe) return;
        const mgr = KprobeManager.attach(p);
        let done = false;
        p.sliceHooks.push(() => {
          if (done || !p.initStarted) return;
          done = true;
          movs.forEach((addr, i) => {
            assert.is(mgr.registerKprobe({ addr, preHandler: () => { pre[i]++; return 0; }, postHandler: () => { post[i]++; } }), 0, mgr.lastError.reason);
          });
        });
      },
    });
    return { r, pre, post, booted: pl.bootedFrom.kind };
  };
  const plain = go(false), probed = go(true);
  assert.is(probed.booted, 'snapshot');
  assert.is(probed.r.end.kind, 'poweroff', probed.r.console.slice(-2000));
  assert.equal(probed.r.syscalls, plain.r.syscalls);
  assert.is(probed.r.console, plain.r.console);
  assert.is(probed.r.instructions, plain.r.instructions, 'kernel instruction count');
  assert.is(probed.r.emulatedNs, plain.r.emulatedNs, 'emulated time');
  assert.ok(probed.pre.every((n) => n > 0), `both movs hit: ${probed.pre}`);
  assert.equal(probed.post, probed.pre, 'a post_handler after each single-step');
});

test('--no-snapshot boots cold to the same bytes (test:long: one more boot)', () => {
  if (!image || !first || !LONG) return;
  const cold = run('cat', 'vfs_read', false);
  assert.is(cold.booted, 'cold');
  assert.is(cold.json, first.json);
  assert.equal(cold.hits, first.hits);
});

test.run();
