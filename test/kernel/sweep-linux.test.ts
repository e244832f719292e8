// Transparency on real code: kprobes at seeded random instruction boundaries of about 30 functions the
// workloads run on Linux 6.1 (vfs_read, pipe_read, do_sys_openat2, kernel_clone, schedule, ...), on each
// probe path in turn: int3 with a single-stepped copy (a post_handler), boosted (none), jump-optimized
// or ftrace-based through the optimizer, and kretprobes on the functions. The results, console,
// kernel instruction count and emulated time must equal the unprobed run's, and each probe must fire
// exactly as often as the unprobed run executed its address (machine.countExecutions).
// Default: a seeded sample of boundaries in functions boot never runs, on `cat`, every run restored
// from the boot snapshot, and a few single-step probes on pipe-pingpong. KTRACE_LONG=1: 300 boundaries
// of those functions on cat and on pipe-pingpong. (pipe-pingpong once ended 20 instructions off the
// counted run: not the probes, but a compiled block looping back to a first instruction that faults,
// which reported the previous fault's RIP and counted instructions twice; test/emu/compile.test.ts.)
// Static call and BUG()/WARN() sites are swept like the rest: register_kprobe refuses them as Linux does
// (check.ts, from the image's tables). Other text boot changed (lock prefixes made `ds` on one CPU,
// alternatives, ftrace's nops) is left out of the sweep and has its own test at the end: ktrace arms a
// probe there only once the kernel has patched it (alternative_instructions(), Platform.textPatched), as
// Linux registers kprobes after it. (Before that was so, alternatives_smp_unlock skipped a lock prefix
// it found an int3 on: the test:long fork-storm sweep ended 737 instructions short of the plain boot.)
// fork-storm's functions: those boot never runs by default, and
// (test:long) those boot runs too, 300 boundaries, every run booted cold (433 s under load 18).
// linux-snapshots: 1 2 (the boot snapshots this file restores: scripts/test.mjs makes them first)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Image } from '../../src/elf/image.js';
import { FIXTURES } from '../../src/paths.js';
import { parseWorkload } from '../../src/kernel/workload/parser.js';
import { runScript, type RunResult } from '../../src/kernel/session.js';
import { bundledLinuxPath, LINUX_FIXTURE_DIR } from '../../src/kernel/linux/bundle.js';
import '../../src/kernel/linux/task-layout.js'; // Linux's task layout reader (kernel/task-layout.ts)
import { Disassembler } from '../../src/elf/disasm.js';
import { KprobeManager, KretprobeManager, Optimizer, seededSample, type Kprobe } from '../../src/kprobe/index.js';
import type { Platform } from '../../src/kernel/platform.js';
import { cacheEnabled } from '../../src/cache.js';
import { altinstrSites } from '../../src/elf/kernel-sections.js';

const LONG = process.env.KTRACE_LONG === '1';
const built = existsSync(join(LINUX_FIXTURE_DIR, 'vmlinux.br'));
const image = built ? Image.load(readFileSync(bundledLinuxPath())) : undefined;

const FUNCTIONS = [
  'vfs_read', 'vfs_write', 'ksys_read', 'ksys_write', 'pipe_read', 'pipe_write', 'do_sys_openat2', 'do_filp_open',
  'path_openat', 'kernel_clone', 'copy_process', 'wake_up_new_task', 'do_exit', 'do_wait', 'schedule', '__schedule',
  'try_to_wake_up', 'filemap_read', 'copy_page_to_iter', '__fdget_pos', 'fput', '__x64_sys_read', '__x64_sys_write',
  '__x64_sys_openat', '__x64_sys_close', 'close_fd', 'seq_read_iter', 'proc_reg_read_iter', 'rw_verify_area',
  'anon_pipe_buf_release', 'do_pipe2', 'kernel_wait4', 'release_task', 'dput',
];
// fork-storm's: tasks made, scheduled, exited and reaped
const FORK_FUNCTIONS = [
  'kernel_clone', 'copy_process', 'dup_task_struct', 'sched_fork', 'alloc_pid', 'copy_files', 'copy_fs', 'copy_sighand',
  'copy_signal', 'wake_up_new_task', '__x64_sys_clone', 'do_exit', 'do_group_exit', 'exit_notify', 'exit_files',
  'do_notify_parent', 'release_task', 'free_pid', '__put_task_struct', 'do_wait', 'kernel_wait4', 'wait_consider_task',
  '__x64_sys_wait4', '__x64_sys_getpid', '__x64_sys_getppid', 'do_sched_yield', '__x64_sys_sched_yield', 'schedule',
  '__schedule', 'try_to_wake_up',
];
// Refusals the sweep may meet, and nothing else (the fixture sweep's list).
const ALLOWED = /is on the kprobe blacklist|cannot be executed out of line|already there|not emulated|only the 64-bit form|masks exceptions|static_call_text_reserved|find_bug|jump_label_text_reserved|alternatives_text_reserved/;

