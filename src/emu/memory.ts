// Guest memory: sparse 4 KiB pages with permissions, a software TLB per access kind and privilege level,
// precise #PF/#GP for guest accesses, and code-page tracking so writes invalidate decoded instructions.
// The bytes of every page the memory owns live in one flat ArrayBuffer (the arena); a TLB hit yields the
// page's offset in it (qemu's addend), so a guest load is one DataView access (compile.ts inlines it).
import { EmuError, halvesToBig } from './addr.js';
import { CANON_HI, CANON_LO, hex0x, isCanonical, toAddr } from '../base/addr.js';
import { VEC_GP, VEC_PF } from '../base/x86.js';

export const PERM_R = 1, PERM_W = 2, PERM_X = 4, PERM_U = 8;
/** Instructions on such pages count in cpu.probeInstret, not cpu.instret; external interrupts are not
 *  delivered while RIP is on such a page (kprobe slots, detour buffers, trampolines). */
export const PAGE_PROBE = 16;

export const PAGE_SIZE = 4096;
const TLB_BITS = 12;
const TLB_SIZE = 1 << TLB_BITS;
const TLB_MASK = TLB_SIZE - 1;

// #PF error code bits (SDM Vol. 3A, 4.7 "Page-Fault Exceptions").
export const PF_P = 1, PF_W = 2, PF_U = 4, PF_I = 16;

/** Thrown (one preallocated object, never allocated in the hot path) when a guest access faults; the
 *  fault's details are already in the current FaultTarget (the CPU). */
export const FAULT = { fault: true };

/** Where a guest fault is recorded: the running CPU. */
export interface FaultTarget { trapVector: number; errorCode: number; faultAddr: number; cr2: number; }

/** Anything that caches decoded code of a page (the decode cache); told when the page's bytes change. */
export interface CodeCache { invalidatePage(page: Page): void; }

// Every page starts out sharing one zero-filled buffer and gets its own on the first write (host or
// guest), so mapping the fixture's 32 MiB of RAM costs only what the kernel really touches.
const ZERO_U8 = new Uint8Array(PAGE_SIZE);
const ZERO_DV = new DataView(ZERO_U8.buffer);

/** Default size of a Memory's arena: address space reserved, not RAM used (the OS commits pages of the
 *  zero-filled buffer as they are first touched). */
export const ARENA_BYTES = 1 << 30;
/** The side area after an arena's page slots: six TLBs (tags as float64, arena offsets as int32; order
 *  [supervisor, user] x [read, write, fetch]) and SCRATCH_BYTES for wasm.ts (guest state in and out). */
export const TLB_BYTES = TLB_SIZE * 12;
export const SCRATCH_BYTES = 4096;
const SIDE_BYTES = 6 * TLB_BYTES + SCRATCH_BYTES;
/** Arena offset of a page that is always zero (TLB read/fetch entries of pages nobody wrote yet). */
const ZERO_OFF = 0;

/**
 * The flat buffer holding the bytes of the memory's pages, handed out in 4 KiB slots (and page-aligned
 * regions: guest-physical RAM, Memory.allocPhysical). Slots of unmapped pages are reused, zeroed.
 */
class Arena {
  /** The WebAssembly.Memory holding the arena (wasm.ts's compiled regions address it directly); it never
   *  grows, so typed-array views over it stay valid. */
  readonly wasm: WebAssembly.Memory;
  readonly u8: Uint8Array<ArrayBuffer>;
  readonly dv: DataView;
  /** Offset of the side area after the page slots: the TLBs and wasm.ts's scratch (SIDE_BYTES). */
  readonly side: number;
  private top = PAGE_SIZE; // slot 0 is the zero page
  private readonly free: number[] = [];
  constructor(bytes: number) {
    if (!(bytes >= 2 * PAGE_SIZE && bytes % PAGE_SIZE === 0 && bytes <= 1 << 30)) throw new EmuError(`memory arena: ${bytes} bytes is not a page multiple in [8 KiB, 1 GiB]`);
    const pages = Math.ceil((bytes + SIDE_BYTES) / 65536);
    this.wasm = new WebAssembly.Memory({ initial: pages, maximum: pages });
    this.side = bytes;
    this.u8 = new Uint8Array(this.wasm.buffer as ArrayBuffer, 0, bytes);
    this.dv = new DataView(this.wasm.buffer as ArrayBuffer);
  }
  slot(): number {
    const f = this.free.pop();
    if (f !== undefined) { this.u8.fill(0, f, f + PAGE_SIZE); return f; }
    return this.region(PAGE_SIZE);
  }
  region(bytes: number): number {
    const off = this.top;
    if (off + bytes > this.u8.length) throw new EmuError(`guest memory arena exhausted (${this.u8.length >> 20} MiB): cannot allocate ${bytes} more bytes`);
    this.top += bytes;
    return off;
  }
  release(off: number): void { this.free.push(off); }
}

