// Case generator for the host-CPU differential test. Forms come from iced-x86's Code enumeration (filtered by
// mnemonic, 64-bit mode, CPL3, legacy encoding and operand kinds this generator can drive), so the list of
// forms has one source of truth; bytes come from iced-x86's Encoder. Deterministic: same seed, same cases.
import {
  Code, CodeExt, Encoder, Instruction, InstructionInfoFactory, Mnemonic, OpCodeOperandKind, OpKind, Register,
} from 'iced-x86';
import {
  CODE_ADDR, DATA_ADDR, DATA_SIZE, DATA_SKEW, FLAGS_FIXED, GS_BASE, FLAGS_RANDOM_MASK, type CaseInput, type CaseOutput, bytesToHex, mulberry32,
} from './corpus.js';
import { decodeCase } from './compare.js';

/** Mnemonics of the user-mode integer instructions the emulator implements (iced names). */
const CONDS = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
const cap = (s: string) => s[0].toUpperCase() + s.slice(1);
export const MNEMONICS = new Set<string>([
  'Add', 'Or', 'Adc', 'Sbb', 'And', 'Sub', 'Xor', 'Cmp', 'Test', 'Inc', 'Dec', 'Neg', 'Not',
  'Rol', 'Ror', 'Rcl', 'Rcr', 'Shl', 'Shr', 'Sar', 'Shld', 'Shrd',
  'Mul', 'Imul', 'Div', 'Idiv', 'Bt', 'Bts', 'Btr', 'Btc', 'Bsf', 'Bsr',
  ...CONDS.map((c) => 'Set' + c), ...CONDS.map((c) => 'Cmov' + c),
  'Movzx', 'Movsx', 'Movsxd', 'Mov', 'Cbw', 'Cwde', 'Cdqe', 'Cwd', 'Cdq', 'Cqo',
  'Xchg', 'Cmpxchg', 'Cmpxchg8b', 'Cmpxchg16b', 'Xadd', 'Bswap', 'Lea',
  'Movsb', 'Movsw', 'Movsd', 'Movsq', 'Stosb', 'Stosw', 'Stosd', 'Stosq', 'Lodsb', 'Lodsw', 'Lodsd', 'Lodsq',
  'Cmpsb', 'Cmpsw', 'Cmpsd', 'Cmpsq', 'Scasb', 'Scasw', 'Scasd', 'Scasq',
  'Push', 'Pop', 'Pushf', 'Pushfq', 'Popf', 'Popfq', 'Lahf', 'Sahf', 'Clc', 'Stc', 'Cmc', 'Cld', 'Std',
  'Nop', 'Pause', 'Enter', 'Leave', 'Xlatb',
  ...CONDS.map((c) => 'J' + c), 'Jmp', 'Call', 'Ret',
].map(cap));

/**
 * Instructions that must fault in user mode (#GP for privileged ones at CPL3 with IOPL 0, #UD for ud2, #BP
 * for int3): the host's signal and faulting RIP are the expected stop (SDM Vol. 3 6.15; precise faults).
 */
export const FAULT_MNEMONICS = new Set<string>([
  'Hlt', 'Cli', 'Sti', 'In', 'Out', 'Lgdt', 'Lidt', 'Lldt', 'Ltr',
  'Swapgs', 'Sysretq', 'Wrmsr', 'Rdmsr', 'Invlpg', 'Wbinvd', 'Int3', 'Ud2',
]);

/** Forms left out on purpose, with the reason (printed by the test's NOTE line when asked). */
export const EXCLUDED: Record<string, string> = {
  Bswap_r16: 'SDM: BSWAP with a 16-bit operand gives an undefined result',
  Movsxd_r16_rm16: 'Intel and AMD disagree (SDM vs APM); no compiler emits it',
  Movsxd_r32_rm32: 'no compiler emits MOVSXD without REX.W',
  Call_rm16: 'Intel ignores the 66h prefix on near branches in 64-bit mode, AMD honours it',
  Jmp_rm16: 'Intel ignores the 66h prefix on near branches in 64-bit mode, AMD honours it',
  Retnw: 'Intel ignores the 66h prefix on near branches in 64-bit mode, AMD honours it',
  Retnw_imm16: 'Intel ignores the 66h prefix on near branches in 64-bit mode, AMD honours it',
};
/** Far branches (m16:xx) change CS: not a user-mode differential case. */
const FAR = /_m16(16|32|64)$/;

const STRING_MN = new Set(['Movs', 'Stos', 'Lods', 'Cmps', 'Scas']);
function stringFamily(mn: string): string | null {
  const f = mn.slice(0, 4);
  return STRING_MN.has(f) && mn.length === 5 && 'bwdq'.includes(mn[4]) ? f : null;
}

