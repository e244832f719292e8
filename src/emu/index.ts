// src/emu public API (see "The emulator" in docs/ARCHITECTURE.md).
//
// Conventions users rely on:
// - Addresses are JS numbers in signed canonical form (toAddr/toU64 convert from/to u64 bigints).
// - Machine.run(cpu, budget) / runAll(budget, quantum) return a Stop (budgets count cpu.instret only);
//   machine.onTrap lets the platform handle stops inside runAll without losing the CPU's quantum;
//   details are on the Cpu:
//   trapVector, errorCode, faultAddr (CR2 for #PF), stopText (#UD: bytes and disassembly).
//   Faults are precise (RIP at the faulting instruction, no effect, earlier ones committed). After int3
//   RIP is past it (Breakpoint); after a TF single-step RIP is at the next instruction (Debug);
//   HostCall (vmcall) leaves RIP past the vmcall with its address in cpu.faultAddr; Halt means hlt with
//   IF=0, or IF=1 with no timer armed and nothing pending (run) / every CPU idle (runAll).
// - The platform delivers what a stop means with cpu.interrupt(vector, errorCode?) (false = double fault).
// - External interrupts: cpu.raise(vector) (pending count in cpu.pending), machine.ipi(target, vector?),
//   machine.setTimer(cpu, period) (seeded jitter of +-period/8). They are taken at instruction
//   boundaries with IF=1, after an sti shadow, never while RIP is on a PAGE_PROBE page.
// - Secondary CPUs start offline (cpu.online = false) until the platform starts them.
// - Instructions on PAGE_PROBE pages count in cpu.probeInstret, never in instret or the clock.
// - machine.interpretOnly runs everything one instruction at a time (the reference path for tests).
// - Tiered execution: a block runs one instruction at a time until its machine.hotAfter-th entry (default
//   HOT_AFTER), then compiled; hotAfter = 1 compiles every block on first entry. Results never depend on it.
// - Guest page bytes live in one flat arena per Memory (mem.allocPhysical hands a platform its physical
//   RAM from it); Page.u8/dv are views of it, and pages mapped on frames of other buffers work, slower.
// - machine.entered (when set) collects the blocks and ops executed; mem.hostLog (when set) logs host
//   writes and mapping changes (both for the boot snapshot, src/kernel/snapshot.ts).
export { EmuError } from './addr.js';
export { Memory, Page, FAULT, PERM_R, PERM_W, PERM_X, PERM_U, PAGE_PROBE, PAGE_SIZE, PF_P, PF_W, PF_U, PF_I } from './memory.js';
export { Cpu, Reg, type CpuHost } from './cpu.js';
export { Machine, HOT_AFTER, type MachineOptions } from './machine.js';
export { Stop, stopName, STOP_NAMES } from './stop.js';
export { callFunction, type CallOptions, type CallResult } from './call.js';
export { loadSegments, readLoadSegments, type LoadSegment } from './loader.js';
export { disassemble, type Op } from './decode.js';
export { cpuidLeaf } from './runtime.js';
export { stats, snapshot as statsSnapshot, resetStats } from './stats.js';
