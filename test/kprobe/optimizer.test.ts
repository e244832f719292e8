// Jump optimization on the fixture kernel: the optimizer's states (queued, optimized), every
// unoptimization trigger and re-optimization, the sysctl in both directions, regs.ip on an optimized
// probe versus an int3 one, and transparency: probes everywhere (the optimizer free to optimize what it
// can) leave the run exactly as unprobed, with every hit count equal to the unprobed execution count.
// Default: 1 CPU on every boundary, plus seeded samples of functions probed "sparsely" (one probe per
// optimizable region, so multi-instruction regions get optimized) on 2 and 4 CPUs with a fast timer.
// KTRACE_LONG=1: every function, both patterns, more CPU counts and seeds.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Image } from '../../src/elf/image.js';
import { DEFAULT_VMLINUX, FIXTURES } from '../../src/paths.js';
import { parseWorkload } from '../../src/kernel/workload/parser.js';
import { prepare, runScript, type RunResult } from '../../src/kernel/session.js';
import { Platform } from '../../src/kernel/platform.js';
import { RAM_BASE, RAM_SIZE } from '../../src/kernel/contract.js';
import { KprobeManager, instructionBoundaries, seededSample, renderKprobeList, type Kprobe, type FunctionBoundaries } from '../../src/kprobe/index.js';
import { Optimizer, whyNotOptimized, renderOptimizationSysctl, writeOptimizationSysctl } from '../../src/kprobe/optimizer.js';
import { interruptedFrames } from '../../src/emu/guest.js';

const LONG = process.env.KTRACE_LONG === '1';
const image = Image.load(readFileSync(DEFAULT_VMLINUX));
const kt = image.lookupName('kprobe_target')!;
const A = kt + 5; // mov %edi,%eax; mov $0xaaaaaaab,%edx: a 7-byte region of two instructions
const EINVAL = -22;
const loop = parseWorkload('loop.wl', 'repeat 800 {\nv = ktrace_selftest 5 300\n}\n');
const bytes = (pl: Platform, a: number, n: number) => [...pl.machine.mem.readBytes(a, n)];
const orig = [...image.read(A, 7)!];

