// Per-instruction-class speed of the emulator: a loop of one class of instructions (encoded by iced-x86's
// BlockEncoder) run in user mode until an int3, timed, MIPS printed. Shows where the interpreter spends time.
import { BlockEncoder, Code, Instruction, MemoryOperand, Register as R } from 'iced-x86';
import { Machine, Stop } from '../../src/emu/machine.js';
import { PERM_R, PERM_U, PERM_W, PERM_X } from '../../src/emu/memory.js';
import { Reg } from '../../src/emu/cpu.js';
import { fmtM, fmtS, printTable } from '../lib/tools.js';
import type { Section } from './section.js';

const CODE = 0x400000, DATA = 0x600000, PAGE = 4096;

interface Kernel { name: string; body: () => Instruction[] }
const mem = (base: R, disp: number) => new MemoryOperand(base, R.None, 1, BigInt(disp), 1, false, R.None);
const rep = <T>(n: number, f: (i: number) => T[]) => Array.from({ length: n }, (_, i) => f(i)).flat();

const KERNELS: Kernel[] = [
  { name: 'alu reg,reg', body: () => rep(8, () => [
    Instruction.createRegReg(Code.Add_r64_rm64, R.RAX, R.RBX), Instruction.createRegReg(Code.Xor_r32_rm32, R.ECX, R.EDX),
    Instruction.createRegReg(Code.Sub_r64_rm64, R.R8, R.R9), Instruction.createRegI32(Code.And_rm64_imm8, R.R10, 0x3f)]) },
  { name: 'mov/alu memory', body: () => rep(8, (i) => [
    Instruction.createRegMem(Code.Mov_r64_rm64, R.RAX, mem(R.RSI, 8 * i)), Instruction.createMemReg(Code.Add_rm64_r64, mem(R.RSI, 8 * i + 64), R.RAX),
    Instruction.createRegMem(Code.Mov_r32_rm32, R.ECX, mem(R.RSI, 4 * i)), Instruction.createMemReg(Code.Mov_rm32_r32, mem(R.RSI, 4 * i + 128), R.ECX)]) },
  { name: 'lea', body: () => rep(16, (i) => [
    Instruction.createRegMem(Code.Lea_r64_m, R.RAX, new MemoryOperand(R.RBX, R.RCX, 4, BigInt(i), 1, false, R.None)),
    Instruction.createRegMem(Code.Lea_r32_m, R.EDX, mem(R.RAX, -i))]) },
  { name: 'shifts/rotates', body: () => rep(8, () => [
    Instruction.createRegI32(Code.Shl_rm64_imm8, R.RAX, 3), Instruction.createRegI32(Code.Shr_rm32_imm8, R.EBX, 5),
    Instruction.createRegReg(Code.Sar_rm64_CL, R.RDX, R.CL), Instruction.createRegI32(Code.Rol_rm64_imm8, R.R8, 7)]) },
  { name: 'mul/div', body: () => rep(8, () => [
    Instruction.createRegReg(Code.Imul_r64_rm64, R.RAX, R.RBX), Instruction.createRegI32(Code.Mov_r32_imm32, R.EDX, 0),
    Instruction.createRegI32(Code.Mov_r32_imm32, R.EAX, 1000003), Instruction.createReg(Code.Div_rm64, R.RCX)]) },
  { name: 'push/pop', body: () => rep(8, () => [
    Instruction.createReg(Code.Push_r64, R.RAX), Instruction.createReg(Code.Push_r64, R.RBX),
    Instruction.createReg(Code.Pop_r64, R.RCX), Instruction.createReg(Code.Pop_r64, R.RDX)]) },
  { name: 'cmp+jcc', body: () => rep(16, () => [
    Instruction.createRegReg(Code.Cmp_r64_rm64, R.RAX, R.RBX), Instruction.createBranch(Code.Jne_rel8_64, 0n)]) },
  { name: 'setcc/cmovcc', body: () => rep(8, () => [
    Instruction.createRegReg(Code.Test_rm64_r64, R.RAX, R.RBX), Instruction.createReg(Code.Sete_rm8, R.CL),
    Instruction.createRegReg(Code.Cmovne_r64_rm64, R.RDX, R.R8), Instruction.createRegReg(Code.Cmovb_r32_rm32, R.R9D, R.R10D)]) },
];

