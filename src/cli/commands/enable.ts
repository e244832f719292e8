// ktrace enable|disable PATTERN...: set events/GROUP/EVENT/enable for matching events (their kprobes
// are armed in the next run; `ktrace run` enables the events it traces anyway).
import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../options.js';
import type { FastCommand } from '../fastargs.js';
import type { EnableArgs as Args } from '../actions/enable.js';

const setEnable = async (args: Args, on: boolean) => (await import('../actions/enable.js')).setEnable(args, on);

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
