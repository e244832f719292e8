// Transparency: a kprobe on every instruction boundary of every probe-able function (registered in
// per-function batches), with pre and post handlers counting hits, and again boosted (no post_handler),
// must leave the default workload's results, console output, kernel instruction count and emulated
// time exactly as in the unprobed run, and each probe must fire exactly as often as the unprobed run
// executed its address (counted by the emulator's own hook, machine.countExecutions).
// Default run: the full sweep on 1, 2 and 4 CPUs (one seed each; `sample` can cut it to a seeded subset of
// functions); KTRACE_LONG=1: more seeds and a fast timer interrupt, so probes hit in interrupted contexts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Image } from '../../src/elf/image.js';
import { Machine } from '../../src/emu/machine.js';
import { DEFAULT_VMLINUX, FIXTURES } from '../../src/paths.js';
import { parseWorkload } from '../../src/kernel/workload/parser.js';
import { runScript, type RunResult } from '../../src/kernel/session.js';
import {
  KprobeManager, KretprobeManager, Optimizer, analyzeFunction, canOptimize, instructionBoundaries, seededSample, type FunctionBoundaries, type Kprobe,
} from '../../src/kprobe/index.js';
import type { Platform } from '../../src/kernel/platform.js';

const LONG = process.env.KTRACE_LONG === '1';
const image = Image.load(readFileSync(DEFAULT_VMLINUX));
const script = parseWorkload('default.wl', readFileSync(join(FIXTURES, 'workloads', 'default.wl'), 'utf8'));
const all = instructionBoundaries(image);
type Counter = (addrs: number[]) => Float64Array;
const hasCounter = typeof (Machine.prototype as unknown as { countExecutions?: Counter }).countExecutions === 'function';

test('instructionBoundaries walks every function of the text from its start', () => {
  assert.ok(all.length > 100);
  const kt = all.find((f) => f.name === 'kprobe_target')!;
  assert.is(kt.boundaries[0], image.lookupName('kprobe_target'));
  for (const f of all) for (let i = 1; i < f.boundaries.length; i++) assert.ok(f.boundaries[i] > f.boundaries[i - 1]);
  assert.equal(seededSample(all, 5, 7).map((f) => f.name), seededSample(all, 5, 7).map((f) => f.name), 'seeded');
});

// Refusals a full sweep is expected to meet, and nothing else.
const ALLOWED = /is on the kprobe blacklist|cannot be executed out of line|already there|not emulated|only the 64-bit form|masks exceptions/;

interface Sweep { r: RunResult; probes: { addr: number; pre: number; post: number; p: Kprobe }[]; refused: Map<string, number> }

function sweep(fns: FunctionBoundaries[], cpus: number, seed: number, boosted: boolean, timerPeriod?: number): Sweep {
  const probes: Sweep['probes'] = [];
  const refused = new Map<string, number>();
  const r = runScript(image, script, {
    cpus, seed, maxInsns: 1_000_000_000, timerPeriod,
    attach: (pl) => {
      const mgr = KprobeManager.attach(pl);
      for (const f of fns) {
        const batch = f.boundaries.map((addr) => {
          const rec = { addr, pre: 0, post: 0, p: {} as Kprobe };
          rec.p = { addr, preHandler: () => { rec.pre++; return 0; } };
          if (!boosted) rec.p.postHandler = () => { rec.post++; };
          return rec;
        });
        if (mgr.registerKprobes(batch.map((b) => b.p)) === 0) { probes.push(...batch); continue; }
        // a refused probe in the batch: everything before it was unregistered; register one by one
        for (const b of batch) {
          b.p.addr = b.addr; b.p.flags = 0;
          if (mgr.registerKprobe(b.p) === 0) { probes.push(b); continue; }
          const why = /blacklist/.test(mgr.lastError.reason) ? 'is on the kprobe blacklist' : mgr.lastError.reason.replace(/^[^:]*: /, '');
          assert.match(mgr.lastError.reason, ALLOWED, `${image.formatAddr(b.addr)}: ${mgr.lastError.reason}`);
          refused.set(why, (refused.get(why) ?? 0) + 1);
        }
      }
    },
  });
  return { r, probes, refused };
}

