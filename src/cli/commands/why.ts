// ktrace why [PROBE...]: is a probe jump-optimized, on the ftrace path, or an ordinary int3 probe,
// and if not optimized, which of the kernel's checks (arch/x86/kernel/kprobes/opt.c can_optimize and
// the optimizer's own conditions) stops it, naming the instruction that causes it.
import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../options.js';
import { CliError, EXIT_USAGE } from '../errors.js';

interface Args extends GlobalArgs { probe?: string[]; json: boolean }

export interface WhyRow { addr: string; at: string; state: 'optimized' | 'ftrace' | 'int3'; reason?: string }

/** `SYM`, `SYM+OFF` (decimal or 0x hex) or a kernel address. */
function parseProbe(s: string): { symbolName?: string; offset?: number; addr?: number } | undefined {
  const m = /^([A-Za-z_.$][\w.$]*)(?:\+(0x[0-9a-fA-F]+|\d+))?$/.exec(s);
  if (m) return { symbolName: m[1], offset: m[2] ? Number(m[2]) : 0 };
  if (/^(0x)?[0-9a-fA-F]{16}$/.test(s)) return { addr: Number(BigInt.asIntN(64, BigInt(s.startsWith('0x') ? s : '0x' + s))) };
  return undefined;
}

const command: CommandModule<GlobalArgs, Args> = {
  command: 'why [probe..]',
  describe: 'why a probe is or is not jump-optimized (the defined events, or SYM[+OFF] given here)',
  builder: (y) => y
    .positional('probe', { type: 'string', array: true, describe: 'SYM, SYM+OFF or an address; default: the defined events' })
    .option('json', { type: 'boolean', default: false, describe: 'print a JSON array' })
    .example('$0 why vfs_read+5', 'optimizable? if not, which check fails and on which instruction (+5: past the fentry nop)')
    .example('$0 why compute_mix+5', 'a function with an indirect jump (a jump table) is never optimized')
    .example('$0 why', 'every probe of the defined events'),
  handler: async (args) => {
    const { loadIndexedImage } = await import('../load-image.js');
    const { stateDir } = await import('../state/dir.js');
    const { loadState } = await import('../state/store.js');
    const { emptyTraceState } = await import('../../trace/runtime/state.js');
    const { loadTracing } = await import('../tracing.js');
    const { whyNotOptimized } = await import('../../kprobe/optimizer.js');
    const { probePointsInListOrder } = await import('../../kprobe/index.js');
    const { hex16: px } = await import('../../base/addr.js');
    const { out } = await import('../../output/write.js');
    const image = await loadIndexedImage(args.vmlinux);
    // a spec that cannot be judged is reported in one line on stderr; the others are still judged
    const failed: string[] = [];
    const given = (args.probe ?? []).flatMap((s) => {
      const p = parseProbe(s);
      if (!p) { failed.push(`why: '${s}' is not SYM, SYM+OFF or an address`); return []; }
      return [{ text: s, p }];
    });
    if (args.probe?.length && !given.length) throw new CliError(failed.join('\n  '), failed.every((f) => f.includes('is not SYM')) ? EXIT_USAGE : 1);
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
    const report = () => { for (const f of failed) process.stderr.write(`ktrace: ${f}\n`); if (failed.length) process.exitCode = 1; };
    if (given.length && !rows.length) throw new CliError(failed.join('\n  '));
    if (args.json) { out(JSON.stringify(rows) + '\n'); report(); return; }
    if (!rows.length) { out('no probes (define events with `ktrace add`, or name a probe: `ktrace why vfs_read+5`)\n'); return; }
    out(rows.map((r) => `${r.addr}  ${r.at}  ${r.state === 'optimized' ? '[OPTIMIZED]' : r.state === 'ftrace' ? '[FTRACE]' : `not optimized: ${r.reason ?? 'unknown'}`}\n`).join(''));
    report();
  },
};
export default command;
