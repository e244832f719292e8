// A KprobeBackend that only checks what register_kprobe would refuse, without an emulated machine:
// for the one-liners (`ktrace add`, `list`, `del`, `enable`) that must start in milliseconds. The
// probes are really registered when `ktrace run` (or `ktrace fs`) builds the machine. Checks, in
// kernel/kprobes.c order and through the same code as KprobeManager.register (src/kprobe/check.ts):
// a symbol covers the address (-ENOENT), the address is kernel text, not on the blacklist and not
// text the kernel patches itself (-EINVAL, check_kprobe_address_safe: static calls, jump labels,
// BUG()/WARN() sites; x86's alternatives_text_reserved needs a booted kernel and is not checked here:
// ktrace boots no kernel with more CPUs possible than present, the one case it refuses), then arch_prepare_kprobe's verdict on the
// instruction (the kprobe layer's own check, src/kprobe/x86.ts archProbeRefusal): an instruction
// boundary (-EILSEQ, can_probe) that can be copied or emulated (-EOPNOTSUPP for hlt, an int3 already
// there, an indirect branch through memory, ...; -EINVAL for mov ss). The kernel refuses such a
// kprobe event when it is created (trace_kprobe_create → register_trace_kprobe), so `add` must too.
// The instruction check decodes with iced-x86, so the caller passes it in only when some probe needs
// it (needsBoundaryCheck) and keeps iced out of the common path: a probe on a function's mcount site
// (offset 0 of almost every function) is an ftrace-based kprobe, which the kernel prepares without
// looking at the instruction (arch_prepare_kprobe_ftrace).
import type { KprobeBackend } from '../kprobe-events/events.js';
import type { ProbeDef } from '../kprobe-events/probe.js';
import { showProbe } from '../kprobe-events/show.js';
import { ENOENT, EILSEQ } from '../../base/errno.js';
import { addressRefusal, mcountSet, resolveKprobeAddr, type ProbeSite } from '../../kprobe/check.js';


/** The slice of src/elf's Image this needs. */
export interface TextImage {
  lookupName(name: string): number | undefined;
  lookupAddr(addr: number): { offset: number } | undefined;
  text: { start: number; end: number } | undefined;
  inKprobeBlacklist(addr: number): boolean;
  read(addr: number, len: number): Uint8Array | undefined;
  formatAddr(addr: number): string;
  readonly mcountSites: readonly number[];
  /** Text the kernel patches itself (Image.patchedText). */
  patchedText?(addr: number): string | undefined;
}

/** src/kprobe/x86.ts archProbeRefusal: undefined, or why arch_prepare_kprobe refuses (errno positive). */
export type CanProbe = (symStart: number, addr: number, read: (a: number, len: number) => Uint8Array,
  hasExceptionFixup: boolean, fmt: (a: number) => string) => { errno: number; reason: string } | undefined;

/** The address a probe would be registered at, or an errno. */
export function probeAddress(image: TextImage, p: ProbeDef): number {
  if (p.symbol === undefined) return Number(BigInt.asIntN(64, p.addr ?? 0n)) + p.offset;
  const a = image.lookupName(p.symbol);
  return a === undefined ? -ENOENT : a + p.offset;
}

/** ftrace_location(addr) === addr: a kprobe there is ftrace-based (no instruction is copied). */
export function isFtraceSite(image: TextImage, addr: number): boolean {
  return mcountSet(image).has(addr);
}

/** Does registering `p` need the instruction check (canProbe), i.e. is it not at the start of a symbol on an mcount site? */
export function needsInsnCheck(image: TextImage, p: ProbeDef): boolean {
  const addr = probeAddress(image, p);
  if (addr === -ENOENT && p.symbol !== undefined) return false; // refused before any decoding
  const at = image.lookupAddr(addr);
  return at !== undefined && !(at.offset === 0 && isFtraceSite(image, addr));
}

/** A check-only backend; `refusal` says why the last register() failed in arch_prepare_kprobe. */
export type CheckBackend = KprobeBackend & { refusal: { errno: number; reason: string } | undefined };

/**
 * `trusted`: kprobe_events lines already checked on this same image (the state directory's, which is
 * bound to the vmlinux's sha256): their instruction check is not repeated, so replaying them needs no
 * decoder.
 */
export function checkBackend(image: TextImage, canProbe?: CanProbe, trusted: ReadonlySet<string> = new Set()): CheckBackend {
  const site: ProbeSite = {
    lookupName: (n) => image.lookupName(n), lookupAddr: (a) => image.lookupAddr(a), formatAddr: (a) => image.formatAddr(a),
    isKernelText: (a) => { const t = image.text; return !!t && a >= t.start && a < t.end; },
    inKprobeBlacklist: (a) => image.inKprobeBlacklist(a), patchedText: image.patchedText && ((a) => image.patchedText!(a)),
  };
  const b: CheckBackend = {
    refusal: undefined,
    register(p) {
      b.refusal = undefined;
      const resolved = resolveKprobeAddr(site, p.symbol, p.symbol === undefined ? Number(BigInt.asIntN(64, p.addr ?? 0n)) : undefined, p.offset);
      if (!resolved.ok) return -resolved.errno;
      const addr = resolved.addr;
      const unsafe = addressRefusal(site, addr);
      if (unsafe) return -unsafe.errno;
      const at = image.lookupAddr(addr);
      if (!at) return -EILSEQ;
      if (!needsInsnCheck(image, p) || (canProbe === undefined && trusted.has(showProbe(p)))) return 0;
      if (!canProbe) throw new Error('checkBackend: a probe off an mcount site needs the instruction check (canProbe)');
      const r = canProbe(addr - at.offset, addr, (a, n) => image.read(a, n) ?? new Uint8Array(0), false, (a) => image.formatAddr(a));
      if (!r) return 0;
      b.refusal = r;
      return -r.errno;
    },
    unregister() {},
    setEnabled() { return 0; },
  };
  return b;
}
