// Runs a static x86-64 Linux binary in user mode on ktrace's emulator, the way qemu-x86_64 does: its PT_LOAD
// segments mapped with their permissions, a stack with argc/argv (System V ABI 3.4.1), and `syscall` handled by
// the host. The CPU's LSTAR points at a two-instruction stub, `vmcall; sysretq`: the vmcall stops run() with
// Stop.HostCall, the host performs write/exit, and the sysretq returns to user mode as on Linux.
import { parseElfFile, PF_W, PF_X, PT_LOAD } from '../../src/elf/elf-file.js';
import { Machine, Stop } from '../../src/emu/machine.js';
import { PERM_R, PERM_U, PERM_W, PERM_X } from '../../src/emu/memory.js';
import { type Cpu, Reg } from '../../src/emu/cpu.js';
import { MSR_EFER, MSR_FMASK, MSR_LSTAR, MSR_STAR } from '../../src/base/x86.js';

const PAGE = 4096;
const STACK_TOP = 0x7ffff000;
const STACK_SIZE = 256 * 1024;
const STUB = -0x1000000;                 // a kernel-half page: vmcall; sysretq
const USER_CS = 0x33, USER_SS = 0x2b;    // __USER_CS, __USER_DS (arch/x86/include/asm/segment.h)
const SYS_WRITE = 1, SYS_EXIT = 60, SYS_EXIT_GROUP = 231;

export interface UserRun { stdout: string; exitCode: number; instructions: number; seconds: number }

export function loadUserBinary(bytes: Uint8Array, args: string[]): { machine: Machine; cpu: Cpu } {
  const elf = parseElfFile(bytes);
  const machine = new Machine({ cpus: 1, seed: 1 });
  const cpu = machine.cpus[0];
  const mem = machine.mem;
  for (const s of elf.segments) {
    if (s.type !== PT_LOAD || s.memsz === 0) continue;
    const start = Math.floor(s.vaddr / PAGE) * PAGE;
    const end = Math.ceil((s.vaddr + s.memsz) / PAGE) * PAGE;
    mem.map(start, end - start, PERM_U | PERM_R | (s.flags & PF_W ? PERM_W : 0) | (s.flags & PF_X ? PERM_X : 0));
    mem.writeBytes(s.vaddr, bytes.subarray(s.offset, s.offset + s.filesz));
  }
  // Stack: argv strings at the top, then NULL-terminated argv and envp, an empty auxv, argc at RSP.
  mem.map(STACK_TOP - STACK_SIZE, STACK_SIZE, PERM_U | PERM_R | PERM_W);
  let sp = STACK_TOP - 64;
  const argvAddrs: number[] = [];
  for (const a of args) {
    const b = new TextEncoder().encode(a + '\0');
    sp -= b.length;
    mem.writeBytes(sp, b);
    argvAddrs.push(sp);
  }
  sp = Math.floor(sp / 16) * 16;
  const words = [args.length, ...argvAddrs, 0, 0, 0, 0];
  if (words.length % 2) words.push(0);
  sp -= words.length * 8;
  words.forEach((w, i) => mem.write64(sp + 8 * i, BigInt(w)));
  mem.map(STUB, PAGE, PERM_R | PERM_X);
  mem.writeBytes(STUB, new Uint8Array([0x0f, 0x01, 0xc1, 0x48, 0x0f, 0x07]));
  cpu.wrmsr(MSR_EFER, cpu.rdmsr(MSR_EFER) | 1n);
  cpu.wrmsr(MSR_STAR, 0x0023001000000000n);   // Linux: kernel CS 0x10, sysret base 0x23 → CS 0x33, SS 0x2b
  cpu.wrmsr(MSR_LSTAR, BigInt.asUintN(64, BigInt(STUB)));
  cpu.wrmsr(MSR_FMASK, 0x47700n);             // Linux's SYSCALL_MASK: TF DF IF IOPL AC NT cleared on entry
  cpu.setReg(Reg.RSP, BigInt(sp));
  cpu.cs = USER_CS; cpu.ss = USER_SS; cpu.cpl = 3;
  cpu.setRflags(0x202);
  cpu.rip = elf.header.entry;
  return { machine, cpu };
}

/** Runs to exit; throws on any stop other than the program's own syscalls. */
export function runUserBinary(bytes: Uint8Array, args: string[], budget = 1e12): UserRun {
  const { machine, cpu } = loadUserBinary(bytes, args);
  const mem = machine.mem;
  let stdout = '';
  const start0 = cpu.instret + cpu.probeInstret;
  const t0 = process.hrtime.bigint();
  for (;;) {
    const stop = machine.run(cpu, budget);
    if (stop !== Stop.HostCall) {
      throw new Error(`emulated program stopped: stop ${stop} at rip=0x${cpu.rip.toString(16)} ${cpu.stopText}`);
    }
    const nr = Number(cpu.getReg(Reg.RAX));
    if (nr === SYS_WRITE) {
      const buf = Number(cpu.getReg(Reg.RSI)), len = Number(cpu.getReg(Reg.RDX));
      stdout += new TextDecoder().decode(mem.readBytes(buf, len));
      cpu.setReg(Reg.RAX, BigInt(len));
    } else if (nr === SYS_EXIT || nr === SYS_EXIT_GROUP) {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      // The stub's vmcall and the syscalls' sysretq are counted too; they are a handful of instructions.
      return { stdout, exitCode: Number(cpu.getReg(Reg.RDI) & 0xffn), instructions: cpu.instret + cpu.probeInstret - start0, seconds };
    } else {
      cpu.setReg(Reg.RAX, -38n); // -ENOSYS
    }
  }
}