const K = OpCodeOperandKind;
/** Operand kinds the generator can fill, by category. */
function kindInfo(k: OpCodeOperandKind): { cat: string; width: number; fixed?: Register } | null {
  switch (k) {
    case K.r8_or_mem: return { cat: 'rm', width: 8 };
    case K.r16_or_mem: return { cat: 'rm', width: 16 };
    case K.r32_or_mem: return { cat: 'rm', width: 32 };
    case K.r64_or_mem: return { cat: 'rm', width: 64 };
    case K.r8_reg: case K.r8_opcode: return { cat: 'reg', width: 8 };
    case K.r16_reg: case K.r16_opcode: return { cat: 'reg', width: 16 };
    case K.r32_reg: case K.r32_opcode: return { cat: 'reg', width: 32 };
    case K.r64_reg: case K.r64_opcode: return { cat: 'reg', width: 64 };
    case K.mem: return { cat: 'mem', width: 0 };
    case K.mem_offs: return { cat: 'moffs', width: 0 };
    case K.imm8: return { cat: 'imm', width: 8 };
    case K.imm8_const_1: return { cat: 'imm1', width: 8 };
    case K.imm8sex16: case K.imm8sex32: case K.imm8sex64: return { cat: 'imm', width: 8 };
    case K.imm16: return { cat: 'imm', width: 16 };
    case K.imm32: case K.imm32sex64: return { cat: 'imm', width: 32 };
    case K.imm64: return { cat: 'imm', width: 64 };
    case K.al: return { cat: 'fixed', width: 8, fixed: Register.AL };
    case K.cl: return { cat: 'fixed', width: 8, fixed: Register.CL };
    case K.ax: return { cat: 'fixed', width: 16, fixed: Register.AX };
    case K.eax: return { cat: 'fixed', width: 32, fixed: Register.EAX };
    case K.rax: return { cat: 'fixed', width: 64, fixed: Register.RAX };
    case K.dx: return { cat: 'fixed', width: 16, fixed: Register.DX };
    case K.es_rDI: case K.seg_rSI: case K.seg_rBX_al: return { cat: 'str', width: 0 };
    case K.br64_1: case K.br64_4: return { cat: 'br', width: 0 };
    default: return null;
  }
}

function immOpKind(k: OpCodeOperandKind, second: boolean): OpKind {
  switch (k) {
    case K.imm8: case K.imm8_const_1: return second ? OpKind.Immediate8_2nd : OpKind.Immediate8;
    case K.imm8sex16: return OpKind.Immediate8to16;
    case K.imm8sex32: return OpKind.Immediate8to32;
    case K.imm8sex64: return OpKind.Immediate8to64;
    case K.imm16: return OpKind.Immediate16;
    case K.imm32: return OpKind.Immediate32;
    case K.imm32sex64: return OpKind.Immediate32to64;
    default: return OpKind.Immediate64;
  }
}

export interface Form {
  /** Key: Code name, plus `/rep`, `/repe`, `/repne` for string instructions. */
  key: string;
  code: Code;
  codeName: string;
  mnemonic: string;
  rep: '' | 'rep' | 'repe' | 'repne';
  ops: OpCodeOperandKind[];
  canLock: boolean;
}

/** All forms the generator produces, in Code order. */
export function enumerateForms(): Form[] {
  const forms: Form[] = [];
  for (const codeName of Object.keys(Code).filter((k) => Number.isNaN(Number(k)))) {
    const code = (Code as unknown as Record<string, number>)[codeName] as Code;
    const info = CodeExt.opCode(code);
    try {
      const mnemonic = Mnemonic[info.mnemonic];
      const faulting = FAULT_MNEMONICS.has(mnemonic);
      if (!info.mode64 || (!faulting && (!MNEMONICS.has(mnemonic) || !info.cpl3 || info.isPrivileged))) continue;
      if (info.encoding !== 0 /* Legacy */ || codeName in EXCLUDED || (FAR.test(codeName) && /^(Jmp|Call)$/.test(mnemonic))) continue;
      const ops: OpCodeOperandKind[] = [];
      let ok = true;
      for (let i = 0; i < info.opCount; i++) {
        const k = info.opKind(i);
        if (!kindInfo(k)) ok = false;
        ops.push(k);
      }
      if (!ok) continue;
      const fam = stringFamily(mnemonic);
      const variants: Form['rep'][] = !fam ? [''] : fam === 'Cmps' || fam === 'Scas' ? ['', 'repe', 'repne'] : ['', 'rep'];
      for (const rep of variants) {
        forms.push({ key: rep ? `${codeName}/${rep}` : codeName, code, codeName, mnemonic, rep, ops,
          canLock: info.canUseLockPrefix });
      }
    } finally {
      info.free();
    }
  }
  return forms;
}

