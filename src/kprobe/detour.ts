// The x86 side of jump optimization (arch/x86/kernel/kprobes/opt.c): can_optimize's safety checks over
// the probed function, the optimized region (the instructions the 5-byte jump covers, RELATIVEJUMP_SIZE)
// and the detour buffer that replaces them.
//
// Every instruction fact comes from iced-x86 (length, flow control, near-branch target); whether a region
// instruction may run out of line is the int3 path's own answer (archPrepareKprobe's can_boost), as
// copy_optimized_instructions asks can_boost too.
//
// Detour layout (optprobe_template_func, x86-64), on PAGE_PROBE memory (probe overhead, no interrupts):
//   vmcall                     host call: optimized_callback(op, regs)
//   <copy of the first region instruction>    TMPL_END: where an int3 hit resumes
//   jmp <copy of the rest> (or straight back)
// The kernel's template pushes a struct pt_regs, calls optimized_callback and pops it again. On ktrace-pc
// a trap saves nothing in guest memory: kprobe handlers get a live PtRegs view of the stopped CPU (the
// int3 path works the same way), so the host call is the save and the restore. The registers handlers see
// are exactly those of the probed instruction (ip = addr + 1 as after an int3); what they change in the
// general registers and flags takes effect as the kernel's RESTORE_REGS would make it; a change of ip is
// ignored (optimized_callback restores it). This keeps the detour to one host call and no guest stack use.
// The copies of the 2nd..nth region instructions sit at the very end of an ordinary executable page: they
// are the guest's own instructions, so they count in cpu.instret and take interrupts exactly where the
// unprobed run would (an interrupted context then returns into the copy, as with the kernel's detour
// buffer); they fall through onto the next page, a PAGE_PROBE one, whose first bytes jump back. The first
// one runs on the probe page because the jmp at the probed address already counted for it, as the int3 does.
import { BlockEncoder, BlockEncoderOptions, Code, Decoder, DecoderOptions, digestKey, Encoder, FlowControl, hexKey, Instruction, memoIced, Mnemonic, OpKind, Register } from '../emu/iced.js';
import type { Image } from '../elf/image.js';
import { attText } from '../elf/disasm.js';
import { archPrepareKprobe, MAX_INSN_SIZE } from './x86.js';
import { MODULES_VADDR } from './slots.js';
import { hex0x } from '../base/addr.js';

/** JMP32_INSN_SIZE / RELATIVEJUMP_SIZE. */
export const RELATIVEJUMP_SIZE = 5;
/** Upper bound of a region: 4 one-byte instructions before a maximal one. */
export const MAX_OPTIMIZED_LENGTH = RELATIVEJUMP_SIZE - 1 + MAX_INSN_SIZE;
export interface RegionInsn { addr: number; len: number; text: string; /** iced flow control says call (direct or indirect). */ call: boolean }
/** The optimized region: instructions starting in [addr, addr + RELATIVEJUMP_SIZE). */
export interface OptRegion { addr: number; size: number; insns: RegionInsn[] }

/** A refusal: the check that failed, the instruction that caused it, and the sentence `ktrace why` prints. */
export interface OptRefusal { check: OptCheck; at: number; reason: string }
export type OptCheck =
  | 'not-in-function' | 'function-too-short' | 'undecodable' | 'indirect-jump'
  | 'exception-table' | 'jump-into-region' | 'call-in-region' | 'not-relocatable' | 'probe-in-region';

export type CanOptimize = { ok: true; region: OptRegion } | ({ ok: false } & OptRefusal);

/** `name+0xoff` (the %pS text without the size). */
export function symOff(image: Image, addr: number): string {
  const at = image.lookupAddr(addr);
  return at ? `${at.entry.name}+0x${at.offset.toString(16)}` : hex0x(addr);
}

