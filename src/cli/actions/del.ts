// ktrace del (commands/del.ts): remove the matching probe events from the state's kprobe_events,
// refusing enabled ones as the kernel does unless --force.
import type { GlobalArgs } from '../options.js';
import { CliError, EXIT_USAGE } from '../errors.js';
import { openState } from './state.js';
import { eventMatcher } from '../../trace/runtime/probe-events.js';
import { probesOf } from '../../trace/kprobe-events/probe.js';
import { wasEnabledOf } from '../../trace/runtime/session.js';
import { clearedTrace, hasTriggers } from '../../trace/runtime/state.js';
import { removedMessage } from '../../output/probes.js';
import { out } from '../../output/write.js';

export interface DelArgs extends GlobalArgs { patterns?: string[]; all: boolean; force: boolean; 'dry-run': boolean; quiet: boolean; verbose: boolean }

/** The one-line refusal for enabled events, as perf probe -d reports EBUSY, with what to do. */
function busy(names: string[]): CliError {
  const list = names.join(', ');
  return new CliError(`del: Failed to delete ${list}: Device or resource busy (enabled); run \`ktrace disable ${names.length === 1 ? names[0] : "'*'"}\` first, or \`ktrace del --force\``);
}
/** The same for events a trigger arms (soft mode sets EVENT_FILE_FL_ENABLED: the kernel refuses with EBUSY too). */
function triggered(names: string[]): CliError {
  return new CliError(`del: Failed to delete ${names.join(', ')}: Device or resource busy (a trigger is attached); remove it from events/GROUP/EVENT/trigger first, or \`ktrace del --force\``);
}

export async function del(args: DelArgs): Promise<void> {
  const patterns = (args.patterns ?? []).map(String);
  if (!args.all && patterns.length === 0) throw new CliError('del: give an event pattern (GROUP:EVENT globs) or -a for all', EXIT_USAGE);
  const { image, t, update } = await openState(args);
  const matchers = patterns.map(eventMatcher);
  const r = update((s) => {
    if (args.all) {
      const on = [...new Set(s.enabled)].map((k) => k.replace('/', ':'));
      if (on.length && !args.force) throw busy(on);
      const armed = Object.keys(s.triggers ?? {}).filter((k) => (s.triggers![k]?.length ?? 0) > 0).map((k) => k.replace('/', ':'));
      if (armed.length && !args.force) throw triggered(armed);
      // Without replaying the events: -a also clears the state of another kernel's events.
      const names = probesOf(s.kprobeEvents).map((p) => ({ group: p.group, event: p.event }));
      const uniq = names.filter((e, i) => names.findIndex((x) => x.group === e.group && x.event === e.event) === i);
      const session = t.light(image, { ...s, kprobeEvents: '', enabled: [] });
      if (args.verbose) for (const e of uniq) process.stderr.write(`Writing event: -:${e.group}/${e.event}\n`);
      // As kprobe_events opened with O_TRUNC: the trace is emptied if one of them was ever enabled.
      const was = new Set(wasEnabledOf(s));
      const after = { ...s, ...session.snapshot(), triggers: undefined };
      return { state: args['dry-run'] ? undefined : uniq.some((e) => was.has(`${e.group}/${e.event}`)) ? clearedTrace(after) : after, result: uniq };
    }
    const session = t.light(image, s);
    const ev = session.events;
    const gone = ev.events().filter((e) => args.all || matchers.some((m) => m(e.group, e.event)));
    const on = gone.filter((e) => ev.isEnabled(e.group, e.event)).map((e) => `${e.group}:${e.event}`);
    if (on.length && !args.force) throw busy(on);
    const armed = gone.filter((e) => hasTriggers(session.state, e.group, e.event)).map((e) => `${e.group}:${e.event}`);
    if (armed.length && !args.force) throw triggered(armed);
    for (const e of gone) {
      ev.setEnabled(e.group, e.event, false);
      if (hasTriggers(session.state, e.group, e.event)) {
        const triggers = { ...session.state.triggers };
        delete triggers[`${e.group}/${e.event}`];
        session.state = { ...session.state, triggers };
      }
      if (args.verbose) process.stderr.write(`Writing event: -:${e.group}/${e.event}\n`);
      const rc = ev.write(`-:${e.group}/${e.event}\n`);
      if (rc < 0) throw new CliError(`del: ${e.group}:${e.event}: failed (${rc})`);
    }
    return { state: args['dry-run'] ? undefined : { ...s, ...session.snapshot() }, result: gone };
  }, args.all);
  if (r.length === 0 && !args.all) throw new CliError(`del: no event matches ${patterns.map((p) => `'${p}'`).join(', ')} (see \`ktrace list\`)`);
  if (!args.quiet) out(r.map((e) => removedMessage(e.group, e.event)).join(''));
}
