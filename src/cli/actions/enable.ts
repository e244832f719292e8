// ktrace enable|disable (commands/enable.ts): set events/GROUP/EVENT/enable of the matching events in the state.
import type { GlobalArgs } from '../options.js';
import { CliError, EXIT_USAGE } from '../errors.js';
import { openState } from './state.js';
import { eventMatcher } from '../../trace/runtime/probe-events.js';

export interface EnableArgs extends GlobalArgs { patterns?: string[] }

export async function setEnable(args: EnableArgs, on: boolean): Promise<void> {
  const verb = on ? 'enable' : 'disable';
  const patterns = (args.patterns ?? []).map(String);
  if (patterns.length === 0) throw new CliError(`${verb}: give an event pattern (GROUP:EVENT globs)`, EXIT_USAGE);
  const { image, t, update } = await openState(args);
  const ms = patterns.map(eventMatcher);
  const n = update((s) => {
    const session = t.light(image, s);
    const sel = session.events.events().filter((e) => ms.some((m) => m(e.group, e.event)));
    for (const e of sel) session.events.setEnabled(e.group, e.event, on);
    return { state: { ...s, ...session.snapshot() }, result: sel.length };
  });
  if (n === 0) throw new CliError(`${verb}: no event matches ${patterns.map((p) => `'${p}'`).join(', ')} (see \`ktrace list\`)`);
}
