/*
 * Native side of the host-CPU differential test (test/emu/hostdiff).
 *
 * Reads one case per line on stdin:
 *   <code hex> <rflags hex> <16 GPRs hex, RAX..R15 order> <data window hex, placed at DATA_MAP + DATA_SKEW>
 * runs the code natively in user mode with exactly that register file, flags and data window, and prints
 *   ok <rflags> <16 GPRs> <data region hex>    after the code fell through its end, or
 *   sig <signo> <rip offset hex>                when it raised a signal (SIGFPE = #DE from div/idiv).
 *
 * The code sits at a fixed address (CODE_ADDR) followed by `jmp [rip+0]; dq hd_exit`, the data page at a fixed
 * address (DATA_MAP, two pages): the emulator side maps the same addresses, so pointers in registers compare directly.
 * Registers are loaded and saved by the assembly below (hd_enter/hd_exit), never by compiler-generated code,
 * so RSP and RFLAGS can be anything the case wants; the host stack pointer is kept in a global.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#define CODE_ADDR 0x10000000UL
#define DATA_MAP 0x1000f000UL /* two pages; keep in step with corpus.ts */
#define DATA_SIZE 8192
#define DATA_SKEW (4096 - 160)   /* the input window starts here: operands near +160 straddle the pages */
#define PAGE 4096

uint64_t hd_in[17];   /* RAX..R15, RFLAGS */
uint64_t hd_out[17];
uint64_t hd_host_rsp;
uint64_t hd_code_ptr = CODE_ADDR;
void hd_enter(void);
void hd_exit(void);

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
    ".globl hd_exit\n"
    "hd_exit:\n"
    "  mov [rip+hd_out+0], rax\n  mov [rip+hd_out+8], rcx\n  mov [rip+hd_out+16], rdx\n  mov [rip+hd_out+24], rbx\n"
    "  mov [rip+hd_out+32], rsp\n  mov [rip+hd_out+40], rbp\n  mov [rip+hd_out+48], rsi\n  mov [rip+hd_out+56], rdi\n"
    "  mov [rip+hd_out+64], r8\n  mov [rip+hd_out+72], r9\n  mov [rip+hd_out+80], r10\n  mov [rip+hd_out+88], r11\n"
    "  mov [rip+hd_out+96], r12\n  mov [rip+hd_out+104], r13\n  mov [rip+hd_out+112], r14\n  mov [rip+hd_out+120], r15\n"
    /* back on the host stack before pushfq: the case's RSP points into the data page under test */
    "  mov rsp, [rip+hd_host_rsp]\n"
    "  pushfq\n  pop qword ptr [rip+hd_out+128]\n"
    "  cld\n  push 0x202\n  popfq\n"
    "  pop r15\n  pop r14\n  pop r13\n  pop r12\n  pop rbp\n  pop rbx\n"
    "  ret\n"
    ".att_syntax prefix\n");

static sigjmp_buf hd_jmp;
static volatile uint64_t hd_fault_rip;

static void on_signal(int sig, siginfo_t *si, void *uc_) {
  ucontext_t *uc = (ucontext_t *)uc_;
  (void)si;
  hd_fault_rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
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
  uint8_t *code = mmap((void *)CODE_ADDR, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  uint8_t *data = mmap((void *)DATA_MAP, DATA_SIZE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (code != (void *)CODE_ADDR || data != (void *)DATA_MAP) {
    fprintf(stderr, "harness: cannot map the fixed code/data pages\n");
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
    uint8_t bytes[64];
    long n = parse_bytes(tok[0], strlen(tok[0]), bytes, sizeof bytes - 14);
    if (n < 0) {
      printf("err bad code\n");
      continue;
    }
    hd_in[16] = strtoull(tok[1], NULL, 16);
    for (int i = 0; i < 16; i++) hd_in[i] = strtoull(tok[2 + i], NULL, 16);
    memset(data, 0, DATA_SIZE);
    if (parse_bytes(tok[18], strlen(tok[18]), data + DATA_SKEW, DATA_SIZE - DATA_SKEW) < 0) {
      printf("err bad data\n");
      continue;
    }
    memcpy(code, bytes, (size_t)n);
    /* jmp qword ptr [rip+0]; dq hd_exit */
    static const uint8_t jmp_abs[6] = {0xff, 0x25, 0, 0, 0, 0};
    uint64_t exit_addr = (uint64_t)(uintptr_t)hd_exit;
    memcpy(code + n, jmp_abs, 6);
    memcpy(code + n + 6, &exit_addr, 8);
    int sig = sigsetjmp(hd_jmp, 1);
    if (sig == 0) {
      hd_enter();
      printf("ok %llx", (unsigned long long)hd_out[16]);
      for (int i = 0; i < 16; i++) printf(" %llx", (unsigned long long)hd_out[i]);
      putchar(' ');
      put_hex_bytes(data, DATA_SIZE);
      putchar('\n');
    } else {
      printf("sig %d %llx\n", sig, (unsigned long long)(hd_fault_rip - CODE_ADDR));
    }
  }
  free(line);
  return 0;
}
