// ktrace add SPEC [ARG...] (perf probe -a): define a probe event from a perf-probe spec or a raw
// kprobe_events line, persistently in the state directory. -D prints the kprobe_events line only;
// -n checks everything but saves nothing; -f resolves a name clash with a _N suffix.
import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../options.js';
import type { FastCommand } from '../fastargs.js';
import type { AddArgs as Args } from '../actions/add.js';

const options = {
  add: { alias: 'a', type: 'string' as const, array: true, describe: "another probe definition, as perf probe -a (repeatable: -a 'vfs_read count' -a vfs_write)" },
  definition: { alias: 'D', type: 'boolean' as const, default: false, describe: 'print the kprobe_events line instead of adding it' },
  'dry-run': { alias: 'n', type: 'boolean' as const, default: false, describe: 'check and show everything, save nothing' },
  force: { alias: 'f', type: 'boolean' as const, default: false, describe: 'on a name clash, add NAME_1, NAME_2, ...' },
  quiet: { alias: 'q', type: 'boolean' as const, default: false, describe: 'print no messages or warnings (errors still)' },
  verbose: { alias: 'v', type: 'boolean' as const, default: false, describe: 'also print each kprobe_events line written (stderr: "Writing event: ...")' },
  inlines: { type: 'boolean' as const, default: true, describe: "--no-inlines: don't search inlined functions (nor the out-of-line copies of functions declared inline), as perf" },
  'max-probes': { type: 'number' as const, describe: 'how many addresses one definition may probe (perf\'s default: 128)' },
  source: { alias: 's', type: 'string' as const, describe: 'kernel source tree, for lazy patterns (FUNC;PTN), as perf probe -s' },
  rebase: { type: 'boolean' as const, default: false, describe: 'move the defined events onto this -k image (a rebuilt kernel), by symbol+offset as kprobe_events stores them; those that no longer resolve are reported and removed' },
};

const handler = async (args: Args) => (await import('../actions/add.js')).add(args);

const command: CommandModule<GlobalArgs, Args> = {
  command: 'add [spec] [args..]',
  aliases: ['-a'],
  describe: 'define a probe event (perf probe -a): [[GROUP:]EVENT=]FUNC[+OFFS|%return] [ARG...], or a kprobe_events line',
  builder: (y) => y
    .positional('spec', { type: 'string', describe: 'the probe point, or a whole kprobe_events line' })
    .positional('args', { type: 'string', array: true, describe: 'fetch args: %REG, @SYM, $argN, $stackN, $comm, $retval, +OFFS(ARG), NAME=ARG, ARG:TYPE' })
    .options(options)
    .example('$0 add vfs_read', 'probe:vfs_read at the function entry')
    .example("$0 add 'vfs_read buf=%si count=%dx:u64'", 'with named arguments')
    .example('$0 add myread=vfs_read+5 %di', 'an event name and an offset')
    .example("$0 add 'p:kprobes/my vfs_read'", 'a raw kprobe_events line')
    .example("$0 add -D 'vfs_read%return $retval'", 'show the kprobe_events line only')
    .example("$0 add -a 'vfs_read count' -a 'vfs_write count'", 'several definitions in one command, as perf probe -a -a')
    .example("$0 add --no-inlines -D 'tick_handle_periodic'", "perf's --no-inlines: not found, it is declared inline")
    .example("$0 add 'vfs_read count buf:string'", 'arguments by name, from the debug info')
    .example("$0 add 'vfs_read:10 file->f_pos'", 'a source line (see `ktrace line vfs_read`) and a member') as never,
  handler,
};
export default command;

/** add takes any number of argument words; the fast parser takes up to 16 (longer lines go through yargs). */
export const fast: FastCommand[] = Array.from({ length: 17 }, (_, n) => ({
  command: 'add' + (n ? ' <spec>' : '') + Array.from({ length: Math.max(0, n - 1) }, (_, i) => ` <a${i}>`).join(''),
  options,
  endOfOptions: true,
  handler: (a: Record<string, unknown>) => handler({ ...(a as unknown as Args), args: Array.from({ length: Math.max(0, n - 1) }, (_, i) => String(a[`a${i}`])) }),
}));