// Register tables: index 0-15 in RAX..R15 order.
const R64 = ['RAX', 'RCX', 'RDX', 'RBX', 'RSP', 'RBP', 'RSI', 'RDI', 'R8', 'R9', 'R10', 'R11', 'R12', 'R13', 'R14', 'R15'];
const R32 = ['EAX', 'ECX', 'EDX', 'EBX', 'ESP', 'EBP', 'ESI', 'EDI', ...[8, 9, 10, 11, 12, 13, 14, 15].map((i) => `R${i}D`)];
const R16 = ['AX', 'CX', 'DX', 'BX', 'SP', 'BP', 'SI', 'DI', ...[8, 9, 10, 11, 12, 13, 14, 15].map((i) => `R${i}W`)];
const R8 = ['AL', 'CL', 'DL', 'BL', 'SPL', 'BPL', 'SIL', 'DIL', ...[8, 9, 10, 11, 12, 13, 14, 15].map((i) => `R${i}L`)];
const R8H = ['AH', 'CH', 'DH', 'BH'];
const regByName = Register as unknown as Record<string, Register>;
function regOf(width: number, idx: number, high = false): Register {
  const t = width === 64 ? R64 : width === 32 ? R32 : width === 16 ? R16 : high ? R8H : R8;
  return regByName[t[idx]];
}
/** Maps any GPR (8..64-bit) back to its 0-15 index and whether it is a high-byte register. */
function regIndex(r: Register): { idx: number; width: number; high: boolean } | null {
  const name = Register[r];
  for (const [t, w] of [[R64, 64], [R32, 32], [R16, 16], [R8, 8]] as const) {
    const i = (t as readonly string[]).indexOf(name);
    if (i >= 0) return { idx: i, width: w, high: false };
  }
  const h = R8H.indexOf(name);
  return h >= 0 ? { idx: h, width: 8, high: true } : null;
}

type Rng = () => number;
const mask = (w: number) => (1n << BigInt(w)) - 1n;
function rand64(rng: Rng): bigint { return (BigInt(rng()) << 32n) | BigInt(rng()); }
function pick<T>(rng: Rng, a: readonly T[]): T { return a[rng() % a.length]; }
/** A w-bit operand value, biased to the edges: 0, 1, -1, sign boundaries, small numbers. */
function edgeValue(rng: Rng, w: number): bigint {
  const m = mask(w), s = 1n << BigInt(w - 1);
  switch (rng() % 16) {
    case 0: return 0n;
    case 1: return 1n;
    case 2: return m;
    case 3: return s;
    case 4: return s - 1n;
    case 5: return s + 1n;
    case 6: return m - 1n;
    case 7: return BigInt(rng() % 16);
    case 8: return (m - BigInt(rng() % 16)) & m;
    case 9: return BigInt(rng() & 0xff) << BigInt(Math.max(0, w - 8));
    default: return rand64(rng) & m;
  }
}
const SHIFT_COUNTS = [0, 1, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 255];
const toSigned = (v: bigint, w: number) => (v & (1n << BigInt(w - 1)) ? v - (1n << BigInt(w)) : v);

interface MemChoice { off: number /* EA as data-page offset */ }

