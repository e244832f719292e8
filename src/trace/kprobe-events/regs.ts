// x86-64 register names for %REG, exactly arch/x86/kernel/ptrace.c regoffset_table (the names
// regs_query_register_offset accepts): struct pt_regs field names without any "r"/"e" prefix, so
// %di is valid and %rdi is not. The segment registers ds/es/fs/gs exist only on 32-bit.
export const X86_64_REGS = [
  'r15', 'r14', 'r13', 'r12', 'r11', 'r10', 'r9', 'r8',
  'bx', 'cx', 'dx', 'si', 'di', 'bp', 'ax',
  'orig_ax', 'ip', 'cs', 'flags', 'sp', 'ss',
] as const;

export type RegName = (typeof X86_64_REGS)[number];

const SET: ReadonlySet<string> = new Set(X86_64_REGS);
export function isRegName(name: string): name is RegName {
  return SET.has(name);
}

// struct pt_regs (arch/x86/include/asm/ptrace.h, 64-bit): the order the entry code pushes them.
const PT_REGS_ORDER: readonly RegName[] = ['r15', 'r14', 'r13', 'r12', 'bp', 'bx', 'r11', 'r10', 'r9', 'r8',
  'ax', 'cx', 'dx', 'si', 'di', 'orig_ax', 'ip', 'cs', 'flags', 'sp', 'ss'];

/** offsetof(struct pt_regs, name): what regs_query_register_offset returns. */
export function regOffset(name: RegName): number {
  return PT_REGS_ORDER.indexOf(name) * 8;
}
