// Decode once: iced-x86 turns each instruction into a plain JS Op exactly once; ops and compiled blocks
// are cached per page in dense arrays indexed by page offset, and dropped when the page's bytes change.
import { Decoder, DecoderOptions, decodeAt, Formatter, FormatterSyntax, Instruction, MemorySizeExt, OpKind, Register, Mnemonic, Code } from './iced.js';
import { TWO32, toAddr } from '../base/addr.js';
import { STATS_ON, stats } from './stats.js';
import { codeFacts } from './facts.js';
import { PAGE_PROBE, PAGE_SIZE, PERM_U, PERM_X, Memory, type CodeCache, type Page } from './memory.js';
import type { Cpu } from './cpu.js';

/** A memory operand, with everything the code generator needs baked in. */
export interface MemRef {
  base: number; index: number; scale: number; disp: number;
  /** RIP-relative: the absolute address (NaN otherwise). */
  abs: number;
  /** 0 none/ds/ss/es/cs, 1 fs, 2 gs */
  seg: number;
  size: number;
  addr32: boolean;
}

export interface Op {
  ip: number; next: number; len: number;
  code: number; mn: number; flow: number;
  /** condition code in x86 encoding order 0..15, or -1 */
  cc: number;
  nops: number;
  kind: number[];
  /** iced Register per operand */
  reg: number[];
  /** GPR index (0..15) per register operand, -1 otherwise; rh = high-byte register (ah..bh) */
  rg: number[]; rh: number[];
  /** operand size in bits per operand (register/memory/immediate) */
  osz: number[];
  /** immediates per operand as unsigned 32-bit halves of the 64-bit (sign-extended) value */
  imlo: number[]; imhi: number[];
  mem: MemRef | null;
  target: number;
  rep: number; lock: boolean;
  /** RFLAGS bits read / definitely written (iced), for flag liveness */
  fread: number; fwrite: number;
  stackInc: number;
  probe: boolean;
  /** 0 ok, 1 instruction fetch faults at faultAddr (bytes beyond the page; NaN otherwise), 2 invalid encoding */
  bad: number; faultAddr: number; faultErr: number;
  bytes: Uint8Array;
  /** segment override of a string instruction's source (0 none, 1 fs, 2 gs) */
  strSeg: number;
  /** facts of its Code from iced's metadata (facts.ts F_* bits; 0 for undecodable bytes) */
  facts: number;
  /** cached single-instruction function (interpreter path; compile.ts compileOp), null until first run */
  fn: BlockFn | null;
  /** its single-instruction function's shape (compile.ts compileOp: made by an earlier run, or learned
   *  now and kept for the next, DecodeCache.records), or null */
  shape: OpShape | null;
  /** bytes that did not decode: OpRecord's fault (`bad` | 4 when the next page was fetchable), else 0 */
  fault: number;
  /** compile.ts endsBlock's answer once asked (1 yes, 0 no; -1 not yet): blocks are built over the same
   *  ops again and again */
  ends: number;
}

/** A compiled block or single instruction: runs on CPU `c` with its registers `R` (c.regs) and memory `m`;
 *  `L` is how many instructions it may retire in this call. */
export type BlockFn = (c: Cpu, R: Uint32Array, m: Memory, L: number) => void;

/** A straight-line run of decoded instructions, cold (stepped) or compiled (compile.ts). */
export interface Block {
  /** L: instructions the block may retire in this call (>= n); a self-looping block iterates while it can.
   *  null while the block is cold: the run loop steps through its ops one at a time (tiered execution). */
  fn: BlockFn | null;
  /** times the run loop entered the block while it was cold */
  heat: number;
  n: number;
  /** RIP of each instruction, to count completed instructions after a fault */
  ips: Float64Array;
  probe: boolean;
  valid: boolean;
  ops: Op[];
  /** may the run loop remember this block's successors? (not after system instructions that can change
   *  privilege level or RIP in ways a cached link would bypass) */
  link: boolean;
  /** the two most recent successor blocks and their addresses (the run loop's inline cache) */
  s1: Block | null; s1ip: number; s2: Block | null; s2ip: number;
  /** 0: a block of the guest's control flow; 1 (head): the rest of a block that a budget end or an
   *  interrupt left mid-way, which joins a WebAssembly region only when hot by itself (it is entered at
   *  quantum boundaries, not by the guest's branches: wasm.ts); 2 (tail): a block's first ops, run where
   *  a budget or timer deadline falls inside it (Block.tails), never in a region. Neither kind's source is
   *  kept across runs (it depends on where budgets ended: compile.ts blockGen). */
  head: 0 | 1 | 2;
  /** the tail blocks of this block by their length (Machine.run), or null */
  tails: (Block | undefined)[] | null;
  /** instructions committed to the counters before the last (system) instruction runs, so that it sees
   *  an exact clock (rdtsc, port writes that arm the timer); the run loop's fault path accounts for it */
  pre: number;
}

