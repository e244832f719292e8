// One run of a workload on the kernel: boot, run, gather the results users see (`ktrace run`).
import type { Image } from '../elf/image.js';
import type { Script } from './workload/ast.js';
import { WorkloadRunner, type ExpectFailure } from './workload/runner.js';
import type { Platform, KernelFault, RunEnd } from './platform.js';
import { Disassembler, renderLine } from '../elf/disasm.js';
import { bootSnapshot, executedDuringBoot, newPlatform, refusal, restore } from './snapshot.js';
import { cacheEnabled } from '../cache.js';
import { loadCode, saveCode } from './code-cache.js';
import { isLinuxImage } from './linux/bundle.js';

export interface RunOptions {
  cpus: number;
  seed: number;
  maxInsns: number;
  timerPeriod?: number;
  /** Guest instructions per slice (tests: the results must not depend on it). */
  slice?: number;
  /** Emulated ns without any system call after which the run ends as stalled (default 10 s). */
  stallNs?: number;
  /** Called between slices (progress display, streaming output); must not touch the machine. The
   *  async run waits for a promise it returns (a slow reader of the output holds the run). */
  onProgress?: (p: { instructions: number; syscalls: number }) => void | Promise<void>;
  shouldStop?: () => boolean;
  /** Upper layers (kprobes) attach to the platform before it boots. */
  attach?: (platform: Platform) => void;
  /** Start from the cached boot snapshot when the run allows it (default true; kernel/snapshot.ts). */
  snapshot?: boolean;
  /** The image's cache key (cache.ts imageKey of its path), when known. */
  imageKey?: string;
}

export interface SyscallSummary { count: number; results: Record<string, number> }

export interface RunResult {
  workload: string;
  cpus: number;
  seed: number;
  end: RunEnd;
  /** 0: clean power-off and every expectation held. */
  exitCode: number;
  instructions: number;
  probeInstructions: number;
  emulatedNs: number;
  hostSeconds: number;
  /** Emulated guest instructions per host second, in millions. */
  mips: number;
  syscalls: Record<string, SyscallSummary>;
  console: string;
  failures: ExpectFailure[];
  oops?: KernelFault;
  /** The faulting instruction of an oops, as objdump prints it. */
  faultInsn?: string;
}

/** Boot the kernel with the workload attached; the caller runs it with runSlice. */
export function prepare(image: Image, script: Script, opts: RunOptions): { platform: Platform; runner: WorkloadRunner } {
  const popts = { cpus: opts.cpus, seed: opts.seed, timerPeriod: opts.timerPeriod, stallNs: opts.stallNs };
  const platform = newPlatform(image, popts);
  const runner = new WorkloadRunner(script, platform);
  platform.workload = runner;
  loadCode(platform.machine, image, opts.imageKey);
  const user = runner.setup({ stub: !isLinuxImage(image) });
  platform.boot(user);
  if (opts.snapshot !== false && cacheEnabled()) {
    // Whether the boot snapshot can stand for this boot is decided when the run starts (the first
    // slice: its budget and slice size are known then); until then, what the upper layers write is logged.
    const mem = platform.machine.mem;
    mem.hostLog = [];
    platform.beforeFirstSlice = (maxInsns, slice) => {
      const log = mem.hostLog ?? [];
      mem.hostLog = null;
      // A saved page that does not check out (its entry is then gone) means the snapshot is made again
      for (let tries = 0; ; tries++) {
        const snap = bootSnapshot({ image, imageKey: opts.imageKey, platform: popts, slice, user, maxInsns }, script);
        const why = snap ? refusal(snap, platform, log, maxInsns) : 'no snapshot (boot did not reach /init)';
        const restored = snap !== null && why === '' && !snap.bytes.bad && restore(platform, snap, log, slice);
        snap?.bytes.close();
        if (snap?.bytes.bad && tries === 0) continue;
        const bootCode = snap ? (a: number, b: number) => executedDuringBoot(snap, a, b) : undefined;
        platform.bootedFrom = restored ? { kind: 'snapshot', why: '', bootCode } : { kind: 'cold', why: why || 'the snapshot did not check out', bootCode };
        break;
      }
    };
  } else platform.bootedFrom = { kind: 'cold', why: opts.snapshot === false ? 'disabled' : 'the cache is off' };
  opts.attach?.(platform);
  return { platform, runner };
}

/** Run to the end synchronously (tests, benchmarks). */
export function runScript(image: Image, script: Script, opts: RunOptions): RunResult {
  const { platform, runner } = prepare(image, script, opts);
  const t0 = process.hrtime.bigint();
  while (!platform.runSlice(opts.maxInsns, opts.slice)) {
    if (opts.shouldStop?.()) platform.interrupt();
    opts.onProgress?.({ instructions: platform.instructions, syscalls: runner.syscallsIssued });
  }
  return collect(platform, runner, script, opts, Number(process.hrtime.bigint() - t0) / 1e9);
}

/** Run to the end, yielding to the event loop between slices so signals and spinners are served. */
export async function runScriptAsync(image: Image, script: Script, opts: RunOptions): Promise<RunResult> {
  const { platform, runner } = prepare(image, script, opts);
  const t0 = process.hrtime.bigint();
  while (!platform.runSlice(opts.maxInsns, opts.slice)) {
    await new Promise((r) => setImmediate(r));
    if (opts.shouldStop?.()) platform.interrupt();
    const wait = opts.onProgress?.({ instructions: platform.instructions, syscalls: runner.syscallsIssued });
    if (wait) await wait;
  }
  return collect(platform, runner, script, opts, Number(process.hrtime.bigint() - t0) / 1e9);
}

function collect(platform: Platform, runner: WorkloadRunner, script: Script, opts: RunOptions, hostSeconds: number): RunResult {
  const end = platform.end!;
  // A real Linux run that booted cold (a probe on code boot runs, --no-snapshot) decoded the whole boot:
  // its ~100,000 records would make the code entry 5x larger and every later run from the snapshot ~4x
  // slower (parsing them all). What those runs run is not boot: the entry is left as it is.
  if (!(platform.bootedFrom.kind === 'cold' && isLinuxImage(platform.image))) saveCode(platform.machine, platform.image, opts.imageKey);
  const syscalls: Record<string, SyscallSummary> = {};
  for (const name of [...runner.stats.keys()].sort()) {
    const s = runner.stats.get(name)!;
    const results: Record<string, number> = {};
    for (const v of [...s.results.keys()].sort((a, b) => a - b)) results[String(v)] = s.results.get(v)!;
    syscalls[name] = { count: s.count, results };
  }
  const clean = end.kind === 'poweroff' && end.status === 0 && runner.failures.length === 0;
  const instructions = platform.instructions;
  const oops = end.kind === 'panic' || end.kind === 'fatal' ? platform.lastKernelFault : undefined;
  return {
    workload: script.file,
    cpus: opts.cpus,
    seed: opts.seed,
    end,
    exitCode: clean ? 0 : 1,
    instructions,
    probeInstructions: platform.probeInstructions,
    emulatedNs: platform.emulatedNs,
    hostSeconds,
    mips: hostSeconds > 0 ? instructions / hostSeconds / 1e6 : 0,
    syscalls,
    console: platform.console,
    failures: runner.failures,
    oops,
    faultInsn: oops && faultInstruction(platform, oops.rip),
  };
}

function faultInstruction(platform: Platform, rip: number): string | undefined {
  const d = new Disassembler(platform.image);
  try {
    const l = d.lines(rip, rip + 15)[0];
    return l && renderLine(l).trim();
  } finally {
    d.free();
  }
}