test('the optimizer: queued, optimized, then unoptimized and re-optimized by every trigger', () => {
  let mgr!: KprobeManager, opt!: Optimizer;
  let hits = 0;
  const P: Kprobe = { addr: A, preHandler: () => { hits++; return 0; } };
  const { platform: pl, runner } = prepare(image, loop, {
    cpus: 2, seed: 1, maxInsns: 1e9,
    attach: (p) => { mgr = KprobeManager.attach(p); opt = Optimizer.attach(p, mgr); assert.is(mgr.registerKprobe(P), 0); },
  });
  let steps = 0;
  const step = () => { steps++; assert.is(pl.runSlice(1e9, 300_000), undefined, 'the run goes on'); };
  const optimized = () => {
    assert.is(opt.stateOf(A), 'optimized');
    assert.is(mgr.probePointOf(P)!.optimized, true);
    assert.is(bytes(pl, A, 1)[0], 0xe9, 'a jmp at the probed address');
    assert.is(whyNotOptimized(mgr, P), undefined);
  };
  const unoptimized = () => {
    assert.is.not(opt.stateOf(A), 'optimized');
    assert.is(mgr.probePointOf(P)!.optimized, false);
    assert.equal(bytes(pl, A, 7), [0xcc, ...orig.slice(1)], 'the original bytes, with an int3 in the first');
  };
  assert.is(opt.stateOf(A), 'queued', 'registration arms an int3 and queues the probe');
  assert.match(whyNotOptimized(mgr, P)!, /queued/);
  assert.equal(bytes(pl, A, 1), [0xcc]);
  step();
  optimized();
  assert.match(renderKprobeList(mgr), /kprobe_target\+0x5 {2}\s*\[OPTIMIZED\]/);

  // a post_handler needs the single-step
  const post: Kprobe = { addr: A, preHandler: () => 0, postHandler: () => {} };
  assert.is(mgr.registerKprobe(post), 0);
  unoptimized();
  assert.match(whyNotOptimized(mgr, P)!, /post_handler/);
  step();
  unoptimized();
  mgr.unregisterKprobe(post);
  step();
  optimized();

  // disabling restores every byte; enabling re-optimizes
  assert.is(mgr.disableKprobe(P), 0);
  assert.equal(bytes(pl, A, 7), orig);
  assert.match(whyNotOptimized(mgr, P)!, /^the probe is disabled$/);
  assert.is(mgr.enableKprobe(P), 0);
  assert.is(opt.stateOf(A), 'queued');
  step();
  optimized();

  // another probe inside the region
  let qhits = 0;
  const Q: Kprobe = { addr: A + 2, preHandler: () => { qhits++; return 0; } };
  assert.is(mgr.registerKprobe(Q), 0, 'the region reads as the original instructions (recover_probed_instruction)');
  assert.is(bytes(pl, A, 1)[0], 0xcc);
  assert.is(bytes(pl, A + 2, 1)[0], 0xcc);
  assert.is(whyNotOptimized(mgr, P), 'another kprobe in region at kprobe_target+0x7');
  step();
  assert.ok(qhits > 0, 'the probe inside the region fires');
  assert.is(opt.stateOf(A), 'idle');
  mgr.unregisterKprobe(Q);
  step();
  optimized();

  // the sysctl
  assert.is(renderOptimizationSysctl(mgr), '1\n');
  assert.is(writeOptimizationSysctl(mgr, '0\n'), 0);
  assert.is(renderOptimizationSysctl(mgr), '0\n');
  unoptimized();
  assert.match(whyNotOptimized(mgr, P)!, /kprobes-optimization is 0/);
  assert.ok(mgr.messages.includes('kprobes: kprobe jump-optimization is disabled. All kprobes are based on software breakpoint.'));
  step();
  unoptimized();
  assert.is(writeOptimizationSysctl(mgr, '2'), EINVAL);
  assert.is(writeOptimizationSysctl(mgr, 'y'), EINVAL);
  assert.is(writeOptimizationSysctl(mgr, '-1'), EINVAL);
  assert.is(renderOptimizationSysctl(mgr), '0\n');
  assert.is(writeOptimizationSysctl(mgr, '1'), 0);
  assert.ok(mgr.messages.includes('kprobes: kprobe jump-optimization is enabled. All kprobes are optimized if possible.'));
  step();
  optimized();

  while (!pl.runSlice(1e9)) { /* to the end */ }
  // the unprobed run, sliced the same way (slices end quanta, so they shape the interleaving)
  let addrs!: Float64Array;
  const { platform: plain, runner: plainRunner } = prepare(image, loop, { cpus: 2, seed: 1, maxInsns: 1e9, attach: (p) => { addrs = p.machine.countExecutions([A]); } });
  for (let i = 0; i < steps; i++) plain.runSlice(1e9, 300_000);
  while (!plain.runSlice(1e9)) { /* to the end */ }
  // unregistering restores the text exactly
  assert.is(mgr.unregisterKprobe(P), 0);
  assert.equal(bytes(pl, A, 7), orig);
  assert.equal(pl.end, plain.end);
  assert.equal(runner.failures, []);
  assert.equal(plainRunner.failures, []);
  assert.is(pl.console, plain.console);
  assert.is(pl.instructions, plain.instructions, 'kernel instruction count as unprobed');
  assert.is(hits, addrs[0], 'every execution of the probed address was a hit, whichever path it took');
  assert.ok(opt.stats.detourHits > 0 && opt.stats.int3ViaDetour > 0);
});

/** The iretq that returns to kernel mode (restore_regs_and_return_to_kernel's last instruction, by disassembly). */
function kernelIret(): number {
  const f = all.find((x) => x.name === 'restore_regs_and_return_to_kernel')!;
  const at = f.boundaries[f.boundaries.length - 1]!;
  assert.equal([...image.read(at, 2)!], [0x48, 0xcf], 'iretq');
  return at;
}