// The decode cache's state of each page lives in fields of Page (flat, for the run loop's fast lookup).
// Their types are declared here, by declaration merging, so that the memory layer does not import the
// decoder; memory.ts only initializes them to null and asks whether a page holds decoded code.
declare module './memory.js' {
  interface Page {
    /** decoded instructions by page offset (DecodeCache.decodeRun), in chunks (PageTable) */
    ops: PageTable<Op> | null;
    /** blocks by the page offset they start at (Machine.blockAt), in chunks (PageTable) */
    blocks: PageTable<Block> | null;
    /** every block with an instruction on this page, invalidated with it */
    blist: Block[] | null;
  }
}

export const MAX_BLOCK = 64;

/** A page's ops or blocks by page offset: CHUNKS chunks of CHUNK slots, each made on its first store
 *  (`t[off >> CHUNK_SHIFT]?.[off & CHUNK_MASK]`). One flat array of PAGE_SIZE slots per page was 32 KiB
 *  made in V8's young generation and copied by every scavenge until promoted: real Linux touches ~240
 *  code pages in a short run, two such arrays each (~15 MB of the young generation), where the ops
 *  a page holds are ~75. */
export type PageTable<T> = ((T | undefined)[] | undefined)[];
export const CHUNK_SHIFT = 6, CHUNK = 1 << CHUNK_SHIFT, CHUNK_MASK = CHUNK - 1;
const CHUNKS = PAGE_SIZE >> CHUNK_SHIFT;
export function newPageTable<T>(): PageTable<T> { return new Array(CHUNKS); }
/** The entry at page offset `off`, or undefined. */
export function pageGet<T>(t: PageTable<T>, off: number): T | undefined {
  const ch = t[off >> CHUNK_SHIFT];
  return ch === undefined ? undefined : ch[off & CHUNK_MASK];
}
export function pageSet<T>(t: PageTable<T>, off: number, v: T): void {
  const ch = t[off >> CHUNK_SHIFT] ??= new Array(CHUNK);
  ch[off & CHUNK_MASK] = v;
}

let fmt: Formatter | null = null;
export function disassemble(bytes: Uint8Array, ip: number): string {
  const insn = decodeAt(bytes, ip);
  if (insn.code === Code.INVALID) return '(bad)';
  if (!fmt) { fmt = new Formatter(FormatterSyntax.Gas); }
  return fmt.format(insn);
}

function gprIndex(r: number): [number, number, number] {
  // iced Register numbering: AL..BH 1..8, SPL..R15L 9..20, AX..R15W 21..36, EAX..R15D 37..52, RAX..R15 53..68
  if (r >= Register.AL && r <= Register.BL) return [r - Register.AL, 0, 8];
  if (r >= Register.AH && r <= Register.BH) return [r - Register.AH, 1, 8];
  if (r >= Register.SPL && r <= Register.R15L) return [r - Register.SPL + 4, 0, 8];
  if (r >= Register.AX && r <= Register.R15W) return [r - Register.AX, 0, 16];
  if (r >= Register.EAX && r <= Register.R15D) return [r - Register.EAX, 0, 32];
  if (r >= Register.RAX && r <= Register.R15) return [r - Register.RAX, 0, 64];
  return [-1, 0, 0];
}

