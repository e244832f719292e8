// The narrow machine interface of the kprobe layer (docs/ARCHITECTURE.md, "The emulator"): what src/kprobe
// may do to a running machine besides registering trap handlers. Guest memory accesses as the CPU makes
// them, with a fault result instead of the emulator's private FAULT exception; where the CPUs are and
// which interrupted kernel frames point where (the frames the emulator records, frames.ts); the retired-instruction count's adjustments; and the
// emulator's own semantics for the instructions kprobes emulates (conditions, POPF, STI). It sits on
// memory.ts's and cpu.ts's public API; kprobe imports nothing else of the emulator's internals.
import { TWO32 } from '../base/addr.js';
import type { Cpu } from './cpu.js';
import { Reg } from './cpu.js';
import { cond } from './flags.js';
import { FAULT, type Memory } from './memory.js';

/** Runs a guest access as `cpu` makes it (its privilege, its fault record); false when it faulted. */
function asCpu(cpu: Cpu, access: (m: Memory) => void): boolean {
  const m = cpu.mem;
  m.cur = cpu; m.setUser(cpu.cpl === 3 ? 1 : 0);
  try { access(m); return true; } catch (e) { if (e === FAULT) return false; throw e; }
}

/** push: false (RSP unchanged, the fault's details in the CPU) when the stack write faults. */
export function guestPush(cpu: Cpu, v: number): boolean {
  const sp = cpu.getRegNum(Reg.RSP) - 8;
  if (!asCpu(cpu, (m) => m.w64(sp, v >>> 0, Math.floor(v / TWO32) >>> 0))) return false;
  cpu.setRegNum(Reg.RSP, sp);
  return true;
}

/** pop: the value, or undefined (RSP unchanged, the fault's details in the CPU) when the read faults. */
export function guestPop(cpu: Cpu): number | undefined {
  const sp = cpu.getRegNum(Reg.RSP);
  let v = 0;
  if (!asCpu(cpu, (m) => { const lo = m.r64(sp); v = (m.hi | 0) * TWO32 + lo; })) return undefined;
  cpu.setRegNum(Reg.RSP, sp + 8);
  return v;
}

/** x86 condition `cc` (tttn order 0..15: o no b ae e ne be a s ns p np l ge le g) on the CPU's flags. */
export function condition(cpu: Cpu, cc: number): boolean { return cond(cpu, cc); }

/** SDM POPF: the RFLAGS a 64-bit popf of `v` leaves (VM, VIF, VIP, RF kept; IOPL only at CPL 0; IF only at CPL <= IOPL). */
export function popfResult(cpu: Cpu, v: number, old = cpu.getRflags()): number {
  let keep = 0x1a0000 | 0x10000;
  if (cpu.cpl > 0) keep |= 0x3000;
  if (cpu.cpl > ((old >>> 12) & 3)) keep |= 0x200;
  return (v & ~keep) | (old & keep);
}

/** SDM STI: IF set; when it was clear, interrupts are recognised only after the next instruction (the shadow). */
export function stiEnable(cpu: Cpu): void {
  if (!cpu.if_) cpu.shadow = true;
  cpu.if_ = 1;
}

/** Counts `n` more (or, negative, fewer) retired guest instructions on `cpu` (emulated time follows). */
export function retire(cpu: Cpu, n: number): void { cpu.instret += n; }

/** A kernel-mode interrupt frame not yet returned from: the CPU that pushed it, where its RIP slot is, and the RIP it holds now. */
export interface InterruptedFrame { cpu: number; slot: number; rip: number }

/**
 * The kernel-mode interrupt frames the CPUs pushed and have not returned from (recorded by the emulator
 * at delivery, dropped at their iret: frames.ts), each with the RIP its slot holds now (the kernel may
 * change it before the iret; the pushed value where the slot cannot be read).
 */
export function interruptedFrames(cpus: readonly Cpu[]): InterruptedFrame[] {
  if (cpus.length === 0) return [];
  const f = cpus[0]!.frames, mem = cpus[0]!.mem;
  const out: InterruptedFrame[] = [];
  const saved = mem.cur, user = mem.user;
  mem.cur = { trapVector: 0, errorCode: 0, faultAddr: 0, cr2: 0 }; mem.setUser(0);
  try {
    for (let i = 0; i < f.size; i++) {
      let rip = f.rips[i]!;
      try { const lo = mem.r64(f.slots[i]!); rip = (mem.hi | 0) * TWO32 + lo; } catch (e) { if (e !== FAULT) throw e; }
      out.push({ cpu: f.cpus[i]!, slot: f.slots[i]!, rip });
    }
  } finally { mem.cur = saved; mem.setUser(user); }
  return out;
}
