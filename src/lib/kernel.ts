// The library's composition (the package's public entry, src/index.ts, exports it): a vmlinux opened
// once, and runs of a workload on it, each with a fresh booted kernel whose kprobes API (kprobe/api.ts),
// tracefs files (the trace-event layer: kprobe_events, events/*/enable, trace, kprobe_profile,
// kprobes/list) and trace_printk are handed to an `init` callback before the first instruction, as a
// module's init function runs before the workload; `exit` runs after the kernel stopped.
//
//   const k = openKernel();                       // the bundled fixture kernel (or { vmlinux: PATH })
//   const r = k.run({ workload: 'cat', init(s) { s.register_kprobe(kp); }, exit(s) { s.unregister_kprobe(kp); } });
//   r.trace, r.log, r.syscalls, r.instructions, r.emulatedNs
import { ElfError } from '../elf/errors.js';
import { openImage } from '../elf/open.js';
import { notBootable } from '../kernel/bootable.js';
import { loadWorkload, WorkloadFileError } from '../kernel/workload/load.js';
import type { Image } from '../elf/image.js';
import type { Cpu } from '../emu/cpu.js';
import { runScript, type RunResult } from '../kernel/session.js';
import '../kernel/linux/task-layout.js'; // a library user may boot real Linux (kernel/task-layout.ts)
import { parseWorkload } from '../kernel/workload/parser.js';
import { WorkloadError } from '../kernel/workload/error.js';
import type { Platform } from '../kernel/platform.js';
import type { Script } from '../kernel/workload/ast.js';
import { KprobeManager } from '../kprobe/kprobes.js';
import { KretprobeManager } from '../kprobe/kretprobe.js';
import { Optimizer } from '../kprobe/optimizer.js';
import { KprobesApi, type KprobesApiOptions } from '../kprobe/api.js';
import { DEFAULT_VMLINUX } from '../paths.js';
import { byTraceTime, ProbeRuntime } from '../trace/runtime/probes.js';
import { TraceSession } from '../trace/runtime/session.js';
import { emptyTraceState } from '../trace/runtime/state.js';
import { addTracefs } from '../trace/runtime/tracefs.js';
import { imageResolver } from '../trace/kprobe-events/resolver.js';
import { traceContext, traceHeader } from '../trace/kprobe-events/format.js';
import { currentTask } from '../trace/runtime/context.js';
import { hitFlags } from '../trace/runtime/flags.js';
import { Vfs } from '../trace/vfs.js';
import { ENOENT, strerror } from '../base/errno.js';

export interface KernelOptions {
  /** A vmlinux path, or 'mini' (default): the bundled fixture kernel. */
  vmlinux?: string;
  /** Emulated CPUs (default 2). */
  cpus?: number;
  /** The machine's seed (default 1): same kernel, workload, probes and seed give the same run. */
  seed?: number;
  /** Timer interrupt period in instructions. */
  timerPeriod?: number;
  /** Start from the cached boot snapshot when the probes allow it (default true). */
  snapshot?: boolean;
}

export interface RunOptions {
  /** A bundled workload's name (`ktrace run --list`) or a workload file. Default: 'default'. */
  workload?: string;
  /** Workload script text instead of `workload`. */
  script?: string;
  /** Instruction budget (default 400,000,000). */
  maxInsns?: number;
  /** /proc/sys/debug/kprobes-optimization (default true: probes are jump-optimized when they can be). */
  optimize?: boolean;
  /** Handler error policy and read budget of the kprobes API. */
  handlers?: KprobesApiOptions;
  /** Runs before the kernel runs: register probes, write kprobe_events. A negative errno aborts the run. */
  init?: (k: KernelSession) => number | void;
  /** Runs after the kernel stopped (unregister, read nmissed). */
  exit?: (k: KernelSession) => void;
}

/** What a run gives back: the run's result plus the trace and the log. */
export interface RunReport extends RunResult {
  /** The tracefs `trace` file after the run (header and lines). */
  trace: string;
  /** The trace lines alone, in trace order (kprobe events and trace_printk). */
  traceLines: string[];
  /** printk lines, in order (pr_info of handlers, kprobes' own messages). */
  log: string[];
}

/** The running kernel as init, handlers and exit see it: the kprobes API plus tracefs and printk. */
export class KernelSession extends KprobesApi {
  /** The kernel log (printk). */
  readonly log: string[] = [];
  private readonly vfs = new Vfs();
  /** Trace lines with their time and CPU, merged into trace order when the run ends. */
  readonly traceEntries: { ts: bigint; cpu: number; line: string }[] = [];
  /** Where trace_printk lines go (default: traceEntries; the CLI streams them with the events). */
  onTrace: (cpu: number, ts: bigint, line: string) => void = (cpu, ts, line) => { this.traceEntries.push({ ts, cpu, line }); };

  constructor(readonly platform: Platform, mgr: KprobeManager, krm: KretprobeManager, readonly optimizer: Optimizer,
    readonly runtime: ProbeRuntime, readonly session: TraceSession, opts: KprobesApiOptions) {
    super(mgr, krm, opts);
    addTracefs(this.vfs, session, { mgr, typeOf: krm.typeOf });
  }

  /** The image being run. */
  get image(): Image { return this.platform.image; }

  /** Read a tracefs, debugfs or procfs file (`trace`, `kprobe_profile`, `/sys/kernel/debug/kprobes/list`, ...). */
  readFile(path: string): string {
    const r = this.vfs.read(abs(path));
    if (!r.ok) throw new Error(`${path}: ${r.errno === -ENOENT ? strerror(r.errno) : `error ${r.errno}`}`);
    return r.text;
  }
  /** Append to a tracefs file as `echo TEXT >> PATH`: 0 or a negative errno. */
  writeFile(path: string, text: string, truncate = false): number {
    const r = this.vfs.write(abs(path), text.endsWith('\n') ? text : text + '\n', { truncate });
    return r.ok ? 0 : r.errno;
  }