function memGpr(r: number): number {
  if (r === Register.None) return -1;
  if (r >= Register.RAX && r <= Register.R15) return r - Register.RAX;
  if (r >= Register.EAX && r <= Register.R15D) return r - Register.EAX;
  if (r === Register.RIP || r === Register.EIP) return 16;
  return -2; // unsupported (16-bit addressing, vsib)
}

function immSize(k: number): number {
  switch (k) {
    case OpKind.Immediate8: case OpKind.Immediate8_2nd: return 8;
    case OpKind.Immediate16: case OpKind.Immediate8to16: return 16;
    case OpKind.Immediate32: case OpKind.Immediate8to32: return 32;
    default: return 64;
  }
}

function fillOp(i: Instruction, ip: number, bytes: Uint8Array, probe: boolean): Op {
  const n = i.opCount;
  const op: Op = {
    ip, next: ip + i.length, len: i.length, code: i.code, mn: i.mnemonic, flow: i.flowControl,
    cc: i.conditionCode - 1, nops: n, kind: [], reg: [], rg: [], rh: [], osz: [], imlo: [], imhi: [],
    mem: null, target: NaN, rep: i.hasRepePrefix || i.hasRepPrefix ? 1 : i.hasRepnePrefix ? 2 : 0,
    lock: i.hasLockPrefix, fread: i.rflagsRead, fwrite: i.rflagsModified, stackInc: i.stackPointerIncrement,
    probe, bad: 0, faultAddr: NaN, faultErr: 0, bytes, fn: null, shape: null, fault: 0, ends: -1, strSeg: 0, facts: i.code === Code.INVALID ? 0 : codeFacts(i),
  };
  for (let k = 0; k < n; k++) {
    const kind = i.opKind(k);
    op.kind.push(kind);
    let reg = 0, rg = -1, rh = 0, sz = 0, lo = 0, hi = 0;
    if (kind === OpKind.Register) {
      reg = i.opRegister(k);
      [rg, rh, sz] = gprIndex(reg);
    } else if (kind === OpKind.Memory || (kind >= OpKind.MemorySegSI && kind <= OpKind.MemoryESRDI)) {
      sz = MemorySizeExt.size(i.memorySize) * 8;
      if (kind >= OpKind.MemorySegSI && kind <= OpKind.MemorySegRSI) {
        const seg = i.memorySegment;
        op.strSeg = seg === Register.FS ? 1 : seg === Register.GS ? 2 : 0;
      }
    } else if (kind >= OpKind.Immediate8 && kind <= OpKind.Immediate32to64) {
      // as iced's immediate(k) (sign-extended kinds to 64 bits), without BigInt but for imm64
      switch (kind) {
        case OpKind.Immediate8: lo = i.immediate8; break;
        case OpKind.Immediate8_2nd: lo = i.immediate8_2nd; break;
        case OpKind.Immediate16: lo = i.immediate16; break;
        case OpKind.Immediate32: lo = i.immediate32 >>> 0; break;
        case OpKind.Immediate8to16: case OpKind.Immediate8to32: case OpKind.Immediate8to64: {
          const x = (i.immediate8 << 24) >> 24; lo = x >>> 0; hi = x < 0 ? 0xffffffff : 0; break;
        }
        case OpKind.Immediate32to64: { const x = i.immediate32 | 0; lo = x >>> 0; hi = x < 0 ? 0xffffffff : 0; break; }
        default: { const v = BigInt.asUintN(64, i.immediate(k)); lo = Number(v & 0xffffffffn); hi = Number(v >> 32n); }
      }
      sz = immSize(kind);
    } else if (kind >= OpKind.NearBranch16 && kind <= OpKind.NearBranch64) {
      op.target = toAddr(i.nearBranchTarget);
    }
    op.reg.push(reg); op.rg.push(rg); op.rh.push(rh); op.osz.push(sz); op.imlo.push(lo); op.imhi.push(hi);
  }
  if (n > 0 && (op.kind.includes(OpKind.Memory))) {
    const seg = i.memorySegment;
    op.mem = {
      base: memGpr(i.memoryBase), index: memGpr(i.memoryIndex), scale: i.memoryIndexScale,
      disp: toAddr(i.memoryDisplacementU64), abs: i.isIpRelMemoryOperand ? toAddr(i.ipRelMemoryAddress) : NaN,
      seg: seg === Register.FS ? 1 : seg === Register.GS ? 2 : 0,
      size: MemorySizeExt.size(i.memorySize),
      addr32: (i.memoryBase >= Register.EAX && i.memoryBase <= Register.R15D) || (i.memoryIndex >= Register.EAX && i.memoryIndex <= Register.R15D) || i.memoryBase === Register.EIP,
    };
    if (op.mem.addr32 && i.memoryBase === Register.None) op.mem.disp = op.mem.disp >>> 0;
  }
  return op;
}

