// The kprobes debugfs files (kernel/kprobes.c), as pure renderers over a KprobeManager:
//   /sys/kernel/debug/kprobes/list       show_kprobe_addr + report_probe
//   /sys/kernel/debug/kprobes/blacklist  kprobe_blacklist_seq_show
//   /sys/kernel/debug/kprobes/enabled    read_enabled_file_bool / write_enabled_file_bool
// Output is as root sees it (kallsyms_show_value true: real addresses).
import { EINVAL } from '../base/errno.js';
import { blacklistText } from '../elf/kernel-sections.js';
import { hex16 } from '../base/addr.js';
import { KPROBE_FLAG_DISABLED, KPROBE_FLAG_GONE, type KprobeManager, type Kprobe, type ProbePoint } from './kprobes.js';

export const KPROBES_DEBUGFS = '/sys/kernel/debug/kprobes';
const KPROBE_HASH_BITS = 6;
const GOLDEN_RATIO_64 = 0x61c8864680b583ebn;

/** hash_ptr(addr, KPROBE_HASH_BITS): the kprobe_table bucket (include/linux/hash.h hash_64_generic). */
export function kprobeHash(addr: number): number {
  const v = BigInt.asUintN(64, BigInt.asUintN(64, BigInt(addr)) * GOLDEN_RATIO_64);
  return Number(v >> BigInt(64 - KPROBE_HASH_BITS));
}

/** Probe points in show_kprobe_addr order: hash bucket by bucket, newest first within one (hlist_add_head). */
export function probePointsInListOrder(mgr: KprobeManager): ProbePoint[] {
  return [...mgr.table.values()]
    .map((pp) => ({ pp, h: kprobeHash(pp.addr) }))
    .sort((a, b) => a.h - b.h || b.pp.seq - a.pp.seq)
    .map((x) => x.pp);
}

/**
 * report_probe: "%px  %s  %s+0x%x  %s " then the tags [GONE][DISABLED][OPTIMIZED][FTRACE].
 * `type` is "k" (kprobe) or "r" (a kretprobe's entry probe; the kretprobe layer passes it).
 */
export function reportProbe(mgr: KprobeManager, p: Kprobe, pp: ProbePoint, type: 'k' | 'r' = 'k'): string {
  const addr = p.addr ?? pp.addr;
  const at = mgr.image.lookupAddr(addr);
  const line = at
    ? `${hex16(addr)}  ${type}  ${at.entry.name}+0x${at.offset.toString(16)}  ${' '} `
    : `${hex16(addr)}  ${type}  0x${hex16(addr)} `;
  return line + probeTags(p, pp) + '\n';
}

/** report_probe's tags of probe `p` at probe point `pp`: [GONE][DISABLED][OPTIMIZED][FTRACE], "" when none. */
export function probeTags(p: Kprobe, pp: ProbePoint): string {
  const flags = p.flags ?? 0;
  const gone = (flags & KPROBE_FLAG_GONE) !== 0;
  return (gone ? '[GONE]' : '') + ((flags & KPROBE_FLAG_DISABLED) && !gone ? '[DISABLED]' : '') +
    (pp.optimized ? '[OPTIMIZED]' : '') + (pp.ftrace ? '[FTRACE]' : '');
}

/** /sys/kernel/debug/kprobes/list. `typeOf` lets the kretprobe layer mark its probes "r". */
export function renderKprobeList(mgr: KprobeManager, typeOf: (p: Kprobe) => 'k' | 'r' = () => 'k'): string {
  let out = '';
  for (const pp of probePointsInListOrder(mgr)) for (const c of pp.children) out += reportProbe(mgr, c, pp, typeOf(c));
  return out;
}

/** /sys/kernel/debug/kprobes/blacklist: "0x%px-0x%px\t%ps" per entry, in the kernel's list order. */
export function renderKprobeBlacklist(mgr: KprobeManager): string {
  return blacklistText(mgr.image.kprobeBlacklist);
}

/** read_enabled_file_bool. */
export function renderKprobesEnabled(mgr: KprobeManager): string { return mgr.allDisarmed ? '0\n' : '1\n'; }

/** kstrtobool (lib/kstrtox.c): y/Y/t/T/1 → true, n/N/f/F/0 → false, on/off; anything else undefined. */
export function kstrtobool(s: string): boolean | undefined {
  switch (s[0]) {
    case 'y': case 'Y': case 't': case 'T': case '1': return true;
    case 'n': case 'N': case 'f': case 'F': case '0': return false;
    case 'o': case 'O':
      if (s[1] === 'n' || s[1] === 'N') return true;
      if (s[1] === 'f' || s[1] === 'F') return false;
      return undefined;
    default: return undefined;
  }
}

/** write_enabled_file_bool: 0, or -EINVAL for text kstrtobool does not take. */
export function writeKprobesEnabled(mgr: KprobeManager, text: string): number {
  const v = kstrtobool(text);
  if (v === undefined) return -EINVAL;
  if (v) mgr.armAllKprobes(); else mgr.disarmAllKprobes();
  return 0;
}