/** A machine booted to the kernel's entry, with a kprobe at A and an interrupt gate of our own (vector 0x40) on every CPU. */
function withGate() {
  const pl = new Platform(image, { cpus: 2, seed: 1, timerPeriod: 0 });
  pl.boot({ entry: 0x400000, stackTop: 0x7ff000 });
  const mgr = new KprobeManager(image, pl.machine);
  const opt = new Optimizer(mgr, { ftrace: false });
  const idt = RAM_BASE + 0x310000, iret = kernelIret();
  const g = new Uint8Array(16), dv = new DataView(g.buffer);
  dv.setUint16(0, iret & 0xffff, true); dv.setUint16(2, 0x10, true); g[5] = 0x8e; dv.setUint16(6, (iret >>> 16) & 0xffff, true); dv.setUint32(8, 0xffffffff, true);
  pl.machine.mem.writeBytes(idt + 0x40 * 16, g);
  for (const c of pl.machine.cpus) { c.idtBase = idt; c.idtLimit = 0xfff; c.setRegNum(4, RAM_BASE + 0x300800); }
  return { pl, mgr, opt, iret };
}

test('the worker waits while a CPU is inside the region or an interrupted context will return into it', () => {
  const { pl, mgr, opt, iret } = withGate();
  const P: Kprobe = { addr: A, preHandler: () => 0 };
  assert.is(mgr.registerKprobe(P), 0);
  const cpu1 = pl.machine.cpus[1];
  cpu1.rip = A + 2; // between the two region instructions
  assert.is(opt.runWorker(true), 0);
  assert.is(opt.stateOf(A), 'queued');
  assert.match(whyNotOptimized(mgr, P)!, /^waiting: a CPU is inside the region/);
  // An interrupt taken there: the CPU is in the handler (at the iretq), the frame will return into the region.
  assert.ok(cpu1.interrupt(0x40));
  assert.is(cpu1.rip, iret);
  assert.is(opt.runWorker(true), 0);
  assert.is(opt.stateOf(A), 'queued', 'the interrupted context would return into the middle of the jump');
  // The iretq pops the frame: back inside the region, still waiting; then the CPU moves on.
  pl.machine.interpretOnly = true;
  pl.machine.run(cpu1, 1);
  assert.is(cpu1.rip, A + 2);
  assert.is(pl.machine.frames.size, 0);
  assert.is(opt.runWorker(true), 0);
  cpu1.rip = A; // at the first byte: it will run the jump
  assert.is(opt.runWorker(true), 1);
  assert.is(opt.stateOf(A), 'optimized');
  assert.is(opt.stats.waits, 3);
  // Optimizer.enabled set directly (the CLI's state file) unoptimizes at once, without the log lines
  opt.enabled = false;
  assert.is(opt.stateOf(A), 'idle');
  assert.equal([...pl.machine.mem.readBytes(A, 1)], [0xcc]);
  assert.is(mgr.messages.length, 0);
});

/**
 * The old check, kept as an oracle: every 8-byte-aligned kernel-half RIP followed by __KERNEL_CS in the
 * written pages of [start, end) — the shape of an interrupt frame, found by scanning memory.
 */
function scanFrames(pl: Platform, start: number, end: number): { slot: number; rip: number }[] {
  const out: { slot: number; rip: number }[] = [];
  const mem = pl.machine.mem;
  for (let a = start; a < end; a += 4096) {
    let pg;
    try { pg = mem.translate(a, 0); } catch { continue; }
    if (!pg.materialized) continue;
    const w = new Uint32Array(pg.u8.buffer, pg.u8.byteOffset, 1024);
    for (let i = 1; i + 2 < w.length; i += 2) {
      if (w[i] !== 0xffffffff || w[i + 1] !== 0x10 || w[i + 2] !== 0) continue;
      out.push({ slot: a + (i - 1) * 4, rip: -4294967296 + w[i - 1]! });
    }
  }
  return out;
}