/**
 * An op as plain JSON (ops decoded by an earlier run: DecodeCache.records/preload).
 * Everything fillOp takes from iced; the page's probe bit is not in it. Bytes that did not decode carry
 * `fault`: their `bad` | 4 when the next page was fetchable (DecodeCache.reuseFault).
 */
export type OpRecord = [ip: number, len: number, code: number, mn: number, flow: number, cc: number, nops: number,
  kind: number[], reg: number[], rg: number[], rh: number[], osz: number[], imlo: number[], imhi: number[],
  mem: [number, number, number, number, number | null, number, number, boolean] | null, target: number | null,
  rep: number, lock: boolean, fread: number, fwrite: number, stackInc: number, bytes: number[], strSeg: number, facts: number,
  shape?: OpShape, fault?: number];
/** The op's single-instruction function as compile.ts compileOp made it: for the probe bit, the shape's
 *  source, the numbers lifted out of it, and how many constants (each the op itself) it takes. */
export type OpShape = [probe: number, text: string, nums: number[], consts: number];
/** Shapes learned for ops in this process (DecodeCache.records: worth keeping?). */
export const shapeLog = { learned: 0 };

/** The op as a record (with its shape, and its fault for bytes that did not decode). */
export function toRecord(o: Op): OpRecord {
  const M = o.mem;
  const r: OpRecord = [o.ip, o.len, o.code, o.mn, o.flow, o.cc, o.nops, o.kind, o.reg, o.rg, o.rh, o.osz, o.imlo, o.imhi,
    M ? [M.base, M.index, M.scale, M.disp, Number.isNaN(M.abs) ? null : M.abs, M.seg, M.size, M.addr32] : null,
    Number.isNaN(o.target) ? null : o.target, o.rep, o.lock, o.fread, o.fwrite, o.stackInc, Array.from(o.bytes), o.strSeg, o.facts];
  if (o.shape !== null || o.fault !== 0) r[24] = o.shape ?? undefined;
  if (o.fault !== 0) r[25] = o.fault;
  return r;
}

/** A record's memory operand as the op's (an OpSource may share one between ops: nothing changes an op's
 *  memory operand after decoding). */
export function memOf(M: NonNullable<OpRecord[14]>): MemRef {
  return { base: M[0], index: M[1], scale: M[2], disp: M[3], abs: M[4] === null ? NaN : M[4], seg: M[5], size: M[6], addr32: M[7] };
}

/** The fields of an instruction's kind that an OpRecord holds at 1-6, 16-20, 22 and 23 (len, code, mn, flow,
 *  cc, nops, rep, lock, fread, fwrite, stackInc, strSeg, facts), in that order: an OpSource keeps each
 *  distinct tuple once (kernel/code-cache.ts). */
export const KIND_FIELDS = [1, 2, 3, 4, 5, 6, 16, 17, 18, 19, 20, 22, 23];

/** An op from its parts: `k` its kind's fields (KIND_FIELDS' order), `form` its operand arrays (OpRecord
 *  fields 7-13), `target` NaN for none. The arrays, `mem` and `bytes` may be shared between ops (an
 *  OpSource's): nothing changes an op's operands or bytes after decoding. */
