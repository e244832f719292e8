// ktrace vars SPEC [--externs] (perf probe -V): the variables a probe can fetch at each address the
// probe point resolves to, with perf's type spelling (src/trace/perf-probe/vars.ts).
import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../options.js';
import type { FastCommand } from '../fastargs.js';
import { CliError, EXIT_USAGE } from '../errors.js';

interface Args extends GlobalArgs { spec: string; externs: boolean }

const options = {
  externs: { type: 'boolean' as const, default: false, describe: 'also list the global variables of the compile unit' },
};

async function handler(args: Args): Promise<void> {
  const { loadImage } = await import('../image.js');
  const { openDwarf, withDwarf, readSourceLines } = await import('../dwarf.js');
  const { parseProbeSpec, availableVars, formatAvailableVars } = await import('../../trace/perf-probe/index.js');
  const { out } = await import('../../output/write.js');
  const parsed = parseProbeSpec([args.spec]);
  if (!parsed.ok) throw new CliError(`vars: ${parsed.reason}`, EXIT_USAGE);
  if (parsed.value.args.length) throw new CliError('vars: give a probe point only (FUNC, FUNC+OFFS, FUNC:RLN, FILE:LINE)', EXIT_USAGE);
  const image = loadImage(args.vmlinux);
  const info = openDwarf(image, args.vmlinux);
  const av = withDwarf(args.vmlinux, () => availableVars(info.dwarf, parsed.value.point, {
    externs: args.externs,
    readSource: (p) => { try { return readSourceLines(info, p); } catch { return undefined; } },
  }));
  if (!av.ok) throw new CliError(`vars: ${av.reason}`);
  out(formatAvailableVars(av.value));
}

const command: CommandModule<GlobalArgs, Args> = {
  command: 'vars <spec>',
  describe: 'list the variables available at a probe point (perf probe -V)',
  builder: (y) => y.positional('spec', { type: 'string', demandOption: true, describe: 'FUNC[@FILE][+OFFS|:RLN|;PTN] or FILE:LINE' })
    .options(options)
    .example('$0 vars vfs_read', "vfs_read's parameters at its entry")
    .example('$0 vars vfs_read:10', 'at line 10 of the function')
    .example('$0 vars read_write.c:30 --externs', 'at a source line, with globals'),
  handler,
};
export default command;
export const fast: FastCommand[] = [{ command: 'vars <spec>', options, handler }];
