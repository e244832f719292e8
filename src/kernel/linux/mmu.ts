// Guest paging for real Linux, on top of the emulator's own page map: on a page fault the platform
// walks the guest's 4-level page tables (from CR3, in guest-physical RAM) and, when they allow the
// access, maps the virtual page onto the physical page's bytes (Memory.mapPhysical: every virtual alias
// of a physical page shares its buffer), so the instruction is retried and the emulator's fast paths
// serve the following accesses. The emulator's page map thus acts as the TLB, kept coherent the way
// Linux keeps a TLB coherent: a CR3 write drops the non-global mappings, invlpg drops one page, a CR0
// or CR4 write drops all. Accessed and dirty bits are set as the hardware sets them: A on the
// leaf at the first access, D at the first write (a clean page is mapped read-only until then).
// SDM Vol. 3A, 4.5 "4-Level Paging". Pages are mapped with Memory.mapPhysical, so code decoded through
// one alias is invalidated by a store through another (text_poke's temporary mapping). Not yet: MMIO
// pages (LAPIC, IO-APIC).
import type { Memory } from '../../emu/memory.js';
import { PERM_R, PERM_U, PERM_W, PERM_X, PF_P, PF_U, PF_W, PF_I } from '../../emu/memory.js';
import type { Cpu } from '../../emu/cpu.js';

const PAGE = 4096;
const P = 1, RW = 2, US = 4, A = 0x20, D = 0x40, PS = 0x80, G = 0x100;
const CR0_WP = 1 << 16, CR4_PGE = 1 << 7;
/** __START_KERNEL_map: the kernel image's virtual base (physical 0; this kernel is not relocated). */
const KERNEL_MAP = -0x80000000;

export interface Walk {
  /** Physical address of the 4 KiB page. */
  pa: number;
  write: boolean; user: boolean; exec: boolean; global: boolean;
  /** Physical address of the leaf entry (for A/D). */
  leaf: number;
  dirty: boolean;
}

/** A low-48-bit view of a canonical address (exact for the signed numbers the emulator uses). */
function low48(va: number): number { return va < 0 ? va + 2 ** 48 : va; }

export class GuestMmu {
  private readonly dv: DataView;
  /** Mapped virtual pages -> global. */
  private readonly mapped = new Map<number, boolean>();
  /** Resolved faults (statistics). */
  faults = 0;
  /** CR2 as each CPU's guest last saw it: a fault resolved here is a TLB miss to the guest, invisible,
   *  so it must not change CR2 (the guest's #PF handler may be reading it). */
  private readonly guestCr2: number[] = [];

  constructor(private readonly mem: Memory, private readonly ram: Uint8Array<ArrayBuffer>) {
    this.dv = new DataView(ram.buffer, ram.byteOffset, ram.byteLength);
  }

  private entry(pa: number): { lo: number; hi: number } | undefined {
    if (pa + 8 > this.ram.length) return undefined;
    return { lo: this.dv.getUint32(pa, true), hi: this.dv.getUint32(pa + 4, true) };
  }

  /** The translation of `va` under `cr3`, or undefined when some level is not present. */
  walk(cr3: number, va: number): Walk | undefined {
    const v = low48(va);
    let table = Math.floor(cr3 / PAGE) * PAGE % 2 ** 52;
    let write = true, user = true, exec = true;
    for (let level = 3; level >= 0; level--) {
      const shift = 12 + 9 * level;
      const idx = Math.floor(v / 2 ** shift) % 512;
      const at = table + idx * 8;
      const e = this.entry(at);
      if (!e || !(e.lo & P)) return undefined;
      write &&= (e.lo & RW) !== 0;
      user &&= (e.lo & US) !== 0;
      exec &&= (e.hi & 0x80000000) === 0;
      const base = (e.hi & 0xfffff) * 2 ** 32 + ((e.lo & 0xfffff000) >>> 0);
      if (level === 0 || (level <= 2 && (e.lo & PS))) {
        const size = 2 ** shift;
        const frameBase = level === 0 ? base : base - (base % size);
        const pa = frameBase + (Math.floor(v / PAGE) * PAGE) % size;
        return { pa, write, user, exec, global: (e.lo & G) !== 0, leaf: at, dirty: (e.lo & D) !== 0 };
      }
      table = base;
    }
    return undefined;
  }

  /**
   * Resolve the page fault `c` stopped on (cr2, errorCode). 'mapped': retry the instruction;
   * 'guest': the guest's tables deny it, deliver #PF with c.errorCode (fixed up); 'outside': the
   * tables point outside RAM (MMIO, not emulated).
   */
  resolve(c: Cpu): 'mapped' | 'guest' | 'outside' {
    const va = c.cr2, err = c.errorCode;
    const isWrite = (err & PF_W) !== 0, isUser = (err & PF_U) !== 0, isFetch = (err & PF_I) !== 0;
    const w = this.walk(c.cr3, va);
    if (!w) { c.errorCode = err & ~PF_P; this.guestCr2[c.id] = va; return 'guest'; }
    const denied = (isUser && !w.user) || (isWrite && !w.write && (isUser || (c.cr0 & CR0_WP) !== 0)) || (isFetch && !w.exec);
    if (denied) { c.errorCode = err | PF_P; this.guestCr2[c.id] = va; return 'guest'; }
    if (w.pa + PAGE > this.ram.length) { c.cr2 = this.guestCr2[c.id] ?? 0; this.outsidePa = w.pa + (((va % PAGE) + PAGE) % PAGE); return 'outside'; }
    c.cr2 = this.guestCr2[c.id] ?? 0;
    let lo = this.dv.getUint32(w.leaf, true) | A;
    if (isWrite) lo |= D;
    this.dv.setUint32(w.leaf, lo >>> 0, true);
    const dirty = (lo & D) !== 0;
    const perms = PERM_R | (w.write && dirty ? PERM_W : 0) | (w.exec ? PERM_X : 0) | (w.user ? PERM_U : 0);
    const page = va - (((va % PAGE) + PAGE) % PAGE);
    this.mem.mapPhysical(page, perms, this.ram.subarray(w.pa, w.pa + PAGE), w.pa);
    this.mapped.set(page, w.global);
    this.faults++;
    return 'mapped';
  }