export function opOf(ip: number, k: readonly unknown[], form: readonly unknown[], mem: MemRef | null, target: number,
  bytes: Uint8Array, probe: boolean, shape: OpShape | null, fault: number): Op {
  return {
    ip, next: ip + (k[0] as number), len: k[0] as number, code: k[1] as number, mn: k[2] as number, flow: k[3] as number,
    cc: k[4] as number, nops: k[5] as number,
    kind: form[0] as number[], reg: form[1] as number[], rg: form[2] as number[], rh: form[3] as number[],
    osz: form[4] as number[], imlo: form[5] as number[], imhi: form[6] as number[],
    mem, target, rep: k[6] as number, lock: k[7] as boolean, fread: k[8] as number, fwrite: k[9] as number, stackInc: k[10] as number,
    probe, bad: 0, faultAddr: NaN, faultErr: 0, bytes, fn: null, shape, fault, ends: -1, strSeg: k[11] as number, facts: k[12] as number,
  };
}

// One op made at load whose address fields hold doubles: V8 then gives every op double fields for ip,
// next, target and faultAddr from the start. (A double stored where every op so far held a small integer
// deprecates the ops' map: real Linux's short run then migrated ~850 ops one at a time, each a runtime call,
// when the first fetch fault at a kernel page end set faultAddr.)
opOf(-0.5, [1, 0, 0, 0, -1, 0, 0, false, 0, 0, 0, 0, 0], [[], [], [], [], [], [], []], null, -0.5, new Uint8Array(1), false, null, 0);

/** The op of a record. */
export function fromRecord(r: OpRecord, probe: boolean): Op {
  return opOf(r[0], KIND_FIELDS.map((i) => r[i]), r.slice(7, 14), r[14] ? memOf(r[14]) : null, r[15] === null ? NaN : r[15],
    Uint8Array.from(r[21]), probe, r[24] ?? null, r[25] ?? 0);
}

/** Ops decoded by an earlier run, offered to DecodeCache.preload: `n` of them, sorted by address (the
 *  versions of one address's bytes together, the newest first), each made into an Op only when a run
 *  meets its address (kernel/code-cache.ts reads them from the entry's packed form this way, without a
 *  record per op). */
export interface OpSource {
  readonly n: number;
  /** each op's address */
  readonly ips: Float64Array;
  /** op i's bytes (OpRecord field 21) */
  bytes(i: number): readonly number[];
  /** op i's OpRecord fault (bytes that did not decode), or undefined */
  fault(i: number): number | undefined;
  /** op i on a page whose probe bit is `probe` */
  op(i: number, probe: boolean): Op;
  /** op i's record (DecodeCache.records) */
  record(i: number): OpRecord;
}

/** Records as an OpSource (tests, and entries read as records). */
export function recordSource(records: readonly OpRecord[]): OpSource {
  const rs = [...records].sort((a, b) => a[0] - b[0]); // stable: an address's versions keep their order
  return {
    n: rs.length, ips: Float64Array.from(rs, (r) => r[0]),
    bytes: (i) => rs[i][21], fault: (i) => rs[i][25], op: (i, probe) => fromRecord(rs[i], probe), record: (i) => rs[i],
  };
}

/** Versions of an address's bytes whose ops are kept for the next run (DecodeCache.records). */
const VERSIONS = 4;
const sameBytes = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** Decodes and caches code; owns page.ops/blocks/blist (memory.ts calls invalidatePage on writes). */
export class DecodeCache implements CodeCache {
  /** iced's decoding target, made on the first decode (a run from the code cache never loads iced) */
  private insnObj: Instruction | null = null;
  private get insn(): Instruction { return this.insnObj ??= new Instruction(); }
  /** statistics */
  decoded = 0; invalidations = 0;
  /** Ops decoded by an earlier run (each address with the versions of its bytes seen: an int3 a probe
   *  wrote, the original instruction): used where the bytes in memory are still theirs. */
  private pre: OpSource | null = null;
  /** Each page's range of `pre` (by page base: its first index, and the index past its last) */
  private preRange = new Map<number, [number, number]>();
  /** Each of `pre`'s ops' page offset (reuse's search: small integers, where the addresses are doubles
   *  that unoptimized code boxes at every read) */
  private preOff = new Int16Array(0);
  /** The page reuse() looked at last: its base and range. */
  private preBase = NaN;
  private preLo = 0;
  private preHi = 0;
  /** The op last made of each of `pre`'s ops (its shape, learned in this run, goes into records()). */
  private made: (Op | undefined)[] = [];
  /** The ops iced decoded in this process, for the next run. */
  private fresh: Op[] = [];
  /** Ops taken from the records of an earlier run (statistics, tests). */
  reused = 0;
  /** shapeLog.learned when the records were preloaded */
  private learnedAt = 0;
  constructor(readonly mem: Memory) { mem.codeCache = this; }

