// Real and protected mode, one instruction at a time: the road an application processor takes from its
// start-up IPI into long mode (Linux's arch/x86/realmode/rm/trampoline_64.S with verify_cpu: 16-bit real
// mode -> 32-bit protected mode -> compatibility mode -> a far jump to a 64-bit code segment). The rest
// of the emulator runs 64-bit code only; a CPU whose `mode` is MODE_LEGACY runs here instead
// (Machine.onLegacy), and goes back to the 64-bit run loop once CS is a long-mode code segment.
//
// Exact for what it implements, and it says so for anything else (one-line error, the run ends):
// segments with real-mode bases (selector << 4) and protected-mode descriptors from the GDT, 16/32-bit
// operand and address sizes (16-bit offsets wrap at 64 KiB), the arithmetic flags of what it computes,
// far jumps, lgdt/lidt, moves to and from control registers, EFER (its own copy until long mode is
// active), cpuid/rdmsr/wrmsr through the CPU's host, and paging (CR0.PG) through the platform's walk.
// Instruction facts (operands, sizes, branch targets) come from iced-x86, decoding at 16 or 32 bits.
// Not modelled: segment limit and type checks, exceptions (a fault here is reported, not delivered:
// interrupts are off on this road), I/O, string instructions, far calls, task switches, v8086 mode.
// SDM Vol. 3A ch. 9 "Processor Management and Initialization" (9.8 "Initializing IA-32e Mode"),
// ch. 3 (segment descriptors).
import iced, { decodeAt, type Instruction, Mnemonic, OpKind, Register, Code, MemorySizeExt } from './iced.js';
import type { Cpu } from './cpu.js';
import { cpuidLeaf } from './runtime.js';

/** Cpu.mode: 64-bit (the run loop) or legacy (this file). */
export const MODE_LONG = 0, MODE_LEGACY = 1;

const MSR_EFER = 0xc0000080;
const EFER_LME = 0x100, EFER_LMA = 0x400;
const CR0_PE = 1, CR0_PG = 0x80000000;
const FLAGS_ARITH = 0x8d5; // CF PF AF ZF SF OF

/** Guest-physical memory and paging, as the platform has them. */
export interface LegacyBus {
  readPhys(pa: number, size: 1 | 2 | 4): number;
  writePhys(pa: number, size: 1 | 2 | 4, v: number): void;
  /** Linear -> physical under the CPU's paging (CR0.PG set); undefined: not mapped. */
  translate(c: Cpu, linear: number, write: boolean): number | undefined;
}

/** A segment register with its hidden part (the descriptor cache). */
export interface Seg { sel: number; base: number; limit: number; db: boolean; long: boolean }

/** ES CS SS DS FS GS, in the SDM's encoding order (iced Register.ES.. are in this order too). */
const ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5;

/** The state a CPU has in legacy mode beyond Cpu's: segment caches and EFER. */
export class LegacyState {
  seg: Seg[] = [];
  efer = 0;
  constructor() { this.reset(0); }
  /** The state a start-up IPI leaves (SDM 10.4.4 / 9.1.1): real mode, CS = vector << 8, IP = 0. */
  reset(vector: number): void {
    const rm = (sel: number): Seg => ({ sel, base: sel * 16, limit: 0xffff, db: false, long: false });
    this.seg = [rm(0), rm(vector << 8), rm(0), rm(0), rm(0), rm(0)];
    this.efer = 0;
  }
  save(): unknown { return { seg: this.seg.map((s) => ({ ...s })), efer: this.efer }; }
  load(s: unknown): void { const o = s as { seg: Seg[]; efer: number }; this.seg = o.seg.map((x) => ({ ...x })); this.efer = o.efer; }
}

