/*
 * ktrace benchmark workload: the kind of code the fixture kernel runs (a bitwise CRC32, a dense switch that gcc
 * compiles to a jump table, recursion, string compares), built as a static user-mode binary with no libc so the
 * same machine code runs natively, under qemu-x86_64 and in ktrace's emulator (bench/sections/compute.ts).
 * Usage: compute [iterations]   prints "compute <iterations> <checksum>\n" and exits 0.
 * Build: see bench/workload/Makefile (committed binary: bench/workload/compute).
 */
typedef unsigned long u64;
typedef unsigned int u32;
typedef unsigned char u8;

static long sys_write(int fd, const void *buf, u64 len) {
  long ret;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(1), "D"(fd), "S"(buf), "d"(len) : "rcx", "r11", "memory");
  return ret;
}

static __attribute__((noreturn)) void sys_exit(int code) {
  __asm__ volatile("syscall" : : "a"(60), "D"(code) : "rcx", "r11", "memory");
  __builtin_unreachable();
}

/* lib/crc32.c's bit-at-a-time variant (crc32_le with CRC_LE_BITS == 1) */
__attribute__((noinline)) u32 crc32_le(u32 crc, const u8 *p, u64 len) {
  while (len--) {
    crc ^= *p++;
    for (int i = 0; i < 8; i++) crc = (crc >> 1) ^ ((crc & 1) ? 0xedb88320u : 0);
  }
  return crc;
}

/* A dense switch: gcc emits an indirect jump through a table. */
__attribute__((noinline)) u64 dispatch(u32 op, u64 a, u64 b) {
  switch (op) {
  case 0: return a + b;
  case 1: return a - b;
  case 2: return a ^ (b << 3);
  case 3: return a * 2654435761u;
  case 4: return (a >> 7) | (b << 57);
  case 5: return a & ~b;
  case 6: return a + (b >> 2) + 17;
  case 7: return ~a;
  case 8: return a * b;
  case 9: return a / (b | 1);
  default: return a;
  }
}

__attribute__((noinline)) u64 fib(u32 n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

__attribute__((noinline)) int kstrcmp(const char *a, const char *b) {
  unsigned char c1, c2;
  for (;;) {
    c1 = (unsigned char)*a++;
    c2 = (unsigned char)*b++;
    if (c1 != c2) return c1 < c2 ? -1 : 1;
    if (!c1) return 0;
  }
}

static const char *const names[] = {
  "vfs_read", "vfs_write", "do_sys_open", "ksys_read", "ksys_write", "__x64_sys_read", "__x64_sys_write",
  "do_syscall_64", "entry_SYSCALL_64", "schedule", "kprobe_target", "vfs_readv",
};

static u8 buf[256];

static u64 parse_u64(const char *s) {
  u64 v = 0;
  while (*s >= '0' && *s <= '9') v = v * 10 + (u64)(*s++ - '0');
  return v;
}

static char *fmt_u64(char *p, u64 v) {
  char tmp[24];
  int n = 0;
  do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
  while (n) *p++ = tmp[--n];
  return p;
}

static u64 run(u64 iters) {
  u64 sum = 0;
  for (u32 i = 0; i < sizeof buf; i++) buf[i] = (u8)(i * 7 + 3);
  for (u64 it = 0; it < iters; it++) {
    buf[it & 255] ^= (u8)it;
    sum += crc32_le((u32)sum, buf, 64);
    for (u32 k = 0; k < 40; k++) sum = dispatch((u32)((sum >> 3) + k) % 11, sum, it + k);
    sum += fib(12 + (u32)(it & 3));
    for (u32 k = 0; k < 12; k++) sum += (u64)(kstrcmp(names[k], names[(k + it) % 12]) + 1);
  }
  return sum;
}

void __attribute__((used)) start_c(u64 *sp) {
  u64 argc = sp[0];
  char **argv = (char **)(sp + 1);
  u64 iters = argc > 1 ? parse_u64(argv[1]) : 2000;
  u64 sum = run(iters);
  char out[80], *p = out;
  const char *h = "compute ";
  while (*h) *p++ = *h++;
  p = fmt_u64(p, iters);
  *p++ = ' ';
  p = fmt_u64(p, sum);
  *p++ = '\n';
  sys_write(1, out, (u64)(p - out));
  sys_exit(0);
}

__asm__(".globl _start\n_start:\n  mov %rsp, %rdi\n  and $-16, %rsp\n  call start_c\n  hlt\n");