export class Page {
  u8 = ZERO_U8;
  dv = ZERO_DV;
  /** Offset of the page's bytes in its memory's arena; -1 while it has none (all zeros) or when its
   *  bytes are a frame in a buffer of someone else's (mapFrames: such pages take the slow path). */
  off = -1;
  /** The page's bytes are an arena slot of its own (released when it is unmapped). */
  slotted = false;
  /** give the page its own bytes before the first write */
  own(): void { if (this.u8 === ZERO_U8) this.mem.materialize(this); }
  get materialized(): boolean { return this.u8 !== ZERO_U8; }
  /** An instruction decoded on the previous page extends into this one. */
  spanned = false;
  /** The other virtual pages on the same physical frame (Memory.mapPhysical), or null. */
  aliases: FrameAliases | null = null;
  constructor(readonly base: number, public perms: number, private readonly mem: Memory) {
    // The decode cache's state of this page: ops, blocks and blist (their types: decode.ts).
    this.ops = null; this.blocks = null; this.blist = null;
  }
  /** Decoded code on this page's bytes: through this page, or through an alias of its frame. */
  get hasCode(): boolean { return this.ops !== null || this.spanned || (this.aliases !== null && this.aliases.hasCode()); }
}

/** The virtual pages mapped onto one physical frame (Memory.mapPhysical): a store through any of them
 *  invalidates code decoded through every one (text_poke writes kernel text through a temporary alias). */
export class FrameAliases {
  readonly pages: Page[] = [];
  constructor(readonly phys: number) {}
  hasCode(): boolean {
    for (const q of this.pages) if (q.ops !== null || q.spanned) return true;
    return false;
  }
}

/** One TLB: the page base of each entry (NaN: empty), its arena offset (the addend: a hit at page offset
 *  o is arena byte off[i] + o) and its Page. */
interface Tlb { tag: Float64Array; off: Int32Array; pg: Page[]; }
/** TLB k of the side area at `side` (tags, then offsets). */
function newTlb(buf: ArrayBuffer, side: number, k: number): Tlb {
  const at = side + k * TLB_BYTES;
  return { tag: new Float64Array(buf, at, TLB_SIZE).fill(NaN), off: new Int32Array(buf, at + TLB_SIZE * 8, TLB_SIZE), pg: new Array(TLB_SIZE).fill(null) };
}

export class Memory {
  private readonly pages = new Map<number, Page>();
  private readonly arena: Arena;
  /** The arena's bytes: a TLB hit at page offset o is D.getX(xa[i] + o). */
  readonly D: DataView;
  readonly U8: Uint8Array<ArrayBuffer>;
  // TLBs for [supervisor, user]: read, write, fetch. The active set is the CPU's current privilege level.
  private readonly tlbs: Tlb[][];
  /** The WebAssembly.Memory whose buffer holds the arena and the TLBs (wasm.ts; typed by its shape, so
   *  that the package's declarations need no WebAssembly types). */
  readonly wasmMemory: { readonly buffer: ArrayBufferLike };
  /** Offsets in it: the TLBs (TLB k = [user][kind] at tlbAt + (3 * user + kind) * TLB_BYTES) and the scratch. */
  readonly tlbAt: number;
  readonly scratchAt: number;
  /** The active read, write and fetch TLBs: tags and arena offsets (read by generated code). */
  rt: Float64Array; ra: Int32Array;
  wt: Float64Array; wa: Int32Array;
  ft: Float64Array; fpg: Page[];
  /** 1 when guest accesses are made at CPL 3. */
  user = 0;
  /** The CPU whose accesses are being made (fault details go there). */
  cur: FaultTarget = { trapVector: 0, errorCode: 0, faultAddr: 0, cr2: 0 };
  /** Set when a guest store or writeBytes invalidated decoded code; the block in flight checks it. */
  smc = 0;
  /** High half of the last r64(). */
  hi = 0;
  codeCache: CodeCache | null = null;
  /** Bumped whenever mappings change (cached translations elsewhere compare it). */
  generation = 0;
  /** When set, every host write and mapping change is logged here (the boot snapshot asks what the
   *  upper layers changed before the machine ran: kernel/snapshot.ts). `old` is null for mapping changes;
   *  `pending`: nothing written yet, the upper layer will patch these bytes once the guest is ready. */
  hostLog: { addr: number; len: number; old: Uint8Array | null; pending?: boolean; late?: boolean }[] | null = null;