/** Builds one case for a form, or null when iced cannot encode the random operand choice (caller retries). */
function buildCase(form: Form, rng: Rng, seed: number): CaseInput | null {
  const mn = form.mnemonic;
  const fam = stringFamily(mn);
  const regs = new Map<number, bigint>();
  const mem: [number, string][] = [];
  const getReg = (i: number) => { if (!regs.has(i)) regs.set(i, rand64(rng)); return regs.get(i)!; };
  const setPart = (i: number, w: number, high: boolean, v: bigint) => {
    const sh = high ? 8n : 0n, m = mask(w) << sh;
    regs.set(i, (getReg(i) & ~m) | ((v << sh) & m));
  };
  const writeMem = (off: number, w: number, v: bigint) => {
    const b = new Uint8Array(w / 8);
    for (let i = 0; i < b.length; i++) b[i] = Number((v >> BigInt(8 * i)) & 0xffn);
    const n = Math.min(b.length, DATA_END - off);   // an operand may run into the unmapped page after the region
    if (n > 0) mem.push([off, bytesToHex(b.subarray(0, n))]);
  };

  // Registers the form uses implicitly (found by asking iced about a neutral operand choice).
  const implicit = new Set<number>([4]);
  {
    const probe = Instruction.create(form.code);
    fillOperands(probe, form, () => 15, () => false, null);
    const f = new InstructionInfoFactory();
    const info = f.info(probe);
    for (const u of info.usedRegisters()) {
      const ri = regIndex(u.register);
      if (ri && ri.idx !== 15 && ri.idx !== 14) implicit.add(ri.idx);
      u.free();
    }
    info.free(); f.free(); probe.free();
  }
  const free = Array.from({ length: 16 }, (_, i) => i).filter((i) => !implicit.has(i));
  const take = () => { const i = free.splice(rng() % free.length, 1)[0]; return i; };

  const instr = Instruction.create(form.code);
  const explicit: { op: number; kind: 'reg' | 'mem'; idx: number; width: number; high: boolean; off: number }[] = [];
  let memChoice: MemChoice | null = null;
  const isLea = mn === 'Lea';
  const wantMem = (w: number) => w > 0 && rng() % 2 === 0;
  let immIdx = 0;
  // Memory operand: base (and maybe index) registers pointing into the data page.
  const makeMem = (alignTo: number): MemChoice => {
    const r = rng() % 10;
    const disp = alignTo > 1 ? 0 : r < 3 ? 0 : r < 7 ? (rng() % 65) - 32 : (rng() % 65) - 32 + (rng() % 2 ? 0 : 0);
    if (alignTo === 1 && rng() % 10 === 0) {
      // RIP-relative: the encoder turns the absolute target into a displacement from the next instruction.
      const off = 32 + (rng() % 200);
      instr.memoryBase = Register.RIP;
      instr.memoryDisplacement = BigInt(DATA_ADDR + off);
      instr.memoryDisplSize = 8;
      return { off };
    }
    const base = (alignTo === 1 && rng() % 10 === 0) || !free.length ? 4 : take();
    const addr32 = alignTo === 1 && rng() % 10 === 0;
    // Some operands go through GS, as the kernel's per-CPU accesses do: the register then holds the offset
    // from GS_BASE (the harness sets the host's GS base with arch_prctl, the emulator's gsBase is the same).
    const gs = alignTo === 1 && base !== 4 && rng() % 8 === 0;
    if (gs) instr.segmentPrefix = Register.GS;
    const segAdj = gs ? GS_BASE : 0;
    let baseOff = base === 4 ? Number((getReg(4) - BigInt(DATA_ADDR))) : 96 + (rng() % 64);
    if (alignTo > 1) baseOff &= ~(alignTo - 1);
    // A quarter of the operands end just past the page boundary at DATA_ADDR+160 (corpus.ts): split accesses.
    if (alignTo === 1 && base !== 4 && rng() % 4 === 0) baseOff = 160 - 1 - (rng() % 7) - disp;
    // A few run into the unmapped page after the region: a precise #PF, with nothing written (SDM Vol. 3 6.6).
    if (alignTo === 1 && base !== 4 && rng() % 16 === 0) baseOff = DATA_END - (rng() % 8) - disp;
    let ea = baseOff + disp;
    instr.memoryBase = regOf(addr32 ? 32 : 64, base);
    if (base !== 4) regs.set(base, addr32 ? (rand64(rng) & ~0xffffffffn) | BigInt(DATA_ADDR + baseOff - segAdj) : BigInt(DATA_ADDR + baseOff - segAdj));
    if (alignTo === 1 && free.length && rng() % 3 === 0) {
      const index = take();
      const scale = pick(rng, [1, 2, 4, 8]);
      const iv = (rng() % 12) - 4;
      instr.memoryIndex = regOf(addr32 ? 32 : 64, index);
      instr.memoryIndexScale = scale;
      regs.set(index, addr32 ? (rand64(rng) & ~0xffffffffn) | (BigInt(iv) & 0xffffffffn) : BigInt(iv) & mask(64));
      ea += iv * scale;
    }
    if (disp !== 0 || base === 5 || base === 13) {
      instr.memoryDisplacement = BigInt(disp) & mask(64);
      instr.memoryDisplSize = disp >= -128 && disp <= 127 ? 1 : 4;
      if (rng() % 4 === 0) instr.memoryDisplSize = 4;
    }
    return { off: ea };
  };
  const makeLeaMem = () => {
    // LEA computes an address and never touches memory: any base/index values, 32- or 64-bit addressing.
    const a32 = rng() % 4 === 0;
    const base = take();
    instr.memoryBase = rng() % 10 === 0 ? Register.RIP : regOf(a32 ? 32 : 64, base);
    if (instr.memoryBase === Register.RIP) {
      instr.memoryDisplacement = BigInt(CODE_ADDR + (rng() % 0x10000));
      instr.memoryDisplSize = 8;
      return;
    }
    regs.set(base, pick(rng, [rand64(rng), edgeValue(rng, 64), BigInt(rng())]));
    if (rng() % 2 && free.length) {
      const index = take();
      instr.memoryIndex = regOf(a32 ? 32 : 64, index);
      instr.memoryIndexScale = pick(rng, [1, 2, 4, 8]);
      regs.set(index, edgeValue(rng, 64));
    }
    const d = pick(rng, [0, (rng() % 256) - 128, rng() | 0, -1, 0x7fffffff, -0x80000000]);
    if (d !== 0 || base === 5 || base === 13) {
      instr.memoryDisplacement = BigInt(d) & mask(64);
      instr.memoryDisplSize = d >= -128 && d <= 127 && rng() % 2 ? 1 : 4;
    }
  };

  // RSP always points into the stack part of the data page (sometimes misaligned).
  regs.set(4, BigInt(DATA_ADDR + 400 + 8 * ((rng() % 9) - 4) + (rng() % 10 === 0 ? 1 + (rng() % 7) : 0)));

  for (let op = 0; op < form.ops.length; op++) {
    const k = form.ops[op];
    const ki = kindInfo(k)!;
    switch (ki.cat) {
      case 'rm': case 'reg': {
        const forceMem = ki.cat === 'rm' && ['Cmpxchg8b', 'Cmpxchg16b'].includes(mn);
        if (ki.cat === 'rm' && (forceMem || wantMem(ki.width)) && !memChoice) {
          instr.setOpKind(op, OpKind.Memory);
          memChoice = makeMem(mn === 'Cmpxchg16b' ? 16 : 1);
          explicit.push({ op, kind: 'mem', idx: -1, width: ki.width, high: false, off: memChoice.off });
        } else {
          if (!free.length) return null;
          const idx = take();
          const high = ki.width === 8 && idx < 4 && rng() % 3 === 0;
          instr.setOpKind(op, OpKind.Register);
          instr.setOpRegister(op, regOf(ki.width, idx, high));
          explicit.push({ op, kind: 'reg', idx, width: ki.width, high, off: 0 });
        }
        break;
      }
      case 'mem':
        instr.setOpKind(op, OpKind.Memory);
        if (isLea) makeLeaMem();
        else {
          memChoice = makeMem(mn === 'Cmpxchg16b' ? 16 : 1);
          explicit.push({ op, kind: 'mem', idx: -1, width: mn === 'Cmpxchg16b' ? 128 : mn === 'Cmpxchg8b' ? 64 : 0, high: false, off: memChoice.off });
        }
        break;
      case 'moffs': {
        const off = 32 + (rng() % 200);
        const gs = rng() % 8 === 0;
        instr.setOpKind(op, OpKind.Memory);
        if (gs) instr.segmentPrefix = Register.GS;
        instr.memoryDisplacement = BigInt(DATA_ADDR + off - (gs ? GS_BASE : 0));
        instr.memoryDisplSize = 8;
        memChoice = { off };
        const other = kindInfo(form.ops[1 - op])!;
        explicit.push({ op, kind: 'mem', idx: -1, width: other.width, high: false, off });
        break;
      }
      case 'imm': case 'imm1': {
        let v: bigint;
        if (ki.cat === 'imm1') v = 1n;
        else if (mn === 'Enter') v = immIdx === 0 ? BigInt(rng() % 72) : BigInt(rng() % 4);
        else if (['Rol', 'Ror', 'Rcl', 'Rcr', 'Shl', 'Shr', 'Sar', 'Shld', 'Shrd'].includes(mn)) {
          v = BigInt(pick(rng, SHIFT_COUNTS));
          if ((mn === 'Shld' || mn === 'Shrd') && form.codeName.includes('16') && Number(v & 31n) > 16) v &= 15n;
        } else if (['Bt', 'Bts', 'Btr', 'Btc'].includes(mn)) v = BigInt(rng() & 0xff);
        else v = edgeValue(rng, ki.width);
        const kind = immOpKind(k, immIdx > 0);
        instr.setOpKind(op, kind);
        if (ki.width === 64) instr.setImmediateU64(op, v);
        else if (kind === OpKind.Immediate8to16 || kind === OpKind.Immediate8to32 || kind === OpKind.Immediate8to64) instr.setImmediateI32(op, Number(toSigned(v, 8)));
        else if (kind === OpKind.Immediate32to64) instr.setImmediateI32(op, Number(toSigned(v, 32)));
        else instr.setImmediateU32(op, Number(v));
        immIdx++;
        break;
      }
      case 'fixed':
        instr.setOpKind(op, OpKind.Register);
        instr.setOpRegister(op, ki.fixed!);
        explicit.push({ op, kind: 'reg', idx: regIndex(ki.fixed!)!.idx, width: ki.width, high: false, off: 0 });
        break;
      case 'br':
        instr.setOpKind(op, OpKind.NearBranch64);
        instr.nearBranch64 = BigInt(CODE_ADDR + 16); // placeholder, fixed below once the length is known
        break;
      case 'str':
        if (k === K.es_rDI) instr.setOpKind(op, OpKind.MemoryESRDI);
        else if (k === K.seg_rSI) instr.setOpKind(op, OpKind.MemorySegRSI);
        else { instr.setOpKind(op, OpKind.Memory); instr.memoryBase = Register.RBX; instr.memoryIndex = Register.AL; }
        break;
    }
  }
  if (form.rep === 'rep') instr.hasRepPrefix = true;
  if (form.rep === 'repe') instr.hasRepePrefix = true;
  if (form.rep === 'repne') instr.hasRepnePrefix = true;
  if (form.canLock && memChoice && explicit[0]?.kind === 'mem' && rng() % 3 === 0) instr.hasLockPrefix = true;

  // Operand values: edge values for every explicit register or memory operand.
  const opWidth = explicit.find((e) => e.width > 0)?.width ?? 64;
  for (const e of explicit) {
    const w = e.width || opWidth;
    if (e.kind === 'reg') setPart(e.idx, w, e.high, edgeValue(rng, w));
    else if (w <= 64 && rng() % 5 < 3) writeMem(e.off, w, edgeValue(rng, w));
  }
  const valueOf = (e: (typeof explicit)[number]): bigint => {
    if (e.kind === 'reg') return (getReg(e.idx) >> (e.high ? 8n : 0n)) & mask(e.width);
    return -1n; // memory: set explicitly below when a relation matters
  };

  // Relations between operands that random values would almost never hit.
  const shiftLike = ['Rol', 'Ror', 'Rcl', 'Rcr', 'Shl', 'Shr', 'Sar', 'Shld', 'Shrd'].includes(mn);
  if (shiftLike && form.ops.includes(K.cl)) {
    let c = pick(rng, SHIFT_COUNTS);
    if ((mn === 'Shld' || mn === 'Shrd') && form.codeName.includes('16') && (c & 31) > 16) c &= 15;
    setPart(1, 8, false, BigInt(c));
  }
  if ((mn === 'Div' || mn === 'Idiv') && explicit.length === 1) {
    const e = explicit[0];
    const w = e.width;
    const signed = mn === 'Idiv';
    let d = edgeValue(rng, w);
    let dividend: bigint;
    if (rng() % 12 === 0) {
      dividend = rand64(rng) & mask(2 * w); // may raise #DE: the host says what happens
      if (rng() % 2) d = 0n;
    } else {
      if (d === 0n) d = 1n;
      const ds = signed ? toSigned(d, w) : d;
      const q = signed ? toSigned(edgeValue(rng, w), w) : edgeValue(rng, w);
      const ad = ds < 0n ? -ds : ds;
      let r = (rand64(rng) & mask(w)) % ad;
      if (signed && (q * ds < 0n || (q * ds === 0n && rng() % 2))) r = -r;
      dividend = (q * ds + r) & mask(2 * w);
      if (rng() % 8 === 0) dividend = (q * ds) & mask(2 * w);
    }
    if (e.kind === 'reg') setPart(e.idx, w, e.high, d); else writeMem(e.off, w, d);
    if (w === 8) setPart(0, 16, false, dividend);
    else { setPart(0, w, false, dividend & mask(w)); setPart(2, w, false, dividend >> BigInt(w)); }
  }
  if (mn === 'Cmpxchg' && rng() % 2) {
    const dst = explicit[0];
    const v = dst.kind === 'reg' ? valueOf(dst) : edgeValue(rng, dst.width);
    if (dst.kind === 'mem') writeMem(dst.off, dst.width, v);
    setPart(0, dst.width, false, v);
  }
  if ((mn === 'Cmpxchg8b' || mn === 'Cmpxchg16b') && rng() % 2) {
    const w = mn === 'Cmpxchg8b' ? 32 : 64;
    const lo = rand64(rng) & mask(w), hi = rand64(rng) & mask(w);
    writeMem(explicit[0].off, w, lo); writeMem(explicit[0].off + w / 8, w, hi);
    setPart(0, w, false, lo); setPart(2, w, false, hi);
  }
  if (['Bt', 'Bts', 'Btr', 'Btc'].includes(mn) && explicit[0]?.kind === 'mem' && explicit[1]?.kind === 'reg') {
    // A register bit offset addresses memory relative to the operand (SDM Vol. 1 3.4.1): keep it on the page.
    setPart(explicit[1].idx, explicit[1].width, false, BigInt((rng() % 384) - 128) & mask(explicit[1].width));
  }
  if ((mn === 'Bsf' || mn === 'Bsr') && rng() % 4 === 0) {
    const src = explicit[1];
    if (src.kind === 'reg') setPart(src.idx, src.width, false, 0n); else writeMem(src.off, src.width, 0n);
  }
  if (mn === 'Popf' || mn === 'Popfq') {
    // The popped image: random, except TF (would single-step the host) and AC (alignment checks on).
    const rsp = Number(getReg(4)) - DATA_ADDR;
    const v = rand64(rng) & ~0x40100n;
    writeMem(rsp, mn === 'Popf' ? 16 : 64, v);
  }
  if (mn === 'Leave' || mn === 'Enter') regs.set(5, BigInt(DATA_ADDR + 320 + 8 * (rng() % 16) + (rng() % 8 === 0 ? 4 : 0)));
  if (mn === 'Xlatb') regs.set(3, BigInt(DATA_ADDR + (rng() % 256)));
  if (fam) {
    const el = { b: 1, w: 2, d: 4, q: 8 }[mn[4] as 'b' | 'w' | 'd' | 'q'];
    const si = 80 + (rng() % 32), di = 200 + (rng() % 32);
    const [src, dst] = rng() % 4 === 0 ? [di, si] : [si, di];
    const gsSrc = form.ops.includes(K.seg_rSI) && rng() % 8 === 0;
    regs.set(6, BigInt(DATA_ADDR + src - (gsSrc ? GS_BASE : 0)));
    regs.set(7, BigInt(DATA_ADDR + dst));
    if (gsSrc) instr.segmentPrefix = Register.GS;
    if (form.rep) regs.set(1, BigInt(pick(rng, [0, 1, 2, 3, 5, 8])));
    const n = 9 * el;
    if (fam === 'Cmps' && rng() % 2) {
      // Make the strings compare equal over the whole reachable range, then maybe break one element.
      const fill = new Uint8Array(2 * n).map(() => rng() & 0xff);
      mem.push([src - n, bytesToHex(fill)], [dst - n, bytesToHex(fill)]);
      if (rng() % 2) mem.push([dst - n + (rng() % (2 * n)), (rng() & 0xff).toString(16).padStart(2, '0')]);
    }
    if (fam === 'Scas' && rng() % 2) {
      const acc = getReg(0) & mask(8 * el);
      for (let o = dst - n; o < dst + n; o += el) writeMem(o, 8 * el, acc);
      if (rng() % 2) mem.push([dst - n + (rng() % (2 * n)), (rng() & 0xff).toString(16).padStart(2, '0')]);
    }
  }

  // Flags: random status flags and DF, sometimes all clear or all set.
  const fr = rng() % 10;
  const flags = FLAGS_FIXED | (fr === 0 ? 0 : fr === 1 ? FLAGS_RANDOM_MASK : rng() & FLAGS_RANDOM_MASK);

  // Control flow: the case is the branch followed by `cmc`, and every target is the byte after the cmc, so a
  // taken branch skips the cmc (CF tells taken from not taken) and both sides end at the same place.
  const isBranch = /^(J|Call$|Ret$)/.test(mn);
  const encodeAt = (): Uint8Array | null => {
    const enc = new Encoder(64);
    try {
      enc.encode(instr, BigInt(CODE_ADDR));
      return enc.takeBuffer();
    } catch {
      return null;
    } finally {
      enc.free();
    }
  };
  let bytes = encodeAt();
  if (bytes && isBranch) {
    const target = BigInt(CODE_ADDR + bytes.length + 1);
    if (form.ops.some((k) => kindInfo(k)!.cat === 'br')) {
      instr.nearBranch64 = target;
      bytes = encodeAt();
    } else if (mn === 'Ret') {
      writeMem(Number(getReg(4)) - DATA_ADDR, 64, target);
    } else {
      const e = explicit[0];
      if (e.kind === 'reg') regs.set(e.idx, target); else writeMem(e.off, 64, target);
    }
    if (bytes) bytes = new Uint8Array([...bytes, 0xf5]);
  }
  instr.free();
  if (!bytes) return null;
  const regsOut: Record<string, string> = {};
  for (const [k, v] of [...regs.entries()].sort((a, b) => a[0] - b[0])) regsOut[k] = (v & mask(64)).toString(16);
  return { form: form.key, code: bytesToHex(bytes), seed, regs: regsOut, flags, mem };
}

