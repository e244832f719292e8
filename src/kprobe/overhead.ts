// What a trap costs the kernel, in instructions, for the probe overhead account (kprobes.ts).
//
// A probe hit costs the instructions kprobes run on their own pages (copies, jumps back, a detour's
// host call, the return trampoline: cpu.probeInstret counts them as they run) plus, for each exception
// it takes, the kernel's exception round trip around the handler: an int3 probe takes the int3 trap,
// a single-stepped one the #DB trap too; a boosted probe only the int3; a jump-optimized one and an
// ftrace one none (the detour and the ftrace call are plain calls). In ktrace the host runs the C
// handlers, so the kernel's entry and exit code is what those traps add: the image's own IDT stub
// for the vector, walked on the kernel-mode path (the stub's pushes, the `testb $3, CS` test taken as
// kernel mode, the call of the C handler, the return path's pops and iretq). That is how the account
// ranks as the kernel document's table does: o < b < k (and ro < rb < r).
import type { Image } from '../elf/image.js';
import { ConditionCode, Decoder, DecoderOptions, FlowControl, Instruction, Mnemonic, OpKind, Register, Code } from '../emu/iced.js';

/** pt_regs->cs on the exception stack once the stub pushed the registers (fixtures/kernel/README.md pt_regs: 17 * 8). */
const PT_REGS_CS = 0x88;
const MAX_STEPS = 256;

/**
 * Instructions from the IDT stub `stub` (asm_exc_int3, asm_exc_debug) to its iretq for a trap taken in
 * kernel mode, counting the call of the C handler but not the handler; 0 when the image has no such stub
 * or the walk does not reach an iretq.
 */
export function trapRoundTrip(image: Image, stub: string): number {
  const start = image.lookupName(stub);
  if (start === undefined) return 0;
  let addr: number = start;
  const insn = new Instruction();
  let count = 0, csTest = false;
  for (let steps = 0; steps < MAX_STEPS; steps++) {
    const bytes = image.read(addr, 16) ?? image.read(addr, 1);
    if (!bytes) return 0;
    const d = new Decoder(64, bytes, DecoderOptions.None);
    d.ip = BigInt.asUintN(64, BigInt(addr));
    d.decodeOut(insn);
    if (insn.code === Code.INVALID) return 0;
    count++;
    if (insn.mnemonic === Mnemonic.Iretq) return count;
    const next: number = addr + insn.length;
    const target = () => Number(BigInt.asIntN(64, insn.nearBranchTarget));
    switch (insn.flowControl) {
      case FlowControl.UnconditionalBranch:
        if (insn.op0Kind !== OpKind.NearBranch64) return 0;
        addr = target();
        break;
      case FlowControl.ConditionalBranch:
        // after `test $3, CS(%rsp)` a kernel-mode trap has ZF set: je/jz is taken, jne falls through;
        // other conditions are taken as not taken (the stubs have none on the kernel-mode path)
        addr = csTest && insn.conditionCode === ConditionCode.e ? target() : next;
        break;
      case FlowControl.Return: case FlowControl.IndirectBranch: case FlowControl.Exception: case FlowControl.Interrupt:
        return 0;
      default: addr = next; // the handler's call counts; the handler itself is the host's
    }
    csTest = insn.mnemonic === Mnemonic.Test && insn.op0Kind === OpKind.Memory && insn.memoryBase === Register.RSP &&
      insn.memoryDisplacementU64 === BigInt(PT_REGS_CS) && insn.op1Kind === OpKind.Immediate8 && insn.immediate8 === 3;
  }
  return 0;
}
