// ktrace list [PATTERN] (perf probe -l): the defined probe events in perf's listing format,
// "  probe:vfs_read       (on vfs_read with fd=%di)" (no debuginfo: no "@file" part).
import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../options.js';
import type { FastCommand } from '../fastargs.js';
import type { ListArgs as Args } from '../actions/list.js';

const options = { json: { type: 'boolean' as const, default: false, describe: 'print a JSON array' } };

const handler = async (args: Args) => (await import('../actions/list.js')).list(args);

const command: CommandModule<GlobalArgs, Args> = {
  command: 'list [pattern]',
  aliases: ['-l'],
  describe: 'list the defined probe events (perf probe -l)',
  builder: (y) => y.positional('pattern', { type: 'string', describe: 'GROUP:EVENT glob' }).options(options)
    .example('$0 list', 'every probe event')
    .example("$0 list 'probe:vfs_*'", 'a subset'),
  handler,
};
export default command;
export const fast: FastCommand[] = [{ command: 'list [pattern]', options, handler }];
