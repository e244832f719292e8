// A small fake kernel symbol table for the kprobe_events tests (no ELF needed).
import type { SymbolResolver } from '../../../src/trace/kprobe-events/resolver.js';

export const SYMS: Record<string, number> = {
  vfs_read: -0x7effe000, // 0xffffffff81002000
  vfs_write: -0x7effd000,
  kernel_clone: -0x7effc000,
  do_exit: -0x7effb000,
  kfree: -0x7effa000,
  kprobe_trace_selftest_target: -0x7eff9000,
  endbr_func: -0x7eff8000,
  jiffies: -0x7e000000,
};
/** Names that appear twice in kallsyms. */
export const DUPS = new Set(['dup_static']);

export const fakeResolver: SymbolResolver = {
  lookup: (n) => SYMS[n] ?? (DUPS.has(n) ? -0x7eff7000 : undefined),
  count: (n) => (DUPS.has(n) ? 2 : n in SYMS ? 1 : 0),
  isFunctionEntry: (a, off) => (a === SYMS.endbr_func ? off === 0 || off === 4 : off === 0),
};