/** Fills operands with fixed registers only: used to ask iced which registers the form uses implicitly. */
function fillOperands(instr: Instruction, form: Form, reg: () => number, _mem: () => boolean, _x: null): void {
  let immIdx = 0;
  form.ops.forEach((k, op) => {
    const ki = kindInfo(k)!;
    if (ki.cat === 'rm' || ki.cat === 'reg') { instr.setOpKind(op, OpKind.Register); instr.setOpRegister(op, regOf(ki.width, reg())); }
    else if (ki.cat === 'mem' || ki.cat === 'moffs') { instr.setOpKind(op, OpKind.Memory); instr.memoryBase = Register.R14; }
    else if (ki.cat === 'imm' || ki.cat === 'imm1') { instr.setOpKind(op, immOpKind(k, immIdx++ > 0)); }
    else if (ki.cat === 'fixed') { instr.setOpKind(op, OpKind.Register); instr.setOpRegister(op, ki.fixed!); }
    else if (ki.cat === 'br') { instr.setOpKind(op, OpKind.NearBranch64); instr.nearBranch64 = BigInt(CODE_ADDR + 16); }
    else if (k === K.es_rDI) instr.setOpKind(op, OpKind.MemoryESRDI);
    else if (k === K.seg_rSI) instr.setOpKind(op, OpKind.MemorySegRSI);
    else { instr.setOpKind(op, OpKind.Memory); instr.memoryBase = Register.RBX; instr.memoryIndex = Register.AL; }
  });
  if (form.rep === 'rep') instr.hasRepPrefix = true;
  if (form.rep === 'repe') instr.hasRepePrefix = true;
  if (form.rep === 'repne') instr.hasRepnePrefix = true;
}