interface Fn { name: string; addr: number; boundaries: number[] }
function boundaries(functions = FUNCTIONS): Fn[] {
  const d = new Disassembler(image!);
  try {
    return functions.flatMap((name) => {
      const sym = image!.symbol(name);
      if (!sym || sym.size <= 0) return [];
      return [{ name, addr: sym.addr, boundaries: d.lines(sym.addr, sym.addr + sym.size).map((l) => l.addr) }];
    });
  } finally { d.free(); }
}

type Path = 'single-step' | 'boosted' | 'optimized' | 'kretprobe';
interface Probed { r: RunResult; booted: string; why: string; hits: Map<number, number>; refused: number }

type BootCode = (a: number, b: number) => boolean;
/** A run with probes on `path` at `addrs`, or a plain run counting the executions of `addrs` (given, or
 *  chosen once the code boot ran is known: `counted`). */
function run(script: ReturnType<typeof parseWorkload>, addrs: number[] | ((bootCode?: BootCode) => number[]), path: Path | 'plain', fns: Fn[], cpus = 1): Probed & { counts?: Float64Array; counted: number[]; bootCode?: BootCode; patched: (a: number) => boolean } {
  const hits = new Map<number, number>();
  let refused = 0, pl!: Platform, counts: Float64Array | undefined, counted = typeof addrs === 'function' ? [] : addrs;
  const r = runScript(image!, script, {
    cpus, seed: 1, maxInsns: 600_000_000,
    attach: (p) => {
      pl = p;
      if (path === 'plain') {
        // counting forces the one-instruction path: a run that counts nothing runs tiered
        if (typeof addrs === 'function') {
          // the boundaries to count depend on the code boot ran: counted from the first instruction
          // after the boot snapshot is restored (or a cold boot starts), as if from the start
          const f = p.beforeFirstSlice!, list = addrs;
          p.beforeFirstSlice = (mi, sl) => { f(mi, sl); counted = list(p.bootedFrom.bootCode); counts = p.machine.countExecutions(counted); };
        } else if (addrs.length > 0) counts = p.machine.countExecutions(addrs);
        return;
      }
      const mgr = KprobeManager.attach(p);
      // the optimizer brings the ftrace path (CONFIG_KPROBES_ON_FTRACE): kretprobes sit on fentry sites
      if (path === 'optimized' || path === 'kretprobe') Optimizer.attach(p, mgr);
      if (path === 'kretprobe') {
        const krp = KretprobeManager.attach(p, mgr);
        for (const f of fns) {
          const rp = { kp: { symbolName: f.name }, maxactive: 64, handler: () => { hits.set(f.addr, (hits.get(f.addr) ?? 0) + 1); } };
          if (krp.registerKretprobe(rp) !== 0) refused++;
        }
        return;
      }
      for (const addr of addrs as number[]) {
        // an int3 over the kernel's `call __fentry__` before its ftrace_init would break that init
        // (ftrace_verify_code): fentry sites are probed through the ftrace path only
        if (path !== 'optimized' && image!.mcountSites.includes(addr)) { hits.set(addr, -1); continue; }
        const k: Kprobe = { addr, preHandler: () => { hits.set(addr, (hits.get(addr) ?? 0) + 1); return 0; } };
        if (path === 'single-step') k.postHandler = () => {};
        if (mgr.registerKprobe(k) === 0) continue;
        assert.match(mgr.lastError.reason, ALLOWED, `${image!.formatAddr(addr)}: ${mgr.lastError.reason}`);
        refused++;
        hits.set(addr, -1);
      }
    },
  });
  // text boot changed (alternatives, lock prefixes made ds on one CPU, ftrace): differs from the image
  // within the 5 bytes an optimized probe's jump would cover
  const patched = (a: number) => {
    const now = pl.machine.mem.readBytes(a, 5), was = image!.read(a, 5)!;
    return now.some((b, i) => b !== was[i]);
  };
  return { r, booted: pl.bootedFrom.kind, why: pl.bootedFrom.why, hits, refused, counts, counted, bootCode: pl.bootedFrom.bootCode, patched };
}

