// ktrace del PATTERN... (perf probe -d): remove probe events matching GROUP:EVENT globs (EVENT alone
// matches any group); -a removes them all. An enabled event is refused as the kernel refuses it
// (-EBUSY, which perf probe reports), with a hint; --force disables it first.
import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../options.js';
import type { FastCommand } from '../fastargs.js';
import type { DelArgs as Args } from '../actions/del.js';

const options = {
  all: { alias: 'a', type: 'boolean' as const, default: false, describe: 'remove every probe event' },
  force: { alias: 'f', type: 'boolean' as const, default: false, describe: 'disable enabled events first (else they are refused: Device or resource busy)' },
  'dry-run': { alias: 'n', type: 'boolean' as const, default: false, describe: 'say what would be removed, remove nothing' },
  quiet: { alias: 'q', type: 'boolean' as const, default: false, describe: 'print no messages (errors still)' },
  verbose: { alias: 'v', type: 'boolean' as const, default: false, describe: 'also print each kprobe_events line written (stderr: "Writing event: -:GROUP/EVENT")' },
};

const handler = async (args: Args) => (await import('../actions/del.js')).del(args);

const command: CommandModule<GlobalArgs, Args> = {
  command: 'del [patterns..]',
  aliases: ['-d'],
  describe: 'remove probe events (perf probe -d): GROUP:EVENT globs, or -a for all',
  builder: (y) => y.positional('patterns', { type: 'string', array: true }).options(options)
    .example('$0 del probe:vfs_read', 'one event')
    .example("$0 del 'vfs_*'", 'every event whose name matches, in any group')
    .example('$0 del -a', 'all of them')
    .example('$0 del --force probe:vfs_read', 'an enabled event (disabled first)'),
  handler,
};
export default command;
export const fast: FastCommand[] = Array.from({ length: 8 }, (_, n) => ({
  command: 'del' + Array.from({ length: n }, (_, i) => ` <p${i}>`).join(''),
  options,
  handler: (a: Record<string, unknown>) => handler({ ...(a as unknown as Args), patterns: Array.from({ length: n }, (_, i) => String(a[`p${i}`])) }),
}));