  /** Were ops of an earlier run offered (a code cache entry was read for this machine)? */
  get preloaded(): boolean { return this.pre !== null; }
  /** Offer ops decoded by an earlier run (DecodeCache.records). Each is used only where memory holds its
   *  exact bytes then, so the records change what is decoded by iced, never what runs. */
  preload(from: OpSource | readonly OpRecord[]): void {
    const pre = this.pre = Array.isArray(from) ? recordSource(from as readonly OpRecord[]) : from as OpSource;
    this.preBase = NaN;
    this.made = new Array(pre.n);
    const range = this.preRange = new Map();
    const ips = pre.ips, offs = this.preOff = new Int16Array(pre.n);
    for (let i = 0; i < pre.n;) {
      const base = ips[i] - (ips[i] & 4095);
      let j = i;
      for (; j < pre.n && ips[j] - base < PAGE_SIZE; j++) offs[j] = ips[j] - base;
      range.set(base, [i, j]);
      i = j;
    }
    this.learnedAt = shapeLog.learned;
  }
  /** The records to keep for the next run: those preloaded and those decoded since, with the shapes learned
   *  for them; at each address the newest versions of its bytes first, VERSIONS at most (runs with and
   *  without a probe there then both find theirs, and neither rewrites the entry); null when there is
   *  nothing new. */
  records(always = false): OpRecord[] | null {
    if (!always && this.fresh.length === 0 && shapeLog.learned === this.learnedAt) return null;
    const at = new Map<number, OpRecord[]>();
    const add = (r: OpRecord) => {
      const l = at.get(r[0]);
      if (l === undefined) { at.set(r[0], [r]); return; }
      if (l.length >= VERSIONS || l.some((x) => sameBytes(x[21], r[21]))) return;
      l.push(r);
    };
    for (let i = this.fresh.length - 1; i >= 0; i--) add(toRecord(this.fresh[i]));
    const pre = this.pre;
    if (pre !== null) {
      for (let i = 0; i < pre.n; i++) {
        const r = pre.record(i), o = this.made[i];
        if (o !== undefined && o.shape !== null) r[24] = o.shape;
        add(r);
      }
    }
    return [...at.values()].flat();
  }