  /**
   * Map `page` for a host access (ktrace reading or patching guest memory: text_poke, probe handlers,
   * the workload's buffers) under `cr3`, without touching the guest's accessed and dirty bits, so that a
   * host access changes nothing the guest can see: only a leaf the guest has already accessed is mapped
   * (writable only once dirty, as resolve maps it). False: not mapped.
   */
  mapForHost(cr3: number, page: number): boolean {
    const w = this.walk(cr3, page);
    if (!w && this.bootTables !== undefined && cr3 === this.bootTables) return this.mapKernelImage(page);
    if (!w || w.pa + PAGE > this.ram.length) return false;
    const lo = this.dv.getUint32(w.leaf, true);
    if (!(lo & A)) return false;
    const perms = PERM_R | (w.write && (lo & D) ? PERM_W : 0) | (w.exec ? PERM_X : 0) | (w.user ? PERM_U : 0);
    this.mem.mapPhysical(page, perms, this.ram.subarray(w.pa, w.pa + PAGE), w.pa);
    this.mapped.set(page, w.global);
    return true;
  }

  /** The boot protocol's identity tables (CR3 until the kernel loads its own), when the platform
   *  uses them: until then a host access to the kernel image (probes armed before boot) maps it as
   *  the kernel will (virtual __START_KERNEL_map + x = physical x), read-only and non-global, so the
   *  kernel's first CR3 write drops it and its own tables take over. */
  bootTables: number | undefined;
  private mapKernelImage(page: number): boolean {
    const pa = page - KERNEL_MAP;
    if (page < KERNEL_MAP || pa + PAGE > this.ram.length) return false;
    this.mem.mapPhysical(page, PERM_R | PERM_X, this.ram.subarray(pa, pa + PAGE), pa);
    this.mapped.set(page, false);
    return true;
  }

  /** The physical address of the last access resolve() found outside RAM (a device's registers). */
  outsidePa = 0;
  /** The CR3 the non-global mappings were made under (one page map serves every CPU). */
  space = -1;
  /** Machine.onEnter: CPU c runs next; when its address space is another, the non-global mappings
   *  go (as its own TLB would not hold them). */
  enter(c: Cpu): void {
    if (c.cr3 === this.space) return;
    this.space = c.cr3;
    const drop: number[] = [];
    for (const [page, global] of this.mapped) if (!global) drop.push(page);
    for (const page of drop) this.mapped.delete(page);
    if (drop.length) this.mem.unmapPages(drop);
  }

  /** Machine.onPaging: drop what the guest's change made stale. */
  onPaging(c: Cpu, kind: number, addr: number): void {
    if (kind === 1) {
      const page = addr - (((addr % PAGE) + PAGE) % PAGE);
      if (this.mapped.delete(page)) this.mem.unmapPages([page]);
      return;
    }
    if (kind === 0) this.space = c.cr3;
    const keepGlobal = kind === 0 && (c.cr4 & CR4_PGE) !== 0;
    const drop: number[] = [];
    for (const [page, global] of this.mapped) if (!(keepGlobal && global)) drop.push(page);
    for (const page of drop) this.mapped.delete(page);
    if (drop.length) this.mem.unmapPages(drop);
  }

  get mappedPages(): number { return this.mapped.size; }

  /** Drop every mapping made here (global ones too), as a flush of the whole TLB: boot snapshots
   *  (kernel/snapshot.ts) put the guest's RAM back under a machine whose page map knows nothing yet. */
  flushAll(): void {
    const drop = [...this.mapped.keys()];
    this.mapped.clear();
    this.space = -1;
    if (drop.length) this.mem.unmapPages(drop);
  }

  /** What the MMU keeps besides the TLB (boot snapshots). */
  saveState(): { faults: number; guestCr2: number[]; bootTables: number | null } {
    return { faults: this.faults, guestCr2: [...this.guestCr2], bootTables: this.bootTables ?? null };
  }
  loadState(s: { faults: number; guestCr2: number[]; bootTables: number | null }): void {
    this.faults = s.faults;
    this.guestCr2.length = 0;
    s.guestCr2.forEach((v, i) => { if (v !== undefined && v !== null) this.guestCr2[i] = v; });
    this.bootTables = s.bootTables ?? undefined;
  }
}

/** Identity page tables for [0, bytes) with 2 MiB pages (the 64-bit boot protocol's identity map), at
 *  physical `at` (3 pages: PML4, PDPT, PD; up to 1 GiB). Returns the CR3 value. */
export function writeIdentityTables(ram: Uint8Array<ArrayBuffer>, at: number, bytes: number): number {
  if (bytes > 2 ** 30) throw new RangeError('identity tables cover at most 1 GiB');
  const dv = new DataView(ram.buffer, ram.byteOffset, ram.byteLength);
  ram.fill(0, at, at + 3 * PAGE);
  dv.setUint32(at, (at + PAGE) | P | RW, true);
  dv.setUint32(at + PAGE, (at + 2 * PAGE) | P | RW, true);
  for (let i = 0; i * 2 ** 21 < bytes; i++) dv.setUint32(at + 2 * PAGE + i * 8, (i * 2 ** 21) | P | RW | PS, true);
  return at;
}
