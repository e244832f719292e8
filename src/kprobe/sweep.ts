// Every instruction boundary of every function in the kernel text, decoded from the pristine image
// (what `perf probe` would offer line by line, and what the transparency sweep probes).
import { Code, Decoder, DecoderOptions, Instruction } from '../emu/iced.js';
import type { Image } from '../elf/image.js';

export interface FunctionBoundaries { name: string; addr: number; boundaries: number[] }

/** Instruction starts of each FUNC symbol of the text, in address order (functions the decoder cannot walk are cut short). */
export function instructionBoundaries(image: Image): FunctionBoundaries[] {
  const out: FunctionBoundaries[] = [];
  const seen = new Set<number>();
  const insn = new Instruction();
  for (const f of image.functions) {
    if (f.size <= 0 || seen.has(f.addr) || !image.isText(f.addr)) continue;
    seen.add(f.addr);
    const bytes = image.read(f.addr, f.size);
    if (!bytes) continue;
    const d = new Decoder(64, bytes, DecoderOptions.None);
    const b: number[] = [];
    try {
      d.ip = BigInt.asUintN(64, BigInt(f.addr));
      let off = 0;
      while (off < f.size) {
        d.decodeOut(insn);
        if (insn.code === Code.INVALID) break;
        b.push(f.addr + off);
        off += insn.length;
      }
    } finally { d.free(); }
    out.push({ name: f.name, addr: f.addr, boundaries: b });
  }
  insn.free();
  return out;
}

/** A seeded subset of `xs` (xorshift32; the same seed gives the same sample). */
export function seededSample<T>(xs: readonly T[], n: number, seed: number): T[] {
  const a = xs.slice();
  let s = (seed >>> 0) || 0x9e3779b9;
  for (let i = a.length - 1; i > 0; i--) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    const j = s % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a.slice(0, n);
}