  /** arenaBytes: the address space reserved for page bytes (ARENA_BYTES; committed only where touched). */
  constructor(arenaBytes = ARENA_BYTES) {
    this.arena = new Arena(arenaBytes);
    this.D = this.arena.dv; this.U8 = this.arena.u8;
    this.wasmMemory = this.arena.wasm;
    const buf = this.wasmMemory.buffer as ArrayBuffer, side = this.arena.side;
    this.tlbs = [0, 1].map((u) => [0, 1, 2].map((k) => newTlb(buf, side, 3 * u + k)));
    this.tlbAt = side; this.scratchAt = side + 6 * TLB_BYTES;
    const t = this.tlbs[0];
    this.rt = t[0].tag; this.ra = t[0].off; this.wt = t[1].tag; this.wa = t[1].off; this.ft = t[2].tag; this.fpg = t[2].pg;
  }

  setUser(u: number): void {
    this.user = u;
    const t = this.tlbs[u];
    this.rt = t[0].tag; this.ra = t[0].off; this.wt = t[1].tag; this.wa = t[1].off; this.ft = t[2].tag; this.fpg = t[2].pg;
  }

  /** Give page `p` bytes of its own: a zeroed arena slot (Page.own). TLB entries that read it as the zero
   *  page are dropped. */
  materialize(p: Page): void {
    if (p.materialized) return;
    const off = this.arena.slot();
    p.off = off; p.slotted = true;
    p.u8 = this.U8.subarray(off, off + PAGE_SIZE);
    p.dv = new DataView(this.U8.buffer, off, PAGE_SIZE);
    this.dropEntries(p.base);
  }
  /** Drop the TLB entries of the page at `base` (every privilege level and kind). */
  private dropEntries(base: number): void {
    const i = (base >> 12) & TLB_MASK;
    for (const set of this.tlbs) for (const t of set) if (t.tag[i] === base) t.tag[i] = NaN;
  }
  /** The page at `p` is gone: its arena slot can be reused. */
  private release(p: Page): void {
    if (p.slotted) { p.slotted = false; this.arena.release(p.off); }
  }
  /**
   * Guest-physical RAM for a platform that maps pages by frame (mapPhysical): `bytes` (a page multiple)
   * of zeroed arena, so that pages mapped onto it take the TLB's fast path.
   */
  allocPhysical(bytes: number): Uint8Array<ArrayBuffer> {
    if (!(bytes > 0 && bytes % PAGE_SIZE === 0)) throw new EmuError(`allocPhysical: ${bytes} bytes is not a positive page multiple`);
    const off = this.arena.region(bytes);
    return this.U8.subarray(off, off + bytes);
  }

  flushTlb(): void {
    for (const set of this.tlbs) for (const t of set) { t.tag.fill(NaN); t.pg.fill(null as any); }
    this.generation++;
  }
  /** Drop one page, and every alias of its frame, from the write TLBs (it now holds decoded code, so
   *  stores must take the slow path). */
  unWrite(base: number): void {
    this.unWriteOne(base);
    const p = this.pages.get(base);
    if (p && p.aliases !== null) for (const q of p.aliases.pages) if (q.base !== base) this.unWriteOne(q.base);
  }
  private unWriteOne(base: number): void {
    const i = (base >> 12) & TLB_MASK;
    for (const set of this.tlbs) if (set[1].tag[i] === base) set[1].tag[i] = NaN;
  }