test('a frame-shaped pair of words in data does not hold the optimizer back (the old memory scan was fooled by it)', () => {
  const { pl, mgr, opt } = withGate();
  assert.is(mgr.registerKprobe({ addr: A, preHandler: () => 0 }), 0);
  const data = RAM_BASE + 0x320000; // two words of kernel data: a pointer into the region, then 0x10
  const q = (v: bigint) => new Uint8Array(new BigUint64Array([v]).buffer);
  pl.machine.mem.writeBytes(data, q(BigInt.asUintN(64, BigInt(A + 2))));
  pl.machine.mem.writeBytes(data + 8, q(0x10n));
  assert.equal(scanFrames(pl, RAM_BASE + 0x300000, RAM_BASE + 0x330000).map((f) => f.rip), [A + 2], 'the scan takes it for an interrupt frame');
  assert.is(opt.runWorker(true), 1);
  assert.is(opt.stateOf(A), 'optimized');
});

test('differential: at every pause of a 2-CPU run with a fast timer, each recorded live frame is one the memory scan finds; what the scan finds besides is popped frames and frame-shaped data, never a frame the log lost', () => {
  const src = parseWorkload('d.wl', readFileSync(join(FIXTURES, 'workloads', 'default.wl'), 'utf8'));
  const { platform: pl } = prepare(image, src, { cpus: 2, seed: 3, maxInsns: 3e7, timerPeriod: 3_001, snapshot: false });
  const f = pl.machine.frames;
  // Every frame ever pushed, by slot (the emulator's own log, observed).
  const pushed = new Set<number>(), popped = new Set<number>();
  const push = f.push.bind(f), drop = f.drop.bind(f);
  f.push = (slot, rip, cpu) => { pushed.add(slot); push(slot, rip, cpu); };
  f.drop = (slot) => { if (f.slots.includes(slot)) popped.add(slot); drop(slot); };
  let live = 0, dead = 0, data = 0, pauses = 0;
  // Where the old check looked: RAM and the image's writable segments (the boot stacks are in .bss).
  const ranges = [{ start: RAM_BASE, end: RAM_BASE + RAM_SIZE }, ...image.segments.filter((g) => g.flags & 2 && g.memsz > 0)
    .map((g) => ({ start: Math.floor(g.vaddr / 4096) * 4096, end: Math.ceil((g.vaddr + g.memsz) / 4096) * 4096 }))];
  while (!pl.runSlice(3e7, 2_003)) {
    pauses++;
    const exact = interruptedFrames(pl.machine.cpus);
    const scan = ranges.flatMap((r) => scanFrames(pl, r.start, r.end));
    const bySlot = new Map(scan.map((x) => [x.slot, x.rip]));
    for (const e of exact) {
      live++;
      assert.is(bySlot.get(e.slot), e.rip, `pause ${pauses}: a live frame at ${e.slot.toString(16)} the scan misses`);
    }
    const exactSlots = new Set(exact.map((e) => e.slot));
    for (const x of scan) {
      if (exactSlots.has(x.slot)) continue;
      // What the scan finds besides: a frame an iret already popped, or words that only look like one
      // (a return address followed by 0x10 on a stack, say); never a pushed frame the log lost.
      if (popped.has(x.slot)) dead++; else data++;
      assert.ok(!pushed.has(x.slot) || popped.has(x.slot), `pause ${pauses}: a frame pushed at ${x.slot.toString(16)} and never popped is missing from the log`);
    }
  }
  assert.ok(pauses > 100 && live > 5 && dead > 0, `pauses ${pauses}, live frames ${live}, popped frames the scan still sees ${dead}, frame-shaped data ${data}`);
  assert.ok(pushed.size > 0);
});

function runWith(src: string, optimize: boolean, pre: (regs: import('../../src/kprobe/regs.js').PtRegs) => number): { r: RunResult; opt: Optimizer; mgr: KprobeManager } {
  let opt!: Optimizer, mgr!: KprobeManager;
  const r = runScript(image, parseWorkload('t.wl', src), {
    cpus: 1, seed: 1, maxInsns: 1e8,
    attach: (pl) => {
      mgr = KprobeManager.attach(pl); opt = Optimizer.attach(pl, mgr);
      if (!optimize) writeOptimizationSysctl(mgr, '0');
      assert.is(mgr.registerKprobe({ addr: A, preHandler: (_p, regs) => pre(regs) }), 0);
      opt.runWorker(true);
      assert.is(opt.stateOf(A), optimize ? 'optimized' : 'idle');
    },
  });
  return { r, opt, mgr };
}

