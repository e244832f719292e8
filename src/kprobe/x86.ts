// The x86 side of kprobes (arch/x86/kernel/kprobes/core.c): can_probe, arch_prepare_kprobe (copy the
// instruction into a slot with RIP-relative operands fixed up, or choose to emulate it), can_boost, the
// emulation of branch/IF-modifying instructions (prepare_emulation and the kprobe_emulate_* family),
// arm/disarm (text_poke of int3) and the resume fix-up after a single-step.
// Every instruction fact comes from iced-x86 (flow control and privilege through the per-Code table of
// src/emu/facts.ts; condition code, branch target, RIP-relative operands from the decoded instruction);
// the only policy tables are what the kernel's own lists add to those facts, written as iced Mnemonic sets.
import { BlockEncoder, BlockEncoderOptions, Code, ConditionCode, Decoder, DecoderOptions, decodeAt, digestKey, FlowControl, hexKey, memoIced, Mnemonic, OpKind, Register, scratchInstruction } from '../emu/iced.js';
import { Reg, type Cpu } from '../emu/cpu.js';
import type { Memory } from '../emu/memory.js';
import { condition, guestPop, guestPush, popfResult, stiEnable } from '../emu/guest.js';

/** Condition codes e and ne (tttn order). */
const CC_E = 4, CC_NE = 5;
import { MODULES_VADDR } from './slots.js';
import { codeFacts, flowOf, F_PRIVILEGED } from '../emu/facts.js';
import { EINVAL, EILSEQ, EOPNOTSUPP } from '../base/errno.js';

export const INT3_INSN_OPCODE = 0xcc;
export const MAX_INSN_SIZE = 16;
const TWO32 = 4294967296;

/** How a probed instruction is executed after the pre_handler. */
export const enum EmulateKind {
  None, Call, Jmp, Jcc, Loop, Ret, CallIndirect, JmpIndirect, Cli, Sti, Pushf, Popf,
}

/** struct arch_specific_insn. */
export interface ArchInsn {
  /** Length of the original instruction. */
  len: number;
  /** The original instruction bytes. */
  bytes: Uint8Array;
  /** Out-of-line copy address (0 when the instruction is emulated). */
  slot: number;
  /** Length of the relocated copy in the slot (before the boost jump). */
  copyLen: number;
  /** can_boost said yes: the slot ends with a jmp back and needs no single-step. */
  boostable: boolean;
  emulate: EmulateKind;
  /** Branch target (call/jmp/jcc/loop), condition (jcc: x86 cc 0..15; loop: 0 loopne, 1 loope, 2 loop, 3 jrcxz),
   *  ret immediate, or GPR index of an indirect call/jmp. */
  target: number; cond: number; imm: number; reg: number; asize: number;
  /** is_IF_modifier: cli, sti, popf, iret. */
  ifModifier: boolean;
  /** AT&T text of the instruction (diagnostics). */
  text: string;
}

/** Why a prepare failed: the errno the kernel returns and a reason users can act on. */
export interface PrepareError { errno: number; reason: string }


/**
 * can_probe: is `addr` an instruction boundary, decoding from the start of its symbol? `read` returns
 * the original bytes (recover_probed_instruction: int3s of other probes replaced by their saved opcodes).
 */
export function canProbe(symStart: number, addr: number, read: (a: number, len: number) => Uint8Array): boolean {
  if (addr === symStart) return true;
  const span = addr - symStart;
  const bytes = read(symStart, span + MAX_INSN_SIZE);
  return memoIced(`b${symStart}:${addr}:${digestKey(bytes)}`, () => boundary(bytes, symStart, span));
}

function boundary(bytes: Uint8Array, symStart: number, span: number): boolean {
  // one Decoder for the walk (a decodeAt per instruction costs 2.4x on a 2 KB function)
  const d = new Decoder(64, bytes, DecoderOptions.None);
  const i = scratchInstruction();
  try {
    d.ip = BigInt.asUintN(64, BigInt(symStart));
    let off = 0;
    while (off < span) {
      d.decodeOut(i);
      if (i.code === Code.INVALID) return false;
      off += i.length;
    }
    return off === span;
  } finally { d.free(); }
}

