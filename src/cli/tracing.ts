// The CLI's tracefs sessions: the state directory's contents made live over a kernel image.
// Two kinds, so that one-liners stay fast: a light session (kprobe_events checked without an
// emulated machine: `add`, `del`, `list`, `enable`, reading tracefs files), and a machine session
// (the kernel booted but not run, the events' kprobes registered on it: the debugfs views and
// `ktrace run`). Modules load asynchronously once (loadTracing); building is synchronous, so it
// can happen inside the state lock.
import type { Image } from '../elf/image.js';
import type { Platform } from '../kernel/platform.js';
import type { KprobeManager } from '../kprobe/kprobes.js';
import type { KretprobeManager } from '../kprobe/kretprobe.js';
import type { Optimizer } from '../kprobe/optimizer.js';
import type { TraceSession } from '../trace/runtime/session.js';
import type { ProbeRuntime } from '../trace/runtime/probes.js';
import type { TraceState } from '../trace/runtime/state.js';
import type { CanProbe, TextImage } from '../trace/runtime/check-backend.js';
import { isFtraceSite } from '../trace/runtime/check-backend.js';
import { probesOf } from '../trace/kprobe-events/probe.js';

/**
 * Does any kprobe_events line in `text` need the instruction check (iced-x86) to be judged: a probe at
 * an address, at a non-zero offset, or at a symbol's start that is not an mcount site (a kprobe on an
 * mcount site is ftrace-based; the kernel does not look at its instruction)?
 */
export function needsBoundaryCheck(text: string, image: TextImage): boolean {
  // Parsed as the kernel parses it; an unknown symbol fails the parse (refused before any decoding).
  const resolver = { lookup: (n: string) => image.lookupName(n), count: (n: string) => (image.lookupName(n) === undefined ? 0 : 1), isFunctionEntry: () => true };
  return probesOf(text, resolver).some((p) => {
    if (p.symbol === undefined || p.offset !== 0) return true;
    const addr = image.lookupName(p.symbol);
    return addr !== undefined && !isFtraceSite(image, addr);
  });
}

export interface MachineSession {
  session: TraceSession;
  runtime: ProbeRuntime;
  mgr: KprobeManager;
  krm: KretprobeManager;
  optimizer: Optimizer;
  platform: Platform;
}

export interface Tracing {
  light(image: Image, state: TraceState): TraceSession;
  /** The attach hook for runScript: registers the state's events on the platform. */
  attach(state: TraceState, got: (ms: MachineSession) => void): (p: Platform) => void;
  /** The kernel booted (boot_params filled, CPU 0 at its entry point) but not run, events attached. */
  machine(image: Image, state: TraceState, cpus: number): MachineSession;
}

/**
 * Loads what sessions need. `machine`: the emulator and kprobe layer too. `canProbe`: the
 * instruction-boundary check for light sessions (iced-x86: only when some probe needs it).
 */
export async function loadTracing(opts: { machine?: boolean; canProbe?: boolean; image?: Image } = {}): Promise<Tracing> {
  const { TraceSession } = await import('../trace/runtime/session.js');
  const { checkBackend } = await import('../trace/runtime/check-backend.js');
  const { imageResolver } = await import('../trace/kprobe-events/resolver.js');
  const canProbe: CanProbe | undefined = opts.canProbe ? (await import('../kprobe/x86.js')).archProbeRefusal : undefined;
  const m = opts.machine ? {
    ...(await import('../trace/runtime/probes.js')),
    ...(await import('../kprobe/kprobes.js')),
    ...(await import('../kprobe/kretprobe.js')),
    ...(await import('../kprobe/optimizer.js')),
    ...(await import('../kernel/session.js')),
    ...(await import('../kernel/workload/parser.js')),
    ...(await import('../kernel/linux/bundle.js')),
  } : undefined;
  // a machine session on real Linux reads its task layout from the DWARF: that reader is loaded only for it
  if (m && opts.image && m.isLinuxImage(opts.image)) await import('../kernel/linux/task-layout.js');
  const attach = (state: TraceState, got: (ms: MachineSession) => void) => (p: Platform) => {
    if (!m) throw new Error('loadTracing: machine sessions were not loaded');
    const mgr = m.KprobeManager.attach(p);
    const krm = m.KretprobeManager.attach(p, mgr);
    // CONFIG_OPTPROBES and CONFIG_KPROBES_ON_FTRACE, as on a distribution kernel: probes on fentry
    // sites go through ftrace, others are jump-optimized after the delay when they can be.
    const optimizer = m.Optimizer.attach(p, mgr);
    optimizer.enabled = state.kprobesOptimization !== false;
    const runtime = new m.ProbeRuntime(mgr, p.machine.mem, p.image, krm);
    const base = BigInt(state.clockNs);
    const session = new TraceSession(state, { resolver: imageResolver(p.image), backend: runtime, now: () => base + BigInt(p.emulatedNs) });
    if (!state.kprobesEnabled) mgr.disarmAllKprobes();
    got({ session, runtime, mgr, krm, optimizer, platform: p });
  };
  return {
    light: (image, state) => {
      // The stored lines replay as trusted even when a hand-edited state.json holds one in another
      // spelling than the kernel's (its showProbe differs): a light session arms nothing, and `run`
      // registers every probe for real. Lines written after the replay are checked as usual.
      let replaying = true;
      const stored = new Set(state.kprobeEvents.split('\n'));
      const trusted = { has: (line: string) => replaying || stored.has(line) } as ReadonlySet<string>;
      const session = new TraceSession(state, { resolver: imageResolver(image), backend: checkBackend(image, canProbe, trusted) });
      replaying = false;
      return session;
    },
    attach,
    machine(image, state, cpus) {
      if (!m) throw new Error('loadTracing: machine sessions were not loaded');
      let ms: MachineSession | undefined;
      // real Linux runs on one CPU (kernel/linux/platform.ts)
      if (m.isLinuxImage(image)) cpus = 1;
      m.prepare(image, m.parseWorkload('idle', ''), { cpus, seed: 1, maxInsns: 1, attach: attach(state, (x) => { ms = x; }) });
      // On a live system the kernel has long patched its text (Linux's alternatives: probes there are
      // armed from then on) and the delayed optimizer has run by the time anyone reads the list: so here
      // too (no CPU is inside any probed region before the first instruction; the text is the image's).
      ms!.mgr.kernelTextPatched();
      ms!.optimizer.runWorker(true);
      return ms!;
    },
  };
}
