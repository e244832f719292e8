// Instruction slots: executable memory for out-of-line copies (kernel/kprobes.c get_insn_slot /
// __get_insn_slot over module_alloc). Slots live in the module area, within ±2 GB of the kernel text so
// a rel32 jump back and a fixed-up RIP-relative operand reach it, on pages marked PAGE_PROBE: every
// instruction executed there counts as probe overhead (cpu.probeInstret) and no external interrupt is
// delivered while RIP is there (fixtures/kernel/README.md "Time").
// Later users (kretprobe trampolines, optprobe detour buffers) take whole-page areas from allocArea().
import { PAGE_PROBE, PAGE_SIZE, PERM_R, PERM_X, type Memory } from '../emu/memory.js';

/** MODULES_VADDR on x86-64 (arch/x86/include/asm/pgtable_64_types.h), as a signed canonical number. */
export const MODULES_VADDR = -0x60000000; // 0xffffffffa0000000
/** x86 kprobe insn slot: MAX_INSN_SIZE (16) plus a 5-byte jump back, rounded up. */
export const INSN_SLOT_SIZE = 32;

export class InsnSlots {
  private next = MODULES_VADDR;
  private free: number[] = [];
  private pages: number[] = [];
  private current = 0; private used = PAGE_SIZE;
  constructor(private readonly mem: Memory) {}

  /** A fresh INSN_SLOT_SIZE slot (get_insn_slot); filled with int3 so a stray jump traps. */
  alloc(): number {
    let a = this.free.pop();
    if (a === undefined) {
      if (this.used + INSN_SLOT_SIZE > PAGE_SIZE) { this.current = this.allocArea(1); this.used = 0; }
      a = this.current + this.used;
      this.used += INSN_SLOT_SIZE;
    }
    this.mem.writeBytes(a, new Uint8Array(INSN_SLOT_SIZE).fill(0xcc));
    return a;
  }
  /** free_insn_slot. */
  release(a: number): void { this.free.push(a); }

  /** `n` whole PAGE_PROBE pages (trampolines, detour buffers). */
  allocArea(n: number): number {
    const a = this.next;
    this.next += n * PAGE_SIZE;
    this.mem.map(a, n * PAGE_SIZE, PERM_R | PERM_X | PAGE_PROBE);
    for (let i = 0; i < n; i++) this.pages.push(a + i * PAGE_SIZE);
    return a;
  }

  /** Is `a` inside memory the kprobes layer owns (is_kprobe_insn_slot)? */
  contains(a: number): boolean { return a >= MODULES_VADDR && a < this.next; }
}
