// ktrace list [PATTERN] (perf probe -l): the defined probe events in perf's listing format,
// "  probe:vfs_read       (on vfs_read with fd=%di)" (no debuginfo: no "@file" part).
import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../options.js';
import type { FastCommand } from '../fastargs.js';

interface Args extends GlobalArgs { pattern?: string; json: boolean }

const options = { json: { type: 'boolean' as const, default: false, describe: 'print a JSON array' } };

async function handler(args: Args): Promise<void> {
  const { loadImage } = await import('../image.js');
  const { stateDir } = await import('../state/dir.js');
  const { loadState } = await import('../state/store.js');
  const { loadTracing } = await import('../tracing.js');
  const { eventMatcher, listing } = await import('../probe-events.js');
  const { probeLine } = await import('../../output/probes.js');
  const { out } = await import('../../output/write.js');
  const image = loadImage(args.vmlinux);
  const t = await loadTracing();
  const session = t.light(image, loadState(stateDir(args.state), args.vmlinux));
  const m = args.pattern ? eventMatcher(args.pattern) : () => true;
  const ev = session.events;
  const probes = ev.probes.filter((p) => m(p.group, p.event));
  if (args.json) {
    out(JSON.stringify(probes.map((p) => ({ ...listing(p), enabled: ev.isEnabled(p.group, p.event), ...session.counters(p) }))) + '\n');
    return;
  }
  out(probes.map((p) => probeLine(listing(p))).join(''));
}

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
