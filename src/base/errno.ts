// errno values and their messages: the one home (docs/ARCHITECTURE.md, "Shared vocabulary").
// One sign convention, the kernel's: the constants are positive (include/uapi/asm-generic/errno-base.h,
// errno.h), and a failing function returns the negated value (`return -EINVAL`), as kernel code does.

/** Every errno ktrace names, by name (x86-64 Linux numbers). */
export const ERRNO = {
  EPERM: 1, ENOENT: 2, ESRCH: 3, EINTR: 4, EIO: 5, ENXIO: 6, E2BIG: 7, ENOEXEC: 8, EBADF: 9, ECHILD: 10,
  EAGAIN: 11, ENOMEM: 12, EACCES: 13, EFAULT: 14, ENOTBLK: 15, EBUSY: 16, EEXIST: 17, EXDEV: 18, ENODEV: 19,
  ENOTDIR: 20, EISDIR: 21, EINVAL: 22, ENFILE: 23, EMFILE: 24, ENOTTY: 25, ETXTBSY: 26, EFBIG: 27, ENOSPC: 28,
  ESPIPE: 29, EROFS: 30, EMLINK: 31, EPIPE: 32, EDOM: 33, ERANGE: 34, EDEADLK: 35, ENAMETOOLONG: 36,
  ENOLCK: 37, ENOSYS: 38, ENOTEMPTY: 39, ELOOP: 40, EILSEQ: 84, ENOTSOCK: 88, EDESTADDRREQ: 89, EMSGSIZE: 90,
  EPROTOTYPE: 91, ENOPROTOOPT: 92, EPROTONOSUPPORT: 93, EOPNOTSUPP: 95, EAFNOSUPPORT: 97, EADDRINUSE: 98,
  EADDRNOTAVAIL: 99, ECONNRESET: 104, ENOTCONN: 107, ETIMEDOUT: 110, ECONNREFUSED: 111,
} as const;

export const {
  EPERM, ENOENT, ESRCH, EIO, E2BIG, ENOMEM, EACCES, EFAULT, EBUSY, EEXIST, ENODEV, ENOTDIR, EISDIR, EINVAL,
  ENOSPC, ERANGE, ENOSYS, EILSEQ, EOPNOTSUPP, EADDRNOTAVAIL,
} = ERRNO;

/** glibc's strerror texts for the errnos ktrace's own files report. */
const MESSAGES: Record<number, string> = {
  1: 'Operation not permitted', 2: 'No such file or directory', 5: 'Input/output error', 13: 'Permission denied',
  16: 'Device or resource busy', 17: 'File exists', 19: 'No such device', 20: 'Not a directory', 21: 'Is a directory',
  22: 'Invalid argument', 84: 'Invalid or incomplete multibyte or wide character', 95: 'Operation not supported',
  38: 'Function not implemented', 28: 'No space left on device', 7: 'Argument list too long', 12: 'Cannot allocate memory',
};

/** strerror for a (positive or negative) errno. */
export function strerror(errno: number): string {
  return MESSAGES[Math.abs(errno)] ?? `Unknown error ${Math.abs(errno)}`;
}
