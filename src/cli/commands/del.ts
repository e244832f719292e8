// ktrace del PATTERN... (perf probe -d): remove probe events matching GROUP:EVENT globs (EVENT alone
// matches any group); -a removes them all. An enabled event is refused as the kernel refuses it
// (-EBUSY, which perf probe reports), with a hint; --force disables it first.
import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../options.js';
import type { FastCommand } from '../fastargs.js';
import { CliError, EXIT_USAGE } from '../errors.js';

interface Args extends GlobalArgs { patterns?: string[]; all: boolean; force: boolean; 'dry-run': boolean; quiet: boolean; verbose: boolean }

const options = {
  all: { alias: 'a', type: 'boolean' as const, default: false, describe: 'remove every probe event' },
  force: { alias: 'f', type: 'boolean' as const, default: false, describe: 'disable enabled events first (else they are refused: Device or resource busy)' },
  'dry-run': { alias: 'n', type: 'boolean' as const, default: false, describe: 'say what would be removed, remove nothing' },
  quiet: { alias: 'q', type: 'boolean' as const, default: false, describe: 'print no messages (errors still)' },
  verbose: { alias: 'v', type: 'boolean' as const, default: false, describe: 'also print each kprobe_events line written (stderr: "Writing event: -:GROUP/EVENT")' },
};

/** The one-line refusal for enabled events, as perf probe -d reports EBUSY, with what to do. */
function busy(names: string[]): CliError {
  const list = names.join(', ');
  return new CliError(`del: Failed to delete ${list}: Device or resource busy (enabled); run \`ktrace disable ${names.length === 1 ? names[0] : "'*'"}\` first, or \`ktrace del --force\``);
}

async function handler(args: Args): Promise<void> {
  const patterns = (args.patterns ?? []).map(String);
  if (!args.all && patterns.length === 0) throw new CliError('del: give an event pattern (GROUP:EVENT globs) or -a for all', EXIT_USAGE);
  const { loadImage } = await import('../image.js');
  const { stateDir } = await import('../state/dir.js');
  const { updateState } = await import('../state/store.js');
  const { loadTracing } = await import('../tracing.js');
  const { eventMatcher } = await import('../probe-events.js');
  const { probesOf } = await import('../../trace/kprobe-events/probe.js');
  const { wasEnabledOf } = await import('../../trace/runtime/session.js');
  const { clearedTrace } = await import('../../trace/runtime/state.js');
  const { removedMessage } = await import('../../output/probes.js');
  const { out } = await import('../../output/write.js');
  const image = loadImage(args.vmlinux);
  const t = await loadTracing();
  const matchers = patterns.map(eventMatcher);
  const r = updateState(stateDir(args.state), args.vmlinux, (s) => {
    if (args.all) {
      const on = [...new Set(s.enabled)].map((k) => k.replace('/', ':'));
      if (on.length && !args.force) throw busy(on);
      // Without replaying the events: -a also clears the state of another kernel's events.
      const names = probesOf(s.kprobeEvents).map((p) => ({ group: p.group, event: p.event }));
      const uniq = names.filter((e, i) => names.findIndex((x) => x.group === e.group && x.event === e.event) === i);
      const session = t.light(image, { ...s, kprobeEvents: '', enabled: [] });
      if (args.verbose) for (const e of uniq) process.stderr.write(`Writing event: -:${e.group}/${e.event}\n`);
      // As kprobe_events opened with O_TRUNC: the trace is emptied if one of them was ever enabled.
      const was = new Set(wasEnabledOf(s));
      const after = { ...s, ...session.snapshot() };
      return { state: args['dry-run'] ? undefined : uniq.some((e) => was.has(`${e.group}/${e.event}`)) ? clearedTrace(after) : after, result: uniq };
    }
    const session = t.light(image, s);
    const ev = session.events;
    const gone = ev.events().filter((e) => args.all || matchers.some((m) => m(e.group, e.event)));
    const on = gone.filter((e) => ev.isEnabled(e.group, e.event)).map((e) => `${e.group}:${e.event}`);
    if (on.length && !args.force) throw busy(on);
    for (const e of gone) {
      ev.setEnabled(e.group, e.event, false);
      if (args.verbose) process.stderr.write(`Writing event: -:${e.group}/${e.event}\n`);
      const rc = ev.write(`-:${e.group}/${e.event}\n`);
      if (rc < 0) throw new CliError(`del: ${e.group}:${e.event}: failed (${rc})`);
    }
    return { state: args['dry-run'] ? undefined : { ...s, ...session.snapshot() }, result: gone };
  }, { force: args.all });
  if (r.length === 0 && !args.all) throw new CliError(`del: no event matches ${patterns.map((p) => `'${p}'`).join(', ')} (see \`ktrace list\`)`);
  if (!args.quiet) out(r.map((e) => removedMessage(e.group, e.event)).join(''));
}

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