/** Assembles `iters` iterations of body + `dec r15; jnz top`, then int3. Branch targets of 0 mean "next". */
function assemble(body: Instruction[], iters: number): { bytes: Uint8Array; count: number } {
  const ins: Instruction[] = [Instruction.createRegI32(Code.Mov_rm64_imm32, R.R15, iters)];
  const top = BigInt(CODE + 0x100);
  const loop: Instruction[] = [...body, Instruction.createReg(Code.Dec_rm64, R.R15), Instruction.createBranch(Code.Jne_rel32_64, top)];
  loop.forEach((x, i) => {
    x.ip = top + BigInt(i);
    if (x.code === Code.Jne_rel8_64 && x.nearBranch64 === 0n) x.nearBranch64 = top + BigInt(i + 1);
  });
  // Place the loop at `top` via a separate block so its labels (ip = top + index) resolve.
  const head = new BlockEncoder(64, 0);
  for (const x of ins) head.add(x);
  const h = head.encode(BigInt(CODE));
  const b = new BlockEncoder(64, 0);
  for (const x of loop) b.add(x);
  const l = b.encode(top);
  const bytes = new Uint8Array(0x100 + l.length + 1);
  bytes.fill(0x90, 0, 0x100);
  bytes.set(h, 0);
  // jmp top after the prologue
  bytes[h.length] = 0xe9;
  new DataView(bytes.buffer).setInt32(h.length + 1, 0x100 - (h.length + 5), true);
  bytes.set(l, 0x100);
  bytes[0x100 + l.length] = 0xcc;
  head.free(); b.free();
  for (const x of [...ins, ...loop]) x.free();
  return { bytes, count: 2 + iters * loop.length };
}

export const micro: Section = {
  name: 'micro',
  description: 'emulator MIPS per instruction class (loops of one class, user mode)',
  run(opts) {
    const iters = Number(opts['micro-iters'] ?? 1000000);
    const rows: string[][] = [];
    let ok = true;
    for (const k of KERNELS) {
      const { bytes, count } = assemble(k.body(), iters);
      const m = new Machine({ cpus: 1, seed: 1 });
      const cpu = m.cpus[0];
      const size = Math.ceil(bytes.length / PAGE) * PAGE;
      m.mem.map(CODE, size, PERM_R | PERM_X | PERM_U);
      m.mem.writeBytes(CODE, bytes);
      m.mem.map(DATA, 16 * PAGE, PERM_R | PERM_W | PERM_U);
      cpu.setReg(Reg.RSP, BigInt(DATA + 8 * PAGE));
      cpu.setReg(Reg.RSI, BigInt(DATA + PAGE));
      cpu.setReg(Reg.RCX, 7n);
      cpu.setReg(Reg.RBX, 12345n);
      cpu.cs = 0x33; cpu.ss = 0x2b; cpu.cpl = 3;
      cpu.setRflags(0x202);
      cpu.rip = CODE;
      const before = cpu.instret;
      const t0 = process.hrtime.bigint();
      const stop = m.run(cpu, 1e12);
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      const n = cpu.instret - before;
      if (stop !== Stop.Breakpoint || Math.abs(n - count) > 1) { // the final int3 may count as retired
        ok = false;
        rows.push([k.name, `FAILED: stop ${stop} at 0x${cpu.rip.toString(16)} after ${n} of ${count} instructions ${cpu.stopText}`, '', '']);
        continue;
      }
      rows.push([k.name, fmtM(n), fmtS(secs), (n / secs / 1e6).toFixed(1)]);
    }
    printTable(['class', 'instructions', 'seconds', 'MIPS'], rows);
    return ok;
  },
};
