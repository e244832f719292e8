// src/emu public API (see the emulator section of ARCHITECTURE.md).
export { toAddr, toU64, EmuError, isCanonical } from './addr.js';
export { Memory, Page, PERM_R, PERM_W, PERM_X, PERM_U, PAGE_PROBE, PAGE_SIZE, PF_P, PF_W, PF_U, PF_I } from './memory.js';
export { Cpu, Reg, MSR_EFER, MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_FMASK, MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_TSC_AUX, MSR_KTPC_RSP0, VEC_TIMER, VEC_IPI } from './cpu.js';
export { Machine, Stop, stopName, STOP_NAMES } from './machine.js';
export { callFunction, type CallOptions, type CallResult } from './call.js';
export { loadSegments, readLoadSegments, type LoadSegment } from './loader.js';
export { disassemble, type Op } from './decode.js';
export { stats, snapshot as statsSnapshot, resetStats } from './stats.js';