function same(label: string, plain: RunResult, r: RunResult): void {
  assert.equal(r.end, plain.end, `${label}: end`);
  assert.equal(r.failures, [], `${label}: workload expectations`);
  assert.equal(r.syscalls, plain.syscalls, `${label}: system call results`);
  assert.is(r.console, plain.console, `${label}: console`);
  assert.is(r.instructions, plain.instructions, `${label}: kernel instruction count`);
  assert.is(r.emulatedNs, plain.emulatedNs, `${label}: emulated time`);
}

function sweep(workload: string, sample: number, seed: number, bootToo: boolean, functions = FUNCTIONS, cpus = 1): void {
  const script = parseWorkload(`${workload}.wl`, readFileSync(join(FIXTURES, 'workloads', `${workload}.wl`), 'utf8'));
  const every = boundaries(functions);
  assert.ok(every.length >= functions.length * 0.75, `most of the functions are in this kernel (${every.map((f) => f.name).join(' ')})`);
  // One plain run counts every boundary of the functions it may sample (those boot never ran, from the
  // snapshot; bootToo: all, from a cold boot): the sample is drawn afterwards, off the text the run left patched.
  let fns = every;
  const plain = run(script, bootToo ? every.flatMap((f) => f.boundaries) : (bootCode) => {
    if (bootCode) fns = every.filter((f) => !bootCode(f.addr, f.addr + (f.boundaries.at(-1)! - f.addr) + 32));
    return fns.flatMap((f) => f.boundaries);
  }, 'plain', [], cpus);
  const bootCode = plain.bootCode;
  assert.ok(bootCode, 'a boot snapshot is at hand');
  if (process.env.KTRACE_SWEEP_DEBUG) console.log(workload, fns.map((f) => f.name).join(' '));
  // Text boot changed is left out (boot-run functions too) unless Linux refuses a probe there (static call sites: check.ts) or
  // an ftrace-path probe waits for boot's nop (fentry sites): lock prefixes and alternatives have their
  // own test (bootPatchedSites), where the sample's pre-boot instruction boundaries are those of the patched text.
  const mcountSites = new Set(image!.mcountSites);
  const all = fns.flatMap((f) => f.boundaries.filter((a) => mcountSites.has(a) || image!.patchedText(a) !== undefined || !plain.patched(a)));
  const addrs = seededSample(all, Math.min(sample, all.length), seed).sort((a, b) => a - b);
  assert.is(plain.r.end.kind, 'poweroff');
  if (!bootToo) assert.is(plain.booted, 'snapshot');
  const index = new Map(plain.counted.map((a, i) => [a, i]));
  const want = new Map(addrs.map((a) => [a, plain.counts![index.get(a)!]]));
  let fired = 0;
  // An ftrace-path probe is armed once the kernel's ftrace_init has put its nop at the site (the
  // kernel's own order): hits before that, in boot, are not seen (kprobe/ftrace.ts).
  const mcount = new Set(image!.mcountSites);
  for (const path of ['single-step', 'boosted', 'optimized'] as Path[]) {
    const s = run(script, addrs, path, fns, cpus);
    const label = `${workload} on ${cpus} CPU(s), ${path}, ${addrs.length} boundaries in ${fns.length} functions`;
    if (!bootToo) assert.is(s.booted, 'snapshot', `${label}: booted cold (${s.why})`);
    same(label, plain.r, s.r);
    assert.ok(s.r.probeInstructions > 0, `${label}: probe overhead counted apart`);
    assert.ok(s.refused < addrs.length / 4, `${label}: most boundaries are probe-able (${s.refused} refused)`);
    for (const a of addrs) {
      const n = s.hits.get(a) ?? 0;
      if (n < 0) continue;
      fired += n;
      if (path === 'optimized' && mcount.has(a) && bootCode!(a, a + 1)) { assert.ok(n <= want.get(a)!); continue; }
      if (n !== want.get(a)) assert.is(n, want.get(a), `${label}: hits at ${image!.formatAddr(a)}`);
    }
  }
  assert.ok(fired > 0, `${workload}: the probes fired`);
  const k = run(script, addrs, 'kretprobe', fns, cpus);
  same(`${workload}, kretprobes on ${fns.length} functions`, plain.r, k.r);
  assert.ok([...k.hits.values()].reduce((x, y) => x + y, 0) > 0, `${workload}: kretprobes fired`);
}

test('transparency on real Linux code: a seeded sample of boundaries in functions boot never runs (cat, from the snapshot)', () => {
  if (!image) { console.log('SKIP fixtures/linux/vmlinux.br not built yet'); return; }
  if (!cacheEnabled()) { console.log('SKIP the cache is off (KTRACE_NO_CACHE): no boot snapshot'); return; }
  sweep('cat', 40, 1, false);
});

