// ktrace disasm FUNC|FUNC+OFF|ADDR: objdump -d style disassembly with symbolized targets.
import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../options.js';
import type { DisasmArgs as Args } from '../actions/disasm.js';
import type { FastCommand } from '../fastargs.js';

const options = {
  intel: { type: 'boolean', default: false, describe: 'Intel syntax (objdump -M intel)' },
} as const;

const command: CommandModule<GlobalArgs, Args> = {
  command: 'disasm <target>',
  describe: 'disassemble a function or address, in objdump -d form',
  builder: (y) => y
    .positional('target', { type: 'string', demandOption: true, describe: 'FUNC, FUNC+OFFSET or hex ADDRESS' })
    .options(options)
    .example('$0 disasm vfs_read', 'the whole function')
    .example('$0 disasm vfs_read+0x10', 'from an offset to the end of the function')
    .example('$0 disasm 0xffffffff81000000', 'the function at an address, from there')
    .example('$0 disasm --intel kprobe_target', 'Intel syntax'),
  handler: async (args) => (await import('../actions/disasm.js')).disasm(args),
};
export default command;
export const fast: FastCommand[] = [{ command: command.command as string, options, handler: command.handler }];
