// The narrow machine interface of the kprobe layer (docs/ARCHITECTURE.md, "The emulator"): what src/kprobe
// may do to a running machine besides registering trap handlers. Guest memory accesses as the CPU makes
// them, with a fault result instead of the emulator's private FAULT exception; where the CPUs are and
// which interrupted kernel frames point where; the retired-instruction count's adjustments; and the
// emulator's own semantics for the instructions kprobes emulates (conditions, POPF, STI). It sits on
// memory.ts's and cpu.ts's public API; kprobe imports nothing else of the emulator's internals.
import { TWO32 } from '../base/addr.js';
import type { Cpu } from './cpu.js';
import { Reg } from './cpu.js';
import { cond } from './flags.js';
import { FAULT, PAGE_SIZE, type Memory } from './memory.js';

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

/**
 * The RIPs of kernel-mode interrupt frames in guest memory: each 8-byte-aligned kernel-half RIP followed by
 * `kernelCs` (the frame's CS slot), in the pages of `ranges` that were ever written. Read straight from the
 * pages (nothing copied); an unmapped page is skipped.
 */
export function interruptedKernelRips(mem: Memory, ranges: readonly { start: number; end: number }[], kernelCs: number): Set<number> {
  const out = new Set<number>();
  const saved = mem.cur, user = mem.user;
  mem.cur = { trapVector: 0, errorCode: 0, faultAddr: 0, cr2: 0 }; mem.setUser(0);
  try {
    for (const r of ranges) {
      for (let a = Math.floor(r.start / PAGE_SIZE) * PAGE_SIZE; a < r.end; a += PAGE_SIZE) {
        let pg;
        try { pg = mem.translate(a, 0); } catch (e) { if (e === FAULT) continue; throw e; }
        if (!pg.materialized) continue;
        const w = new Uint32Array(pg.u8.buffer, pg.u8.byteOffset, PAGE_SIZE >>> 2);
        // RIP (high half all ones: kernel text) followed by the kernel's CS
        for (let i = 1; i + 2 < w.length; i += 2) {
          if (w[i] !== 0xffffffff || w[i + 1] !== kernelCs || w[i + 2] !== 0) continue;
          out.add(-TWO32 + w[i - 1]!);
        }
      }
    }
  } finally { mem.cur = saved; mem.setUser(user); }
  return out;
}
