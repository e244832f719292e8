// The event-table side of creating a probe (trace_kprobe.c register_trace_kprobe,
// append_trace_kprobe, trace_kprobe_has_same_kprobe; trace_probe.c trace_probe_compare_arg_type),
// and the errors the kernel logs when registering the kprobe itself fails. Pure: the caller owns
// the table and the kprobes.
import { probeLogErr, type ProbeError } from './errors.js';
import type { DeleteSpec, ProbeDef } from './probe.js';
import { deleteMatches } from './show.js';
import { EBUSY, EEXIST, EILSEQ, ENOENT, ENOMEM } from '../../base/errno.js';

export type RegisterDecision =
  /** A new event. */
  | { ok: true; kind: 'new' }
  /** Another probe on an existing event (multiprobe): it shares that event's name, args and enable state. */
  | { ok: true; kind: 'append'; to: ProbeDef }
  | { ok: false; errno: number; err: ProbeError };

/** trace_probe_compare_arg_type: 0 when names, types and counts all match, else the 1-based index of the first difference. */
export function compareArgTypes(a: ProbeDef, b: ProbeDef): number {
  if (a.args.length < b.args.length) return a.args.length + 1;
  if (a.args.length > b.args.length) return b.args.length + 1;
  for (let i = 0; i < a.args.length; i++) {
    const x = a.args[i]!, y = b.args[i]!;
    if (x.type.name !== y.type.name || x.count !== y.count || x.name !== y.name) return i + 1;
  }
  return 0;
}

/** trace_kprobe_symbol: address probes have no symbol and compare as "unknown". */
const symbolOf = (p: ProbeDef) => p.symbol ?? 'unknown';

/**
 * Decide what registering `probe` does given the probes already defined (in kprobe_events order).
 * `otherEventExists` reports a non-kprobe trace event with the same group/name (EVENT_EXIST).
 */
export function checkRegister(existing: readonly ProbeDef[], probe: ProbeDef,
  otherEventExists: (group: string, event: string) => boolean = () => false): RegisterDecision {
  const siblings = existing.filter((p) => p.group === probe.group && p.event === probe.event);
  const old = siblings[0];
  if (old) {
    if ((old.type === 'r') !== (probe.type === 'r')) {
      return { ok: false, errno: -EEXIST, err: probeLogErr(probe.argv, 0, 0, 'DIFF_PROBE_TYPE') };
    }
    const diff = compareArgTypes(probe, old);
    // Arguments start at word 2, so argument i (1-based) is word i + 1.
    if (diff) return { ok: false, errno: -EEXIST, err: probeLogErr(probe.argv, diff + 1, 0, 'DIFF_ARG_TYPE') };
    const same = siblings.some((o) => symbolOf(o) === symbolOf(probe) && o.offset === probe.offset
      && o.args.every((a, i) => a.comm === probe.args[i]!.comm));
    if (same) return { ok: false, errno: -EEXIST, err: probeLogErr(probe.argv, 0, 0, 'SAME_PROBE') };
    return { ok: true, kind: 'append', to: old };
  }
  if (otherEventExists(probe.group, probe.event)) {
    return { ok: false, errno: -EEXIST, err: probeLogErr(probe.argv, 0, 0, 'EVENT_EXIST') };
  }
  return { ok: true, kind: 'new' };
}

/**
 * The error_log entry for a failed register_kprobe/register_kretprobe (errno as the kprobes layer
 * returns it), logged against the probe point word: -EILSEQ → not an instruction boundary,
 * -ENOENT → no such symbol (also an @SYM argument that does not resolve), anything else but
 * -ENOMEM/-EEXIST → a generic failure. undefined when the kernel logs nothing.
 */
export function registrationError(probe: ProbeDef, errno: number): ProbeError | undefined {
  if (errno === -EILSEQ) return probeLogErr(probe.argv, 1, 0, 'BAD_INSN_BNDRY');
  if (errno === -ENOENT) return probeLogErr(probe.argv, 1, 0, 'BAD_PROBE_ADDR');
  if (errno !== -ENOMEM && errno !== -EEXIST) return probeLogErr(probe.argv, 1, 0, 'FAIL_REG_PROBE');
  return undefined;
}

/**
 * "-:[GRP/]EVENT [match...]" applied to the probes in kprobe_events order (dyn_event_release with
 * trace_kprobe_release): every matching probe is removed, except that removing the last probe of an
 * enabled event fails with -EBUSY and stops there (probes removed before it stay removed). -ENOENT
 * when nothing matches.
 */
export function applyDelete(probes: readonly ProbeDef[], spec: DeleteSpec,
  isEnabled: (group: string, event: string) => boolean): { errno: number; remaining: ProbeDef[] } {
  const remaining = [...probes];
  let errno = -ENOENT;
  for (const p of probes) {
    if (!deleteMatches(spec, p)) continue;
    const siblings = remaining.filter((o) => o !== p && o.group === p.group && o.event === p.event);
    if (siblings.length === 0 && isEnabled(p.group, p.event)) return { errno: -EBUSY, remaining };
    remaining.splice(remaining.indexOf(p), 1);
    errno = 0;
  }
  return { errno, remaining };
}

/**
 * Opening kprobe_events with O_TRUNC (dyn_events_release_all): -EBUSY and nothing removed if any
 * event is enabled, otherwise every probe goes.
 */
export function releaseAll(probes: readonly ProbeDef[], isEnabled: (group: string, event: string) => boolean):
  { errno: number; remaining: ProbeDef[] } {
  if (probes.some((p) => isEnabled(p.group, p.event))) return { errno: -EBUSY, remaining: [...probes] };
  return { errno: 0, remaining: [] };
}
