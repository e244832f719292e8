// The ktrace-pc machine contract (fixtures/kernel/README.md) as constants: ports, MSRs, selectors,
// the boot_params layout and the user address-space layout the platform manages.

export const PORT_CONSOLE = 0x3f8;
export const PORT_TIMER = 0x40;
export const PORT_IPI = 0x41;
export const PORT_AP_START = 0x510;
export const PORT_INIT_FREED = 0x512;
export const PORT_POWEROFF = 0x604;
export const PORT_PANIC = 0x605;

// Its vectors (timer, reschedule IPI) and MSR (RSP0) are in src/base/x86.ts, which the emulator shares.

export const BOOT_MAGIC = 0x5053544f4f424b54n; // "KTBOOTSP"

/** struct boot_params field offsets (fixtures/kernel/README.md). */
export const BP = {
  magic: 0, nr_cpus: 8, flags: 12, ram_base: 16, ram_size: 24, user_entry: 32, user_stack_top: 40,
  timer_period: 48, seed: 56, cmdline: 64, size: 64 + 256,
} as const;

/** Kernel RAM (the direct map): where the kernel's page allocator lives. */
export const RAM_BASE = -0x778000000000; // 0xffff888000000000 in signed canonical form
export const RAM_SIZE = 32 << 20;

/** User address space, laid out by the platform (src/kernel/userspace.ts). */
export const USER_STUB = 0x400000;          // vmcall; syscall; jmp back
export const USER_STRINGS = 0x600000;       // the script's string literals, read-only
export const USER_ARENA_BASE = 0x10000000;  // one arena per task: heap, then stack
export const USER_ARENA_SIZE = 0x100000;
export const USER_ARENA_HEAP = 0xe0000;     // bytes of heap at the start of each arena
export const USER_STACK_SIZE = 0x10000;     // the stack ends the arena
export const MAX_TASKS = 4096;            // user arenas: above the kernel's max_threads (RAM/128 KiB, fork.c)

export const DEFAULT_TIMER_PERIOD = 100_000; // instructions between timer ticks (100 us at 1 GHz)