/** What can_optimize learns by decoding a whole function once (cached per function by the optimizer). */
export interface FunctionFacts {
  name: string; start: number; end: number;
  /** Instruction starts and lengths, in order. */
  insns: RegionInsn[];
  /** A function-wide refusal (indirect jump, exception-table entry, foreign int3, undecodable byte). */
  refusal?: OptRefusal;
  /** Near jumps (jmp, jcc, loop, jcxz; not calls, as insn_jump_into_range): source and target. */
  branches: { from: number; target: number }[];
}

/**
 * The function can_optimize decodes for a probe at `addr`: kallsyms_lookup_size_offset's, the kallsyms
 * symbol holding addr, sized to the next symbol's address (the padding after the function included),
 * not the ELF st_size; only where an ELF function (FUNC with a size) holds addr. Its start is the
 * optimizer's key for the facts of a function.
 */
export function functionBounds(image: Image, addr: number): { name: string; addr: number; size: number } | undefined {
  const fn = image.functionAt(addr);
  if (!fn || fn.size <= 0) return undefined;
  const at = image.lookupAddr(addr);
  if (!at || at.size <= 0) return undefined;
  return { name: at.entry.name, addr: addr - at.offset, size: at.size };
}

/** Decode the function holding `addr` from its start (can_optimize's "Decode instructions" loop). */
export function analyzeFunction(image: Image, addr: number, read: (a: number, n: number) => Uint8Array, exFixups: Set<number>): FunctionFacts | undefined {
  const fn = functionBounds(image, addr);
  if (!fn) return undefined;
  const facts: FunctionFacts = { name: fn.name, start: fn.addr, end: fn.addr + fn.size, insns: [], branches: [] };
  const bytes = read(fn.addr, fn.size + MAX_INSN_SIZE);
  const dec = decodeFunction(bytes, fn.addr, fn.size);
  // CONFIG_RETPOLINE (insn_is_indirect_jump): a jump into [__indirect_thunk_start, __indirect_thunk_end]
  // counts as an indirect jump; the return thunk lies there too on 6.1.
  const thunkStart = image.symbolAddr('__indirect_thunk_start'), thunkEnd = image.symbolAddr('__indirect_thunk_end');
  for (const [off, len, text, flags, target] of dec.insns) {
    const at = fn.addr + off;
    facts.insns.push({ addr: at, len, text, call: (flags & I_CALL) !== 0 });
    // An int3 byte in the function (-mharden-sls padding after a ret or jmp) does not stop it: 6.1's
    // can_optimize refuses only a kgdb breakpoint there (CONFIG_KGDB kgdb_has_hit_break), and ktrace has no kgdb.
    // search_exception_tables: a fixup could resume anywhere, the region included
    if (exFixups.has(at)) facts.refusal ??= { check: 'exception-table', at, reason: `instruction with an exception-table entry at ${symOff(image, at)} (${text})` };
    // insn_is_indirect_jump: a jump table (switch) may target any instruction of the function
    if (flags & I_INDIRECT) facts.refusal ??= { check: 'indirect-jump', at, reason: `indirect jump at ${symOff(image, at)} (${text}): it may land inside the region` };
    if ((flags & I_BRANCH) && !(flags & I_CALL)) {
      facts.branches.push({ from: at, target });
      if (thunkStart !== undefined && thunkEnd !== undefined && target >= thunkStart && target <= thunkEnd) {
        const into = image.lookupAddr(target)?.entry.name;
        // Linux rewrites a `jmp __x86_return_thunk` to `ret` at boot (apply_returns) unless the CPU needs
        // the return thunk (retbleed): then it stays, and so does the refusal.
        const boot = into === '__x86_return_thunk' ? ' (unless the kernel rewrote it to ret at boot: apply_returns, on a CPU without the retbleed return thunk)' : '';
        facts.refusal ??= { check: 'indirect-jump', at, reason: `jump into the retpoline thunks (${into ?? symOff(image, target)}) at ${symOff(image, at)} (${text}): an indirect jump for can_optimize${boot}` };
      }
    }
  }
  if (dec.bad >= 0) {
    const at = fn.addr + dec.bad;
    facts.refusal ??= { check: 'undecodable', at, reason: `cannot decode the instruction at ${symOff(image, at)}` };
  }
  return facts;
}

