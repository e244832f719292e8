// ktrace why [PROBE...]: is a probe jump-optimized, on the ftrace path, or an ordinary int3 probe,
// and if not optimized, which of the kernel's checks (arch/x86/kernel/kprobes/opt.c can_optimize and
// the optimizer's own conditions) stops it, naming the instruction that causes it.
import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../options.js';
import type { WhyArgs as Args } from '../actions/why.js';

const command: CommandModule<GlobalArgs, Args> = {
  command: 'why [probe..]',
  describe: 'why a probe is or is not jump-optimized (the defined events, or SYM[+OFF] given here)',
  builder: (y) => y
    .positional('probe', { type: 'string', array: true, describe: 'SYM, SYM+OFF or an address; default: the defined events' })
    .option('json', { type: 'boolean', default: false, describe: 'print a JSON array' })
    .example('$0 why vfs_read+5', 'optimizable? if not, which check fails and on which instruction (+5: past the fentry nop)')
    .example('$0 why compute_mix+5', 'a function with an indirect jump (a jump table) is never optimized')
    .example('$0 why', 'every probe of the defined events'),
  handler: async (args) => (await import('../actions/why.js')).why(args),
};
export default command;
