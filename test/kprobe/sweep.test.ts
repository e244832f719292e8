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
import { KprobeManager, instructionBoundaries, seededSample, type FunctionBoundaries, type Kprobe } from '../../src/kprobe/index.js';

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

test.run();