// Refused whatever their flow control: returns through a frame the slot does not have (iret, retf and
// the sys* returns would otherwise be emulated as a near ret), VM extensions, syscall/sysenter, and int3
// (another debugger's). int/into/int1 need no entry: their flow control (Interrupt) is refused below.
const REFUSED = new Set<number>([
  Mnemonic.Int3, Mnemonic.Iret, Mnemonic.Iretd, Mnemonic.Iretq, Mnemonic.Retf, // prepare_emulation: -EOPNOTSUPP
  Mnemonic.Vmcall, Mnemonic.Vmlaunch, Mnemonic.Vmresume, Mnemonic.Vmxoff,        // 0f 01 /0 mod=3: VM extensions
  Mnemonic.Syscall, Mnemonic.Sysretq, Mnemonic.Sysret, Mnemonic.Sysenter, Mnemonic.Sysexitq, Mnemonic.Sysexit,
  Mnemonic.Hlt, // ktrace: a hlt stepped with IF cleared (as kprobes steps) would never wake
]);
// can_boost's "not boostable" opcodes that the facts do not already exclude: branches and traps (int1)
// fail the flow-control test, and cli, sti, hlt and port I/O (in, out, ins, outs) are privileged.
// ktrace only: instructions that read the emulated clock (rdtsc) or reach devices that do (port I/O arms
// the timer, and is privileged) are single-stepped, where the probed instruction's count is exactly as
// unprobed; in a boosted copy the int3 has already counted it, so they would see the clock one
// instruction late.
const NOT_BOOSTABLE = new Set<number>([Mnemonic.Enter, Mnemonic.Leave, Mnemonic.Pushf, Mnemonic.Pushfq, Mnemonic.Popf,
  Mnemonic.Popfq, Mnemonic.Bound, Mnemonic.Rdtsc, Mnemonic.Rdtscp]);

function gprIndex(r: Register): number {
  const i = r - Register.RAX;
  return i >= 0 && i < 16 ? i : -1;
}

/** Raw legacy prefixes in front of the opcode. */
function prefixes(bytes: Uint8Array): number[] {
  const out: number[] = [];
  for (const b of bytes) {
    if (b === 0x66 || b === 0x67 || b === 0x2e || b === 0x36 || b === 0x3e || b === 0x26 || b === 0x64 || b === 0x65 ||
        b === 0xf0 || b === 0xf2 || b === 0xf3) out.push(b);
    else break;
  }
  return out;
}

export interface PrepareContext {
  /** The original bytes at `addr` (at least MAX_INSN_SIZE). */
  bytes: Uint8Array;
  addr: number;
  /** search_exception_tables(addr): an instruction that may fault with a fixup must not be boosted. */
  hasExceptionFixup: boolean;
  /** get_insn_slot. */
  allocSlot: () => number;
  write: (a: number, bytes: Uint8Array) => void;
}

/** What arch_prepare_kprobe reads from the decoded instruction (iced's facts, through memoIced). */
interface InsnFacts {
  bad: boolean; len: number; text: string; mn: number; code: number; op0Kind: number; op0Reg: number; facts: number;
  /** near branch target (0 without one), condition (tttn order) and is it a jcc, imm16 of ret */
  target: number; cc: number; jcc: boolean; imm16: number;
}

function insnFacts(bytes: Uint8Array, addr: number): Readonly<InsnFacts> {
  const b = bytes.subarray(0, MAX_INSN_SIZE);
  return memoIced(`x${addr}:${hexKey(b)}`, (): InsnFacts => {
    const i = decodeAt(b, addr);
    if (i.code === Code.INVALID) return { bad: true, len: 0, text: '', mn: 0, code: 0, op0Kind: 0, op0Reg: 0, facts: 0, target: 0, cc: 0, jcc: false, imm16: 0 };
    const k = i.op0Kind;
    return {
      bad: false, len: i.length, text: i.toString(), mn: i.mnemonic, code: i.code, op0Kind: k, op0Reg: k === OpKind.Register ? i.op0Register : 0,
      facts: codeFacts(i), target: k === OpKind.NearBranch64 ? Number(BigInt.asIntN(64, i.nearBranch64)) : 0,
      cc: i.isJccShortOrNear ? i.conditionCode - ConditionCode.o : 0, jcc: i.isJccShortOrNear, imm16: k === OpKind.Immediate16 ? i.immediate16 : 0,
    };
  });
}