function plainRun(fns: FunctionBoundaries[], cpus: number, seed: number, timerPeriod?: number): { r: RunResult; counts: Map<number, number> | null } {
  const addrs = fns.flatMap((f) => f.boundaries);
  let arr: Float64Array | null = null;
  const r = runScript(image, script, {
    cpus, seed, maxInsns: 1_000_000_000, timerPeriod,
    attach: (pl) => { if (hasCounter) arr = (pl.machine as unknown as { countExecutions: Counter }).countExecutions(addrs); },
  });
  const counts = arr ? new Map(addrs.map((a, i) => [a, arr![i]])) : null;
  return { r, counts };
}

function check(label: string, plain: { r: RunResult; counts: Map<number, number> | null }, s: Sweep, boosted: boolean): void {
  const { r } = s;
  assert.equal(r.end, plain.r.end, `${label}: end`);
  assert.equal(r.failures, [], `${label}: workload expectations`);
  assert.equal(r.syscalls, plain.r.syscalls, `${label}: system call results`);
  assert.is(r.console, plain.r.console, `${label}: console output`);
  assert.is(r.instructions, plain.r.instructions, `${label}: kernel instruction count`);
  assert.is(r.emulatedNs, plain.r.emulatedNs, `${label}: emulated time`);
  assert.ok(r.probeInstructions > 0, `${label}: probe overhead is counted separately`);
  assert.ok(s.probes.length > 0);
  let fired = 0;
  for (const p of s.probes) {
    fired += p.pre;
    if (!boosted) assert.is(p.post, p.pre, `${label}: post_handler runs after every step at ${image.formatAddr(p.addr)}`);
    assert.is(p.p.nmissed, 0);
    if (plain.counts) {
      const want = plain.counts.get(p.addr)!;
      if (p.pre !== want) assert.is(p.pre, want, `${label}: hits at ${image.formatAddr(p.addr)}`);
    }
  }
  assert.ok(fired > 1000, `${label}: the probes fired (${fired})`);
}

test('clock readers (clock_gettime, printk timestamps) see exactly the unprobed clock under a full sweep', () => {
  const clock = parseWorkload('clock.wl', 't = buf 16\nrepeat 3 {\nr = clock_gettime 1 t\nwrite 1 t 16\n}\n');
  const plain = runScript(image, clock, { cpus: 1, seed: 1, maxInsns: 1e9 });
  for (const boosted of [false, true]) {
    let n = 0;
    const r = runScript(image, clock, {
      cpus: 1, seed: 1, maxInsns: 1e9,
      attach: (pl) => {
        const mgr = KprobeManager.attach(pl);
        for (const f of all) for (const addr of f.boundaries) {
          const p: Kprobe = { addr, preHandler: () => { n++; } };
          if (!boosted) p.postHandler = () => {};
          mgr.registerKprobe(p);
        }
      },
    });
    assert.ok(n > 1000);
    assert.is(r.console, plain.console, `console with the timespecs written to it (${boosted ? 'boosted' : 'single-step'})`);
    assert.is(r.emulatedNs, plain.emulatedNs);
  }
});

const configs: { cpus: number; seed: number; sample: number; timer?: number }[] = LONG
  ? [{ cpus: 1, seed: 1, sample: 0 }, { cpus: 2, seed: 1, sample: 0 }, { cpus: 2, seed: 3, sample: 0 }, { cpus: 4, seed: 2, sample: 0 },
     { cpus: 4, seed: 5, sample: 0 }, { cpus: 2, seed: 7, sample: 0, timer: 3000 }, { cpus: 4, seed: 9, sample: 0, timer: 2000 }]
  : [{ cpus: 1, seed: 1, sample: 0 }, { cpus: 2, seed: 1, sample: 0 }, { cpus: 4, seed: 2, sample: 0 }];

if (!hasCounter) console.log('SKIP waiting for machine.countExecutions: per-probe hit counts are not compared with the unprobed run\'s execution counts');

