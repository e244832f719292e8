// ktrace list (commands/list.ts): the defined probe events in perf probe -l's format, or as JSON.
import type { GlobalArgs } from '../options.js';
import { openState } from './state.js';
import { eventMatcher, listing } from '../../trace/runtime/probe-events.js';
import { probeLine } from '../../output/probes.js';
import { out } from '../../output/write.js';

export interface ListArgs extends GlobalArgs { pattern?: string; json: boolean }

export async function list(args: ListArgs): Promise<void> {
  const { image, t, load } = await openState(args);
  const session = t.light(image, load());
  const m = args.pattern ? eventMatcher(args.pattern) : () => true;
  const ev = session.events;
  const probes = ev.probes.filter((p) => m(p.group, p.event));
  if (args.json) {
    out(JSON.stringify(probes.map((p) => ({ ...listing(p), enabled: ev.isEnabled(p.group, p.event), ...session.counters(p) }))) + '\n');
    return;
  }
  out(probes.map((p) => probeLine(listing(p))).join(''));
}