  /** Bytes of guest memory actually allocated (pages written at least once). */
  get residentBytes(): number { let n = 0; for (const p of this.pages.values()) if (p.materialized) n += PAGE_SIZE; return n; }

  // ---- mapping ----
  private checkRange(addr: number, size: number, what: string): void {
    if (!Number.isInteger(addr) || !Number.isInteger(size) || (addr & 4095) !== 0 || (size & 4095) !== 0 || size < 0)
      throw new EmuError(`${what}: address ${hex0x(addr)} and size ${size} must be page-aligned`);
    if (addr < CANON_LO || addr + size > CANON_HI) throw new EmuError(`${what}: ${hex0x(addr)}+${size} is not canonical`);
  }
  map(addr: number, size: number, perms: number): void {
    this.checkRange(addr, size, 'map');
    if (this.hostLog) this.hostLog.push({ addr, len: size, old: null });
    for (let a = addr; a < addr + size; a += PAGE_SIZE) {
      const old = this.pages.get(a);
      if (old) { this.dropCode(old); this.detachAlias(old); this.release(old); }
      else this.newNeighbour(a);
      this.pages.set(a, new Page(a, perms | PERM_R, this));
    }
    this.flushTlb();
  }
  /** A page appears at `a`: an instruction at the end of the page before it that ran into the then
   *  unmapped page was decoded as a fetch fault, so that page's decoded code is stale. */
  private newNeighbour(a: number): void {
    const prev = this.pages.get(a - PAGE_SIZE);
    if (prev && prev.ops !== null) this.dropCode(prev);
  }
  unmap(addr: number, size: number): void {
    this.checkRange(addr, size, 'unmap');
    if (this.hostLog) this.hostLog.push({ addr, len: size, old: null });
    for (let a = addr; a < addr + size; a += PAGE_SIZE) {
      const p = this.pages.get(a);
      if (p) { this.dropCode(p); this.detachAlias(p); this.release(p); this.pages.delete(a); }
    }
    this.flushTlb();
  }
  /**
   * Map pages whose bytes are given buffers (4096 bytes each, e.g. views into one ArrayBuffer of guest
   * physical memory): page i of [addr, addr + 4096 * frames.length) is frames[i]. Mapping the same
   * buffer at several addresses makes aliases that see each other's writes, as virtual addresses mapped
   * to one physical page do. Decoded code is tracked per page here; mapPhysical also tracks it per
   * physical page, so that a store through one alias invalidates code decoded through another.
   */
  mapFrames(addr: number, perms: number, frames: readonly Uint8Array<ArrayBuffer>[]): void {
    this.checkRange(addr, frames.length * PAGE_SIZE, 'mapFrames');
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i];
      if (f.length !== PAGE_SIZE) throw new EmuError(`mapFrames: frame ${i} is ${f.length} bytes, not ${PAGE_SIZE}`);
      this.placeFrame(addr + i * PAGE_SIZE, perms, f);
    }
    this.flushTlb();
  }
  /** A new page at `addr` whose bytes are `frame`, replacing what was mapped there (no TLB flush). */
  private placeFrame(addr: number, perms: number, frame: Uint8Array<ArrayBuffer>): Page {
    const old = this.pages.get(addr);
    if (old) { this.dropCode(old); this.detachAlias(old); this.release(old); }
    else this.newNeighbour(addr);
    const p = new Page(addr, perms | PERM_R, this);
    p.u8 = frame; p.dv = new DataView(frame.buffer, frame.byteOffset, PAGE_SIZE);
    // a frame in the arena (allocPhysical) takes the TLB's fast path; one elsewhere the slow path
    p.off = frame.buffer === this.U8.buffer ? frame.byteOffset : -1;
    this.pages.set(addr, p);
    return p;
  }
  /** Unmap the given pages (page-aligned addresses; unmapped ones are skipped); only their TLB entries
   *  go (the whole TLB when there are many). */
  unmapPages(addrs: Iterable<number>): void {
    const gone: number[] = [];
    for (const a of addrs) {
      const p = this.pages.get(a);
      if (p) { this.dropCode(p); this.detachAlias(p); this.release(p); this.pages.delete(a); gone.push(a); }
    }
    this.dropTlbPages(gone);
  }
  /** The guest invalidated the translation of the page holding `addr` (invlpg): its TLB entries go. The
   *  TLB caches only the page map, which the guest does not see, so nothing else can be stale; a platform
   *  that walks the guest's page tables drops its own mapping too (Cpu.host.onPaging). */
  invalidateAddress(addr: number): void { this.dropTlbPages([addr - (addr & 4095)]); }
  /** Drop the TLB entries of these pages: one by one when they are few (a full flush clears 6 TLBs of
   *  TLB_SIZE entries each: Linux's boot runs ~10^5 invlpg, and each cost such a flush, twice). */
  private dropTlbPages(bases: readonly number[]): void {
    if (bases.length > 64) { this.flushTlb(); return; }
    for (const b of bases) this.dropEntries(b);
    this.generation++;
  }

  // ---- physical frames (a platform that walks guest page tables) ----
  private readonly frames = new Map<number, FrameAliases>();
  /**
   * Map the page at `addr` onto `frame` (4096 bytes of guest-physical RAM at physical address `phys`),
   * as mapFrames does, and record it as an alias of that physical page: decoded code is then invalidated
   * by physical page, whichever virtual alias a store goes through.
   */
  mapPhysical(addr: number, perms: number, frame: Uint8Array<ArrayBuffer>, phys: number): void {
    this.checkRange(addr, PAGE_SIZE, 'mapPhysical');
    if (frame.length !== PAGE_SIZE) throw new EmuError(`mapPhysical: the frame is ${frame.length} bytes, not ${PAGE_SIZE}`);
    const p = this.placeFrame(addr, perms, frame);
    // only this page's TLB entries can be stale (a page fault maps one page at a time)
    this.dropEntries(addr);
    this.generation++;
    let g = this.frames.get(phys);
    if (!g) { g = new FrameAliases(phys); this.frames.set(phys, g); }
    g.pages.push(p);
    p.aliases = g;
    if (g.hasCode()) this.unWrite(addr);
  }
  /** Guest-physical bytes at `phys` changed without a mapping (a CPU in real mode, legacy.ts): decoded
   *  code of that frame, through whichever alias, is stale. */
  touchPhys(phys: number): void {
    const g = this.frames.get(phys - (phys & 4095));
    if (g && g.hasCode()) this.touchCode(g.pages[0]);
  }
  private detachAlias(p: Page): void {
    const g = p.aliases;
    if (g === null) return;
    p.aliases = null;
    const i = g.pages.indexOf(p);
    if (i >= 0) g.pages.splice(i, 1);
    if (g.pages.length === 0) this.frames.delete(g.phys);
  }
  protect(addr: number, size: number, perms: number): void {
    this.checkRange(addr, size, 'protect');
    if (this.hostLog) this.hostLog.push({ addr, len: size, old: null });
    for (let a = addr; a < addr + size; a += PAGE_SIZE) {
      const p = this.pages.get(a);
      if (!p) throw new EmuError(`protect: ${hex0x(a)} is not mapped`);
      // Any permission change drops decoded code on the page: PAGE_PROBE and X change how it is counted and
      // fetched, and U/W changes must not be bypassed by the run loop's cached links between blocks.
      if ((p.perms ^ (perms | PERM_R)) !== 0) this.dropCode(p);
      p.perms = perms | PERM_R;
    }
    this.flushTlb();
  }
  permsAt(addr: number): number {
    const p = this.pages.get(addr - (addr & 4095));
    return p ? p.perms : 0;
  }
  page(addr: number): Page | undefined { return this.pages.get(addr - (addr & 4095)); }
  /** Every mapped page, in mapping order (snapshots). */
  allPages(): IterableIterator<Page> { return this.pages.values(); }
  /** Put a page back as a snapshot saved it: mapped with `perms`, holding `bytes` (null: all zeros). */
  restorePage(base: number, perms: number, bytes: Uint8Array | null): void {
    let p = this.pages.get(base);
    if (!p) { p = new Page(base, perms, this); this.pages.set(base, p); }
    else if (p.perms !== perms) { this.dropCode(p); p.perms = perms; }
    if (p.hasCode) this.touchCode(p);
    if (bytes) { p.own(); p.u8.set(bytes); }
    else if (p.materialized) p.u8.fill(0);
    this.smc = 0;
  }
  /** Number of mapped pages (for memory accounting). */
  get pageCount(): number { return this.pages.size; }

  private dropCode(p: Page): void {
    if (p.hasCode && this.codeCache) this.codeCache.invalidatePage(p);
  }
  /** The bytes of page `p` are about to change: decoded code on it (and an instruction spanning into it
   *  from the previous page) is stale. */
  private touchCode(p: Page): void {
    if (!this.codeCache) return;
    this.touchOne(p);
    if (p.aliases !== null) for (const q of p.aliases.pages) if (q !== p) this.touchOne(q);
    this.smc = 1;
  }
  private touchOne(p: Page): void {
    const cc = this.codeCache!;
    if (p.ops !== null) cc.invalidatePage(p);
    if (p.spanned) {
      p.spanned = false;
      const prev = this.pages.get(p.base - PAGE_SIZE);
      if (prev && prev.ops !== null) cc.invalidatePage(prev);
    }
  }

  // ---- host-side accessors: no permission checks, no guest faults ----
  private hostPage(addr: number): Page {
    let p = this.pages.get(addr - (addr & 4095));
    if (!p && this.onHostMiss !== null && this.onHostMiss(addr - (addr & 4095))) p = this.pages.get(addr - (addr & 4095));
    if (!p) throw new EmuError(`host access to unmapped address ${hex0x(addr)}`);
    return p;
  }
  /** A host access (readBytes, writeBytes, read8...) found no page at `page`: a platform that maps
   *  pages on demand (a guest page-table walk) may map it now and return true. */
  onHostMiss: ((page: number) => boolean) | null = null;
  read8(addr: number): number { return this.hostPage(addr).u8[addr & 4095]; }
  read16(addr: number): number { return this.read8(addr) | (this.read8(addr + 1) << 8); }
  read32(addr: number): number { return (this.read16(addr) | (this.read16(addr + 2) << 16)) >>> 0; }
  read64(addr: number): bigint { return halvesToBig(this.read32(addr), this.read32(addr + 4)); }
  write8(addr: number, v: number): void { this.writeBytes(addr, Uint8Array.of(v & 255)); }
  write16(addr: number, v: number): void { this.writeBytes(addr, Uint8Array.of(v & 255, (v >>> 8) & 255)); }
  write32(addr: number, v: number): void {
    this.writeBytes(addr, Uint8Array.of(v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255));
  }
  write64(addr: number, v: bigint): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
    this.writeBytes(addr, b);
  }
  readBytes(addr: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    let done = 0;
    while (done < len) {
      const a = addr + done, off = a & 4095, n = Math.min(len - done, PAGE_SIZE - off);
      out.set(this.hostPage(a).u8.subarray(off, off + n), done);
      done += n;
    }
    return out;
  }
  /** Host write (loader, platform, text_poke): invalidates decoded code on every page it changes. */
  writeBytes(addr: number, bytes: Uint8Array): void {
    // Check the whole range first so a failed write changes nothing.
    for (let d = 0; d < bytes.length;) { const a = addr + d; this.hostPage(a); d += PAGE_SIZE - (a & 4095); }
    if (this.hostLog) this.hostLog.push({ addr, len: bytes.length, old: this.readBytes(addr, bytes.length) });
    let done = 0;
    while (done < bytes.length) {
      const a = addr + done, off = a & 4095, n = Math.min(bytes.length - done, PAGE_SIZE - off);
      const p = this.hostPage(a);
      if (p.hasCode) this.touchCode(p);
      p.own();
      p.u8.set(bytes.subarray(done, done + n), off);
      done += n;
    }
  }
  readCString(addr: number, max: number): string {
    let s = '';
    for (let i = 0; i < max; i++) {
      const p = this.pages.get((addr + i) - ((addr + i) & 4095));
      if (!p) break;
      const c = p.u8[(addr + i) & 4095];
      if (c === 0) break;
      s += String.fromCharCode(c);
    }
    return s;
  }

  // ---- guest accesses (CPU): fast paths through the TLB, precise faults on the slow path ----
  r8(a: number): number {
    const off = a & 4095, i = (a >> 12) & TLB_MASK;
    if (this.rt[i] === a - off) return this.U8[this.ra[i] + off];
    return this.slowRead(a, 1);
  }
  r16(a: number): number {
    const off = a & 4095, i = (a >> 12) & TLB_MASK;
    if (this.rt[i] === a - off && off <= 4094) return this.D.getUint16(this.ra[i] + off, true);
    return this.slowRead(a, 2);
  }
  r32(a: number): number {
    const off = a & 4095, i = (a >> 12) & TLB_MASK;
    if (this.rt[i] === a - off && off <= 4092) return this.D.getUint32(this.ra[i] + off, true);
    return this.slowRead(a, 4);
  }
  /** Returns the low half; the high half is left in this.hi. */
  r64(a: number): number {
    const off = a & 4095, i = (a >> 12) & TLB_MASK;
    if (this.rt[i] === a - off && off <= 4088) {
      const x = this.ra[i] + off;
      this.hi = this.D.getUint32(x + 4, true);
      return this.D.getUint32(x, true);
    }
    return this.slowRead(a, 8);
  }
  // Reads of a read-modify-write destination: the access is checked as a write before anything happens
  // (a #PF from such an instruction carries the W bit, as on hardware).
  rw8(a: number): number {
    const off = a & 4095, i = (a >> 12) & TLB_MASK;
    if (this.wt[i] === a - off) return this.U8[this.wa[i] + off];
    return this.slowRmw(a, 1);
  }
  rw16(a: number): number {
    const off = a & 4095, i = (a >> 12) & TLB_MASK;
    if (this.wt[i] === a - off && off <= 4094) return this.D.getUint16(this.wa[i] + off, true);
    return this.slowRmw(a, 2);
  }
  rw32(a: number): number {
    const off = a & 4095, i = (a >> 12) & TLB_MASK;
    if (this.wt[i] === a - off && off <= 4092) return this.D.getUint32(this.wa[i] + off, true);
    return this.slowRmw(a, 4);
  }
  rw64(a: number): number {
    const off = a & 4095, i = (a >> 12) & TLB_MASK;
    if (this.wt[i] === a - off && off <= 4088) {
      const x = this.wa[i] + off;
      this.hi = this.D.getUint32(x + 4, true);
      return this.D.getUint32(x, true);
    }
    return this.slowRmw(a, 8);
  }
  private slowRmw(a: number, size: number): number {
    const off = a & 4095;
    this.translate(a, 1);
    if (off + size > PAGE_SIZE) this.translate(a - off + PAGE_SIZE, 1);
    return this.slowRead(a, size);
  }

  w8(a: number, v: number): void {
    const off = a & 4095, i = (a >> 12) & TLB_MASK;
    if (this.wt[i] === a - off) { this.U8[this.wa[i] + off] = v; return; }
    this.slowWrite(a, 1, v, 0);
  }
  w16(a: number, v: number): void {
    const off = a & 4095, i = (a >> 12) & TLB_MASK;
    if (this.wt[i] === a - off && off <= 4094) { this.D.setUint16(this.wa[i] + off, v, true); return; }
    this.slowWrite(a, 2, v, 0);
  }
  w32(a: number, v: number): void {
    const off = a & 4095, i = (a >> 12) & TLB_MASK;
    if (this.wt[i] === a - off && off <= 4092) { this.D.setUint32(this.wa[i] + off, v, true); return; }
    this.slowWrite(a, 4, v, 0);
  }
  w64(a: number, lo: number, hi: number): void {
    const off = a & 4095, i = (a >> 12) & TLB_MASK;
    if (this.wt[i] === a - off && off <= 4088) {
      const x = this.wa[i] + off; this.D.setUint32(x, lo, true); this.D.setUint32(x + 4, hi, true); return;
    }
    this.slowWrite(a, 8, lo, hi);
  }

  /** Raise #PF (vector 14) for the current CPU: CR2 = addr. */
  pageFault(addr: number, err: number): never {
    const c = this.cur;
    c.trapVector = VEC_PF; c.errorCode = err; c.faultAddr = addr; c.cr2 = addr;
    throw FAULT;
  }
  generalProtection(err = 0): never {
    const c = this.cur;
    c.trapVector = VEC_GP; c.errorCode = err; c.faultAddr = 0;
    throw FAULT;
  }

  /** Translate for a guest access: the page, or a precise fault. kind 0 read, 1 write, 2 fetch. */
  translate(a: number, kind: number): Page {
    if (!(a >= CANON_LO && a < CANON_HI)) this.generalProtection(0);
    const base = a - (a & 4095);
    const p = this.pages.get(base);
    const u = this.user;
    const uerr = u ? PF_U : 0;
    const kerr = kind === 1 ? PF_W : kind === 2 ? PF_I : 0;
    if (!p) this.pageFault(a, uerr | kerr);
    const perms = p.perms;
    if ((u && !(perms & PERM_U)) || (kind === 1 && !(perms & PERM_W)) || (kind === 2 && !(perms & PERM_X)))
      this.pageFault(a, PF_P | uerr | kerr);
    // Fill the TLB of this privilege level. Pages holding decoded code stay out of the write TLB, and
    // pages whose bytes are not in the arena (a foreign frame) out of the data TLBs.
    if (kind === 1) p.own(); // drops read entries that saw the page as the zero page
    const t = this.tlbs[u][kind], i = (a >> 12) & TLB_MASK;
    if (kind === 2) { t.tag[i] = base; t.pg[i] = p; }
    else if (p.u8 === ZERO_U8) { t.tag[i] = base; t.off[i] = ZERO_OFF; }
    else if (p.off >= 0 && (kind === 0 || !p.hasCode)) { t.tag[i] = base; t.off[i] = p.off; }
    return p;
  }

  private slowRead(a: number, size: number): number {
    const off = a & 4095;
    if (off + size <= PAGE_SIZE) {
      const p = this.translate(a, 0);
      switch (size) {
        case 1: return p.u8[off];
        case 2: return p.dv.getUint16(off, true);
        case 4: return p.dv.getUint32(off, true);
        default: this.hi = p.dv.getUint32(off + 4, true); return p.dv.getUint32(off, true);
      }
    }
    // Crosses a page boundary: both pages must be readable before anything is returned.
    const p1 = this.translate(a, 0), p2 = this.translate(a - off + PAGE_SIZE, 0);
    let lo = 0, hi = 0;
    for (let k = 0; k < size; k++) {
      const o = off + k;
      const b = o < PAGE_SIZE ? p1.u8[o] : p2.u8[o - PAGE_SIZE];
      if (k < 4) lo |= b << (8 * k); else hi |= b << (8 * (k - 4));
    }
    if (size === 8) this.hi = hi >>> 0;
    return lo >>> 0;
  }

  private slowWrite(a: number, size: number, lo: number, hi: number): void {
    const off = a & 4095;
    const p1 = this.translate(a, 1);
    const cross = off + size > PAGE_SIZE;
    const p2 = cross ? this.translate(a - off + PAGE_SIZE, 1) : p1;
    // Both pages checked: now the store cannot fault, so it may invalidate code and happen.
    if (p1.hasCode) this.touchCode(p1);
    if (cross && p2.hasCode) this.touchCode(p2);
    if (!cross) {
      switch (size) {
        case 1: p1.u8[off] = lo; return;
        case 2: p1.dv.setUint16(off, lo, true); return;
        case 4: p1.dv.setUint32(off, lo, true); return;
        default: p1.dv.setUint32(off, lo, true); p1.dv.setUint32(off + 4, hi, true); return;
      }
    }
    for (let k = 0; k < size; k++) {
      const b = (k < 4 ? lo >>> (8 * k) : hi >>> (8 * (k - 4))) & 255;
      const o = off + k;
      if (o < PAGE_SIZE) p1.u8[o] = b; else p2.u8[o - PAGE_SIZE] = b;
    }
  }
}

export { toAddr, isCanonical };