/** __copy_instruction's relocated copy of the instruction at `addr` for `slot` (iced's BlockEncoder
 *  rewrites RIP-relative displacements), or why it cannot be made. */
function relocated(bytes: Uint8Array, addr: number, slot: number): Readonly<{ copy: number[] } | { error: string }> {
  const b = bytes.subarray(0, MAX_INSN_SIZE);
  return memoIced(`r${addr}:${slot}:${hexKey(b)}`, () => {
    const i = decodeAt(b, addr);
    const be = new BlockEncoder(64, BlockEncoderOptions.None);
    try {
      be.add(i);
      return { copy: Array.from(be.encode(BigInt.asUintN(64, BigInt(slot)))) };
    } catch (e) {
      return { error: String((e as Error).message ?? e) };
    } finally { be.free(); }
  });
}

/** arch_prepare_kprobe + arch_copy_kprobe + prepare_emulation. */
export function archPrepareKprobe(ctx: PrepareContext): { ok: true; insn: ArchInsn } | ({ ok: false } & PrepareError) {
  const i = insnFacts(ctx.bytes, ctx.addr);
  if (i.bad) return { ok: false, errno: EILSEQ, reason: 'cannot decode the instruction' };
  const len = i.len;
  const text = i.text;
  const a: ArchInsn = {
    len, bytes: ctx.bytes.slice(0, len), slot: 0, copyLen: 0, boostable: false, emulate: EmulateKind.None,
    target: 0, cond: 0, imm: 0, reg: -1, asize: 64, ifModifier: false, text,
  };
  const mn = i.mn;
  if (REFUSED.has(mn)) {
    return { ok: false, errno: EOPNOTSUPP, reason: mn === Mnemonic.Int3 ? 'an int3 is already there (another debugger owns it)' : `${text} cannot be executed out of line` };
  }
  // insn_masking_exception (mov ss / pop ss): __copy_instruction refuses them.
  if ((mn === Mnemonic.Pop || mn === Mnemonic.Mov) && i.op0Kind === OpKind.Register && i.op0Reg === Register.SS) {
    return { ok: false, errno: EINVAL, reason: `${text} masks exceptions` };
  }
  const facts = i.facts;
  const flow = flowOf(facts);
  const pfx = prefixes(a.bytes);
  a.asize = pfx.includes(0x67) ? 32 : 64;
  switch (mn) {
    case Mnemonic.Cli: a.emulate = EmulateKind.Cli; a.ifModifier = true; break;
    case Mnemonic.Sti: a.emulate = EmulateKind.Sti; a.ifModifier = true; break;
    case Mnemonic.Pushf: case Mnemonic.Pushfq:
    case Mnemonic.Popf: case Mnemonic.Popfq:
      if (i.code !== Code.Pushfq && i.code !== Code.Popfq) return { ok: false, errno: EOPNOTSUPP, reason: `${text}: only the 64-bit form is emulated` };
      a.emulate = mn === Mnemonic.Popf || mn === Mnemonic.Popfq ? EmulateKind.Popf : EmulateKind.Pushf;
      a.ifModifier = a.emulate === EmulateKind.Popf;
      break;
    default:
      if (flow === FlowControl.Return) {
        a.emulate = EmulateKind.Ret; a.imm = i.imm16;
      } else if (flow === FlowControl.Call || flow === FlowControl.UnconditionalBranch || flow === FlowControl.ConditionalBranch) {
        if (i.op0Kind !== OpKind.NearBranch64) return { ok: false, errno: EOPNOTSUPP, reason: `${text}: far branches are not supported` };
        a.target = i.target;
        if (flow === FlowControl.Call) a.emulate = EmulateKind.Call;
        else if (flow === FlowControl.UnconditionalBranch) a.emulate = EmulateKind.Jmp;
        else if (i.jcc) { a.emulate = EmulateKind.Jcc; a.cond = i.cc; }
        else if (mn === Mnemonic.Loopne || mn === Mnemonic.Loope || mn === Mnemonic.Loop || mn === Mnemonic.Jrcxz || mn === Mnemonic.Jecxz) {
          a.emulate = EmulateKind.Loop;
          a.cond = mn === Mnemonic.Loopne ? 0 : mn === Mnemonic.Loope ? 1 : mn === Mnemonic.Loop ? 2 : 3;
          if (mn === Mnemonic.Jecxz) a.asize = 32;
        } else return { ok: false, errno: EOPNOTSUPP, reason: `${text} cannot be emulated` };
      } else if (flow === FlowControl.IndirectCall || flow === FlowControl.IndirectBranch) {
        // kprobe_emulate_call_indirect / _jmp_indirect: register operands only ("TODO: support memory addressing")
        const r = i.op0Kind === OpKind.Register ? gprIndex(i.op0Reg) : -1;
        if (r < 0 || a.asize !== 64) return { ok: false, errno: EOPNOTSUPP, reason: `${text}: indirect branches through memory are not emulated` };
        a.reg = r;
        a.emulate = flow === FlowControl.IndirectCall ? EmulateKind.CallIndirect : EmulateKind.JmpIndirect;
      } else if (flow !== FlowControl.Next && flow !== FlowControl.Exception) {
        // ud0/ud1/ud2 (flow "exception") are stepped: the #UD at the copy is reported at the probed address
        return { ok: false, errno: EOPNOTSUPP, reason: `${text} cannot be executed out of line` };
      }
  }
  if (a.emulate !== EmulateKind.None) return { ok: true, insn: a };

  // __copy_instruction: relocate into the slot; BlockEncoder rewrites RIP-relative displacements.
  const slot = ctx.allocSlot();
  const rel = relocated(ctx.bytes, ctx.addr, slot);
  if ('error' in rel) return { ok: false, errno: EINVAL, reason: `${text}: cannot relocate (${rel.error})` };
  const copy = rel.copy;
  a.slot = slot; a.copyLen = copy.length;
  // can_boost (arch/x86/kernel/kprobes/core.c): no exception fixup, no CS or address-size prefix, not a
  // branch or trap, not one of the listed opcodes; privileged instructions are left unboosted too.
  a.boostable = !ctx.hasExceptionFixup && flow === FlowControl.Next && !pfx.includes(0x2e) && !pfx.includes(0x67) &&
    !NOT_BOOSTABLE.has(mn) && (facts & F_PRIVILEGED) === 0;
  const out = new Uint8Array(copy.length + (a.boostable ? 5 : 0));
  out.set(copy);
  if (a.boostable) {
    // synthesize_reljump: jmp rel32 back to the instruction after the probed one
    const from = slot + copy.length + 5, rel = ctx.addr + len - from;
    out[copy.length] = 0xe9;
    new DataView(out.buffer).setInt32(copy.length + 1, rel, true);
  }
  ctx.write(slot, out);
  return { ok: true, insn: a };
}