test('regs.ip: a pre_handler changes the path of an int3 probe; on an optimized probe the change is ignored', () => {
  const ret = kt + 0x19;
  const src = 'v = ktrace_selftest 0 300\n';
  const redirect = (regs: import('../../src/kprobe/regs.js').PtRegs) => { regs.ip = ret; regs.ax = 7n; return 1; };
  const int3 = runWith(src, false, redirect);
  assert.equal(int3.r.syscalls.ktrace_selftest.results, { 7: 1 }, 'int3 probe: resumed at the ret with ax = 7');
  const o = runWith(src, true, redirect);
  assert.equal(o.r.syscalls.ktrace_selftest.results, { 100: 1 }, 'optimized probe: the function ran on (300 / 3)');
  assert.is(o.opt.stats.detourHits, 1);
});

test('an optimized probe sees the registers an int3 probe sees, and register changes take effect', () => {
  const seen: string[][] = [[], []];
  for (const [k, optimize] of [[0, false], [1, true]] as const) {
    runWith('v = ktrace_selftest 5 20\n', optimize, (regs) => { seen[k].push(`${regs.di} ${regs.sp} ${regs.bp} ${regs.flags} ${regs.ip}`); return 0; });
  }
  assert.is(seen[1].length, 20);
  assert.equal(seen[1], seen[0]);
  // edi is copied into eax by the first region instruction: a handler that changes di changes the result
  const o = runWith('v = ktrace_selftest 0 300\n', true, (regs) => { regs.di = 3000n; return 0; });
  assert.equal(o.r.syscalls.ktrace_selftest.results, { 1000: 1 });
});

// ---- transparency ----

const script = parseWorkload('default.wl', readFileSync(join(FIXTURES, 'workloads', 'default.wl'), 'utf8'));
const all = instructionBoundaries(image);

function plainRun(fns: FunctionBoundaries[], cpus: number, seed: number, timer?: number, toggle = 0) {
  const addrs = fns.flatMap((f) => f.boundaries);
  let arr!: Float64Array;
  const o = { cpus, seed, maxInsns: 1e9, timerPeriod: timer, attach: (pl: Platform) => { arr = pl.machine.countExecutions(addrs); } };
  const r = toggle ? sliced(o, toggle, () => {}) : runScript(image, script, o);
  return { r, counts: new Map(addrs.map((a, i) => [a, arr[i]])) };
}

/** Run to the end in slices of `slice` instructions, calling `between` after each (the plain run is sliced alike). */
function sliced(opts: Parameters<typeof runScript>[2], slice: number, between: (i: number) => void): RunResult & { platform: Platform } {
  const { platform, runner } = prepare(image, script, opts);
  let i = 0;
  while (!platform.runSlice(opts.maxInsns, slice)) between(i++);
  return {
    end: platform.end!, failures: runner.failures, console: platform.console, instructions: platform.instructions,
    emulatedNs: platform.emulatedNs, syscalls: summarize(runner), platform,
  } as unknown as RunResult & { platform: Platform };
}
function summarize(runner: { stats: Map<string, { count: number; results: Map<number, number> }> }) {
  const out: Record<string, { count: number; results: Record<string, number> }> = {};
  for (const name of [...runner.stats.keys()].sort()) {
    const st = runner.stats.get(name)!;
    const results: Record<string, number> = {};
    for (const v of [...st.results.keys()].sort((a, b) => a - b)) results[String(v)] = st.results.get(v)!;
    out[name] = { count: st.count, results };
  }
  return out;
}