const I_CALL = 1, I_INT3 = 2, I_INDIRECT = 4, I_BRANCH = 8;
/** A function's instructions as iced decodes them (through memoIced): [offset, length, objdump's text,
 *  I_* flags, near branch target (0 without one)] in order, and the offset of an undecodable one (-1: none). */
function decodeFunction(bytes: Uint8Array, start: number, size: number): Readonly<{ insns: [number, number, string, number, number][]; bad: number }> {
  return memoIced(`f${start}:${size}:${digestKey(bytes)}`, () => {
    const out: { insns: [number, number, string, number, number][]; bad: number } = { insns: [], bad: -1 };
    const d = new Decoder(64, bytes, DecoderOptions.None);
    const insn = new Instruction();
    try {
      d.ip = BigInt.asUintN(64, BigInt(start));
      for (let off = 0; off < size;) {
        d.decodeOut(insn);
        if (insn.code === Code.INVALID) { out.bad = off; break; }
        const flow = insn.flowControl;
        const branch = (flow === FlowControl.UnconditionalBranch || flow === FlowControl.ConditionalBranch || flow === FlowControl.Call) && insn.op0Kind === OpKind.NearBranch64;
        const flags = (flow === FlowControl.Call || flow === FlowControl.IndirectCall ? I_CALL : 0) | (insn.mnemonic === Mnemonic.Int3 ? I_INT3 : 0)
          | (flow === FlowControl.IndirectBranch ? I_INDIRECT : 0) | (branch ? I_BRANCH : 0);
        out.insns.push([off, insn.length, attText(insn, bytes.subarray(off, off + insn.length)), flags, branch ? Number(BigInt.asIntN(64, insn.nearBranchTarget)) : 0]);
        off += insn.length;
      }
    } finally { d.free(); insn.free(); }
    return out;
  });
}

/**
 * can_optimize + copy_optimized_instructions for a probe at `addr`, given its function's facts (undefined:
 * not inside a sized function). Another probe inside the region is the caller's (dynamic) check.
 */
export function canOptimize(image: Image, facts: FunctionFacts | undefined, addr: number, read: (a: number, n: number) => Uint8Array, exFixups: Set<number>): CanOptimize {
  if (!facts) return { ok: false, check: 'not-in-function', at: addr, reason: `${symOff(image, addr)} is not inside a sized function` };
  // "Check there is enough space for a relative jump."
  if (facts.end - addr < RELATIVEJUMP_SIZE) {
    return { ok: false, check: 'function-too-short', at: addr, reason: `region would run past the end of ${facts.name} (${facts.end - addr} bytes left, the jump needs ${RELATIVEJUMP_SIZE})` };
  }
  if (facts.refusal) return { ok: false, ...facts.refusal };
  // insn_jump_into_range(insn, addr + INT3_INSN_SIZE, DISP32_SIZE): start <= target <= start + len
  for (const b of facts.branches) {
    if (b.target >= addr + 1 && b.target <= addr + 1 + 4) return { ok: false, check: 'jump-into-region', at: b.from, reason: `jump into region from ${symOff(image, b.from)}` };
  }
  const insns = facts.insns.filter((i) => i.addr >= addr && i.addr < addr + RELATIVEJUMP_SIZE);
  if (insns.length === 0 || insns[0].addr !== addr) return { ok: false, check: 'undecodable', at: addr, reason: `${symOff(image, addr)} is not an instruction boundary` };
  const last = insns[insns.length - 1];
  const size = last.addr + last.len - addr;
  if (addr + size > facts.end) return { ok: false, check: 'function-too-short', at: last.addr, reason: `region would run past the end of ${facts.name}` };
  // copy_optimized_instructions: each region instruction must copy and pass can_boost
  for (const ri of insns) {
    const b = read(ri.addr, MAX_INSN_SIZE);
    if (ri.call) return { ok: false, check: 'call-in-region', at: ri.addr, reason: `call in region at ${symOff(image, ri.addr)} (${ri.text})` };
    const prep = archPrepareKprobe({ bytes: b, addr: ri.addr, hasExceptionFixup: exFixups.has(ri.addr), allocSlot: () => MODULES_VADDR, write: () => {} });
    if (!prep.ok || !prep.insn.boostable) {
      return { ok: false, check: 'not-relocatable', at: ri.addr, reason: `${ri.text} at ${symOff(image, ri.addr)} cannot run out of line unattended (${prep.ok ? 'not boostable' : prep.reason})` };
    }
  }
  return { ok: true, region: { addr, size, insns } };
}

