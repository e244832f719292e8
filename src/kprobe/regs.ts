// struct pt_regs as kprobe handlers see it: a live, writable view of one CPU's registers
// (arch/x86/include/asm/ptrace.h names). Reads and writes go straight to the emulated CPU, so a
// pre_handler that sets regs.ip (and returns non-zero) changes where execution resumes, as in Linux.
//
// Types: addresses that are canonical kernel or user addresses (ip, sp, bp) are JS numbers in signed
// canonical form (0xffffffff81000000 is -0x7f000000), the emulator's address convention, so they can be
// compared with Kprobe.addr and Image symbol addresses directly; every general-purpose register is also
// available as an unsigned 64-bit bigint (ax, bx, ..., r15, and `spU`/`ipU`/`bpU`), and flags is a number.
import { Reg, type Cpu } from '../emu/cpu.js';

const GPR = { ax: Reg.RAX, cx: Reg.RCX, dx: Reg.RDX, bx: Reg.RBX, si: Reg.RSI, di: Reg.RDI,
  r8: Reg.R8, r9: Reg.R9, r10: Reg.R10, r11: Reg.R11, r12: Reg.R12, r13: Reg.R13, r14: Reg.R14, r15: Reg.R15 } as const;

export const X86_EFLAGS_TF = 0x100, X86_EFLAGS_IF = 0x200;

export class PtRegs {
  constructor(readonly cpu: Cpu) {}
  get ip(): number { return this.cpu.rip; }
  set ip(v: number) { this.cpu.rip = v; }
  get sp(): number { return this.cpu.getRegNum(Reg.RSP); }
  set sp(v: number) { this.cpu.setRegNum(Reg.RSP, v); }
  get bp(): number { return this.cpu.getRegNum(Reg.RBP); }
  set bp(v: number) { this.cpu.setRegNum(Reg.RBP, v); }
  get ipU(): bigint { return BigInt.asUintN(64, BigInt(this.cpu.rip)); }
  get spU(): bigint { return this.cpu.getReg(Reg.RSP); }
  get bpU(): bigint { return this.cpu.getReg(Reg.RBP); }
  get ax(): bigint { return this.cpu.getReg(GPR.ax); } set ax(v: bigint) { this.cpu.setReg(GPR.ax, v); }
  get bx(): bigint { return this.cpu.getReg(GPR.bx); } set bx(v: bigint) { this.cpu.setReg(GPR.bx, v); }
  get cx(): bigint { return this.cpu.getReg(GPR.cx); } set cx(v: bigint) { this.cpu.setReg(GPR.cx, v); }
  get dx(): bigint { return this.cpu.getReg(GPR.dx); } set dx(v: bigint) { this.cpu.setReg(GPR.dx, v); }
  get si(): bigint { return this.cpu.getReg(GPR.si); } set si(v: bigint) { this.cpu.setReg(GPR.si, v); }
  get di(): bigint { return this.cpu.getReg(GPR.di); } set di(v: bigint) { this.cpu.setReg(GPR.di, v); }
  get r8(): bigint { return this.cpu.getReg(GPR.r8); } set r8(v: bigint) { this.cpu.setReg(GPR.r8, v); }
  get r9(): bigint { return this.cpu.getReg(GPR.r9); } set r9(v: bigint) { this.cpu.setReg(GPR.r9, v); }
  get r10(): bigint { return this.cpu.getReg(GPR.r10); } set r10(v: bigint) { this.cpu.setReg(GPR.r10, v); }
  get r11(): bigint { return this.cpu.getReg(GPR.r11); } set r11(v: bigint) { this.cpu.setReg(GPR.r11, v); }
  get r12(): bigint { return this.cpu.getReg(GPR.r12); } set r12(v: bigint) { this.cpu.setReg(GPR.r12, v); }
  get r13(): bigint { return this.cpu.getReg(GPR.r13); } set r13(v: bigint) { this.cpu.setReg(GPR.r13, v); }
  get r14(): bigint { return this.cpu.getReg(GPR.r14); } set r14(v: bigint) { this.cpu.setReg(GPR.r14, v); }
  get r15(): bigint { return this.cpu.getReg(GPR.r15); } set r15(v: bigint) { this.cpu.setReg(GPR.r15, v); }
  get flags(): number { return this.cpu.getRflags(); }
  set flags(v: number) { this.cpu.setRflags(v); }
  get cs(): number { return this.cpu.cs; }
  get ss(): number { return this.cpu.ss; }
}

/** regs_get_kernel_argument (arch/x86/include/asm/ptrace.h): the n-th integer argument, 0-based, SysV order. */
export function regsGetKernelArgument(regs: PtRegs, n: number): bigint | undefined {
  switch (n) {
    case 0: return regs.di; case 1: return regs.si; case 2: return regs.dx;
    case 3: return regs.cx; case 4: return regs.r8; case 5: return regs.r9;
    default: return undefined;
  }
}

/** regs_return_value: ax. */
export function regsReturnValue(regs: PtRegs): bigint { return regs.ax; }
