// The system calls a workload script may name, with Linux's x86-64 numbers
// (arch/x86/entry/syscalls/syscall_64.tbl) and the fixture's own (fixtures/kernel/README.md),
// plus the argument conveniences the script language offers. Pure data: the parser checks
// scripts against it, the runner marshals arguments from it.
import { ERRNO as ERRNO_TABLE } from '../../base/errno.js';

/** How one argument is passed. */
export type ArgKind =
  | 'int'      // an integer (or a buffer/string pointer if the script passes one)
  | 'ptr'      // a user pointer: a buffer, a string, or an integer address (0 for NULL)
  | 'cstr'     // a NUL-terminated string (the script passes "text"; a buffer or integer is a pointer)
  | 'timespec';// an integer nanosecond count that becomes a struct timespec in user memory

export interface ArgSpec {
  name: string;
  kind: ArgKind;
  /** Default when the script leaves the argument out. A function derives it from earlier arguments. */
  dflt?: number | ((given: readonly ArgValueInfo[]) => number | undefined);
}

/** What the parser knows about an argument when defaults are derived. */
export interface ArgValueInfo {
  kind: 'int' | 'string' | 'buffer' | 'var' | 'elem';
  /** Byte length of a string literal (without NUL) or a buffer declared with a constant size. */
  length?: number;
}

export interface SyscallSpec {
  name: string;
  nr: number;
  args: ArgSpec[];
  /** Extra rule checked by the parser (returns a message when the call is not allowed). */
  refuse?: string;
}

const lenOf = (i: number) => (given: readonly ArgValueInfo[]) => given[i]?.length;

export const SYSCALLS: readonly SyscallSpec[] = [
  { name: 'read', nr: 0, args: [{ name: 'fd', kind: 'int' }, { name: 'buf', kind: 'ptr' }, { name: 'count', kind: 'int', dflt: lenOf(1) }] },
  { name: 'write', nr: 1, args: [{ name: 'fd', kind: 'int' }, { name: 'buf', kind: 'ptr' }, { name: 'count', kind: 'int', dflt: lenOf(1) }] },
  { name: 'close', nr: 3, args: [{ name: 'fd', kind: 'int' }] },
  { name: 'sched_yield', nr: 24, args: [] },
  { name: 'nanosleep', nr: 35, args: [{ name: 'req', kind: 'timespec' }, { name: 'rem', kind: 'ptr', dflt: 0 }] },
  { name: 'getpid', nr: 39, args: [] },
  { name: 'socket', nr: 41, args: [{ name: 'family', kind: 'int' }, { name: 'type', kind: 'int' }, { name: 'protocol', kind: 'int', dflt: 0 }] },
  { name: 'sendto', nr: 44, args: [{ name: 'fd', kind: 'int' }, { name: 'buf', kind: 'ptr' }, { name: 'len', kind: 'int', dflt: lenOf(1) }, { name: 'flags', kind: 'int', dflt: 0 }, { name: 'addr', kind: 'ptr', dflt: 0 }, { name: 'addrlen', kind: 'int', dflt: 0 }] },
  { name: 'recvfrom', nr: 45, args: [{ name: 'fd', kind: 'int' }, { name: 'buf', kind: 'ptr' }, { name: 'len', kind: 'int', dflt: lenOf(1) }, { name: 'flags', kind: 'int', dflt: 0 }, { name: 'addr', kind: 'ptr', dflt: 0 }, { name: 'addrlen', kind: 'ptr', dflt: 0 }] },
  { name: 'socketpair', nr: 53, args: [{ name: 'family', kind: 'int' }, { name: 'type', kind: 'int' }, { name: 'protocol', kind: 'int' }, { name: 'sv', kind: 'ptr' }] },
  { name: 'clone', nr: 56, args: [], refuse: 'use `spawn N { ... }` to start tasks' },
  { name: 'exit', nr: 60, args: [{ name: 'status', kind: 'int', dflt: 0 }] },
  { name: 'wait4', nr: 61, args: [{ name: 'pid', kind: 'int', dflt: -1 }, { name: 'status', kind: 'ptr', dflt: 0 }, { name: 'options', kind: 'int', dflt: 0 }, { name: 'rusage', kind: 'ptr', dflt: 0 }] },
  { name: 'openat', nr: 257, args: [{ name: 'dfd', kind: 'int' }, { name: 'filename', kind: 'cstr' }, { name: 'flags', kind: 'int', dflt: 0 }, { name: 'mode', kind: 'int', dflt: 0 }] },
  { name: 'getppid', nr: 110, args: [] },
  { name: 'gettid', nr: 186, args: [] },
  { name: 'clock_gettime', nr: 228, args: [{ name: 'which_clock', kind: 'int' }, { name: 'tp', kind: 'ptr' }] },
  { name: 'exit_group', nr: 231, args: [{ name: 'status', kind: 'int', dflt: 0 }] },
  { name: 'pipe2', nr: 293, args: [{ name: 'fds', kind: 'ptr' }, { name: 'flags', kind: 'int', dflt: 0 }] },
  // The fixture kernel's own (fixtures/kernel/README.md): the kprobe selftest targets and compute work.
  { name: 'ktrace_selftest', nr: 500, args: [{ name: 'which', kind: 'int' }, { name: 'v', kind: 'int' }] },
  { name: 'ktrace_selftest6', nr: 501, args: ['a1', 'a2', 'a3', 'a4', 'a5', 'a6'].map((name) => ({ name, kind: 'int' as const })) },
  { name: 'ktrace_crash', nr: 503, args: [{ name: 'type', kind: 'int' }] },
  { name: 'ktrace_compute', nr: 502, args: [{ name: 'buf', kind: 'ptr' }, { name: 'len', kind: 'int', dflt: lenOf(0) }, { name: 'rounds', kind: 'int', dflt: 1 }] },
];