test('transparency on real Linux code: 300 boundaries of the functions boot never runs, on cat (test:long)', () => {
  if (!image || !LONG || !cacheEnabled()) return;
  sweep('cat', 300, 7, false);
});

test('transparency on real Linux code on 2 CPUs: a seeded sample of boundaries on pipe-pingpong (its tasks run on both CPUs)', () => {
  if (!image) { console.log('SKIP fixtures/linux/vmlinux.br not built yet'); return; }
  if (!cacheEnabled()) { console.log('SKIP the cache is off (KTRACE_NO_CACHE): no boot snapshot'); return; }
  sweep('pipe-pingpong', LONG ? 300 : 16, 3, false, FUNCTIONS, 2);
});

test('transparency on real Linux code: 300 boundaries on pipe-pingpong (test:long)', () => {
  if (!image || !LONG || !cacheEnabled()) return;
  sweep('pipe-pingpong', 300, 7, false);
});

test('transparency on real Linux code: fork-storm, a seeded sample of boundaries in its functions boot never runs', () => {
  if (!image) { console.log('SKIP fixtures/linux/vmlinux.br not built yet'); return; }
  if (!cacheEnabled()) { console.log('SKIP the cache is off (KTRACE_NO_CACHE): no boot snapshot'); return; }
  sweep('fork-storm', 40, 1, false, FORK_FUNCTIONS);
});

test('transparency on real Linux code: fork-storm, 300 boundaries of its functions, those boot runs too, every run booted cold (test:long)', () => {
  if (!image || !LONG) return;
  sweep('fork-storm', 300, 7, true, FORK_FUNCTIONS);
});

test('transparency on real Linux code: a few single-step probes where pipe-pingpong runs, against the counted run', () => {
  if (!image) { console.log('SKIP fixtures/linux/vmlinux.br not built yet'); return; }
  if (!cacheEnabled()) { console.log('SKIP the cache is off (KTRACE_NO_CACHE): no boot snapshot'); return; }
  const script = parseWorkload('pipe-pingpong.wl', readFileSync(join(FIXTURES, 'workloads', 'pipe-pingpong.wl'), 'utf8'));
  const fns = boundaries();
  // the plain run in compiled blocks; it tells which code boot ran and patched
  const probe = run(script, [], 'plain', fns);
  assert.is(probe.booted, 'snapshot');
  assert.is(probe.r.end.kind, 'poweroff');
  // one run counts every boundary of the functions boot never ran, off fentry sites (the
  // one-instruction path, the sweep's oracle) and off text boot changed that Linux lets a probe have
  // (see sweep()): it must end as the compiled run does
  const mcountSites = new Set(image!.mcountSites);
  const all = fns.flatMap((f) => f.boundaries).filter((a) => !probe.bootCode!(a, a + 1) && !mcountSites.has(a) && (image!.patchedText(a) !== undefined || !probe.patched(a)));
  const plain = run(script, all, 'plain', fns);
  assert.is(plain.booted, 'snapshot');
  same('pipe-pingpong, counted run', probe.r, plain.r);
  // probes where the workload ran
  const ran = all.filter((_, i) => plain.counts![i] > 0);
  assert.ok(ran.length >= 20, `the workload runs code of the functions (${ran.length} boundaries)`);
  const addrs = seededSample(ran, 4, 7).sort((a, b) => a - b);
  const s = run(script, addrs, 'single-step', fns);
  same(`pipe-pingpong, single-step at ${addrs.map((a) => image!.formatAddr(a)).join(' ')}`, plain.r, s.r);
  // a refusal is one Linux gives (run() checks the reason): such a probe has no hits to compare
  for (const a of addrs) if (s.hits.get(a) !== -1) assert.is(s.hits.get(a), plain.counts![all.indexOf(a)], `hits at ${image!.formatAddr(a)}`);
  assert.ok(s.refused < addrs.length);
});