  /** `current` on the CPU running the handler (else CPU 0): its task_struct address, pid and comm. */
  current(): { task: number; pid: number; comm: string } | undefined {
    return currentTask(this.platform.machine.mem, this.cpuNow().gsb);
  }
  /** kallsyms_lookup_name. */
  kallsyms_lookup_name(name: string): number | undefined { return this.image.lookupName(name); }
  /** %pS: symbol+0xoff/0xsize, or the hex address. */
  sprint_symbol(addr: number | bigint): string {
    return this.image.formatAddr(typeof addr === 'bigint' ? Number(BigInt.asIntN(64, addr)) : addr);
  }
  /** printk / pr_info: a kernel log line. */
  printk(text: string): void { this.log.push(text.replace(/\n$/, '')); }
  /** ktime_get: the emulated clock of the CPU running the handler (else CPU 0), in ns. */
  ktime_get(): bigint { return BigInt(this.cpuNow().clock()); }
  /** trace_printk: a line in the trace of the CPU running the handler, attributed to `func` (the caller). */
  trace_printk(text: string, func = 'trace_printk'): void {
    const cpu = this.cpuNow();
    const t = currentTask(this.platform.machine.mem, cpu.gsb);
    const ts = BigInt(cpu.clock());
    const head = traceContext({ comm: t ? t.comm : '<...>', pid: t ? t.pid : 0, cpu: cpu.id, tsNs: ts, flags: hitFlags(this.mgr, this.mgr.regsOf(cpu), this.platform.machine.mem, this.image) });
    this.onTrace(cpu.id, ts, `${head}${func}: ${text.replace(/\n$/, '')}\n`);
  }
  private cpuNow(): Cpu { return this.handlerCpu ?? this.platform.machine.cpus[0]; }
}

function abs(path: string): string { return path.startsWith('/') ? path : `/sys/kernel/tracing/${path}`; }

/** init returned a negative errno (as insmod fails when module_init does): the errno, the reason, the log so far. */
export class InitError extends Error {
  constructor(readonly errno: number, readonly reason: string, readonly log: string[]) {
    super(`init failed: ${errno}${reason ? ` (${reason})` : ''}`);
  }
}

/** A vmlinux opened for runs. */
export class Kernel {
  readonly image: Image;
  constructor(readonly opts: KernelOptions = {}) {
    const path = !opts.vmlinux || opts.vmlinux === 'mini' ? DEFAULT_VMLINUX : opts.vmlinux;
    let image: Image;
    try { image = openImage(path); } catch (e) { throw e instanceof ElfError ? new Error(e.message) : e; }
    const why = notBootable(image, path, 'open');
    if (why) throw new Error(why);
    this.image = image;
  }

  /** Boot a fresh kernel, call init, run the workload to its end, call exit. */
  run(opts: RunOptions = {}): RunReport {
    const script = this.script(opts);
    let ks: KernelSession | undefined;
    let refused = 0;
    const r = runScript(this.image, script, {
      cpus: this.opts.cpus ?? 2, seed: this.opts.seed ?? 1, maxInsns: opts.maxInsns ?? 400_000_000,
      timerPeriod: this.opts.timerPeriod, snapshot: this.opts.snapshot,
      attach: (p) => {
        const mgr = KprobeManager.attach(p);
        const krm = KretprobeManager.attach(p, mgr);
        const optimizer = Optimizer.attach(p, mgr);
        optimizer.enabled = opts.optimize !== false;
        const runtime = new ProbeRuntime(mgr, p.machine.mem, p.image, krm);
        const session = new TraceSession(emptyTraceState(), { resolver: imageResolver(p.image), backend: runtime, now: () => BigInt(p.emulatedNs) });
        const s = ks = new KernelSession(p, mgr, krm, optimizer, runtime, session, opts.handlers ?? {});
        runtime.onEvent = (e) => s.traceEntries.push({ ts: e.tsNs, cpu: e.cpu, line: e.line });
        const rc = opts.init?.(ks);
        if (typeof rc === 'number' && rc < 0) { refused = rc; p.end = { kind: 'fatal', message: `init returned ${rc}`, cpu: 0, rip: 0 }; }
      },
    });
    if (refused) throw new InitError(refused, ks?.lastError ?? '', ks?.log ?? []);
    const s = ks!;
    // the run's counters and buffer, as tracefs shows them afterwards
    for (const probe of s.runtime.kprobes.keys()) s.session.addCounts(probe, s.runtime.hits.get(probe) ?? 0, s.runtime.misses(probe));
    const lines = s.traceEntries.slice().sort(byTraceTime).map((e) => e.line);
    s.session.state = { ...s.session.state, trace: lines.join(''), traceEntries: lines.length, traceWritten: lines.length, cpus: r.cpus };
    opts.exit?.(s);
    return { ...r, trace: traceHeader(lines.length, lines.length, r.cpus) + lines.join(''), traceLines: lines.map((l) => l.replace(/\n$/, '')), log: [...s.log, ...s.mgr.messages] };
  }

  private script(opts: RunOptions): Script {
    try {
      if (opts.script !== undefined) return parseWorkload('script.wl', opts.script);
      return loadWorkload(opts.workload ?? 'default');
    } catch (e) {
      if (e instanceof WorkloadError) throw new Error(e.format());
      if (e instanceof WorkloadFileError) throw new Error(e.message);
      throw e;
    }
  }
}

/** Open a vmlinux (default: the bundled fixture kernel). */
export function openKernel(opts: KernelOptions = {}): Kernel { return new Kernel(opts); }
