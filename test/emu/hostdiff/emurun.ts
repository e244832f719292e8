// Runs cases on ktrace's emulator: one Machine, one CPU in user mode (CPL3, as the native harness runs), the
// case's code at CODE_ADDR followed by int3, so a case that completes stops with #BP right after the int3.
import { Machine, Stop, stopName } from '../../../src/emu/machine.js';
import { PERM_R, PERM_U, PERM_W, PERM_X } from '../../../src/emu/memory.js';
import { type Cpu, Reg } from '../../../src/emu/cpu.js';
import {
  CODE_ADDR, DATA_MAP, DATA_SIZE, GS_BASE, type CaseInput, type Expanded, PAGE_SIZE, expandInput, hexToBytes,
} from './corpus.js';
import { type EmuOutcome, VEC_NAMES } from './compare.js';

const USER_CS = 0x33, USER_SS = 0x2b;   // Linux __USER_CS/__USER_DS (arch/x86/include/asm/segment.h)

export class EmuRunner {
  readonly machine: Machine;
  readonly cpu: Cpu;

  /** compiled: every block compiled on its first entry (the default: tiered, so one-off case code runs
   *  on the one-instruction path); with wasm.ts's tier forced on too, cases run as WebAssembly regions. */
  constructor(opts: { compiled?: boolean } = {}) {
    this.machine = new Machine({ cpus: 1, seed: 1 });
    if (opts.compiled) this.machine.hotAfter = 1;
    this.cpu = this.machine.cpus[0];
    this.machine.mem.map(CODE_ADDR, PAGE_SIZE, PERM_R | PERM_X | PERM_U);
    this.machine.mem.map(DATA_MAP, DATA_SIZE, PERM_R | PERM_W | PERM_U);
  }

  run(c: CaseInput, input: Expanded = expandInput(c)): EmuOutcome {
    const { mem } = this.machine;
    const cpu = this.cpu;
    const code = hexToBytes(c.code);
    const page = new Uint8Array(PAGE_SIZE);
    page.fill(0xcc);   // int3 after the case's bytes (and everywhere else on the code page)
    page.set(code, 0);
    mem.writeBytes(CODE_ADDR, page);
    mem.writeBytes(DATA_MAP, input.data);
    for (let i = 0; i < 16; i++) cpu.setReg(i as Reg, input.regs[i]);
    cpu.cs = USER_CS; cpu.ss = USER_SS; cpu.cpl = 3;
    cpu.gsBase = BigInt(GS_BASE);
    cpu.setRflags(input.flags);
    cpu.rip = CODE_ADDR;
    let stop: Stop;
    try {
      stop = this.machine.run(cpu, 100_000);
    } catch (e) {
      return { kind: 'error', what: `emulator threw: ${(e as Error).message}` };
    }
    const end = CODE_ADDR + code.length + 1;
    const regs: bigint[] = [];
    for (let i = 0; i < 16; i++) regs.push(cpu.getReg(i as Reg));
    const state = { regs, flags: cpu.getRflags(), data: mem.readBytes(DATA_MAP, DATA_SIZE) };
    if (stop === Stop.Breakpoint && cpu.rip === end) return { kind: 'done', state };
    const vec = stop === Stop.DivideError ? 0 : stop === Stop.InvalidOpcode ? 6 : stop === Stop.GeneralProtection ? 13
      : stop === Stop.PageFault ? 14 : stop === Stop.Debug ? 1 : stop === Stop.Breakpoint ? 3 : -1;
    const what = `stop ${stopName(stop)}${vec >= 0 ? ` (${VEC_NAMES[vec]})` : ''} at rip=0x${cpu.rip.toString(16)}` +
      (cpu.stopText ? `: ${cpu.stopText}` : '');
    return vec >= 0 ? { kind: 'fault', what, vector: vec, rip: cpu.rip, errorCode: cpu.errorCode, faultAddr: cpu.faultAddr, state }
      : { kind: 'error', what };
  }
}