for (const c of configs) {
  const fns = c.sample ? seededSample(all, c.sample, 1000 + c.cpus) : all;
  const what = `${c.sample ? `${c.sample} sampled functions` : 'every function'}, ${c.cpus} CPU${c.cpus > 1 ? 's' : ''}, seed ${c.seed}` +
    (c.timer ? `, timer every ${c.timer} insns` : '');
  if (c.cpus > 1 && !hasCounter) {
    // Until the emulator handles traps in place, each handled trap restarts the CPU round-robin,
    // which changes the interleaving by itself (and can starve the other CPUs).
    console.log(`SKIP transparency on ${c.cpus} CPUs: waiting for in-place trap handling and machine.countExecutions in src/emu`);
    continue;
  }
  test(`transparency (${what}): int3 + single-step and boosted probes leave the run as it was`, () => {
    const plain = plainRun(fns, c.cpus, c.seed, c.timer);
    const s = sweep(fns, c.cpus, c.seed, false, c.timer);
    check(`single-step, ${what}`, plain, s, false);
    const b = sweep(fns, c.cpus, c.seed, true, c.timer);
    check(`boosted, ${what}`, plain, b, true);
    if (!c.sample) {
      const total = all.reduce((n, f) => n + f.boundaries.length, 0);
      const blacklisted = s.refused.get('is on the kprobe blacklist') ?? 0;
      assert.ok(s.probes.length > 0.9 * (total - blacklisted), `most non-blacklisted boundaries are probe-able (${s.probes.length}/${total})`);
    }
  });
}

// ---- faulting instructions: every crash type of the workload on every probe path ----
// `ktrace_crash N` oopses (or panics) in the kernel on purpose (lkdtm). Probes on the crash path, whichever
// way they run the probed instruction (single-stepped, boosted, copied into a detour, entered by int3
// through a queued detour, ftrace-based at the mcount nop, a kretprobe on the function), must leave the
// oops as the unprobed run's: RIP, registers, backtrace, the faulting instruction, the instruction count,
// emulated time and the console. One exception, the kernel's own: the oopsing kernel prints raw return
// addresses from the stack (arch/x86/kernel/dumpstack.c recovers only ftrace_graph's), so a Call Trace
// line whose return address a kretprobe replaced shows its trampoline, as in Linux; ktrace's own
// backtrace recovers it (unwind_recover_rethook).

interface Crash { n: number; plain: RunResult; counts: Map<number, number>; fns: FunctionBoundaries[]; fault?: number }

function crashScript(n: number) { return parseWorkload('crash.wl', `ktrace_crash ${n}\n`); }

function counted(n: number, cpus: number, addrs: number[]): { r: RunResult; counts: Map<number, number> } {
  let arr!: Float64Array;
  const r = runScript(image, crashScript(n), { cpus, seed: 1, maxInsns: 1e8, attach: (pl) => { arr = pl.machine.countExecutions(addrs); } });
  return { r, counts: new Map(addrs.map((a, i) => [a, arr[i]])) };
}

/** Every crash type the fixture supports (ktrace_crash N until it returns -EINVAL), and the functions on its path. */
function crashTypes(cpus: number): Crash[] {
  const addrs = all.flatMap((f) => f.boundaries);
  const out: Crash[] = [];
  let einval: Map<number, number> | undefined;
  const crashes: { n: number; r: RunResult; counts: Map<number, number> }[] = [];
  for (let n = 0; n < 32; n++) {
    const c = counted(n, cpus, addrs);
    if (c.r.end.kind === 'poweroff') {
      assert.equal(c.r.syscalls.ktrace_crash.results, { '-22': 1 }, `ktrace_crash ${n}: not a crash type, so -EINVAL`);
      einval = c.counts;
      break;
    }
    crashes.push({ n, ...c });
  }
  assert.ok(einval && crashes.length >= 6, `crash types found: ${crashes.length}`);
  for (const c of crashes) {
    // the functions this crash runs that the -EINVAL call does not run as often: its own path, the oops path
    const fns = all.filter((f) => f.boundaries.some((a) => c.counts.get(a)! > 0) && f.boundaries.some((a) => c.counts.get(a) !== einval!.get(a)));
    const rip = c.r.oops?.rip;
    out.push({ n: c.n, plain: c.r, counts: c.counts, fns, fault: rip !== undefined && addrs.includes(rip) ? rip : undefined });
  }
  return out;
}