  /** The op of an earlier run at page offset `off` of `p`, if memory still holds its bytes there (and
   *  in the next page, for one that runs into it, only where the decoder would have read them). */
  private reuse(p: Page, off: number): Op | null {
    const pre = this.pre!, offs = this.preOff;
    if (p.base !== this.preBase) {
      this.preBase = p.base;
      const r = this.preRange.get(p.base);
      this.preLo = r === undefined ? 0 : r[0]; this.preHi = r === undefined ? 0 : r[1];
    }
    // the first of the page's ops at or past this offset
    let lo = this.preLo, hi = this.preHi;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (offs[mid] < off) lo = mid + 1; else hi = mid; }
    for (let i = lo; i < this.preHi && offs[i] === off; i++) {
      const b = pre.bytes(i), len = b.length;
      // bytes that did not decode, and instructions running into the next page, are rare: one call for
      // both (V8 threw reuse's optimized code away at the first of each when they had a path here)
      if (pre.fault(i) !== undefined || off + len > PAGE_SIZE) { const op = this.reuseEdge(p, off, i); if (op !== null) return op; continue; }
      const u8 = p.u8;
      let k = 0;
      while (k < len && u8[off + k] === b[k]) k++;
      if (k === len) return this.make(i, p);
    }
    return null;
  }

  /** The page after `p` if code on `p` may run into it (fetchable at the current privilege), else null. */
  private fetchableNext(p: Page): Page | null {
    const next = this.mem.page(p.base + PAGE_SIZE);
    return next && (next.perms & PERM_X) !== 0 && (!this.mem.user || (next.perms & PERM_U) !== 0) ? next : null;
  }

  /** reuse() of op i at page offset `off` of `p` that did not decode or runs into the next page. */
  private reuseEdge(p: Page, off: number, i: number): Op | null {
    if (this.pre!.fault(i) !== undefined) return this.reuseFault(p, off, i);
    const b = this.pre!.bytes(i), len = b.length;
    const next = this.fetchableNext(p);
    if (next === null) return null;
    for (let k = 0; k < len; k++) {
      const o = off + k;
      if ((o < PAGE_SIZE ? p.u8[o] : next.u8[o - PAGE_SIZE]) !== b[k]) return null;
    }
    next.spanned = true; this.mem.unWrite(next.base);
    return this.make(i, p);
  }

  /** Op i of `pre` on page `p` (a shape an earlier op of it learned in this run comes along). */
  private make(i: number, p: Page): Op {
    this.reused++;
    const op = this.pre!.op(i, (p.perms & PAGE_PROBE) !== 0);
    const was = this.made[i];
    if (was !== undefined && op.shape === null) op.shape = was.shape;
    this.made[i] = op;
    return op;
  }

  /** A record of bytes that did not decode, if decodeRun would find them again here: the same bytes up to
   *  where it reads (the page's end, or 15 bytes into the next page when that one is fetchable) and, near
   *  the page's end, the same fetchability of the next page. */
  private reuseFault(p: Page, off: number, i: number): Op | null {
    const fault = this.pre!.fault(i)!, b = this.pre!.bytes(i);
    const next = this.fetchableNext(p), nextOk = next !== null;
    const n = b.length;
    if (n !== Math.min(15, PAGE_SIZE - off + (nextOk ? 15 : 0))) return null;
    if (PAGE_SIZE - off < 15 && nextOk !== ((fault & 4) !== 0)) return null;
    for (let k = 0; k < n; k++) {
      const o = off + k;
      if ((o < PAGE_SIZE ? p.u8[o] : next!.u8[o - PAGE_SIZE]) !== b[k]) return null;
    }
    const op = this.make(i, p);
    op.bad = fault & 3;
    if (op.bad === 1) op.faultAddr = p.base + PAGE_SIZE;
    return op;
  }

  invalidatePage(p: Page): void {
    this.invalidations++;
    if (STATS_ON) stats.invalidations++;
    if (p.blist) for (const b of p.blist) b.valid = false;
    p.ops = null; p.blocks = null; p.blist = null;
    if (p === this.decPage) this.endRun(); // (its bytes are a copy of the page's)
  }

  /**
   * Decode the straight-line run of instructions starting at `addr` on page `p` (already checked for
   * fetch permission): up to the first control transfer, a block-ending instruction, the page end, or
   * MAX_BLOCK instructions. Ops already decoded are reused. Returns how many: they are the first of
   * `run`, until the next call.
   */
  decodeRun(p: Page, addr: number, endsBlock: (op: Op) => boolean): number {
    // Kept under V8's size for optimizing a function on its first tick (81 bytes of bytecode): a short run
    // builds ~2,500 blocks over ops already decoded (real Linux: 58K op visits), and a larger loop here
    // stayed in baseline code for most of the run whenever V8 kept resetting its ticks (every IC change in
    // the function does): ~250 ms. Ops not yet known are found or decoded by miss(); iced's decoder lives
    // until endRun() (the caller's, when its block is collected).
    const out = this.run;
    let n = 0, off = addr - p.base;
    const ops = p.ops ?? this.newOps(p);
    for (;;) {
      const op = pageGet(ops, off) ?? this.miss(p, ops, off);
      out[n++] = op;
      off += op.len;
      if (op.bad || op.flow !== 0 || endsBlock(op) || n >= MAX_BLOCK || off >= PAGE_SIZE) return n;
    }
  }

  /** decodeRun's ops (the first n it returned; one array for every call: a short run makes ~12K) */
  readonly run: Op[] = new Array(MAX_BLOCK).fill(null);

  private newOps(p: Page): PageTable<Op> {
    this.mem.unWrite(p.base);
    return p.ops = newPageTable();
  }

  /** The op at page offset `off` of `p` that `ops` (its table) lacks: an earlier run's, else decoded now. */
  private miss(p: Page, ops: PageTable<Op>, off: number): Op {
    const op = (this.pre !== null ? this.reuse(p, off) : null) ?? this.decodeAt(p, off);
    pageSet(ops, off, op);
    return op;
  }

  /** Free iced's decoder of the decodeRun calls since the last endRun (their bytes are a copy of the page's
   *  then: a later write must not reach a later decode). */
  endRun(): void {
    if (this.dec !== null) { this.dec.free(); this.dec = null; this.buf = null; this.decPage = null; }
  }

  /** iced's decoder over page `decPage` (from `bufOff` to its end, and 15 bytes of the next page when it is
   *  executable: `nextOk`), until endRun. */
  private dec: Decoder | null = null;
  private decPage: Page | null = null;
  private buf: Uint8Array | null = null;
  private bufOff = 0;
  private nextOk = false;

  /** Decode the instruction at page offset `off` of `p` with iced (decodeRun: no op of it is known). */
  private decodeAt(p: Page, off: number): Op {
    const m = this.mem;
    let dec = this.dec;
    if (dec !== null && (this.decPage !== p || off < this.bufOff)) { this.endRun(); dec = null; }
    if (dec === null) {
      this.decPage = p;
      // bytes from off to the end of the page, plus up to 15 bytes of the next page if it is executable
      const next = this.fetchableNext(p);
      const nextOk = this.nextOk = next !== null;
      const buf = this.buf = new Uint8Array(PAGE_SIZE - off + (nextOk ? 15 : 0));
      buf.set(p.u8.subarray(off));
      if (nextOk) buf.set(next!.u8.subarray(0, 15), PAGE_SIZE - off);
      dec = this.dec = new Decoder(64, buf, DecoderOptions.None);
      this.bufOff = off;
      dec.ip = BigInt.asUintN(64, BigInt(p.base + off));
      dec.position = 0;
    }
    const buf = this.buf!, nextOk = this.nextOk;
    const start = off - this.bufOff;
    if (dec.position !== start) { dec.position = start; dec.ip = BigInt.asUintN(64, BigInt(p.base + off)); }
    const ip = p.base + off;
    dec.decodeOut(this.insn);
    const i = this.insn;
    const len = i.length;
    const bytes = buf.slice(start, start + Math.max(len, 1));
    let op: Op;
    if (i.code === Code.INVALID) {
      // Either a truly invalid encoding, or bytes run past the page into one we may not fetch.
      const avail = buf.length - start;
      op = fillOp(i, ip, buf.slice(start, start + Math.min(15, avail)), (p.perms & PAGE_PROBE) !== 0);
      op.len = 1; op.next = ip + 1; op.flow = 0; op.nops = 0; op.fread = 0; op.fwrite = 0;
      if (!nextOk && PAGE_SIZE - off < 15 && this.needsMore(buf.slice(start))) {
        op.bad = 1; op.faultAddr = p.base + PAGE_SIZE;
      } else op.bad = 2;
      // kept too (OpRecord fault): a warm run finds these bytes again without iced
      op.fault = op.bad | (nextOk ? 4 : 0);
      this.fresh.push(op);
    } else {
      op = fillOp(i, ip, bytes, (p.perms & PAGE_PROBE) !== 0);
      this.fresh.push(op);
      if (off + len > PAGE_SIZE) {
        // spans into the next page: a write there must drop this page's code too
        const nx = m.page(p.base + PAGE_SIZE)!;
        nx.spanned = true; m.unWrite(nx.base);
      }
    }
    this.decoded++;
    if (STATS_ON) stats.opsDecoded++;
    return op;
  }

  /** Would these bytes decode given more bytes? (distinguishes "truncated by the page end" from "invalid") */
  private needsMore(bytes: Uint8Array): boolean {
    const padded = new Uint8Array(16);
    padded.set(bytes.subarray(0, 15));
    const d = new Decoder(64, padded, DecoderOptions.None);
    try { d.decodeOut(this.insn); return this.insn.code !== Code.INVALID && this.insn.length > bytes.length; }
    finally { d.free(); }
  }
}

export { Mnemonic, TWO32 };
