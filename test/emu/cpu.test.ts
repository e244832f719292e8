// System state written from the SDM's operation pseudo-code: SYSCALL, SYSRET, SWAPGS, RDMSR/WRMSR,
// CPUID, RDTSC(P), LIDT/SIDT, MOV CRn, privilege checks, and RFLAGS materialization.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Stop, stopName } from '../../src/emu/machine.js';
import { MSR_FMASK, MSR_LSTAR, MSR_STAR, MSR_GS_BASE, MSR_KERNEL_GS_BASE } from '../../src/base/x86.js';
import { PERM_R, PERM_W, PERM_X, PERM_U, PF_U } from '../../src/emu/memory.js';
import { CODE, DATA, Reg, hexBytes, setup, type Env } from './util.js';

function is(s: Stop, want: Stop): void { assert.is(stopName(s), stopName(want)); }
const USER = 0x400000;
const STAR = (0x23n << 48n) | (0x10n << 32n); // Linux: __USER32_CS base for sysret, __KERNEL_CS for syscall
const FMASK = 0x47700; // Linux: TF DF IF IOPL AC NT

function userEnv(code: string): Env {
  const env = setup('f4');
  const { m, c } = env;
  m.mem.map(USER, 0x1000, PERM_R | PERM_X | PERM_U);
  m.mem.map(USER + 0x10000, 0x1000, PERM_R | PERM_W | PERM_U);
  m.mem.writeBytes(USER, hexBytes(code));
  c.wrmsr(MSR_STAR, STAR); c.wrmsr(MSR_LSTAR, BigInt.asUintN(64, BigInt(CODE))); c.wrmsr(MSR_FMASK, BigInt(FMASK));
  c.cs = 0x33; c.ss = 0x2b; c.setCpl(3); c.rip = USER;
  c.setRegNum(Reg.RSP, USER + 0x10800);
  return env;
}

test('syscall: RCX=next RIP, R11=RFLAGS, RIP=LSTAR, CS/SS from STAR, RFLAGS masked by FMASK, CPL 0', () => {
  const { m, c } = userEnv('0f05');
  c.setRflags(0x2 | 0x200 | 0x400 | 0x1); // IF DF CF
  is(m.run(c, 1), Stop.Budget);
  assert.is(c.getRegNum(Reg.RCX), USER + 2);
  assert.is(c.getReg(Reg.R11), 0x603n);
  assert.is(c.rip, CODE);
  assert.is(c.cs, 0x10); assert.is(c.ss, 0x18); assert.is(c.cpl, 0);
  assert.is(c.getRflags(), 0x3); // IF and DF cleared, CF kept, bit 1 set
  // the kernel stack is not switched by syscall (entry code does it)
  assert.is(c.getRegNum(Reg.RSP), USER + 0x10800);
});

test('sysretq: RIP=RCX, RFLAGS=(R11 & 3C7FD7H)|2, CS=STAR[63:48]+16|3, SS=STAR[63:48]+8|3, CPL 3', () => {
  const env = setup('480f07');
  const { m, c } = env;
  m.mem.map(USER, 0x1000, PERM_R | PERM_X | PERM_U);
  m.mem.writeBytes(USER, hexBytes('f4'));
  c.wrmsr(MSR_STAR, STAR);
  c.setRegNum(Reg.RCX, USER);
  c.setReg(Reg.R11, 0xffffffffffc38ec6n); // reserved, VM, RF and TF bits must not come back
  is(m.run(c, 1), Stop.Budget);
  assert.is(c.rip, USER);
  assert.is(c.cs, 0x33); assert.is(c.ss, 0x2b); assert.is(c.cpl, 3);
  assert.is(c.getRflags(), (0xc38ec6 & 0x3c7fd7) | 2);
  // user mode: hlt is privileged
  is(m.run(c, 10), Stop.GeneralProtection);
  assert.is(c.rip, USER);
});

test('sysretq #GP: non-canonical RCX (nothing changes) and CPL 3', () => {
  let { m, c } = setup('480f07');
  c.wrmsr(MSR_STAR, STAR);
  c.setReg(Reg.RCX, 0x0000800000000000n);
  is(m.run(c, 1), Stop.GeneralProtection);
  assert.is(c.rip, CODE); assert.is(c.cpl, 0); assert.is(c.cs, 0x10);
  ({ m, c } = userEnv('480f07'));
  is(m.run(c, 1), Stop.GeneralProtection);
  assert.is(c.cpl, 3);
});

test('swapgs exchanges GS.base and KERNEL_GS_BASE; #GP at CPL 3', () => {
  let { m, c } = setup('0f01f8 f4');
  c.wrmsr(MSR_GS_BASE, 0x1000n); c.wrmsr(MSR_KERNEL_GS_BASE, 0xffff888000001000n);
  is(m.run(c, 10), Stop.Halt);
  assert.is(c.gsBase, 0xffff888000001000n); assert.is(c.kernelGsBase, 0x1000n);
  assert.is(c.rdmsr(MSR_GS_BASE), 0xffff888000001000n);
  ({ m, c } = userEnv('0f01f8'));
  is(m.run(c, 1), Stop.GeneralProtection);
});

test('gs-relative accesses use GS.base (per-cpu data)', () => {
  // mov rax, gs:[8]; hlt
  const { m, c } = setup('65488b042508000000 f4');
  m.mem.write64(DATA + 0x108, 0xabcdefn);
  c.gsBase = BigInt.asUintN(64, BigInt(DATA + 0x100));
  is(m.run(c, 10), Stop.Halt);
  assert.is(c.getReg(Reg.RAX), 0xabcdefn);
});

