/*
 * Native side of the host-CPU differential test (test/emu/hostdiff).
 *
 * Reads one case per line on stdin:
 *   <code hex> <rflags hex> <16 GPRs hex, RAX..R15 order> <data region hex, DATA_SIZE bytes from DATA_MAP>
 * runs the code natively in user mode with exactly that register file, flags and data window, and prints
 *   ok <rflags> <16 GPRs> <data region hex>    after the code fell through its end, or
 *   sig <signo> <rip offset> <vector> <error code> <cr2> <rflags> <16 GPRs> <data region hex>
 *                                              when it raised a signal (the state in the signal frame).
 *
 * The code sits at a fixed address (CODE_ADDR) on a page filled with int3 (0xcc), exactly as the emulator side
 * lays it out, and the page is read+execute only while the case runs (as in the emulator, code that writes its
 * own page faults). A case that falls through its end executes the int3 after it: the SIGTRAP handler takes the
 * final registers and RFLAGS from the signal frame. The data region sits at a fixed address (DATA_MAP, two
 * pages) as well, so pointers in registers compare directly. Registers are loaded by the assembly below
 * (hd_enter), never by compiler-generated code, so RSP and RFLAGS can be anything the case wants; the signal
 * handler runs on an alternate stack and siglongjmp()s back to the C loop.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <asm/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#define CODE_ADDR 0x10000000UL
#define DATA_MAP 0x1000f000UL /* two pages; keep in step with corpus.ts */
#define DATA_SIZE 8192
#define DATA_SKEW (4096 - 160)   /* the input window starts here: operands near +160 straddle the pages */
#define PAGE 4096
#define GS_BASE (DATA_MAP + DATA_SKEW - 0x8000) /* corpus.ts GS_BASE */

uint64_t hd_in[17];   /* RAX..R15, RFLAGS */
uint64_t hd_host_rsp;
uint64_t hd_code_ptr = CODE_ADDR;
void hd_enter(void);

__asm__(
    ".intel_syntax noprefix\n"
    ".text\n"
    ".globl hd_enter\n"
    "hd_enter:\n"
    "  push rbx\n  push rbp\n  push r12\n  push r13\n  push r14\n  push r15\n"
    "  mov [rip+hd_host_rsp], rsp\n"
    /* popfq first: the movs below leave flags alone */
    "  push qword ptr [rip+hd_in+128]\n  popfq\n"
    "  mov rax, [rip+hd_in+0]\n  mov rcx, [rip+hd_in+8]\n  mov rdx, [rip+hd_in+16]\n  mov rbx, [rip+hd_in+24]\n"
    "  mov rsp, [rip+hd_in+32]\n  mov rbp, [rip+hd_in+40]\n  mov rsi, [rip+hd_in+48]\n  mov rdi, [rip+hd_in+56]\n"
    "  mov r8, [rip+hd_in+64]\n  mov r9, [rip+hd_in+72]\n  mov r10, [rip+hd_in+80]\n  mov r11, [rip+hd_in+88]\n"
    "  mov r12, [rip+hd_in+96]\n  mov r13, [rip+hd_in+104]\n  mov r14, [rip+hd_in+112]\n  mov r15, [rip+hd_in+120]\n"
    "  jmp qword ptr [rip+hd_code_ptr]\n"
    ".att_syntax prefix\n");

static sigjmp_buf hd_jmp;
static volatile uint64_t hd_fault_rip;
static uint64_t hd_out[17]; /* RAX..R15, RFLAGS at the last signal */
static uint64_t hd_trapno, hd_err, hd_cr2;