/** End of the mapped data region, as an offset from DATA_ADDR. */
const DATA_END = DATA_SIZE - DATA_SKEW;

/** FNV-1a of a string: per-form seeds, so adding a form does not change the others' cases. */
function hash32(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * Straight-line sequences of 2..6 random instructions (`seq/N` forms): they run as one block in the emulator's
 * block compiler, so they check its flag liveness (flags stored only when a later instruction reads them) and
 * the lazy flags that carry from one instruction to the next (inc/dec keep CF, adc/setcc/pushf read them).
 */
export const SEQ_LENGTHS = [2, 3, 4, 6];
export const SEQ_KEYS = SEQ_LENGTHS.map((n) => `seq/${n}`);
function seqPool(forms: Form[]): Form[] {
  return forms.filter((f) => !FAULT_MNEMONICS.has(f.mnemonic) && !/^(J|Call$|Ret$|Popf|Div$|Idiv$)/.test(f.mnemonic));
}

function buildSeq(pool: Form[], n: number, rng: Rng, seed: number): CaseInput | null {
  const parts: CaseInput[] = [];
  while (parts.length < n) {
    const c = buildCase(pick(rng, pool), rng, 0);
    if (c) parts.push(c);
  }
  const code = parts.map((p) => p.code).join('');
  if (decodeCase(code).readsUndefined) return null;
  // Later instructions' operand choices win; pointer clashes make the host fault, and such cases are dropped.
  const regs: Record<string, string> = {};
  for (const p of parts) Object.assign(regs, p.regs);
  return { form: `seq/${n}`, code, seed, regs, flags: parts[0].flags, mem: parts.flatMap((p) => p.mem) };
}

/** Whether a generated case is worth keeping once the host ran it (sequences that faulted are not). */
export function usable(c: CaseInput, out: CaseOutput): boolean {
  // Sequences whose pointers clash fault with #GP (non-canonical) or #PF: kept, they check that a fault inside a
  // compiled block leaves the earlier instructions' effects and nothing of the faulting one.
  return out.ok || !c.form.startsWith('seq/') || out.vector === 13 || out.vector === 14;
}

export interface GenResult { cases: CaseInput[]; forms: Form[]; unencodable: string[] }

/** `perForm` cases for every form and 8 x `perForm` for every sequence length, from `seed`. */
export function generate(seed: number, perForm: number, only?: (f: Form) => boolean): GenResult {
  const all = enumerateForms();
  const forms = all.filter((f) => !only || only(f));
  const cases: CaseInput[] = [];
  const unencodable: string[] = [];
  for (const form of forms) {
    const rng = mulberry32(hash32(form.key, seed));
    let made = 0;
    for (let tries = 0; made < perForm && tries < perForm * 20; tries++) {
      const c = buildCase(form, rng, rng());
      if (c) { cases.push(c); made++; }
    }
    if (made === 0) unencodable.push(form.key);
  }
  if (!only) {
    const pool = seqPool(all);
    for (const n of SEQ_LENGTHS) {
      const rng = mulberry32(hash32(`seq/${n}`, seed));
      for (let made = 0, tries = 0; made < 8 * perForm && tries < 400 * perForm; tries++) {
        const c = buildSeq(pool, n, rng, rng());
        if (c) { cases.push(c); made++; }
      }
    }
  }
  return { cases, forms, unencodable };
}
