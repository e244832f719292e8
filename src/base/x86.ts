// x86-64 numbers that more than one layer names: exception vectors and MSRs, the one home
// (docs/ARCHITECTURE.md, "Shared vocabulary"). Architectural values from the SDM (Vol. 3A, Table 6-1;
// Vol. 4, MSRs) and Linux's arch/x86/include/asm/msr-index.h; ktrace-pc's own from fixtures/kernel/README.md.

// Exception vectors.
export const VEC_DE = 0, VEC_DB = 1, VEC_BP = 3, VEC_UD = 6, VEC_DF = 8, VEC_GP = 13, VEC_PF = 14;

// MSRs.
export const MSR_EFER = 0xc0000080, MSR_STAR = 0xc0000081, MSR_LSTAR = 0xc0000082, MSR_CSTAR = 0xc0000083,
  MSR_FMASK = 0xc0000084, MSR_FS_BASE = 0xc0000100, MSR_GS_BASE = 0xc0000101, MSR_KERNEL_GS_BASE = 0xc0000102,
  MSR_TSC_AUX = 0xc0000103;

// ktrace-pc: the timer's vector, the reschedule IPI's vector, and the MSR that stands for the TSS's RSP0.
export const VEC_TIMER = 0x20, VEC_IPI = 0xf2;
export const MSR_KTPC_RSP0 = 0x4b500000;