// Text Linux patches once at boot and lets a kprobe have afterwards: `lock` prefixes (made `ds` on one
// CPU by alternatives_smp_unlock) and the alternatives' sites (the replacement, or optimize_nops'
// padding). ktrace arms such a probe only once alternative_instructions() is done (Platform.textPatched),
// from the patched text: the kernel's patching meets its own bytes and the run equals the unprobed one.
function bootPatchedSites(cpus: number, bootToo = false, paths: Path[] = ['single-step', 'boosted', 'optimized']): void {
  const script = parseWorkload('cat.wl', readFileSync(join(FIXTURES, 'workloads', 'cat.wl'), 'utf8'));
  const fns = boundaries();
  const probe = run(script, [], 'plain', fns, cpus);
  assert.is(probe.booted, 'snapshot');
  // sites in code the workload runs and boot never ran (so the snapshot stands for boot), outside
  // what Linux refuses (jump labels, static calls, BUG()s, the blacklist)
  const fresh = (a: number) => probe.bootCode!(a, a + 32) === bootToo && image!.patchedText(a) === undefined && !image!.inKprobeBlacklist(a) &&
    !image!.mcountSites.includes(a) && image!.lookupAddr(a) !== undefined;
  // (boot too: outside __init text, which boot frees, and the lock prefixes in the functions the
  // workloads run; none of their alternatives sites is one boot runs)
  const init = image!.initRange;
  const kept = (a: number) => !bootToo || !(init && a >= init.start && a < init.end);
  const inFns = (a: number) => !bootToo || fns.some((f) => a >= f.addr && a <= f.boundaries.at(-1)!);
  const locks = [...image!.smpLockSites].filter((a) => fresh(a) && kept(a) && inFns(a)).sort((x, y) => x - y);
  const alts = [...new Set(altinstrSites(image!).map((r) => r.start))].filter((a) => !image!.smpLockSites.has(a) && fresh(a) && kept(a)).sort((x, y) => x - y);
  const counted = run(script, [...locks, ...alts], 'plain', fns, cpus);
  assert.is(counted.booted, bootToo ? 'cold' : 'snapshot');
  const ran = new Set([...locks, ...alts].filter((_, i) => counted.counts![i] > 0));
  const want = new Map([...locks, ...alts].map((a, i) => [a, counted.counts![i]]));
  const addrs = [...seededSample(locks.filter((a) => ran.has(a)), 2, 5), ...seededSample(alts.filter((a) => ran.has(a)), 2, 5)].sort((a, b) => a - b);
  const names = addrs.map((a) => `${image!.formatAddr(a)} (${image!.smpLockSites.has(a) ? 'lock' : 'alternative'})`).join(' ');
  if (process.env.KTRACE_SWEEP_DEBUG) console.log(names);
  assert.ok(addrs.some((a) => image!.smpLockSites.has(a)), 'the workload runs a lock-prefixed instruction of the functions');
  assert.ok(addrs.some((a) => !image!.smpLockSites.has(a)), 'the workload runs an alternatives site of the functions');
  for (const path of paths) {
    const s = run(script, addrs, path, fns, cpus);
    const label = `cat on ${cpus} CPU(s), ${path}, probes at ${names}`;
    if (!bootToo) assert.is(s.booted, 'snapshot', `${label}: booted cold (${s.why})`);
    same(label, counted.r, s.r);
    assert.is(s.refused, 0, label);
    // the counted run counts boot from its first instruction, the probes from the patching on
    for (const a of addrs) {
      if (!bootToo) assert.is(s.hits.get(a), want.get(a), `${label}: hits at ${image!.formatAddr(a)}`);
      else assert.ok((s.hits.get(a) ?? 0) <= want.get(a)!, `${label}: hits at ${image!.formatAddr(a)}: ${s.hits.get(a)} of ${want.get(a)}`);
    }
    assert.ok(addrs.some((a) => (s.hits.get(a) ?? 0) > 0), `${label}: the probes fired`);
  }
}

test('probes on lock prefixes and alternatives sites the workload runs, on 1 CPU: armed after boot patched them; transparent, and hit', () => {
  if (!image) { console.log('SKIP fixtures/linux/vmlinux.br not built yet'); return; }
  if (!cacheEnabled()) { console.log('SKIP the cache is off (KTRACE_NO_CACHE): no boot snapshot'); return; }
  bootPatchedSites(1);
});

test('probes on lock prefixes and alternatives sites the workload runs, on 2 CPUs (the lock prefixes stay): transparent, and hit', () => {
  if (!image) { console.log('SKIP fixtures/linux/vmlinux.br not built yet'); return; }
  if (!cacheEnabled()) { console.log('SKIP the cache is off (KTRACE_NO_CACHE): no boot snapshot'); return; }
  // the default run takes the single-step path on 2 CPUs (1 CPU takes all three); test:long all three
  bootPatchedSites(2, false, LONG ? undefined : ['single-step']);
});

test('probes on lock prefixes and alternatives sites boot runs too, on 1 CPU (test:long: cold boots): transparent, and hit', () => {
  if (!image || !LONG || !cacheEnabled()) return;
  bootPatchedSites(1, true);
});

test.run();
