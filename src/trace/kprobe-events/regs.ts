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

/** struct pt_regs byte offset of a register (the table's order, 8 bytes each). */
export function regOffset(name: RegName): number {
  return X86_64_REGS.indexOf(name) * 8;
}