/**
 * arch_prepare_kprobe for a probe at `addr` in the function (or symbol) starting at `symStart`: can_probe,
 * then the copy into a slot from `slot` or prepare_emulation. A refusal carries the errno (positive) and
 * the reason register_kprobe and `ktrace why` give. `read` returns the original bytes
 * (recover_probed_instruction), `fmt` formats an address (%pS).
 */
export function archPrepareAt(symStart: number, addr: number, read: (a: number, len: number) => Uint8Array,
  hasExceptionFixup: boolean, fmt: (a: number) => string, slot: Pick<PrepareContext, 'allocSlot' | 'write'>):
  { ok: true; insn: ArchInsn; bytes: Uint8Array } | ({ ok: false } & PrepareError) {
  if (!canProbe(symStart, addr, read)) return { ok: false, errno: EILSEQ, reason: `${fmt(addr)} is not on an instruction boundary` };
  const bytes = read(addr, MAX_INSN_SIZE);
  const prep = archPrepareKprobe({ bytes, addr, hasExceptionFixup, ...slot });
  return prep.ok ? { ok: true, insn: prep.insn, bytes } : { ok: false, errno: prep.errno, reason: `${fmt(addr)}: ${prep.reason}` };
}

/**
 * The same verdict without preparing anything (no slot taken, nothing written): undefined when
 * register_kprobe would accept the instruction. The check-only backend of the one-liners (`ktrace add`,
 * `fs write kprobe_events`, `run -a`) refuses with it what the kernel refuses at event creation.
 */
