// ktrace why (commands/why.ts): each probe's optimization state and, for an int3 probe, the check that stops it.
import type { GlobalArgs } from '../options.js';
import { CliError, EXIT_USAGE } from '../errors.js';
import { hex16 as px } from '../../base/addr.js';
import { probePointsInListOrder } from '../../kprobe/index.js';
import { PROC_KPROBES_OPTIMIZATION, whyNotOptimized } from '../../kprobe/optimizer.js';
import { out } from '../../output/write.js';
import { emptyTraceState } from '../../trace/runtime/state.js';
import { loadIndexedImage } from '../load-image.js';
import { stateDir } from '../state/dir.js';
import { loadState } from '../state/store.js';
import { loadTracing } from '../tracing.js';

export interface WhyArgs extends GlobalArgs { probe?: string[]; json: boolean }

export interface WhyRow { addr: string; at: string; state: 'optimized' | 'ftrace' | 'int3'; reason?: string }

/** `SYM`, `SYM+OFF` (decimal or 0x hex) or a kernel address. */
function parseProbe(s: string): { symbolName?: string; offset?: number; addr?: number } | undefined {
  const m = /^([A-Za-z_.$][\w.$]*)(?:\+(0x[0-9a-fA-F]+|\d+))?$/.exec(s);
  if (m) return { symbolName: m[1], offset: m[2] ? Number(m[2]) : 0 };
  if (/^(0x)?[0-9a-fA-F]{16}$/.test(s)) return { addr: Number(BigInt.asIntN(64, BigInt(s.startsWith('0x') ? s : '0x' + s))) };
  return undefined;
}

export async function why(args: WhyArgs): Promise<void> {
  const image = await loadIndexedImage(args.vmlinux);
  // An image the platform cannot boot (a distribution kernel): the probes given are judged from the image alone.
  const { bootRefusal } = await import('../../kernel/linux/bundle.js');
  const refusal = bootRefusal(image);
  const staticOnly = refusal !== undefined;
  // a spec that cannot be judged is reported in one line on stderr; the others are still judged
  const failed: string[] = [];
  const given = (args.probe ?? []).flatMap((s) => {
    const p = parseProbe(s);
    if (!p) { failed.push(`why: '${s}' is not SYM, SYM+OFF or an address`); return []; }
    return [{ text: s, p }];
  });
  if (args.probe?.length && !given.length) throw new CliError(failed.join('\n  '), failed.every((f) => f.includes('is not SYM')) ? EXIT_USAGE : 1);
  if (staticOnly && !given.length) {
    // No probes named: the events defined for this image (the state), judged from the image as its
    // booted kernel would hold them (no machine: ktrace cannot boot it). The optimizer's blockers that
    // the state decides come first, as in Optimizer.blocker: disarmed globally, the event disabled,
    // optimization off; then the image's checks (why-static.ts).
    const st = loadState(stateDir(args.state), args.vmlinux);
    const events = eventProbes(st.kprobeEvents);
    if (!events.length) { printRows([], [], args.json); return; }
    const { staticWhy } = await import('./why-static.js');
    const probes = [...new Set(events.map((e) => e.at))].map((text) => ({ text, p: parseProbe(text) ?? {} }));
    const s = await staticWhy(image, probes);
    const enabled = new Set(st.enabled);
    // the probe points of each event, by the address staticWhy resolved
    const byAddr = new Map<string, boolean>();
    for (const e of events) {
      const a = s.resolved.get(e.at);
      if (a) byAddr.set(a, (byAddr.get(a) ?? false) || enabled.has(e.event));
    }
    const blocked = (addr: string): string | undefined => {
      if (!st.kprobesEnabled) return 'kprobes are disarmed globally (/sys/kernel/debug/kprobes/enabled is 0)';
      if (!byAddr.get(addr)) return 'the probe is disabled';
      if (st.kprobesOptimization === false) return `jump optimization is off (${PROC_KPROBES_OPTIMIZATION} is 0)`;
      return undefined;
    };
    const rows = s.rows.map((r): WhyRow => {
      const b = r.state === 'ftrace' ? undefined : blocked(r.addr);
      return b ? { addr: r.addr, at: r.at, state: 'int3', reason: b } : r;
    });
    printRows(rows, s.failed, args.json);
    return;
  }
  if (staticOnly) {
    const { staticWhy } = await import('./why-static.js');
    const s = await staticWhy(image, given);
    failed.push(...s.failed);
    printRows(s.rows, failed, args.json);
    return;
  }
  const t = await loadTracing({ machine: true, image });
  // with probes given on the command line, judge them alone on a fresh kernel; else the state's events
  const state = given.length ? emptyTraceState() : loadState(stateDir(args.state), args.vmlinux);
  const ms = t.machine(image, state, state.cpus || 2);
  for (const g of given) {
    const kp = { ...g.p, preHandler: () => 0 };
    if (ms.mgr.registerKprobe(kp) !== 0) failed.push(`why: ${g.text}: ${ms.mgr.lastError.reason}`);
  }
  if (given.length) ms.optimizer.runWorker(true);
  const rows: WhyRow[] = probePointsInListOrder(ms.mgr).map((pp) => {
    const state = pp.optimized ? 'optimized' : pp.ftrace ? 'ftrace' : 'int3';
    const reason = state === 'int3' ? whyNotOptimized(ms.mgr, pp) : undefined;
    return { addr: px(pp.addr), at: image.formatAddr(pp.addr), state, ...(reason ? { reason } : {}) };
  });
  if (given.length && !rows.length) throw new CliError(failed.join('\n  '));
  printRows(rows, failed, args.json);
}

/** The events of kprobe_events lines (`p:GROUP/EVENT SYM+OFF ...`): "group/event" and its probe point, in order. */
export function eventProbes(kprobeEvents: string): { event: string; at: string }[] {
  const out: { event: string; at: string }[] = [];
  for (const line of kprobeEvents.split('\n')) {
    const m = /^[pr]\d*:(\S+)\s+(\S+)/.exec(line.trim());
    if (m) out.push({ event: m[1]!, at: m[2]! });
  }
  return out;
}

/** The rows as text or JSON, then each refusal on stderr (exit 1 when there is one). */
function printRows(rows: readonly WhyRow[], failed: readonly string[], json: boolean): void {
  const report = () => { for (const f of failed) process.stderr.write(`ktrace: ${f}\n`); if (failed.length) process.exitCode = 1; };
  if (failed.length && !rows.length) throw new CliError(failed.join('\n  '));
  if (json) { out(JSON.stringify(rows) + '\n'); report(); return; }
  if (!rows.length) { out('no probes (define events with `ktrace add`, or name a probe: `ktrace why vfs_read+5`)\n'); return; }
  out(rows.map((r) => `${r.addr}  ${r.at}  ${r.state === 'optimized' ? '[OPTIMIZED]' : r.state === 'ftrace' ? '[FTRACE]' : `not optimized: ${r.reason ?? 'unknown'}`}\n`).join(''));
  report();
}