/** Put `c` where INIT then SIPI with `vector` leave it: real mode at vector:0000, paging and caches off. */
export function startupIpi(c: Cpu, st: LegacyState, vector: number): void {
  st.reset(vector);
  c.mode = MODE_LEGACY;
  c.regs.fill(0);
  c.regs[4] = (c.host.cpuid?.(c, 1, 0) ?? cpuidLeaf(1, 0, c))[0] >>> 0; // EDX: the processor signature (SDM 9.1.4)
  c.rip = 0;
  c.setRflags(2);
  c.cr0 = 0x60000010; c.cr2 = 0; c.cr3 = 0; c.cr4 = 0;
  c.cs = vector << 8; c.ss = c.ds = c.es = c.fsSel = c.gsSel = 0;
  c.fsb = c.gsb = c.kgsb = 0;
  c.gdtBase = 0; c.gdtLimit = 0xffff; c.idtBase = 0; c.idtLimit = 0x3ff;
  c.setCpl(0);
  c.halted = false;
  c.online = true;
}

export type LegacyResult = 'budget' | 'long' | 'halt' | { error: string };

function hex(n: number): string { return '0x' + (n >>> 0).toString(16); }

class Unimplemented { constructor(readonly text: string) {} }

/**
 * Run `c` (in legacy mode) for at most `budget` instructions, until it enters 64-bit mode ('long': go on
 * in the run loop at c.rip), halts, or meets something not implemented here (error).
 */
export function runLegacy(c: Cpu, st: LegacyState, bus: LegacyBus, budget: number): LegacyResult {
  const x = new Exec(c, st, bus);
  try {
    for (let n = 0; n < budget; n++) {
      const r = x.step();
      c.instret++;
      if (r !== null) return r;
    }
    return 'budget';
  } catch (e) {
    if (e instanceof Unimplemented) return { error: e.text };
    throw e;
  }
}

class Exec {
  constructor(readonly c: Cpu, readonly st: LegacyState, readonly bus: LegacyBus) {}

  private get pe(): boolean { return (this.c.cr0 & CR0_PE) !== 0; }
  /** The offset in CS of the instruction being run. */
  private ip = 0;
  private fail(what: string): never {
    this.c.rip = this.ip; // nothing done: RIP stays at the instruction
    throw new Unimplemented(`legacy mode at ${hex(this.st.seg[CS].sel)}:${hex(this.ip)}: ${what}`);
  }

  // ---- memory ----
  private phys(linear: number, write: boolean): number {
    linear >>>= 0;
    if (!(this.c.cr0 & CR0_PG)) return linear;
    const pa = this.bus.translate(this.c, linear, write);
    if (pa === undefined) this.fail(`page fault at linear ${hex(linear)} (not emulated in legacy mode)`);
    return pa;
  }
  private read(linear: number, size: 1 | 2 | 4): number {
    let v = 0;
    for (let k = 0; k < size; k++) v += this.bus.readPhys(this.phys(linear + k, false), 1) * 2 ** (8 * k);
    return v;
  }
  private write(linear: number, size: 1 | 2 | 4, v: number): void {
    for (let k = 0; k < size; k++) this.bus.writePhys(this.phys(linear + k, true), 1, Math.floor(v / 2 ** (8 * k)) & 0xff);
  }

  // ---- registers ----
  private gpr(i: number, size: number): number {
    const r = this.c.regs;
    if (size === 32) return r[2 * i];
    if (size === 16) return r[2 * i] & 0xffff;
    return i < 4 ? r[2 * i] & 0xff : (r[2 * (i - 4)] >>> 8) & 0xff; // al..bl, ah..bh (no REX here)
  }
  private setGpr(i: number, size: number, v: number): void {
    const r = this.c.regs;
    if (size === 32) r[2 * i] = v >>> 0;
    else if (size === 16) r[2 * i] = ((r[2 * i] & 0xffff0000) | (v & 0xffff)) >>> 0;
    else if (i < 4) r[2 * i] = ((r[2 * i] & 0xffffff00) | (v & 0xff)) >>> 0;
    else r[2 * (i - 4)] = ((r[2 * (i - 4)] & 0xffff00ff) | ((v & 0xff) << 8)) >>> 0;
  }
  private static gprOf(reg: number): [number, number] | undefined {
    if (reg >= Register.AL && reg <= Register.BL) return [reg - Register.AL, 8];
    if (reg >= Register.AH && reg <= Register.BH) return [reg - Register.AH + 4, 8];
    if (reg >= Register.AX && reg <= Register.DI) return [reg - Register.AX, 16];
    if (reg >= Register.EAX && reg <= Register.EDI) return [reg - Register.EAX, 32];
    return undefined;
  }

