// A KprobeBackend that only checks what register_kprobe would refuse, without an emulated machine:
// for the one-liners (`ktrace add`, `list`, `del`, `enable`) that must start in milliseconds. The
// probes are really registered when `ktrace run` (or `ktrace fs`) builds the machine. Checks, in
// kernel/kprobes.c order: the symbol exists (-ENOENT), the address is kernel text and not on the
// blacklist (-EINVAL, check_kprobe_address_safe), and it is an instruction boundary (-EILSEQ,
// can_probe). The boundary check decodes with iced-x86, so the caller passes it in only when some
// probe has a non-zero offset (offset 0 is always a boundary) and keeps iced out of the common path.
import type { KprobeBackend } from '../kprobe-events/events.js';
import type { ProbeDef } from '../kprobe-events/probe.js';
import { showProbe } from '../kprobe-events/show.js';

const ENOENT = -2, EINVAL = -22, EILSEQ = -84;

/** The slice of src/elf's Image this needs. */
export interface TextImage {
  lookupName(name: string): number | undefined;
  lookupAddr(addr: number): { offset: number } | undefined;
  text: { start: number; end: number } | undefined;
  inKprobeBlacklist(addr: number): boolean;
  read(addr: number, len: number): Uint8Array | undefined;
}

export type CanProbe = (symStart: number, addr: number, read: (a: number, len: number) => Uint8Array) => boolean;

/** The address a probe would be registered at, or an errno. */
export function probeAddress(image: TextImage, p: ProbeDef): number {
  if (p.symbol === undefined) return Number(BigInt.asIntN(64, p.addr ?? 0n)) + p.offset;
  const a = image.lookupName(p.symbol);
  return a === undefined ? ENOENT : a + p.offset;
}

/**
 * `trusted`: kprobe_events lines already checked on this same image (the state directory's, which is
 * bound to the vmlinux's sha256): their boundary check is not repeated, so replaying them needs no
 * decoder.
 */
export function checkBackend(image: TextImage, canProbe?: CanProbe, trusted: ReadonlySet<string> = new Set()): KprobeBackend {
  return {
    register(p) {
      const addr = probeAddress(image, p);
      if (addr === ENOENT && p.symbol !== undefined) return ENOENT;
      const t = image.text;
      if (!t || addr < t.start || addr >= t.end) return EINVAL;
      if (image.inKprobeBlacklist(addr)) return EINVAL;
      const at = image.lookupAddr(addr);
      if (!at) return EILSEQ;
      if (at.offset !== 0 && !(canProbe === undefined && trusted.has(showProbe(p)))) {
        if (!canProbe) throw new Error('checkBackend: a probe at a non-zero offset needs canProbe');
        const ok = canProbe(addr - at.offset, addr, (a, n) => image.read(a, n) ?? new Uint8Array(0));
        if (!ok) return EILSEQ;
      }
      return 0;
    },
    unregister() {},
    setEnabled() { return 0; },
  };
}
