// ktrace enable|disable PATTERN...: set events/GROUP/EVENT/enable for matching events (their kprobes
// are armed in the next run; `ktrace run` enables the events it traces anyway).
import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../options.js';
import type { FastCommand } from '../fastargs.js';
import { CliError, EXIT_USAGE } from '../errors.js';

interface Args extends GlobalArgs { patterns?: string[] }

export async function setEnable(args: Args, on: boolean): Promise<void> {
  const verb = on ? 'enable' : 'disable';
  const patterns = (args.patterns ?? []).map(String);
  if (patterns.length === 0) throw new CliError(`${verb}: give an event pattern (GROUP:EVENT globs)`, EXIT_USAGE);
  const { loadImage } = await import('../image.js');
  const { stateDir } = await import('../state/dir.js');
  const { updateState } = await import('../state/store.js');
  const { loadTracing } = await import('../tracing.js');
  const { eventMatcher } = await import('../probe-events.js');
  const image = loadImage(args.vmlinux);
  const t = await loadTracing();
  const ms = patterns.map(eventMatcher);
  const n = updateState(stateDir(args.state), args.vmlinux, (s) => {
    const session = t.light(image, s);
    const sel = session.events.events().filter((e) => ms.some((m) => m(e.group, e.event)));
    for (const e of sel) session.events.setEnabled(e.group, e.event, on);
    return { state: { ...s, ...session.snapshot() }, result: sel.length };
  });
  if (n === 0) throw new CliError(`${verb}: no event matches ${patterns.map((p) => `'${p}'`).join(', ')} (see \`ktrace list\`)`);
}

export function enableCommand(on: boolean): { default: CommandModule<GlobalArgs, Args>; fast: FastCommand[] } {
  const verb = on ? 'enable' : 'disable';
  return {
    default: {
      command: `${verb} <patterns..>`,
      describe: `${verb} probe events (events/GROUP/EVENT/enable)`,
      builder: (y) => y.positional('patterns', { type: 'string', array: true })
        .example(`$0 ${verb} probe:vfs_read`, 'one event')
        .example(`$0 ${verb} 'probe:*'`, 'a whole group'),
      handler: (a) => setEnable(a, on),
    },
    fast: Array.from({ length: 8 }, (_, n) => ({
      command: verb + Array.from({ length: n + 1 }, (_, i) => ` <p${i}>`).join(''),
      options: {},
      handler: (a: Record<string, unknown>) => setEnable({ ...(a as unknown as Args), patterns: Array.from({ length: n + 1 }, (_, i) => String(a[`p${i}`])) }, on),
    })),
  };
}

const m = enableCommand(true);
export default m.default;
export const fast = m.fast;
