# Privileged and unusual instruction forms a kernel uses, assembled by test/elf/disasm.test.ts (when
# binutils is installed) and compared with objdump -d in AT&T and Intel syntax.
.text
.globl f
.type f,@function
f:
 mov %cr3,%rax
 mov %rax,%cr3
 mov %cr0,%rdx
 mov %cr4,%rcx
 mov %dr7,%rax
 mov %rax,%dr0
 wrmsr
 rdmsr
 swapgs
 sysretq
 sysretl
 iretq
 iretl
 lretq
 lretl
 lgdt (%rax)
 lidt 0x10(%rdi)
 sgdt (%rsp)
 ltr %ax
 lldt %dx
 str %eax
 invlpg (%rdi)
 hlt
 cli
 sti
 in $0x60,%al
 out %al,$0x80
 inw %dx,%ax
 outl %eax,%dx
 insb
 outsl
 rdtsc
 rdtscp
 pause
 int3
 int $0x80
 ud2
 lfence
 mfence
 sfence
 lock xchg %eax,(%rdi)
 lock cmpxchg %rcx,(%rdi)
 lock xadd %eax,0x8(%rdi)
 lock incl (%rdi)
 lock decq 0x10(%rax)
 lock btsl $3,(%rdi)
 bts %rax,(%rdi)
 btr $5,%rax
 rep movsb
 rep movsq
 rep stosq
 repne scasb
 repe cmpsb
 cpuid
 wbinvd
 verw %ax
 mov %ss,%eax
 mov %eax,%ds
 push %fs
 pop %gs
 ljmp *(%rax)
 lcall *(%rdx)
 jmp *%gs:0x28
 call *0x100(%rip)
 jmp *0x100(%rip)
 rdgsbase %rax
 wrfsbase %rcx
 stac
 clac
 xsave (%rdi)
 xrstor (%rdi)
 fxsave (%rdi)
 fxsave64 (%rdi)
 ldmxcsr (%rdi)
 stmxcsr (%rdi)
 pushfq
 popfq
 pushq $0x10
 pushq $-1
 push $0x12345678
 enter $0x10,$0
 leave
 cltq
 cqto
 cltd
 cwtl
 movslq %eax,%rdx
 movzbl (%rdi),%eax
 movzwl %ax,%eax
 movsbw %al,%ax
 movsbq (%rdi),%rax
 movswq %ax,%rdx
 sete %al
 cmovne %rax,%rdx
 bswap %eax
 bsf %rax,%rdx
 tzcnt %rax,%rdx
 lzcnt %eax,%edx
 popcnt %rax,%rdx
 shld $3,%rax,%rdx
 shrd %cl,%rax,%rdx
 sar %cl,%eax
 rol $1,%eax
 ror %rax
 test $0x1,%al
 testb $0x80,0x10(%rdi)
 andq $-16,%rsp
 addq $0x80,%rsp
 subl $0x1,(%rax)
 cmpw $0x5,(%rdi)
 xchg %rax,%rdx
 xchg %eax,%eax
 nop
 nopw 0x0(%rax,%rax,1)
 nopl 0x0(%rax)
 .byte 0x66,0x66,0x66,0x2e,0x0f,0x1f,0x84,0,0,0,0,0
 .byte 0x2e,0x66,0x0f,0x1f,0x84,0,0,0,0,0
 .byte 0xf3,0x90
 .byte 0xf3,0x0f,0x1e,0xfa
 mov %fs:0x0,%rax
 mov %gs:(%rax),%rdx
 movq %gs:0x8(%rdi),%rax
 addq $1,%gs:0x10
 incl %gs:0x20
 lea -0x8(%rbp),%rax
 lea 0x0(,%rax,8),%rdx
 lea (%rax,%rax,4),%rax
 mov (%rsp),%rax
 mov 0x8(%rsp,%rcx,2),%rax
 mov (%r12),%rax
 mov (%r13),%rax
 mov 0x0(%rbp),%rax
 movabs $0xffffffff81000000,%rax
 mov $0xffffffff81000000,%rax
 mov $-1,%rax
 mov $-1,%eax
 imul $0x64,%rax,%rdx
 imul $0x64,%rax
 imul %rdx
 mul %rcx
 div %rcx
 idivl (%rdi)
 neg %rax
 not %eax
 adc %rax,%rdx
 sbb %eax,%eax
 xor %eax,%eax
 vmcall
 ret $8
 ret
.size f, .-f
