// register_kprobe's checks of a probe's address, in kernel/kprobes.c order, written once for both
// callers: KprobeManager.register (kprobes.ts, on a booted machine) and the check-only backend of the
// one-liners (src/trace/runtime/check-backend.ts, no machine and no decoder). The instruction's own
// verdict (can_probe, arch_prepare_kprobe) is x86.ts's, which the callers apply after these.
// Nothing here imports iced-x86: the one-liners' common path must not load it.
import { EINVAL, ENOENT } from '../base/errno.js';

/** What the checks read: the image's symbols and text (`Image` is one), and the kprobes-internal text. */
export interface ProbeSite {
  lookupName(name: string): number | undefined;
  lookupAddr(addr: number): { offset: number; entry?: { name: string } } | undefined;
  /** core_kernel_text (and init text until it is freed). */
  isKernelText(addr: number): boolean;
  inKprobeBlacklist(addr: number): boolean;
  formatAddr(addr: number): string;
  /** kprobes-internal text (instruction slots): in kallsyms as [__builtin__kprobes], never probeable. */
  isInternal?(addr: number): boolean;
  /** Text the kernel patches itself, from its tables (Image.patchedText: jump labels, static calls,
   *  BUG()/WARN() sites): why a probe there is refused, or undefined. */
  patchedText?(addr: number): string | undefined;
  /** alternatives_text_reserved: is `addr` a `lock` prefix of a module (the core kernel's .smp_locks) the
   *  kernel registered for SMP alternatives? Only a booted kernel knows (KprobeManager reads it). */
  smpAltLocked?(addr: number): boolean;
}

const mcountSets = new WeakMap<object, ReadonlySet<number>>();
/** The image's __mcount_loc sites as a set (ftrace_location), made once per image: the check-only backend
 *  and the ftrace layer of the run that follows ask the same image (Linux: 13,500 sites). */
export function mcountSet(image: { readonly mcountSites: readonly number[] }): ReadonlySet<number> {
  let s = mcountSets.get(image);
  if (!s) mcountSets.set(image, (s = new Set(image.mcountSites)));
  return s;
}

/** A refusal: the errno (positive; register_kprobe returns it negated) and a reason users can act on. */
export interface Refusal { errno: number; reason: string }

/**
 * kprobe_addr / _kprobe_addr: symbol+offset (or the address) to the probed address, which a kallsyms
 * symbol (or kprobes-internal text) must cover.
 */
export function resolveKprobeAddr(site: ProbeSite, symbol: string | undefined, addr: number | undefined, offset: number):
  { ok: true; addr: number } | ({ ok: false } & Refusal) {
  let a: number;
  if (symbol !== undefined) {
    const s = site.lookupName(symbol);
    if (s === undefined) return { ok: false, errno: ENOENT, reason: `unknown symbol ${symbol}` };
    a = s + offset;
  } else a = (addr ?? 0) + offset;
  if (!site.lookupAddr(a) && !site.isInternal?.(a)) return { ok: false, errno: ENOENT, reason: `no symbol covers ${site.formatAddr(a)}` };
  return { ok: true, addr: a };
}

/**
 * check_kprobe_address_safe: kernel text, not kprobes-internal, not on the blacklist, not text the kernel
 * patches itself (jump_label_text_reserved, static_call_text_reserved, find_bug), not a CFI preamble
 * symbol; undefined when safe.
 */
export function addressRefusal(site: ProbeSite, addr: number): Refusal | undefined {
  const at = (why: string): Refusal => ({ errno: EINVAL, reason: `${site.formatAddr(addr)} ${why}` });
  if (site.isInternal?.(addr)) return at('is a kprobes-internal address (instruction slot)');
  if (!site.isKernelText(addr)) return at('is not kernel text');
  if (site.inKprobeBlacklist(addr)) return at('is on the kprobe blacklist');
  const patched = site.patchedText?.(addr);
  if (patched) return at(`is ${patched}`);
  // is_cfi_preamble_symbol (lookup_symbol_name: the symbol covering addr)
  const name = site.lookupAddr(addr)?.entry?.name;
  if (name !== undefined && (name.startsWith('__cfi_') || name.startsWith('__pfx_'))) return at('is in a CFI preamble symbol');
  return undefined;
}

/** arch_prepare_kprobe's first check (x86): alternatives_text_reserved, a `lock` prefix that SMP alternatives
 *  may rewrite; undefined when not. */
export function alternativesRefusal(site: ProbeSite, addr: number): Refusal | undefined {
  if (!site.smpAltLocked?.(addr)) return undefined;
  return { errno: EINVAL, reason: `${site.formatAddr(addr)} is a lock prefix SMP alternatives may rewrite (alternatives_text_reserved)` };
}
