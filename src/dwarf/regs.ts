// x86-64 DWARF register numbers (System V psABI, "DWARF Register Number Mapping") and the names the
// kernel's kprobe_events parser accepts for them: kernel/trace/trace_probe.c resolves %NAME through
// regs_query_register_offset(), which looks NAME up in arch/x86/kernel/ptrace.c's regoffset_table
// (REG_OFFSET_NAME(ax), (bx), ... — pt_regs field names without the 'r'/'e' prefix).

/** DWARF number → psABI name (as gdb prints it, `$rdi`). */
export const X86_64_DWARF_NAMES: readonly string[] = [
  'rax', 'rdx', 'rcx', 'rbx', 'rsi', 'rdi', 'rbp', 'rsp',
  'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rip',
];

/** DWARF number → pt_regs name for kprobe_events (`%di`); 16 is the return-address column, not a pt_regs field. */
const KERNEL_NAMES: readonly string[] = [
  'ax', 'dx', 'cx', 'bx', 'si', 'di', 'bp', 'sp',
  'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15',
];

export const DWARF_REG_RA = 16;
export const DWARF_REG_RSP = 7;
export const DWARF_REG_RBP = 6;

/** The kprobe_events register name for a DWARF register number (without '%'), or null if pt_regs has none. */
export function kernelRegName(reg: number): string | null {
  return KERNEL_NAMES[reg] ?? null;
}
/** gdb's name for a DWARF register (`rdi`, `xmm0`...), or `r<N>` when unknown. */
export function dwarfRegName(reg: number): string {
  if (reg < X86_64_DWARF_NAMES.length) return X86_64_DWARF_NAMES[reg]!;
  if (reg >= 17 && reg <= 32) return `xmm${reg - 17}`;
  if (reg >= 33 && reg <= 40) return `st${reg - 33}`;
  if (reg >= 41 && reg <= 48) return `mm${reg - 41}`;
  if (reg === 49) return 'eflags';
  return `r${reg}`;
}