  /** The linear address of instruction's memory operand (16- or 32-bit effective address + segment base). */
  private ea(i: Instruction): number {
    const base = i.memoryBase, index = i.memoryIndex;
    let off = Number(BigInt.asUintN(32, i.memoryDisplacementU64));
    const add = (reg: number, scale: number): void => {
      if (reg === Register.None) return;
      const g = Exec.gprOf(reg);
      if (!g) this.fail(`address register ${reg}`);
      off += this.gpr(g[0], g[1]) * scale;
    };
    add(base, 1); add(index, i.memoryIndexScale);
    const a16 = (base >= Register.AX && base <= Register.DI) || (index >= Register.AX && index <= Register.DI)
      || (base === Register.None && index === Register.None && i.memoryDisplSize === 2);
    off = a16 ? off & 0xffff : off >>> 0;
    const s = i.memorySegment - Register.ES;
    if (s < 0 || s > 5) this.fail('memory segment');
    return (this.st.seg[s].base + off) >>> 0;
  }

  private opSize(i: Instruction, k: number): number {
    const kind = i.opKind(k);
    if (kind === OpKind.Register) {
      const g = Exec.gprOf(i.opRegister(k));
      return g ? g[1] : 16;
    }
    if (kind === OpKind.Memory) return MemorySizeExt.size(i.memorySize) * 8;
    switch (kind) {
      case OpKind.Immediate8: return 8;
      case OpKind.Immediate16: case OpKind.Immediate8to16: return 16;
      default: return 32;
    }
  }
  private get(i: Instruction, k: number): number {
    const kind = i.opKind(k);
    if (kind === OpKind.Register) {
      const reg = i.opRegister(k);
      const g = Exec.gprOf(reg);
      if (g) return this.gpr(g[0], g[1]);
      if (reg >= Register.ES && reg <= Register.GS) return this.st.seg[reg - Register.ES].sel;
      if (reg === Register.CR0) return this.c.cr0 >>> 0;
      if (reg === Register.CR2) return this.c.cr2 >>> 0;
      if (reg === Register.CR3) return this.c.cr3 >>> 0;
      if (reg === Register.CR4) return this.c.cr4 >>> 0;
      this.fail(`register operand ${reg}`);
    }
    if (kind === OpKind.Memory) {
      const size = MemorySizeExt.size(i.memorySize);
      if (size !== 1 && size !== 2 && size !== 4) this.fail(`memory operand of ${size} bytes`);
      return this.read(this.ea(i), size);
    }
    if (kind >= OpKind.Immediate8 && kind <= OpKind.Immediate32to64) {
      const sz = this.opSize(i, k);
      return Number(BigInt.asUintN(sz, i.immediate(k)));
    }
    this.fail(`operand kind ${kind}`);
  }
  private set(i: Instruction, k: number, v: number): void {
    const kind = i.opKind(k);
    if (kind === OpKind.Register) {
      const reg = i.opRegister(k);
      const g = Exec.gprOf(reg);
      if (g) { this.setGpr(g[0], g[1], v); return; }
      if (reg >= Register.ES && reg <= Register.GS) { this.loadSeg(reg - Register.ES, v & 0xffff); return; }
      if (reg === Register.CR0) { this.setCr0(v >>> 0); return; }
      if (reg === Register.CR3) { this.c.cr3 = v >>> 0; this.c.mem.flushTlb(); this.c.host.onPaging?.(this.c, 0, v >>> 0); return; }
      if (reg === Register.CR4) { this.c.cr4 = v >>> 0; this.c.host.onPaging?.(this.c, 2, 0); return; }
      this.fail(`register operand ${reg}`);
    }
    if (kind === OpKind.Memory) {
      const size = MemorySizeExt.size(i.memorySize);
      if (size !== 1 && size !== 2 && size !== 4) this.fail(`memory operand of ${size} bytes`);
      this.write(this.ea(i), size, v);
      return;
    }
    this.fail(`destination kind ${kind}`);
  }