function probedRun(fns: FunctionBoundaries[], cpus: number, seed: number, sparse: boolean, timer?: number, toggle = 0) {
  const probes: { addr: number; n: number; p: Kprobe }[] = [];
  let opt!: Optimizer, mgr!: KprobeManager;
  const attachAll = (pl: Platform) => {
      mgr = KprobeManager.attach(pl); opt = Optimizer.attach(pl, mgr, toggle ? { delay: toggle / 4 } : {});
      for (const f of fns) {
        let next = -Infinity;
        for (const addr of f.boundaries) {
          if (addr < next) continue;
          const rec = { addr, n: 0, p: {} as Kprobe };
          rec.p = { addr, preHandler: () => { rec.n++; return 0; } };
          if (mgr.registerKprobe(rec.p) !== 0) continue;
          probes.push(rec);
          if (sparse) { const c = opt.check(addr); next = c.ok ? addr + c.region.size : addr + 1; }
        }
      }
  };
  const o = { cpus, seed, maxInsns: 1e9, timerPeriod: timer, attach: attachAll };
  // toggle: the sysctl flips every `toggle` instructions, so probes are unoptimized and re-optimized over
  // and over while CPUs run and are interrupted inside regions (the worker must wait for them)
  const r = toggle ? sliced(o, toggle, (i) => writeOptimizationSysctl(mgr, i % 2 ? '1' : '0')) : runScript(image, script, o);
  return { r, probes, opt, mgr };
}

const configs: { cpus: number; seed: number; sample: number; sparse: boolean; timer?: number; toggle?: number }[] = LONG
  ? [{ cpus: 1, seed: 1, sample: 0, sparse: false }, { cpus: 1, seed: 1, sample: 0, sparse: true },
     { cpus: 2, seed: 3, sample: 0, sparse: true, timer: 3000 }, { cpus: 4, seed: 5, sample: 0, sparse: true, timer: 1500 },
     { cpus: 4, seed: 2, sample: 0, sparse: false, timer: 2000 }, { cpus: 2, seed: 7, sample: 0, sparse: false, timer: 2500 },
     { cpus: 3, seed: 11, sample: 0, sparse: true, timer: 1000 }, { cpus: 2, seed: 13, sample: 0, sparse: true, timer: 1200, toggle: 20_000 },
     { cpus: 4, seed: 17, sample: 0, sparse: true, timer: 900, toggle: 35_000 }]
  : [{ cpus: 1, seed: 1, sample: 0, sparse: false }, { cpus: 2, seed: 3, sample: 120, sparse: true, timer: 3000 },
     { cpus: 4, seed: 5, sample: 120, sparse: true, timer: 1500 }, { cpus: 2, seed: 13, sample: 200, sparse: true, timer: 1200, toggle: 20_000 }];

for (const c of configs) {
  const what = `${c.sample ? `${c.sample} sampled functions` : 'every function'}, ${c.sparse ? 'one probe per region' : 'every boundary'}, ` +
    `${c.cpus} CPU${c.cpus > 1 ? 's' : ''}, seed ${c.seed}${c.timer ? `, timer every ${c.timer} insns` : ''}` +
    (c.toggle ? `, optimization toggled every ${c.toggle} insns` : '');
  test(`transparency with optimization on (${what})`, () => {
    const fns = c.sample ? seededSample(all, c.sample, 2000 + c.seed) : all;
    const plain = plainRun(fns, c.cpus, c.seed, c.timer, c.toggle);
    const { r, probes, opt } = probedRun(fns, c.cpus, c.seed, c.sparse, c.timer, c.toggle);
    assert.equal(r.end, plain.r.end);
    assert.equal(r.failures, []);
    assert.equal(r.syscalls, plain.r.syscalls);
    assert.is(r.console, plain.r.console);
    assert.is(r.instructions, plain.r.instructions, 'kernel instruction count');
    assert.is(r.emulatedNs, plain.r.emulatedNs, 'emulated time');
    let fired = 0;
    for (const p of probes) {
      fired += p.n;
      const want = plain.counts.get(p.addr)!;
      if (p.n !== want) assert.is(p.n, want, `hits at ${image.formatAddr(p.addr)} (${opt.stateOf(p.addr)})`);
      assert.is(p.p.nmissed, 0);
    }
    assert.ok(fired > 500, `the probes fired (${fired})`);
    assert.ok(opt.stats.optimized > (c.sample ? 20 : 1000), `probes were optimized (${opt.stats.optimized})`);
    assert.ok(opt.stats.detourHits > 0, 'optimized probes were hit through their detours');
    if (c.toggle) assert.ok(opt.stats.unoptimized > 100 && opt.stats.passes > 5, `re-optimized over and over (${JSON.stringify(opt.stats)})`);
  });
}

test.run();
