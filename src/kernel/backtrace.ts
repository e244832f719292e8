// A symbolized backtrace by walking frame pointers (the fixture keeps them: -fno-omit-frame-pointer),
// as the kernel's frame-pointer unwinder does: [rbp] = caller's rbp, [rbp+8] = return address.
// gcc may schedule `mov %rsp,%rbp` after other prologue instructions, so a fault there finds rbp
// still pointing at the caller's frame: the first return address is then found on the stack,
// just as arch/x86/kernel/unwind_frame.c treats an interrupted prologue.
// A return address a kretprobe replaced with its trampoline is put back from the stack slot that holds
// it (`recover`: unwind_recover_ret_addr → rethook_find_ret_addr), before the text check, as the
// unwinder's update_stack_state does.
import type { Image } from '../elf/image.js';
import type { Memory } from '../emu/memory.js';

export interface Frame { addr: number; text: string }

const PUSH_RBP = 0x55;
const MOV_RSP_RBP = [0x48, 0x89, 0xe5];

/** Where the prologue's `push %rbp` and `mov %rsp,%rbp` are in the function holding rip, if it has them. */
function prologue(image: Image, rip: number): { push: number; mov: number } | undefined {
  const f = image.functionAt(rip);
  if (!f) return undefined;
  const bytes = image.read(f.addr, Math.min(f.size, 48));
  if (!bytes) return undefined;
  const push = bytes.indexOf(PUSH_RBP);
  for (let i = push + 1; push >= 0 && i + 2 < bytes.length; i++) {
    if (bytes[i] === MOV_RSP_RBP[0] && bytes[i + 1] === MOV_RSP_RBP[1] && bytes[i + 2] === MOV_RSP_RBP[2]) {
      return { push: f.addr + push, mov: f.addr + i };
    }
  }
  return undefined;
}

/** The real return address for `ret` read from stack slot `slot` (ret itself when nothing replaced it). */
export type RecoverRetAddr = (ret: number, slot: number) => number;

/** The frames from `rip` outwards; `text` is each address as %pS prints it, or '' with `withText` false
 *  (a caller that only looks at the addresses: the trace's hardirq flag, on every hit). */
export function backtrace(mem: Memory, image: Image, rip: number, rbp: number, max = 32, rsp?: number, recover?: RecoverRetAddr, withText = true): Frame[] {
  const fmt = withText ? (a: number) => image.formatAddr(a) : () => '';
  const out: Frame[] = [{ addr: rip, text: fmt(rip) }];
  const word = (a: number) => Number(BigInt.asIntN(64, mem.read64(a)));
  const retAt = (a: number) => (recover ? recover(word(a), a) : word(a));
  const readable = (a: number) => a % 8 === 0 && mem.permsAt(a) !== 0 && mem.permsAt(a + 7) !== 0;
  if (rsp !== undefined && recover) {
    // RIP in a return trampoline (a kretprobe's handler oopsed there): the function's `ret` popped the
    // slot below RSP; the real return address comes from the instance that owns it, as the unwinder
    // finds it through the trampoline's fake return address (kretprobe_find_ret_addr)
    const slot = rsp - 8;
    if (readable(slot) && word(slot) === rip) {
      const real = recover(rip, slot);
      if (real !== rip && image.isText(real)) out.push({ addr: real, text: fmt(real) });
    }
  }
  if (rsp !== undefined) {
    const p = prologue(image, rip);
    if (p && rip <= p.mov) {
      // frame not set up yet: the return address sits above what the prologue pushed so far
      const at = rip <= p.push ? rsp : rsp + 8;
      if (readable(at)) {
        const ret = retAt(at);
        if (image.isText(ret)) out.push({ addr: ret, text: fmt(ret) });
      }
    }
  }
  let fp = rbp;
  for (let i = 0; i < max; i++) {
    if (!fp || !readable(fp) || !readable(fp + 8)) break;
    const ret = retAt(fp + 8);
    const next = word(fp);
    if (!image.isText(ret)) break;
    out.push({ addr: ret, text: fmt(ret) });
    if (next <= fp) break; // stacks grow down: a caller's frame is above
    fp = next;
  }
  return out;
}
