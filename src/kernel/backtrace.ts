// A symbolized backtrace by walking frame pointers (the fixture keeps them: -fno-omit-frame-pointer),
// as the kernel's show_stack does on a frame-pointer build: [rbp] = caller's rbp, [rbp+8] = return address.
import type { Image } from '../elf/image.js';
import type { Memory } from '../emu/memory.js';

export interface Frame { addr: number; text: string }

export function backtrace(mem: Memory, image: Image, rip: number, rbp: number, max = 32): Frame[] {
  const out: Frame[] = [{ addr: rip, text: image.formatAddr(rip) }];
  let fp = rbp;
  for (let i = 0; i < max; i++) {
    if (!fp || fp % 8 !== 0 || !mem.permsAt(fp) || !mem.permsAt(fp + 8)) break;
    const ret = Number(BigInt.asIntN(64, mem.read64(fp + 8)));
    const next = Number(BigInt.asIntN(64, mem.read64(fp)));
    if (!image.isText(ret)) break;
    out.push({ addr: ret, text: image.formatAddr(ret) });
    if (next <= fp) break; // stacks grow down: a caller's frame is above
    fp = next;
  }
  return out;
}