type Hit = { addr: number; n: number; p: Kprobe };

/** One crash run with probes from `register` (given the platform's managers); the probes' hit records. */
function crashRun(n: number, cpus: number, register: (mgr: KprobeManager, pl: Platform) => Hit[]): { r: RunResult; hits: Hit[] } {
  let hits: Hit[] = [];
  const r = runScript(image, crashScript(n), { cpus, seed: 1, maxInsns: 1e8, attach: (pl) => { hits = register(KprobeManager.attach(pl), pl); } });
  return { r, hits };
}

function probeAt(mgr: KprobeManager, addr: number, post: boolean): Hit | undefined {
  const h: Hit = { addr, n: 0, p: {} as Kprobe };
  h.p = { addr, preHandler: () => { h.n++; return 0; } };
  if (post) h.p.postHandler = () => {};
  if (mgr.registerKprobe(h.p) === 0) return h;
  assert.match(mgr.lastError.reason, ALLOWED, `${image.formatAddr(addr)}: ${mgr.lastError.reason}`);
  return undefined;
}

/** Probes from each function's start, one per optimized region (a probe inside another's region would unoptimize it). */
function sparse(mgr: KprobeManager, opt: Optimizer, fns: FunctionBoundaries[], skip = 0): Hit[] {
  const out: Hit[] = [];
  for (const f of fns) {
    let next = -Infinity;
    for (const addr of f.boundaries.slice(skip)) {
      if (addr < next) continue;
      const h = probeAt(mgr, addr, false);
      if (!h) continue;
      out.push(h);
      const c = opt.check(addr);
      next = c.ok ? addr + c.region.size : addr + 1;
    }
  }
  return out;
}

function sameOops(label: string, c: Crash, run: { r: RunResult; hits: Hit[] }, trampoline?: number): void {
  const { r } = run, p = c.plain;
  assert.equal(r.end, p.end, `${label}: end`);
  assert.equal(r.syscalls, p.syscalls, `${label}: system calls`);
  assert.equal(r.oops, p.oops, `${label}: the oops (RIP, registers, backtrace)`);
  assert.is(r.faultInsn, p.faultInsn, `${label}: faulting instruction`);
  assert.is(r.instructions, p.instructions, `${label}: kernel instruction count`);
  assert.is(r.emulatedNs, p.emulatedNs, `${label}: emulated time`);
  if (trampoline === undefined) assert.is(r.console, p.console, `${label}: console`);
  else {
    const a = p.console.split('\n'), b = r.console.split('\n');
    assert.is(b.length, a.length, `${label}: console lines`);
    const tramp = BigInt.asUintN(64, BigInt(trampoline)).toString(16).padStart(16, '0');
    for (let i = 0; i < a.length; i++) {
      if (a[i] === b[i]) continue;
      // only a raw return address the trampoline replaced, as the kernel's dumpstack prints it
      assert.is(b[i], a[i].replace(/\[<([0-9a-f]{16})>\]$/, `[<${tramp}>]`), `${label}: console line ${i}`);
      assert.ok(/ \[<[0-9a-f]{16}>\]$/.test(a[i]), `${label}: console line ${i} is a Call Trace entry`);
    }
  }
  for (const h of run.hits) {
    const want = c.counts.get(h.addr)!;
    if (h.n !== want) assert.is(h.n, want, `${label}: hits at ${image.formatAddr(h.addr)}`);
  }
}

