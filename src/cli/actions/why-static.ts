// `ktrace why PROBE...` on an image the platform cannot boot (a distribution kernel): the probes judged
// from the image alone, as a kernel that has booted from it would judge them, reading only what the
// checks need: the symbols, the blacklist and the tables of self-patched text (register_kprobe's
// check_kprobe_address_safe, src/kprobe/check.ts), the mcount sites (an ftrace-based kprobe), and for
// any other probe its function's bytes and exception-table entries (can_probe / arch_prepare_kprobe,
// and arch/x86/kernel/kprobes/opt.c can_optimize: src/kprobe/detour.ts). No machine is built and
// iced-x86 loads only when an instruction must be decoded. The same verdicts as the machine path of
// why.ts on a fresh kernel, which a test compares on the bundled kernel.
import type { Image } from '../../elf/image.js';
import { hex16 as px } from '../../base/addr.js';
import { addressRefusal, resolveKprobeAddr, type ProbeSite } from '../../kprobe/check.js';
import { kprobeHash } from '../../kprobe/debugfs.js';
import { MODULES_VADDR } from '../../kprobe/slots.js';
import { isFtraceSite } from '../../trace/runtime/check-backend.js';
import type { WhyRow } from './why.js';

export interface StaticProbe { text: string; p: { symbolName?: string; offset?: number; addr?: number } }

/** The rows (in /sys/kernel/debug/kprobes/list order) and the one-line refusals of `probes`. */
/**
 * `textPatched`: judge as the machine path does once the kernel has patched its text at boot (the
 * bundled kernels); else text the kernel patches at boot (alternatives, SMP lock prefixes) is named as
 * not known from the image, since a distribution kernel's boot picks it by the CPU it runs on.
 * `initFreed` (default true): the kernel has freed its __init text, as one that has booted has; the
 * machine path of why.ts judges a fresh kernel, whose init text is still there.
 */
export async function staticWhy(image: Image, probes: readonly StaticProbe[], opts: { textPatched?: boolean; initFreed?: boolean } = {}): Promise<{ rows: WhyRow[]; failed: string[]; resolved: Map<string, string> }> {
  const failed: string[] = [];
  const resolved = new Map<string, string>(); // each probe's text → its row's address
  const fmt = (a: number) => image.formatAddr(a);
  const initFreed = opts.initFreed ?? true;
  const site: ProbeSite = {
    lookupName: (n) => image.lookupName(n), lookupAddr: (a) => image.lookupAddr(a), formatAddr: fmt,
    isKernelText: (a) => { const r = image.initRange; return image.isText(a) && !(initFreed && r && a >= r.start && a < r.end); },
    inKprobeBlacklist: (a) => image.inKprobeBlacklist(a), patchedText: (a) => image.patchedText(a),
  };
  const read = (a: number, n: number): Uint8Array => {
    const b = image.read(a, n);
    if (b) return b;
    const out = new Uint8Array(n); // past a section's end: what is mapped, then zeros
    for (let k = n - 1; k > 0; k--) { const part = image.read(a, k); if (part) { out.set(part); break; } }
    return out;
  };
  // register_kprobe, probe by probe: a second probe at an address joins the first (an aggregate probe).
  const points: { addr: number; seq: number; ftrace: boolean; len: number }[] = [];
  let exFixups: Set<number> | undefined;
  const fixups = () => (exFixups ??= new Set(image.exceptionTable.map((e) => e.insn)));
  let x86: typeof import('../../kprobe/x86.js') | undefined;
  for (const g of probes) {
    const r = resolveKprobeAddr(site, g.p.symbolName, g.p.addr, g.p.offset ?? 0);
    if (!r.ok) { failed.push(`why: ${g.text}: ${r.reason}`); continue; }
    const addr = r.addr;
    const unsafe = addressRefusal(site, addr);
    if (unsafe) { failed.push(`why: ${g.text}: ${unsafe.reason}`); continue; }
    resolved.set(g.text, px(addr));
    if (points.some((q) => q.addr === addr)) continue;
    // arch_prepare_kprobe_ftrace needs no instruction; any other probe: can_probe and the copy's checks.
    const ftrace = isFtraceSite(image, addr);
    let len = 1;
    if (!ftrace) {
      const at = image.lookupAddr(addr);
      if (!at) { failed.push(`why: ${g.text}: ${fmt(addr)} is not on an instruction boundary`); continue; }
      x86 ??= await import('../../kprobe/x86.js');
      const prep = x86.archPrepareAt(addr - at.offset, addr, read, fixups().has(addr), fmt, { allocSlot: () => MODULES_VADDR, write: () => {} });
      if (!prep.ok) { failed.push(`why: ${g.text}: ${prep.reason}`); continue; }
      len = prep.insn.len;
    }
    points.push({ addr, seq: points.length, ftrace, len });
  }
  const rows: WhyRow[] = [];
  let detour: typeof import('../../kprobe/detour.js') | undefined;
  for (const q of [...points].sort((a, b) => kprobeHash(a.addr) - kprobeHash(b.addr) || b.seq - a.seq)) {
    const row = { addr: px(q.addr), at: fmt(q.addr) };
    if (q.ftrace) { rows.push({ ...row, state: 'ftrace' }); continue; }
    const reason = await (async () => {
      // the optimizer's blocker (src/kprobe/optimizer.ts), for armed, enabled probes without post handlers
      if (!opts.textPatched && image.bootPatchMeets(q.addr, q.addr + q.len)) return 'the kernel patches this text at boot (alternatives, SMP lock prefixes): what it holds then is not known from the image';
      detour ??= await import('../../kprobe/detour.js');
      const check = detour.canOptimize(image, detour.analyzeFunction(image, q.addr, read, fixups()), q.addr, read, fixups());
      if (!check.ok) return check.reason;
      const size = check.region.size;
      if (!opts.textPatched && image.bootPatchMeets(q.addr, q.addr + size)) return 'the region holds text the kernel patches at boot (alternatives, SMP lock prefixes): what it holds then is not known from the image';
      for (let i = 1; i < size; i++) if (points.some((o) => o.addr === q.addr + i)) return `another kprobe in region at ${detour.symOff(image, q.addr + i)}`;
      return undefined;
    })();
    rows.push(reason === undefined ? { ...row, state: 'optimized' } : { ...row, state: 'int3', reason });
  }
  return { rows, failed, resolved };
}
