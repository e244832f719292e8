// Instruction facts keyed by iced-x86's Code, read from iced's own metadata (InstructionInfoFactory) the
// first time a Code is decoded and kept for the process: the direction of each operand (read, written),
// the same for every instance of the Code whether its r/m operand is a register or memory; its flow
// control and whether it is privileged (CPL 0, or IOPL-sensitive: cli, sti, in, out, ins, outs).
import { InstructionInfoFactory, InstructionInfoOptions, OpAccess, OpKind, type Instruction } from './iced.js';

/** The Code has been looked at (a table entry of 0 means: not yet). */
export const F_KNOWN = 1 << 16;
/** The Code is privileged (iced's isPrivileged). */
export const F_PRIVILEGED = 1 << 17;
const FLOW_SHIFT = 20;
/** iced's FlowControl of the Code (Next, branches, Call, Return, Interrupt, Exception ...). */
export const flowOf = (facts: number): number => (facts >>> FLOW_SHIFT) & 15;
/** operand k is (or may be) written: bit k; read: bit 8 + k */
export const opWritten = (facts: number, k: number): boolean => ((facts >>> k) & 1) !== 0;
export const opRead = (facts: number, k: number): boolean => ((facts >>> (8 + k)) & 1) !== 0;

const table = new Int32Array(8192);
let factory: InstructionInfoFactory | null = null;

/** The facts of `insn`'s Code (computed from iced's metadata on its first use). */
export function codeFacts(insn: Instruction): number {
  const code = insn.code;
  const known = table[code];
  if (known !== 0) return known;
  factory ??= new InstructionInfoFactory();
  // operand access only: the register and memory usage lists cost ~20x more to build
  const info = factory.infoOptions(insn, InstructionInfoOptions.NoMemoryUsage | InstructionInfoOptions.NoRegisterUsage);
  let f = F_KNOWN | (insn.isPrivileged ? F_PRIVILEGED : 0) | ((insn.flowControl as number) << FLOW_SHIFT);
  try {
    for (let k = 0; k < insn.opCount && k < 8; k++) {
      const a = info.opAccess(k) as number;
      if (a === OpAccess.Read || a === OpAccess.CondRead || a === OpAccess.ReadWrite || a === OpAccess.ReadCondWrite) f |= 1 << (8 + k);
      if (a === OpAccess.Write || a === OpAccess.CondWrite || a === OpAccess.ReadWrite || a === OpAccess.ReadCondWrite) f |= 1 << k;
    }
  } finally { info.free(); }
  table[code] = f;
  return f;
}

/** Is operand kind `kind` a memory operand (explicit, or a string instruction's [rsi]/[rdi])? */
export function isMemKind(kind: number): boolean {
  return kind === OpKind.Memory || (kind >= OpKind.MemorySegSI && kind <= OpKind.MemoryESRDI);
}

/** Does an instruction with these operand kinds and facts store to memory through an operand? (Stack
 *  stores of push/call are implicit: the caller checks the stack increment.) */
export function writesMemOperand(kinds: readonly number[], facts: number): boolean {
  for (let k = 0; k < kinds.length; k++) if (isMemKind(kinds[k]) && opWritten(facts, k)) return true;
  return false;
}