const crashCpus = LONG ? [1, 2, 4] : [1];
for (const cpus of crashCpus) {
  test(`faulting instructions (${cpus} CPU${cpus > 1 ? 's' : ''}): every crash type on every probe path oopses as unprobed`, () => {
    const crashes = crashTypes(cpus);
    let faultsProbed = 0, restCopies = 0, ftraceHits = 0, kretEntries = 0;
    for (const c of crashes) {
      const what = `ktrace_crash ${c.n}${c.fault !== undefined ? ` (${image.formatAddr(c.fault)})` : ''}`;
      assert.ok(c.fns.length > 0, `${what}: functions on the crash path`);
      const everywhere = (post: boolean) => crashRun(c.n, cpus, (mgr) => c.fns.flatMap((f) => f.boundaries.map((a) => probeAt(mgr, a, post)).filter((h): h is Hit => !!h)));
      const ss = everywhere(true);
      sameOops(`${what}, int3 + single-step everywhere`, c, ss);
      if (c.fault !== undefined && ss.hits.some((h) => h.addr === c.fault)) faultsProbed++;
      sameOops(`${what}, boosted everywhere`, c, everywhere(false));
      // optimized: detours made before the run starts (delay 0, forced), ftrace-based at mcount sites
      let opt!: Optimizer;
      const optimized = crashRun(c.n, cpus, (mgr, pl) => {
        opt = Optimizer.attach(pl, mgr, { delay: 0 });
        const hits = sparse(mgr, opt, c.fns);
        opt.runWorker(true);
        return hits;
      });
      sameOops(`${what}, optimized`, c, optimized);
      assert.ok(opt.stats.optimized > 0 && opt.stats.detourHits > 0, `${what}: detours were taken (${JSON.stringify(opt.stats)})`);
      ftraceHits += optimized.hits.filter((h) => opt.mgr.probePointOf(h.p)?.ftrace && h.n > 0).length;
      // queued: an int3 hit resumes through the detour's copy (setup_detour_execution)
      let q!: Optimizer;
      sameOops(`${what}, queued (int3 through the detour)`, c, crashRun(c.n, cpus, (mgr, pl) => {
        q = Optimizer.attach(pl, mgr, { delay: Number.MAX_SAFE_INTEGER });
        return sparse(mgr, q, c.fns);
      }));
      assert.ok(q.stats.int3ViaDetour > 0, `${what}: int3 hits went through detours`);
      if (c.fault !== undefined) {
        // the faulting instruction as the first copy of a detour and as a later one in its region
        const f = c.fns.find((x) => x.boundaries.includes(c.fault!))!;
        const i = f.boundaries.indexOf(c.fault);
        const exFixups = new Set(image.exceptionTable.map((e) => e.insn));
        const read = (a: number, len: number) => image.read(a, len)!;
        // the boundaries whose detour would copy the faulting instruction (the default run takes the nearest two)
        const covering = [c.fault, ...f.boundaries.slice(Math.max(0, i - 4), i).reverse()].filter((at) => {
          const region = canOptimize(image, analyzeFunction(image, at, read, exFixups), at, read, exFixups);
          return region.ok && c.fault! < at + region.region.size;
        });
        for (const at of LONG ? covering : covering.slice(0, 2)) {
          let o!: Optimizer;
          const one = crashRun(c.n, cpus, (mgr, pl) => {
            o = Optimizer.attach(pl, mgr, { delay: 0 });
            const h = probeAt(mgr, at, false);
            o.runWorker(true);
            return h ? [h] : [];
          });
          assert.is(o.stateOf(at), 'optimized', `${what}: the probe at ${image.formatAddr(at)} was optimized`);
          if (at !== c.fault) restCopies++;
          sameOops(`${what}, optimized at ${image.formatAddr(at)}`, c, one);
        }
      }
      // a kretprobe on every function of the path
      let krp!: KretprobeManager;
      const kret = crashRun(c.n, cpus, (mgr, pl) => {
        krp = KretprobeManager.attach(pl, mgr);
        const hits: Hit[] = [];
        for (const f of c.fns) {
          const h: Hit = { addr: f.addr, n: 0, p: {} as Kprobe };
          h.p = { addr: f.addr };
          if (krp.registerKretprobe({ kp: h.p, entryHandler: () => { h.n++; return 0; }, handler: () => 0, maxactive: 64 }) === 0) hits.push(h);
        }
        return hits;
      });
      sameOops(`${what}, kretprobes`, c, kret, krp.trampoline);
      kretEntries += kret.hits.reduce((s, h) => s + h.n, 0);
    }
    assert.ok(faultsProbed >= 4, `the faulting instructions themselves were probed (${faultsProbed})`);
    assert.ok(restCopies >= 1, `a fault in a detour's later copy was covered (${restCopies})`);
    assert.ok(ftraceHits > 0, 'ftrace-based probes fired on the crash path');
    assert.ok(kretEntries > 0, 'kretprobes were entered on the crash path');
  });
}

test.run();
