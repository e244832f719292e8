// Text perf probe prints about probe events (tools/perf/util/probe-event.c show_perf_probe_event,
// show_perf_probe_events, and builtin-probe.c's "Added new event" message), with the usage hint
// adapted to ktrace. Pure: event descriptions in, text out.

import type { ProbeListing } from '../trace/runtime/probe-events.js';

export type { ProbeListing };

/** "  probe:vfs_read       (on vfs_read with fd)": "  %-20s (on %s[ with ...])". */
export function probeLine(p: ProbeListing): string {
  const name = `${p.group}:${p.event}`;
  const w = p.args.length ? ` with ${p.args.join(' ')}` : '';
  return `  ${name.padEnd(20)} (on ${p.place}${w})\n`;
}

/**
 * What `perf probe -a` prints after adding events; `enabled`: ktrace add enabled them too (as
 * events/GROUP/EVENT/enable), which it says with how to undo it. `noBoot`: the image is a kernel ktrace
 * cannot boot (a distribution kernel, kernel/linux/bundle.ts bootRefusal): the hint names what works
 * on it instead of `ktrace run`.
 */
export function addedMessage(events: readonly ProbeListing[], enabled = false, noBoot = false): string {
  if (events.length === 0) return '';
  let s = events.length === 1 ? 'Added new event:\n' : 'Added new events:\n';
  for (const e of events) s += probeLine(e);
  const last = events[events.length - 1]!;
  if (enabled) {
    const names = [...new Set(events.map((e) => `${e.group}:${e.event}`))];
    const undo = `\`ktrace disable ${names.length === 1 ? names[0] : last.group + ':*'}\``;
    s += noBoot ? `\n${names.length === 1 ? 'It is' : 'They are'} enabled (${undo} to disable).\n`
      : `\n${names.length === 1 ? 'It is' : 'They are'} enabled: \`ktrace run\` traces ${names.length === 1 ? 'it' : 'them'} (${undo} to stop).\n`;
  }
  if (noBoot) {
    s += '\nThis kernel does not boot in ktrace (`ktrace run` refuses it). You can still use it with the\n';
    s += 'static tools, such as:\n\n';
    s += '\tktrace why\n\tktrace fs cat /sys/kernel/tracing/kprobe_events\n\n';
    s += 'and write those kprobe_events lines into /sys/kernel/tracing/kprobe_events on a machine running it.\n\n';
    return s;
  }
  s += '\nYou can now use it in all ktrace tools, such as:\n\n';
  s += `\tktrace run -e ${last.group}:${last.event}\n\n`;
  return s;
}

/** perf probe -d: "Removed event: probe:vfs_read". */
export function removedMessage(group: string, event: string): string {
  return `Removed event: ${group}:${event}\n`;
}