static void on_signal(int sig, siginfo_t *si, void *uc_) {
  ucontext_t *uc = (ucontext_t *)uc_;
  greg_t *g = uc->uc_mcontext.gregs;
  (void)si;
  static const int order[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
                                REG_R8,  REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15};
  for (int i = 0; i < 16; i++) hd_out[i] = (uint64_t)g[order[i]];
  hd_out[16] = (uint64_t)g[REG_EFL] & ~0x10000UL; /* RF: an artefact of the signal frame, not of the case */
  hd_fault_rip = (uint64_t)g[REG_RIP];
  hd_trapno = (uint64_t)g[REG_TRAPNO]; /* the exception vector (arch/x86/kernel/signal.c setup_sigcontext) */
  hd_err = (uint64_t)g[REG_ERR];
  hd_cr2 = (uint64_t)g[REG_CR2];
  siglongjmp(hd_jmp, sig);
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Parses a hex byte string into out; returns the byte count, or -1. */
static long parse_bytes(const char *s, size_t n, uint8_t *out, size_t max) {
  if (n % 2 || n / 2 > max) return -1;
  for (size_t i = 0; i < n / 2; i++) {
    int h = hexval(s[2 * i]), l = hexval(s[2 * i + 1]);
    if (h < 0 || l < 0) return -1;
    out[i] = (uint8_t)(h << 4 | l);
  }
  return (long)(n / 2);
}

static void put_hex_bytes(const uint8_t *p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    putchar(digits[p[i] >> 4]);
    putchar(digits[p[i] & 15]);
  }
}

int main(void) {
  uint8_t *code = mmap((void *)CODE_ADDR, PAGE, PROT_READ | PROT_EXEC,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  uint8_t *data = mmap((void *)DATA_MAP, DATA_SIZE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (code != (void *)CODE_ADDR || data != (void *)DATA_MAP) {
    fprintf(stderr, "harness: cannot map the fixed code/data pages\n");
    return 2;
  }
  /* glibc uses FS for TLS, nothing uses GS in user mode: point it where the cases expect it */
  if (syscall(SYS_arch_prctl, ARCH_SET_GS, GS_BASE) != 0) {
    fprintf(stderr, "harness: arch_prctl(ARCH_SET_GS) failed\n");
    return 2;
  }
  static uint8_t altstack[65536];
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
  sigaltstack(&ss, NULL);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  int sigs[] = {SIGFPE, SIGSEGV, SIGBUS, SIGILL, SIGTRAP};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &sa, NULL);

  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  while ((len = getline(&line, &cap, stdin)) > 0) {
    char *tok[19];
    int nt = 0;
    for (char *p = strtok(line, " \n"); p && nt < 19; p = strtok(NULL, " \n")) tok[nt++] = p;
    if (nt != 19) {
      printf("err bad line\n");
      continue;
    }
    uint8_t bytes[256];
    long n = parse_bytes(tok[0], strlen(tok[0]), bytes, sizeof bytes - 1);
    if (n < 0) {
      printf("err bad code\n");
      continue;
    }
    hd_in[16] = strtoull(tok[1], NULL, 16);
    for (int i = 0; i < 16; i++) hd_in[i] = strtoull(tok[2 + i], NULL, 16);
    memset(data, 0, DATA_SIZE);
    if (parse_bytes(tok[18], strlen(tok[18]), data, DATA_SIZE) != DATA_SIZE) {
      printf("err bad data\n");
      continue;
    }
    mprotect(code, PAGE, PROT_READ | PROT_WRITE);
    memset(code, 0xcc, PAGE);
    memcpy(code, bytes, (size_t)n);
    mprotect(code, PAGE, PROT_READ | PROT_EXEC);
    int sig = sigsetjmp(hd_jmp, 1);
    if (sig == 0) {
      hd_enter();
      printf("err case returned\n"); /* cannot happen: every path ends in a signal */
      fflush(stdout);
      return 3;
    }
    if (sig == SIGTRAP && hd_fault_rip == CODE_ADDR + (uint64_t)n + 1) {
      printf("ok %llx", (unsigned long long)hd_out[16]);
      for (int i = 0; i < 16; i++) printf(" %llx", (unsigned long long)hd_out[i]);
      putchar(' ');
      put_hex_bytes(data, DATA_SIZE);
      putchar('\n');
    } else {
      /* the state at the fault: a precise fault leaves the faulting instruction without any effect */
      printf("sig %d %llx %llx %llx %llx %llx", sig, (unsigned long long)(hd_fault_rip - CODE_ADDR),
             (unsigned long long)hd_trapno, (unsigned long long)hd_err, (unsigned long long)hd_cr2,
             (unsigned long long)hd_out[16]);
      for (int i = 0; i < 16; i++) printf(" %llx", (unsigned long long)hd_out[i]);
      putchar(' ');
      put_hex_bytes(data, DATA_SIZE);
      putchar('\n');
    }
  }
  free(line);
  return 0;
}
