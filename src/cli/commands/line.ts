// ktrace line FUNC|FILE:LINE[-LINE] (perf probe -L): the source with the lines a probe can be placed on
// numbered, the rest indented (src/trace/perf-probe/line-range.ts).
import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../options.js';
import type { FastCommand } from '../fastargs.js';
import { CliError, EXIT_USAGE } from '../errors.js';
import type { DebugInfo } from '../dwarf.js';
import { lineRangeText } from '../../trace/perf-probe/line-range.js';

interface Args extends GlobalArgs { range: string; source?: string }

const options = {
  source: { alias: 's', type: 'string' as const, describe: 'source tree the debug info\'s paths are looked up under, as perf probe -s (leading directories dropped until found)' },
};

/** `ktrace line RANGE` as text, or a CliError. */
function showLineRange(info: DebugInfo, text: string, readSource: (p: string) => string[], display: (p: string) => string): string {
  const r = lineRangeText(info.dwarf, text, readSource, display);
  if (!r.ok) throw new CliError(`line: ${r.reason}`, r.usage ? EXIT_USAGE : undefined);
  return r.text;
}

async function handler(args: Args): Promise<void> {
  const { loadImage } = await import('../load-image.js');
  const { openDwarf, withDwarf, readSourceLines, displayPath, sourcePath } = await import('../dwarf.js');
  const { out } = await import('../../output/write.js');
  const image = loadImage(args.vmlinux);
  const info = openDwarf(image, args.vmlinux, args.source !== undefined ? { source: args.source } : {});
  // Under -s, perf names the file it found (util/probe-event.c show_line_range prints lr->path).
  const display = args.source !== undefined ? (p: string) => sourcePath(info, p) : displayPath;
  out(withDwarf(args.vmlinux, () => showLineRange(info, args.range, (p) => readSourceLines(info, p), display)));
}

const command: CommandModule<GlobalArgs, Args> = {
  command: 'line <range>',
  describe: 'show source lines where probes can be placed (perf probe -L)',
  builder: (y) => y.positional('range', { type: 'string', demandOption: true, describe: 'FUNC[@FILE][:START[-END|+NUM]] or FILE[:START[-END|+NUM]]' })
    .options(options)
    .example('$0 line vfs_read', 'the function, lines numbered from its declaration')
    .example('$0 line vfs_read:2-6', 'lines 2..6 of the function')
    .example('$0 line fs/read_write.c:20-30', 'absolute lines of a file')
    .example('$0 line -s /usr/src/linux vfs_read', 'with the kernel sources elsewhere (a distribution kernel)'),
  handler,
};
export default command;
export const fast: FastCommand[] = [{ command: 'line <range>', options, handler }];
