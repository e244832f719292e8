// Text the kernel prints about defined probes: a kprobe_events line (trace_kprobe_show), a
// kprobe_profile line (probes_profile_seq_show), and the match a delete command applies
// (trace_kprobe_match, trace_kprobe_match_command_head, trace_probe_match_command_args).
import type { DeleteSpec, ProbeDef } from './probe.js';
import { hex16 } from '../../base/addr.js';
import { MAX_ARGSTR_LEN } from './fetcharg.js';

/** The probe point as the kernel prints it: "vfs_read", "vfs_read+16", or "0x<16 hex digits>". */
export function probePlace(p: ProbeDef): string {
  if (p.symbol === undefined) return `0x${hex16(p.addr ?? 0n)}`;
  return p.offset ? `${p.symbol}+${p.offset}` : p.symbol;
}

/** One kprobe_events line, without the newline: "p:kprobes/p_vfs_read_0 vfs_read arg1=%di". */
export function showProbe(p: ProbeDef): string {
  let s = p.type;
  if (p.type === 'r' && p.maxactive) s += String(p.maxactive);
  s += `:${p.group}/${p.event} ${probePlace(p)}`;
  for (const a of p.args) s += ` ${a.name}=${a.comm}`;
  return s;
}

/** The whole kprobe_events file. */
export function showKprobeEvents(probes: readonly ProbeDef[]): string {
  return probes.map((p) => showProbe(p) + '\n').join('');
}

/** C's "%-44s %15lu %15lu" under a two-space indent (counters are unsigned long). */
export function profileLine(event: string, hits: bigint | number, misses: bigint | number): string {
  return `  ${event.padEnd(44)} ${String(hits).padStart(15)} ${String(misses).padStart(15)}\n`;
}

/** The kprobe_profile file: one line per probe (probes of one event repeat its name). */
export function showKprobeProfile(probes: readonly ProbeDef[], counters: (p: ProbeDef) => { hits: bigint | number; misses: bigint | number }): string {
  return probes.map((p) => {
    const c = counters(p);
    return profileLine(p.event, c.hits, c.misses);
  }).join('');
}

/** Does a delete request name this probe? (trace_kprobe_match) */
export function deleteMatches(spec: DeleteSpec, p: ProbeDef): boolean {
  if (spec.event !== '' && spec.event !== p.event) return false;
  if (spec.group !== undefined && spec.group !== p.group) return false;
  const m = spec.match;
  if (m.length === 0) return true;
  // The kernel formats the head into a MAX_ARGSTR_LEN + 1 buffer, so it compares at most 63 chars.
  if (probePlace(p).slice(0, MAX_ARGSTR_LEN) !== m[0]) return false;
  const rest = m.slice(1);
  if (p.args.length < rest.length) return false;
  return rest.every((w, i) => `${p.args[i]!.name}=${p.args[i]!.comm}`.slice(0, MAX_ARGSTR_LEN) === w);
}