export const SYSCALL_BY_NAME: ReadonlyMap<string, SyscallSpec> = new Map(SYSCALLS.map((s) => [s.name, s]));
export const SYSCALL_BY_NR: ReadonlyMap<number, SyscallSpec> = new Map(SYSCALLS.map((s) => [s.nr, s]));

/** Add the fixture kernel's own system calls (numbers come from the kernel's documentation). */
export function syscallTable(extra: readonly SyscallSpec[] = []): ReadonlyMap<string, SyscallSpec> {
  if (!extra.length) return SYSCALL_BY_NAME;
  return new Map([...SYSCALLS, ...extra].map((s) => [s.name, s]));
}

/** Symbolic constants usable as integer arguments (Linux's x86-64 values). */
export const CONSTANTS: Readonly<Record<string, number>> = {
  NULL: 0, STDIN: 0, STDOUT: 1, STDERR: 2,
  AT_FDCWD: -100,
  O_RDONLY: 0, O_WRONLY: 1, O_RDWR: 2, O_CREAT: 0o100, O_EXCL: 0o200, O_TRUNC: 0o1000, O_APPEND: 0o2000,
  O_NONBLOCK: 0o4000, O_DIRECTORY: 0o200000, O_CLOEXEC: 0o2000000,
  AF_UNIX: 1, AF_INET: 2, SOCK_STREAM: 1, SOCK_DGRAM: 2, SOCK_NONBLOCK: 0o4000, SOCK_CLOEXEC: 0o2000000,
  WNOHANG: 1, MSG_DONTWAIT: 0x40, CLOCK_REALTIME: 0, CLOCK_MONOTONIC: 1,
};

/** errno names, for `expect r == -EFAULT` and for printing results: the one table, src/base/errno.ts. */
export const ERRNO: Readonly<Record<string, number>> = ERRNO_TABLE;

const ERRNO_NAME: ReadonlyMap<number, string> = new Map(Object.entries(ERRNO).map(([k, v]) => [v, k]));

/** A system call result as users read it: `-EAGAIN` for errors, the number otherwise. */
export function formatResult(v: number): string {
  if (v < 0 && v >= -4095) {
    const name = ERRNO_NAME.get(-v);
    if (name) return '-' + name;
  }
  return String(v);
}