export function archProbeRefusal(symStart: number, addr: number, read: (a: number, len: number) => Uint8Array,
  hasExceptionFixup: boolean, fmt: (a: number) => string): PrepareError | undefined {
  const r = archPrepareAt(symStart, addr, read, hasExceptionFixup, fmt, { allocSlot: () => MODULES_VADDR, write: () => {} });
  return r.ok ? undefined : { errno: r.errno, reason: r.reason };
}

// ---- emulation (kprobe_emulate_*), on the CPU through the machine interface (src/emu/guest.ts) ----

/**
 * Emulate the probed instruction at `addr` (RIP is past the int3), with the emulator's own condition and
 * flag semantics. Memory accesses are the guest's own: false when one faulted (the CPU's fault details
 * set, no register changed).
 */
export function emulate(a: ArchInsn, cpu: Cpu, addr: number): boolean {
  const next = addr + a.len;
  switch (a.emulate) {
    case EmulateKind.Call: if (!guestPush(cpu, next)) return false; cpu.rip = a.target; return true;
    case EmulateKind.Jmp: cpu.rip = a.target; return true;
    case EmulateKind.Jcc: cpu.rip = condition(cpu, a.cond) ? a.target : next; return true;
    case EmulateKind.Loop: {
      let taken: boolean;
      if (a.cond === 3) {
        taken = a.asize === 32 ? (cpu.regs[2] >>> 0) === 0 : cpu.getReg(Reg.RCX) === 0n;
      } else {
        let zero: boolean;
        if (a.asize === 32) { const v = (cpu.regs[2] - 1) >>> 0; cpu.regs[2] = v; zero = v === 0; }
        else { const v = BigInt.asUintN(64, cpu.getReg(Reg.RCX) - 1n); cpu.setReg(Reg.RCX, v); zero = v === 0n; }
        // loopne / loope: ZF clear / set (conditions ne and e)
        taken = !zero && (a.cond === 2 || condition(cpu, a.cond === 1 ? CC_E : CC_NE));
      }
      cpu.rip = taken ? a.target : next;
      return true;
    }
    case EmulateKind.Ret: {
      const ip = guestPop(cpu);
      if (ip === undefined) return false;
      if (a.imm) cpu.setRegNum(Reg.RSP, cpu.getRegNum(Reg.RSP) + a.imm);
      cpu.rip = ip;
      return true;
    }
    case EmulateKind.CallIndirect: { const t = cpu.getRegNum(a.reg as Reg); if (!guestPush(cpu, next)) return false; cpu.rip = t; return true; }
    case EmulateKind.JmpIndirect: cpu.rip = cpu.getRegNum(a.reg as Reg); return true;
    // kprobe_emulate_ifmodifiers
    case EmulateKind.Cli: cpu.if_ = 0; cpu.rip = next; return true;
    case EmulateKind.Sti: stiEnable(cpu); cpu.rip = next; return true;
    case EmulateKind.Pushf: if (!guestPush(cpu, cpu.getRflags() & ~0x30000)) return false; cpu.rip = next; return true; // RF and VM read as 0
    case EmulateKind.Popf: {
      const old = cpu.getRflags();
      const v = guestPop(cpu);
      if (v === undefined) return false;
      cpu.setRflags(popfResult(cpu, v >>> 0, old));
      cpu.rip = next;
      return true;
    }
    default: throw new Error(`emulate: instruction ${a.text} is not emulated`);
  }
}