/** A built detour: where its pieces are. */
export interface Detour {
  /** The jump's target (the host call). */
  entry: number;
  /** Address of the vmcall (what the host call reports in cpu.faultAddr). */
  vmcall: number;
  /** TMPL_END: the copy of the first region instruction (an int3 hit on a queued probe resumes here). */
  copy: number;
  /** Copies of the 2nd..nth instructions on the ordinary page (0 when the region is one instruction). */
  rest: number;
  /** Bytes used on the probe page and on the ordinary page. */
  probeLen: number; restLen: number;
  /** Where each region instruction's copy starts (`at`) and the instruction it copies (`orig`), in order. */
  copies: { at: number; orig: number }[];
}


function encode(ins: Instruction[], at: number): Uint8Array {
  const be = new BlockEncoder(64, BlockEncoderOptions.None);
  try {
    for (const i of ins) be.add(i);
    return be.encode(BigInt.asUintN(64, BigInt(at)));
  } finally { be.free(); }
}

function decodeOne(bytes: Uint8Array, ip: number): Instruction {
  const d = new Decoder(64, bytes, DecoderOptions.None);
  try { d.ip = BigInt.asUintN(64, BigInt(ip)); return d.decode(); } finally { d.free(); }
}

const u64 = (a: number) => BigInt.asUintN(64, BigInt(a));

/**
 * arch_prepare_optimized_kprobe: the detour for `region` at `probeAt` (PAGE_PROBE memory) with the rest
 * of the copies ending at `restEnd` (the end of an ordinary executable page followed by a PAGE_PROBE page,
 * where `backBytes`, the jump back, go; unused for a one-instruction region). `read` gives the original
 * bytes. Returns the bytes to write at each place (restBytes at detour.rest).
 */
export function buildDetour(region: OptRegion, probeAt: number, restEnd: number, read: (a: number, n: number) => Uint8Array):
    { detour: Detour; probeBytes: Uint8Array; restBytes: Uint8Array; backBytes: Uint8Array } {
  // iced's encodings, a function of the places and of the region's bytes (through memoIced)
  const key = `d${probeAt}:${restEnd}:${region.addr}:${region.size}:` + region.insns.map((ri) => `${ri.addr}:${hexKey(read(ri.addr, MAX_INSN_SIZE))}`).join(';');
  const r = memoIced(key, () => {
    const b = encodeDetour(region, probeAt, restEnd, read);
    return { detour: b.detour, probeBytes: Array.from(b.probeBytes), restBytes: Array.from(b.restBytes), backBytes: Array.from(b.backBytes) };
  });
  return {
    detour: { ...r.detour, copies: r.detour.copies.map((c) => ({ ...c })) },
    probeBytes: Uint8Array.from(r.probeBytes), restBytes: Uint8Array.from(r.restBytes), backBytes: Uint8Array.from(r.backBytes),
  };
}