  // ---- segments and modes ----
  private descriptor(sel: number): Seg {
    const c = this.c;
    if ((sel & ~3) === 0) return { sel, base: 0, limit: 0, db: false, long: false };
    if (sel & 4) this.fail('LDT selector');
    if ((sel | 7) > c.gdtLimit) this.fail(`selector ${hex(sel)} beyond the GDT limit`);
    const at = c.gdtBase + (sel & ~7);
    const lo = this.read(at, 4), hi = this.read(at + 4, 4);
    if (!(hi & 0x8000)) this.fail(`selector ${hex(sel)}: segment not present`);
    let limit = (lo & 0xffff) | (hi & 0xf0000);
    if (hi & 0x800000) limit = limit * 4096 + 0xfff;
    return { sel, base: ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) >>> 0, limit, db: (hi & 0x400000) !== 0, long: (hi & 0x200000) !== 0 };
  }
  private loadSeg(s: number, sel: number): void {
    if (s === CS) this.fail('mov to CS');
    this.st.seg[s] = this.pe ? this.descriptor(sel) : { ...this.st.seg[s], sel, base: sel * 16 };
    this.mirror();
  }
  /** The selectors Cpu keeps (for 64-bit mode and reports). */
  private mirror(): void {
    const c = this.c, s = this.st.seg;
    c.es = s[ES].sel; c.cs = s[CS].sel; c.ss = s[SS].sel; c.ds = s[DS].sel; c.fsSel = s[FS].sel; c.gsSel = s[GS].sel;
  }
  private get lma(): boolean { return (this.st.efer & EFER_LMA) !== 0; }
  private setCr0(v: number): void {
    const c = this.c;
    if ((v & CR0_PG) && !(v & CR0_PE)) this.fail('CR0.PG without CR0.PE (#GP)');
    const pgOn = (v & CR0_PG) !== 0 && !(c.cr0 & CR0_PG);
    if (pgOn && (this.st.efer & EFER_LME)) {
      if (!(c.cr4 & 0x20)) this.fail('long mode without CR4.PAE (#GP)');
      this.st.efer |= EFER_LMA; // SDM 9.8.5: paging on with LME set activates IA-32e mode
    } else if (!(v & CR0_PG)) this.st.efer &= ~EFER_LMA;
    c.cr0 = v;
    c.host.onPaging?.(c, 3, 0);
  }
  private farJump(sel: number, off: number): LegacyResult | null {
    const c = this.c;
    if (!this.pe) {
      this.st.seg[CS] = { sel, base: sel * 16, limit: 0xffff, db: false, long: false };
      c.rip = off & 0xffff;
      this.mirror();
      return null;
    }
    const d = this.descriptor(sel);
    this.st.seg[CS] = d;
    this.mirror();
    if (d.long && this.lma) {
      // 64-bit mode: the run loop goes on from here, with EFER as the trampoline left it (LMA set)
      c.rip = off >>> 0;
      c.writeMsr(MSR_EFER, BigInt(this.st.efer));
      c.mode = MODE_LONG;
      c.setCpl(sel & 3);
      return 'long';
    }
    c.rip = d.db ? off >>> 0 : off & 0xffff;
    return null;
  }

  // ---- stack ----
  private get sp32(): boolean { return this.st.seg[SS].db; }
  private push(v: number, size: number): void {
    const bytes = size / 8 as 2 | 4;
    if (this.sp32) { const sp = (this.c.regs[8] - bytes) >>> 0; this.write(this.st.seg[SS].base + sp, bytes, v); this.c.regs[8] = sp; }
    else { const sp = (this.gpr(4, 16) - bytes) & 0xffff; this.write(this.st.seg[SS].base + sp, bytes, v); this.setGpr(4, 16, sp); }
  }
  private pop(size: number): number {
    const bytes = size / 8 as 2 | 4;
    if (this.sp32) { const sp = this.c.regs[8]; const v = this.read(this.st.seg[SS].base + sp, bytes); this.c.regs[8] = (sp + bytes) >>> 0; return v; }
    const sp = this.gpr(4, 16);
    const v = this.read(this.st.seg[SS].base + sp, bytes);
    this.setGpr(4, 16, (sp + bytes) & 0xffff);
    return v;
  }

  // ---- flags ----
  private setFlags(bits: number): void {
    const f = this.c.getRflags();
    this.c.setRflags((f & ~FLAGS_ARITH) | bits);
  }
  private static szp(r: number, size: number): number {
    const m = size === 32 ? 0xffffffff : (1 << size) - 1;
    r = (r & m) >>> 0;
    let p = r & 0xff; p ^= p >> 4; p ^= p >> 2; p ^= p >> 1;
    return (r === 0 ? 0x40 : 0) | ((r >>> (size - 1)) & 1 ? 0x80 : 0) | ((p & 1) === 0 ? 4 : 0);
  }
  private logic(r: number, size: number): void { this.setFlags(Exec.szp(r, size)); }
  private arith(a: number, b: number, size: number, sub: boolean): number {
    const m = size === 32 ? 0x100000000 : 1 << size;
    const r = sub ? a - b : a + b;
    const res = ((r % m) + m) % m;
    const cf = sub ? a < b : r >= m;
    const sa = Math.floor(a / (m / 2)) & 1, sb = Math.floor(b / (m / 2)) & 1, sr = Math.floor(res / (m / 2)) & 1;
    const of = sub ? sa !== sb && sr !== sa : sa === sb && sr !== sa;
    const af = ((a ^ b ^ res) & 0x10) !== 0;
    this.setFlags(Exec.szp(res, size) | (cf ? 1 : 0) | (af ? 0x10 : 0) | (of ? 0x800 : 0));
    return res;
  }
  private cond(cc: number): boolean {
    const f = this.c.getRflags();
    const cf = f & 1, zf = (f >> 6) & 1, sf = (f >> 7) & 1, of = (f >> 11) & 1, pf = (f >> 2) & 1;
    let t: boolean;
    switch (cc >> 1) {
      case 0: t = of === 1; break;
      case 1: t = cf === 1; break;
      case 2: t = zf === 1; break;
      case 3: t = cf === 1 || zf === 1; break;
      case 4: t = sf === 1; break;
      case 5: t = pf === 1; break;
      case 6: t = sf !== of; break;
      default: t = zf === 1 || sf !== of;
    }
    return (cc & 1) ? !t : t;
  }

  /** One instruction: null to go on, or why the run stops. */
  step(): LegacyResult | null {
    const c = this.c, st = this.st;
    const cs = st.seg[CS];
    const bits = cs.db ? 32 : 16;
    const ip = this.ip = c.rip;
    const bytes = new Uint8Array(15);
    for (let k = 0; k < 15; k++) {
      const off = bits === 16 ? (ip + k) & 0xffff : (ip + k) >>> 0;
      bytes[k] = this.read(cs.base + off, 1);
    }
    const i = decodeAt(bytes, ip, bits);
    this.lastBytes = bytes.subarray(0, i.length);
    if (i.code === Code.INVALID) this.fail('invalid instruction (#UD)');
    if (i.hasLockPrefix || i.hasRepPrefix || i.hasRepePrefix || i.hasRepnePrefix) this.fail(`prefixed ${this.text(i)}`);
    const next = bits === 16 ? (ip + i.length) & 0xffff : (ip + i.length) >>> 0;
    c.rip = next;
    const osz = i.opCount > 0 ? this.opSize(i, 0) : bits;
    switch (i.mnemonic) {
      case Mnemonic.Nop: case Mnemonic.Wbinvd: case Mnemonic.Invd: return null;
      case Mnemonic.Cli: c.if_ = 0; return null;
      case Mnemonic.Cld: c.df = 0; return null;
      case Mnemonic.Hlt: c.halted = true; return 'halt';
      case Mnemonic.Mov: this.set(i, 0, this.get(i, 1)); return null;
      case Mnemonic.Movzx: this.set(i, 0, this.get(i, 1)); return null;
      case Mnemonic.Lea: {
        const off = (this.ea(i) - st.seg[i.memorySegment - Register.ES].base) >>> 0;
        this.set(i, 0, off); return null;
      }
      case Mnemonic.Xor: { const r = (this.get(i, 0) ^ this.get(i, 1)) >>> 0; this.set(i, 0, r); this.logic(r, osz); return null; }
      case Mnemonic.And: { const r = (this.get(i, 0) & this.get(i, 1)) >>> 0; this.set(i, 0, r); this.logic(r, osz); return null; }
      case Mnemonic.Or: { const r = (this.get(i, 0) | this.get(i, 1)) >>> 0; this.set(i, 0, r); this.logic(r, osz); return null; }
      case Mnemonic.Test: { const r = (this.get(i, 0) & this.get(i, 1)) >>> 0; this.logic(r, osz); return null; }
      case Mnemonic.Add: this.set(i, 0, this.arith(this.get(i, 0), this.get(i, 1), osz, false)); return null;
      case Mnemonic.Sub: this.set(i, 0, this.arith(this.get(i, 0), this.get(i, 1), osz, true)); return null;
      case Mnemonic.Cmp: this.arith(this.get(i, 0), this.get(i, 1), osz, true); return null;
      case Mnemonic.Inc: case Mnemonic.Dec: {
        const cf = c.getRflags() & 1;
        const r = this.arith(this.get(i, 0), 1, osz, i.mnemonic === Mnemonic.Dec);
        this.set(i, 0, r);
        this.setFlags((c.getRflags() & FLAGS_ARITH & ~1) | cf); // inc/dec leave CF
        return null;
      }
      case Mnemonic.Shr: case Mnemonic.Shl: {
        const n = this.get(i, 1) & 0x1f;
        if (n === 0) return null;
        const a = this.get(i, 0);
        const m = osz === 32 ? 0x100000000 : 1 << osz;
        let r: number, cf: number, of: number;
        if (i.mnemonic === Mnemonic.Shr) { r = Math.floor(a / 2 ** n); cf = Math.floor(a / 2 ** (n - 1)) & 1; of = Math.floor(a / (m / 2)) & 1; }
        else { const w = a * 2 ** n; r = w % m; cf = Math.floor(w / m) & 1; of = (Math.floor(r / (m / 2)) & 1) ^ cf; }
        this.set(i, 0, r);
        this.setFlags(Exec.szp(r, osz) | cf | (n === 1 && of ? 0x800 : 0) | (c.getRflags() & 0x10));
        return null;
      }
      case Mnemonic.Bt: case Mnemonic.Btr: case Mnemonic.Bts: {
        if (i.opKind(1) === OpKind.Register && i.opKind(0) === OpKind.Memory) this.fail('bt with a register offset into memory');
        const bit = this.get(i, 1) % osz;
        const a = this.get(i, 0);
        const was = Math.floor(a / 2 ** bit) & 1;
        if (i.mnemonic === Mnemonic.Btr && was) this.set(i, 0, a - 2 ** bit);
        if (i.mnemonic === Mnemonic.Bts && !was) this.set(i, 0, a + 2 ** bit);
        this.setFlags((c.getRflags() & FLAGS_ARITH & ~1) | was);
        return null;
      }
      case Mnemonic.Push: this.push(this.get(i, 0), osz); return null;
      case Mnemonic.Pop: this.set(i, 0, this.pop(osz)); return null;
      case Mnemonic.Pushf: this.push(c.getRflags() & 0xffff, 16); return null;
      case Mnemonic.Pushfd: this.push(c.getRflags() & 0xfcffff, 32); return null; // VM and RF read as 0
      case Mnemonic.Popf: case Mnemonic.Popfd: {
        const size = i.mnemonic === Mnemonic.Popf ? 16 : 32;
        const v = this.pop(size);
        const old = c.getRflags();
        // CPL 0: every flag but VM/RF/VIP/VIF (kept) may change; a 16-bit pop keeps the upper half
        const keep = size === 16 ? 0xffff0000 : 0x1b0000;
        c.setRflags(((old & keep) | (v & ~keep) | 2) >>> 0);
        return null;
      }
      case Mnemonic.Jmp: case Mnemonic.Call: {
        const kind = i.opKind(0);
        if (kind === OpKind.FarBranch16 || kind === OpKind.FarBranch32) {
          if (i.mnemonic === Mnemonic.Call) this.fail('far call');
          return this.farJump(i.farBranchSelector, kind === OpKind.FarBranch16 ? i.farBranch16 : i.farBranch32);
        }
        let target: number;
        if (kind === OpKind.NearBranch16 || kind === OpKind.NearBranch32) target = Number(i.nearBranchTarget);
        else target = this.get(i, 0); // indirect near
        const size = kind === OpKind.NearBranch16 ? 16 : kind === OpKind.NearBranch32 ? 32 : osz;
        if (i.mnemonic === Mnemonic.Call) this.push(next, size);
        c.rip = size === 16 ? target & 0xffff : target >>> 0;
        return null;
      }
      case Mnemonic.Ret: {
        const size = i.code === Code.Retnw || i.code === Code.Retnw_imm16 ? 16 : 32;
        const to = this.pop(size);
        if (i.opCount === 1) { const n = this.get(i, 0); if (this.sp32) c.regs[8] = (c.regs[8] + n) >>> 0; else this.setGpr(4, 16, (this.gpr(4, 16) + n) & 0xffff); }
        c.rip = to;
        return null;
      }
      case Mnemonic.Cpuid: {
        const [a, b, cc, dd] = c.host.cpuid?.(c, c.regs[0], c.regs[2]) ?? cpuidLeaf(c.regs[0], c.regs[2], c);
        c.regs[0] = a >>> 0; c.regs[6] = b >>> 0; c.regs[2] = cc >>> 0; c.regs[4] = dd >>> 0;
        return null;
      }
      case Mnemonic.Rdmsr: {
        const n = c.regs[2];
        const v = n === MSR_EFER ? BigInt(this.st.efer) : c.readMsr(n);
        if (v === undefined) this.fail(`rdmsr of unknown MSR ${hex(n)} (#GP)`);
        c.regs[0] = Number(v & 0xffffffffn); c.regs[4] = Number(v >> 32n);
        return null;
      }
      case Mnemonic.Wrmsr: {
        const n = c.regs[2];
        const v = (BigInt(c.regs[4]) << 32n) | BigInt(c.regs[0]);
        if (n === MSR_EFER) { this.st.efer = (Number(v & 0xd01n) & ~EFER_LMA) | (this.st.efer & EFER_LMA); return null; }
        if (!c.writeMsr(n, v)) this.fail(`wrmsr of unknown MSR ${hex(n)} (#GP)`);
        return null;
      }
      case Mnemonic.Lgdt: case Mnemonic.Lidt: {
        const at = this.ea(i);
        const limit = this.read(at, 2);
        let base = this.read(at + 2, 4);
        // a 16-bit operand size loads 24 bits of base (SDM LGDT/LIDT)
        if (i.code === Code.Lgdt_m1632_16 || i.code === Code.Lidt_m1632_16) base &= 0xffffff;
        if (i.mnemonic === Mnemonic.Lgdt) { c.gdtBase = base; c.gdtLimit = limit; } else { c.idtBase = base; c.idtLimit = limit; }
        return null;
      }
      default: break;
    }
    if (i.conditionCode !== 0 && (i.opKind(0) === OpKind.NearBranch16 || i.opKind(0) === OpKind.NearBranch32)) {
      if (this.cond(i.conditionCode - 1)) c.rip = i.opKind(0) === OpKind.NearBranch16 ? Number(i.nearBranchTarget) & 0xffff : Number(i.nearBranchTarget) >>> 0;
      return null;
    }
    this.fail(`${this.text(i)} is not implemented in legacy mode`);
  }

  private text(i: Instruction): string {
    // the name from iced-x86 itself (iced-enums.ts maps names to values only); an error path, so loading it is fine
    const names = iced.Mnemonic as unknown as Record<number, string | undefined>;
    return `${(names[i.mnemonic] ?? `mnemonic ${i.mnemonic}`).toLowerCase()} (${[...this.lastBytes].map((b) => b.toString(16).padStart(2, '0')).join(' ')})`;
  }
  private lastBytes = new Uint8Array(0);
}