test('rdmsr/wrmsr: EDX:EAX halves, unknown MSR and non-canonical bases raise #GP at the instruction', () => {
  let { m, c } = setup('b9820000c0 0f32 f4');
  c.wrmsr(MSR_LSTAR, 0xffffffff81234567n);
  is(m.run(c, 10), Stop.Halt);
  assert.is(c.getReg(Reg.RAX), 0x81234567n); assert.is(c.getReg(Reg.RDX), 0xffffffffn);
  ({ m, c } = setup('0f30 f4'));
  c.setReg(Reg.RCX, 0x12345n);
  is(m.run(c, 10), Stop.GeneralProtection);
  assert.is(c.rip, CODE);
  assert.match(c.stopText, 'unknown MSR');
  c.setReg(Reg.RCX, BigInt(MSR_GS_BASE)); c.setReg(Reg.RDX, 0x00008000n); c.setReg(Reg.RAX, 0n);
  is(m.run(c, 10), Stop.GeneralProtection);
  c.setReg(Reg.RDX, 0xffffffffn); c.setReg(Reg.RAX, 0x80000000n);
  is(m.run(c, 10), Stop.Halt);
  assert.is(c.gsBase, 0xffffffff80000000n);
  // host-side rdmsr of a missing MSR is a host error, not a guest fault
  assert.throws(() => c.rdmsr(0x1234));
});

test('cpuid: documented fixed leaves', () => {
  const { m, c } = setup('0fa2 f4', { cpus: 2 });
  const c1 = m.cpus[1];
  is(m.run(c, 10), Stop.Halt);
  const str = (r: Reg) => Buffer.from(new Uint32Array([Number(c.getReg(r))]).buffer).toString('latin1');
  assert.is(str(Reg.RBX) + str(Reg.RDX) + str(Reg.RCX), 'KtraceKtrace');
  assert.is(c.getReg(Reg.RAX), 7n);
  c1.online = true; c1.setReg(Reg.RAX, 1n);
  is(m.run(c1, 10), Stop.Halt);
  assert.is(Number(c1.getReg(Reg.RBX)) >>> 24, 1);
  assert.ok(Number(c1.getReg(Reg.RCX)) & (1 << 13)); // CMPXCHG16B
  c1.rip = CODE; c1.halted = false; c1.setReg(Reg.RAX, 0x80000001n);
  m.run(c1, 10);
  assert.ok(Number(c1.getReg(Reg.RDX)) & (1 << 29)); // long mode
  assert.ok(Number(c1.getReg(Reg.RDX)) & (1 << 11)); // syscall
});

test('rdtsc is the emulated clock (instructions + idle ns); rdtscp adds TSC_AUX = cpu id', () => {
  const { m, c } = setup('90 90 0f31 0f01f9 f4');
  c.idleNs = 1000;
  is(m.run(c, 10), Stop.Halt);
  assert.is(c.getReg(Reg.RAX), 1003n); // rdtscp saw 3 retired instructions
  assert.is(c.getReg(Reg.RCX), 0n);
  assert.is(c.getReg(Reg.RDX), 0n);
});

test('lidt/sidt round trip; mov to/from CR registers; privileged at CPL 3', () => {
  const { m, c } = setup('0f0118 0f010b 0f20c0 0f22e0 f4');
  m.mem.write16(DATA, 0xfff); m.mem.write64(DATA + 2, 0xffff888000123000n);
  c.setRegNum(Reg.RAX, DATA); c.setRegNum(Reg.RBX, DATA + 0x20);
  is(m.run(c, 10), Stop.Halt);
  assert.is(c.idtLimit, 0xfff); assert.is(c.idtBase, -0x777fffedd000);
  assert.is(m.mem.read16(DATA + 0x20), 0xfff); assert.is(m.mem.read64(DATA + 0x22), 0xffff888000123000n);
  assert.is(c.getReg(Reg.RAX), BigInt(c.cr0));
  assert.is(c.cr4, c.cr0);
  const u = userEnv('0f20c0');
  is(u.m.run(u.c, 10), Stop.GeneralProtection);
  assert.match(u.c.stopText, 'privileged');
});

test('user mode cannot touch supervisor pages: #PF with the U bit', () => {
  const { m, c } = userEnv('488b00'); // mov rax, [rax]
  c.setRegNum(Reg.RAX, DATA);
  is(m.run(c, 10), Stop.PageFault);
  assert.is(c.errorCode, PF_U | 1);
  assert.is(c.faultAddr, DATA);
});

test('RFLAGS materializes the lazy flags; setRflags round-trips the architectural bits', () => {
  const { m, c } = setup('4801d8 f4'); // add rax, rbx
  c.setReg(Reg.RAX, 0x7fffffffffffffffn); c.setReg(Reg.RBX, 1n);
  m.run(c, 10);
  // 0x8000000000000000: OF SF AF PF(low byte 0 -> even) set, ZF CF clear
  assert.is(c.getRflags() & 0x8d5, 0x800 | 0x80 | 0x10 | 0x4);
  c.setRflags(0x2 | 0x1 | 0x40 | 0x400 | 0x40000);
  assert.is(c.getRflags(), 0x2 | 0x1 | 0x40 | 0x400 | 0x40000);
  assert.is(c.df, 1); assert.is(c.ac, 1);
});

test.run();