function encodeDetour(region: OptRegion, probeAt: number, restEnd: number, read: (a: number, n: number) => Uint8Array):
    { detour: Detour; probeBytes: Uint8Array; restBytes: Uint8Array; backBytes: Uint8Array } {
  const vmcallAt = probeAt;
  const vmcall = encode([Instruction.create(Code.Vmcall)], vmcallAt);
  const copyAt = vmcallAt + vmcall.length;
  const back = region.addr + region.size;
  const first = region.insns[0];
  const firstInsn = decodeOne(read(first.addr, MAX_INSN_SIZE), first.addr);
  // the copies of the rest end at restEnd (see below): their start is known once they are encoded
  const restLen = region.insns.length > 1 ? restLength(region, restEnd, read) : 0;
  const jmpTo = region.insns.length > 1 ? restEnd - restLen : back;
  const copyBytes = encode([firstInsn, Instruction.createBranch(Code.Jmp_rel32_64, u64(jmpTo))], copyAt);
  firstInsn.free();
  const probeBytes = concat([vmcall, copyBytes]);
  let restBytes: Uint8Array = new Uint8Array(0), restAt = 0, backBytes: Uint8Array = new Uint8Array(0);
  if (region.insns.length > 1) {
    // The copies end exactly at restEnd, the end of an ordinary page, and fall through onto the probe page
    // after it, where the jump back sits: no instruction but the copies counts as the guest's.
    const rest = region.insns.slice(1).map((ri) => decodeOne(read(ri.addr, MAX_INSN_SIZE), ri.addr));
    let len = encode(rest, restEnd - 64).length;
    for (let tries = 0; tries < 4; tries++) {
      restBytes = encode(rest, restEnd - len);
      if (restBytes.length === len) break;
      len = restBytes.length;
    }
    if (restBytes.length !== len) throw new Error('buildDetour: the relocated copies do not settle to one length');
    restAt = restEnd - len;
    backBytes = relJump(restEnd, back);
    for (const i of rest) i.free();
  }
  const copies = [{ at: copyAt, orig: first.addr }];
  // the relocated copies keep one instruction per original (none is a branch the encoder could split)
  for (let off = 0, k = 1; off < restBytes.length; k++) {
    const i = decodeOne(restBytes.subarray(off), restAt + off);
    copies.push({ at: restAt + off, orig: region.insns[k].addr });
    off += i.length;
    i.free();
  }
  if (copies.length !== region.insns.length) throw new Error('buildDetour: the copies do not match the region instruction for instruction');
  return {
    detour: { entry: probeAt, vmcall: vmcallAt, copy: copyAt, rest: restAt, probeLen: probeBytes.length, restLen: restBytes.length, copies },
    probeBytes, restBytes, backBytes,
  };
}

function restLength(region: OptRegion, restEnd: number, read: (a: number, n: number) => Uint8Array): number {
  const rest = region.insns.slice(1).map((ri) => decodeOne(read(ri.addr, MAX_INSN_SIZE), ri.addr));
  try {
    let len = encode(rest, restEnd - 64).length;
    for (let tries = 0; tries < 4; tries++) {
      const n = encode(rest, restEnd - len).length;
      if (n === len) return len;
      len = n;
    }
    throw new Error('buildDetour: the relocated copies do not settle to one length');
  } finally { for (const i of rest) i.free(); }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}


/** The jmp rel32 from `from` to `to` (synthesize_reljump). */
export function relJump(from: number, to: number): Uint8Array { return rel32(Code.Jmp_rel32_64, from, to); }

/** call rel32 from `from` to `to` (the ftrace call that replaces the mcount nop). */
export function relCall(from: number, to: number): Uint8Array { return rel32(Code.Call_rel32_64, from, to); }

function rel32(code: Code, from: number, to: number): Uint8Array {
  return Uint8Array.from(memoIced(`j${code}:${from}:${to}`, () => {
    // Encoder (not BlockEncoder): exactly the rel32 form, never shortened
    const e = new Encoder(64);
    const i = Instruction.createBranch(code, u64(to));
    try {
      e.encode(i, u64(from));
      return Array.from(e.takeBuffer());
    } finally { i.free(); e.free(); }
  }));
}
